//! Calling the Copilot API (chat completions, models) with a credential's cached Copilot
//! session: where the API is, the headers it requires, sending, and what its refusals and
//! unreadable answers mean.
//!
//! The API refuses a Copilot token without the editor identity headers
//! (`400 bad request: missing Editor-Version header for IDE auth`, the failure OpenClaw's
//! `fix(github-copilot): send IDE auth headers` and LiteLLM issue #13256 report), so every
//! request carries `Editor-Version`, `Editor-Plugin-Version` and `Copilot-Integration-Id`
//! with the values pi-ai sends (`COPILOT_HEADERS` in its `github-copilot.ts`, which OpenClaw
//! uses): VS Code's Copilot Chat extension, the integration GitHub issues these tokens to.

use std::time::SystemTime;

use plugboard_core::{Credential, HttpRequest, HttpResponse, ModelContext, ModelError};
use plugboard_http::send_with_retry;
use secrecy::ExposeSecret;
use url::Url;

use crate::service_text::{SERVICE, copilot_said, says_token_expired, with_said};
use crate::session::api_base;

/// `Editor-Version`: the editor the integration is, as pi-ai names it.
pub(crate) const EDITOR_VERSION: &str = "vscode/1.107.0";
/// `Editor-Plugin-Version`: the Copilot Chat extension's version, as pi-ai names it.
pub(crate) const EDITOR_PLUGIN_VERSION: &str = "copilot-chat/0.35.0";
/// `Copilot-Integration-Id`: the integration the token was issued to (VS Code's chat).
pub(crate) const INTEGRATION_ID: &str = "vscode-chat";

/// Where the Copilot API is when a token reply names no `endpoints.api`: the individual
/// plan's API, the default OpenClaw falls back to.
pub const DEFAULT_COPILOT_API: &str = "https://api.individual.githubcopilot.com";

/// A Copilot token ready to send, and the API to send it to.
pub(crate) struct Session<'a> {
    token: &'a str,
    api: Url,
}

impl Session<'_> {
    /// `GET <api><path>` with the token and the editor identity headers.
    pub(crate) fn get(&self, path: &str) -> HttpRequest {
        self.identified(HttpRequest::get(self.url(path)))
    }

    /// `POST <api><path>` of `body` as JSON, with the token and the editor identity headers.
    pub(crate) fn post_json(&self, path: &str, body: &serde_json::Value) -> HttpRequest {
        self.identified(HttpRequest::post_json(self.url(path), body))
    }

    fn url(&self, path: &str) -> String {
        plugboard_http::join_path(&self.api, path)
    }

    fn identified(&self, request: HttpRequest) -> HttpRequest {
        request
            .with_header("authorization", format!("Bearer {}", self.token))
            .with_header("accept", "application/json")
            .with_header("copilot-integration-id", INTEGRATION_ID)
            .with_header("editor-version", EDITOR_VERSION)
            .with_header("editor-plugin-version", EDITOR_PLUGIN_VERSION)
    }
}

/// The session of `credential` if it can be used at `now`. Without one, or with one that has
/// expired, the call fails as [`ModelError::CredentialExpired`] before anything is sent: only
/// the host can renew it (under its lock, then store it), so it renews and calls again.
pub(crate) fn session_for_use(
    credential: &Credential,
    now: SystemTime,
) -> Result<Session<'_>, ModelError> {
    let expired = |detail: String| ModelError::CredentialExpired {
        service: SERVICE.to_owned(),
        detail,
    };
    let session = credential.session().ok_or_else(|| {
        expired("no Copilot token has been derived from the GitHub sign-in yet".to_owned())
    })?;
    if session.expires_at <= now {
        return Err(expired(format!(
            "the cached Copilot token expired at {}",
            humantime::format_rfc3339_seconds(session.expires_at)
        )));
    }
    let api = match &session.endpoint {
        // Checked when GitHub sent it; checked again because the store is outside this code.
        Some(endpoint) => api_base(endpoint).map_err(|()| {
            expired("the cached Copilot session names an API that is not an https URL".to_owned())
        })?,
        None => Url::parse(DEFAULT_COPILOT_API)
            .map_err(|e| ModelError::Config(format!("the default Copilot API is invalid: {e}")))?,
    };
    Ok(Session {
        token: session.token.expose_secret(),
        api,
    })
}

/// Every secret `credential` holds, to scrub from whatever the service says: the Copilot
/// token is what is sent, but a service (or a test) may echo the GitHub token too.
pub(crate) fn secrets(credential: &Credential) -> Vec<&str> {
    [
        Some(credential.expose_secret()),
        credential.session_token(),
        credential.refresh_token(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect()
}

/// Sends `request` (a [`Session`]'s) with the one safe retry. No answer at all is a network
/// failure naming the service; what an answer means is the caller's to read.
pub(crate) async fn send(
    ctx: &ModelContext,
    request: HttpRequest,
) -> Result<HttpResponse, ModelError> {
    send_with_retry(ctx.host.http_client.as_ref(), request)
        .await
        .map_err(|source| ModelError::Network {
            service: SERVICE.to_owned(),
            source,
        })
}

/// An answer to a Copilot API call (`what`: "the model call", "the model list") that is not
/// what it should be; `how` says how.
pub(crate) fn malformed(what: &str, how: &str) -> ModelError {
    ModelError::BadResponse(format!(
        "GitHub Copilot's answer to {what} {how}: try again, and report it if it persists"
    ))
}

/// A refused Copilot API call (`what`: "the model call", "the model list") as one line of the
/// right kind. A 401 saying the token expired asks the host to renew the session; any other
/// 401 is a token Copilot does not take at all.
pub(crate) fn refusal(response: &HttpResponse, secrets: &[&str], what: &str) -> ModelError {
    let status = response.status;
    let said = copilot_said(&response.body, secrets);
    let answered = |meaning: &str| {
        with_said(
            &format!("GitHub Copilot answered {what} with HTTP {status}: {meaning}"),
            said.clone(),
        )
    };
    match status {
        401 => {
            let detail = match &said {
                Some(words) => format!("HTTP 401 ({words})"),
                None => "HTTP 401".to_owned(),
            };
            if says_token_expired(&response.body) {
                ModelError::CredentialExpired {
                    service: SERVICE.to_owned(),
                    detail,
                }
            } else {
                ModelError::CredentialRejected {
                    service: SERVICE.to_owned(),
                    detail,
                }
            }
        }
        402 | 429 => ModelError::RateLimited(answered(
            "Copilot's rate limit or the plan's allowance was reached: wait and try again",
        )),
        403 => ModelError::InvalidRequest(answered(
            "this account may not use this (a Copilot policy or plan restriction): check https://github.com/settings/copilot",
        )),
        404 => ModelError::InvalidRequest(answered("not found: check the model id")),
        400 | 413 | 422 => ModelError::InvalidRequest(answered("the request was refused")),
        408 | 500..=599 => ModelError::Service(answered("Copilot failed: try again in a minute")),
        _ => ModelError::Service(answered(
            "unexpected answer: try again, and report it if it persists",
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use plugboard_core::{ModelErrorKind, OAuthTokens, Provenance, SessionToken};

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn credential(session: Option<(&str, u64, Option<&str>)>) -> Credential {
        let mut tokens = OAuthTokens::new("ghu_github".to_owned().into());
        tokens.session = session.map(|(token, expires, endpoint)| SessionToken {
            token: token.to_owned().into(),
            expires_at: at(expires),
            endpoint: endpoint.map(str::to_owned),
        });
        Credential::oauth(tokens, Provenance::new())
    }

    #[test]
    fn a_usable_session_sends_its_token_and_the_identity_headers_to_its_api() {
        let c = credential(Some((
            "cop-1",
            NOW + 600,
            Some("https://api.business.githubcopilot.com"),
        )));
        let session = session_for_use(&c, at(NOW)).unwrap();
        let request = session.get("/models");
        assert_eq!(request.url, "https://api.business.githubcopilot.com/models");
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers,
            [
                ("authorization", "Bearer cop-1"),
                ("accept", "application/json"),
                ("copilot-integration-id", "vscode-chat"),
                ("editor-version", "vscode/1.107.0"),
                ("editor-plugin-version", "copilot-chat/0.35.0"),
            ]
        );
        let without_endpoint = credential(Some(("cop-1", NOW + 600, None)));
        let session = session_for_use(&without_endpoint, at(NOW)).unwrap();
        assert_eq!(
            session.get("/models").url,
            "https://api.individual.githubcopilot.com/models"
        );
    }

    #[test]
    fn a_missing_expired_or_unusable_session_asks_the_host_to_renew_it() {
        let cases = [
            (
                credential(None),
                "no Copilot token has been derived from the GitHub sign-in yet",
            ),
            (
                credential(Some(("cop-1", NOW, None))),
                "the cached Copilot token expired at 2023-11-14T22:13:20Z",
            ),
            (
                credential(Some(("cop-1", NOW + 600, Some("http://copilot.example")))),
                "the cached Copilot session names an API that is not an https URL",
            ),
        ];
        for (credential, detail) in cases {
            let err = session_for_use(&credential, at(NOW)).err().unwrap();
            assert_eq!(err.kind(), ModelErrorKind::CredentialExpired);
            assert_eq!(
                err.to_string(),
                format!("the GitHub Copilot access token has expired: {detail}")
            );
        }
    }

    #[test]
    fn refusals_map_to_the_kind_the_host_acts_on() {
        let cases = [
            (
                401,
                "unauthorized: token expired\n",
                ModelErrorKind::CredentialExpired,
            ),
            (
                401,
                "unauthorized: AuthenticateToken authentication failed\n",
                ModelErrorKind::CredentialRejected,
            ),
            (
                402,
                r#"{"error":{"message":"quota exceeded"}}"#,
                ModelErrorKind::RateLimited,
            ),
            (429, "", ModelErrorKind::RateLimited),
            (403, "forbidden", ModelErrorKind::InvalidRequest),
            (
                400,
                "bad request: missing Editor-Version header for IDE auth",
                ModelErrorKind::InvalidRequest,
            ),
            (404, "", ModelErrorKind::InvalidRequest),
            (500, "", ModelErrorKind::Service),
            (503, "", ModelErrorKind::Service),
            (418, "", ModelErrorKind::Service),
        ];
        for (status, body, kind) in cases {
            let err = refusal(&HttpResponse::new(status, body), &[], "the model call");
            assert_eq!(err.kind(), kind, "{status} {body}");
        }
        let err = refusal(
            &HttpResponse::new(401, "unauthorized: token expired\n"),
            &[],
            "the model call",
        );
        assert_eq!(
            err.to_string(),
            "the GitHub Copilot access token has expired: HTTP 401 (unauthorized: token expired)"
        );
        let err = refusal(
            &HttpResponse::new(
                400,
                r#"{"error":{"message":"The requested model is not supported.","code":"model_not_supported"}}"#,
            ),
            &[],
            "the model call",
        );
        assert_eq!(
            err.to_string(),
            "GitHub Copilot answered the model call with HTTP 400: the request was refused (GitHub said: The requested model is not supported.)"
        );
    }

    #[test]
    fn every_secret_of_the_credential_is_scrubbed() {
        let mut tokens = OAuthTokens::new("ghu_github".to_owned().into());
        tokens.refresh_token = Some("rt".to_owned().into());
        tokens.session = Some(SessionToken {
            token: "cop".to_owned().into(),
            expires_at: at(NOW),
            endpoint: None,
        });
        let c = Credential::oauth(tokens, Provenance::new());
        assert_eq!(secrets(&c), ["ghu_github", "cop", "rt"]);
    }

    #[test]
    fn an_unreadable_answer_names_the_call_and_how_it_is_wrong() {
        let err = crate::models::parse_models(b"<html>").unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::BadResponse);
        assert_eq!(
            err.to_string(),
            "GitHub Copilot's answer to the model list is not the JSON it should be (an object with a data list): try again, and report it if it persists"
        );
        let err = malformed("the model call", "has no text in its choices");
        assert_eq!(err.kind(), ModelErrorKind::BadResponse);
        assert_eq!(
            err.to_string(),
            "GitHub Copilot's answer to the model call has no text in its choices: try again, and report it if it persists"
        );
    }
}
