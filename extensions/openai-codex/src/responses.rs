//! The `model.run` capability: one Responses API call to the ChatGPT backend,
//! `POST <responses URL>` with the access token as a Bearer token, the ChatGPT account in
//! `chatgpt-account-id`, and the body codex-rs builds (`ResponsesApiRequest` in
//! `codex-rs/codex-api/src/common.rs`). The backend only streams, so the answer is a whole
//! body of server-sent events, read by [`crate::sse`]. Each failure becomes one line saying what
//! it means for the user; OpenAI's own text is shown only sanitised, with the token scrubbed.

use plugboard_core::{
    HttpRequest, HttpResponse, ModelContext, ModelError, ModelOutput, ModelReply, ModelRequest,
    ModelRunner, async_trait,
};
use plugboard_http::send_with_retry;
use serde_json::{Value, json};

use crate::endpoints::{Endpoints, ORIGINATOR};
use crate::jwt;
use crate::service_text::{SERVICE, api_error_code, api_said, event_said, with_said};
use crate::sse::{Streamed, read};

/// A streamed answer repeats its text several times (each delta as an event, the finished
/// item, the completed response), so the bound is larger than for a JSON answer; 4 MiB still
/// keeps a hostile or broken answer from filling memory.
pub(crate) const MAX_STREAM_RESPONSE: usize = 4 * 1024 * 1024;

/// Our own short instruction; the backend requires `instructions`, and a one-shot run needs
/// nothing more than this.
pub(crate) const INSTRUCTIONS: &str =
    "You are a helpful assistant. Answer the user's request directly and concisely.";

/// Runs Codex models through the ChatGPT backend's Responses API.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponsesRunner;

#[async_trait]
impl ModelRunner for ResponsesRunner {
    async fn run(
        &self,
        ctx: &ModelContext,
        request: &ModelRequest,
    ) -> Result<ModelReply, ModelError> {
        let endpoints =
            Endpoints::from_host(&ctx.host).map_err(|e| ModelError::Config(e.to_string()))?;
        let token = ctx.credential.expose_secret();
        // The ChatGPT account the tokens act for: stored at sign-in, else read from the access
        // token's claims. Like codex-rs (`add_auth_headers_to_header_map`), the header is sent
        // only when the account is known; a refusal then says the sign-in must be redone.
        let account_id = ctx
            .credential
            .account_id()
            .map(str::to_owned)
            .or_else(|| jwt::account(token).ok().and_then(|a| a.account_id));
        let mut http = HttpRequest::post_json(endpoints.responses_url(), &body(request))
            .with_header("authorization", format!("Bearer {token}"));
        if let Some(account_id) = &account_id {
            http = http.with_header("chatgpt-account-id", account_id.as_str());
        }
        let http = http
            .with_header("accept", "text/event-stream")
            .with_header("openai-beta", "responses=experimental")
            .with_header("originator", ORIGINATOR)
            .with_max_response_bytes(MAX_STREAM_RESPONSE);
        let response = send_with_retry(ctx.host.http_client.as_ref(), http)
            .await
            .map_err(|source| ModelError::Network {
                service: SERVICE.to_owned(),
                source,
            })?;
        read_reply(&response, token, account_id.is_some())
    }
}

/// The request body as codex-rs builds it: one user message with an `input_text` part, no
/// tools, nothing stored, streamed, with the reasoning settings codex-rs sends for its models
/// and the encrypted reasoning it asks to have returned when nothing is stored.
pub(crate) fn body(request: &ModelRequest) -> Value {
    json!({
        "model": request.model,
        "instructions": INSTRUCTIONS,
        "input": [{
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": request.prompt}],
        }],
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
    })
}

fn read_reply(
    response: &HttpResponse,
    token: &str,
    account_known: bool,
) -> Result<ModelReply, ModelError> {
    if !response.is_success() {
        return Err(refusal(response, token, account_known));
    }
    let body = String::from_utf8_lossy(&response.body);
    match read(&body) {
        Streamed::Completed(text) => Ok(ModelReply::new(vec![ModelOutput::text(text)])),
        Streamed::Failed(error) => Err(failed(&error, token)),
        Streamed::Incomplete(reason) => Err(ModelError::Service(match reason {
            Some(reason) => format!(
                "OpenAI Codex stopped before finishing the answer ({}): try again, or ask for less",
                plugboard_core::sanitize_line(&reason, 60)
            ),
            None => "OpenAI Codex stopped before finishing the answer: try again, or ask for less"
                .to_owned(),
        })),
        // A cut stream is reported as an answer that is not whole (bad response) rather than
        // a network failure: the HTTP exchange itself completed, only the events stopped early.
        Streamed::Cut { saw_events: true } => Err(ModelError::BadResponse(
            "OpenAI Codex's event stream ended before response.completed (the connection was cut): try again"
                .to_owned(),
        )),
        Streamed::Cut { saw_events: false } => Err(ModelError::BadResponse(
            "OpenAI Codex's answer to the model call is not an event stream: try again, and report it if it persists"
                .to_owned(),
        )),
    }
}

/// A `response.failed` or `error` event as one line, by its code as codex-rs reads it.
fn failed(error: &Value, token: &str) -> ModelError {
    let code = error.get("code").and_then(Value::as_str).unwrap_or("");
    let said = event_said(error, token);
    let line = |meaning: &str| {
        with_said(
            &format!("OpenAI Codex failed the request: {meaning}"),
            said.clone(),
        )
    };
    match code {
        "rate_limit_exceeded" => {
            ModelError::RateLimited(line("too many requests: wait a minute and try again"))
        }
        "insufficient_quota" | "usage_limit_reached" | "usage_not_included" => {
            ModelError::RateLimited(line(
                "the ChatGPT plan's Codex usage is used up or not included: check the plan, or wait for the limit to reset",
            ))
        }
        "context_length_exceeded" => {
            ModelError::InvalidRequest(line("the prompt is too long for the model"))
        }
        "invalid_prompt" | "invalid_request_error" => {
            ModelError::InvalidRequest(line("the request was refused"))
        }
        _ => ModelError::Service(line("try again in a minute")),
    }
}

/// A refused call as one line: what the status means for the user, plus OpenAI's words. When
/// the request named no ChatGPT account, a refusal says so: only a new sign-in gives one.
fn refusal(response: &HttpResponse, token: &str, account_known: bool) -> ModelError {
    let status = response.status;
    let said = api_said(&response.body, token);
    let no_account = if account_known {
        ""
    } else {
        "; the credential names no ChatGPT account: sign in again with --method oauth"
    };
    let answered = |meaning: &str| {
        with_said(
            &format!("OpenAI Codex answered HTTP {status}: {meaning}{no_account}"),
            said.clone(),
        )
    };
    match status {
        401 => {
            let detail = match &said {
                Some(words) => format!("HTTP 401{no_account} ({words})"),
                None => format!("HTTP 401{no_account}"),
            };
            if says_expired(&response.body) {
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
        429 => ModelError::RateLimited(answered(
            "the ChatGPT plan's usage limit or rate limit was reached: wait and try again",
        )),
        403 => ModelError::InvalidRequest(answered(
            "this ChatGPT account or workspace may not use Codex (or the request was blocked)",
        )),
        404 => ModelError::InvalidRequest(answered("no such model for Codex: check the model id")),
        400 | 413 | 422 => ModelError::InvalidRequest(answered("the request was refused")),
        408 | 500..=599 => ModelError::Service(answered("OpenAI failed: try again in a minute")),
        _ => ModelError::Service(answered(
            "unexpected answer: try again, and report it if it persists",
        )),
    }
}

/// Whether a 401 says the access token has expired (`"code": "token_expired"`), as opposed to
/// a token that is invalid or revoked, which refreshing would not fix.
fn says_expired(body: &[u8]) -> bool {
    api_error_code(body).is_some_and(|code| code.eq_ignore_ascii_case("token_expired"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{
        Credential, CredentialKind, ErrorChain, HostServices, HttpError, ModelErrorKind,
        OAuthTokens, Provenance, ScriptedHttp,
    };

    use super::*;
    use crate::provider::BASE_URL_ENV;

    const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3MDAwMDM2MDB9.c2lnbmF0dXJlLXBhcnQ";

    fn credential() -> Credential {
        let mut tokens = OAuthTokens::new(TOKEN.to_owned().into());
        tokens.account_id = Some("acc-1".to_owned());
        Credential::oauth(tokens, Provenance::new())
    }

    fn context(
        credential: Credential,
        replies: Vec<Result<HttpResponse, HttpError>>,
    ) -> (ModelContext, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new(replies));
        let host = HostServices::default()
            .with_http_client(http.clone())
            .with_env(BASE_URL_ENV, "http://127.0.0.1:9");
        (ModelContext::new(credential, host), http)
    }

    type Replies = Vec<Result<HttpResponse, HttpError>>;

    fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
    }

    fn streamed(text: &str) -> String {
        let delta = json!({"type": "response.output_text.delta", "delta": text});
        let done = json!({"type": "response.completed", "response": {"id": "resp_1"}});
        format!(
            "event: response.output_text.delta\ndata: {delta}\n\nevent: response.completed\ndata: {done}\n\n"
        )
    }

    async fn run(replies: Vec<Result<HttpResponse, HttpError>>) -> Result<ModelReply, ModelError> {
        let (ctx, _) = context(credential(), replies);
        ResponsesRunner
            .run(&ctx, &ModelRequest::new("gpt-5-codex", "hi"))
            .await
    }

    #[tokio::test]
    async fn the_call_posts_what_codex_rs_sends_with_the_token_and_account() {
        let (ctx, http) = context(credential(), vec![reply(200, &streamed("pong"))]);
        let got = ResponsesRunner
            .run(&ctx, &ModelRequest::new("gpt-5-codex", "ping"))
            .await
            .unwrap();
        assert_eq!(got.outputs, [ModelOutput::text("pong")]);
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "http://127.0.0.1:9/backend-api/codex/responses");
        let headers: Vec<(&str, &str)> = sent
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(
            headers,
            [
                ("content-type", "application/json"),
                ("authorization", bearer.as_str()),
                ("chatgpt-account-id", "acc-1"),
                ("accept", "text/event-stream"),
                ("openai-beta", "responses=experimental"),
                ("originator", "codex_cli_rs"),
            ]
        );
        assert_eq!(sent.max_response_bytes, MAX_STREAM_RESPONSE);
        let body: Value = serde_json::from_slice(sent.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "gpt-5-codex",
                "instructions": INSTRUCTIONS,
                "input": [{"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": "ping"}]}],
                "tools": [],
                "tool_choice": "auto",
                "parallel_tool_calls": false,
                "reasoning": {"effort": "medium", "summary": "auto"},
                "store": false,
                "stream": true,
                "include": ["reasoning.encrypted_content"],
            })
        );
    }

    #[tokio::test]
    async fn without_a_stored_account_the_access_tokens_claim_names_it() {
        let auth = "https://api.openai.com/auth";
        let token = jwt::unsigned(&json!({auth: {"chatgpt_account_id": "acc-jwt"}}));
        let plain = Credential::new(CredentialKind::OAuth, token.into(), Provenance::new());
        let (ctx, http) = context(plain, vec![reply(200, &streamed("x"))]);
        ResponsesRunner
            .run(&ctx, &ModelRequest::new("m", "p"))
            .await
            .unwrap();
        let sent = &http.requests()[0];
        assert!(
            sent.headers
                .contains(&("chatgpt-account-id".to_owned(), "acc-jwt".to_owned())),
            "{sent:?}"
        );
    }

    #[tokio::test]
    async fn a_credential_naming_no_account_is_sent_without_one_and_a_refusal_says_to_sign_in_again()
     {
        let plain = Credential::new(
            CredentialKind::OAuth,
            "opaque-token-1234".to_owned().into(),
            Provenance::new(),
        );
        let cases = [
            (
                401,
                ModelErrorKind::CredentialRejected,
                "OpenAI Codex rejected the key: HTTP 401; the credential names no ChatGPT account: sign in again with --method oauth (Missing account)",
            ),
            (
                403,
                ModelErrorKind::InvalidRequest,
                "OpenAI Codex answered HTTP 403: this ChatGPT account or workspace may not use Codex (or the request was blocked); the credential names no ChatGPT account: sign in again with --method oauth (OpenAI said: Missing account)",
            ),
        ];
        for (status, kind, line) in cases {
            let (ctx, http) = context(
                plain.clone(),
                vec![reply(status, r#"{"detail":"Missing account"}"#)],
            );
            let err = ResponsesRunner
                .run(&ctx, &ModelRequest::new("m", "p"))
                .await
                .unwrap_err();
            assert_eq!((err.kind(), err.to_string().as_str()), (kind, line));
            let sent = &http.requests()[0];
            assert!(
                !sent.headers.iter().any(|(n, _)| n == "chatgpt-account-id"),
                "{sent:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn answers_become_text_or_one_line_of_the_right_kind() {
        use ModelErrorKind as K;
        let failed = |code: &str, message: &str| {
            let event = json!({"type": "response.failed", "response": {"error": {"code": code, "message": message}}});
            format!("data: {event}\n\n")
        };
        type Want = Result<&'static str, (K, &'static str)>;
        let cases: Vec<(Replies, Want)> = vec![
            (vec![reply(200, &streamed("pong"))], Ok("pong")),
            (
                vec![reply(503, ""), reply(200, &streamed("again"))],
                Ok("again"),
            ),
            (
                vec![reply(
                    401,
                    r#"{"error":{"message":"Provided authentication token is expired. Please try signing in again.","type":"invalid_request_error","code":"token_expired","param":null},"status":401}"#,
                )],
                Err((
                    K::CredentialExpired,
                    "the OpenAI Codex access token has expired: HTTP 401 (Provided authentication token is expired. Please try signing in again.)",
                )),
            ),
            (
                vec![reply(
                    401,
                    r#"{"error":{"message":"Your authentication token has been invalidated. Please try signing in again.","type":"invalid_request_error","code":"token_invalidated","param":null},"status":401}"#,
                )],
                Err((
                    K::CredentialRejected,
                    "OpenAI Codex rejected the key: HTTP 401 (Your authentication token has been invalidated. Please try signing in again.)",
                )),
            ),
            (
                vec![reply(
                    429,
                    r#"{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached"}}"#,
                )],
                Err((
                    K::RateLimited,
                    "OpenAI Codex answered HTTP 429: the ChatGPT plan's usage limit or rate limit was reached: wait and try again (OpenAI said: The usage limit has been reached)",
                )),
            ),
            (
                vec![reply(400, r#"{"detail":"Unsupported model"}"#)],
                Err((
                    K::InvalidRequest,
                    "OpenAI Codex answered HTTP 400: the request was refused (OpenAI said: Unsupported model)",
                )),
            ),
            (
                vec![reply(404, "")],
                Err((
                    K::InvalidRequest,
                    "OpenAI Codex answered HTTP 404: no such model for Codex: check the model id",
                )),
            ),
            (
                vec![reply(500, "<html>\n oops")],
                Err((
                    K::Service,
                    "OpenAI Codex answered HTTP 500: OpenAI failed: try again in a minute",
                )),
            ),
            (
                vec![reply(200, &failed("server_error", "The model failed"))],
                Err((
                    K::Service,
                    "OpenAI Codex failed the request: try again in a minute (OpenAI said: The model failed)",
                )),
            ),
            (
                vec![reply(200, &failed("context_length_exceeded", "Too long"))],
                Err((
                    K::InvalidRequest,
                    "OpenAI Codex failed the request: the prompt is too long for the model (OpenAI said: Too long)",
                )),
            ),
            (
                vec![reply(
                    200,
                    &failed("rate_limit_exceeded", "Try again in 2s"),
                )],
                Err((
                    K::RateLimited,
                    "OpenAI Codex failed the request: too many requests: wait a minute and try again (OpenAI said: Try again in 2s)",
                )),
            ),
            (
                vec![reply(
                    200,
                    "data: {\"type\":\"error\",\"code\":\"insufficient_quota\",\"message\":\"Quota\"}\n\n",
                )],
                Err((
                    K::RateLimited,
                    "OpenAI Codex failed the request: the ChatGPT plan's Codex usage is used up or not included: check the plan, or wait for the limit to reset (OpenAI said: Quota)",
                )),
            ),
            (
                vec![reply(
                    200,
                    "data: {\"type\":\"response.incomplete\",\"response\":{\"incomplete_details\":{\"reason\":\"max_output_tokens\"}}}\n\n",
                )],
                Err((
                    K::Service,
                    "OpenAI Codex stopped before finishing the answer (max_output_tokens): try again, or ask for less",
                )),
            ),
            (
                vec![reply(
                    200,
                    "data: {\"type\":\"response.output_text.delta\",\"delta\":\"half\"}\n\n",
                )],
                Err((
                    K::BadResponse,
                    "OpenAI Codex's event stream ended before response.completed (the connection was cut): try again",
                )),
            ),
            (
                vec![reply(200, "<html>")],
                Err((
                    K::BadResponse,
                    "OpenAI Codex's answer to the model call is not an event stream: try again, and report it if it persists",
                )),
            ),
            (
                vec![Err(HttpError::Timeout {
                    host: "127.0.0.1".into(),
                    seconds: 30,
                })],
                Err((
                    K::Network,
                    "OpenAI Codex could not be reached: no answer from 127.0.0.1 within 30 s",
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
    async fn a_token_echoed_by_the_service_is_scrubbed_in_any_disguise() {
        let inside = |c: char| format!("{}{c}{}", &TOKEN[..20], &TOKEN[20..]);
        let echoes = [
            TOKEN.to_owned(),
            TOKEN.to_uppercase(),
            inside('\u{200b}'),
            inside('\u{7}'),
        ];
        for echo in echoes {
            let message = format!("bad token {echo}");
            let api = json!({"error": {"message": message, "code": "x"}}).to_string();
            let event = format!(
                "data: {}\n\n",
                json!({"type": "response.failed", "response": {"error": {"code": "server_error", "message": message}}})
            );
            for (status, body) in [(401, &api), (500, &api), (400, &api), (200, &event)] {
                let err = run(vec![reply(status, body)]).await.unwrap_err();
                let shown = format!("{} {err:?}", ErrorChain(&err));
                assert!(!plugboard_core::shows_secret(&shown, TOKEN), "{shown}");
                assert!(shown.contains("bad token [redacted]"), "{shown}");
            }
        }
    }

    #[tokio::test]
    async fn an_unusable_base_url_is_a_config_error_and_nothing_is_sent() {
        let (mut ctx, http) = context(credential(), vec![]);
        ctx.host
            .env
            .insert(BASE_URL_ENV.to_owned(), "http://chatgpt.example".to_owned());
        let err = ResponsesRunner
            .run(&ctx, &ModelRequest::new("m", "p"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::Config);
        assert!(http.requests().is_empty());
    }
}
