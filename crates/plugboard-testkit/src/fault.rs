//! Faults the double can be told to inject, and the endpoints they apply to.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

/// A way for the double to misbehave on one endpoint, set from a test with
/// [`OpenRouterDouble::set_fault`](crate::OpenRouterDouble::set_fault) or
/// [`OpenRouterDouble::fail_next`](crate::OpenRouterDouble::fail_next).
///
/// A fault replaces the endpoint's answer and leaves codes and keys untouched, except `Slow`,
/// which delays the normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an OpenRouter-style error body
    /// `{"error":{"code":<status>,"message":"..."}}`.
    Status(u16),
    /// Answer 503 once, then behave normally again.
    ServiceUnavailableOnce,
    /// Wait this long, then give the normal answer.
    Slow(Duration),
    /// Answer 200 with an HTML page instead of JSON.
    NotJson,
    /// Answer 200 with a JSON body over 1 MiB, sent chunked without a `Content-Length`, so only
    /// a client that counts the bytes it reads stops it.
    Oversized,
    /// Read the request, then drop the connection with a TCP reset and no response.
    ConnectionReset,
    /// Answer 200 with the success body minus its essential part: an exchange without `key`,
    /// a chat completion without `choices`, key info or a model list without `data`.
    MissingKey,
    /// Answer 200 with the essential part empty: `{"key":""}`, an empty reply, an empty label,
    /// an empty model list.
    EmptyKey,
    /// Refuse as if the credential had been spent: an exchange answers 403 as for a used code
    /// (without spending the code), other endpoints 401 as for an unknown key.
    ReusedCode,
}

impl Fault {
    /// Whether the fault clears itself after it has fired once.
    pub fn is_once(self) -> bool {
        matches!(self, Self::ServiceUnavailableOnce)
    }
}

/// The endpoints a fault can be set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /api/v1/auth/keys`, the code exchange.
    Exchange,
    /// `POST /api/v1/chat/completions`.
    Chat,
    /// `GET /api/v1/key`, the key-info lookup.
    KeyInfo,
    /// `GET /api/v1/models`, the model list.
    Models,
}

impl Endpoint {
    pub(crate) const ALL: [Self; 4] = [Self::Exchange, Self::Chat, Self::KeyInfo, Self::Models];

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Exchange => 0,
            Self::Chat => 1,
            Self::KeyInfo => 2,
            Self::Models => 3,
        }
    }
}

/// A fault name that [`Fault::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "unknown fault {0:?}: use status:<code>, unavailable-once, slow:<N>ms|<N>s, not-json, \
     oversized, reset, missing-key, empty-key or reused-code"
)]
pub struct ParseFaultError(pub String);

/// The names the command line uses, e.g. `status:500`, `slow:250ms`, `reset`.
impl FromStr for Fault {
    type Err = ParseFaultError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let unknown = || ParseFaultError(name.to_owned());
        let fault = match name {
            "unavailable-once" => Self::ServiceUnavailableOnce,
            "not-json" => Self::NotJson,
            "oversized" => Self::Oversized,
            "reset" => Self::ConnectionReset,
            "missing-key" => Self::MissingKey,
            "empty-key" => Self::EmptyKey,
            "reused-code" => Self::ReusedCode,
            _ => {
                if let Some(code) = name.strip_prefix("status:") {
                    let code: u16 = code.parse().map_err(|_| unknown())?;
                    if !(100..=999).contains(&code) {
                        return Err(unknown());
                    }
                    Self::Status(code)
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

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(code) => write!(f, "status:{code}"),
            Self::ServiceUnavailableOnce => f.write_str("unavailable-once"),
            Self::Slow(delay) => write!(f, "slow:{}ms", delay.as_millis()),
            Self::NotJson => f.write_str("not-json"),
            Self::Oversized => f.write_str("oversized"),
            Self::ConnectionReset => f.write_str("reset"),
            Self::MissingKey => f.write_str("missing-key"),
            Self::EmptyKey => f.write_str("empty-key"),
            Self::ReusedCode => f.write_str("reused-code"),
        }
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
    fn every_fault_name_round_trips_through_display() {
        let faults = [
            Fault::Status(500),
            Fault::ServiceUnavailableOnce,
            Fault::Slow(Duration::from_millis(250)),
            Fault::NotJson,
            Fault::Oversized,
            Fault::ConnectionReset,
            Fault::MissingKey,
            Fault::EmptyKey,
            Fault::ReusedCode,
        ];
        for fault in faults {
            assert_eq!(fault.to_string().parse::<Fault>(), Ok(fault));
        }
    }

    #[test]
    fn slow_accepts_seconds_and_milliseconds() {
        assert_eq!("slow:2s".parse(), Ok(Fault::Slow(Duration::from_secs(2))));
        assert_eq!(
            "slow:20ms".parse(),
            Ok(Fault::Slow(Duration::from_millis(20)))
        );
    }

    #[test]
    fn unknown_or_malformed_fault_names_are_refused() {
        for name in [
            "",
            "boom",
            "status:",
            "status:99",
            "status:abc",
            "slow:5",
            "slow:ms",
        ] {
            assert!(name.parse::<Fault>().is_err(), "{name:?} parsed");
        }
    }

    #[test]
    fn only_service_unavailable_once_clears_itself() {
        assert!(Fault::ServiceUnavailableOnce.is_once());
        assert!(!Fault::Status(503).is_once());
    }
}
