//! An error with its causes, for places that show an error without `anyhow`'s `{:#}`: the
//! contract's reports and tests. Each error's message names only its own layer, so walking the
//! `source()` chain says every cause exactly once.

use std::error::Error as StdError;
use std::fmt;

/// Shows `error` and each of its sources in turn, joined with ": ", as anyhow's `{:#}` does.
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use crate::{HttpError, ModelError};

    use super::*;

    #[test]
    fn a_chain_names_each_cause_once() {
        let error = ModelError::Network {
            service: "OpenRouter".into(),
            source: HttpError::Connect {
                host: "127.0.0.1:9".into(),
                reason: "connection refused".into(),
            },
        };
        assert_eq!(
            ErrorChain(&error).to_string(),
            "OpenRouter could not be reached: cannot connect to 127.0.0.1:9: connection refused"
        );
        let alone = HttpError::Unavailable("GET x was not sent".into());
        assert_eq!(
            ErrorChain(&alone).to_string(),
            "no network in this context: GET x was not sent"
        );
    }
}
