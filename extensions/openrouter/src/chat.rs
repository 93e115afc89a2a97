//! The `model.run` capability: one chat completion, `POST <base>/chat/completions` with the
//! resolved key as a Bearer token. Each failure becomes one line saying what it means for the
//! user; OpenRouter's own text is shown only sanitised, with the key scrubbed from it.

use plugboard_core::{
    HttpRequest, HttpResponse, ModelContext, ModelError, ModelOutput, ModelReply, ModelRequest,
    ModelRunner, async_trait,
};
use plugboard_http::send_with_retry;
use serde::Deserialize;
use serde_json::Value;

use crate::endpoints::Endpoints;
use crate::provider::PROVIDER_ID;
use crate::refusal::{Call, malformed, refusal};
use crate::service_text::{SERVICE, with_said};

/// A completion is text, rarely more than a few KiB; 1 MiB leaves room for long answers while
/// keeping a hostile or broken answer from filling memory.
pub(crate) const MAX_CHAT_RESPONSE: usize = 1024 * 1024;

/// Config keys (under `providers.openrouter`) for OpenRouter's optional app attribution: the
/// app's URL (`HTTP-Referer`) and name (`X-Title`). Nothing is sent unless they are set.
pub const APP_URL_CONFIG_KEY: &str = "app_url";
/// See [`APP_URL_CONFIG_KEY`].
pub const APP_TITLE_CONFIG_KEY: &str = "app_title";

/// Runs OpenRouter models through its OpenAI-compatible chat completions API.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChatRunner;

#[async_trait]
impl ModelRunner for ChatRunner {
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
            "messages": [{ "role": "user", "content": request.prompt }],
        });
        let mut http = HttpRequest::post_json(endpoints.chat_url(), &body)
            .with_header("authorization", format!("Bearer {key}"))
            .with_max_response_bytes(MAX_CHAT_RESPONSE);
        for (config_key, header) in [
            (APP_URL_CONFIG_KEY, "http-referer"),
            (APP_TITLE_CONFIG_KEY, "x-title"),
        ] {
            if let Some(value) = attribution(ctx, config_key) {
                http = http.with_header(header, value);
            }
        }
        let response = send_with_retry(ctx.host.http_client.as_ref(), http)
            .await
            .map_err(|source| ModelError::Network {
                service: SERVICE.to_owned(),
                source,
            })?;
        read_reply(&response, key)
    }
}

/// A non-blank attribution setting; a header value cannot hold control characters, so one that
/// does is left out rather than failing the call.
fn attribution<'a>(ctx: &'a ModelContext, config_key: &str) -> Option<&'a str> {
    ctx.host
        .provider_config(PROVIDER_ID)?
        .get(config_key)?
        .as_str()
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.chars().any(char::is_control))
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
    images: Option<Vec<Value>>,
}

fn read_reply(response: &HttpResponse, key: &str) -> Result<ModelReply, ModelError> {
    if !response.is_success() {
        return Err(refusal(Call::Model, response, key));
    }
    let reply: ChatReply = serde_json::from_slice(&response.body)
        .map_err(|_| malformed(Call::Model, "is not the JSON it should be"))?;
    // OpenRouter reports some failures (a provider erroring mid-generation) as 200 + `error`.
    if reply.error.is_some() {
        return Err(ModelError::Service(with_said(
            "OpenRouter could not complete the request: try again, or another model",
            &response.body,
            key,
        )));
    }
    // Text and media URLs go to the host as the service sent them: the host cleans them for
    // a terminal, escapes them for `--json` and drops media URLs it cannot show safely, the
    // same for every provider.
    let mut outputs = Vec::new();
    for message in reply
        .choices
        .unwrap_or_default()
        .into_iter()
        .flat_map(|c| c.message)
    {
        let text = match message.content {
            Some(Value::String(text)) => Some(text),
            // Content may come as typed parts; the text parts make the output.
            Some(Value::Array(parts)) => Some(
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(""),
            ),
            _ => None,
        };
        let images: Vec<String> = message
            .images
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i.pointer("/image_url/url").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        if text.is_none() && images.is_empty() {
            continue;
        }
        outputs.push(ModelOutput::text(text.unwrap_or_default()));
        outputs.extend(images.into_iter().map(|url| {
            let mut output = ModelOutput::text("");
            output.media_url = Some(url);
            output
        }));
    }
    if outputs.is_empty() {
        return Err(malformed(Call::Model, "has no choices"));
    }
    Ok(ModelReply::new(outputs))
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, HttpError, ModelErrorKind};

    use super::*;
    use crate::provider::BASE_URL_ENV;
    use crate::test_support::{KEY, context, reply};

    fn chat(content: &str) -> String {
        serde_json::json!({"choices": [{"message": {"role": "assistant", "content": content}}]})
            .to_string()
    }

    async fn run(replies: Vec<Result<HttpResponse, HttpError>>) -> Result<ModelReply, ModelError> {
        let (ctx, _) = context(replies);
        ChatRunner
            .run(&ctx, &ModelRequest::new("m/x:free", "hi"))
            .await
    }

    #[tokio::test]
    async fn the_call_posts_the_prompt_with_the_key_as_bearer() {
        let (mut ctx, http) = context(vec![reply(200, &chat("pong"))]);
        ctx.host.config = serde_json::json!({"providers": {"openrouter": {
            "app_url": "https://example.test/app", "app_title": " My app ",
        }}});
        let got = ChatRunner
            .run(&ctx, &ModelRequest::new("liquid/lfm:free", "ping"))
            .await
            .unwrap();
        assert_eq!(got.outputs, [ModelOutput::text("pong")]);
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "http://127.0.0.1:1/api/v1/chat/completions");
        let header = |name: &str| {
            sent.headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(header("http-referer"), Some("https://example.test/app"));
        assert_eq!(header("x-title"), Some("My app"));
        assert_eq!(sent.max_response_bytes, MAX_CHAT_RESPONSE);
        let body: Value = serde_json::from_slice(sent.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "model": "liquid/lfm:free",
                "messages": [{"role": "user", "content": "ping"}],
            })
        );
    }

    #[tokio::test]
    async fn attribution_headers_are_sent_only_when_configured() {
        let (ctx, http) = context(vec![reply(200, &chat("pong"))]);
        ChatRunner
            .run(&ctx, &ModelRequest::new("m", "p"))
            .await
            .unwrap();
        let requests = http.requests();
        let names: Vec<&str> = requests[0]
            .headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["content-type", "authorization"]);
    }

    #[tokio::test(start_paused = true)]
    async fn replies_become_outputs_or_one_line_of_the_right_kind() {
        use ModelErrorKind as K;
        let parts = r#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#;
        let image = r#"{"choices":[{"message":{"content":"here","images":[{"type":"image_url","image_url":{"url":"https://img.test/1.png"}}]}}]}"#;
        type Case = (
            Vec<Result<HttpResponse, HttpError>>,
            Result<Vec<(&'static str, Option<&'static str>)>, (K, &'static str)>,
        );
        let cases: Vec<Case> = vec![
            (vec![reply(200, &chat("pong"))], Ok(vec![("pong", None)])),
            (
                vec![reply(503, ""), reply(200, &chat("again"))],
                Ok(vec![("again", None)]),
            ),
            (vec![reply(200, parts)], Ok(vec![("ab", None)])),
            (
                vec![reply(200, image)],
                Ok(vec![("here", None), ("", Some("https://img.test/1.png"))]),
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
                    "OpenRouter answered HTTP 402: the account is out of credits: add credits at https://openrouter.ai/settings/credits (OpenRouter said: Insufficient credits)",
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
                vec![reply(
                    404,
                    r#"{"error":{"message":"Model x does not exist"}}"#,
                )],
                Err((
                    K::InvalidRequest,
                    "OpenRouter answered HTTP 404: no such model: check the model id at https://openrouter.ai/models (OpenRouter said: Model x does not exist)",
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
                vec![reply(500, "<html>\n oops")],
                Err((
                    K::Service,
                    "OpenRouter answered HTTP 500: OpenRouter or the model's provider failed: try again in a minute, or another model",
                )),
            ),
            (
                vec![reply(200, r#"{"error":{"message":"upstream failed"}}"#)],
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
                vec![Err(HttpError::TooLarge {
                    host: "127.0.0.1".into(),
                    limit: MAX_CHAT_RESPONSE,
                })],
                Err((
                    K::BadResponse,
                    "OpenRouter could not be reached: the response from 127.0.0.1 is larger than 1048576 bytes",
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
                Ok(outputs) => {
                    let got: Vec<(String, Option<String>)> = got
                        .unwrap()
                        .outputs
                        .into_iter()
                        .map(|o| (o.text, o.media_url))
                        .collect();
                    let want: Vec<(String, Option<String>)> = outputs
                        .into_iter()
                        .map(|(t, m)| (t.to_owned(), m.map(str::to_owned)))
                        .collect();
                    assert_eq!(got, want);
                }
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
            let body = serde_json::json!({"error": {"message": format!("bad key {echo}")}});
            for status in [400, 401, 500] {
                let err = run(vec![reply(status, &body.to_string())])
                    .await
                    .unwrap_err();
                let shown = err.to_string();
                assert!(!plugboard_core::shows_secret(&shown, KEY), "{shown}");
                assert!(shown.contains("bad key [redacted]"), "{shown}");
            }
        }
    }

    #[tokio::test]
    async fn reply_text_and_media_urls_reach_the_host_as_sent() {
        let text = "a\u{1b}]52;c;eA==\u{7}b\u{202e}";
        let url = "javascript:alert(1)";
        let body = serde_json::json!({"choices": [{"message": {
            "content": text,
            "images": [{"type": "image_url", "image_url": {"url": url}}],
        }}]});
        let got = run(vec![reply(200, &body.to_string())]).await.unwrap();
        assert_eq!(got.outputs[0].text, text);
        assert_eq!(got.outputs[1].media_url.as_deref(), Some(url));
    }

    #[tokio::test]
    async fn an_unusable_base_url_is_a_config_error_and_nothing_is_sent() {
        let (mut ctx, http) = context(vec![]);
        ctx.host.env.insert(
            BASE_URL_ENV.to_owned(),
            "http://openrouter.ai/api/v1".to_owned(),
        );
        let err = ChatRunner
            .run(&ctx, &ModelRequest::new("m", "p"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::Config);
        assert!(http.requests().is_empty());
    }
}
