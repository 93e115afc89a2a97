//! The code exchange: `POST <base>/auth/keys` with the code and PKCE verifier, answered with an
//! ordinary OpenRouter API key. Every failure becomes one short line; a server's text is shown
//! only sanitised and cut short, and the key never appears in an error.

use plugboard_core::{HttpClient, HttpError, HttpRequest, HttpResponse, validate_api_key};
use plugboard_http::send_with_retry;
use plugboard_oauth::Authorization;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use thiserror::Error;

use crate::endpoints::Endpoints;
use crate::service_text::{short_line, with_said};

/// A key and a user id fit in a few hundred bytes; 64 KiB leaves room for any error page while
/// keeping a hostile answer from filling memory.
const MAX_EXCHANGE_RESPONSE: usize = 64 * 1024;

/// What a successful exchange returns.
pub(crate) struct ExchangedKey {
    pub(crate) key: SecretString,
    pub(crate) user_id: Option<String>,
}

/// Why no key came back.
#[derive(Debug, Error)]
pub(crate) enum ExchangeError {
    /// The request never got a complete answer; why is the source, so it is said once.
    #[error("cannot exchange the code with OpenRouter")]
    Http(#[source] HttpError),
    /// OpenRouter said no.
    #[error("OpenRouter answered the code exchange with HTTP {status}: {message}")]
    Refused { status: u16, message: String },
    /// A 2xx answer that is not what the API documents.
    #[error(
        "OpenRouter's answer to the code exchange {0}: try again, and report it if it persists"
    )]
    Malformed(&'static str),
}

#[derive(Deserialize)]
struct KeyReply {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    user_id: Option<serde_json::Value>,
}

/// Exchanges the authorization for a key, retrying once only where that is safe.
pub(crate) async fn exchange(
    client: &dyn HttpClient,
    endpoints: &Endpoints,
    authorization: &Authorization,
) -> Result<ExchangedKey, ExchangeError> {
    let body = serde_json::json!({
        "code": authorization.code.expose_secret(),
        "code_verifier": authorization.pkce.verifier().expose_secret(),
        "code_challenge_method": authorization.pkce.method(),
    });
    let request = HttpRequest::post_json(endpoints.keys_url(), &body)
        .with_max_response_bytes(MAX_EXCHANGE_RESPONSE);
    let response = send_with_retry(client, request)
        .await
        .map_err(ExchangeError::Http)?;
    read_reply(&response)
}

fn read_reply(response: &HttpResponse) -> Result<ExchangedKey, ExchangeError> {
    if !response.is_success() {
        return Err(ExchangeError::Refused {
            status: response.status,
            message: refusal_message(response),
        });
    }
    let reply: KeyReply = serde_json::from_slice(&response.body)
        .map_err(|_| ExchangeError::Malformed("is not the JSON it should be"))?;
    let raw = reply
        .key
        .filter(|k| !k.trim().is_empty())
        .ok_or(ExchangeError::Malformed("has no key"))?;
    let key = validate_api_key(&raw)
        .map_err(|_| ExchangeError::Malformed("has a key that is not a valid API key"))?;
    let user_id = match reply.user_id {
        Some(serde_json::Value::String(s)) => Some(short_line(&s)),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(ExchangedKey {
        key: key.into(),
        user_id,
    })
}

/// One line for a refused exchange: what it means for the user, plus OpenRouter's own words
/// when it sent its error JSON.
fn refusal_message(response: &HttpResponse) -> String {
    let meaning = match response.status {
        400 | 403 | 404 => "invalid code or code already used: run the login again",
        401 => "the sign-in was not authorised: run the login again",
        429 => "too many sign-ins: wait a minute and run the login again",
        500..=599 => "OpenRouter failed: try again in a minute",
        _ => "unexpected answer: try again, and report it if it persists",
    };
    with_said(meaning, &response.body, "")
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, FixedRandom, ScriptedHttp};
    use plugboard_oauth::{CodeVia, LoginSecrets};

    use super::*;

    const KEY: &str = "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";

    fn authorization() -> Authorization {
        Authorization {
            code: "code-1".to_owned().into(),
            pkce: LoginSecrets::generate(&FixedRandom(1)).pkce,
            redirect_uri: "http://localhost:3000/openrouter-oauth/callback"
                .parse()
                .unwrap(),
            via: CodeVia::Loopback,
        }
    }

    type Replies = Vec<Result<HttpResponse, HttpError>>;

    async fn run(replies: Replies) -> (Result<String, String>, usize) {
        let client = ScriptedHttp::new(replies);
        let endpoints = Endpoints::resolve(Some("http://127.0.0.1:1/api/v1"), None).unwrap();
        let got = exchange(&client, &endpoints, &authorization())
            .await
            .map(|k| k.key.expose_secret().to_owned())
            .map_err(|e| ErrorChain(&e).to_string());
        (got, client.requests().len())
    }

    fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
    }

    #[tokio::test(start_paused = true)]
    async fn exchange_replies_become_a_key_or_one_clear_line() {
        let ok = format!(r#"{{"key":"{KEY}","user_id":"user_1"}}"#);
        // (replies, key or error line, requests sent)
        let cases: Vec<(Replies, Result<&str, &str>, usize)> = vec![
            (vec![reply(200, &ok)], Ok(KEY), 1),
            (vec![reply(503, ""), reply(200, &ok)], Ok(KEY), 2),
            (
                vec![reply(
                    403,
                    r#"{"error":{"code":403,"message":"Invalid code"}}"#,
                )],
                Err(
                    "OpenRouter answered the code exchange with HTTP 403: invalid code or code already used: run the login again (OpenRouter said: Invalid code)",
                ),
                1,
            ),
            (
                vec![reply(500, "<html>\n<b>oops</b>")],
                Err(
                    "OpenRouter answered the code exchange with HTTP 500: OpenRouter failed: try again in a minute",
                ),
                1,
            ),
            (
                vec![reply(200, "<html>not json</html>")],
                Err(
                    "OpenRouter's answer to the code exchange is not the JSON it should be: try again, and report it if it persists",
                ),
                1,
            ),
            (
                vec![reply(200, r#"{"user_id":"u"}"#)],
                Err(
                    "OpenRouter's answer to the code exchange has no key: try again, and report it if it persists",
                ),
                1,
            ),
            (
                vec![reply(200, r#"{"key":"  "}"#)],
                Err(
                    "OpenRouter's answer to the code exchange has no key: try again, and report it if it persists",
                ),
                1,
            ),
            (
                vec![reply(200, r#"{"key":"sk-or-v1-a b"}"#)],
                Err(
                    "OpenRouter's answer to the code exchange has a key that is not a valid API key: try again, and report it if it persists",
                ),
                1,
            ),
            (
                vec![Err(HttpError::TooLarge {
                    host: "127.0.0.1".into(),
                    limit: MAX_EXCHANGE_RESPONSE,
                })],
                Err(
                    "cannot exchange the code with OpenRouter: the response from 127.0.0.1 is larger than 65536 bytes",
                ),
                1,
            ),
        ];
        for (replies, want, requests) in cases {
            let (got, sent) = run(replies).await;
            assert_eq!(got.as_deref().map_err(String::as_str), want);
            assert_eq!(sent, requests, "{want:?}");
        }
    }

    #[tokio::test]
    async fn the_exchange_sends_code_verifier_and_method() {
        let client = ScriptedHttp::new([reply(200, &format!(r#"{{"key":"{KEY}"}}"#))]);
        let endpoints = Endpoints::resolve(Some("http://127.0.0.1:1/api/v1"), None).unwrap();
        let auth = authorization();
        let got = exchange(&client, &endpoints, &auth).await.unwrap();
        assert_eq!(got.user_id, None);
        let sent = &client.requests()[0];
        assert_eq!(sent.url, "http://127.0.0.1:1/api/v1/auth/keys");
        let body: serde_json::Value = serde_json::from_slice(sent.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "code": "code-1",
                "code_verifier": auth.pkce.verifier().expose_secret(),
                "code_challenge_method": "S256",
            })
        );
    }
}
