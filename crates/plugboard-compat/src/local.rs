//! `local`: "sign in" to a service that needs no key (a model server on this machine, such as
//! LM Studio's). The method asks the service for its model list (`GET <base>/models`, without
//! a key): the lightest request every OpenAI-compatible server answers, and one that tells it
//! from something else listening there. What is stored is a credential of kind `none` whose
//! provenance says where the service was; nothing secret.

use std::sync::Arc;

use plugboard_core::{
    AuthContext, AuthError, AuthKind, AuthMethod, AuthResult, Credential, HttpClient, HttpError,
    HttpRequest, HttpResponse, Provenance, async_trait,
};
use plugboard_http::{is_unencrypted, send_with_retry};
use thiserror::Error;

use crate::models::MAX_MODELS_RESPONSE;
use crate::refusal::said;
use crate::service::{MODELS_PATH, Service, models_url};

/// The method's id: `--method local`.
pub const LOCAL_METHOD_ID: &str = "local";

/// Checks that the service answers where the settings say, and records where it is.
#[derive(Debug, Clone)]
pub(crate) struct LocalMethod {
    pub(crate) service: Arc<Service>,
    /// The menu label, from the manifest's choice.
    pub(crate) label: String,
    /// The menu hint, from the manifest's choice.
    pub(crate) hint: Option<String>,
}

/// Why the service check failed.
#[derive(Debug, Error)]
enum CheckError {
    /// Nothing answered; why is the source, so a chain says it once.
    #[error("{message}")]
    Unreachable {
        /// Which service did not answer where, and what to do.
        message: String,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// Something answered, but refused.
    #[error("{name} at {base} answered GET {MODELS_PATH} with HTTP {status}: {meaning}")]
    Refused {
        /// The service's name.
        name: String,
        /// Where it was asked.
        base: String,
        /// Its status.
        status: u16,
        /// What that means, with the service's words when it gave some.
        meaning: String,
    },
    /// Something answered 2xx, but not with a model list.
    #[error(
        "something answered GET {MODELS_PATH} at {base}, but not with an OpenAI model list: check that {env} (or the manifest's base_url) is the service's API root"
    )]
    NotCompatible {
        /// Where it was asked.
        base: String,
        /// Its base-URL variable.
        env: String,
    },
}

/// Asks the service for its model list, without a key.
async fn answers(
    client: &dyn HttpClient,
    service: &Service,
    base: &url::Url,
) -> Result<(), CheckError> {
    let shown = base.as_str().trim_end_matches('/').to_owned();
    let request = HttpRequest::get(models_url(base)).with_max_response_bytes(MAX_MODELS_RESPONSE);
    let response =
        send_with_retry(client, request)
            .await
            .map_err(|source| CheckError::Unreachable {
                message: format!(
                    "{} did not answer at {shown}: start it, or set {} to where it runs",
                    service.name, service.base_url_env
                ),
                source,
            })?;
    read_answer(service, &response, shown)
}

fn read_answer(service: &Service, response: &HttpResponse, base: String) -> Result<(), CheckError> {
    if !response.is_success() {
        let meaning = match response.status {
            401 | 403 => "it wants a key, but the plugin's manifest names no api_key_env",
            404 => {
                "no model list here: check that the base URL is the API root (it usually ends in /v1)"
            }
            500..=599 => "the service failed: see its log",
            _ => "unexpected answer",
        };
        // Nothing secret was sent, so there is nothing to scrub from the service's words.
        let meaning = match said(&response.body, "") {
            Some(words) => format!("{meaning} ({} said: {words})", service.name),
            None => meaning.to_owned(),
        };
        return Err(CheckError::Refused {
            name: service.name.clone(),
            base,
            status: response.status,
            meaning,
        });
    }
    let listed = serde_json::from_slice::<serde_json::Value>(&response.body)
        .is_ok_and(|answer| answer.get("data").is_some_and(serde_json::Value::is_array));
    if listed {
        Ok(())
    } else {
        Err(CheckError::NotCompatible {
            base,
            env: service.base_url_env.clone(),
        })
    }
}

#[async_trait]
impl AuthMethod for LocalMethod {
    fn id(&self) -> &str {
        LOCAL_METHOD_ID
    }

    fn label(&self) -> &str {
        &self.label
    }

    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn kind(&self) -> AuthKind {
        AuthKind::Local
    }

    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        let service = &self.service;
        let base = service
            .base(&ctx.host)
            .map_err(|e| AuthError::InvalidInput(service.location_message(&e)))?;
        let profile_id = ctx
            .target_profile(&service.provider_id)
            .map_err(|e| AuthError::InvalidInput(e.to_string()))?;
        let shown = base.as_str().trim_end_matches('/').to_owned();

        let progress = ctx.prompter.progress(&format!(
            "checking that {} answers at {shown}",
            service.name
        ));
        match answers(ctx.host.http_client.as_ref(), service, &base).await {
            Ok(()) => progress.finish(&format!("{} answers at {shown}", service.name)),
            Err(e) => {
                progress.finish(&format!("{} did not answer", service.name));
                // Unreachable keeps its cause as the source, so the host's chain says it
                // once; the other failures are one line already.
                return Err(match e {
                    CheckError::Unreachable { .. } => AuthError::other(e),
                    _ => AuthError::Service(e.to_string()),
                });
            }
        }

        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), LOCAL_METHOD_ID.into());
        provenance.insert("method".into(), LOCAL_METHOD_ID.into());
        provenance.insert("base_url".into(), shown.clone().into());
        provenance.insert(
            "checked_at".into(),
            humantime::format_rfc3339_seconds(ctx.clock.now())
                .to_string()
                .into(),
        );
        let mut result =
            AuthResult::profile(profile_id, Credential::none(provenance)).with_note(format!(
                "{} answers at {shown}; nothing secret is stored, only where the service is",
                service.name
            ));
        if is_unencrypted(&base) {
            result = result.with_note(format!(
                "prompts and replies travel to {shown} unencrypted (plain http, allowed by providers.{}.allow_plain_http)",
                service.provider_id
            ));
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::{CredentialKind, ErrorChain, HostServices, ScriptedHttp};
    use serde_json::json;

    use super::*;
    use crate::test_support::{Replies, reply, service};

    fn method() -> LocalMethod {
        LocalMethod {
            service: Arc::new(service(false)),
            label: "Acme Cloud (local server)".to_owned(),
            hint: Some("No key".to_owned()),
        }
    }

    fn context(replies: Replies) -> (AuthContext, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new(replies));
        let mut ctx = AuthContext::scripted([]);
        ctx.host = HostServices::default()
            .with_http_client(http.clone())
            .with_env("ACME_CLOUD_BASE_URL", "http://localhost:1234/v1");
        (ctx, http)
    }

    #[tokio::test]
    async fn a_service_that_lists_its_models_is_stored_as_a_none_credential_saying_where() {
        let (mut ctx, http) = context(vec![reply(200, r#"{"object":"list","data":[]}"#)]);
        let result = method().run(&mut ctx).await.unwrap();
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "http://localhost:1234/v1/models");
        assert!(
            sent.headers.is_empty(),
            "no key is sent: {:?}",
            sent.headers
        );
        let [profile] = result.profiles.as_slice() else {
            panic!("one profile: {:?}", result.profiles);
        };
        assert_eq!(profile.profile_id.to_string(), "acme-cloud:default");
        assert_eq!(profile.credential.kind(), CredentialKind::None);
        assert_eq!(
            serde_json::Value::Object(profile.credential.provenance().clone()),
            json!({
                "auth_flow": "local",
                "method": "local",
                "base_url": "http://localhost:1234/v1",
                "checked_at": "2023-11-14T22:13:20Z",
            })
        );
        assert_eq!(
            result.notes,
            [
                "Acme Cloud answers at http://localhost:1234/v1; nothing secret is stored, only where the service is"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_that_does_not_answer_as_it_should_fails_in_one_line() {
        let refused = || {
            Err(HttpError::Connect {
                host: "localhost".into(),
                reason: "connection refused".into(),
            })
        };
        let cases: Vec<(Replies, &str)> = vec![
            (
                vec![refused(), refused()],
                "Acme Cloud did not answer at http://localhost:1234/v1: start it, or set ACME_CLOUD_BASE_URL to where it runs: cannot connect to localhost: connection refused",
            ),
            (
                vec![reply(401, r#"{"error":{"message":"Missing API key"}}"#)],
                "Acme Cloud at http://localhost:1234/v1 answered GET /models with HTTP 401: it wants a key, but the plugin's manifest names no api_key_env (Acme Cloud said: Missing API key)",
            ),
            (
                vec![reply(
                    404,
                    r#"{"error":"Unexpected endpoint or method. (GET /models)"}"#,
                )],
                "Acme Cloud at http://localhost:1234/v1 answered GET /models with HTTP 404: no model list here: check that the base URL is the API root (it usually ends in /v1) (Acme Cloud said: Unexpected endpoint or method. (GET /models))",
            ),
            (
                vec![reply(200, "<html>")],
                "something answered GET /models at http://localhost:1234/v1, but not with an OpenAI model list: check that ACME_CLOUD_BASE_URL (or the manifest's base_url) is the service's API root",
            ),
        ];
        for (replies, want) in cases {
            let (mut ctx, _) = context(replies);
            let err = method().run(&mut ctx).await.unwrap_err();
            assert_eq!(ErrorChain(&err).to_string(), want);
        }
    }

    #[tokio::test]
    async fn plain_http_to_another_machine_needs_the_users_permission_and_is_then_noted() {
        let (mut ctx, http) = context(vec![]);
        ctx.host = ctx
            .host
            .clone()
            .with_env("ACME_CLOUD_BASE_URL", "http://192.168.1.5:1234/v1");
        let err = method().run(&mut ctx).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidInput(_)), "{err:?}");
        assert!(
            err.to_string().contains("allow_plain_http to true"),
            "{err}"
        );
        assert!(http.requests().is_empty());

        let (mut ctx, _) = context(vec![reply(200, r#"{"data":[]}"#)]);
        ctx.host = ctx
            .host
            .clone()
            .with_env("ACME_CLOUD_BASE_URL", "http://192.168.1.5:1234/v1")
            .with_config(json!({"providers": {"acme-cloud": {"allow_plain_http": true}}}));
        let result = method().run(&mut ctx).await.unwrap();
        assert!(
            result.notes[1].contains("unencrypted"),
            "{:?}",
            result.notes
        );
    }
}
