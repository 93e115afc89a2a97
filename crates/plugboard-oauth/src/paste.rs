//! The paste fallback: when the browser cannot reach this machine's loopback (SSH, no display),
//! the user copies the address the browser landed on and pastes it. It is judged by the same
//! rules as a loopback callback: the state first, then an error, then the code.

use thiserror::Error;
use url::Url;

use crate::callback::{CallbackOutcome, CallbackParams, Rejection};
use crate::state::State;

/// A pasted redirect that cannot finish the sign-in; each message says what to paste instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PasteError {
    /// Nothing but whitespace or quotes.
    #[error("nothing was pasted: paste the redirect URL from the browser's address bar")]
    Empty,
    /// A lone value, most likely the code copied on its own.
    #[error(
        "that looks like a bare code: paste the whole redirect URL from the browser's address bar, because it carries the state that ties it to this sign-in"
    )]
    BareCode,
    /// No `state` parameter.
    #[error(
        "the pasted text has no state: paste the whole redirect URL from the browser's address bar after signing in"
    )]
    MissingState,
    /// A `state` from another sign-in (or forged).
    #[error(
        "the pasted redirect belongs to a different sign-in (its state does not match): paste the redirect URL from the sign-in started by this command"
    )]
    WrongState,
    /// The right state but neither a code nor an error.
    #[error(
        "the pasted redirect has no code: finish signing in in the browser, then paste the URL it lands on"
    )]
    MissingCode,
}

impl From<Rejection> for PasteError {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::MissingState => Self::MissingState,
            Rejection::WrongState => Self::WrongState,
            Rejection::MissingCode => Self::MissingCode,
        }
    }
}

/// Reads what the user pasted: a full redirect URL (any host, port and path) or its bare query
/// string (`state=...&code=...`, with or without the `?`). Surrounding whitespace and one pair
/// of matching quotes are ignored. Only a redirect carrying `state` is accepted.
pub fn parse_pasted_redirect(input: &str, state: &State) -> Result<CallbackOutcome, PasteError> {
    let text = unquote(input.trim());
    if text.is_empty() {
        return Err(PasteError::Empty);
    }
    if !text.contains(['=', '?', '/']) {
        return Err(PasteError::BareCode);
    }
    let query = match Url::parse(text) {
        Ok(url) => url.query().unwrap_or("").to_owned(),
        // Not an absolute URL: a query string, possibly after a relative path.
        Err(_) => {
            let without_fragment = text.split_once('#').map_or(text, |(before, _)| before);
            without_fragment
                .split_once('?')
                .map_or(without_fragment, |(_, query)| query)
                .to_owned()
        }
    };
    Ok(CallbackParams::parse(&query).judge(state)?)
}

fn unquote(text: &str) -> &str {
    for quote in ['"', '\'', '`'] {
        if let Some(inner) = text
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner.trim();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use plugboard_core::FixedRandom;
    use secrecy::ExposeSecret;

    use super::*;

    fn percent_encode_all(text: &str) -> String {
        text.bytes().map(|b| format!("%{b:02X}")).collect()
    }

    #[test]
    fn pasted_redirects_are_judged_like_callbacks() {
        let state = State::generate(&FixedRandom(4));
        let s = state.as_str();
        let wrong = State::generate(&FixedRandom(5));
        let w = wrong.as_str();
        let encoded = percent_encode_all(s);
        let cases: Vec<(String, Result<&str, PasteError>)> = vec![
            (
                format!("http://localhost:3000/openrouter-oauth/callback?state={s}&code=abc"),
                Ok("code abc"),
            ),
            (
                format!("https://elsewhere.example:8443/any/path?code=abc&state={s}"),
                Ok("code abc"),
            ),
            (
                format!("http://localhost:3000/cb?state={s}&code=abc#fragment=ignored"),
                Ok("code abc"),
            ),
            (format!("state={s}&code=abc"), Ok("code abc")),
            (format!("?state={s}&code=abc"), Ok("code abc")),
            (format!("/cb?state={s}&code=abc#frag"), Ok("code abc")),
            (format!("  \t?state={s}&code=abc\n"), Ok("code abc")),
            (format!("\"state={s}&code=abc\""), Ok("code abc")),
            (
                format!("'http://localhost/cb?state={s}&code=abc'"),
                Ok("code abc"),
            ),
            (format!("` state={s}&code=abc `"), Ok("code abc")),
            (
                format!("state={encoded}&code=a%2Fb%20c+d"),
                Ok("code a/b c d"),
            ),
            (
                format!(
                    "http://localhost/cb?state={s}&error=access_denied&error_description=User+said+no"
                ),
                Ok("denied access_denied: User said no"),
            ),
            (
                format!("state={s}&error=access_denied"),
                Ok("denied access_denied"),
            ),
            (String::new(), Err(PasteError::Empty)),
            ("   ".to_owned(), Err(PasteError::Empty)),
            ("\"\"".to_owned(), Err(PasteError::Empty)),
            ("abc123".to_owned(), Err(PasteError::BareCode)),
            ("'abc123'".to_owned(), Err(PasteError::BareCode)),
            ("code=abc".to_owned(), Err(PasteError::MissingState)),
            (
                "http://localhost:3000/cb".to_owned(),
                Err(PasteError::MissingState),
            ),
            (
                "http://localhost:3000/cb?code=abc".to_owned(),
                Err(PasteError::MissingState),
            ),
            (
                format!("http://localhost/cb#state={s}&code=abc"),
                Err(PasteError::MissingState),
            ),
            (format!("state={w}&code=abc"), Err(PasteError::WrongState)),
            (
                format!("state={w}&error=access_denied"),
                Err(PasteError::WrongState),
            ),
            (format!("state={s}x&code=abc"), Err(PasteError::WrongState)),
            (format!("state={s}"), Err(PasteError::MissingCode)),
            (format!("state={s}&code="), Err(PasteError::MissingCode)),
        ];
        for (input, want) in cases {
            let got = parse_pasted_redirect(&input, &state).map(|outcome| match outcome {
                CallbackOutcome::Code(code) => format!("code {}", code.expose_secret()),
                CallbackOutcome::Denied { error, description } => match description {
                    Some(description) => format!("denied {error}: {description}"),
                    None => format!("denied {error}"),
                },
            });
            assert_eq!(got.as_deref().map_err(Clone::clone), want, "{input:?}");
        }
    }

    #[test]
    fn every_paste_error_is_one_lowercase_line_saying_what_to_paste() {
        let errors = [
            PasteError::Empty,
            PasteError::BareCode,
            PasteError::MissingState,
            PasteError::WrongState,
            PasteError::MissingCode,
        ];
        for error in errors {
            let message = error.to_string();
            assert!(!message.contains('\n'), "{message}");
            assert!(!message.ends_with('.'), "{message}");
            assert!(message.starts_with(char::is_lowercase), "{message}");
            assert!(message.contains("paste"), "{message}");
        }
    }
}
