//! The double's endpoints: one request in, one answer (or a dropped connection) out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION,
};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use url::{Host, Url};

use crate::body::{Body, full, oversized_json};
use crate::fault::{Endpoint, Fault};
use crate::html::{self, Consent};
use crate::state::{KEY_PREFIX, Refusal, RequestRecord, Shared, random_hex};

/// Largest request body the double reads; past it the answer is 413.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How much of an oversized request is read and thrown away before answering 413, so the
/// client (which is still sending) gets the answer rather than a reset from unread data.
const DRAIN_LIMIT: usize = 4 * 1024 * 1024;

const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

const CHALLENGE_METHOD: &str = "S256";

/// Sent when a request has no `Authorization: Bearer` header at all.
pub const NO_CREDENTIALS: &str = "No auth credentials found";
/// Sent when the bearer key is not one the double issued (or it was revoked).
pub const UNKNOWN_KEY: &str = "User not found.";

/// What to do with one request.
pub(crate) enum Reply {
    Respond(Response<Body>),
    /// Drop the connection without answering.
    Reset,
}

pub(crate) async fn handle(shared: &Shared, request: Request<Incoming>) -> Reply {
    let (parts, body) = request.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut record = RequestRecord {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        status: None,
        http_referer: header("http-referer"),
        x_title: header("x-title"),
    };
    let reply = match read_body(body).await {
        Ok(bytes) => route(shared, &parts.method, &parts.uri, &parts.headers, &bytes).await,
        Err(BodyError::TooLarge) => Reply::Respond(error_json(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("Request body larger than {MAX_REQUEST_BYTES} bytes"),
        )),
        Err(BodyError::Unreadable) => Reply::Respond(error_json(
            StatusCode::BAD_REQUEST,
            "Request body could not be read",
        )),
        Err(BodyError::Overwhelming) => Reply::Reset,
    };
    if let Reply::Respond(response) = &reply {
        record.status = Some(response.status().as_u16());
    }
    shared.record(record);
    reply
}

async fn route(
    shared: &Shared,
    method: &Method,
    uri: &hyper::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let path = uri.path();
    let response = match (method, path) {
        (&Method::GET, "/") => html_response(StatusCode::OK, html::INDEX_PAGE.to_owned()),
        (&Method::GET, "/auth") => consent(uri.query().unwrap_or("")),
        (&Method::POST, "/auth/approve") => approve(shared, body),
        (&Method::POST, "/auth/deny") => deny(shared, body),
        (&Method::POST, "/api/v1/auth/keys") => return exchange(shared, body).await,
        // `/auth/key` is the older spelling of the same lookup; OpenRouter still answers both.
        (&Method::GET, "/api/v1/key" | "/api/v1/auth/key") => {
            return key_info(shared, headers).await;
        }
        (&Method::POST, "/api/v1/chat/completions") => return chat(shared, headers, body).await,
        (
            _,
            "/"
            | "/auth"
            | "/auth/approve"
            | "/auth/deny"
            | "/api/v1/auth/keys"
            | "/api/v1/key"
            | "/api/v1/auth/key"
            | "/api/v1/chat/completions",
        ) => error_json(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
        _ => error_json(StatusCode::NOT_FOUND, "Not found"),
    };
    Reply::Respond(response)
}

// ---------------------------------------------------------------------------------------------
// Consent

fn consent(query: &str) -> Response<Body> {
    let params = first_values(query.as_bytes());
    match check_consent(&params) {
        Ok((_, consent)) => html_response(StatusCode::OK, html::consent_page(&consent)),
        Err(problem) => html_response(StatusCode::BAD_REQUEST, html::problem_page(&problem)),
    }
}

fn approve(shared: &Shared, body: &[u8]) -> Response<Body> {
    let params = first_values(body);
    let (mut target, consent) = match check_consent(&params) {
        Ok(checked) => checked,
        Err(problem) => {
            return html_response(StatusCode::BAD_REQUEST, html::problem_page(&problem));
        }
    };
    let code = shared.grant(consent.code_challenge, consent.code_challenge_method);
    target.query_pairs_mut().append_pair("code", &code);
    redirect(&target)
}

fn deny(shared: &Shared, body: &[u8]) -> Response<Body> {
    let params = first_values(body);
    let mut target = match check_callback(params.get("callback_url").map(String::as_str)) {
        Ok(target) => target,
        Err(problem) => {
            return html_response(StatusCode::BAD_REQUEST, html::problem_page(&problem));
        }
    };
    target
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair("error_description", &shared.deny_description());
    redirect(&target)
}

/// Validates what the consent page and its approve form carry. Stricter than OpenRouter, which
/// also takes `plain` or no challenge at all: plugboard always sends S256, so anything else
/// reaching the double is a plugboard bug worth failing loudly on.
fn check_consent(params: &HashMap<String, String>) -> Result<(Url, Consent<'_>), String> {
    let callback_url = params
        .get("callback_url")
        .map(String::as_str)
        .unwrap_or_default();
    let callback = check_callback(Some(callback_url))?;
    let code_challenge = params
        .get("code_challenge")
        .map(String::as_str)
        .unwrap_or_default();
    if code_challenge.is_empty() {
        return Err("code_challenge is required".to_owned());
    }
    let code_challenge_method = params
        .get("code_challenge_method")
        .map(String::as_str)
        .unwrap_or_default();
    if code_challenge_method != CHALLENGE_METHOD {
        return Err(format!(
            "code_challenge_method must be {CHALLENGE_METHOD}, got {code_challenge_method:?}"
        ));
    }
    // An S256 challenge is base64url (no padding) of 32 bytes: exactly 43 characters.
    let well_formed = code_challenge.len() == 43
        && code_challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err("code_challenge is not a base64url SHA-256 digest".to_owned());
    }
    Ok((
        callback,
        Consent {
            callback_url,
            code_challenge,
            code_challenge_method,
        },
    ))
}

fn check_callback(callback_url: Option<&str>) -> Result<Url, String> {
    let raw = callback_url.unwrap_or_default();
    if raw.is_empty() {
        return Err("callback_url is required".to_owned());
    }
    let url = Url::parse(raw).map_err(|e| format!("callback_url is not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("callback_url must be http or https".to_owned());
    }
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    if !loopback {
        return Err("callback_url must point at localhost or a loopback address".to_owned());
    }
    Ok(url)
}

// ---------------------------------------------------------------------------------------------
// API

#[derive(Deserialize)]
struct ExchangeRequest {
    code: Option<String>,
    code_verifier: Option<String>,
    code_challenge_method: Option<String>,
}

async fn exchange(shared: &Shared, body: &[u8]) -> Reply {
    match apply_fault(shared, Endpoint::Exchange).await {
        Some(Fault::MissingKey) => {
            return ok_json(&json!({ "user_id": shared.user_id() }));
        }
        Some(Fault::EmptyKey) => {
            return ok_json(&json!({ "key": "", "user_id": shared.user_id() }));
        }
        Some(Fault::ReusedCode) => return refuse(Refusal::UnknownCode),
        Some(Fault::Oversized) => {
            let prefix = format!(
                r#"{{"key":"{KEY_PREFIX}{}","user_id":"{}","#,
                random_hex(32),
                shared.user_id()
            );
            return oversized(prefix);
        }
        Some(fault) => return generic_fault(fault),
        None => {}
    }
    let Ok(request) = serde_json::from_slice::<ExchangeRequest>(body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid JSON body");
    };
    let Some(code) = request.code.filter(|code| !code.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "Missing code");
    };
    match shared.redeem(
        &code,
        request.code_verifier.as_deref(),
        request.code_challenge_method.as_deref(),
    ) {
        Ok(minted) => ok_json(&json!({ "key": minted.key, "user_id": minted.user_id })),
        Err(refusal) => refuse(refusal),
    }
}

fn refuse(refusal: Refusal) -> Reply {
    let (status, message) = match refusal {
        Refusal::UnknownCode => (StatusCode::FORBIDDEN, "Invalid code or code already used"),
        Refusal::MissingVerifier => (StatusCode::BAD_REQUEST, "Missing code_verifier"),
        Refusal::MethodMismatch => (
            StatusCode::BAD_REQUEST,
            "code_challenge_method does not match the authorization request",
        ),
        Refusal::VerifierMismatch => (
            StatusCode::BAD_REQUEST,
            "Invalid code_verifier: it does not match the code_challenge",
        ),
    };
    error(status, message)
}

async fn key_info(shared: &Shared, headers: &HeaderMap) -> Reply {
    match apply_fault(shared, Endpoint::KeyInfo).await {
        Some(Fault::MissingKey) => return ok_json(&json!({})),
        Some(Fault::EmptyKey) => return ok_json(&key_data("")),
        Some(Fault::ReusedCode) => return error(StatusCode::UNAUTHORIZED, UNKNOWN_KEY),
        Some(Fault::Oversized) => return oversized(r#"{"data":{"label":"sk-or-v1-...","#.into()),
        Some(fault) => return generic_fault(fault),
        None => {}
    }
    match authorize(shared, headers) {
        Ok(key) => ok_json(&key_data(&label(&key))),
        Err(message) => error(StatusCode::UNAUTHORIZED, message),
    }
}

fn key_data(label: &str) -> Value {
    json!({
        "data": {
            "label": label,
            "usage": 0,
            "limit": null,
            "is_free_tier": true,
        }
    })
}

/// A key as OpenRouter labels it: the vendor prefix and the last four characters.
fn label(key: &str) -> String {
    let tail = key
        .char_indices()
        .rev()
        .nth(3)
        .map_or(key, |(at, _)| &key[at..]);
    format!("{KEY_PREFIX}...{tail}")
}

async fn chat(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Reply {
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

/// The bearer key, if it is one the double issued; otherwise the message of the 401 to send.
fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<String, &'static str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .filter(|key| !key.is_empty());
    let Some(key) = bearer else {
        return Err(NO_CREDENTIALS);
    };
    if shared.key_is_valid(key) {
        Ok(key.to_owned())
    } else {
        Err(UNKNOWN_KEY)
    }
}

// ---------------------------------------------------------------------------------------------
// Faults

/// Takes the endpoint's fault, waiting out `Slow` here so callers only see the others.
async fn apply_fault(shared: &Shared, endpoint: Endpoint) -> Option<Fault> {
    match shared.take_fault(endpoint)? {
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        fault => Some(fault),
    }
}

/// The answer for faults that look the same on every endpoint.
fn generic_fault(fault: Fault) -> Reply {
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Error");
            error(
                status,
                &format!("{reason} (injected by the OpenRouter double)"),
            )
        }
        Fault::ServiceUnavailableOnce => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable (injected by the OpenRouter double)",
        ),
        Fault::NotJson => Reply::Respond(html_response(
            StatusCode::OK,
            html::NOT_JSON_PAGE.to_owned(),
        )),
        Fault::ConnectionReset => Reply::Reset,
        // Endpoint-specific faults are answered by the endpoint; reaching here means an
        // endpoint forgot one, and a 500 makes that visible.
        Fault::Slow(_)
        | Fault::Oversized
        | Fault::MissingKey
        | Fault::EmptyKey
        | Fault::ReusedCode => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("fault {fault} is not handled here"),
        ),
    }
}

fn oversized(prefix: String) -> Reply {
    let mut response = Response::new(oversized_json(prefix));
    set_header(&mut response, CONTENT_TYPE, "application/json");
    Reply::Respond(response)
}

// ---------------------------------------------------------------------------------------------
// Plumbing

enum BodyError {
    TooLarge,
    Unreadable,
    /// Too large even to drain; the connection is dropped.
    Overwhelming,
}

async fn read_body(mut body: Incoming) -> Result<Bytes, BodyError> {
    let read = async {
        let mut kept = Vec::new();
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| BodyError::Unreadable)?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            seen += data.len();
            if seen > DRAIN_LIMIT {
                return Err(BodyError::Overwhelming);
            }
            if seen <= MAX_REQUEST_BYTES {
                kept.extend_from_slice(&data);
            }
        }
        if seen > MAX_REQUEST_BYTES {
            Err(BodyError::TooLarge)
        } else {
            Ok(Bytes::from(kept))
        }
    };
    tokio::time::timeout(BODY_READ_TIMEOUT, read)
        .await
        .unwrap_or(Err(BodyError::Unreadable))
}

/// The first value of each form or query field.
fn first_values(encoded: &[u8]) -> HashMap<String, String> {
    let mut values = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(encoded) {
        values
            .entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    values
}

fn redirect(target: &Url) -> Response<Body> {
    let mut response = Response::new(full(format!(
        "<!doctype html><p>Continue to <a href=\"{0}\">{0}</a></p>\n",
        html::escape(target.as_str())
    )));
    *response.status_mut() = StatusCode::FOUND;
    set_header(&mut response, CONTENT_TYPE, "text/html; charset=utf-8");
    set_header(&mut response, CACHE_CONTROL, "no-store");
    set_header(&mut response, LOCATION, target.as_str());
    response
}

fn html_response(status: StatusCode, page: String) -> Response<Body> {
    let mut response = Response::new(full(page));
    *response.status_mut() = status;
    set_header(&mut response, CONTENT_TYPE, "text/html; charset=utf-8");
    set_header(&mut response, CACHE_CONTROL, "no-store");
    // The consent page must not be framed: that is how clickjacking would press Authorize.
    set_header(
        &mut response,
        HeaderName::from_static("x-frame-options"),
        "DENY",
    );
    response
}

fn ok_json(value: &Value) -> Reply {
    Reply::Respond(json_response(StatusCode::OK, value))
}

fn error(status: StatusCode, message: &str) -> Reply {
    Reply::Respond(error_json(status, message))
}

/// OpenRouter's error shape: `{"error":{"code":<status>,"message":"..."}}`.
fn error_json(status: StatusCode, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({ "error": { "code": status.as_u16(), "message": message } }),
    )
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(full(value.to_string()));
    *response.status_mut() = status;
    set_header(&mut response, CONTENT_TYPE, "application/json");
    set_header(&mut response, CACHE_CONTROL, "no-store");
    response
}

/// Sets a header, dropping it if the value is not a valid header value: only a callback URL
/// could be, and `Url` never serialises control characters.
fn set_header(response: &mut Response<Body>, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_exactly_yields_the_trimmed_rest_of_the_prompt() {
        assert_eq!(reply_to("Please. Reply exactly:  pong \n"), "pong");
        assert_eq!(reply_to("hello"), "double reply to: hello");
    }

    #[test]
    fn a_label_keeps_the_prefix_and_the_last_four_characters() {
        assert_eq!(label("sk-or-v1-0123456789abcdef"), "sk-or-v1-...cdef");
        assert_eq!(label("ab"), "sk-or-v1-...ab");
    }

    #[test]
    fn callbacks_must_be_absolute_http_on_loopback() {
        for good in [
            "http://localhost:3000/cb?state=x",
            "http://127.0.0.1:1/cb",
            "http://[::1]:8/cb",
            "https://LOCALHOST/cb",
        ] {
            assert!(check_callback(Some(good)).is_ok(), "{good} refused");
        }
        for bad in [
            "",
            "/relative",
            "http://example.com/cb",
            "http://localhost.example.com/cb",
            "http://10.0.0.1/cb",
            "ftp://localhost/cb",
            "file:///etc/passwd",
        ] {
            assert!(check_callback(Some(bad)).is_err(), "{bad} accepted");
        }
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
