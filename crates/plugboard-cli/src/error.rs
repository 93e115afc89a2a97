//! How failures become one line on stderr and an exit code: 0 ok, 1 failure, 2 usage.

use std::fmt;
use std::process::ExitCode;

use thiserror::Error;

/// The user asked for something that does not exist or cannot be done as asked: exit 2.
#[derive(Debug, Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// A failure the command already reported on stdout (`--json` prints failures as JSON): the
/// caller prints nothing more, and exits 2 for a usage failure, else 1.
#[derive(Debug, Error)]
#[error("{message}")]
pub(crate) struct Reported {
    /// The one-line message that was reported.
    pub(crate) message: String,
    /// Whether it was a usage failure.
    pub(crate) usage: bool,
}

/// A failure with what the user can do about it, in this CLI's own terms (its flags and
/// commands): the libraries' errors carry the data, and only the host knows its options. The
/// advice ends the line, after every cause, so it is shown as one message without a source.
#[derive(Debug)]
pub(crate) struct Advised {
    /// The failure, with its whole chain.
    pub(crate) error: anyhow::Error,
    /// What to do, e.g. ``sign in again with `plugboard models auth login ...` ``.
    pub(crate) advice: String,
}

impl fmt::Display for Advised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}: {}", self.error, self.advice)
    }
}

impl std::error::Error for Advised {}

/// `error`, with `advice` added when there is some.
pub(crate) fn advised(error: anyhow::Error, advice: Option<String>) -> anyhow::Error {
    match advice {
        Some(advice) => Advised { error, advice }.into(),
        None => error,
    }
}

/// Shorthand for returning a usage error.
pub(crate) fn usage<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(UsageError(message.into()).into())
}

/// The exit code for an error.
pub(crate) fn exit_code(error: &anyhow::Error) -> ExitCode {
    if let Some(advised) = error.downcast_ref::<Advised>() {
        return exit_code(&advised.error);
    }
    let reported_usage = error.downcast_ref::<Reported>().is_some_and(|r| r.usage);
    if error.is::<UsageError>() || reported_usage {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// The error as one line: its context chain joined with ": ", folded to one line by the core's
/// sanitiser (line breaks from lower layers become spaces, terminal escapes are removed).
pub(crate) fn one_line(error: &anyhow::Error) -> String {
    plugboard_core::sanitize_line(&format!("{error:#}"), usize::MAX)
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[test]
    fn usage_errors_exit_2_and_others_exit_1() {
        let usage_err: anyhow::Error = UsageError("unknown provider".into()).into();
        assert_eq!(exit_code(&usage_err), ExitCode::from(2));
        let other = anyhow::anyhow!("disk full");
        assert_eq!(exit_code(&other), ExitCode::from(1));
        let reported = |usage| {
            anyhow::Error::from(Reported {
                message: "m".into(),
                usage,
            })
        };
        assert_eq!(exit_code(&reported(true)), ExitCode::from(2));
        assert_eq!(exit_code(&reported(false)), ExitCode::from(1));
    }

    #[test]
    fn advice_ends_the_line_after_every_cause_and_keeps_the_exit_code() {
        let cause = Err::<(), _>(anyhow::anyhow!("port 3000 on localhost is in use"))
            .context("sign-in failed")
            .unwrap_err();
        let error = advised(cause, Some("pick another with --port".into()));
        assert_eq!(
            one_line(&error),
            "sign-in failed: port 3000 on localhost is in use: pick another with --port"
        );
        assert_eq!(exit_code(&error), ExitCode::from(1));
        let usage_err = advised(UsageError("bad".into()).into(), Some("do this".into()));
        assert_eq!(exit_code(&usage_err), ExitCode::from(2));
        let plain = advised(anyhow::anyhow!("disk full"), None);
        assert_eq!(one_line(&plain), "disk full");
    }

    #[test]
    fn messages_are_folded_to_one_line() {
        let e = Err::<(), _>(anyhow::anyhow!("line one\nline two"))
            .context("cannot save")
            .unwrap_err();
        assert_eq!(one_line(&e), "cannot save: line one line two");
        let e = anyhow::anyhow!("refused \u{1b}]0;pwned\u{7}\u{202e}now");
        assert_eq!(one_line(&e), "refused now");
    }
}
