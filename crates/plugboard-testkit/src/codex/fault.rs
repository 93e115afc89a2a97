//! Faults the Codex double can be told to inject, and the endpoints they apply to.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

/// A way for the [`CodexDouble`](crate::CodexDouble) to misbehave on one endpoint, set with
/// [`set_fault_on`](crate::CodexDouble::set_fault_on) (until cleared) or
/// [`fail_next_on`](crate::CodexDouble::fail_next_on) (once).
///
/// A fault replaces the endpoint's answer and leaves codes and tokens untouched, except `Slow`,
/// which delays the normal answer, and the two stream faults, which answer 200 after the usual
/// checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodexFault {
    /// Answer with this status, in the endpoint's own error shape: OAuth's
    /// `{"error","error_description"}` on the token endpoint, `{"detail":...}` on the backend
    /// (a 401 there is the invalid-token answer).
    Status(u16),
    /// Answer 429 with a `retry-after` header of this many whole seconds.
    RateLimited {
        /// What `retry-after` says, in seconds.
        retry_after_secs: u32,
    },
    /// Wait this long, then give the normal answer: a refresh slower than another process
    /// wants to wait, or a stream that starts late.
    Slow(Duration),
    /// Read the request, then drop the connection with a TCP reset and no response.
    ConnectionReset,
    /// On `/responses`: stream `response.created` and the first delta, then end the body
    /// without `response.completed` (codex-rs reports "stream closed before
    /// response.completed").
    StreamCut,
    /// On `/responses`: stream `response.created`, then a `response.failed` event carrying an
    /// error, then end.
    ResponseFailed,
    /// On the token endpoint: answer a refresh (or exchange) `invalid_grant` without looking at
    /// the token, leaving every token as it was.
    InvalidGrant,
}

/// The endpoints a [`CodexFault`] can be set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodexEndpoint {
    /// `POST /oauth/token` with `grant_type=authorization_code`.
    Exchange,
    /// `POST /oauth/token` with `grant_type=refresh_token`.
    Refresh,
    /// `POST /backend-api/codex/responses`.
    Responses,
}

impl CodexEndpoint {
    pub(crate) const COUNT: usize = 3;

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Exchange => 0,
            Self::Refresh => 1,
            Self::Responses => 2,
        }
    }
}

/// A fault or endpoint name that the `FromStr` impls do not know.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "unknown codex fault {0:?}: use status:<code>, rate-limited:<secs>, slow:<N>ms|<N>s, reset, \
     stream-cut, response-failed or invalid-grant (endpoints: exchange, refresh, responses)"
)]
pub struct ParseCodexFaultError(pub String);

/// The names the command line uses, e.g. `status:500`, `slow:2s`, `stream-cut`.
impl FromStr for CodexFault {
    type Err = ParseCodexFaultError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let unknown = || ParseCodexFaultError(name.to_owned());
        let fault = match name {
            "reset" => Self::ConnectionReset,
            "stream-cut" => Self::StreamCut,
            "response-failed" => Self::ResponseFailed,
            "invalid-grant" => Self::InvalidGrant,
            _ => {
                if let Some(code) = name.strip_prefix("status:") {
                    let code: u16 = code.parse().map_err(|_| unknown())?;
                    if !(100..=999).contains(&code) {
                        return Err(unknown());
                    }
                    Self::Status(code)
                } else if let Some(secs) = name.strip_prefix("rate-limited:") {
                    Self::RateLimited {
                        retry_after_secs: secs.parse().map_err(|_| unknown())?,
                    }
                } else if let Some(delay) = name.strip_prefix("slow:") {
                    Self::Slow(parse_delay(delay).ok_or_else(unknown)?)
                } else {
                    return Err(unknown());
                }
            }
        };
        Ok(fault)
    }
}

impl fmt::Display for CodexFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(code) => write!(f, "status:{code}"),
            Self::RateLimited { retry_after_secs } => write!(f, "rate-limited:{retry_after_secs}"),
            Self::Slow(delay) => write!(f, "slow:{}ms", delay.as_millis()),
            Self::ConnectionReset => f.write_str("reset"),
            Self::StreamCut => f.write_str("stream-cut"),
            Self::ResponseFailed => f.write_str("response-failed"),
            Self::InvalidGrant => f.write_str("invalid-grant"),
        }
    }
}

/// `exchange`, `refresh` or `responses`.
impl FromStr for CodexEndpoint {
    type Err = ParseCodexFaultError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "exchange" => Ok(Self::Exchange),
            "refresh" => Ok(Self::Refresh),
            "responses" => Ok(Self::Responses),
            _ => Err(ParseCodexFaultError(name.to_owned())),
        }
    }
}

impl fmt::Display for CodexEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Exchange => "exchange",
            Self::Refresh => "refresh",
            Self::Responses => "responses",
        })
    }
}

fn parse_delay(text: &str) -> Option<Duration> {
    if let Some(millis) = text.strip_suffix("ms") {
        millis.parse().ok().map(Duration::from_millis)
    } else if let Some(secs) = text.strip_suffix('s') {
        secs.parse().ok().map(Duration::from_secs)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codex_fault_name_round_trips_through_display() {
        let faults = [
            CodexFault::Status(503),
            CodexFault::RateLimited {
                retry_after_secs: 7,
            },
            CodexFault::Slow(Duration::from_millis(250)),
            CodexFault::ConnectionReset,
            CodexFault::StreamCut,
            CodexFault::ResponseFailed,
            CodexFault::InvalidGrant,
        ];
        for fault in faults {
            assert_eq!(fault.to_string().parse::<CodexFault>(), Ok(fault));
        }
        for endpoint in [
            CodexEndpoint::Exchange,
            CodexEndpoint::Refresh,
            CodexEndpoint::Responses,
        ] {
            assert_eq!(endpoint.to_string().parse::<CodexEndpoint>(), Ok(endpoint));
        }
    }

    #[test]
    fn malformed_codex_fault_names_are_refused() {
        for name in [
            "",
            "boom",
            "status:",
            "status:42",
            "rate-limited:",
            "rate-limited:-1",
            "slow:5",
            "not-json",
        ] {
            assert!(name.parse::<CodexFault>().is_err(), "{name:?} parsed");
        }
        assert!("token".parse::<CodexEndpoint>().is_err());
    }
}
