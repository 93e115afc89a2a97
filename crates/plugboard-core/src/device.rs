//! Fixtures for device-code sign-in (RFC 8628): the service's scripted answers for one case,
//! so the contract harness can hold every device-code method to the same polling rules.

use std::time::Duration;

use crate::http::{HttpError, HttpResponse};

/// Which behaviour a device-code fixture shows. A device-code method registers one fixture of
/// each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceCodeCase {
    /// The token endpoint answers `authorization_pending` twice, then a token: the method
    /// signs in, waiting at least the interval before every poll.
    PendingThenSuccess,
    /// The token endpoint answers `slow_down` once, then a token: every poll after it waits
    /// at least 5 s longer than the interval.
    SlowDown,
    /// The token endpoint answers `expired_token`: the method fails.
    Expired,
    /// The token endpoint answers `access_denied`: the method fails.
    Denied,
}

impl DeviceCodeCase {
    /// Every case, in the order reports list them.
    pub const ALL: [Self; 4] = [
        Self::PendingThenSuccess,
        Self::SlowDown,
        Self::Expired,
        Self::Denied,
    ];

    /// Whether the method must sign in under this case.
    pub fn succeeds(self) -> bool {
        matches!(self, Self::PendingThenSuccess | Self::SlowDown)
    }

    /// The case's name in reports (`slow_down`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingThenSuccess => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::Expired => "expired_token",
            Self::Denied => "access_denied",
        }
    }
}

/// A scripted device-code sign-in for the contract harness: the answers to the method's
/// requests in order (the device-code request first, then each poll), what the device-code
/// answer says, and which case it shows. The harness runs the method on a clock that passes
/// time at once and checks the waits, what was shown to the user, and the outcome.
#[derive(Debug, Clone)]
pub struct DeviceCodeFixture {
    /// Names the case in reports.
    pub name: String,
    /// The method it runs.
    pub method_id: String,
    /// Which behaviour it shows.
    pub case: DeviceCodeCase,
    /// The user code the device-code answer carries: it must be shown to the user.
    pub user_code: String,
    /// The verification URL the device-code answer carries: it must be shown to the user.
    pub verification_uri: String,
    /// The polling interval the device-code answer gives.
    pub interval: Duration,
    /// Answers to the method's requests, in order (see [`crate::ScriptedHttp`]).
    pub replies: Vec<Result<HttpResponse, HttpError>>,
}
