//! Building answers: HTML pages, redirects, and JSON in OpenRouter's shapes, each with the
//! headers it needs.

use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use url::Url;

use super::Reply;
use crate::body::{Body, full};
use crate::html;

pub(super) fn redirect(target: &Url) -> Response<Body> {
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

pub(super) fn html_response(status: StatusCode, page: String) -> Response<Body> {
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

pub(super) fn ok_json(value: &Value) -> Reply {
    Reply::Respond(json_response(StatusCode::OK, value))
}

pub(super) fn error(status: StatusCode, message: &str) -> Reply {
    Reply::Respond(error_json(status, message))
}

/// OpenRouter's error shape: `{"error":{"code":<status>,"message":"..."}}`.
pub(super) fn error_json(status: StatusCode, message: &str) -> Response<Body> {
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
pub(super) fn set_header(response: &mut Response<Body>, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}
