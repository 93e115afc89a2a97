//! OpenRouter's own words in an error answer (`{"error":{"message":...}}`), made safe to show
//! with the core's scrubber and sanitiser: the key scrubbed however it is echoed, escapes and
//! direction characters removed, cut to one short line. Only OpenRouter's phrasing is here.

use plugboard_core::sanitize_line;
use plugboard_http::openai_error_message;

/// The service's name in messages.
pub(crate) const SERVICE: &str = "OpenRouter";

/// Longest piece of a server's own error text shown to the user.
const MAX_SERVER_TEXT: usize = 120;

/// The `error.message` of `body`, if it has one, with every run of `secret` replaced by
/// `[redacted]` before anything else is done to it (a service may echo the key it refused, in
/// any case and with invisible characters inside). OpenRouter answers in OpenAI's error shape,
/// so the reading is the one every OpenAI-compatible service shares.
pub(crate) fn said(body: &[u8], secret: &str) -> Option<String> {
    openai_error_message(body, secret)
}

/// `meaning`, followed by ` (OpenRouter said: ...)` when `body` carries OpenRouter's own
/// words (scrubbed of `secret` as [`said`] does).
pub(crate) fn with_said(meaning: &str, body: &[u8], secret: &str) -> String {
    match said(body, secret) {
        Some(words) => format!("{meaning} ({SERVICE} said: {words})"),
        None => meaning.to_owned(),
    }
}

/// A value the service sent (a user id) as one short, safe line.
pub(crate) fn short_line(text: &str) -> String {
    sanitize_line(text, MAX_SERVER_TEXT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_scrubbed_cleaned_and_cut() {
        let long = "x".repeat(500);
        let cases = [
            (
                r#"{"error":{"message":"bad key sk-1"}}"#,
                "sk-1",
                Some("bad key [redacted]"),
            ),
            (
                r#"{"error":{"message":"two\nlines"}}"#,
                "",
                Some("two lines"),
            ),
            (
                r#"{"error":{"message":"bad key SK-OR-V1-ABCDEF012345 here"}}"#,
                "sk-or-v1-abcdef012345",
                Some("bad key [redacted] here"),
            ),
            (
                r#"{"error":{"message":"bad key sk-or-v1-abc\u200bdef\u0007012345"}}"#,
                "sk-or-v1-abcdef012345",
                Some("bad key [redacted]"),
            ),
            (
                r#"{"error":{"message":"\u001b]0;pwned\u0007red \u001b[2Jalert\u202e"}}"#,
                "",
                Some("red alert"),
            ),
            (r#"{"error":{"message":"  "}}"#, "", None),
            (r#"{"error":{"code":500}}"#, "", None),
            ("<html>", "", None),
        ];
        for (body, secret, want) in cases {
            assert_eq!(said(body.as_bytes(), secret).as_deref(), want, "{body}");
        }
        let body = format!(r#"{{"error":{{"message":"{long}"}}}}"#);
        assert!(said(body.as_bytes(), "").unwrap().chars().count() <= MAX_SERVER_TEXT + 1);
    }
}
