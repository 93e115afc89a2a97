//! GitHub's own words in an error answer, made safe to show with the core's scrubber and
//! sanitiser: every secret of the credential scrubbed however it is echoed, escapes and
//! direction characters removed, cut to one short line. Two shapes:
//!
//! - GitHub's REST API (the Copilot token exchange): `{"message", "documentation_url"}`, and
//!   for an account without Copilot an `error_details.message` beside it (which LiteLLM-based
//!   clients read first).
//! - The Copilot API (chat, models): a line of plain text for authentication failures
//!   (`unauthorized: token expired`, `bad request: missing Editor-Version header for IDE
//!   auth`, as reported against VS Code, OpenClaw and LiteLLM), and OpenAI's
//!   `{"error": {"message", "code"}}` for the rest.

use plugboard_core::{sanitize_line, scrub_secret};
use serde_json::Value;

/// The service's name in messages.
pub(crate) const SERVICE: &str = "GitHub Copilot";

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

/// `text` with each of `secrets` scrubbed first, then cleaned and cut to one short line;
/// `None` when nothing is left.
fn safe(text: &str, secrets: &[&str]) -> Option<String> {
    let scrubbed = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |text, secret| scrub_secret(&text, secret));
    Some(sanitize_line(&scrubbed, MAX_SERVER_TEXT)).filter(|s| !s.is_empty())
}

/// What GitHub's REST API said: `error_details.message`, else `message`.
pub(crate) fn github_said(body: &[u8], secrets: &[&str]) -> Option<String> {
    let json = json(body)?;
    let words = text(json.get("error_details").and_then(|d| d.get("message")))
        .or_else(|| text(json.get("message")))?;
    safe(words, secrets)
}

/// The Copilot API's words: `error.message` (or `message`, or a string `error`) of a JSON
/// answer, else the first line of a plain-text one. An HTML page (a proxy's) says nothing
/// worth showing.
pub(crate) fn copilot_said(body: &[u8], secrets: &[&str]) -> Option<String> {
    if let Some(json) = json(body) {
        let error = json.get("error");
        let words = text(error.and_then(|e| e.get("message")))
            .or_else(|| text(json.get("message")))
            .or_else(|| text(error))?;
        return safe(words, secrets);
    }
    let body = String::from_utf8_lossy(body);
    let line = body.lines().map(str::trim).find(|l| !l.is_empty())?;
    if line.starts_with('<') {
        return None;
    }
    safe(line, secrets)
}

/// Whether a Copilot API answer says the Copilot token has expired (`unauthorized: token
/// expired`), as opposed to one it does not accept at all.
pub(crate) fn says_token_expired(body: &[u8]) -> bool {
    let words = match json(body) {
        Some(json) => {
            let error = json.get("error");
            [
                text(error.and_then(|e| e.get("message"))),
                text(error.and_then(|e| e.get("code"))),
                text(json.get("message")),
                text(error),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
        }
        None => String::from_utf8_lossy(body).into_owned(),
    };
    let words = words.to_ascii_lowercase();
    words.contains("token expired") || words.contains("token_expired")
}

/// `meaning`, followed by ` (GitHub said: ...)` when there are words to add.
pub(crate) fn with_said(meaning: &str, said: Option<String>) -> String {
    match said {
        Some(words) => format!("{meaning} (GitHub said: {words})"),
        None => meaning.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_rest_errors_give_their_words() {
        let cases = [
            (
                r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#,
                Some("Bad credentials"),
            ),
            (
                r#"{"error_details":{"url":"https://github.com/features/copilot","message":"No access to GitHub Copilot found.","title":"Try Copilot"},"message":"Resource not accessible by integration"}"#,
                Some("No access to GitHub Copilot found."),
            ),
            (r#"{"message":"  "}"#, None),
            ("<html>oops</html>", None),
            (r#"["message"]"#, None),
        ];
        for (body, words) in cases {
            assert_eq!(
                github_said(body.as_bytes(), &[]).as_deref(),
                words,
                "{body}"
            );
        }
    }

    #[test]
    fn copilot_errors_give_their_words_in_either_shape() {
        let cases = [
            (
                "unauthorized: token expired\n",
                Some("unauthorized: token expired"),
            ),
            (
                "\n  bad request: missing Editor-Version header for IDE auth\n",
                Some("bad request: missing Editor-Version header for IDE auth"),
            ),
            (
                r#"{"error":{"message":"The requested model is not supported.","code":"model_not_supported"}}"#,
                Some("The requested model is not supported."),
            ),
            (r#"{"message":"quota exceeded"}"#, Some("quota exceeded")),
            (r#"{"error":"forbidden"}"#, Some("forbidden")),
            ("<html><body>Bad gateway</body></html>", None),
            ("", None),
        ];
        for (body, words) in cases {
            assert_eq!(
                copilot_said(body.as_bytes(), &[]).as_deref(),
                words,
                "{body:?}"
            );
        }
    }

    #[test]
    fn an_expired_copilot_token_is_told_from_one_refused_outright() {
        let cases = [
            ("unauthorized: token expired\n", true),
            ("Unauthorized: Token Expired", true),
            (
                r#"{"error":{"message":"token expired","code":"unauthorized"}}"#,
                true,
            ),
            (r#"{"error":{"message":"x","code":"token_expired"}}"#, true),
            (
                "unauthorized: AuthenticateToken authentication failed",
                false,
            ),
            (
                r#"{"error":{"message":"Invalid key","code":"invalid_token"}}"#,
                false,
            ),
            ("", false),
        ];
        for (body, expired) in cases {
            assert_eq!(says_token_expired(body.as_bytes()), expired, "{body}");
        }
    }

    #[test]
    fn every_secret_is_scrubbed_before_the_text_is_cleaned_and_cut() {
        let github = "ghu_SecretGitHubToken0123456789abcdef";
        let copilot = "tid=abc123def456;exp=1700001800;sku=x;proxy-ep=p:deadbeefcafe";
        let body = format!(
            "unauthorized: bad token {} (from {})\u{1b}[2J",
            copilot.to_uppercase(),
            github
        );
        let said = copilot_said(body.as_bytes(), &[copilot, github]).unwrap();
        assert!(!plugboard_core::shows_secret(&said, github), "{said}");
        assert!(!plugboard_core::shows_secret(&said, copilot), "{said}");
        assert!(!said.contains('\u{1b}'), "{said}");
        let long = "y".repeat(900);
        assert!(copilot_said(long.as_bytes(), &[]).unwrap().chars().count() <= MAX_SERVER_TEXT + 1);
    }
}
