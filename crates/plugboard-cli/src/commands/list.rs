//! `plugboard models list`: which models each provider offers, asked of every provider with
//! the `model.list` capability at once (or only `--provider`), each with the credential
//! `models status` reports and `infer model run` would send, refreshed first when its provider
//! says it is due, exactly as a model call does. A provider without a credential, or whose
//! service fails, is listed as such: the command fails only when no provider listed anything.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use plugboard_core::{
    HostServices, MODEL_LIST_CAPABILITY, ModelErrorKind, ModelInfo, ModelLister, Provider,
    sanitize_line,
};
use plugboard_store::CredentialStore;
use serde::Serialize;

use crate::app::App;
use crate::call::{Call, CallError, refresh_advice, refresh_failure_kind, stored_profile};
use crate::cli::ListArgs;
use crate::credentials::{Effective, credential_advice, effective, no_credential_message};
use crate::echo;
use crate::error::{Reported, advised, one_line, usage};
use crate::host::services_for;
use crate::network;
use crate::output::{note, print, print_json};
use crate::refresh::RefreshFailure;
use crate::system::SystemClock;

/// How long one provider's listing may take unless `PLUGBOARD_HTTP_TIMEOUT` says otherwise:
/// the client's timeout for each request, and the bound on all of them together.
const LIST_TIMEOUT: Duration = Duration::from_secs(15);

/// Longest model line printed: an id longer than this is not a model id anyone types.
const MAX_MODEL_LINE: usize = 300;

/// `--json`.
#[derive(Debug, Serialize)]
struct ListJson {
    providers: Vec<ProviderList>,
}

/// One provider's listing: its models, or why there are none.
#[derive(Debug, Clone, Serialize)]
struct ProviderList {
    provider: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    models: Option<Vec<ModelInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ListError>,
}

/// Why a provider listed nothing, with the stable `error.type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct ListError {
    #[serde(rename = "type")]
    kind: &'static str,
    /// One line, with what to do about it when there is something.
    message: String,
}

impl ProviderList {
    fn listed(provider: &str, models: Vec<ModelInfo>) -> Self {
        Self {
            provider: provider.to_owned(),
            ok: true,
            models: Some(models),
            error: None,
        }
    }

    fn failed(provider: &str, kind: &'static str, message: String) -> Self {
        Self {
            provider: provider.to_owned(),
            ok: false,
            models: None,
            error: Some(ListError { kind, message }),
        }
    }
}

/// What one provider's listing needs: its lister, the credential it would use, where a
/// refresh of that credential is stored, and its services.
struct Job<'a> {
    provider: &'a dyn Provider,
    lister: &'a dyn ModelLister,
    effective: Option<Effective>,
    store: Option<CredentialStore>,
    host: HostServices,
}

pub(crate) async fn run(app: &App, args: &ListArgs) -> anyhow::Result<()> {
    let listers = chosen(app, args.provider.as_deref())?;
    let http = network::http_settings(LIST_TIMEOUT)?;
    let bound = http.request_timeout;
    let client = network::client(&http)?;
    let config = app.config().load()?;
    let stored = app.stored_listing()?.profiles;
    let mut jobs = Vec::new();
    for (provider, lister) in listers {
        let mine: Vec<_> = stored
            .iter()
            .filter(|p| p.profile_id.provider() == provider.id())
            .cloned()
            .collect();
        let effective = effective(provider, None, |name| std::env::var(name).ok(), &mine)?;
        // A stored credential may need a refresh on the way, which takes the store's lock:
        // each listing gets its own connection, as separate processes would.
        let store = match &effective {
            Some(e) if stored_profile(&e.source).is_some() && provider.refresher().is_some() => {
                app.existing_store()?
            }
            _ => None,
        };
        jobs.push(Job {
            provider,
            lister,
            effective,
            store,
            host: services_for(provider, http.clone(), client.clone(), config.clone()),
        });
    }
    let results = list_all(jobs, bound).await;
    if args.json {
        print_json(&ListJson {
            providers: results.iter().map(|(_, r)| r.clone()).collect(),
        })?;
    } else {
        for line in model_lines(&results) {
            print(&line)?;
        }
        for (label, result) in &results {
            match &result.models {
                Some(models) if models.is_empty() => note(&format!("{label} offers no models")),
                _ => {}
            }
        }
    }
    finish(&results, args.json)
}

/// The providers to ask: `--provider`, or every one that can list models. A provider that is
/// unknown or cannot list models is a usage error naming those that can.
fn chosen<'a>(
    app: &'a App,
    asked: Option<&str>,
) -> anyhow::Result<Vec<(&'a dyn Provider, &'a dyn ModelLister)>> {
    let capable: Vec<(&dyn Provider, &dyn ModelLister)> = app
        .registry
        .providers()
        .filter_map(|p| p.model_lister().map(|l| (p, l)))
        .collect();
    let names = || match capable.as_slice() {
        [] => String::from("no provider in this build can"),
        some => format!(
            "providers that can are {}",
            some.iter()
                .map(|(p, _)| p.id())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match asked {
        None if capable.is_empty() => Err(anyhow::anyhow!(
            "no provider in this build can list models (none has the {MODEL_LIST_CAPABILITY} capability)"
        )),
        None => Ok(capable),
        Some(id) => {
            if app.registry.provider(id).is_none() {
                return usage(format!(
                    "unknown provider {}: {} list models",
                    echo::quoted(id),
                    names()
                ));
            }
            match capable.iter().find(|(p, _)| p.id() == id) {
                Some(found) => Ok(vec![*found]),
                None => usage(format!(
                    "provider {id} cannot list models (it has no {MODEL_LIST_CAPABILITY} capability): {}",
                    names()
                )),
            }
        }
    }
}

/// Lists every job's models at once, each bounded by `bound`; each result with its provider's
/// label, in the jobs' order.
async fn list_all(jobs: Vec<Job<'_>>, bound: Duration) -> Vec<(String, ProviderList)> {
    join_all(jobs.into_iter().map(|job| async move {
        let label = job.provider.label().to_owned();
        (label, list_one(job, bound).await)
    }))
    .await
}

async fn list_one(job: Job<'_>, bound: Duration) -> ProviderList {
    let provider = job.provider;
    let Some(effective) = job.effective else {
        return ProviderList::failed(
            provider.id(),
            "no_credential",
            no_credential_message(provider),
        );
    };
    let mut call = Call::new(
        job.store,
        provider,
        job.host,
        Arc::new(SystemClock),
        &effective.source,
    )
    .bounded(bound);
    let lister = job.lister;
    let listed = call
        .run(effective.credential.clone(), |ctx| async move {
            lister.list(&ctx).await
        })
        .await;
    match listed {
        Ok(models) => ProviderList::listed(provider.id(), models),
        Err(error) => {
            let (kind, message) = failure(provider.label(), error, &effective);
            ProviderList::failed(provider.id(), kind, message)
        }
    }
}

/// The `error.type` and message of a failed listing. No answer at all is `unreachable`, a
/// refused or expired credential says how to fix it (which depends on where it came from),
/// anything else is the kind of failure a model call would report.
fn failure(label: &str, error: CallError, effective: &Effective) -> (&'static str, String) {
    let source = &effective.source;
    let named = |kind: ModelErrorKind| match kind {
        ModelErrorKind::Network => "unreachable",
        other => other.as_str(),
    };
    match error {
        CallError::Model(error) => {
            let kind = error.kind();
            let advice = matches!(
                kind,
                ModelErrorKind::CredentialRejected | ModelErrorKind::CredentialExpired
            )
            .then(|| credential_advice(effective))
            .flatten();
            (named(kind), one_line(&advised(error.into(), advice)))
        }
        CallError::Refresh(error) => match error.downcast_ref::<RefreshFailure>() {
            Some(failed) => {
                let kind = named(refresh_failure_kind(failed));
                let advice = refresh_advice(failed, source);
                (kind, one_line(&advised(error, advice)))
            }
            // The store failed around the refresh.
            None => ("internal", one_line(&error)),
        },
        CallError::TimedOut(after) => (
            "unreachable",
            format!(
                "{label} did not answer within {}: PLUGBOARD_HTTP_TIMEOUT=SECS waits longer",
                humantime::format_duration(after)
            ),
        ),
    }
}

/// The text output: one line per model, `provider/id`, with ` (free)` for a free one, each
/// folded to one clean line (the ids are the service's text).
fn model_lines(results: &[(String, ProviderList)]) -> Vec<String> {
    results
        .iter()
        .flat_map(|(_, result)| {
            result.models.iter().flatten().map(|model| {
                let free = if model.free { " (free)" } else { "" };
                sanitize_line(
                    &format!("{}/{}{free}", result.provider, model.id),
                    MAX_MODEL_LINE,
                )
            })
        })
        .collect()
}

/// Done when at least one provider listed its models (each failure said on stderr, in text);
/// a failure when none did: the one line of the only provider asked (`--provider`, or the only
/// one that can list), or a line saying none did after each one's. With `--json` the document
/// already says it all, so only the exit code is left.
fn finish(results: &[(String, ProviderList)], json: bool) -> anyhow::Result<()> {
    let only_failure = match results {
        [(_, only)] => only.error.as_ref(),
        _ => None,
    };
    if !json && only_failure.is_none() {
        for (_, result) in results {
            if let Some(error) = &result.error {
                note(&format!("{}: {}", result.provider, error.message));
            }
        }
    }
    if results.iter().any(|(_, r)| r.ok) {
        return Ok(());
    }
    let message = match only_failure {
        Some(error) => error.message.clone(),
        None => format!("no provider listed its models ({} tried)", results.len()),
    };
    if json {
        Err(Reported {
            message,
            usage: false,
        }
        .into())
    } else {
        Err(anyhow::anyhow!(message))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::SystemTime;

    use plugboard_core::{
        Credential, CredentialKind, HttpError, ModelContext, ModelError, OAuthTokens, ProfileId,
        ProfileWrite, Provenance, RefreshContext, RefreshError, Refresher, SessionToken,
    };
    use tokio::sync::Barrier;

    use super::*;
    use crate::credentials::Source;
    use crate::test_support::fake_provider;

    /// How a fake provider's lister answers.
    enum Answer {
        /// These models, once every `Together` lister of the test is listing: listings made
        /// one after another would wait forever.
        Together(Arc<Barrier>, Vec<ModelInfo>),
        Fails(fn() -> ModelError),
        Silent,
    }

    struct Fake {
        id: &'static str,
        answer: Answer,
    }

    #[plugboard_core::async_trait]
    impl ModelLister for Fake {
        async fn list(&self, _ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError> {
            match &self.answer {
                Answer::Together(barrier, models) => {
                    barrier.wait().await;
                    Ok(models.clone())
                }
                Answer::Fails(error) => Err(error()),
                Answer::Silent => std::future::pending().await,
            }
        }
    }

    fake_provider!(Fake {
        fn model_lister(&self) -> Option<&dyn ModelLister> {
            Some(self)
        }
    });

    fn env_key() -> Effective {
        Effective {
            source: Source::Env {
                env_var: "FAKE_API_KEY".into(),
            },
            credential: Credential::new(
                CredentialKind::ApiKey,
                "sk-fake".into(),
                Provenance::new(),
            ),
        }
    }

    fn job(fake: &Fake, effective: Option<Effective>) -> Job<'_> {
        Job {
            provider: fake,
            lister: fake,
            effective,
            store: None,
            host: HostServices::default(),
        }
    }

    fn rejected() -> ModelError {
        ModelError::CredentialRejected {
            service: "rejecting".into(),
            detail: "HTTP 401".into(),
        }
    }

    fn down() -> ModelError {
        ModelError::Network {
            service: "down".into(),
            source: HttpError::Connect {
                host: "127.0.0.1:11434".into(),
                reason: "connection refused".into(),
            },
        }
    }

    fn limited() -> ModelError {
        ModelError::RateLimited("limited answered HTTP 429".into())
    }

    #[tokio::test]
    async fn providers_are_listed_at_once_and_each_failure_is_its_own_entry() {
        let together = Arc::new(Barrier::new(2));
        let fakes = [
            Fake {
                id: "openrouter",
                answer: Answer::Together(
                    together.clone(),
                    vec![
                        ModelInfo::new("meta/llama:free").free(true),
                        ModelInfo::new("openai/gpt").with_name("GPT"),
                    ],
                ),
            },
            Fake {
                id: "other",
                answer: Answer::Together(together, vec![ModelInfo::new("a\u{1b}[2J\nb")]),
            },
            Fake {
                id: "unsigned",
                answer: Answer::Silent,
            },
            Fake {
                id: "rejecting",
                answer: Answer::Fails(rejected),
            },
            Fake {
                id: "down",
                answer: Answer::Fails(down),
            },
            Fake {
                id: "limited",
                answer: Answer::Fails(limited),
            },
            Fake {
                id: "silent",
                answer: Answer::Silent,
            },
        ];
        let jobs = fakes
            .iter()
            .map(|f| job(f, (f.id != "unsigned").then(env_key)))
            .collect();
        let results = list_all(jobs, Duration::from_secs(1)).await;
        let document = serde_json::to_value(ListJson {
            providers: results.iter().map(|(_, r)| r.clone()).collect(),
        })
        .unwrap();
        let error =
            |kind: &str, message: &str| serde_json::json!({"type": kind, "message": message});
        let want = serde_json::json!({"providers": [
            {"provider": "openrouter", "ok": true, "models": [
                {"id": "meta/llama:free", "free": true},
                {"id": "openai/gpt", "name": "GPT", "free": false},
            ]},
            {"provider": "other", "ok": true, "models": [{"id": "a\u{1b}[2J\nb", "free": false}]},
            {"provider": "unsigned", "ok": false, "error": error(
                "no_credential",
                "no unsigned credential: sign in with `plugboard models auth login --provider unsigned`",
            )},
            {"provider": "rejecting", "ok": false, "error": error(
                "credential_rejected",
                "rejecting rejected the key: HTTP 401: the key comes from $FAKE_API_KEY: fix it, or unset it to use the stored profile",
            )},
            {"provider": "down", "ok": false, "error": error(
                "unreachable",
                "down could not be reached: cannot connect to 127.0.0.1:11434: connection refused",
            )},
            {"provider": "limited", "ok": false, "error": error(
                "rate_limited", "limited answered HTTP 429",
            )},
            {"provider": "silent", "ok": false, "error": error(
                "unreachable",
                "silent did not answer within 1s: PLUGBOARD_HTTP_TIMEOUT=SECS waits longer",
            )},
        ]});
        assert_eq!(document, want);

        // Text: one clean line per model, the service's escapes and line breaks gone.
        assert_eq!(
            model_lines(&results),
            [
                "openrouter/meta/llama:free (free)",
                "openrouter/openai/gpt",
                "other/a b",
            ]
        );
        assert!(finish(&results, false).is_ok(), "some listed");
        assert!(finish(&results, true).is_ok(), "some listed");
    }

    /// A provider whose stored credential is always due (no session token yet), like GitHub
    /// Copilot before its first use: listing it first renews the session.
    struct Due {
        id: &'static str,
        renewals: AtomicUsize,
    }

    #[plugboard_core::async_trait]
    impl Refresher for Due {
        fn can_refresh(&self, credential: &Credential) -> bool {
            credential.oauth_tokens().is_some()
        }
        fn due(&self, credential: &Credential, _now: SystemTime) -> bool {
            credential.session().is_none()
        }
        async fn refresh(&self, ctx: &RefreshContext) -> Result<ProfileWrite, RefreshError> {
            self.renewals.fetch_add(1, Ordering::SeqCst);
            // The service's answer takes a moment, as any request does: the other listings
            // run meanwhile.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            let mut tokens = OAuthTokens::new("ghu-stored".into());
            tokens.session = Some(SessionToken {
                token: format!("session-{}", self.id).into(),
                expires_at: SystemTime::now() + Duration::from_secs(1_800),
                endpoint: None,
            });
            Ok(ProfileWrite {
                profile_id: ctx.profile_id.clone(),
                credential: Credential::oauth(tokens, Provenance::new()),
            })
        }
    }

    #[plugboard_core::async_trait]
    impl ModelLister for Due {
        async fn list(&self, ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError> {
            let session = ctx.credential.session_token().unwrap_or("no session");
            Ok(vec![ModelInfo::new(session)])
        }
    }

    fake_provider!(Due {
        fn model_lister(&self) -> Option<&dyn ModelLister> {
            Some(self)
        }
        fn refresher(&self) -> Option<&dyn Refresher> {
            Some(self)
        }
    });

    #[tokio::test]
    async fn two_providers_due_at_once_are_both_refreshed_and_listed() {
        let tmp = tempfile::TempDir::new().unwrap();
        let path = tmp.path().join("home/credentials.sqlite");
        let fakes = [
            Due {
                id: "first",
                renewals: AtomicUsize::new(0),
            },
            Due {
                id: "second",
                renewals: AtomicUsize::new(0),
            },
        ];
        let stored = Credential::oauth(OAuthTokens::new("ghu-stored".into()), Provenance::new());
        let profiles: Vec<ProfileId> = fakes
            .iter()
            .map(|f| ProfileId::default_for(f.id).unwrap())
            .collect();
        CredentialStore::open(&path)
            .unwrap()
            .write_profiles(profiles.iter().map(|p| (p, &stored)), SystemTime::now())
            .unwrap();
        // Each listing with its own connection to the one store, as `run` gives them.
        let jobs = fakes
            .iter()
            .zip(&profiles)
            .map(|(fake, profile)| Job {
                provider: fake,
                lister: fake,
                effective: Some(Effective {
                    source: Source::DefaultProfile {
                        profile_id: profile.clone(),
                    },
                    credential: stored.clone(),
                }),
                store: Some(CredentialStore::open(&path).unwrap()),
                host: HostServices::default(),
            })
            .collect();

        let results = list_all(jobs, Duration::from_secs(5)).await;
        assert_eq!(
            model_lines(&results),
            ["first/session-first", "second/session-second"],
            "{results:?}"
        );
        for fake in &fakes {
            assert_eq!(fake.renewals.load(Ordering::SeqCst), 1, "{}", fake.id);
        }
    }

    #[tokio::test]
    async fn the_command_fails_only_when_no_provider_listed_anything() {
        let down_fake = Fake {
            id: "down",
            answer: Answer::Fails(down),
        };
        let limited_fake = Fake {
            id: "limited",
            answer: Answer::Fails(limited),
        };
        let bound = Duration::from_secs(1);

        let one = list_all(vec![job(&down_fake, Some(env_key()))], bound).await;
        let err = finish(&one, false).unwrap_err();
        assert_eq!(
            one_line(&err),
            "down could not be reached: cannot connect to 127.0.0.1:11434: connection refused"
        );
        let err = finish(&one, true).unwrap_err();
        assert!(
            matches!(err.downcast_ref::<Reported>(), Some(r) if !r.usage),
            "{err:?}"
        );

        let both = list_all(
            vec![
                job(&down_fake, Some(env_key())),
                job(&limited_fake, Some(env_key())),
            ],
            bound,
        )
        .await;
        let err = finish(&both, false).unwrap_err();
        assert_eq!(one_line(&err), "no provider listed its models (2 tried)");
        assert_eq!(
            crate::error::exit_code(&err),
            std::process::ExitCode::from(1)
        );
    }
}
