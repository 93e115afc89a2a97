//! A service's own words in an error answer, made safe to show: every run of the secret sent
//! scrubbed (however the service echoes it), then cleaned and cut to one short line by the
//! core's sanitiser. Reading them out of OpenAI's error shape is here too, since every service
//! that follows OpenAI's API (OpenRouter, the manifest-only providers) answers in it.

use plugboard_core::{sanitize_line, scrub_secret};

/// Longest piece of a service's own words shown to the user.
pub const MAX_SERVICE_WORDS: usize = 120;

/// `text` from a service with every run of `secret` replaced by `[redacted]` before anything
/// else is done to it, then on one line of at most [`MAX_SERVICE_WORDS`] characters; `None`
/// when nothing is left to show.
pub fn service_words(text: &str, secret: &str) -> Option<String> {
    Some(sanitize_line(
        &scrub_secret(text, secret),
        MAX_SERVICE_WORDS,
    ))
    .filter(|w| !w.is_empty())
}

/// The `error.message` of an answer in OpenAI's error shape
/// (`{"error": {"message": "...", "type": ..., "code": ...}}`), made safe by
/// [`service_words`]; `None` when the body is not that shape or says nothing.
pub fn openai_error_message(body: &[u8], secret: &str) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    service_words(answer.get("error")?.get("message")?.as_str()?, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_scrubbed_cleaned_and_cut() {
        let cases = [
            (
                r#"{"error":{"message":"Invalid API Key","type":"invalid_request_error"}}"#,
                "",
                Some("Invalid API Key"),
            ),
            (
                r#"{"error":{"message":"bad key SK-1234ABCDEF5678 here"}}"#,
                "sk-1234abcdef5678",
                Some("bad key [redacted] here"),
            ),
            (
                r#"{"error":{"message":"\u001b]0;pwned\u0007two\nlines\u202e"}}"#,
                "",
                Some("two lines"),
            ),
            (r#"{"error":{"message":"  "}}"#, "", None),
            (r#"{"error":{"message":7}}"#, "", None),
            (r#"{"error":"a bare string"}"#, "", None),
            (r#"{"message":"no error object"}"#, "", None),
            ("<html>", "", None),
        ];
        for (body, secret, want) in cases {
            assert_eq!(
                openai_error_message(body.as_bytes(), secret).as_deref(),
                want,
                "{body}"
            );
        }
        let long = "x".repeat(500);
        assert!(service_words(&long, "").unwrap().chars().count() <= MAX_SERVICE_WORDS + 1);
    }
}
