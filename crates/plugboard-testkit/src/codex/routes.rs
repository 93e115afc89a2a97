//! The Codex double's endpoints: the authorize page and its forms, the token endpoint (code
//! exchange and refresh), and the Responses stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::header::HeaderMap;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use url::Url;

use super::fault::{CodexEndpoint, CodexFault};
use super::pages;
use super::state::{AccessCheck, Grant, GrantRefusal, Shared, now_secs};
use super::{
    CODEX_REDIRECT_PORTS, CODEX_REPLY, CodexRequestRecord, IssuedTokens, RefreshErrorStyle,
};
use crate::body::{Body, full};
use crate::server::Reply;
use crate::state::random_hex;

/// Largest request body the Codex double reads; past it the answer is 413.
const MAX_BODY_BYTES: usize = 256 * 1024;

const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

const RESPONSES_PATH: &str = "/backend-api/codex/responses";

/// Answers one request (or asks for a reset), and records it in the request log.
pub(super) async fn handle(shared: &Shared, request: Request<Incoming>) -> Reply {
    let (parts, body) = request.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut record = CodexRequestRecord {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        status: None,
        content_type: header("content-type"),
        grant_type: None,
        authorization: parts.headers.contains_key("authorization"),
        chatgpt_account_id: header("chatgpt-account-id"),
    };
    let read = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        Limited::new(body, MAX_BODY_BYTES).collect(),
    );
    let reply = match read.await {
        Ok(Ok(collected)) => {
            let bytes = collected.to_bytes();
            route(
                shared,
                &parts.method,
                &parts.uri,
                &parts.headers,
                &bytes,
                &mut record,
            )
            .await
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Reply::Respond(detail(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("Request body larger than {MAX_BODY_BYTES} bytes"),
        )),
        _ => Reply::Respond(detail(
            StatusCode::BAD_REQUEST,
            "Request body could not be read",
        )),
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
    record: &mut CodexRequestRecord,
) -> Reply {
    let response = match (method, uri.path()) {
        (&Method::GET, "/") => html(StatusCode::OK, pages::INDEX_PAGE.to_owned()),
        (&Method::GET, "/oauth/authorize") => authorize_page(shared, uri.query().unwrap_or("")),
        (&Method::POST, "/oauth/authorize/approve") => approve(shared, body),
        (&Method::POST, "/oauth/authorize/deny") => deny(shared, body),
        (&Method::POST, "/oauth/token") => return token(shared, headers, body, record).await,
        (&Method::POST, RESPONSES_PATH) => return responses(shared, headers, body).await,
        (
            _,
            "/"
            | "/oauth/authorize"
            | "/oauth/authorize/approve"
            | "/oauth/authorize/deny"
            | "/oauth/token"
            | RESPONSES_PATH,
        ) => detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
        _ => detail(StatusCode::NOT_FOUND, "Not Found"),
    };
    Reply::Respond(response)
}

// ---------------------------------------------------------------------------------------------
// Authorize

/// A checked authorization request.
struct Authorization {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    state: String,
}

const AUTHORIZE_FIELDS: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "state",
];

fn authorize_page(shared: &Shared, query: &str) -> Response<Body> {
    let params = first_values(query.as_bytes());
    match check_authorization(shared, &params) {
        Ok(auth) => {
            let carried: Vec<(&str, &str)> = AUTHORIZE_FIELDS
                .iter()
                .filter_map(|name| params.get(*name).map(|value| (*name, value.as_str())))
                .collect();
            let page = pages::consent_page(&carried, &auth.redirect_uri, &shared.account().email);
            html(StatusCode::OK, page)
        }
        Err(problem) => html(StatusCode::BAD_REQUEST, pages::problem_page(&problem)),
    }
}

fn approve(shared: &Shared, body: &[u8]) -> Response<Body> {
    let params = first_values(body);
    let auth = match check_authorization(shared, &params) {
        Ok(auth) => auth,
        Err(problem) => return html(StatusCode::BAD_REQUEST, pages::problem_page(&problem)),
    };
    let code = shared.grant(Grant {
        client_id: auth.client_id,
        redirect_uri: auth.redirect_uri.clone(),
        code_challenge: auth.code_challenge,
        spent: false,
    });
    redirect_with(
        &auth.redirect_uri,
        &[("code", &code), ("state", &auth.state)],
    )
}

fn deny(shared: &Shared, body: &[u8]) -> Response<Body> {
    let params = first_values(body);
    // Only a checked request may be redirected to: an unchecked redirect_uri is an open
    // redirector.
    let auth = match check_authorization(shared, &params) {
        Ok(auth) => auth,
        Err(problem) => return html(StatusCode::BAD_REQUEST, pages::problem_page(&problem)),
    };
    let description = shared.settings().deny_description;
    redirect_with(
        &auth.redirect_uri,
        &[
            ("error", "access_denied"),
            ("error_description", &description),
            ("state", &auth.state),
        ],
    )
}

fn check_authorization(
    shared: &Shared,
    params: &HashMap<String, String>,
) -> Result<Authorization, String> {
    let settings = shared.settings();
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    if get("response_type") != "code" {
        return Err(format!(
            "response_type must be code, got {:?}",
            get("response_type")
        ));
    }
    if get("client_id") != settings.client_id {
        return Err(format!("Unknown client_id {:?}", get("client_id")));
    }
    let redirect_uri = get("redirect_uri");
    check_redirect_uri(redirect_uri, settings.any_redirect_port)?;
    let scopes: Vec<&str> = get("scope").split(' ').collect();
    for needed in ["openid", "offline_access"] {
        if !scopes.contains(&needed) {
            return Err(format!("scope must include {needed}"));
        }
    }
    if get("code_challenge_method") != "S256" {
        return Err(format!(
            "code_challenge_method must be S256, got {:?}",
            get("code_challenge_method")
        ));
    }
    let challenge = get("code_challenge");
    // An S256 challenge is base64url (no padding) of 32 bytes: exactly 43 characters.
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err("code_challenge is not a base64url SHA-256 digest".to_owned());
    }
    let state = get("state");
    if state.is_empty() {
        return Err("state is required".to_owned());
    }
    Ok(Authorization {
        client_id: settings.client_id,
        redirect_uri: redirect_uri.to_owned(),
        code_challenge: challenge.to_owned(),
        state: state.to_owned(),
    })
}

/// Codex CLI registers exactly `http://localhost:<port>/auth/callback`, on ports 1455 and
/// 1457; the double holds to that unless told to accept any port.
fn check_redirect_uri(raw: &str, any_port: bool) -> Result<(), String> {
    if raw.is_empty() {
        return Err("redirect_uri is required".to_owned());
    }
    let url = Url::parse(raw).map_err(|e| format!("redirect_uri is not an absolute URL: {e}"))?;
    let registered = url.scheme() == "http"
        && url.host_str() == Some("localhost")
        && url.path() == "/auth/callback"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !registered {
        return Err(format!(
            "redirect_uri {raw:?} is not registered: it must be http://localhost:<port>/auth/callback"
        ));
    }
    match url.port() {
        Some(port) if any_port || CODEX_REDIRECT_PORTS.contains(&port) => Ok(()),
        _ => Err(format!(
            "redirect_uri {raw:?} is not registered: its port must be 1455 or 1457"
        )),
    }
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response<Body> {
    let Ok(mut target) = Url::parse(redirect_uri) else {
        // Checked before; a failure here is a double bug, shown rather than hidden.
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::problem_page("redirect_uri stopped parsing"),
        );
    };
    target.query_pairs_mut().extend_pairs(pairs);
    let mut response = Response::new(full(format!(
        "<!doctype html><p>Continue to <a href=\"{0}\">{0}</a></p>\n",
        crate::html::escape(target.as_str())
    )));
    *response.status_mut() = StatusCode::FOUND;
    set_header(&mut response, "content-type", "text/html; charset=utf-8");
    set_header(&mut response, "cache-control", "no-store");
    set_header(&mut response, "location", target.as_str());
    response
}

// ---------------------------------------------------------------------------------------------
// Token endpoint

async fn token(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    record: &mut CodexRequestRecord,
) -> Reply {
    // codex-rs sends the code exchange form-encoded and the refresh as JSON; the service takes
    // both, and so does the double.
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let params = if is_json {
        match serde_json::from_slice::<Map<String, Value>>(body) {
            Ok(map) => map
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect(),
            Err(_) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The request body is not a JSON object",
                );
            }
        }
    } else {
        first_values(body)
    };
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let grant_type = get("grant_type");
    record.grant_type = Some(grant_type.to_owned()).filter(|g| !g.is_empty());
    let endpoint = match grant_type {
        "authorization_code" => {
            shared.count_code_exchange();
            CodexEndpoint::Exchange
        }
        "refresh_token" => {
            shared.count_refresh_request();
            CodexEndpoint::Refresh
        }
        "" => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: grant_type",
            );
        }
        other => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Unsupported grant_type: {other}"),
            );
        }
    };
    match apply_fault(shared, endpoint).await {
        Some(CodexFault::InvalidGrant) => {
            return refuse_grant(shared, GrantRefusal::RefreshInvalidated);
        }
        Some(fault) => return token_fault(fault),
        None => {}
    }
    let settings = shared.settings();
    if get("client_id") != settings.client_id {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Unknown or missing client_id",
        );
    }
    let outcome = if endpoint == CodexEndpoint::Exchange {
        for required in ["code", "redirect_uri", "code_verifier"] {
            if get(required).is_empty() {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    &format!("Missing required parameter: {required}"),
                );
            }
        }
        shared.redeem(
            get("code"),
            get("redirect_uri"),
            get("client_id"),
            get("code_verifier"),
        )
    } else {
        if get("refresh_token").is_empty() {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: refresh_token",
            );
        }
        shared.refresh(get("refresh_token"))
    };
    match outcome {
        Ok(tokens) => Reply::Respond(json_response(StatusCode::OK, &token_body(&tokens))),
        Err(refusal) => refuse_grant(shared, refusal),
    }
}

fn token_body(tokens: &IssuedTokens) -> Value {
    let mut body = json!({
        "id_token": tokens.id_token,
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "scope": "openid profile email offline_access",
    });
    if let Some(refresh) = &tokens.refresh_token {
        body["refresh_token"] = Value::String(refresh.clone());
    }
    body
}

fn refuse_grant(shared: &Shared, refusal: GrantRefusal) -> Reply {
    let (error, description) = match refusal {
        GrantRefusal::UnknownCode => (
            "invalid_grant",
            "Invalid authorization code: unknown, expired or already used",
        ),
        GrantRefusal::RedirectMismatch => (
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        ),
        GrantRefusal::ClientMismatch => (
            "invalid_grant",
            "client_id does not match the authorization request",
        ),
        GrantRefusal::VerifierMismatch => (
            "invalid_grant",
            "Invalid code_verifier: it does not match the code_challenge",
        ),
        GrantRefusal::RefreshReused => (
            "invalid_grant",
            "The refresh token was already used; every token issued with it has been revoked",
        ),
        GrantRefusal::RefreshInvalidated => (
            "invalid_grant",
            "The refresh token is invalid or has been revoked",
        ),
    };
    let legacy_code = match refusal {
        GrantRefusal::RefreshReused => Some("refresh_token_reused"),
        GrantRefusal::RefreshInvalidated => Some("refresh_token_invalidated"),
        _ => None,
    };
    match (shared.settings().refresh_errors, legacy_code) {
        (RefreshErrorStyle::LegacyCodes, Some(code)) => Reply::Respond(json_response(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": { "code": code, "message": description } }),
        )),
        _ => oauth_error(StatusCode::BAD_REQUEST, error, description),
    }
}

fn token_fault(fault: CodexFault) -> Reply {
    match fault {
        CodexFault::ConnectionReset => Reply::Reset,
        CodexFault::RateLimited { retry_after_secs } => {
            let mut response = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({
                    "error": "rate_limit_exceeded",
                    "error_description": "Too many requests (injected by the Codex double)",
                }),
            );
            set_header(&mut response, "retry-after", &retry_after_secs.to_string());
            Reply::Respond(response)
        }
        CodexFault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let error = match code {
                401 => "invalid_client",
                400..=499 => "invalid_request",
                503 => "temporarily_unavailable",
                _ => "server_error",
            };
            oauth_error(
                status,
                error,
                &format!(
                    "{} (injected by the Codex double)",
                    status.canonical_reason().unwrap_or("Error")
                ),
            )
        }
        // Stream faults mean nothing on the token endpoint; a 500 makes a misplaced one visible.
        CodexFault::StreamCut
        | CodexFault::ResponseFailed
        | CodexFault::Slow(_)
        | CodexFault::InvalidGrant => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &format!("fault {fault} does not apply to the token endpoint"),
        ),
    }
}

/// OAuth 2.0's error shape (RFC 6749 section 5.2), which auth.openai.com answers.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::Respond(json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    ))
}

// ---------------------------------------------------------------------------------------------
// Responses

async fn responses(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Reply {
    let fault = apply_fault(shared, CodexEndpoint::Responses).await;
    match fault {
        Some(CodexFault::ConnectionReset) => return Reply::Reset,
        Some(CodexFault::Status(401)) => return Reply::Respond(invalid_token()),
        Some(CodexFault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Reply::Respond(detail(
                status,
                &format!(
                    "{} (injected by the Codex double)",
                    status.canonical_reason().unwrap_or("Error")
                ),
            ));
        }
        Some(CodexFault::RateLimited { retry_after_secs }) => {
            let mut response = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({ "error": {
                    "type": "rate_limit_exceeded",
                    "code": "rate_limit_exceeded",
                    "message": format!("Rate limit reached. Please try again in {retry_after_secs}s."),
                }}),
            );
            set_header(&mut response, "retry-after", &retry_after_secs.to_string());
            return Reply::Respond(response);
        }
        _ => {}
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty());
    let Some(bearer) = bearer else {
        return Reply::Respond(invalid_token());
    };
    let account = headers
        .get("chatgpt-account-id")
        .and_then(|v| v.to_str().ok());
    match shared.check_access(bearer, account) {
        AccessCheck::Invalid => return Reply::Respond(invalid_token()),
        AccessCheck::Expired => return Reply::Respond(expired_token()),
        AccessCheck::Live {
            account_matches: false,
        } => {
            return Reply::Respond(detail(
                StatusCode::FORBIDDEN,
                "chatgpt-account-id is missing or does not match the token's account",
            ));
        }
        AccessCheck::Live { .. } => {}
    }
    let request = match check_responses_body(body) {
        Ok(request) => request,
        Err(message) => return Reply::Respond(detail(StatusCode::BAD_REQUEST, &message)),
    };
    let reply = reply_to(&request.prompt);
    let events = stream_events(&request.model, &request.prompt, &reply, fault);
    let mut response = Response::new(sse_body(events));
    set_header(&mut response, "content-type", "text/event-stream");
    set_header(&mut response, "cache-control", "no-store");
    Reply::Respond(response)
}

struct ResponsesRequest {
    model: String,
    prompt: String,
}

/// The fields codex-rs sends (`ResponsesApiRequest` in codex-rs/codex-api): the ChatGPT
/// backend requires `instructions`, `stream: true` and `store: false`.
fn check_responses_body(body: &[u8]) -> Result<ResponsesRequest, String> {
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else {
        return Err("Request body must be a JSON object".to_owned());
    };
    let model = match request.get("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        _ => return Err("model is required".to_owned()),
    };
    if !matches!(request.get("instructions"), Some(Value::String(_))) {
        return Err("Instructions are required".to_owned());
    }
    let Some(Value::Array(input)) = request.get("input") else {
        return Err("input must be a list".to_owned());
    };
    if request.get("stream") != Some(&Value::Bool(true)) {
        return Err("Stream must be set to true".to_owned());
    }
    if request.get("store") != Some(&Value::Bool(false)) {
        return Err("Store must be set to false".to_owned());
    }
    for (field, check) in [
        ("tools", Value::is_array as fn(&Value) -> bool),
        ("tool_choice", Value::is_string),
        ("parallel_tool_calls", Value::is_boolean),
        ("include", Value::is_array),
    ] {
        if request.get(field).is_some_and(|value| !check(value)) {
            return Err(format!("{field} has the wrong type"));
        }
    }
    Ok(ResponsesRequest {
        model,
        prompt: last_user_text(input),
    })
}

/// The text of the last user message: `{"type":"message","role":"user","content":[{"type":
/// "input_text","text":...}]}`.
fn last_user_text(input: &[Value]) -> String {
    input
        .iter()
        .rev()
        .find(|item| item.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|item| item.get("content"))
        .map(|content| match content {
            Value::String(text) => text.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        })
        .unwrap_or_default()
}

/// `Reply exactly: X` yields `X`; anything else yields [`CODEX_REPLY`].
fn reply_to(prompt: &str) -> String {
    const MARKER: &str = "Reply exactly:";
    match prompt.find(MARKER) {
        Some(at) => prompt[at + MARKER.len()..].trim().to_owned(),
        None => CODEX_REPLY.to_owned(),
    }
}

/// The server-sent events of one response, in the order the service sends them.
fn stream_events(model: &str, prompt: &str, reply: &str, fault: Option<CodexFault>) -> Vec<Bytes> {
    let response_id = format!("resp_{}", random_hex(16));
    let item_id = format!("msg_{}", random_hex(16));
    let created_at = now_secs();
    let mut sequence = 0u64;
    let mut events = Vec::new();
    let mut push = |kind: &str, mut data: Value| {
        data["type"] = Value::String(kind.to_owned());
        data["sequence_number"] = json!(sequence);
        sequence += 1;
        events.push(Bytes::from(format!("event: {kind}\ndata: {data}\n\n")));
    };
    let response = |status: &str, output: Value| {
        json!({
            "id": response_id,
            "object": "response",
            "created_at": created_at,
            "status": status,
            "model": model,
            "output": output,
        })
    };
    push(
        "response.created",
        json!({ "response": response("in_progress", json!([])) }),
    );
    if fault == Some(CodexFault::ResponseFailed) {
        let mut failed = response("failed", json!([]));
        failed["error"] = json!({
            "code": "server_error",
            "message": "The model failed to generate a response (injected by the Codex double)",
        });
        push("response.failed", json!({ "response": failed }));
        return events;
    }
    push(
        "response.in_progress",
        json!({ "response": response("in_progress", json!([])) }),
    );
    push(
        "response.output_item.added",
        json!({
            "output_index": 0,
            "item": { "id": item_id, "type": "message", "status": "in_progress",
                      "role": "assistant", "content": [] },
        }),
    );
    for delta in split_deltas(reply) {
        push(
            "response.output_text.delta",
            json!({ "item_id": item_id, "output_index": 0, "content_index": 0, "delta": delta }),
        );
        if fault == Some(CodexFault::StreamCut) {
            return events;
        }
    }
    let item = json!({
        "id": item_id, "type": "message", "status": "completed", "role": "assistant",
        "content": [{ "type": "output_text", "text": reply, "annotations": [] }],
    });
    push(
        "response.output_text.done",
        json!({ "item_id": item_id, "output_index": 0, "content_index": 0, "text": reply }),
    );
    push(
        "response.output_item.done",
        json!({ "output_index": 0, "item": item }),
    );
    let input_tokens = prompt.split_whitespace().count();
    let output_tokens = reply.split_whitespace().count().max(1);
    let mut completed = response("completed", json!([item]));
    completed["usage"] = json!({
        "input_tokens": input_tokens,
        "input_tokens_details": { "cached_tokens": 0 },
        "output_tokens": output_tokens,
        "output_tokens_details": { "reasoning_tokens": 0 },
        "total_tokens": input_tokens + output_tokens,
    });
    push("response.completed", json!({ "response": completed }));
    events
}

/// Splits the reply into a few deltas so a client has to join them: on `-` and spaces,
/// keeping the separators.
fn split_deltas(reply: &str) -> Vec<String> {
    let mut deltas = Vec::new();
    let mut current = String::new();
    for ch in reply.chars() {
        if (ch == '-' || ch == ' ') && !current.is_empty() {
            deltas.push(std::mem::take(&mut current));
        }
        current.push(ch);
    }
    if !current.is_empty() || deltas.is_empty() {
        deltas.push(current);
    }
    deltas
}

/// The backend's answer to an access token it does not know or that was revoked:
/// `{"detail":"Unauthorized"}` (the body in codex-rs's api_bridge tests).
fn invalid_token() -> Response<Body> {
    detail(StatusCode::UNAUTHORIZED, "Unauthorized")
}

/// The backend's answer to an expired access token: the ChatGPT backend's `token_expired`
/// detail, and the `x-error-json` header codex-rs reads the code from.
fn expired_token() -> Response<Body> {
    let mut response = json_response(
        StatusCode::UNAUTHORIZED,
        &json!({ "detail": {
            "message": "Your authentication token has expired. Please try signing in again.",
            "type": "invalid_request_error",
            "param": null,
            "code": "token_expired",
        }}),
    );
    let x_error_json = STANDARD.encode(r#"{"error":{"code":"token_expired"}}"#);
    set_header(&mut response, "x-error-json", &x_error_json);
    response
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// Takes the endpoint's fault, waiting out `Slow` here so callers only see the others.
async fn apply_fault(shared: &Shared, endpoint: CodexEndpoint) -> Option<CodexFault> {
    match shared.take_fault(endpoint)? {
        CodexFault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        fault => Some(fault),
    }
}

/// The backend's error shape: `{"detail":"..."}`.
fn detail(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, &json!({ "detail": message }))
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(full(value.to_string()));
    *response.status_mut() = status;
    set_header(&mut response, "content-type", "application/json");
    set_header(&mut response, "cache-control", "no-store");
    response
}

fn html(status: StatusCode, page: String) -> Response<Body> {
    let mut response = Response::new(full(page));
    *response.status_mut() = status;
    set_header(&mut response, "content-type", "text/html; charset=utf-8");
    set_header(&mut response, "cache-control", "no-store");
    // The consent page must not be framed: that is how clickjacking would press Continue.
    set_header(&mut response, "x-frame-options", "DENY");
    response
}

/// Sets a header, dropping it if the value is not a valid header value: only a redirect URL
/// could be, and `Url` never serialises control characters.
fn set_header(response: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(value) = hyper::header::HeaderValue::from_str(value) {
        response
            .headers_mut()
            .insert(hyper::header::HeaderName::from_static(name), value);
    }
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

/// A server-sent-events body: one frame per event, with no size announced, so it goes out
/// chunked as the service's streams do.
fn sse_body(events: Vec<Bytes>) -> Body {
    Events {
        events: events.into_iter(),
    }
    .boxed()
}

struct Events {
    events: std::vec::IntoIter<Bytes>,
}

impl HttpBody for Events {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().events.next().map(|e| Ok(Frame::data(e))))
    }

    fn is_end_stream(&self) -> bool {
        self.events.len() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_registered_localhost_callback_is_accepted() {
        for good in [
            "http://localhost:1455/auth/callback",
            "http://localhost:1457/auth/callback",
        ] {
            assert_eq!(check_redirect_uri(good, false), Ok(()), "{good}");
        }
        for bad in [
            "",
            "http://localhost:1456/auth/callback",
            "http://127.0.0.1:1455/auth/callback",
            "https://localhost:1455/auth/callback",
            "http://localhost:1455/callback",
            "http://localhost:1455/auth/callback?x=1",
            "http://localhost/auth/callback",
            "http://evil.example:1455/auth/callback",
        ] {
            assert!(check_redirect_uri(bad, false).is_err(), "{bad} accepted");
        }
        assert_eq!(
            check_redirect_uri("http://localhost:40123/auth/callback", true),
            Ok(())
        );
        assert!(check_redirect_uri("http://127.0.0.1:40123/auth/callback", true).is_err());
    }

    #[test]
    fn deltas_join_back_to_the_reply() {
        for reply in ["codex-ok", "a b-c", "x", ""] {
            assert_eq!(split_deltas(reply).concat(), reply);
        }
        assert_eq!(split_deltas("codex-ok"), ["codex", "-ok"]);
    }

    #[test]
    fn the_reply_is_fixed_unless_the_prompt_asks_for_one() {
        assert_eq!(reply_to("hello"), CODEX_REPLY);
        assert_eq!(reply_to("Please. Reply exactly:  pong \n"), "pong");
    }
}
