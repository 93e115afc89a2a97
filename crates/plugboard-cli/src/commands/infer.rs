//! `plugboard infer model run`: resolve the credential exactly as `models status` reports it,
//! hand the prompt to the provider's `model.run` capability, print what comes back.
//!
//! With `--json`, success and failure are both one JSON document on stdout, in the shape the
//! peer CLI this replaces prints, so scripts written for it keep working.

use std::time::Duration;

use plugboard_core::{
    MODEL_RUN_CAPABILITY, ModelContext, ModelError, ModelErrorKind, ModelOutput, ModelRef,
    ModelRequest, ProfileId, Prompter, Provider, is_safe_media_url,
};
use serde::Serialize;

use crate::app::App;
use crate::cli::RunArgs;
use crate::credentials::{Effective, Source, effective, profile_for};
use crate::echo;
use crate::error::{Reported, UsageError, advised};
use crate::host::host_services;
use crate::output::{note, print, print_json};
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
    let credential = resolve(app, provider, profile.as_ref())?;

    let host = host_services(app, provider, MODEL_CALL_TIMEOUT)?;
    let ctx = ModelContext::new(credential.credential.clone(), host);

    let request = ModelRequest::new(model.model(), args.prompt.as_str());
    let progress = TerminalPrompter::new(app.terminal).progress(&format!("Asking {model}..."));
    let result = runner.run(&ctx, &request).await;
    progress.finish("");
    match result {
        Ok(reply) if reply.outputs.is_empty() => Err(Failure {
            kind: ModelErrorKind::BadResponse.as_str(),
            error: anyhow::anyhow!("{} returned no output for {model}", provider.label()),
        }),
        Ok(reply) => Ok((model, reply.outputs)),
        Err(e) => Err(model_failure(e, provider, &credential.source)),
    }
}

/// The credential `models status` would report, or a failure naming how to get one.
fn resolve(
    app: &App,
    provider: &dyn Provider,
    profile: Option<&ProfileId>,
) -> Result<Effective, Failure> {
    let mine: Vec<_> = app
        .stored_profiles()?
        .into_iter()
        .filter(|p| p.profile_id.provider() == provider.id())
        .collect();
    let env = |name: &str| std::env::var(name).ok();
    match effective(provider, profile, env, &mine) {
        Ok(Some(found)) => Ok(found),
        Ok(None) => {
            let env_hint = provider
                .credential_env_vars()
                .first()
                .map(|var| format!(", or set {var}"))
                .unwrap_or_default();
            Err(Failure {
                kind: "no_credential",
                error: anyhow::anyhow!(
                    "no {} credential: sign in with `plugboard models auth login --provider {}`{env_hint}",
                    provider.label(),
                    provider.id()
                ),
            })
        }
        Err(missing) => Err(Failure {
            kind: "no_credential",
            error: missing.into(),
        }),
    }
}

/// A provider's failure, with what the user can do about a rejected key added: the fix depends
/// on where the key came from.
fn model_failure(error: ModelError, provider: &dyn Provider, source: &Source) -> Failure {
    let kind = error.kind();
    let error = match kind {
        ModelErrorKind::CredentialRejected => {
            let advice = match source {
                Source::Env { env_var } => format!(
                    "the key comes from ${env_var}: fix it, or unset it to use the stored profile"
                ),
                Source::ProfileFlag { profile_id } | Source::DefaultProfile { profile_id } => {
                    let profile_flag = if profile_id.is_default() {
                        String::new()
                    } else {
                        format!(" --profile {}", profile_id.name())
                    };
                    format!(
                        "sign in again with `plugboard models auth login --provider {}{profile_flag}`",
                        provider.id()
                    )
                }
            };
            advised(anyhow::Error::new(error), Some(advice))
        }
        _ => anyhow::Error::new(error),
    };
    Failure {
        kind: kind.as_str(),
        error,
    }
}
