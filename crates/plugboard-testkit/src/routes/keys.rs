//! The key endpoints: the code exchange (`POST /api/v1/auth/keys`), the key lookup
//! (`GET /api/v1/key`), and checking a bearer key, which chat needs too.

use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, HeaderMap};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Reply;
use super::faults::{apply_fault, generic_fault, oversized};
use super::response::{error, ok_json};
use crate::fault::{Endpoint, Fault};
use crate::state::{KEY_PREFIX, Refusal, Shared, random_hex};

/// Sent when a request has no `Authorization: Bearer` header at all.
pub const NO_CREDENTIALS: &str = "No auth credentials found";
/// Sent when the bearer key is not one the double issued (or it was revoked).
pub const UNKNOWN_KEY: &str = "User not found.";

#[derive(Deserialize)]
struct ExchangeRequest {
    code: Option<String>,
    code_verifier: Option<String>,
    code_challenge_method: Option<String>,
}

pub(super) async fn exchange(shared: &Shared, body: &[u8]) -> Reply {
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

pub(super) async fn key_info(shared: &Shared, headers: &HeaderMap) -> Reply {
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

/// The bearer key, if it is one the double issued; otherwise the message of the 401 to send.
pub(super) fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<String, &'static str> {
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

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn a_label_keeps_the_prefix_and_the_last_four_characters() {
        assert_eq!(label("sk-or-v1-0123456789abcdef"), "sk-or-v1-...cdef");
        assert_eq!(label("ab"), "sk-or-v1-...ab");
    }
}
