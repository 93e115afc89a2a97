//! OpenAI's own words in an error answer, made safe to show with the core's scrubber and
//! sanitiser: the secret that was sent scrubbed however it is echoed, escapes and direction
//! characters removed, cut to one short line. Two shapes: the token endpoint's OAuth errors
//! (`error`, `error_description`, or `error.message` / `error.code`, as codex-rs's
//! `parse_token_endpoint_error` and `extract_refresh_token_error_code` read them) and the
//! backend's API errors (`{"error": {"message", "type", "code"}}`, or `{"detail": ...}`).

use plugboard_core::{sanitize_line, scrub_secret};
use serde_json::Value;

/// The service's name in messages.
pub(crate) const SERVICE: &str = "OpenAI Codex";

/// Longest piece of a server's own error text shown to the user.
const MAX_SERVER_TEXT: usize = 160;

fn json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `text` with `secret` scrubbed first, then cleaned and cut to one short line; `None` when
/// nothing is left.
fn safe(text: &str, secret: &str) -> Option<String> {
    Some(sanitize_line(&scrub_secret(text, secret), MAX_SERVER_TEXT)).filter(|s| !s.is_empty())
}

/// A value the service sent (an email, an account id) as one short, safe line.
pub(crate) fn short_line(text: &str) -> String {
    sanitize_line(text, MAX_SERVER_TEXT)
}

/// The OAuth error code of a token endpoint answer: `error` when it is a string, else
/// `error.code`, else a top-level `code`.
pub(crate) fn oauth_error_code(body: &[u8]) -> Option<String> {
    let json = json(body)?;
    let error = json.get("error");
    text(error)
        .or_else(|| text(error.and_then(|e| e.get("code"))))
        .or_else(|| text(json.get("code")))
        .map(str::to_owned)
}

/// What the token endpoint said: `error_description`, else `error.message`, else the code.
pub(crate) fn oauth_said(body: &[u8], secret: &str) -> Option<String> {
    let json = json(body)?;
    let words = text(json.get("error_description"))
        .or_else(|| text(json.get("error").and_then(|e| e.get("message"))))
        .map(str::to_owned)
        .or_else(|| oauth_error_code(body))?;
    safe(&words, secret)
}

/// The `error.code` of a backend answer (`token_expired`, `rate_limit_exceeded`, ...). The
/// ChatGPT backend has been seen to answer in two shapes, `{"error": {"code"}}` and
/// `{"detail": {"code"}}`, so both are read.
pub(crate) fn api_error_code(body: &[u8]) -> Option<String> {
    let json = json(body)?;
    text(json.get("error").and_then(|e| e.get("code")))
        .or_else(|| text(json.get("detail").and_then(|d| d.get("code"))))
        .or_else(|| text(json.get("code")))
        .map(str::to_owned)
}

/// What the backend said: `error.message`, else `detail` (or `detail.message`), else a
/// top-level `message`.
pub(crate) fn api_said(body: &[u8], secret: &str) -> Option<String> {
    let json = json(body)?;
    let words = text(json.get("error").and_then(|e| e.get("message")))
        .or_else(|| text(json.get("detail")))
        .or_else(|| text(json.get("detail").and_then(|d| d.get("message"))))
        .or_else(|| text(json.get("message")))?;
    safe(words, secret)
}

/// The words of an error object carried inside a stream event (`{"code", "message"}`).
pub(crate) fn event_said(error: &Value, secret: &str) -> Option<String> {
    safe(text(error.get("message"))?, secret)
}

/// `meaning`, followed by ` (OpenAI said: ...)` when there are words to add.
pub(crate) fn with_said(meaning: &str, said: Option<String>) -> String {
    match said {
        Some(words) => format!("{meaning} (OpenAI said: {words})"),
        None => meaning.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_endpoint_errors_give_their_code_and_words() {
        // (body, code, words)
        let cases = [
            (
                r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#,
                Some("invalid_grant"),
                Some("Invalid refresh token"),
            ),
            (
                r#"{"error":{"code":"refresh_token_reused","message":"Already used"}}"#,
                Some("refresh_token_reused"),
                Some("Already used"),
            ),
            (
                r#"{"error":"invalid_grant"}"#,
                Some("invalid_grant"),
                Some("invalid_grant"),
            ),
            (
                r#"{"code":"refresh_token_expired"}"#,
                Some("refresh_token_expired"),
                Some("refresh_token_expired"),
            ),
            ("<html>oops</html>", None, None),
            (r#"["error"]"#, None, None),
            (r#"{"error":"  "}"#, None, None),
        ];
        for (body, code, words) in cases {
            assert_eq!(oauth_error_code(body.as_bytes()).as_deref(), code, "{body}");
            assert_eq!(oauth_said(body.as_bytes(), "").as_deref(), words, "{body}");
        }
    }

    #[test]
    fn backend_errors_give_their_code_and_words() {
        let cases = [
            (
                r#"{"error":{"message":"Provided authentication token is expired.","type":"invalid_request_error","code":"token_expired"},"status":401}"#,
                Some("token_expired"),
                Some("Provided authentication token is expired."),
            ),
            (
                r#"{"detail":{"message":"Your authentication token has expired. Please try signing in again.","type":"invalid_request_error","param":null,"code":"token_expired"}}"#,
                Some("token_expired"),
                Some("Your authentication token has expired. Please try signing in again."),
            ),
            (r#"{"detail":"Unauthorized"}"#, None, Some("Unauthorized")),
            (r#"{"detail":{"message":"nope"}}"#, None, Some("nope")),
            ("not json", None, None),
        ];
        for (body, code, words) in cases {
            assert_eq!(api_error_code(body.as_bytes()).as_deref(), code, "{body}");
            assert_eq!(api_said(body.as_bytes(), "").as_deref(), words, "{body}");
        }
    }

    #[test]
    fn the_secret_is_scrubbed_before_the_text_is_cleaned_and_cut() {
        let secret = "eyJhbGciOiJSUzI1NiJ9.payload-part.signature-part";
        let echoed = format!("bad token {}", secret.to_uppercase());
        let body = serde_json::json!({"error": {"message": echoed}}).to_string();
        let said = api_said(body.as_bytes(), secret).unwrap();
        assert_eq!(said, "bad token [redacted]");
        let body = serde_json::json!({"error_description": format!("x{secret}\u{1b}[2J")});
        let said = oauth_said(body.to_string().as_bytes(), secret).unwrap();
        assert!(!plugboard_core::shows_secret(&said, secret), "{said}");
        let long = serde_json::json!({"detail": "y".repeat(900)}).to_string();
        assert!(api_said(long.as_bytes(), "").unwrap().chars().count() <= MAX_SERVER_TEXT + 1);
    }
}
