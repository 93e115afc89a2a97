//! Whether something shown gives a token away, the one test every rule about a provider's
//! own tokens (refreshed, renewed, polled for) applies.

use plugboard_core::{MIN_SECRET_RUN, redact, shows_secret};

/// Whether `shown` gives `token` away: a run of [`MIN_SECRET_RUN`] characters of the part after
/// the vendor prefix that redaction shows (all of a token too short for that), compared as the
/// core's scrubber compares (ignoring case and invisible characters).
pub(crate) fn shows_token(shown: &str, token: &str) -> bool {
    let prefix = redact(token).find("...").unwrap_or(0);
    let body = token.get(prefix..).unwrap_or(token);
    let secret = if body.chars().count() >= MIN_SECRET_RUN {
        body
    } else {
        token
    };
    shows_secret(shown, secret)
}

/// Which of `tokens` (by role) an error's `Display` (its whole chain) and `Debug` show, as the
/// phrase a report puts before the role (`the error's Display shows`).
pub(crate) fn shown_in_error<'a>(
    chain: &str,
    debug: &str,
    tokens: &[(&'a str, &str)],
) -> Vec<(&'static str, &'a str)> {
    tokens
        .iter()
        .filter_map(|&(role, token)| {
            let shown = match (shows_token(chain, token), shows_token(debug, token)) {
                (true, true) => "the error's Display and Debug show",
                (true, false) => "the error's Display shows",
                (false, true) => "the error's Debug shows",
                (false, false) => return None,
            };
            Some((shown, role))
        })
        .collect()
}
