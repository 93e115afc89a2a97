//! Ollama's own words in an error answer (`{"error": "..."}`, the one shape its errors page
//! documents), made safe to show with the core's scrubber and sanitiser, and what each error
//! status means for the user. Only Ollama's phrasing is here.

use plugboard_core::{HttpResponse, ModelError, sanitize_line, scrub_secret};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The service's name in messages.
pub(crate) const SERVICE: &str = "Ollama";

/// Longest piece of a server's own error text shown to the user. Ollama's are short sentences
/// (`model 'llama3.2' not found`), sometimes with a cause from the model runner appended.
const MAX_SERVER_TEXT: usize = 160;

/// Longest model name repeated in advice; Ollama's names are short (`qwen2.5-coder:7b`).
const MAX_MODEL_NAME: usize = 100;

#[derive(Deserialize)]
struct ErrorReply {
    error: String,
}

/// `body` read as `T` only when it is a JSON object, as every answer of Ollama's API is: serde
/// would otherwise read a struct from an array, taking `[[]]` for an empty model list.
pub(crate) fn from_object<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    match serde_json::from_slice(body).ok()? {
        object @ serde_json::Value::Object(_) => serde_json::from_value(object).ok(),
        _ => None,
    }
}

/// Ollama's words in `body`, with every run of `secret` replaced by `[redacted]` before
/// anything else is done to it (Ollama needs no credential, but whatever the host sends must
/// never come back through an error, however a proxy or server echoes it). `None` when the
/// body is not Ollama's error shape or says nothing.
pub(crate) fn said(body: &[u8], secret: &str) -> Option<String> {
    let reply = from_object::<ErrorReply>(body)?;
    let words = sanitize_line(&scrub_secret(&reply.error, secret), MAX_SERVER_TEXT);
    (!words.is_empty()).then_some(words)
}

/// `meaning`, followed by ` (Ollama said: ...)` when `body` carries Ollama's own words.
pub(crate) fn with_said(meaning: &str, body: &[u8], secret: &str) -> String {
    match said(body, secret) {
        Some(words) => format!("{meaning} ({SERVICE} said: {words})"),
        None => meaning.to_owned(),
    }
}

/// Whether `body` is what an Ollama server answers when a cloud model needs it signed in to
/// ollama.com and it is not: `{"error": "unauthorized", "signin_url": "https://ollama.com/connect?..."}`
/// (the chat handler in `server/routes.go`). The URL itself is not shown: `ollama signin` gives it.
fn asks_for_signin(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|reply| {
        reply
            .get("signin_url")
            .is_some_and(serde_json::Value::is_string)
    })
}

/// `model` made safe to repeat in advice.
pub(crate) fn model_name(model: &str) -> String {
    sanitize_line(model, MAX_MODEL_NAME)
}

/// Which request an error answer came to, for what the status means.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Asked<'a> {
    /// `POST /api/chat` for this model.
    Chat {
        /// The model as the user named it.
        model: &'a str,
    },
    /// `GET /api/tags`.
    Tags,
}

impl Asked<'_> {
    fn path(self) -> &'static str {
        match self {
            Self::Chat { .. } => crate::endpoints::CHAT_PATH,
            Self::Tags => crate::endpoints::TAGS_PATH,
        }
    }
}

/// A refused request as one line: what the status means for the user, plus Ollama's words.
/// Statuses are those Ollama's errors page lists (400, 404, 429, 500, 502), plus 401 and 403:
/// Ollama sends 401 with a `signin_url` for a cloud model while the server is not signed in to
/// ollama.com, and a reverse proxy in front of a server sends either for credentials of its own.
pub(crate) fn refusal(response: &HttpResponse, secret: &str, asked: Asked<'_>) -> ModelError {
    let status = response.status;
    let body = response.body.as_slice();
    let answered = |meaning: &str| {
        with_said(
            &format!("{SERVICE} answered HTTP {status}: {meaning}"),
            body,
            secret,
        )
    };
    match status {
        401 | 403 => {
            let meaning = if asks_for_signin(body) {
                "the server is not signed in to ollama.com, which cloud models need: run `ollama signin` where the server runs"
            } else {
                "plugboard sends Ollama no credentials, so a proxy in front of the server wants some it cannot give"
            };
            ModelError::CredentialRejected {
                service: SERVICE.to_owned(),
                detail: with_said(&format!("HTTP {status}: {meaning}"), body, secret),
            }
        }
        // Ollama answers a model it does not have with its error JSON; anything else at 404 is
        // a router's "page not found", so the address is not an Ollama server's.
        404 => match (asked, said(body, secret)) {
            (Asked::Chat { model }, Some(_)) => ModelError::InvalidRequest(answered(&format!(
                "the model is not on this server: pull it with `ollama pull {}`, or see `ollama list`",
                model_name(model)
            ))),
            _ => ModelError::InvalidRequest(answered(&format!(
                "nothing answers {} there: check that OLLAMA_HOST (or providers.ollama.base_url) names an Ollama server",
                asked.path()
            ))),
        },
        413 => ModelError::InvalidRequest(answered("the prompt is larger than the server accepts")),
        429 => ModelError::RateLimited(answered("too many requests: wait a moment and try again")),
        500..=599 => ModelError::Service(answered(
            "the server failed to answer: see the log of `ollama serve` and try again",
        )),
        400..=499 => ModelError::InvalidRequest(answered("the request was refused")),
        _ => ModelError::Service(answered(
            "unexpected answer: try again, and report it if it persists",
        )),
    }
}

/// A 2xx answer that is not what Ollama documents, as one line.
pub(crate) fn malformed(what: &str) -> ModelError {
    ModelError::BadResponse(format!(
        "{SERVICE}'s answer to {what}: check that OLLAMA_HOST names an Ollama server, and report it if it persists"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollamas_words_are_scrubbed_cleaned_and_cut() {
        let cases = [
            (
                r#"{"error":"model 'llama3.2' not found"}"#,
                "",
                Some("model 'llama3.2' not found"),
            ),
            (r#"{"error":"two\nlines"}"#, "", Some("two lines")),
            (
                r#"{"error":"bad key SK-PBCT-ABCDEF0123456789 here"}"#,
                "sk-pbct-abcdef0123456789",
                Some("bad key [redacted] here"),
            ),
            (
                r#"{"error":"\u001b]0;pwned\u0007red \u001b[2Jalert\u202e"}"#,
                "",
                Some("red alert"),
            ),
            (r#"{"error":"  "}"#, "", None),
            (r#"{"error":{"message":"openai style"}}"#, "", None),
            (r#"{"detail":"x"}"#, "", None),
            (r#"["an array"]"#, "", None),
            ("404 page not found", "", None),
        ];
        for (body, secret, want) in cases {
            assert_eq!(said(body.as_bytes(), secret).as_deref(), want, "{body}");
        }
        let long = "x".repeat(500);
        let body = format!(r#"{{"error":"{long}"}}"#);
        assert!(said(body.as_bytes(), "").unwrap().chars().count() <= MAX_SERVER_TEXT + 1);
    }
}
