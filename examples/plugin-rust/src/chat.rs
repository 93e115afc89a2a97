//! `model.run` through OpenRouter's OpenAI-compatible chat completions API:
//! `POST <base>/chat/completions` with the key as a Bearer token and
//! `{"model", "messages": [{"role": "user", "content": prompt}]}`, answered with
//! `choices[].message.content`. Errors come as `{"error": {"code", "message"}}` with the
//! status as their code; a failure while the model runs can also come as a 200 carrying
//! `error` (<https://openrouter.ai/docs/api/reference/errors-and-debugging>,
//! <https://openrouter.ai/docs/api-reference/chat-completion>).

use plugboard_core::{
    HostServices, HttpRequest, HttpResponse, ModelContext, ModelError, ModelOutput, ModelReply,
    ModelRequest, ModelRunner, async_trait, sanitize_line, scrub_secret,
};
use plugboard_http::{ServiceLocation, join_path, send_with_retry};
use serde::Deserialize;
use serde_json::Value;

use crate::{BASE_URL_ENV, PROVIDER_ID};

/// OpenRouter's API, where calls go unless the host says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";

/// The service's name in messages.
const SERVICE: &str = "OpenRouter";

/// A completion is text; 1 MiB leaves room for long answers while keeping a broken or hostile
/// answer from filling memory.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Longest piece of the service's own words shown in an error.
const MAX_SERVICE_TEXT: usize = 120;

/// Where the service is: `EXAMPLE_RUST_BASE_URL` (which the host sets from the manifest's
/// `runtime.base_url`), else config `providers.example-rust.base_url`, else OpenRouter. Plain
/// http only to this machine.
const LOCATION: ServiceLocation<'static> = ServiceLocation {
    provider_id: PROVIDER_ID,
    env_var: BASE_URL_ENV,
    default: DEFAULT_BASE_URL,
};

/// The resolved API base, for `models status`; `None` when the settings cannot be used.
pub(crate) fn service_url(host: &HostServices) -> Option<String> {
    LOCATION
        .resolve(host)
        .ok()
        .map(|url| url.as_str().trim_end_matches('/').to_owned())
}

/// Runs models through the chat completions API.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChatRunner;

#[async_trait]
impl ModelRunner for ChatRunner {
    async fn run(
        &self,
        ctx: &ModelContext,
        request: &ModelRequest,
    ) -> Result<ModelReply, ModelError> {
        let base = LOCATION
            .resolve(&ctx.host)
            .map_err(|e| ModelError::Config(e.to_string()))?;
        let key = ctx.credential.expose_secret();
        let body = serde_json::json!({
            "model": request.model,
            "messages": [{ "role": "user", "content": request.prompt }],
        });
        let http = HttpRequest::post_json(join_path(&base, "/chat/completions"), &body)
            .with_header("authorization", format!("Bearer {key}"))
            .with_max_response_bytes(MAX_RESPONSE_BYTES);
        let response = send_with_retry(ctx.host.http_client.as_ref(), http)
            .await
            .map_err(|source| ModelError::Network {
                service: SERVICE.to_owned(),
                source,
            })?;
        read_reply(&response, key)
    }
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<Value>,
}

fn read_reply(response: &HttpResponse, key: &str) -> Result<ModelReply, ModelError> {
    if !response.is_success() {
        return Err(refusal(response, key));
    }
    let completion: Completion = serde_json::from_slice(&response.body)
        .map_err(|_| bad_answer("is not the JSON it should be"))?;
    if completion.error.is_some() {
        return Err(ModelError::Service(with_said(
            "OpenRouter could not complete the request: try again, or another model",
            &response.body,
            key,
        )));
    }
    // The host makes the text safe to show, the same for every provider.
    let outputs: Vec<ModelOutput> = completion
        .choices
        .into_iter()
        .filter_map(|c| c.message?.content)
        .filter_map(|content| match content {
            Value::String(text) => Some(text),
            // Content may come as typed parts; the text parts make the output.
            Value::Array(parts) => Some(
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect(),
            ),
            _ => None,
        })
        .map(ModelOutput::text)
        .collect();
    if outputs.is_empty() {
        return Err(bad_answer("has no choices"));
    }
    Ok(ModelReply::new(outputs))
}

/// A refused call as one line saying what it means, as OpenRouter's error codes say.
fn refusal(response: &HttpResponse, key: &str) -> ModelError {
    let status = response.status;
    let answered = |meaning: &str| {
        with_said(
            &format!("{SERVICE} answered HTTP {status}: {meaning}"),
            &response.body,
            key,
        )
    };
    match status {
        401 => ModelError::CredentialRejected {
            service: SERVICE.to_owned(),
            detail: match said(&response.body, key) {
                Some(words) => format!("HTTP 401 ({words})"),
                None => "HTTP 401".to_owned(),
            },
        },
        402 => ModelError::RateLimited(answered("the account is out of credits")),
        429 => ModelError::RateLimited(answered("too many requests: wait a minute and try again")),
        403 => {
            ModelError::InvalidRequest(answered("the input was flagged by the model's moderation"))
        }
        408 | 500..=599 => ModelError::Service(answered("try again in a minute, or another model")),
        400..=499 => {
            ModelError::InvalidRequest(answered("the request was refused: check the model id"))
        }
        _ => ModelError::Service(answered("unexpected answer")),
    }
}

fn bad_answer(what: &str) -> ModelError {
    ModelError::BadResponse(format!(
        "{SERVICE}'s answer to the model call {what}: try again, and report it if it persists"
    ))
}

#[derive(Deserialize)]
struct ErrorReply {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
}

/// The service's `error.message`, with the key scrubbed out before anything else (a service
/// may echo the key it refused, in any case and with invisible characters inside), then made
/// safe to show on one line.
fn said(body: &[u8], key: &str) -> Option<String> {
    let message = serde_json::from_slice::<ErrorReply>(body)
        .ok()?
        .error
        .message?;
    Some(sanitize_line(
        &scrub_secret(&message, key),
        MAX_SERVICE_TEXT,
    ))
    .filter(|m| !m.is_empty())
}

/// `meaning`, followed by what the service said, if it said anything.
fn with_said(meaning: &str, body: &[u8], key: &str) -> String {
    match said(body, key) {
        Some(words) => format!("{meaning} ({SERVICE} said: {words})"),
        None => meaning.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{
        Credential, CredentialKind, ErrorChain, HttpError, ModelErrorKind, Provenance,
        ScriptedHttp, shows_secret,
    };

    use super::*;

    const KEY: &str = "sk-or-v1-Zq7Wm3Xv9Kp2Rt5Yn8Lb4Hd6";

    fn context(
        base: &str,
        replies: Vec<Result<HttpResponse, HttpError>>,
    ) -> (ModelContext, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new(replies));
        let host = HostServices::default()
            .with_http_client(http.clone())
            .with_env(BASE_URL_ENV, base);
        let credential = Credential::new(
            CredentialKind::ApiKey,
            KEY.to_owned().into(),
            Provenance::new(),
        );
        (ModelContext::new(credential, host), http)
    }

    async fn run(replies: Vec<Result<HttpResponse, HttpError>>) -> Result<ModelReply, ModelError> {
        let (ctx, _) = context("http://127.0.0.1:9/api/v1", replies);
        ChatRunner
            .run(&ctx, &ModelRequest::new("openai/gpt-4o-mini", "hi"))
            .await
    }

    fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, body.to_owned()))
    }

    #[tokio::test]
    async fn the_call_posts_the_prompt_to_the_base_url_the_host_set_with_the_key_as_bearer() {
        let (ctx, http) = context(
            "http://127.0.0.1:9/api/v1/",
            vec![reply(
                200,
                r#"{"choices":[{"message":{"content":"pong"}}]}"#,
            )],
        );
        let got = ChatRunner
            .run(&ctx, &ModelRequest::new("openai/gpt-4o-mini", "ping"))
            .await
            .unwrap();
        assert_eq!(got.outputs, [ModelOutput::text("pong")]);
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "http://127.0.0.1:9/api/v1/chat/completions");
        assert!(
            sent.headers
                .contains(&("authorization".to_owned(), format!("Bearer {KEY}")))
        );
        let body: Value = serde_json::from_slice(sent.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "model": "openai/gpt-4o-mini",
                "messages": [{"role": "user", "content": "ping"}],
            })
        );
    }

    #[tokio::test]
    async fn without_a_base_url_the_call_goes_to_openrouter_and_plain_http_elsewhere_is_refused() {
        let host = HostServices::default();
        assert_eq!(service_url(&host).as_deref(), Some(DEFAULT_BASE_URL));
        let (ctx, http) = context("http://openrouter.ai/api/v1", vec![]);
        let err = ChatRunner
            .run(&ctx, &ModelRequest::new("m", "p"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::Config);
        assert!(http.requests().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn answers_become_outputs_or_one_line_of_the_right_kind() {
        use ModelErrorKind as K;
        type Case = (
            Vec<Result<HttpResponse, HttpError>>,
            Result<&'static str, (K, &'static str)>,
        );
        let cases: Vec<Case> = vec![
            (
                vec![reply(
                    200,
                    r#"{"choices":[{"message":{"content":"pong"}}]}"#,
                )],
                Ok("pong"),
            ),
            (
                vec![reply(
                    200,
                    r#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#,
                )],
                Ok("ab"),
            ),
            (
                vec![
                    reply(503, ""),
                    reply(200, r#"{"choices":[{"message":{"content":"again"}}]}"#),
                ],
                Ok("again"),
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
                vec![reply(
                    402,
                    r#"{"error":{"code":402,"message":"Insufficient credits"}}"#,
                )],
                Err((
                    K::RateLimited,
                    "OpenRouter answered HTTP 402: the account is out of credits (OpenRouter said: Insufficient credits)",
                )),
            ),
            (
                vec![reply(429, "")],
                Err((
                    K::RateLimited,
                    "OpenRouter answered HTTP 429: too many requests: wait a minute and try again",
                )),
            ),
            (
                vec![reply(403, "")],
                Err((
                    K::InvalidRequest,
                    "OpenRouter answered HTTP 403: the input was flagged by the model's moderation",
                )),
            ),
            (
                vec![reply(
                    400,
                    r#"{"error":{"code":400,"message":"openai/x is not a valid model ID"}}"#,
                )],
                Err((
                    K::InvalidRequest,
                    "OpenRouter answered HTTP 400: the request was refused: check the model id (OpenRouter said: openai/x is not a valid model ID)",
                )),
            ),
            (
                vec![reply(408, "")],
                Err((
                    K::Service,
                    "OpenRouter answered HTTP 408: try again in a minute, or another model",
                )),
            ),
            (
                vec![reply(500, "<html>")],
                Err((
                    K::Service,
                    "OpenRouter answered HTTP 500: try again in a minute, or another model",
                )),
            ),
            (
                vec![reply(
                    200,
                    r#"{"error":{"code":502,"message":"upstream failed"}}"#,
                )],
                Err((
                    K::Service,
                    "OpenRouter could not complete the request: try again, or another model (OpenRouter said: upstream failed)",
                )),
            ),
            (
                vec![reply(200, "<html>")],
                Err((
                    K::BadResponse,
                    "OpenRouter's answer to the model call is not the JSON it should be: try again, and report it if it persists",
                )),
            ),
            (
                vec![reply(200, r#"{"choices":[]}"#)],
                Err((
                    K::BadResponse,
                    "OpenRouter's answer to the model call has no choices: try again, and report it if it persists",
                )),
            ),
            (
                vec![Err(HttpError::Timeout {
                    host: "127.0.0.1".into(),
                    seconds: 30,
                })],
                Err((
                    K::Network,
                    "OpenRouter could not be reached: no answer from 127.0.0.1 within 30 s",
                )),
            ),
        ];
        for (replies, want) in cases {
            let got = run(replies).await;
            match want {
                Ok(text) => assert_eq!(got.unwrap().outputs, [ModelOutput::text(text)]),
                Err((kind, line)) => {
                    let err = got.unwrap_err();
                    assert_eq!(
                        (err.kind(), ErrorChain(&err).to_string().as_str()),
                        (kind, line)
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn a_key_the_service_echoes_never_shows_in_any_disguise() {
        let inside = |c: char| format!("{}{c}{}", &KEY[..15], &KEY[15..]);
        for echo in [
            KEY.to_owned(),
            KEY.to_uppercase(),
            inside('\u{200b}'),
            inside('\u{ad}'),
            inside('\u{7}'),
        ] {
            let body =
                serde_json::json!({"error": {"code": 400, "message": format!("bad key {echo}")}});
            for status in [400, 401, 402, 429, 500] {
                let err = run(vec![reply(status, &body.to_string())])
                    .await
                    .unwrap_err();
                let shown = ErrorChain(&err).to_string();
                assert!(!shows_secret(&shown, KEY), "{shown}");
                assert!(!shows_secret(&format!("{err:?}"), KEY), "{err:?}");
                assert!(shown.contains("bad key [redacted]"), "{shown}");
            }
            let page = format!("<html>signed in with {echo}</html>");
            let err = run(vec![reply(200, &page)]).await.unwrap_err();
            assert_eq!(err.kind(), ModelErrorKind::BadResponse);
            assert!(!shows_secret(&ErrorChain(&err).to_string(), KEY));
        }
    }
}
