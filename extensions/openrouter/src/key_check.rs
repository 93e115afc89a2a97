//! Checking a key without using it for anything: `GET <base>/key`, OpenRouter's "get current
//! API key" endpoint (<https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key>),
//! with the key as a Bearer token. It answers 200 with `{"data":{"label",...}}` for a key it
//! knows and 401 for one it does not (unknown, deleted or disabled); it costs no credits.

use plugboard_core::{CredentialCheck, HttpResponse, ModelContext, ModelError, async_trait};
use serde_json::Value;

use crate::endpoints::Endpoints;
use crate::models::get;
use crate::refusal::{Call, malformed, refusal};

/// The key's details are a few hundred bytes; 64 KiB is far above any real answer.
const MAX_KEY_RESPONSE: usize = 64 * 1024;

/// Checks an OpenRouter key with the key endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyCheck;

#[async_trait]
impl CredentialCheck for KeyCheck {
    async fn check(&self, ctx: &ModelContext) -> Result<(), ModelError> {
        let endpoints =
            Endpoints::from_host(&ctx.host).map_err(|e| ModelError::Config(e.to_string()))?;
        let key = ctx.credential.expose_secret();
        let response = get(ctx, endpoints.key_url(), key, MAX_KEY_RESPONSE).await?;
        read_answer(&response, key)
    }
}

fn read_answer(response: &HttpResponse, key: &str) -> Result<(), ModelError> {
    if !response.is_success() {
        return Err(refusal(Call::KeyCheck, response, key));
    }
    // Nothing in `data` is needed: that OpenRouter describes the key is the answer.
    let described = serde_json::from_slice::<Value>(&response.body)
        .is_ok_and(|answer| answer.get("data").is_some_and(Value::is_object));
    if described {
        Ok(())
    } else {
        Err(malformed(Call::KeyCheck, "is not the JSON it should be"))
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, HttpError, ModelErrorKind, shows_secret};
    use serde_json::json;

    use super::*;
    use crate::test_support::{KEY, Replies, context, reply};

    #[tokio::test]
    async fn a_key_openrouter_describes_is_fine_and_the_key_went_as_bearer() {
        let body = json!({"data": {"label": "sk-or-v1-...ffff", "usage": 0, "limit": null, "is_free_tier": true}});
        let (ctx, http) = context(vec![reply(200, &body.to_string())]);
        KeyCheck.check(&ctx).await.unwrap();
        let sent = &http.requests()[0];
        assert_eq!(sent.method.as_str(), "GET");
        assert_eq!(sent.url, "http://127.0.0.1:1/api/v1/key");
        assert_eq!(
            sent.headers,
            [("authorization".to_owned(), format!("Bearer {KEY}"))]
        );
        assert_eq!(sent.max_response_bytes, MAX_KEY_RESPONSE);
    }

    #[tokio::test(start_paused = true)]
    async fn answers_become_ok_or_one_line_of_the_right_kind() {
        use ModelErrorKind as K;
        /// Fine, or failed with this kind and chain.
        type Outcome = Result<(), (K, &'static str)>;
        let cases: Vec<(Replies, Outcome)> = vec![
            (vec![reply(200, r#"{"data":{}}"#)], Ok(())),
            (
                vec![reply(503, ""), reply(200, r#"{"data":{"label":"x"}}"#)],
                Ok(()),
            ),
            (
                vec![reply(
                    401,
                    r#"{"error":{"code":401,"message":"User not found."}}"#,
                )],
                Err((
                    K::CredentialRejected,
                    "OpenRouter rejected the key: HTTP 401 (User not found.)",
                )),
            ),
            (
                vec![reply(401, "")],
                Err((
                    K::CredentialRejected,
                    "OpenRouter rejected the key: HTTP 401",
                )),
            ),
            (
                vec![reply(429, "")],
                Err((
                    K::RateLimited,
                    "OpenRouter answered HTTP 429 to the key check: too many requests: wait a minute and try again",
                )),
            ),
            (
                vec![reply(
                    500,
                    r#"{"error":{"code":500,"message":"Unexpected server error"}}"#,
                )],
                Err((
                    K::Service,
                    "OpenRouter answered HTTP 500 to the key check: OpenRouter failed: try again in a minute (OpenRouter said: Unexpected server error)",
                )),
            ),
            (
                vec![reply(200, "<html>")],
                Err((
                    K::BadResponse,
                    "OpenRouter's answer to the key check is not the JSON it should be: try again, and report it if it persists",
                )),
            ),
            (
                vec![reply(200, "{}")],
                Err((
                    K::BadResponse,
                    "OpenRouter's answer to the key check is not the JSON it should be: try again, and report it if it persists",
                )),
            ),
            (
                vec![reply(200, r#"{"data":null}"#)],
                Err((
                    K::BadResponse,
                    "OpenRouter's answer to the key check is not the JSON it should be: try again, and report it if it persists",
                )),
            ),
            (
                vec![
                    Err(HttpError::Connect {
                        host: "127.0.0.1".to_owned(),
                        reason: "connection refused".to_owned(),
                    }),
                    Err(HttpError::Connect {
                        host: "127.0.0.1".to_owned(),
                        reason: "connection refused".to_owned(),
                    }),
                ],
                Err((
                    K::Network,
                    "OpenRouter could not be reached: cannot connect to 127.0.0.1: connection refused",
                )),
            ),
        ];
        for (replies, want) in cases {
            let (ctx, _) = context(replies);
            let got = KeyCheck.check(&ctx).await;
            match want {
                Ok(()) => got.unwrap(),
                Err((kind, message)) => {
                    let err = got.unwrap_err();
                    assert_eq!(err.kind(), kind, "{err}");
                    assert_eq!(ErrorChain(&err).to_string(), message);
                }
            }
        }
    }

    #[tokio::test]
    async fn the_key_never_shows_even_when_openrouter_echoes_it() {
        let body = json!({"error": {"code": 401, "message": format!("no such key {KEY}")}});
        let (ctx, _) = context(vec![reply(401, &body.to_string())]);
        let err = KeyCheck.check(&ctx).await.unwrap_err();
        let shown = format!("{} {err:?}", ErrorChain(&err));
        assert!(!shows_secret(&shown, KEY), "{shown}");
    }
}
