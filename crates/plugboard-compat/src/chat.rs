//! The `model.run` capability: one chat completion as OpenAI's API reference documents it,
//! `POST <base>/chat/completions` with `{"model", "messages": [{"role": "user", "content"}]}`
//! and the key as a Bearer token (no header for a service asked without a key); the reply is
//! `choices[0].message.content`.

use std::sync::Arc;

use plugboard_core::{
    HttpRequest, HttpResponse, ModelContext, ModelError, ModelOutput, ModelReply, ModelRequest,
    ModelRunner, async_trait,
};
use serde::Deserialize;
use serde_json::Value;

use crate::refusal::{Call, malformed, refusal, with_said};
use crate::service::{Service, chat_url};

/// A completion is text, rarely more than a few KiB; 1 MiB leaves room for long answers while
/// keeping a hostile or broken answer from filling memory.
pub(crate) const MAX_CHAT_RESPONSE: usize = 1024 * 1024;

/// Runs models through the service's chat completions.
#[derive(Debug, Clone)]
pub(crate) struct ChatRunner {
    pub(crate) service: Arc<Service>,
}

#[async_trait]
impl ModelRunner for ChatRunner {
    async fn run(
        &self,
        ctx: &ModelContext,
        request: &ModelRequest,
    ) -> Result<ModelReply, ModelError> {
        let base = self.service.base_for_call(&ctx.host)?;
        let body = serde_json::json!({
            "model": request.model,
            "messages": [{ "role": "user", "content": request.prompt }],
        });
        let http = HttpRequest::post_json(chat_url(&base), &body)
            .with_max_response_bytes(MAX_CHAT_RESPONSE);
        let response = self.service.send(ctx, http).await?;
        read_reply(&self.service, &response, ctx.credential.expose_secret())
    }
}

#[derive(Deserialize)]
struct ChatReply {
    #[serde(default)]
    choices: Option<Vec<Choice>>,
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
    #[serde(default)]
    refusal: Option<String>,
}

fn read_reply(
    service: &Service,
    response: &HttpResponse,
    key: &str,
) -> Result<ModelReply, ModelError> {
    if !response.is_success() {
        return Err(refusal(service, Call::Model, response, key));
    }
    let reply: ChatReply = serde_json::from_slice(&response.body)
        .map_err(|_| malformed(service, Call::Model, "is not the JSON it should be"))?;
    // Some servers report a failure mid-generation as 200 with an `error` object.
    if reply.error.is_some() {
        return Err(ModelError::Service(with_said(
            service,
            &format!("{} could not complete the request: try again", service.name),
            &response.body,
            key,
        )));
    }
    let Some(message) = reply
        .choices
        .unwrap_or_default()
        .into_iter()
        .next()
        .and_then(|choice| choice.message)
    else {
        return Err(malformed(service, Call::Model, "has no choices"));
    };
    // The text goes to the host as the service sent it: the host cleans it for a terminal and
    // escapes it for `--json`, the same for every provider.
    let text = match message.content {
        Some(Value::String(text)) => text,
        // Content as typed parts, as some servers send it: the text parts make the output.
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        // No content: a model that declined says why in `refusal`, which is its answer.
        _ => match message.refusal {
            Some(refusal) => refusal,
            None => return Err(malformed(service, Call::Model, "has no message content")),
        },
    };
    Ok(ModelReply::new(vec![ModelOutput::text(text)]))
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, HttpError, ModelErrorKind, shows_secret};

    use super::*;
    use crate::test_support::{KEY, Replies, context, reply, service};

    fn runner(keyed: bool) -> ChatRunner {
        ChatRunner {
            service: Arc::new(service(keyed)),
        }
    }

    fn chat(content: &str) -> String {
        serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_741_569_952,
            "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        })
        .to_string()
    }

    async fn run(replies: Replies) -> Result<ModelReply, ModelError> {
        let (ctx, _) = context(replies, true);
        runner(true)
            .run(&ctx, &ModelRequest::new("llama-3.3-70b-versatile", "hi"))
            .await
    }

    #[tokio::test]
    async fn the_call_posts_the_prompt_as_one_user_message_with_the_key_as_bearer() {
        let (ctx, http) = context(vec![reply(200, &chat("pong"))], true);
        let got = runner(true)
            .run(&ctx, &ModelRequest::new("llama-3.3-70b-versatile", "ping"))
            .await
            .unwrap();
        assert_eq!(got.outputs, [ModelOutput::text("pong")]);
        let sent = &http.requests()[0];
        assert_eq!(sent.method.as_str(), "POST");
        assert_eq!(sent.url, "http://127.0.0.1:1/v1/chat/completions");
        assert_eq!(
            sent.headers,
            [
                ("content-type".to_owned(), "application/json".to_owned()),
                ("authorization".to_owned(), format!("Bearer {KEY}")),
            ]
        );
        assert_eq!(sent.max_response_bytes, MAX_CHAT_RESPONSE);
        let body: Value = serde_json::from_slice(sent.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "model": "llama-3.3-70b-versatile",
                "messages": [{"role": "user", "content": "ping"}],
            })
        );
    }

    #[tokio::test]
    async fn a_service_asked_without_a_key_gets_no_authorization_header() {
        let (ctx, http) = context(vec![reply(200, &chat("pong"))], false);
        runner(false)
            .run(&ctx, &ModelRequest::new("qwen3-8b", "ping"))
            .await
            .unwrap();
        let names: Vec<String> = http.requests()[0]
            .headers
            .iter()
            .map(|(n, _)| n.clone())
            .collect();
        assert_eq!(names, ["content-type"]);
    }

    #[tokio::test(start_paused = true)]
    async fn replies_become_the_first_choices_text_or_one_line_of_the_right_kind() {
        use ModelErrorKind as K;
        let parts = r#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#;
        let refused = r#"{"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help with that."}}]}"#;
        let two =
            r#"{"choices":[{"message":{"content":"first"}},{"message":{"content":"second"}}]}"#;
        /// The reply's text, or the error's kind and chain.
        type Outcome = Result<&'static str, (K, &'static str)>;
        let cases: Vec<(Replies, Outcome)> = vec![
            (vec![reply(200, &chat("pong"))], Ok("pong")),
            (
                vec![reply(503, ""), reply(200, &chat("again"))],
                Ok("again"),
            ),
            (vec![reply(200, parts)], Ok("ab")),
            (vec![reply(200, refused)], Ok("I can't help with that.")),
            (vec![reply(200, two)], Ok("first")),
            (
                vec![reply(
                    401,
                    r#"{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}"#,
                )],
                Err((
                    K::CredentialRejected,
                    "Acme Cloud rejected the key: HTTP 401 (Invalid API Key)",
                )),
            ),
            (
                vec![reply(429, "")],
                Err((
                    K::RateLimited,
                    "Acme Cloud answered HTTP 429: too many requests, or the quota is used up: wait a minute and try again",
                )),
            ),
            (
                vec![reply(
                    404,
                    r#"{"error":{"message":"The model `x` does not exist or you do not have access to it.","type":"invalid_request_error","code":"model_not_found"}}"#,
                )],
                Err((
                    K::InvalidRequest,
                    "Acme Cloud answered HTTP 404: no such model, or no chat completions here: check the model id against the model list, and that the base URL is the API root (Acme Cloud said: The model `x` does not exist or you do not have access to it.)",
                )),
            ),
            (
                vec![reply(500, "<html>\n oops")],
                Err((
                    K::Service,
                    "Acme Cloud answered HTTP 500: the service failed: try again in a minute",
                )),
            ),
            (
                vec![reply(200, r#"{"error":{"message":"upstream failed"}}"#)],
                Err((
                    K::Service,
                    "Acme Cloud could not complete the request: try again (Acme Cloud said: upstream failed)",
                )),
            ),
            (
                vec![reply(200, "<html>")],
                Err((
                    K::BadResponse,
                    "Acme Cloud's answer to the model call is not the JSON it should be: check that the base URL is the API root of an OpenAI-compatible service",
                )),
            ),
            (
                vec![reply(200, r#"{"choices":[]}"#)],
                Err((
                    K::BadResponse,
                    "Acme Cloud's answer to the model call has no choices: check that the base URL is the API root of an OpenAI-compatible service",
                )),
            ),
            (
                vec![reply(
                    200,
                    r#"{"choices":[{"message":{"role":"assistant"}}]}"#,
                )],
                Err((
                    K::BadResponse,
                    "Acme Cloud's answer to the model call has no message content: check that the base URL is the API root of an OpenAI-compatible service",
                )),
            ),
            (
                vec![Err(HttpError::TooLarge {
                    host: "127.0.0.1".into(),
                    limit: MAX_CHAT_RESPONSE,
                })],
                Err((
                    K::BadResponse,
                    "Acme Cloud could not be reached: the response from 127.0.0.1 is larger than 1048576 bytes",
                )),
            ),
            (
                vec![Err(HttpError::Timeout {
                    host: "127.0.0.1".into(),
                    seconds: 30,
                })],
                Err((
                    K::Network,
                    "Acme Cloud could not be reached: no answer from 127.0.0.1 within 30 s",
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
            let body = serde_json::json!({"error": {"message": format!("bad key {echo}")}});
            for status in [400, 401, 500] {
                let err = run(vec![reply(status, &body.to_string())])
                    .await
                    .unwrap_err();
                let shown = format!("{} {err:?}", ErrorChain(&err));
                assert!(!shows_secret(&shown, KEY), "{shown}");
                assert!(shown.contains("bad key [redacted]"), "{shown}");
            }
        }
    }

    #[tokio::test]
    async fn an_unusable_base_url_is_a_config_error_and_nothing_is_sent() {
        let (mut ctx, http) = context(vec![], true);
        ctx.host.env.insert(
            "ACME_CLOUD_BASE_URL".to_owned(),
            "http://api.acme.test/v1".to_owned(),
        );
        let err = runner(true)
            .run(&ctx, &ModelRequest::new("m", "p"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::Config);
        assert!(http.requests().is_empty());
    }
}
