//! `plugboard infer model run`: resolve the credential exactly as `models status` reports it,
//! hand the prompt to the provider's `model.run` capability, print what comes back.
//!
//! With `--json`, success and failure are both one JSON document on stdout, in the shape the
//! peer CLI this replaces prints, so scripts written for it keep working.

use std::sync::Arc;
use std::time::Duration;

use plugboard_core::{
    MODEL_RUN_CAPABILITY, ModelError, ModelErrorKind, ModelOutput, ModelRef, ModelRequest,
    ProfileId, Prompter, Provider, is_safe_media_url,
};
use serde::Serialize;

use plugboard_store::CredentialStore;

use crate::app::App;
use crate::call::{Call, CallError, refresh_advice, refresh_failure_kind};
use crate::cli::RunArgs;
use crate::credentials::{
    Effective, Source, credential_advice, effective, no_credential_message, profile_for,
};
use crate::echo;
use crate::error::{Reported, UsageError, advised};
use crate::host::host_services;
use crate::output::{note, print, print_json};
use crate::refresh::RefreshFailure;
use crate::system::SystemClock;
use crate::terminal::TerminalPrompter;

/// Models can take a while to answer; sign-in's 30 s would cut off slow but healthy calls.
const MODEL_CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// `--json` on success.
#[derive(Serialize)]
struct Success<'a> {
    ok: bool,
    capability: &'static str,
    /// How the call was made: in this process, not through a gateway.
    transport: &'static str,
    provider: &'a str,
    /// The model without its provider prefix.
    model: &'a str,
    /// Fallback attempts before the answer; plugboard makes none.
    attempts: [(); 0],
    outputs: &'a [ModelOutput],
}

/// `--json` on failure.
#[derive(Serialize)]
struct FailureJson<'a> {
    ok: bool,
    error: ErrorJson<'a>,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: String,
}

/// Why the command failed, with the stable `error.type` for `--json`.
struct Failure {
    kind: &'static str,
    error: anyhow::Error,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        let kind = if error.is::<UsageError>() {
            "usage"
        } else {
            "internal"
        };
        Self { kind, error }
    }
}

impl Failure {
    fn usage(message: String) -> Self {
        Self {
            kind: "usage",
            error: UsageError(message).into(),
        }
    }
}

pub(crate) async fn run(app: &App, args: &RunArgs) -> anyhow::Result<()> {
    match call(app, args).await {
        Ok((model, outputs)) => report_success(args.json, &model, &showable(&model, outputs)),
        Err(failure) if args.json => {
            let message = crate::error::one_line(&failure.error);
            print_json(&FailureJson {
                ok: false,
                error: ErrorJson {
                    kind: failure.kind,
                    message: message.clone(),
                },
            })?;
            Err(Reported {
                message,
                usage: failure.kind == "usage",
            }
            .into())
        }
        Err(failure) => Err(failure.error),
    }
}

/// `outputs` without media URLs that are not safe to show (see
/// [`plugboard_core::is_safe_media_url`]), each dropped with a note, and without outputs left
/// with nothing in them. The host does this, not each provider, so every provider is held to it.
fn showable(model: &ModelRef, outputs: Vec<ModelOutput>) -> Vec<ModelOutput> {
    outputs
        .into_iter()
        .filter_map(|mut output| {
            if output
                .media_url
                .as_deref()
                .is_some_and(|url| !is_safe_media_url(url))
            {
                output.media_url = None;
                note(&format!(
                    "dropped a media URL from {model}: only https:, http: and data:image/...;base64, URLs are shown"
                ));
                if output.text.is_empty() {
                    return None;
                }
            }
            Some(output)
        })
        .collect()
}

fn report_success(json: bool, model: &ModelRef, outputs: &[ModelOutput]) -> anyhow::Result<()> {
    if json {
        return print_json(&Success {
            ok: true,
            capability: MODEL_RUN_CAPABILITY,
            transport: "local",
            provider: model.provider(),
            model: model.model(),
            attempts: [],
            outputs,
        });
    }
    // `print` removes terminal escapes and direction controls from the model's text.
    for output in outputs {
        if !output.text.is_empty() {
            print(&output.text)?;
        }
        if let Some(url) = &output.media_url {
            print(url)?;
        }
    }
    if outputs
        .iter()
        .all(|o| o.text.trim().is_empty() && o.media_url.is_none())
    {
        note(&format!("{model} returned an empty reply"));
    }
    Ok(())
}

async fn call(app: &App, args: &RunArgs) -> Result<(ModelRef, Vec<ModelOutput>), Failure> {
    if args.gateway {
        return Err(Failure::usage(
            "--gateway is not available: plugboard has no gateway and calls the model from this process (leave it out, or pass --local)".to_owned(),
        ));
    }
    let model: ModelRef = args.model.parse().map_err(|_| {
        Failure::usage(format!(
            "--model {} is not provider/model: use e.g. openrouter/auto (providers: {})",
            echo::quoted(&args.model),
            app.registry.provider_ids().join(", ")
        ))
    })?;
    let provider = app.provider(model.provider())?;
    let Some(runner) = provider.model_runner() else {
        return Err(Failure::usage(format!(
            "provider {} cannot run models (it has no {MODEL_RUN_CAPABILITY} capability)",
            provider.id()
        )));
    };
    if args.prompt.trim().is_empty() {
        return Err(Failure::usage(
            "--prompt is empty: give the text to send".to_owned(),
        ));
    }
    let profile =
        profile_for(args.profile.as_deref(), provider.id()).map_err(anyhow::Error::from)?;
    // Opened once: the same connection resolves the credential and, if it must be refreshed,
    // takes the lock, so a refresh costs its request and one write, not a second open.
    let store = app.existing_store().map_err(anyhow::Error::from)?;
    let resolved = resolve(store.as_ref(), provider, profile.as_ref())?;
    let host = host_services(app, provider, MODEL_CALL_TIMEOUT)?;
    let request = ModelRequest::new(model.model(), args.prompt.as_str());
    let mut call = Call::new(
        store,
        provider,
        host,
        Arc::new(SystemClock),
        &resolved.source,
    );
    let progress = TerminalPrompter::new(app.terminal).progress(&format!("Asking {model}..."));
    let request = &request;
    let result = call
        .run(resolved.credential.clone(), |ctx| async move {
            runner.run(&ctx, request).await
        })
        .await;
    progress.finish("");
    match result {
        Ok(reply) if reply.outputs.is_empty() => Err(Failure {
            kind: ModelErrorKind::BadResponse.as_str(),
            error: anyhow::anyhow!("{} returned no output for {model}", provider.label()),
        }),
        Ok(reply) => Ok((model, reply.outputs)),
        Err(CallError::Model(e)) => Err(model_failure(e, &resolved)),
        Err(CallError::Refresh(e)) => Err(refresh_failure(e, &resolved.source)),
        // A model call has no bound of its own: the client's timeout ends it, as a network error.
        Err(CallError::TimedOut(after)) => Err(Failure {
            kind: ModelErrorKind::Network.as_str(),
            error: anyhow::anyhow!(
                "{} did not answer within {} s",
                provider.label(),
                after.as_secs()
            ),
        }),
    }
}

/// A refresh that failed, with the login command when only a new sign-in helps.
fn refresh_failure(error: anyhow::Error, source: &Source) -> Failure {
    let Some(failure) = error.downcast_ref::<RefreshFailure>() else {
        return Failure::from(error);
    };
    let kind = refresh_failure_kind(failure).as_str();
    let advice = refresh_advice(failure, source);
    Failure {
        kind,
        error: advised(error, advice),
    }
}

/// The credential `models status` would report, or a failure naming how to get one.
fn resolve(
    store: Option<&CredentialStore>,
    provider: &dyn Provider,
    profile: Option<&ProfileId>,
) -> Result<Effective, Failure> {
    // Only this provider's rows: another provider's damaged row must not stop this call.
    let mine = match store {
        Some(store) => {
            store
                .list_provider(provider.id())
                .map_err(anyhow::Error::from)?
                .profiles
        }
        None => Vec::new(),
    };
    let env = |name: &str| std::env::var(name).ok();
    match effective(provider, profile, env, &mine) {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(Failure {
            kind: "no_credential",
            error: anyhow::anyhow!(no_credential_message(provider)),
        }),
        Err(missing) => Err(Failure {
            kind: "no_credential",
            error: missing.into(),
        }),
    }
}

/// A provider's failure, with what the user can do about a rejected key added: the fix depends
/// on where the key came from.
fn model_failure(error: ModelError, effective: &Effective) -> Failure {
    let kind = error.kind();
    let error = match kind {
        ModelErrorKind::CredentialRejected | ModelErrorKind::CredentialExpired => {
            advised(anyhow::Error::new(error), credential_advice(effective))
        }
        _ => anyhow::Error::new(error),
    };
    Failure {
        kind: kind.as_str(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::{HttpError, RefreshError};

    use super::*;

    fn line(failure: &Failure) -> String {
        crate::error::one_line(&failure.error)
    }

    #[test]
    fn a_failed_refresh_has_a_stable_type_and_says_to_sign_in_only_when_that_helps() {
        let profile: ProfileId = "openai-codex:work".parse().unwrap();
        let stored = Source::ProfileFlag {
            profile_id: profile.clone(),
        };
        let login = "sign in again with `plugboard models auth login --provider openai-codex --profile work` (the profile is kept until then)";
        let refused = RefreshError::SignInRequired {
            service: "OpenAI Codex".into(),
            detail: "the refresh token was already used".into(),
        };
        let network = RefreshError::Network {
            service: "OpenAI Codex".into(),
            source: HttpError::Timeout {
                host: "auth.openai.com".into(),
                seconds: 15,
            },
        };
        // (failure, --json error.type, whether the login command is advised)
        let cases: Vec<(RefreshFailure, &str, bool)> = vec![
            (RefreshFailure::Refresh(refused), "credential_expired", true),
            (
                RefreshFailure::NeedsSignIn {
                    profile: profile.clone(),
                    reason: "refused".into(),
                },
                "credential_expired",
                true,
            ),
            (
                RefreshFailure::Gone(profile.clone()),
                "credential_expired",
                true,
            ),
            (RefreshFailure::Refresh(network), "network", false),
            (RefreshFailure::TimedOut(profile.clone()), "network", false),
            (
                RefreshFailure::Refresh(RefreshError::Service("OpenAI failed".into())),
                "service",
                false,
            ),
            (
                RefreshFailure::Refresh(RefreshError::BadResponse("garbage".into())),
                "bad_response",
                false,
            ),
            (
                RefreshFailure::WrongProfile {
                    provider: "openai-codex".into(),
                    asked: profile.clone(),
                    returned: "openai-codex:default".parse().unwrap(),
                },
                "bad_response",
                false,
            ),
            (
                RefreshFailure::Refresh(RefreshError::Config("bad base URL".into())),
                "config",
                false,
            ),
        ];
        for (failure, kind, advises_login) in cases {
            let shown = failure.to_string();
            let mapped = refresh_failure(anyhow::Error::new(failure), &stored);
            assert_eq!(mapped.kind, kind, "{shown}");
            assert_eq!(
                line(&mapped).ends_with(login),
                advises_login,
                "{}",
                line(&mapped)
            );
        }
    }

    #[test]
    fn a_credential_from_the_environment_is_never_advised_a_login_for_a_refresh() {
        let env = Source::Env {
            env_var: "X".into(),
        };
        let mapped = refresh_failure(
            anyhow::Error::new(RefreshFailure::Refresh(RefreshError::NotRefreshable)),
            &env,
        );
        assert_eq!(mapped.kind, "credential_expired");
        assert!(
            !line(&mapped).contains("models auth login"),
            "{}",
            line(&mapped)
        );
    }
}
