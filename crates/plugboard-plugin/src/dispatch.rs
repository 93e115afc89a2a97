//! One request of the host, answered by the plugin's providers: each call gets the contexts the
//! built-in host would build (relayed prompts, the real clock and randomness, host services
//! from the request), and every outcome becomes one result message.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use plugboard_core::{
    AuthContext, AuthResult, Credential, HostServices, HttpClient, ModelContext, ModelRequest,
    ProfileId, Provider, RefreshContext, Session, base_url_env,
};
use plugboard_http::{NetworkClient, NetworkClientError};
use plugboard_protocol::{
    ErrorKind, HostMessage, MAX_LINE_BYTES, PluginMessage, WireCredential, WireError, WireModel,
    WireOutput, WireProfile, encode,
};
use serde_json::{Map, Value};

use crate::plugin::Plugin;
use crate::relay::{Relay, RelayOpener, RelayPrompter};
use crate::system::{OsRandom, SystemClock};

/// Reads one environment variable of the plugin's own process.
pub(crate) type EnvLookup = fn(&str) -> Option<String>;

/// A plugin being served: what it serves, and what its requests share.
pub(crate) struct Served {
    plugin: Plugin,
    /// Built on first use and shared by every request, so connections are reused; an error
    /// (a proxy variable that cannot be used) fails each request that needs the network.
    client: OnceLock<Result<Arc<dyn HttpClient>, NetworkClientError>>,
    env: EnvLookup,
}

impl Served {
    pub(crate) fn new(plugin: Plugin) -> Self {
        Self {
            plugin,
            client: OnceLock::new(),
            env: |name| std::env::var(name).ok(),
        }
    }

    /// The services one call of `provider` gets: the shared HTTP client, the settings the host
    /// sent as config `providers.<id>`, and the environment [`provider_env`] gives.
    fn host(
        &self,
        provider: &dyn Provider,
        base_url: Option<String>,
        settings: Value,
    ) -> Result<HostServices, WireError> {
        let client = self
            .client
            .get_or_init(|| {
                NetworkClient::new(self.plugin.http()).map(|c| Arc::new(c) as Arc<dyn HttpClient>)
            })
            .clone()
            .map_err(|e| WireError::new(ErrorKind::Config, e.to_string()))?;
        let mut providers = Map::new();
        if !settings.is_null() {
            providers.insert(provider.id().to_owned(), settings);
        }
        let config = serde_json::json!({ "providers": providers });
        let env = provider_env(provider, base_url, self.env);
        Ok(HostServices::new(
            self.plugin.http().clone(),
            client,
            config,
            env,
        ))
    }
}

/// The environment a call of `provider` sees: the variables it declares that are set in the
/// plugin's own environment (the host passed them on, as its manifest's `runtime.env` asks),
/// and its base-URL variable set to `base_url` when the host sent one, so the service is where
/// the host says, whatever the plugin's environment holds.
fn provider_env(
    provider: &dyn Provider,
    base_url: Option<String>,
    lookup: EnvLookup,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = provider
        .env_vars()
        .iter()
        .filter_map(|v| lookup(&v.name).map(|value| (v.name.to_string(), value)))
        .collect();
    if let Some(base_url) = base_url {
        env.insert(base_url_env(provider.id()), base_url);
    }
    env
}

/// The id of a request, for messages that are requests.
pub(crate) fn request_id(message: &HostMessage) -> Option<u64> {
    match message {
        HostMessage::SignIn { id, .. }
        | HostMessage::Refresh { id, .. }
        | HostMessage::RunModel { id, .. }
        | HostMessage::ListModels { id, .. }
        | HostMessage::ListFixtures { id } => Some(*id),
        _ => None,
    }
}

/// The type of a message, as the protocol names it.
pub(crate) fn type_name(message: &HostMessage) -> &'static str {
    match message {
        HostMessage::Start { .. } => "start",
        HostMessage::SignIn { .. } => "sign_in",
        HostMessage::Refresh { .. } => "refresh",
        HostMessage::RunModel { .. } => "run_model",
        HostMessage::ListModels { .. } => "list_models",
        HostMessage::ListFixtures { .. } => "list_fixtures",
        HostMessage::Answer { .. } => "answer",
    }
}

/// The request types of the protocol, for telling an unreadable request from an unknown one.
pub(crate) const REQUEST_TYPES: &[&str] = &[
    "sign_in",
    "refresh",
    "run_model",
    "list_models",
    "list_fixtures",
];

fn failed(id: u64, kind: ErrorKind, message: impl Into<String>) -> PluginMessage {
    PluginMessage::Failed {
        id,
        error: WireError::new(kind, message),
    }
}

fn unsupported(message: String) -> WireError {
    WireError::new(ErrorKind::Unsupported, message)
}

/// What a refresh, a model call and a listing carry besides the provider.
struct Call {
    credential: WireCredential,
    base_url: Option<String>,
    settings: Value,
}

impl Served {
    /// The provider a request names.
    fn provider(&self, name: &str) -> Result<&dyn Provider, WireError> {
        self.plugin.find(name).ok_or_else(|| {
            unsupported(format!(
                "plugin {} has no provider {name:?}",
                self.plugin.id()
            ))
        })
    }
}

/// Answers one request. Start and answer messages are the session's business and never get
/// here.
pub(crate) async fn handle(
    served: &Served,
    relay: &Arc<Relay>,
    request: HostMessage,
) -> PluginMessage {
    let Some(id) = request_id(&request) else {
        return failed(
            0,
            ErrorKind::Internal,
            format!("{} is not a request", type_name(&request)),
        );
    };
    let answer = match request {
        HostMessage::SignIn {
            provider,
            method,
            profile,
            base_url,
            settings,
            interactive,
            no_browser,
            timeout_secs,
            ..
        } => {
            let request = SignIn {
                provider,
                method,
                profile,
                base_url,
                settings,
                interactive,
                no_browser,
                timeout_secs,
            };
            sign_in(served, relay, id, request).await
        }
        HostMessage::Refresh {
            provider,
            profile,
            credential,
            base_url,
            settings,
            ..
        } => {
            let call = Call {
                credential,
                base_url,
                settings,
            };
            refresh(served, id, &provider, &profile, call).await
        }
        HostMessage::RunModel {
            provider,
            credential,
            base_url,
            settings,
            model,
            prompt,
            ..
        } => {
            let call = Call {
                credential,
                base_url,
                settings,
            };
            run_model(
                served,
                id,
                &provider,
                call,
                &ModelRequest::new(model, prompt),
            )
            .await
        }
        HostMessage::ListModels {
            provider,
            credential,
            base_url,
            settings,
            ..
        } => {
            let call = Call {
                credential,
                base_url,
                settings,
            };
            list_models(served, id, &provider, call).await
        }
        HostMessage::ListFixtures { .. } => Ok(PluginMessage::Fixtures {
            id,
            fixtures: served.plugin.fixture_list().clone(),
        }),
        HostMessage::Start { .. } | HostMessage::Answer { .. } => {
            Err(WireError::new(ErrorKind::Internal, "not a request"))
        }
    };
    fit(answer.unwrap_or_else(|error| PluginMessage::Failed { id, error }))
}

/// A sign-in request's fields.
struct SignIn {
    provider: String,
    method: String,
    profile: String,
    base_url: Option<String>,
    settings: Value,
    interactive: bool,
    no_browser: bool,
    timeout_secs: u64,
}

/// Runs the method with a context whose prompts, notes and browser are the host's.
async fn sign_in(
    served: &Served,
    relay: &Arc<Relay>,
    id: u64,
    request: SignIn,
) -> Result<PluginMessage, WireError> {
    let provider = served.provider(&request.provider)?;
    let method = provider.auth_method(&request.method).ok_or_else(|| {
        unsupported(format!(
            "provider {} has no sign-in method {:?}",
            provider.id(),
            request.method
        ))
    })?;
    let profile = profile_of(provider.id(), &request.profile)?;
    let host = served.host(provider, request.base_url, request.settings)?;
    let mut ctx = AuthContext::new(
        Arc::new(RelayPrompter(Arc::clone(relay))),
        Arc::new(RelayOpener(Arc::clone(relay))),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
        host,
    );
    ctx.session = Session::new(request.interactive, false);
    // The core's methods write `provider:default` unless told otherwise, so only another
    // profile is passed on as the user's `--profile`.
    ctx.options.profile = (!profile.is_default()).then_some(profile);
    ctx.options.no_browser = request.no_browser;
    if request.timeout_secs > 0 {
        ctx.options.timeout = Duration::from_secs(request.timeout_secs);
    }
    let result = method
        .run(&mut ctx)
        .await
        .map_err(|e| WireError::from_auth(&e))?;
    Ok(signed_in(id, result))
}

/// The profile the host asked for, which must be `provider`'s.
fn profile_of(provider: &str, profile: &str) -> Result<ProfileId, WireError> {
    ProfileId::parse_for(provider, profile).map_err(|_| {
        WireError::new(
            ErrorKind::InvalidInput,
            format!("{profile:?} is not a profile of provider {provider}"),
        )
    })
}

/// A finished sign-in for the wire: the profiles, the suggested model, the notes, and whether
/// the service minted the credential (with where to revoke it). A config patch is not sent: a
/// plugin never changes the host's config.
fn signed_in(id: u64, result: AuthResult) -> PluginMessage {
    PluginMessage::SignedIn {
        id,
        profiles: result
            .profiles
            .iter()
            .map(|p| WireProfile {
                profile_id: p.profile_id.to_string(),
                credential: WireCredential::from(&p.credential),
            })
            .collect(),
        default_model: result.default_model.map(|m| m.to_string()),
        notes: result.notes,
        issued_remotely: result.issued_remotely,
        revoke_url: result.revoke_url,
    }
}

async fn refresh(
    served: &Served,
    id: u64,
    name: &str,
    profile: &str,
    call: Call,
) -> Result<PluginMessage, WireError> {
    let provider = served.provider(name)?;
    let refresher = provider
        .refresher()
        .ok_or_else(|| unsupported(format!("provider {name} cannot refresh credentials")))?;
    let profile_id = profile_of(name, profile)?;
    let host = served.host(provider, call.base_url, call.settings)?;
    let ctx = RefreshContext::new(
        profile_id,
        Credential::from(call.credential),
        host,
        Arc::new(SystemClock),
    );
    let write = refresher
        .refresh(&ctx)
        .await
        .map_err(|e| WireError::from_refresh(&e))?;
    Ok(PluginMessage::Refreshed {
        id,
        profile: WireProfile {
            profile_id: write.profile_id.to_string(),
            credential: WireCredential::from(&write.credential),
        },
    })
}

async fn run_model(
    served: &Served,
    id: u64,
    name: &str,
    call: Call,
    request: &ModelRequest,
) -> Result<PluginMessage, WireError> {
    let provider = served.provider(name)?;
    let runner = provider
        .model_runner()
        .ok_or_else(|| unsupported(format!("provider {name} cannot run models")))?;
    let host = served.host(provider, call.base_url, call.settings)?;
    let ctx = ModelContext::new(Credential::from(call.credential), host);
    let reply = runner
        .run(&ctx, request)
        .await
        .map_err(|e| WireError::from_model(&e))?;
    Ok(PluginMessage::ModelReply {
        id,
        outputs: reply.outputs.iter().map(WireOutput::from).collect(),
    })
}

async fn list_models(
    served: &Served,
    id: u64,
    name: &str,
    call: Call,
) -> Result<PluginMessage, WireError> {
    let provider = served.provider(name)?;
    let lister = provider
        .model_lister()
        .ok_or_else(|| unsupported(format!("provider {name} cannot list models")))?;
    let host = served.host(provider, call.base_url, call.settings)?;
    let ctx = ModelContext::new(Credential::from(call.credential), host);
    let models = lister
        .list(&ctx)
        .await
        .map_err(|e| WireError::from_model(&e))?;
    Ok(PluginMessage::Models {
        id,
        models: models.iter().map(WireModel::from).collect(),
    })
}

/// `message`, or a failure in its place when it would not fit on one protocol line: the host
/// refuses a longer line as a broken plugin, while a failure says what happened.
fn fit(message: PluginMessage) -> PluginMessage {
    // The newline is not counted.
    let len = encode(&message).len() - 1;
    if len <= MAX_LINE_BYTES {
        return message;
    }
    let (id, kind, what) = match &message {
        PluginMessage::ModelReply { id, .. } => (*id, ErrorKind::BadResponse, "the model's reply"),
        PluginMessage::Models { id, .. } => (*id, ErrorKind::BadResponse, "the model list"),
        PluginMessage::SignedIn { id, .. } | PluginMessage::Refreshed { id, .. } => {
            (*id, ErrorKind::Internal, "the credential")
        }
        PluginMessage::Fixtures { id, .. } => (*id, ErrorKind::Internal, "the fixtures"),
        PluginMessage::Failed { id, .. } => (*id, ErrorKind::Internal, "the error"),
        _ => return message,
    };
    failed(
        id,
        kind,
        format!(
            "{what} takes {len} bytes, more than the plugin protocol's {MAX_LINE_BYTES} for one message"
        ),
    )
}

#[cfg(test)]
mod tests {
    use plugboard_core::{AuthMethod, EnvVar};

    use super::*;

    struct Declares(Vec<EnvVar>);

    impl Provider for Declares {
        fn id(&self) -> &str {
            "acme-cloud"
        }
        fn label(&self) -> &str {
            "Acme Cloud"
        }
        fn docs_path(&self) -> &str {
            "/providers/acme-cloud"
        }
        fn env_vars(&self) -> &[EnvVar] {
            &self.0
        }
        fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
            &[]
        }
    }

    fn lookup(name: &str) -> Option<String> {
        match name {
            "ACME_CLOUD_API_KEY" => Some("k".into()),
            "ACME_CLOUD_BASE_URL" => Some("https://from-env.test".into()),
            "HOME" => Some("/home/u".into()),
            _ => None,
        }
    }

    #[test]
    fn a_call_sees_its_declared_variables_and_the_base_url_the_host_sent() {
        let declares = Declares(vec![
            EnvVar::credential("ACME_CLOUD_API_KEY"),
            EnvVar::setting("ACME_CLOUD_BASE_URL"),
            EnvVar::setting("ACME_CLOUD_REGION"),
        ]);
        let owned = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let cases = [
            (
                None,
                owned(&[
                    ("ACME_CLOUD_API_KEY", "k"),
                    ("ACME_CLOUD_BASE_URL", "https://from-env.test"),
                ]),
            ),
            (
                Some("http://127.0.0.1:9/v1".to_owned()),
                owned(&[
                    ("ACME_CLOUD_API_KEY", "k"),
                    ("ACME_CLOUD_BASE_URL", "http://127.0.0.1:9/v1"),
                ]),
            ),
        ];
        for (base_url, want) in cases {
            assert_eq!(provider_env(&declares, base_url, lookup), want);
        }
        // A provider that declares nothing still goes where the host says.
        assert_eq!(
            provider_env(&Declares(Vec::new()), Some("https://h.test".into()), lookup),
            owned(&[("ACME_CLOUD_BASE_URL", "https://h.test")])
        );
    }

    #[test]
    fn a_result_too_long_for_one_line_becomes_a_failure_of_the_same_request() {
        let huge = "x".repeat(MAX_LINE_BYTES);
        let cases = [
            (
                PluginMessage::ModelReply {
                    id: 7,
                    outputs: vec![WireOutput {
                        text: huge.clone(),
                        media_url: None,
                    }],
                },
                ErrorKind::BadResponse,
            ),
            (
                PluginMessage::Models {
                    id: 7,
                    models: vec![WireModel {
                        id: huge.clone(),
                        name: None,
                        free: false,
                    }],
                },
                ErrorKind::BadResponse,
            ),
            (
                failed(7, ErrorKind::Service, huge.clone()),
                ErrorKind::Internal,
            ),
        ];
        for (message, kind) in cases {
            match fit(message) {
                PluginMessage::Failed { id, error } => {
                    assert_eq!((id, error.kind), (7, kind));
                    assert!(error.message.contains("more than the plugin protocol's"));
                }
                other => panic!("{other:?}"),
            }
        }
        let small = PluginMessage::ModelReply {
            id: 1,
            outputs: vec![WireOutput {
                text: "hi".into(),
                media_url: None,
            }],
        };
        assert_eq!(fit(small.clone()), small);
    }

    #[test]
    fn a_sign_in_says_when_the_service_minted_the_key_and_where_to_revoke_it() {
        let credential = Credential::new(
            plugboard_core::CredentialKind::ApiKey,
            "sk-minted-0123456789".to_owned().into(),
            plugboard_core::Provenance::new(),
        );
        let profile = ProfileId::new("acme-cloud", "default").unwrap();
        let cases = [
            (
                AuthResult::profile(profile.clone(), credential.clone()),
                false,
                None,
            ),
            (
                AuthResult::profile(profile, credential)
                    .with_remote_issue(Some("https://acme.test/keys")),
                true,
                Some("https://acme.test/keys"),
            ),
        ];
        for (result, issued, revoke) in cases {
            let PluginMessage::SignedIn {
                issued_remotely,
                revoke_url,
                ..
            } = signed_in(1, result)
            else {
                panic!("a signed_in message");
            };
            assert_eq!(issued_remotely, issued);
            assert_eq!(revoke_url.as_deref(), revoke);
        }
    }
}
