//! Injected faults: taking an endpoint's fault, and the answers that look the same on every
//! endpoint.

use hyper::header::CONTENT_TYPE;
use hyper::{Response, StatusCode};

use super::Reply;
use super::response::{error, html_response, set_header};
use crate::body::oversized_json;
use crate::fault::{Endpoint, Fault};
use crate::html;
use crate::state::Shared;

/// Takes the endpoint's fault, waiting out `Slow` here so callers only see the others.
pub(super) async fn apply_fault(shared: &Shared, endpoint: Endpoint) -> Option<Fault> {
    match shared.take_fault(endpoint)? {
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        fault => Some(fault),
    }
}

/// The answer for faults that look the same on every endpoint.
pub(super) fn generic_fault(fault: Fault) -> Reply {
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

pub(super) fn oversized(prefix: String) -> Reply {
    let mut response = Response::new(oversized_json(prefix));
    set_header(&mut response, CONTENT_TYPE, "application/json");
    Reply::Respond(response)
}
