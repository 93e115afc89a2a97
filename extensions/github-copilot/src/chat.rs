//! The `model.run` capability: one OpenAI-shaped chat completion,
//! `POST <endpoints.api>/chat/completions` with the cached Copilot token as a Bearer token, the
//! editor identity headers, and `stream: false`, as Zed's `stream_completion` and copilot-api's
//! `createChatCompletions` send a non-streamed request. Each failure becomes one line saying
//! what it means for the user; GitHub's own text is shown only sanitised, with every secret
//! of the credential scrubbed.

use std::time::SystemTime;

use plugboard_core::{
    HttpResponse, ModelContext, ModelError, ModelOutput, ModelReply, ModelRequest, ModelRunner,
    async_trait,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::copilot_api::{malformed, refusal, secrets, send, session_for_use};
use crate::service_text::{copilot_said, with_said};

/// Where chat completions are, under the Copilot API.
pub(crate) const CHAT_PATH: &str = "/chat/completions";

/// A completion is text, rarely more than a few KiB; 1 MiB leaves room for long answers while
/// keeping a hostile or broken answer from filling memory.
pub(crate) const MAX_CHAT_RESPONSE: usize = 1024 * 1024;

/// How messages name this call.
const WHAT: &str = "the model call";

/// Runs Copilot models through the Copilot API's chat completions.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChatRunner;

#[async_trait]
impl ModelRunner for ChatRunner {
    async fn run(
        &self,
        ctx: &ModelContext,
        request: &ModelRequest,
    ) -> Result<ModelReply, ModelError> {
        // A model call has no clock of its own in its context; the session's expiry is a wall
        // clock time GitHub gave, so the wall clock is what it is compared with.
        let session = session_for_use(&ctx.credential, SystemTime::now())?;
        let secrets = secrets(&ctx.credential);
        let http = session
            .post_json(CHAT_PATH, &body(request))
            // What VS Code's chat panel sends (copilot-api, LiteLLM), and who started the turn
            // (Zed, LiteLLM): a person, for a one-shot prompt.
            .with_header("openai-intent", "conversation-panel")
            .with_header("x-initiator", "user")
            .with_max_response_bytes(MAX_CHAT_RESPONSE);
        let response = send(ctx, http).await?;
        read_reply(&response, &secrets)
    }
}

/// One user message, not streamed.
pub(crate) fn body(request: &ModelRequest) -> Value {
    json!({
        "model": request.model,
        "messages": [{"role": "user", "content": request.prompt}],
        "stream": false,
    })
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
}

fn read_reply(response: &HttpResponse, secrets: &[&str]) -> Result<ModelReply, ModelError> {
    if !response.is_success() {
        return Err(refusal(response, secrets, WHAT));
    }
    let reply: ChatReply = serde_json::from_slice(&response.body)
        .map_err(|_| malformed(WHAT, "is not the JSON it should be"))?;
    if reply.error.is_some() {
        return Err(ModelError::Service(with_said(
            "GitHub Copilot could not complete the request: try again, or another model",
            copilot_said(&response.body, secrets),
        )));
    }
    // Copilot may split one answer over several choices (text in one, tool calls in another,
    // for some Claude models), so every choice's text is an output, in order.
    let outputs: Vec<ModelOutput> = reply
        .choices
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.message?.content)
        .filter_map(|content| match content {
            Value::String(text) => Some(text),
            // Content may come as typed parts; the text parts make the output.
            Value::Array(parts) => Some(
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<String>(),
            ),
            _ => None,
        })
        .filter(|text| !text.is_empty())
        .map(ModelOutput::text)
        .collect();
    if outputs.is_empty() {
        return Err(malformed(WHAT, "has no text in its choices"));
    }
    Ok(ModelReply::new(outputs))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use plugboard_core::{
        Credential, ErrorChain, HostServices, HttpError, ModelErrorKind, OAuthTokens, Provenance,
        ScriptedHttp, SessionToken, shows_secret,
    };

    use super::*;

    const GITHUB: &str = "ghu_StoredGitHubToken0123456789abcdefXY";
    const COPILOT: &str = "tid=5e55;exp=4102444800;sku=copilot;proxy-ep=proxy.test:9f8e7d6c5b4a";

    fn credential() -> Credential {
        let mut tokens = OAuthTokens::new(GITHUB.to_owned().into());
        tokens.session = Some(SessionToken {
            token: COPILOT.to_owned().into(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_800),
            endpoint: Some("http://127.0.0.1:9/copilot-api".to_owned()),
        });
        Credential::oauth(tokens, Provenance::new())
    }

    fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
    }

    async fn run(
        credential: Credential,
        replies: Vec<Result<HttpResponse, HttpError>>,
    ) -> (Result<ModelReply, ModelError>, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new(replies));
        let ctx = ModelContext::new(
            credential,
            HostServices::default().with_http_client(http.clone()),
        );
        let got = ChatRunner
            .run(&ctx, &ModelRequest::new("gpt-4.1", "ping"))
            .await;
        (got, http)
    }

    fn completion(content: Value) -> String {
        json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4.1",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
        .to_string()
    }

    #[tokio::test]
    async fn the_call_posts_one_unstreamed_message_with_the_copilot_token_and_headers() {
        let (got, http) = run(credential(), vec![reply(200, &completion(json!("pong")))]).await;
        assert_eq!(got.unwrap().outputs, [ModelOutput::text("pong")]);
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "http://127.0.0.1:9/copilot-api/chat/completions");
        let headers: Vec<(&str, &str)> = sent
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let bearer = format!("Bearer {COPILOT}");
        assert_eq!(
            headers,
            [
                ("content-type", "application/json"),
                ("authorization", bearer.as_str()),
                ("accept", "application/json"),
                ("copilot-integration-id", "vscode-chat"),
                ("editor-version", "vscode/1.107.0"),
                ("editor-plugin-version", "copilot-chat/0.35.0"),
                ("openai-intent", "conversation-panel"),
                ("x-initiator", "user"),
            ]
        );
        assert_eq!(sent.max_response_bytes, MAX_CHAT_RESPONSE);
        let body: Value = serde_json::from_slice(sent.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "ping"}],
                   "stream": false})
        );
    }

    #[test]
    fn chat_replies_are_read_in_every_shape_copilot_sends() {
        let split = json!({"choices": [
            {"index": 0, "message": {"role": "assistant", "content": "first"}},
            {"index": 1, "message": {"role": "assistant", "content": null,
                                     "tool_calls": [{"id": "t"}]}},
            {"index": 2, "message": {"role": "assistant", "content": "second"}},
        ]})
        .to_string();
        // (body, Ok(texts) | Err(kind))
        let cases: Vec<(String, Result<Vec<&str>, ModelErrorKind>)> = vec![
            (completion(json!("ok")), Ok(vec!["ok"])),
            (
                completion(json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])),
                Ok(vec!["ab"]),
            ),
            (split, Ok(vec!["first", "second"])),
            (completion(json!("")), Err(ModelErrorKind::BadResponse)),
            (completion(Value::Null), Err(ModelErrorKind::BadResponse)),
            (
                json!({"choices": []}).to_string(),
                Err(ModelErrorKind::BadResponse),
            ),
            (
                json!({"id": "x"}).to_string(),
                Err(ModelErrorKind::BadResponse),
            ),
            (
                json!({"error": {"message": "upstream failed"}}).to_string(),
                Err(ModelErrorKind::Service),
            ),
            ("<html>".to_owned(), Err(ModelErrorKind::BadResponse)),
        ];
        for (body, want) in cases {
            let got = read_reply(&HttpResponse::new(200, body.clone()), &[])
                .map(|r| r.outputs.into_iter().map(|o| o.text).collect::<Vec<_>>())
                .map_err(|e| e.kind());
            let want = want.map(|t| t.into_iter().map(str::to_owned).collect::<Vec<_>>());
            assert_eq!(got, want, "{body}");
        }
    }

    #[tokio::test]
    async fn a_401_is_expired_when_copilot_says_so_and_rejected_otherwise() {
        let (got, _) = run(
            credential(),
            vec![reply(401, "unauthorized: token expired\n")],
        )
        .await;
        assert_eq!(got.unwrap_err().kind(), ModelErrorKind::CredentialExpired);
        let (got, _) = run(
            credential(),
            vec![reply(
                401,
                "unauthorized: AuthenticateToken authentication failed\n",
            )],
        )
        .await;
        assert_eq!(got.unwrap_err().kind(), ModelErrorKind::CredentialRejected);
    }

    #[tokio::test]
    async fn without_a_session_nothing_is_sent_and_the_host_is_asked_to_renew() {
        let plain = Credential::oauth(
            OAuthTokens::new(GITHUB.to_owned().into()),
            Provenance::new(),
        );
        let (got, http) = run(plain, vec![reply(200, &completion(json!("x")))]).await;
        assert_eq!(got.unwrap_err().kind(), ModelErrorKind::CredentialExpired);
        assert!(http.requests().is_empty());
    }

    #[tokio::test]
    async fn neither_token_shows_when_copilot_echoes_them() {
        let echo = format!(
            "unauthorized: bad token {} for {}",
            COPILOT.to_uppercase(),
            GITHUB
        );
        let json_echo =
            json!({"error": {"message": format!("Bad request with {COPILOT}")}}).to_string();
        for (status, body) in [
            (401, echo.as_str()),
            (400, json_echo.as_str()),
            (500, echo.as_str()),
        ] {
            let (got, _) = run(credential(), vec![reply(status, body), reply(status, body)]).await;
            let err = got.unwrap_err();
            for shown in [ErrorChain(&err).to_string(), format!("{err:?}")] {
                assert!(!shows_secret(&shown, COPILOT), "{shown}");
                assert!(!shows_secret(&shown, GITHUB), "{shown}");
            }
        }
    }
}
