//! Chat completions (`POST /api/v1/chat/completions`): deterministic replies in OpenRouter's
//! shape, so tests can assert exact output.

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::StatusCode;
use hyper::header::HeaderMap;
use serde_json::{Value, json};

use super::Reply;
use super::faults::{apply_fault, generic_fault, oversized};
use super::keys::{UNKNOWN_KEY, authorize};
use super::response::{error, ok_json};
use crate::fault::{Endpoint, Fault};
use crate::state::{Shared, random_hex};

pub(super) async fn completions(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Reply {
    let fault = apply_fault(shared, Endpoint::Chat).await;
    match fault {
        Some(Fault::ReusedCode) => return error(StatusCode::UNAUTHORIZED, UNKNOWN_KEY),
        Some(Fault::Oversized) => {
            return oversized(r#"{"id":"gen-oversized","object":"chat.completion","#.into());
        }
        Some(Fault::MissingKey | Fault::EmptyKey) | None => {}
        Some(fault) => return generic_fault(fault),
    }
    if let Err(message) = authorize(shared, headers) {
        return error(StatusCode::UNAUTHORIZED, message);
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid JSON body");
    };
    let Some(model) = request
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    else {
        return error(StatusCode::BAD_REQUEST, "Missing model");
    };
    let Some(messages) = request
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
    else {
        return error(StatusCode::BAD_REQUEST, "Missing messages");
    };
    let prompt = last_user_text(messages);
    let reply = if fault == Some(Fault::EmptyKey) {
        String::new()
    } else {
        reply_to(&prompt)
    };
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let id = format!("gen-{created}-{}", random_hex(10));
    let prompt_tokens = prompt.split_whitespace().count();
    let completion_tokens = reply.split_whitespace().count();
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    });
    if fault == Some(Fault::MissingKey) {
        return ok_json(&json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "usage": usage,
        }));
    }
    let mut message = json!({ "role": "assistant", "content": reply });
    let images = shared.chat_images();
    if !images.is_empty() {
        message["images"] = images
            .iter()
            .map(|url| json!({"type": "image_url", "image_url": {"url": url}}))
            .collect();
    }
    ok_json(&json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": "stop",
        }],
        "usage": usage,
    }))
}

/// The text of the last user message; content may be a string or a list of typed parts.
fn last_user_text(messages: &[Value]) -> String {
    let Some(message) = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return String::new();
    };
    match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Deterministic replies, so tests can assert exact output: `Reply exactly: X` yields `X`.
fn reply_to(prompt: &str) -> String {
    const MARKER: &str = "Reply exactly:";
    match prompt.find(MARKER) {
        Some(at) => prompt[at + MARKER.len()..].trim().to_owned(),
        None => format!("double reply to: {prompt}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{last_user_text, reply_to};

    #[test]
    fn reply_exactly_yields_the_trimmed_rest_of_the_prompt() {
        assert_eq!(reply_to("Please. Reply exactly:  pong \n"), "pong");
        assert_eq!(reply_to("hello"), "double reply to: hello");
    }

    #[test]
    fn user_text_is_found_in_string_or_part_content() {
        let messages = [
            json!({"role": "user", "content": "first"}),
            json!({"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}),
            json!({"role": "assistant", "content": "ignored"}),
        ];
        assert_eq!(last_user_text(&messages), "a\nb");
    }
}
