//! Anthropic's own words in an error answer (`{"type":"error","error":{"type":...,
//! "message":...}}`), made safe to show with the core's scrubber and sanitiser: the key
//! scrubbed however it is echoed, escapes and direction characters removed, cut to one short
//! line. Only Anthropic's phrasing is here.

use plugboard_core::{sanitize_line, scrub_secret};
use serde::Deserialize;

/// The service's name in messages.
pub(crate) const SERVICE: &str = "Anthropic";

/// Longest piece of a server's own error text shown to the user.
const MAX_SERVER_TEXT: usize = 120;

/// Longest error `type` shown; Anthropic's are short snake_case words (`overloaded_error`).
const MAX_ERROR_TYPE: usize = 40;

#[derive(Deserialize)]
struct ErrorReply {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Anthropic's words in `body`: `<error.type>: <error.message>`, either part alone when the
/// other is missing, with every run of `secret` replaced by `[redacted]` before anything else
/// is done to it (a service may echo the key it refused, in any case and with invisible
/// characters inside). `None` when the body is not Anthropic's error shape or says nothing.
pub(crate) fn said(body: &[u8], secret: &str) -> Option<String> {
    let error = serde_json::from_slice::<ErrorReply>(body).ok()?.error;
    let clean = |text: &str, limit| sanitize_line(&scrub_secret(text, secret), limit);
    // Only a plain snake_case type is worth showing; anything else is not Anthropic's.
    let kind = error
        .kind
        .map(|k| clean(&k, MAX_ERROR_TYPE))
        .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    let message = error
        .message
        .map(|m| clean(&m, MAX_SERVER_TEXT))
        .filter(|m| !m.is_empty());
    match (kind, message) {
        (Some(kind), Some(message)) => Some(format!("{kind}: {message}")),
        (Some(only), None) | (None, Some(only)) => Some(only),
        (None, None) => None,
    }
}

/// `meaning`, followed by ` (Anthropic said: ...)` when `body` carries Anthropic's own words
/// (scrubbed of `secret` as [`said`] does).
pub(crate) fn with_said(meaning: &str, body: &[u8], secret: &str) -> String {
    match said(body, secret) {
        Some(words) => format!("{meaning} ({SERVICE} said: {words})"),
        None => meaning.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_and_message_are_scrubbed_cleaned_and_cut() {
        let cases = [
            (
                r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
                "",
                Some("authentication_error: invalid x-api-key"),
            ),
            (
                r#"{"type":"error","error":{"type":"overloaded_error"}}"#,
                "",
                Some("overloaded_error"),
            ),
            (
                r#"{"type":"error","error":{"message":"two\nlines"}}"#,
                "",
                Some("two lines"),
            ),
            (
                r#"{"type":"error","error":{"type":"api_error","message":"bad key SK-ANT-API03-ABCDEF012345 here"}}"#,
                "sk-ant-api03-abcdef012345",
                Some("api_error: bad key [redacted] here"),
            ),
            (
                r#"{"type":"error","error":{"type":"x","message":"bad key sk-ant-api03-abc\u200bdef\u0007012345"}}"#,
                "sk-ant-api03-abcdef012345",
                Some("x: bad key [redacted]"),
            ),
            (
                r#"{"type":"error","error":{"type":"\u001b[31mEvil Type","message":"\u001b]0;pwned\u0007red \u001b[2Jalert\u202e"}}"#,
                "",
                Some("red alert"),
            ),
            (r#"{"type":"error","error":{"message":"  "}}"#, "", None),
            (
                r#"{"error":{"code":500,"message":"openai style"}}"#,
                "",
                Some("openai style"),
            ),
            (r#"{"type":"error"}"#, "", None),
            ("<html>", "", None),
        ];
        for (body, secret, want) in cases {
            assert_eq!(said(body.as_bytes(), secret).as_deref(), want, "{body}");
        }
        let long = "x".repeat(500);
        let body = format!(r#"{{"type":"error","error":{{"message":"{long}"}}}}"#);
        assert!(said(body.as_bytes(), "").unwrap().chars().count() <= MAX_SERVER_TEXT + 1);
    }
}
