//! The `model.run` capability: one message, `POST <base>/v1/messages` with the key in
//! `x-api-key` and the API version in `anthropic-version`. The reply's text blocks make the
//! output; each failure becomes one line saying what it means for the user, with Anthropic's
//! own words shown only sanitised and with the key scrubbed from them.

use plugboard_core::{
    HttpRequest, HttpResponse, ModelContext, ModelError, ModelOutput, ModelReply, ModelRequest,
    ModelRunner, async_trait,
};
use plugboard_http::send_with_retry;
use serde::Deserialize;
use serde_json::Value;

use crate::endpoints::Endpoints;
use crate::refusal::{Call, malformed, refusal};
use crate::service_text::{SERVICE, with_said};

/// The API version sent in `anthropic-version`; Anthropic requires the header on every request
/// and `2023-06-01` is the version its Messages API documents.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The `max_tokens` every call asks for (the field is required). 1024 is the value Anthropic's
/// own Messages examples use; at usual generation speeds it completes well inside the 120 s a
/// model call may take, and Anthropic advises against large values without streaming (idle
/// connections get dropped), which plugboard does not use. A longer answer stops with `stop_reason: "max_tokens"` and is
/// returned as far as it got.
pub const MAX_TOKENS: u32 = 1024;

/// 1024 tokens of text are a few KiB; 1 MiB leaves room for long blocks while keeping a hostile
/// or broken answer from filling memory.
pub(crate) const MAX_MESSAGE_RESPONSE: usize = 1024 * 1024;

/// Runs Claude models through Anthropic's Messages API.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessagesRunner;

#[async_trait]
impl ModelRunner for MessagesRunner {
    async fn run(
        &self,
        ctx: &ModelContext,
        request: &ModelRequest,
    ) -> Result<ModelReply, ModelError> {
        let endpoints =
            Endpoints::from_host(&ctx.host).map_err(|e| ModelError::Config(e.to_string()))?;
        let key = ctx.credential.expose_secret();
        let body = serde_json::json!({
            "model": request.model,
            "max_tokens": MAX_TOKENS,
            "messages": [{ "role": "user", "content": request.prompt }],
        });
        let http = HttpRequest::post_json(endpoints.messages_url(), &body)
            .with_header("x-api-key", key)
            .with_header("anthropic-version", ANTHROPIC_VERSION)
            .with_max_response_bytes(MAX_MESSAGE_RESPONSE);
        let response = send_with_retry(ctx.host.http_client.as_ref(), http)
            .await
            .map_err(|source| ModelError::Network {
                service: SERVICE.to_owned(),
                source,
            })?;
        read_reply(&response, key)
    }
}

/// A Message object, as far as a text reply needs it.
#[derive(Deserialize)]
struct Message {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    content: Option<Vec<Value>>,
    #[serde(default)]
    stop_reason: Option<String>,
}

fn read_reply(response: &HttpResponse, key: &str) -> Result<ModelReply, ModelError> {
    if !response.is_success() {
        return Err(refusal(Call::Model, response, key));
    }
    let message: Message = serde_json::from_slice(&response.body)
        .map_err(|_| malformed(Call::Model, "is not the JSON it should be"))?;
    if message.kind == "error" {
        // Not documented for a 200, but an error object is an error wherever it comes.
        return Err(ModelError::Service(with_said(
            "Anthropic could not complete the request: try again in a minute",
            &response.body,
            key,
        )));
    }
    if message.kind != "message" {
        return Err(malformed(Call::Model, "is not a message"));
    }
    let Some(content) = message.content else {
        return Err(malformed(Call::Model, "has no content"));
    };
    // The text blocks, in order, make the answer; they are pieces of one text (citations split
    // it into several), so they are joined as they are. Thinking, tool use and other block
    // types are not text for the user.
    let texts: Vec<&str> = content
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect();
    if texts.is_empty() {
        return Err(match message.stop_reason.as_deref() {
            Some("refusal") => ModelError::InvalidRequest(
                "Anthropic's model declined to answer this prompt (stop_reason refusal)".to_owned(),
            ),
            _ => malformed(Call::Model, "has no text"),
        });
    }
    // `max_tokens` means the answer was cut at MAX_TOKENS: what arrived is still the answer as
    // far as it goes, so it is returned as it is, like any other stop reason.
    Ok(ModelReply::new(vec![ModelOutput::text(texts.concat())]))
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, HttpError, ModelErrorKind};

    use super::*;
    use crate::provider::BASE_URL_ENV;
    use crate::test_support::{KEY, context, reply};

    fn message(content: Value, stop_reason: &str) -> String {
        serde_json::json!({
            "id": "msg_01", "type": "message", "role": "assistant",
            "model": "claude-sonnet-5-5", "content": content,
            "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        })
        .to_string()
    }

    fn text(text: &str) -> String {
        message(
            serde_json::json!([{"type": "text", "text": text}]),
            "end_turn",
        )
    }

    fn error(status: u16, kind: &str, text: &str) -> Result<HttpResponse, HttpError> {
        let body = serde_json::json!({
            "type": "error", "error": {"type": kind, "message": text}, "request_id": "req_1",
        });
        reply(status, &body.to_string())
    }

    async fn run(replies: Vec<Result<HttpResponse, HttpError>>) -> Result<ModelReply, ModelError> {
        let (ctx, _) = context(replies);
        MessagesRunner
            .run(&ctx, &ModelRequest::new("claude-sonnet-5-5", "hi"))
            .await
    }

    #[tokio::test]
    async fn the_call_posts_one_user_message_with_the_key_version_and_max_tokens() {
        let (ctx, http) = context(vec![reply(200, &text("pong"))]);
        let got = MessagesRunner
            .run(&ctx, &ModelRequest::new("claude-haiku-4-5", "ping"))
            .await
            .unwrap();
        assert_eq!(got.outputs, [ModelOutput::text("pong")]);
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "http://127.0.0.1:1/v1/messages");
        let headers: Vec<(&str, &str)> = sent
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers,
            [
                ("content-type", "application/json"),
                ("x-api-key", KEY),
                ("anthropic-version", "2023-06-01"),
            ]
        );
        assert_eq!(sent.max_response_bytes, MAX_MESSAGE_RESPONSE);
        let body: Value = serde_json::from_slice(sent.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "model": "claude-haiku-4-5",
                "max_tokens": 1024,
                "messages": [{"role": "user", "content": "ping"}],
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn replies_become_one_output_or_one_line_of_the_right_kind() {
        use ModelErrorKind as K;
        let blocks = message(
            serde_json::json!([
                {"type": "thinking", "thinking": "hmm", "signature": "s"},
                {"type": "text", "text": "Hello, "},
                {"type": "tool_use", "id": "t", "name": "x", "input": {}},
                {"type": "text", "text": "world"},
            ]),
            "end_turn",
        );
        let cut = message(
            serde_json::json!([{"type": "text", "text": "as far as it got"}]),
            "max_tokens",
        );
        let refused = message(serde_json::json!([]), "refusal");
        let empty = message(serde_json::json!([]), "end_turn");
        type Case = (
            Vec<Result<HttpResponse, HttpError>>,
            Result<&'static str, (K, &'static str)>,
        );
        let cases: Vec<Case> = vec![
            (vec![reply(200, &text("pong"))], Ok("pong")),
            (vec![reply(200, &blocks)], Ok("Hello, world")),
            (vec![reply(200, &cut)], Ok("as far as it got")),
            (
                vec![reply(503, ""), reply(200, &text("again"))],
                Ok("again"),
            ),
            (
                vec![error(401, "authentication_error", "invalid x-api-key")],
                Err((
                    K::CredentialRejected,
                    "Anthropic rejected the key: HTTP 401 (authentication_error: invalid x-api-key)",
                )),
            ),
            (
                vec![reply(401, "")],
                Err((
                    K::CredentialRejected,
                    "Anthropic rejected the key: HTTP 401",
                )),
            ),
            (
                vec![error(
                    403,
                    "permission_error",
                    "Your API key does not have permission to use the specified resource.",
                )],
                Err((
                    K::InvalidRequest,
                    "Anthropic answered HTTP 403: the key may not use this model or resource: check the key's workspace in the Anthropic Console (Anthropic said: permission_error: Your API key does not have permission to use the specified resource.)",
                )),
            ),
            (
                vec![error(404, "not_found_error", "model: claude-nope")],
                Err((
                    K::InvalidRequest,
                    "Anthropic answered HTTP 404: no such model or resource: check the model id at https://docs.anthropic.com/en/docs/about-claude/models (Anthropic said: not_found_error: model: claude-nope)",
                )),
            ),
            (
                vec![error(
                    400,
                    "invalid_request_error",
                    "max_tokens: Field required",
                )],
                Err((
                    K::InvalidRequest,
                    "Anthropic answered HTTP 400: the request was refused (Anthropic said: invalid_request_error: max_tokens: Field required)",
                )),
            ),
            (
                vec![error(
                    413,
                    "request_too_large",
                    "Request exceeds the maximum allowed number of bytes.",
                )],
                Err((
                    K::InvalidRequest,
                    "Anthropic answered HTTP 413: the prompt is larger than Anthropic accepts (Anthropic said: request_too_large: Request exceeds the maximum allowed number of bytes.)",
                )),
            ),
            (
                vec![error(
                    429,
                    "rate_limit_error",
                    "Number of request tokens has exceeded your per-minute rate limit",
                )],
                Err((
                    K::RateLimited,
                    "Anthropic answered HTTP 429: the account hit a rate limit: wait a minute and try again (Anthropic said: rate_limit_error: Number of request tokens has exceeded your per-minute rate limit)",
                )),
            ),
            (
                vec![error(529, "overloaded_error", "Overloaded")],
                Err((
                    K::Service,
                    "Anthropic answered HTTP 529: Anthropic's API is overloaded: try again in a minute (Anthropic said: overloaded_error: Overloaded)",
                )),
            ),
            (
                vec![error(500, "api_error", "Internal server error")],
                Err((
                    K::Service,
                    "Anthropic answered HTTP 500: Anthropic failed to answer: try again in a minute (Anthropic said: api_error: Internal server error)",
                )),
            ),
            (
                vec![reply(200, "<html>")],
                Err((
                    K::BadResponse,
                    "Anthropic's answer to the model call is not the JSON it should be: try again, and report it if it persists",
                )),
            ),
            (
                vec![reply(200, r#"{"type":"completion"}"#)],
                Err((
                    K::BadResponse,
                    "Anthropic's answer to the model call is not a message: try again, and report it if it persists",
                )),
            ),
            (
                vec![reply(200, &empty)],
                Err((
                    K::BadResponse,
                    "Anthropic's answer to the model call has no text: try again, and report it if it persists",
                )),
            ),
            (
                vec![reply(200, &refused)],
                Err((
                    K::InvalidRequest,
                    "Anthropic's model declined to answer this prompt (stop_reason refusal)",
                )),
            ),
            (
                vec![Err(HttpError::TooLarge {
                    host: "127.0.0.1".into(),
                    limit: MAX_MESSAGE_RESPONSE,
                })],
                Err((
                    K::BadResponse,
                    "Anthropic could not be reached: the response from 127.0.0.1 is larger than 1048576 bytes",
                )),
            ),
            (
                vec![Err(HttpError::Timeout {
                    host: "127.0.0.1".into(),
                    seconds: 30,
                })],
                Err((
                    K::Network,
                    "Anthropic could not be reached: no answer from 127.0.0.1 within 30 s",
                )),
            ),
        ];
        for (replies, want) in cases {
            let got = run(replies).await;
            match want {
                Ok(text) => assert_eq!(got.unwrap().outputs, [ModelOutput::text(text)]),
                Err((kind, line)) => {
                    let err = got.unwrap_err();
                    let shown = ErrorChain(&err).to_string();
                    assert_eq!((err.kind(), shown.as_str()), (kind, line));
                }
            }
        }
    }

    #[tokio::test]
    async fn a_key_echoed_by_the_service_is_scrubbed_from_the_error_in_any_disguise() {
        let inside = |c: char| format!("{}{c}{}", &KEY[..20], &KEY[20..]);
        let echoes = [
            KEY.to_owned(),
            KEY.to_uppercase(),
            inside('\u{200b}'),
            inside('\u{ad}'),
            inside('\u{7}'),
        ];
        for echo in echoes {
            for status in [400, 401, 403, 429, 500, 529] {
                let err = run(vec![error(status, "api_error", &format!("bad key {echo}"))])
                    .await
                    .unwrap_err();
                let shown = format!("{err} {err:?}");
                assert!(!plugboard_core::shows_secret(&shown, KEY), "{shown}");
                assert!(shown.contains("bad key [redacted]"), "{shown}");
            }
        }
    }

    #[tokio::test]
    async fn reply_text_reaches_the_host_as_sent() {
        let sent = "a\u{1b}]52;c;eA==\u{7}b\u{202e}";
        let got = run(vec![reply(200, &text(sent))]).await.unwrap();
        assert_eq!(got.outputs[0].text, sent);
    }

    #[tokio::test]
    async fn an_unusable_base_url_is_a_config_error_and_nothing_is_sent() {
        let (mut ctx, http) = context(vec![]);
        ctx.host.env.insert(
            BASE_URL_ENV.to_owned(),
            "http://api.anthropic.com".to_owned(),
        );
        let err = MessagesRunner
            .run(&ctx, &ModelRequest::new("m", "p"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::Config);
        assert!(http.requests().is_empty());
    }
}
