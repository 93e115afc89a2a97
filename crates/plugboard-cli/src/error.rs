//! How failures become one line on stderr and an exit code: 0 ok, 1 failure, 2 usage.

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

/// Shorthand for returning a usage error.
pub(crate) fn usage<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(UsageError(message.into()).into())
}

/// The exit code for an error.
pub(crate) fn exit_code(error: &anyhow::Error) -> ExitCode {
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
    fn messages_are_folded_to_one_line() {
        let e = Err::<(), _>(anyhow::anyhow!("line one\nline two"))
            .context("cannot save")
            .unwrap_err();
        assert_eq!(one_line(&e), "cannot save: line one line two");
        let e = anyhow::anyhow!("refused \u{1b}]0;pwned\u{7}\u{202e}now");
        assert_eq!(one_line(&e), "refused now");
    }
}
