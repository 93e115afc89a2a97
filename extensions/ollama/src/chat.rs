//! The `model.run` capability: one user message, `POST <server>/api/chat` with
//! `"stream": false`, answered by one chat response whose `message.content` is the reply. No
//! credential is sent: a local Ollama server asks for none. Each failure becomes one line saying
//! what it means for the user, with Ollama's own words shown only sanitised.

use plugboard_core::{
    HttpRequest, HttpResponse, ModelContext, ModelError, ModelOutput, ModelReply, ModelRequest,
    ModelRunner, async_trait,
};
use plugboard_http::send_with_retry;
use serde::Deserialize;

use crate::endpoints::{Endpoints, location_message};
use crate::service_text::{Asked, SERVICE, from_object, malformed, refusal, with_said};

/// A reply is a few KiB of text; 1 MiB leaves room for long answers while keeping a hostile or
/// broken answer from filling memory.
pub(crate) const MAX_CHAT_RESPONSE: usize = 1024 * 1024;

/// Runs models on an Ollama server through its chat endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChatRunner;

/// The request body: one user message, and the whole answer in one response rather than
/// Ollama's default stream of partial ones.
pub(crate) fn chat_body(request: &ModelRequest) -> serde_json::Value {
    serde_json::json!({
        "model": request.model,
        "messages": [{ "role": "user", "content": request.prompt }],
        "stream": false,
    })
}

#[async_trait]
impl ModelRunner for ChatRunner {
    async fn run(
        &self,
        ctx: &ModelContext,
        request: &ModelRequest,
    ) -> Result<ModelReply, ModelError> {
        let endpoints = Endpoints::from_host(&ctx.host)
            .map_err(|e| ModelError::Config(location_message(&e)))?;
        let http = HttpRequest::post_json(endpoints.chat_url(), &chat_body(request))
            .with_max_response_bytes(MAX_CHAT_RESPONSE);
        let response = send_with_retry(ctx.host.http_client.as_ref(), http)
            .await
            .map_err(|source| ModelError::Network {
                service: SERVICE.to_owned(),
                source,
            })?;
        // Nothing secret is sent, but whatever credential the host resolved is kept out of
        // anything shown, should a server or proxy echo it.
        read_reply(&response, ctx.credential.expose_secret(), &request.model)
    }
}

/// A chat response, as far as a text reply needs it.
#[derive(Deserialize)]
struct ChatResponse {
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
}

pub(crate) fn read_reply(
    response: &HttpResponse,
    secret: &str,
    model: &str,
) -> Result<ModelReply, ModelError> {
    if !response.is_success() {
        return Err(refusal(response, secret, Asked::Chat { model }));
    }
    let reply: ChatResponse = from_object(&response.body)
        .ok_or_else(|| malformed("the model call is not the JSON it should be"))?;
    if reply.error.is_some() {
        // Ollama reports a failure after the answer began as an object with only `error`,
        // keeping the 200 it had already sent.
        return Err(ModelError::Service(with_said(
            "Ollama failed while answering: see the log of `ollama serve` and try again",
            &response.body,
            secret,
        )));
    }
    let content = reply
        .message
        .and_then(|m| m.content)
        .ok_or_else(|| malformed("the model call has no message content"))?;
    // An empty content is a model that had nothing to say: still its answer.
    Ok(ModelReply::new(vec![ModelOutput::text(content)]))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{
        Credential, CredentialKind, ErrorChain, HostServices, HttpError, ModelErrorKind,
        Provenance, ScriptedHttp,
    };
    use serde_json::{Value, json};

    use super::*;
    use crate::provider::HOST_ENV;

    const KEY: &str = "sk-pbct-1111222233334444555566667777888899990000";

    fn context(
        replies: Vec<Result<HttpResponse, HttpError>>,
        credential: Credential,
    ) -> (ModelContext, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new(replies));
        let host = HostServices::default()
            .with_http_client(http.clone())
            .with_env(HOST_ENV, "127.0.0.1:1");
        (ModelContext::new(credential, host), http)
    }

    fn none() -> Credential {
        Credential::none(Provenance::new())
    }

    fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
    }

    fn answer(content: &str) -> String {
        json!({
            "model": "llama3.2", "created_at": "2023-12-12T14:13:43.416799Z",
            "message": {"role": "assistant", "content": content},
            "done_reason": "stop", "done": true, "total_duration": 5191566416_u64,
            "load_duration": 2154458, "prompt_eval_count": 26, "prompt_eval_duration": 383809000,
            "eval_count": 298, "eval_duration": 4799921000_u64,
        })
        .to_string()
    }

    fn error(status: u16, text: &str) -> Result<HttpResponse, HttpError> {
        reply(status, &json!({ "error": text }).to_string())
    }

    async fn run(replies: Vec<Result<HttpResponse, HttpError>>) -> Result<ModelReply, ModelError> {
        let (ctx, _) = context(replies, none());
        ChatRunner
            .run(&ctx, &ModelRequest::new("llama3.2", "hi"))
            .await
    }

    #[tokio::test]
    async fn the_call_posts_one_user_message_without_streaming_and_without_credentials() {
        let key = Credential::new(
            CredentialKind::ApiKey,
            KEY.to_owned().into(),
            Provenance::new(),
        );
        let (ctx, http) = context(vec![reply(200, &answer("pong"))], key);
        let got = ChatRunner
            .run(&ctx, &ModelRequest::new("qwen2.5-coder:7b", "ping"))
            .await
            .unwrap();
        assert_eq!(got.outputs, [ModelOutput::text("pong")]);
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "http://127.0.0.1:1/api/chat");
        let headers: Vec<(&str, &str)> = sent
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(headers, [("content-type", "application/json")]);
        assert_eq!(sent.max_response_bytes, MAX_CHAT_RESPONSE);
        let body: Value = serde_json::from_slice(sent.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "qwen2.5-coder:7b",
                "messages": [{"role": "user", "content": "ping"}],
                "stream": false,
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn replies_become_one_output_or_one_line_of_the_right_kind() {
        use ModelErrorKind as K;
        type Case = (
            Vec<Result<HttpResponse, HttpError>>,
            Result<&'static str, (K, &'static str)>,
        );
        let cases: Vec<Case> = vec![
            (vec![reply(200, &answer("pong"))], Ok("pong")),
            (vec![reply(200, &answer(""))], Ok("")),
            (
                vec![reply(
                    200,
                    r#"{"message":{"role":"assistant","content":"lean"}}"#,
                )],
                Ok("lean"),
            ),
            (
                vec![reply(503, ""), reply(200, &answer("again"))],
                Ok("again"),
            ),
            (
                vec![error(404, "model 'llama3.2' not found")],
                Err((
                    K::InvalidRequest,
                    "Ollama answered HTTP 404: the model is not on this server: pull it with `ollama pull llama3.2`, or see `ollama list` (Ollama said: model 'llama3.2' not found)",
                )),
            ),
            (
                vec![reply(404, "404 page not found")],
                Err((
                    K::InvalidRequest,
                    "Ollama answered HTTP 404: nothing answers /api/chat there: check that OLLAMA_HOST (or providers.ollama.base_url) names an Ollama server",
                )),
            ),
            (
                vec![error(400, "missing request body")],
                Err((
                    K::InvalidRequest,
                    "Ollama answered HTTP 400: the request was refused (Ollama said: missing request body)",
                )),
            ),
            (
                vec![error(401, "unauthorized")],
                Err((
                    K::CredentialRejected,
                    "Ollama rejected the key: HTTP 401: plugboard sends Ollama no credentials, so a proxy in front of the server wants some it cannot give (Ollama said: unauthorized)",
                )),
            ),
            (
                vec![reply(
                    401,
                    r#"{"error":"unauthorized","signin_url":"https://ollama.com/connect?name=box&key=c3NoLWVkMjU1MTk"}"#,
                )],
                Err((
                    K::CredentialRejected,
                    "Ollama rejected the key: HTTP 401: the server is not signed in to ollama.com, which cloud models need: run `ollama signin` where the server runs (Ollama said: unauthorized)",
                )),
            ),
            (
                vec![reply(403, "<html>Forbidden</html>")],
                Err((
                    K::CredentialRejected,
                    "Ollama rejected the key: HTTP 403: plugboard sends Ollama no credentials, so a proxy in front of the server wants some it cannot give",
                )),
            ),
            (
                vec![error(429, "too many requests")],
                Err((
                    K::RateLimited,
                    "Ollama answered HTTP 429: too many requests: wait a moment and try again (Ollama said: too many requests)",
                )),
            ),
            (
                vec![error(
                    500,
                    "model requires more system memory (9.0 GiB) than is available (4.0 GiB)",
                )],
                Err((
                    K::Service,
                    "Ollama answered HTTP 500: the server failed to answer: see the log of `ollama serve` and try again (Ollama said: model requires more system memory (9.0 GiB) than is available (4.0 GiB))",
                )),
            ),
            (
                vec![reply(
                    200,
                    r#"{"error":"an error was encountered while running the model"}"#,
                )],
                Err((
                    K::Service,
                    "Ollama failed while answering: see the log of `ollama serve` and try again (Ollama said: an error was encountered while running the model)",
                )),
            ),
            (
                vec![reply(200, "<html>")],
                Err((
                    K::BadResponse,
                    "Ollama's answer to the model call is not the JSON it should be: check that OLLAMA_HOST names an Ollama server, and report it if it persists",
                )),
            ),
            (
                vec![reply(200, r#"[{"role":"assistant","content":"x"}]"#)],
                Err((
                    K::BadResponse,
                    "Ollama's answer to the model call is not the JSON it should be: check that OLLAMA_HOST names an Ollama server, and report it if it persists",
                )),
            ),
            (
                vec![reply(200, r#"{"response":"generate-style"}"#)],
                Err((
                    K::BadResponse,
                    "Ollama's answer to the model call has no message content: check that OLLAMA_HOST names an Ollama server, and report it if it persists",
                )),
            ),
            (
                vec![
                    Err(HttpError::Connect {
                        host: "127.0.0.1".into(),
                        reason: "connection refused".into(),
                    }),
                    Err(HttpError::Connect {
                        host: "127.0.0.1".into(),
                        reason: "connection refused".into(),
                    }),
                ],
                Err((
                    K::Network,
                    "Ollama could not be reached: cannot connect to 127.0.0.1: connection refused",
                )),
            ),
            (
                vec![Err(HttpError::TooLarge {
                    host: "127.0.0.1".into(),
                    limit: MAX_CHAT_RESPONSE,
                })],
                Err((
                    K::BadResponse,
                    "Ollama could not be reached: the response from 127.0.0.1 is larger than 1048576 bytes",
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
    async fn a_credential_echoed_by_the_server_is_scrubbed_from_the_error() {
        let key = || {
            Credential::new(
                CredentialKind::ApiKey,
                KEY.to_owned().into(),
                Provenance::new(),
            )
        };
        for status in [200, 400, 401, 404, 500] {
            let body = json!({ "error": format!("bad key {}", KEY.to_uppercase()) }).to_string();
            let (ctx, _) = context(vec![reply(status, &body)], key());
            let err = ChatRunner
                .run(&ctx, &ModelRequest::new("m", "p"))
                .await
                .unwrap_err();
            let shown = format!("{} {err:?}", ErrorChain(&err));
            assert!(!plugboard_core::shows_secret(&shown, KEY), "{shown}");
            assert!(shown.contains("bad key [redacted]"), "{shown}");
        }
    }

    #[tokio::test]
    async fn an_unusable_server_address_is_a_config_error_and_nothing_is_sent() {
        let (mut ctx, http) = context(vec![], none());
        ctx.host
            .env
            .insert(HOST_ENV.to_owned(), "http://10.0.0.1:11434".to_owned());
        let err = ChatRunner
            .run(&ctx, &ModelRequest::new("m", "p"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::Config);
        assert!(err.to_string().contains("allow_plain_http"), "{err}");
        assert!(http.requests().is_empty());
    }
}
