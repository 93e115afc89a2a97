//! The Ollama double's endpoints, answered the way Ollama's API reference (`docs/api.md`,
//! docs.ollama.com/api) and its errors page describe: `GET /api/version` gives
//! `{"version":...}`, `GET /api/tags` the local models, `POST /api/chat` with `"stream": false`
//! one chat response whose `message.content` is the reply; errors are `{"error":"..."}` with
//! the status, and a path Ollama does not serve is answered as its router does,
//! `404 page not found` in plain text.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::state::{OllamaFault, OllamaRecord, Shared};
use crate::body::{Body, full, response};

/// The version `GET /api/version` reports.
pub const VERSION: &str = "0.12.6";
/// Every chat reply is this, a space, and the last user message (just this when it is empty).
pub const REPLY_PREFIX: &str = "ollama-ok:";
/// Largest chat request body the double reads; past it the answer is 413. Ollama documents no
/// limit; a prompt for a test never needs more than this.
pub const MAX_CHAT_REQUEST_BYTES: usize = 1024 * 1024;
/// The models the double has "pulled", as `GET /api/tags` names them: a chat with any other
/// model is answered 404 `model '<name>' not found`. A name without a tag means `:latest`, as
/// in Ollama.
pub const MODELS: [&str; 3] = ["llama3.2:latest", "qwen2.5-coder:7b", "gemma3:1b"];

const VERSION_PATH: &str = "/api/version";
const TAGS_PATH: &str = "/api/tags";
const CHAT_PATH: &str = "/api/chat";
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// When every model was "pulled", and when every reply was "created": fixed, so answers are
/// the same on every run.
const TIMESTAMP: &str = "2026-01-01T00:00:00Z";

/// Answers one request and records it in the request log.
pub(super) async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let mut record = OllamaRecord {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        status: 0,
        model: None,
        stream: None,
        authorization: parts.headers.contains_key(AUTHORIZATION),
    };
    let answer = route(shared, &parts.method, body, &mut record).await;
    let response = answer.into_response();
    record.status = response.status().as_u16();
    shared.record(record);
    response
}

/// An answer of the double.
enum Answer {
    Json(StatusCode, Value),
    /// Ollama's error shape, `{"error": message}`.
    Error(StatusCode, String),
    Text(StatusCode, &'static str),
}

impl Answer {
    fn error(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Error(status, message.into())
    }

    fn into_response(self) -> Response<Body> {
        let (status, body, content_type) = match self {
            Self::Json(status, value) => {
                (status, value.to_string(), "application/json; charset=utf-8")
            }
            Self::Error(status, message) => (
                status,
                json!({ "error": message }).to_string(),
                "application/json; charset=utf-8",
            ),
            Self::Text(status, text) => (status, text.to_owned(), "text/plain; charset=utf-8"),
        };
        response(status, content_type, full(body))
    }
}

async fn route(
    shared: &Shared,
    method: &Method,
    body: Incoming,
    record: &mut OllamaRecord,
) -> Answer {
    let path = record.path.as_str();
    match (method, path) {
        // What `curl http://localhost:11434` shows: the usual "is it up" check by hand.
        (&Method::GET, "/") => return Answer::Text(StatusCode::OK, "Ollama is running"),
        (&Method::GET, VERSION_PATH | TAGS_PATH) | (&Method::POST, CHAT_PATH) => {}
        // Ollama's router answers an unknown path, or a known one with another method, with
        // its default 404 page.
        _ => return Answer::Text(StatusCode::NOT_FOUND, "404 page not found"),
    }
    // Faults other than a missing model come before any check of the request.
    match shared.take_fault(|fault| fault != OllamaFault::ModelNotFound) {
        Some(OllamaFault::ServerError) => {
            return Answer::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "llama runner process has terminated: exit status 2 (injected by the Ollama double)",
            );
        }
        Some(OllamaFault::BadJson) => {
            return Answer::Text(StatusCode::OK, "<html>not what Ollama sends</html>");
        }
        Some(OllamaFault::Unauthorized) => {
            return Answer::error(StatusCode::UNAUTHORIZED, "unauthorized");
        }
        Some(OllamaFault::ModelNotFound) | None => {}
    }
    match path {
        VERSION_PATH => Answer::Json(StatusCode::OK, json!({ "version": VERSION })),
        TAGS_PATH => Answer::Json(StatusCode::OK, tags()),
        _ => chat(shared, body, record).await,
    }
}

/// `GET /api/tags`: every model in [`MODELS`], with the fields the API reference shows.
fn tags() -> Value {
    let models: Vec<Value> = MODELS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let family = name.split([':', '.', '-']).next().unwrap_or(name);
            json!({
                "name": name,
                "model": name,
                "modified_at": TIMESTAMP,
                "size": 1_000_000_000_u64 + i as u64,
                "digest": format!("{:064x}", i + 1),
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": family,
                    "families": [family],
                    "parameter_size": "1B",
                    "quantization_level": "Q4_K_M",
                },
            })
        })
        .collect();
    json!({ "models": models })
}

async fn read_body(body: Incoming) -> Result<Bytes, Answer> {
    let read = Limited::new(body, MAX_CHAT_REQUEST_BYTES).collect();
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(Answer::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        )),
        _ => Err(invalid("request body could not be read")),
    }
}

fn invalid(message: impl Into<String>) -> Answer {
    Answer::error(StatusCode::BAD_REQUEST, message)
}

/// A model name as Ollama resolves it: without a tag it means `:latest`. The tag is what
/// follows the last `:` after the last `/` (a namespace may come first, `library/x:1b`).
fn with_tag(model: &str) -> String {
    let name = model.rsplit('/').next().unwrap_or(model);
    if name.contains(':') {
        model.to_owned()
    } else {
        format!("{model}:latest")
    }
}

async fn chat(shared: &Shared, body: Incoming, record: &mut OllamaRecord) -> Answer {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    if body.is_empty() {
        // Ollama's own words for a chat without a body.
        return invalid("missing request body");
    }
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&body) else {
        return invalid("the request body is not a JSON object");
    };
    record.stream = request.get("stream").and_then(Value::as_bool);
    let model = match request.get("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        _ => return invalid("model is required"),
    };
    record.model = Some(model.clone());
    // Ollama streams unless told not to; this double imitates only the single-answer form.
    if request.get("stream") != Some(&Value::Bool(false)) {
        return invalid("the Ollama double answers only \"stream\": false");
    }
    let prompt = match user_prompt(&request) {
        Ok(prompt) => prompt,
        Err(answer) => return answer,
    };
    let not_found = || Answer::error(StatusCode::NOT_FOUND, format!("model '{model}' not found"));
    if shared
        .take_fault(|fault| fault == OllamaFault::ModelNotFound)
        .is_some()
    {
        return not_found();
    }
    if !MODELS.contains(&with_tag(&model).as_str()) {
        return not_found();
    }
    let content = if prompt.is_empty() {
        REPLY_PREFIX.to_owned()
    } else {
        format!("{REPLY_PREFIX} {prompt}")
    };
    Answer::Json(
        StatusCode::OK,
        json!({
            "model": model,
            "created_at": TIMESTAMP,
            "message": { "role": "assistant", "content": content },
            "done_reason": "stop",
            "done": true,
            "total_duration": 1_000_000,
            "load_duration": 100_000,
            "prompt_eval_count": prompt.split_whitespace().count(),
            "prompt_eval_duration": 200_000,
            "eval_count": content.split_whitespace().count(),
            "eval_duration": 700_000,
        }),
    )
}

/// The content of the last user message. `messages` must be a non-empty list of objects with
/// a `role` Ollama knows (`system`, `user`, `assistant`, `tool`) and a string `content`, at
/// least one of them from the user.
fn user_prompt(request: &Map<String, Value>) -> Result<String, Answer> {
    let Some(messages) = request
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
    else {
        return Err(invalid("messages must be a non-empty list"));
    };
    let mut last_user = None;
    for (i, message) in messages.iter().enumerate() {
        let Some(content) = message.get("content").and_then(Value::as_str) else {
            return Err(invalid(format!("messages[{i}].content must be a string")));
        };
        match message.get("role").and_then(Value::as_str) {
            Some("user") => last_user = Some(content.to_owned()),
            Some("system" | "assistant" | "tool") => {}
            _ => {
                return Err(invalid(format!(
                    "messages[{i}].role must be system, user, assistant or tool"
                )));
            }
        }
    }
    last_user.ok_or_else(|| invalid("messages need a user message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_without_a_tag_means_latest() {
        let cases = [
            ("llama3.2", "llama3.2:latest"),
            ("llama3.2:latest", "llama3.2:latest"),
            ("gemma3:1b", "gemma3:1b"),
            ("library/gemma3", "library/gemma3:latest"),
            (
                "registry.local:5000/team/model",
                "registry.local:5000/team/model:latest",
            ),
        ];
        for (given, want) in cases {
            assert_eq!(with_tag(given), want, "{given}");
        }
    }

    #[test]
    fn the_prompt_is_the_last_user_message_and_malformed_messages_are_refused() {
        let request = |messages: Value| {
            json!({ "messages": messages })
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        let ok = request(json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "reply"},
            {"role": "user", "content": "second"},
        ]));
        assert_eq!(user_prompt(&ok).ok().as_deref(), Some("second"));
        for bad in [
            json!([]),
            json!("hi"),
            json!([{"role": "user"}]),
            json!([{"role": "user", "content": ["a"]}]),
            json!([{"role": "robot", "content": "x"}]),
            json!([{"role": "assistant", "content": "only me"}]),
        ] {
            assert!(user_prompt(&request(bad.clone())).is_err(), "{bad}");
        }
        assert!(user_prompt(&Map::new()).is_err());
    }
}
