//! Why a device-code sign-in ended without tokens, and how that reaches the host.

use plugboard_core::{AuthError, HttpError};
use thiserror::Error;

/// Why a device-code sign-in produced no tokens. Messages are one line and never carry the
/// device code, the user code or a token; a service's own words appear only sanitised, with
/// those scrubbed out.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DeviceCodeError {
    /// The user (or the service on their behalf) refused the sign-in (`access_denied`).
    #[error("the {service} sign-in was denied")]
    Denied {
        /// The service's name.
        service: String,
    },
    /// The device code expired before the user confirmed it: the service said `expired_token`,
    /// or the code's `expires_in` passed.
    #[error("the {service} code expired before the sign-in was confirmed: run the login again")]
    Expired {
        /// The service's name.
        service: String,
    },
    /// The login's own time limit (the host's `--timeout`) passed first.
    #[error("no sign-in was confirmed within {seconds} s")]
    TimedOut {
        /// The limit, in whole seconds.
        seconds: u64,
    },
    /// The service answered with an error this flow does not wait through (an unknown `error`
    /// code, or a failure status without one).
    #[error("{service} answered the device sign-in with an error: {detail}")]
    Service {
        /// The service's name.
        service: String,
        /// The error code and description (or the HTTP status), sanitised and scrubbed.
        detail: String,
    },
    /// A request got no complete answer; why is the source, so it is said once.
    #[error("cannot reach {service} for the device sign-in")]
    Network {
        /// The service's name.
        service: String,
        /// What the HTTP client reported.
        #[source]
        source: HttpError,
    },
    /// A success answer that is not what RFC 8628 describes (not JSON, a field missing, a
    /// verification URL that is not https).
    #[error("{service}'s answer to the device sign-in {detail}")]
    BadResponse {
        /// The service's name.
        service: String,
        /// What is wrong with it, as a predicate ("has no user code").
        detail: String,
    },
}

impl From<DeviceCodeError> for AuthError {
    fn from(error: DeviceCodeError) -> Self {
        match error {
            e @ (DeviceCodeError::Denied { .. }
            | DeviceCodeError::Expired { .. }
            | DeviceCodeError::Service { .. }
            | DeviceCodeError::BadResponse { .. }) => Self::Service(e.to_string()),
            // Kept typed: the host can recognise a timeout and name its own option for a
            // longer wait, and a network failure keeps its cause as the error's source.
            e @ (DeviceCodeError::TimedOut { .. } | DeviceCodeError::Network { .. }) => {
                Self::other(e)
            }
        }
    }
}
