//! `ollama-local`: "sign in" to an Ollama server, which asks for no credential. The method asks
//! the server for its version (`GET <server>/api/version`): the lightest request Ollama has, the
//! one its own docs use to tell whether a server is up, touching no model; it also says which
//! Ollama answers, which is worth keeping. What is stored is a credential of kind `none` whose
//! provenance says where the server was and which version answered; nothing secret.

use plugboard_core::{
    AuthContext, AuthError, AuthKind, AuthMethod, AuthResult, Credential, HttpClient, HttpError,
    HttpRequest, HttpResponse, Provenance, async_trait, sanitize_line,
};
use plugboard_http::send_with_retry;
use thiserror::Error;

use crate::endpoints::{Endpoints, location_message};
use crate::provider::{HOST_ENV, PROVIDER_ID};
use crate::service_text::with_said;

/// The method's id: `--method local`.
pub const LOCAL_METHOD_ID: &str = "local";

/// `{"version": "0.12.6"}` is a few bytes; 64 KiB leaves room for any error page.
const MAX_VERSION_RESPONSE: usize = 64 * 1024;

/// Longest version string kept; Ollama's are short (`0.12.6`, `0.5.0-rc1`).
const MAX_VERSION: usize = 40;

/// `ollama-local`: checks that an Ollama server answers where the settings say, and records
/// where it is. No key, no browser, no prompt.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalMethod;

/// Why the server check failed.
#[derive(Debug, Error)]
pub(crate) enum CheckError {
    /// Nothing answered; why is the source, so a chain says it once.
    #[error(
        "no Ollama server answered at {base}: start one with `ollama serve`, or set {HOST_ENV} to where yours runs"
    )]
    Unreachable {
        /// The server tried, as the user would write it.
        base: String,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// Something answered, but refused.
    #[error("the server at {base} answered GET /api/version with HTTP {status}: {meaning}")]
    Refused {
        /// The server tried.
        base: String,
        /// Its status.
        status: u16,
        /// What that means, with the server's words when it gave Ollama's error shape.
        meaning: String,
    },
    /// Something answered 2xx, but not as Ollama does.
    #[error(
        "the server at {base} answered GET /api/version, but not as Ollama does: check that {HOST_ENV} names an Ollama server"
    )]
    NotOllama {
        /// The server tried.
        base: String,
    },
}

/// Asks the server for its version: `Ok(Some(version))` when it gives one, `Ok(None)` when it
/// answers as Ollama does but without one.
pub(crate) async fn server_version(
    client: &dyn HttpClient,
    endpoints: &Endpoints,
) -> Result<Option<String>, CheckError> {
    let request =
        HttpRequest::get(endpoints.version_url()).with_max_response_bytes(MAX_VERSION_RESPONSE);
    let response =
        send_with_retry(client, request)
            .await
            .map_err(|source| CheckError::Unreachable {
                base: endpoints.base().to_owned(),
                source,
            })?;
    read_version(&response, endpoints.base())
}

fn read_version(response: &HttpResponse, base: &str) -> Result<Option<String>, CheckError> {
    if !response.is_success() {
        let meaning = match response.status {
            401 | 403 => {
                "a proxy in front of the server wants credentials, which plugboard does not send to Ollama"
            }
            404 => "no such endpoint: the server is not Ollama, or one too old to say its version",
            500..=599 => "the server failed: see the log of `ollama serve`",
            _ => "unexpected answer",
        };
        // Nothing is sent at sign-in, so there is no secret to scrub from the server's words.
        return Err(CheckError::Refused {
            base: base.to_owned(),
            status: response.status,
            meaning: with_said(meaning, &response.body, ""),
        });
    }
    let not_ollama = || CheckError::NotOllama {
        base: base.to_owned(),
    };
    let Ok(serde_json::Value::Object(reply)) = serde_json::from_slice(&response.body) else {
        return Err(not_ollama());
    };
    Ok(match reply.get("version") {
        Some(serde_json::Value::String(version)) => {
            Some(sanitize_line(version, MAX_VERSION)).filter(|v| !v.is_empty())
        }
        _ => None,
    })
}

#[async_trait]
impl AuthMethod for LocalMethod {
    fn id(&self) -> &str {
        LOCAL_METHOD_ID
    }

    fn label(&self) -> &str {
        "Ollama (local server)"
    }

    fn hint(&self) -> Option<&str> {
        Some("No key: checks that your Ollama server answers")
    }

    fn kind(&self) -> AuthKind {
        AuthKind::Local
    }

    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        let endpoints = Endpoints::from_host(&ctx.host)
            .map_err(|e| AuthError::InvalidInput(location_message(&e)))?;
        let profile_id = ctx
            .target_profile(PROVIDER_ID)
            .map_err(|e| AuthError::InvalidInput(e.to_string()))?;
        let base = endpoints.base().to_owned();

        let progress = ctx
            .prompter
            .progress(&format!("checking for an Ollama server at {base}"));
        let version = match server_version(ctx.host.http_client.as_ref(), &endpoints).await {
            Ok(version) => {
                progress.finish(&format!("an Ollama server answers at {base}"));
                version
            }
            Err(e) => {
                progress.finish("no Ollama server answered");
                // Unreachable keeps its cause as the source, so the host's chain says it
                // once; the other failures are one line already.
                return Err(match e {
                    CheckError::Unreachable { .. } => AuthError::other(e),
                    _ => AuthError::Service(e.to_string()),
                });
            }
        };

        let mut provenance = Provenance::new();
        provenance.insert("auth_flow".into(), LOCAL_METHOD_ID.into());
        provenance.insert("method".into(), LOCAL_METHOD_ID.into());
        provenance.insert("base_url".into(), base.clone().into());
        if let Some(version) = &version {
            provenance.insert("version".into(), version.clone().into());
        }
        provenance.insert(
            "checked_at".into(),
            humantime::format_rfc3339_seconds(ctx.clock.now())
                .to_string()
                .into(),
        );
        let answered = match &version {
            Some(version) => format!("Ollama {version} answers at {base}"),
            None => format!("Ollama answers at {base}"),
        };
        let mut result = AuthResult::profile(profile_id, Credential::none(provenance)).with_note(
            format!("{answered}; nothing secret is stored, only where the server is"),
        );
        if endpoints.unencrypted() {
            result = result.with_note(format!(
                "prompts and replies travel to {base} unencrypted (plain http, allowed by providers.{PROVIDER_ID}.allow_plain_http)"
            ));
        }
        Ok(result.with_note(
            "see the models it has with `ollama list`, and pull more with `ollama pull <model>`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{AuthContext, CredentialKind, ErrorChain, HostServices, ScriptedHttp};
    use serde_json::json;

    use super::*;

    fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
    }

    fn refused() -> Result<HttpResponse, HttpError> {
        Err(HttpError::Connect {
            host: "127.0.0.1".into(),
            reason: "connection refused".into(),
        })
    }

    fn context(replies: Vec<Result<HttpResponse, HttpError>>) -> (AuthContext, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new(replies));
        let mut ctx = AuthContext::scripted([]);
        ctx.host = HostServices::default().with_http_client(http.clone());
        (ctx, http)
    }

    #[tokio::test]
    async fn a_server_that_answers_is_stored_as_a_none_credential_with_where_and_which_version() {
        let (mut ctx, http) = context(vec![reply(200, r#"{"version":"0.12.6"}"#)]);
        let result = LocalMethod.run(&mut ctx).await.unwrap();
        assert_eq!(http.requests()[0].url, "http://127.0.0.1:11434/api/version");
        assert!(http.requests()[0].headers.is_empty());
        let [profile] = result.profiles.as_slice() else {
            panic!("one profile: {:?}", result.profiles);
        };
        assert_eq!(profile.profile_id.to_string(), "ollama:default");
        let credential = &profile.credential;
        assert_eq!(credential.kind(), CredentialKind::None);
        assert!(!credential.has_secret());
        assert_eq!(
            serde_json::Value::Object(credential.provenance().clone()),
            json!({
                "auth_flow": "local",
                "method": "local",
                "base_url": "http://127.0.0.1:11434",
                "version": "0.12.6",
                "checked_at": "2023-11-14T22:13:20Z",
            })
        );
        assert_eq!(
            result.notes,
            [
                "Ollama 0.12.6 answers at http://127.0.0.1:11434; nothing secret is stored, only where the server is",
                "see the models it has with `ollama list`, and pull more with `ollama pull <model>`",
            ]
        );
        assert!(result.default_model.is_none());
    }

    #[test]
    fn the_version_is_kept_only_when_given_and_only_as_plain_text() {
        let cases = [
            (r#"{"version":"0.5.0-rc1"}"#, Some("0.5.0-rc1")),
            (r#"{}"#, None),
            (r#"{"version":7}"#, None),
            (r#"{"version":"\u001b[2J0.1\n"}"#, Some("0.1")),
        ];
        for (body, want) in cases {
            assert_eq!(
                read_version(&HttpResponse::new(200, body), "b")
                    .unwrap()
                    .as_deref(),
                want,
                "{body}"
            );
        }
        // Only a JSON object is Ollama's answer; serde would read a struct from an array.
        for body in ["[]", r#"["0.1"]"#, "null", "\"0.1\"", "<html>"] {
            assert!(
                matches!(
                    read_version(&HttpResponse::new(200, body), "b"),
                    Err(CheckError::NotOllama { .. })
                ),
                "{body}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_does_not_answer_fails_in_one_line_naming_the_server_and_the_fix() {
        type Case = (Vec<Result<HttpResponse, HttpError>>, &'static str);
        let cases: Vec<Case> = vec![
            (
                vec![refused(), refused()],
                "no Ollama server answered at http://127.0.0.1:11434: start one with `ollama serve`, or set OLLAMA_HOST to where yours runs: cannot connect to 127.0.0.1: connection refused",
            ),
            (
                vec![reply(404, "404 page not found")],
                "the server at http://127.0.0.1:11434 answered GET /api/version with HTTP 404: no such endpoint: the server is not Ollama, or one too old to say its version",
            ),
            (
                vec![reply(401, r#"{"error":"unauthorized"}"#)],
                "the server at http://127.0.0.1:11434 answered GET /api/version with HTTP 401: a proxy in front of the server wants credentials, which plugboard does not send to Ollama (Ollama said: unauthorized)",
            ),
            (
                vec![reply(500, r#"{"error":"boom"}"#)],
                "the server at http://127.0.0.1:11434 answered GET /api/version with HTTP 500: the server failed: see the log of `ollama serve` (Ollama said: boom)",
            ),
            (
                vec![reply(200, "<html>")],
                "the server at http://127.0.0.1:11434 answered GET /api/version, but not as Ollama does: check that OLLAMA_HOST names an Ollama server",
            ),
        ];
        for (replies, want) in cases {
            let (mut ctx, _) = context(replies);
            let err = LocalMethod.run(&mut ctx).await.unwrap_err();
            assert_eq!(ErrorChain(&err).to_string(), want);
        }
    }

    #[tokio::test]
    async fn ollama_host_and_the_permission_for_plain_http_decide_where_it_checks() {
        let (mut ctx, http) = context(vec![reply(200, r#"{"version":"0.12.6"}"#)]);
        ctx.host = ctx
            .host
            .clone()
            .with_env(HOST_ENV, "192.168.1.5:8080")
            .with_config(json!({"providers": {"ollama": {"allow_plain_http": true}}}));
        let result = LocalMethod.run(&mut ctx).await.unwrap();
        assert_eq!(
            http.requests()[0].url,
            "http://192.168.1.5:8080/api/version"
        );
        assert_eq!(
            result.profiles[0].credential.provenance()["base_url"],
            "http://192.168.1.5:8080"
        );
        assert!(
            result.notes[1].contains("unencrypted"),
            "{:?}",
            result.notes
        );

        // Without the permission nothing is sent, and the message says how to allow it.
        let (mut ctx, http) = context(vec![]);
        ctx.host = ctx.host.clone().with_env(HOST_ENV, "192.168.1.5:8080");
        let err = LocalMethod.run(&mut ctx).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidInput(_)), "{err:?}");
        assert!(
            err.to_string().contains("allow_plain_http to true"),
            "{err}"
        );
        assert!(http.requests().is_empty());
    }
}
