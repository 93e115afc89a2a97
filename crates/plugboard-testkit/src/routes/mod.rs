//! The double's endpoints: one request in, one answer (or a dropped connection) out.
//!
//! This file reads the request and sends it to its route; each group of routes has its own
//! file: the consent page and its forms (`consent`), the key endpoints (`keys`), chat
//! completions (`chat`), the model list (`models`). Around them: reading a request body (`request`), building answers
//! (`response`) and injected faults (`faults`).

use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};

use crate::html;
use crate::server::Reply;
use crate::state::{RequestRecord, Shared};

mod chat;
mod consent;
mod faults;
mod keys;
mod models;
mod request;
mod response;

pub use keys::{NO_CREDENTIALS, UNKNOWN_KEY};
pub use models::{MODELS, OpenRouterModel};
pub use request::MAX_REQUEST_BYTES;

use request::{BodyError, read_body};
use response::{error_json, html_response};

/// Answers one request (or asks for a reset), and records it in the request log.
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
        (&Method::GET, "/auth") => consent::page(uri.query().unwrap_or("")),
        (&Method::POST, "/auth/approve") => consent::approve(shared, body),
        (&Method::POST, "/auth/deny") => consent::deny(shared, body),
        (&Method::POST, "/api/v1/auth/keys") => return keys::exchange(shared, body).await,
        // `/auth/key` is the older spelling of the same lookup; OpenRouter still answers both.
        (&Method::GET, "/api/v1/key" | "/api/v1/auth/key") => {
            return keys::key_info(shared, headers).await;
        }
        (&Method::POST, "/api/v1/chat/completions") => {
            return chat::completions(shared, headers, body).await;
        }
        (&Method::GET, "/api/v1/models") => return models::list(shared).await,
        (
            _,
            "/"
            | "/auth"
            | "/auth/approve"
            | "/auth/deny"
            | "/api/v1/auth/keys"
            | "/api/v1/key"
            | "/api/v1/auth/key"
            | "/api/v1/chat/completions"
            | "/api/v1/models",
        ) => error_json(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
        _ => error_json(StatusCode::NOT_FOUND, "Not found"),
    };
    Reply::Respond(response)
}
