//! The Copilot session: trading the stored GitHub token for a short-lived Copilot token at
//! `GET /copilot_internal/v2/token`, as OpenClaw (`extensions/github-copilot/token.ts`), pi-ai
//! (`refreshGitHubCopilotToken`) and Zed (`request_api_token`) do. The answer carries the
//! token, when it expires (`expires_at`, Unix seconds), when to renew it (`refresh_in`) and
//! where the Copilot API is for this account (`endpoints.api`).
//!
//! The request sends the GitHub token as `Authorization: Bearer` (OpenClaw and pi-ai; Zed and
//! LiteLLM send the older `token` scheme, which GitHub's REST API accepts alike) with
//! `Accept: application/json` and the editor identity headers (OpenClaw sends them on the
//! exchange since its fix for `missing Editor-Version header for IDE auth`), among them
//! `Copilot-Integration-Id`, as pi-ai (`COPILOT_HEADERS`) and OpenClaw
//! (`resolveCopilotApiToken` in `src/plugin-sdk/provider-auth.ts`) send it: GitHub issues the
//! Copilot token for the integration it names, and without it for `copilot-language-server`,
//! which fewer models accept (OpenClaw pull request #79976).

use std::time::{Duration, SystemTime};

use plugboard_core::{HostServices, HttpError, HttpRequest, HttpResponse, SessionToken};
use plugboard_http::{is_loopback, send_with_retry};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;
use url::Url;

use crate::copilot_api::{EDITOR_PLUGIN_VERSION, EDITOR_VERSION, INTEGRATION_ID};
use crate::service_text::{github_said, with_said};

/// Why no Copilot token came back. Messages never hold a token; GitHub's words are sanitised
/// and scrubbed.
#[derive(Debug, Error)]
pub(crate) enum ExchangeError {
    /// No complete answer: the cause is the source.
    #[error("GitHub could not be reached for a Copilot token")]
    Network(#[source] HttpError),
    /// 401: GitHub no longer accepts the stored GitHub token.
    #[error("{}", with_said("GitHub no longer accepts the stored GitHub token (HTTP 401: it was revoked, expired, or the app's authorization was withdrawn)", said.clone()))]
    Revoked {
        /// GitHub's words.
        said: Option<String>,
    },
    /// 403: the token is good, but the account may not use Copilot.
    #[error("{}", with_said("GitHub answered HTTP 403 to the Copilot token request: this GitHub account has no Copilot access (no Copilot plan, or an organization policy blocks it); check https://github.com/settings/copilot", said.clone()))]
    NoCopilot {
        /// GitHub's words.
        said: Option<String>,
    },
    /// Any other refusal.
    #[error("{}", refused_line(*status, said.clone()))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// GitHub's words.
        said: Option<String>,
    },
    /// An answer that is not the documented shape.
    #[error(
        "GitHub's answer to the Copilot token request {0}: try again, and report it if it persists"
    )]
    Malformed(&'static str),
}

fn refused_line(status: u16, said: Option<String>) -> String {
    let meaning = match status {
        429 => "too many requests: try again in a minute",
        500..=599 => "GitHub failed: try again in a minute",
        _ => "unexpected answer: try again, and report it if it persists",
    };
    with_said(
        &format!("GitHub answered the Copilot token request with HTTP {status}: {meaning}"),
        said,
    )
}

/// Asks GitHub at `url` for a Copilot token for `github_token`. `secrets` are scrubbed from
/// anything GitHub says. Nothing is stored: the caller decides what to keep.
pub(crate) async fn exchange(
    host: &HostServices,
    url: &str,
    github_token: &str,
    secrets: &[&str],
) -> Result<SessionToken, ExchangeError> {
    let request = HttpRequest::get(url)
        .with_header("accept", "application/json")
        .with_header("authorization", format!("Bearer {github_token}"))
        // The Copilot token is issued for this integration; without it GitHub issues one for
        // another integration, which some of the plan's models refuse.
        .with_header("copilot-integration-id", INTEGRATION_ID)
        .with_header("editor-version", EDITOR_VERSION)
        .with_header("editor-plugin-version", EDITOR_PLUGIN_VERSION);
    // A GET that changes nothing at GitHub: the one safe retry applies.
    let response = send_with_retry(host.http_client.as_ref(), request)
        .await
        .map_err(ExchangeError::Network)?;
    read_reply(&response, secrets)
}

fn read_reply(response: &HttpResponse, secrets: &[&str]) -> Result<SessionToken, ExchangeError> {
    let said = || github_said(&response.body, secrets);
    match response.status {
        200..=299 => parse_token_reply(&response.body).map_err(ExchangeError::Malformed),
        401 => Err(ExchangeError::Revoked { said: said() }),
        403 => Err(ExchangeError::NoCopilot { said: said() }),
        status => Err(ExchangeError::Refused {
            status,
            said: said(),
        }),
    }
}

#[derive(Deserialize)]
struct TokenReply {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    expires_at: Option<Value>,
    #[serde(default)]
    endpoints: Option<ReplyEndpoints>,
}

#[derive(Deserialize)]
struct ReplyEndpoints {
    #[serde(default)]
    api: Option<String>,
}

/// The session a token reply describes, or what is wrong with it.
pub(crate) fn parse_token_reply(body: &[u8]) -> Result<SessionToken, &'static str> {
    // serde reads a struct from a JSON array too; the answer is an object or nothing.
    let reply: TokenReply = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .and_then(|value| serde_json::from_value(value).ok())
        .ok_or("is not the JSON it should be")?;
    let token = reply
        .token
        .filter(|t| !t.trim().is_empty())
        .ok_or("has no token")?;
    if token.chars().any(char::is_control) {
        // It goes into a header; GitHub's tokens are printable ASCII.
        return Err("has a token that cannot be sent");
    }
    let expires_at = match reply.expires_at {
        None | Some(Value::Null) => return Err("has no expires_at"),
        Some(value) => value
            .as_u64()
            // Checked: `+` panics on a time past what `SystemTime` holds.
            .and_then(|secs| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
            .ok_or("has an expires_at that is not a time in Unix seconds")?,
    };
    let endpoint = match reply.endpoints.and_then(|e| e.api) {
        None => None,
        Some(api) => Some(
            api_base(&api)
                .map_err(|_| "names a Copilot API that is not an https URL")?
                .to_string(),
        ),
    };
    Ok(SessionToken {
        token: SecretString::from(token),
        expires_at,
        endpoint,
    })
}

/// The Copilot API a session's endpoint names, if it may receive the Copilot token: an
/// absolute https URL (plain http only to this machine, for a double) without a user name or
/// password. The endpoint comes from a service answer and is read back from the store, so it
/// is checked both times.
pub(crate) fn api_base(endpoint: &str) -> Result<Url, ()> {
    let url = Url::parse(endpoint.trim()).map_err(|_| ())?;
    let secure = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    if !secure || url.host_str().is_none() || !url.username().is_empty() || url.password().is_some()
    {
        return Err(());
    }
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{ErrorChain, ScriptedHttp};
    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;

    const URL: &str = "http://127.0.0.1:9/copilot_internal/v2/token";
    const GITHUB_TOKEN: &str = "ghu_StoredGitHubToken0123456789abcdefXY";

    #[test]
    fn token_replies_are_read_as_github_sends_them_and_refused_otherwise() {
        let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        // (body, Ok((token, expires_at, endpoint)) | Err(what))
        type Read<'a> = Result<(&'a str, SystemTime, Option<&'a str>), &'a str>;
        let cases: Vec<(Value, Read)> = vec![
            (
                json!({"token": "tid=1;exp=1700001800;proxy-ep=proxy.individual.githubcopilot.com",
                       "expires_at": 1_700_001_800, "refresh_in": 1500,
                       "endpoints": {"api": "https://api.individual.githubcopilot.com",
                                     "proxy": "https://proxy.individual.githubcopilot.com"},
                       "chat_enabled": true, "sku": "copilot_for_individual"}),
                Ok((
                    "tid=1;exp=1700001800;proxy-ep=proxy.individual.githubcopilot.com",
                    at(1_700_001_800),
                    Some("https://api.individual.githubcopilot.com/"),
                )),
            ),
            (
                json!({"token": "t", "expires_at": 1_700_001_800,
                       "endpoints": {"api": "https://api.business.githubcopilot.com/"}}),
                Ok((
                    "t",
                    at(1_700_001_800),
                    Some("https://api.business.githubcopilot.com/"),
                )),
            ),
            (
                json!({"token": "t", "expires_at": 1_700_001_800,
                       "endpoints": {"api": "http://127.0.0.1:4000/copilot-api/"}}),
                Ok((
                    "t",
                    at(1_700_001_800),
                    Some("http://127.0.0.1:4000/copilot-api"),
                )),
            ),
            (
                json!({"token": "t", "expires_at": 1_700_001_800}),
                Ok(("t", at(1_700_001_800), None)),
            ),
            (
                json!({"token": "t", "expires_at": 1_700_001_800, "endpoints": {}}),
                Ok(("t", at(1_700_001_800), None)),
            ),
            (json!({"expires_at": 1_700_001_800}), Err("has no token")),
            (json!({"token": "  ", "expires_at": 1}), Err("has no token")),
            (
                json!({"token": "a\nb", "expires_at": 1}),
                Err("has a token that cannot be sent"),
            ),
            (json!({"token": "t"}), Err("has no expires_at")),
            (
                json!({"token": "t", "expires_at": null}),
                Err("has no expires_at"),
            ),
            (
                json!({"token": "t", "expires_at": "1700001800"}),
                Err("has an expires_at that is not a time in Unix seconds"),
            ),
            (
                json!({"token": "t", "expires_at": -5}),
                Err("has an expires_at that is not a time in Unix seconds"),
            ),
            // Past what a `SystemTime` holds: refused, never a panic.
            (
                json!({"token": "t", "expires_at": u64::MAX}),
                Err("has an expires_at that is not a time in Unix seconds"),
            ),
            (
                json!({"token": "t", "expires_at": 1, "endpoints": {"api": "http://copilot.example"}}),
                Err("names a Copilot API that is not an https URL"),
            ),
            (
                json!({"token": "t", "expires_at": 1, "endpoints": {"api": "https://u:p@copilot.example"}}),
                Err("names a Copilot API that is not an https URL"),
            ),
            (
                json!({"token": "t", "expires_at": 1, "endpoints": {"api": "api.githubcopilot.com"}}),
                Err("names a Copilot API that is not an https URL"),
            ),
            (json!(["token"]), Err("is not the JSON it should be")),
        ];
        for (body, want) in cases {
            let got = parse_token_reply(body.to_string().as_bytes());
            let got = got.map(|s| {
                (
                    s.token.expose_secret().to_owned(),
                    s.expires_at,
                    s.endpoint.clone(),
                )
            });
            let want = want.map(|(t, e, a)| (t.to_owned(), e, a.map(str::to_owned)));
            assert_eq!(got, want, "{body}");
        }
        assert_eq!(
            parse_token_reply(b"<html>").unwrap_err(),
            "is not the JSON it should be"
        );
    }

    async fn exchanged(
        replies: Vec<Result<HttpResponse, HttpError>>,
    ) -> (Result<SessionToken, ExchangeError>, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new(replies));
        let host = HostServices::default().with_http_client(http.clone());
        (
            exchange(&host, URL, GITHUB_TOKEN, &[GITHUB_TOKEN]).await,
            http,
        )
    }

    #[tokio::test]
    async fn the_exchange_sends_the_github_token_and_the_editor_headers() {
        let body = json!({"token": "tid=1", "expires_at": 1_700_001_800,
                          "endpoints": {"api": "https://api.githubcopilot.com"}});
        let (got, http) = exchanged(vec![Ok(HttpResponse::new(200, body.to_string()))]).await;
        let session = got.unwrap();
        assert_eq!(session.token.expose_secret(), "tid=1");
        let sent = &http.requests()[0];
        assert_eq!(sent.method, plugboard_core::HttpMethod::Get);
        assert_eq!(sent.url, URL);
        assert!(sent.body.is_none());
        let bearer = format!("Bearer {GITHUB_TOKEN}");
        let headers: Vec<(&str, &str)> = sent
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers,
            [
                ("accept", "application/json"),
                ("authorization", bearer.as_str()),
                ("copilot-integration-id", INTEGRATION_ID),
                ("editor-version", EDITOR_VERSION),
                ("editor-plugin-version", EDITOR_PLUGIN_VERSION),
            ]
        );
    }

    #[tokio::test]
    async fn refusals_are_told_apart_and_never_show_the_github_token() {
        let echo = format!(
            r#"{{"message":"Bad credentials for {GITHUB_TOKEN}","documentation_url":"https://docs.github.com/rest"}}"#
        );
        let no_copilot = r#"{"error_details":{"message":"No access to GitHub Copilot found."},"message":"Not allowed"}"#;
        let refused = || HttpError::Connect {
            host: "127.0.0.1".into(),
            reason: "connection refused".into(),
        };
        // (answers, as many as are sent: one retry after a failed connect)
        let cases: Vec<(Vec<Result<HttpResponse, HttpError>>, &str)> = vec![
            (
                vec![Ok(HttpResponse::new(401, echo))],
                "GitHub no longer accepts the stored GitHub token (HTTP 401: it was revoked, expired, or the app's authorization was withdrawn) (GitHub said: Bad credentials for [redacted])",
            ),
            (
                vec![Ok(HttpResponse::new(403, no_copilot))],
                "GitHub answered HTTP 403 to the Copilot token request: this GitHub account has no Copilot access (no Copilot plan, or an organization policy blocks it); check https://github.com/settings/copilot (GitHub said: No access to GitHub Copilot found.)",
            ),
            (
                vec![Ok(HttpResponse::new(429, ""))],
                "GitHub answered the Copilot token request with HTTP 429: too many requests: try again in a minute",
            ),
            (
                vec![Ok(HttpResponse::new(500, r#"{"message":"Server Error"}"#))],
                "GitHub answered the Copilot token request with HTTP 500: GitHub failed: try again in a minute (GitHub said: Server Error)",
            ),
            (
                vec![Ok(HttpResponse::new(200, "<html>"))],
                "GitHub's answer to the Copilot token request is not the JSON it should be: try again, and report it if it persists",
            ),
            (
                vec![Err(refused()), Err(refused())],
                "GitHub could not be reached for a Copilot token: cannot connect to 127.0.0.1: connection refused",
            ),
        ];
        for (replies, line) in cases {
            let (got, _) = exchanged(replies).await;
            let err = got.unwrap_err();
            let shown = ErrorChain(&err).to_string();
            assert_eq!(shown, line);
            assert!(!plugboard_core::shows_secret(
                &format!("{err:?}"),
                GITHUB_TOKEN
            ));
        }
    }

    #[test]
    fn only_an_https_api_or_one_on_this_machine_may_receive_the_copilot_token() {
        let cases = [
            (
                "https://api.githubcopilot.com",
                Some("https://api.githubcopilot.com/"),
            ),
            (
                "https://copilot-api.corp.ghe.com/v1/",
                Some("https://copilot-api.corp.ghe.com/v1"),
            ),
            ("http://localhost:4000/x", Some("http://localhost:4000/x")),
            ("http://[::1]:4000", Some("http://[::1]:4000/")),
            ("http://api.githubcopilot.com", None),
            ("ftp://api.githubcopilot.com", None),
            ("https://user@api.githubcopilot.com", None),
            ("not a url", None),
        ];
        for (endpoint, want) in cases {
            let got = api_base(endpoint).ok().map(|u| u.to_string());
            assert_eq!(got.as_deref(), want, "{endpoint}");
        }
    }
}
