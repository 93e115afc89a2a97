//! The Anthropic double's endpoints, `POST /v1/messages` and `GET /v1/models`, answered the way
//! Anthropic's API reference and errors page describe: the key in `x-api-key`, the version in
//! `anthropic-version`, a `request-id` header on every answer, errors as
//! `{"type":"error","error":{"type":...,"message":...},"request_id":...}`, and the model list
//! in pages (`limit`, `after_id`, `before_id`; `has_more`, `first_id`, `last_id`).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::body::{Body, cut, full};
use super::state::{AnthropicFault, AnthropicRecord, Shared, random_hex};
use crate::body::response;

/// The only `anthropic-version` the double accepts: the one Anthropic documents for the
/// Messages API.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The first text block of every reply; the second echoes the prompt.
pub const REPLY_PREFIX: &str = "anthropic-ok";
/// Sent (401) when a request has no `x-api-key` header.
pub const MISSING_KEY: &str = "x-api-key header is required";
/// Sent (401) when the key is not one the double issued, or was revoked.
pub const INVALID_KEY: &str = "invalid x-api-key";
/// Largest request body the double reads; past it the answer is 413 `request_too_large`
/// (Anthropic's own limit is 32 MB; a prompt for a test never needs more than this).
pub const MAX_MESSAGES_REQUEST_BYTES: usize = 1024 * 1024;
/// The models the double knows: `GET /v1/models` lists them, and a message for any other
/// model is answered 404 `not_found_error`.
pub const MODELS: [(&str, &str); 3] = [
    ("claude-sonnet-5-5", "Claude Sonnet 5.5"),
    ("claude-sonnet-5", "Claude Sonnet 5"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5"),
];

const MESSAGES: &str = "/v1/messages";
const MODELS_PATH: &str = "/v1/models";
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Models per page of `GET /v1/models` when the request names no `limit`, and the most it may
/// name, as Anthropic's Models API reference gives them.
const MODELS_DEFAULT_LIMIT: usize = 20;
/// See [`MODELS_DEFAULT_LIMIT`].
const MODELS_MAX_LIMIT: usize = 1000;
/// Model aliases Anthropic resolves to a dated id.
const ALIASES: [&str; 1] = ["claude-haiku-4-5"];

/// Answers one request, with a fresh `request-id`, and records it in the request log.
pub(super) async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let request_id = format!("req_{}", random_hex(12));
    let mut record = AnthropicRecord {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        status: 0,
        key_tail: header(&parts.headers, "x-api-key").map(|k| {
            let chars: Vec<char> = k.chars().collect();
            chars[chars.len().saturating_sub(4)..].iter().collect()
        }),
        anthropic_version: header(&parts.headers, "anthropic-version"),
        model: None,
    };
    let query = parts.uri.query().unwrap_or("");
    let answer = route(
        shared,
        &parts.method,
        &parts.headers,
        query,
        body,
        &mut record,
    )
    .await;
    let response = answer.into_response(&request_id);
    record.status = response.status().as_u16();
    shared.journal.record(record);
    response
}

/// An answer before the `request-id` is attached.
enum Answer {
    Json(StatusCode, Value),
    Error {
        status: StatusCode,
        kind: &'static str,
        message: String,
        retry_after: Option<u64>,
    },
    /// A success body of which only the first half is sent.
    Cut(Value),
}

impl Answer {
    fn error(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self::Error {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    fn into_response(self, request_id: &str) -> Response<Body> {
        let (status, body, retry_after) = match self {
            Self::Json(status, value) => (status, full(value.to_string()), None),
            Self::Error {
                status,
                kind,
                message,
                retry_after,
            } => {
                let value = json!({
                    "type": "error",
                    "error": { "type": kind, "message": message },
                    "request_id": request_id,
                });
                (status, full(value.to_string()), retry_after)
            }
            Self::Cut(value) => (StatusCode::OK, cut(Bytes::from(value.to_string())), None),
        };
        let mut response = response(status, "application/json", body);
        let headers = response.headers_mut();
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert(HeaderName::from_static("request-id"), id);
        }
        if let Some(seconds) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

async fn route(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    query: &str,
    body: Incoming,
    record: &mut AnthropicRecord,
) -> Answer {
    let path = record.path.as_str();
    match (method, path) {
        (&Method::POST, MESSAGES) | (&Method::GET, MODELS_PATH) => {}
        (_, MESSAGES | MODELS_PATH) => {
            return Answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                format!("Method {method} not allowed for {path}"),
            );
        }
        _ => return Answer::error(StatusCode::NOT_FOUND, "not_found_error", "Not found"),
    }
    let mut cut_body = false;
    match shared.journal.take_fault(|_| true) {
        Some(AnthropicFault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(AnthropicFault::RejectEveryKey) => {
            return Answer::error(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                INVALID_KEY,
            );
        }
        Some(AnthropicFault::RateLimited { retry_after_secs }) => {
            return Answer::Error {
                status: StatusCode::TOO_MANY_REQUESTS,
                kind: "rate_limit_error",
                message: "Number of requests has exceeded your per-minute rate limit (injected by the Anthropic double)".to_owned(),
                retry_after: Some(retry_after_secs),
            };
        }
        Some(AnthropicFault::Overloaded) => {
            return Answer::error(overloaded(), "overloaded_error", "Overloaded");
        }
        Some(AnthropicFault::ServerError) => {
            return Answer::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "api_error",
                "Internal server error (injected by the Anthropic double)",
            );
        }
        Some(AnthropicFault::CutBody) => cut_body = true,
        None => {}
    }
    let answer = if path == MESSAGES {
        messages(shared, headers, body, record).await
    } else {
        models(shared, headers, query)
    };
    match answer {
        Answer::Json(StatusCode::OK, value) if cut_body => Answer::Cut(value),
        other => other,
    }
}

/// 529, which Anthropic uses for "overloaded" and `http` has no name for.
fn overloaded() -> StatusCode {
    StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The key and version checks every endpoint makes, in that order.
fn check_headers(shared: &Shared, headers: &HeaderMap) -> Result<(), Answer> {
    let key = header(headers, "x-api-key").ok_or_else(|| {
        Answer::error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            MISSING_KEY,
        )
    })?;
    if !shared.key_is_valid(&key) {
        return Err(Answer::error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            INVALID_KEY,
        ));
    }
    match header(headers, "anthropic-version") {
        None => Err(Answer::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "anthropic-version: header is required",
        )),
        Some(version) if version != ANTHROPIC_VERSION => Err(Answer::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            format!("anthropic-version: the double knows only {ANTHROPIC_VERSION}"),
        )),
        Some(_) => Ok(()),
    }
}

async fn read_body(body: Incoming) -> Result<Bytes, Answer> {
    let read = Limited::new(body, MAX_MESSAGES_REQUEST_BYTES).collect();
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(Answer::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        )),
        _ => Err(Answer::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Request body could not be read",
        )),
    }
}

fn invalid(message: impl Into<String>) -> Answer {
    Answer::error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

async fn messages(
    shared: &Shared,
    headers: &HeaderMap,
    body: Incoming,
    record: &mut AnthropicRecord,
) -> Answer {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    if let Err(answer) = check_headers(shared, headers) {
        return answer;
    }
    let is_json = header(headers, "content-type").is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return invalid("content-type: must be application/json");
    }
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&body) else {
        return invalid("The request body is not valid JSON.");
    };
    let model = match request.get("model") {
        None => return invalid("model: Field required"),
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        Some(_) => return invalid("model: Input should be a non-empty string"),
    };
    record.model = Some(model.clone());
    let max_tokens = match request.get("max_tokens") {
        None => return invalid("max_tokens: Field required"),
        Some(value) => match value.as_u64().filter(|n| *n >= 1) {
            Some(n) => n,
            None => return invalid("max_tokens: Input should be greater than or equal to 1"),
        },
    };
    let Some(messages) = request.get("messages") else {
        return invalid("messages: Field required");
    };
    let prompt = match user_prompt(messages) {
        Ok(prompt) => prompt,
        Err(answer) => return answer,
    };
    if !MODELS.iter().any(|(id, _)| *id == model) && !ALIASES.contains(&model.as_str()) {
        return Answer::error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            format!("model: {model}"),
        );
    }
    let (content, stop_reason, output_tokens) = reply_blocks(&prompt, max_tokens);
    Answer::Json(
        StatusCode::OK,
        json!({
            "id": format!("msg_{}", random_hex(12)),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": null,
            "usage": {
                "input_tokens": prompt.split_whitespace().count(),
                "output_tokens": output_tokens,
            },
        }),
    )
}

/// The text of the last user message; `messages` must be a non-empty list of user and
/// assistant turns whose content is a string or a list of blocks.
fn user_prompt(messages: &Value) -> Result<String, Answer> {
    let Some(messages) = messages.as_array().filter(|m| !m.is_empty()) else {
        return Err(invalid("messages: at least one message is required"));
    };
    let mut last_user = None;
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str);
        let text = match message.get("content") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(blocks)) => blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => return Err(invalid(format!("messages.{i}.content: Field required"))),
        };
        match role {
            Some("user") => last_user = Some(text),
            Some("assistant") => {}
            _ => {
                return Err(invalid(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant'"
                )));
            }
        }
    }
    last_user.ok_or_else(|| invalid("messages: a user message is required"))
}

/// Two text blocks, [`REPLY_PREFIX`] and the prompt's words after a space, cut (with
/// `stop_reason` `max_tokens`) when there are more words than `max_tokens`: one word counts as
/// one token here.
fn reply_blocks(prompt: &str, max_tokens: u64) -> (Value, &'static str, usize) {
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let room = usize::try_from(max_tokens.saturating_sub(1)).unwrap_or(usize::MAX);
    let kept = &words[..words.len().min(room)];
    let stop_reason = if kept.len() < words.len() {
        "max_tokens"
    } else {
        "end_turn"
    };
    let mut content = vec![json!({"type": "text", "text": REPLY_PREFIX})];
    if !kept.is_empty() {
        content.push(json!({"type": "text", "text": format!(" {}", kept.join(" "))}));
    }
    (Value::Array(content), stop_reason, 1 + kept.len())
}

fn models(shared: &Shared, headers: &HeaderMap, query: &str) -> Answer {
    if let Err(answer) = check_headers(shared, headers) {
        return answer;
    }
    let page = match models_page(query) {
        Ok(page) => page,
        Err(message) => return invalid(message),
    };
    let data: Vec<Value> = page
        .iter()
        .map(|(id, name)| {
            json!({
                "type": "model",
                "id": id,
                "display_name": name,
                "created_at": "2026-01-01T00:00:00Z",
            })
        })
        .collect();
    let has_more = match (page.first(), page.last()) {
        (Some((first, _)), Some((last, _))) => {
            let at = |id: &str| MODELS.iter().position(|(m, _)| *m == id);
            // Paging backwards (`before_id`), "more" lies before the page; otherwise after it.
            if query_value(query, "before_id").is_some() {
                at(first).is_some_and(|i| i > 0)
            } else {
                at(last).is_some_and(|i| i + 1 < MODELS.len())
            }
        }
        _ => false,
    };
    Answer::Json(
        StatusCode::OK,
        json!({
            "data": data,
            "has_more": has_more,
            "first_id": page.first().map(|(id, _)| id),
            "last_id": page.last().map(|(id, _)| id),
        }),
    )
}

/// The models one page holds: up to `limit` of them, after `after_id` or before `before_id`
/// (most recent first, as Anthropic lists them), or why the query cannot be answered.
fn models_page(query: &str) -> Result<&'static [(&'static str, &'static str)], String> {
    let limit = match query_value(query, "limit") {
        None => MODELS_DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MODELS_MAX_LIMIT).contains(n))
            .ok_or_else(|| format!("limit: Input should be between 1 and {MODELS_MAX_LIMIT}"))?,
    };
    let position = |name: &str, id: String| {
        MODELS
            .iter()
            .position(|(m, _)| *m == id)
            .ok_or_else(|| format!("{name}: no model with id {id}"))
    };
    match (
        query_value(query, "after_id"),
        query_value(query, "before_id"),
    ) {
        (Some(_), Some(_)) => Err("after_id and before_id cannot both be given".to_owned()),
        (Some(after), None) => {
            let start = position("after_id", after)? + 1;
            Ok(&MODELS[start..MODELS.len().min(start + limit)])
        }
        (None, Some(before)) => {
            let end = position("before_id", before)?;
            Ok(&MODELS[end.saturating_sub(limit)..end])
        }
        (None, None) => Ok(&MODELS[..MODELS.len().min(limit)]),
    }
}

/// The value of the first `name=` in a query, decoded.
fn query_value(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_reply_is_the_prefix_and_the_prompt_cut_at_max_tokens() {
        let text = |content: &Value| -> String {
            content
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["text"].as_str().unwrap())
                .collect()
        };
        let cases = [
            (
                "say  hi there",
                1024,
                "anthropic-ok say hi there",
                "end_turn",
                4,
            ),
            ("say hi there", 3, "anthropic-ok say hi", "max_tokens", 3),
            ("say hi", 1, "anthropic-ok", "max_tokens", 1),
            ("", 5, "anthropic-ok", "end_turn", 1),
        ];
        for (prompt, max, want, stop, tokens) in cases {
            let (content, stop_reason, output) = reply_blocks(prompt, max);
            assert_eq!(
                (text(&content).as_str(), stop_reason, output),
                (want, stop, tokens)
            );
        }
    }

    #[test]
    fn a_models_page_follows_limit_and_the_cursors() {
        let ids = |query: &str| -> Result<Vec<&str>, String> {
            models_page(query).map(|page| page.iter().map(|(id, _)| *id).collect())
        };
        let all: Vec<&str> = MODELS.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids(""), Ok(all.clone()));
        assert_eq!(ids("limit=1000"), Ok(all.clone()));
        assert_eq!(ids("limit=1"), Ok(vec![all[0]]));
        assert_eq!(
            ids(&format!("limit=1&after_id={}", all[0])),
            Ok(vec![all[1]])
        );
        assert_eq!(ids(&format!("after_id={}", all[0])), Ok(all[1..].to_vec()));
        assert_eq!(ids(&format!("after_id={}", all[all.len() - 1])), Ok(vec![]));
        assert_eq!(
            ids(&format!("limit=1&before_id={}", all[2])),
            Ok(vec![all[1]])
        );
        assert_eq!(ids(&format!("before_id={}", all[0])), Ok(vec![]));
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=ten",
            "after_id=claude-nope",
            "before_id=claude-nope",
            "after_id=claude-sonnet-5&before_id=claude-sonnet-5",
        ] {
            assert!(models_page(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_prompt_is_the_last_user_turn_and_malformed_turns_are_refused() {
        let ok = json!([
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "reply"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}]},
        ]);
        assert_eq!(user_prompt(&ok).ok().as_deref(), Some("a\nb"));
        for bad in [
            json!([]),
            json!("hi"),
            json!([{"role": "system", "content": "x"}]),
            json!([{"role": "user"}]),
            json!([{"role": "assistant", "content": "only me"}]),
        ] {
            assert!(user_prompt(&bad).is_err(), "{bad}");
        }
    }
}
