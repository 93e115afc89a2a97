//! Reading a callback's query string and judging it against the login's state: the one place
//! that decides whether a request ends the login, shared by the server and pasted redirects.

use super::CallbackOutcome;
use crate::state::State;

/// Longest text echoed from a callback into a page or a message.
const MAX_ECHO_CHARS: usize = 300;

/// Text from a callback made safe to show by the core's one-line sanitiser: no escape
/// sequences, controls or direction overrides (a terminal would obey them), at most
/// [`MAX_ECHO_CHARS`] characters.
fn clean_echo(text: &str) -> String {
    plugboard_core::sanitize_line(text, MAX_ECHO_CHARS)
}

/// The parameters of a callback's query string; the first of each name counts.
#[derive(Debug, Default)]
pub(crate) struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Why a callback's parameters do not end the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    MissingState,
    WrongState,
    MissingCode,
}

impl CallbackParams {
    /// Reads a query string (without its `?`), percent- and `+`-decoding the values.
    pub(crate) fn parse(query: &str) -> Self {
        let mut params = Self::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*name {
                "state" => &mut params.state,
                "code" => &mut params.code,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }

    /// What these parameters mean for a login waiting for `state`. The state is checked
    /// first, so an `error` without it is only a stray request.
    pub(crate) fn judge(self, state: &State) -> Result<CallbackOutcome, Rejection> {
        let given = self.state.ok_or(Rejection::MissingState)?;
        if !state.matches(&given) {
            return Err(Rejection::WrongState);
        }
        if let Some(error) = self.error.filter(|e| !e.is_empty()) {
            return Ok(CallbackOutcome::Denied {
                error: clean_echo(&error),
                description: self
                    .error_description
                    .map(|d| clean_echo(&d))
                    .filter(|d| !d.is_empty()),
            });
        }
        match self.code.filter(|c| !c.is_empty()) {
            Some(code) => Ok(CallbackOutcome::Code(code.into())),
            None => Err(Rejection::MissingCode),
        }
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::FixedRandom;
    use secrecy::ExposeSecret;

    use super::super::test_support::*;
    use super::*;
    use crate::testing::get;

    #[tokio::test]
    async fn echoed_text_is_cut_short_and_stripped_of_control_characters() {
        let mut server = any_port().await;
        let long = "x".repeat(1000);
        get(
            v4(&server),
            &callback(&format!(
                "{}&error=bad%1B%5B31m&error_description={long}",
                right_state()
            )),
        )
        .await;
        match server.wait().await {
            CallbackOutcome::Denied { error, description } => {
                assert_eq!(error, "bad");
                let description = description.unwrap();
                assert_eq!(description.chars().count(), MAX_ECHO_CHARS + 1);
                assert!(description.ends_with('…'), "{description}");
            }
            other => panic!("expected a denial, got {other:?}"),
        }
    }

    #[test]
    fn callback_params_are_judged_state_first() {
        let right = right_state();
        let wrong = format!("state={}", State::generate(&FixedRandom(10)).as_str());
        let cases: [(String, Result<&str, Rejection>); 9] = [
            (format!("{right}&code=abc"), Ok("code abc")),
            (format!("code=abc&{right}"), Ok("code abc")),
            (format!("{right}&code=a%2Fb+c"), Ok("code a/b c")),
            (
                format!("{right}&error=access_denied&code=abc"),
                Ok("denied access_denied"),
            ),
            (format!("{right}&error=&code=abc"), Ok("code abc")),
            (format!("{wrong}&code=abc"), Err(Rejection::WrongState)),
            (
                format!("{wrong}&error=access_denied"),
                Err(Rejection::WrongState),
            ),
            ("code=abc&error=x".to_owned(), Err(Rejection::MissingState)),
            (format!("{right}&code="), Err(Rejection::MissingCode)),
        ];
        for (query, want) in cases {
            let got = CallbackParams::parse(&query)
                .judge(&state())
                .map(|outcome| match outcome {
                    CallbackOutcome::Code(code) => format!("code {}", code.expose_secret()),
                    CallbackOutcome::Denied { error, .. } => format!("denied {error}"),
                });
            assert_eq!(got.as_deref().map_err(|e| *e), want, "{query}");
        }
    }
}
