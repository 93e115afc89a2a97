//! The consent page (`GET /auth`) and its Authorize and Deny forms: checking what they carry,
//! and redirecting to the callback with a code or an error.

use std::collections::HashMap;
use std::net::IpAddr;

use hyper::{Response, StatusCode};
use url::{Host, Url};

use super::response::{html_response, redirect};
use crate::body::Body;
use crate::html::{self, Consent};
use crate::state::Shared;

const CHALLENGE_METHOD: &str = "S256";

pub(super) fn page(query: &str) -> Response<Body> {
    let params = first_values(query.as_bytes());
    match check_consent(&params) {
        Ok((_, consent)) => html_response(StatusCode::OK, html::consent_page(&consent)),
        Err(problem) => html_response(StatusCode::BAD_REQUEST, html::problem_page(&problem)),
    }
}

pub(super) fn approve(shared: &Shared, body: &[u8]) -> Response<Body> {
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

pub(super) fn deny(shared: &Shared, body: &[u8]) -> Response<Body> {
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

#[cfg(test)]
mod tests {
    use super::check_callback;

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
}
