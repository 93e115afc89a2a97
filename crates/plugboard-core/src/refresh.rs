//! Refreshing a credential a provider issued: the [`Refresher`] capability, what it is given
//! and how it fails, and the fixtures the contract harness runs it with.
//!
//! A refresher never writes the store: like a sign-in, it returns the profile to write and the
//! host writes it. The host decides when to refresh (an access token that expires within a
//! minute, or one the service called expired) and makes sure that, across every process
//! sharing the store, only one refresh is sent for one stored token.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use thiserror::Error;

use crate::auth::ProfileWrite;
use crate::context::Clock;
use crate::credential::Credential;
use crate::host::HostServices;
use crate::http::{HttpError, HttpResponse};
use crate::ids::ProfileId;

/// How long before its expiry a host refreshes an access token, so a request sent with it
/// does not race the clock.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The longest a refresh request may take. Shorter than the time another process waits for the
/// store's lock ([`REFRESH_LOCK_WAIT`]), so a waiting process outlasts a slow refresh.
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a process waits for another process's refresh (the store's write lock).
pub const REFRESH_LOCK_WAIT: Duration = Duration::from_secs(30);

/// Everything a refresh may touch, built by the host (or a test) for one refresh.
#[non_exhaustive]
pub struct RefreshContext {
    /// The profile being refreshed: the refresher must return this one.
    pub profile_id: ProfileId,
    /// The stored credential, refresh token included.
    pub credential: Credential,
    /// The same services a sign-in and a model call get. The host bounds the whole refresh by
    /// [`REFRESH_TIMEOUT`], whatever the client's own timeout.
    pub host: HostServices,
    /// The time, for the new credential's expiry and provenance.
    pub clock: Arc<dyn Clock>,
}

impl RefreshContext {
    /// A context refreshing `credential`, stored as `profile_id`.
    pub fn new(
        profile_id: ProfileId,
        credential: Credential,
        host: HostServices,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            profile_id,
            credential,
            host,
            clock,
        }
    }
}

/// Why a refresh gave no new credential. Messages are one line and never contain a token.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The service refused the refresh token for good (OAuth `invalid_grant`: revoked,
    /// expired, or already used): only a new sign-in helps. The host keeps the profile and
    /// marks it as needing one.
    #[error("{service} refused to refresh the sign-in: {detail}")]
    SignInRequired {
        /// The service's name.
        service: String,
        /// What it said, sanitised and without any token.
        detail: String,
    },
    /// The credential has nothing to refresh with (no refresh token).
    #[error("the credential has no refresh token")]
    NotRefreshable,
    /// The service failed or refused for its own reasons; a later try may work.
    #[error("{0}")]
    Service(String),
    /// No complete answer. The message names the service only: what went wrong is the source.
    #[error("{service} could not be reached")]
    Network {
        /// The service's name.
        service: String,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// An answer that is not what the service documents.
    #[error("{0}")]
    BadResponse(String),
    /// The provider's settings cannot be used (an invalid base URL, ...).
    #[error("{0}")]
    Config(String),
}

/// Refreshes credentials of one provider: trades a refresh token for new tokens, or renews
/// the short-lived [`SessionToken`](crate::SessionToken) derived from the stored secret.
#[async_trait]
pub trait Refresher: Send + Sync {
    /// Whether this refresher can renew `credential` without the user. By default: an OAuth
    /// credential with a refresh token.
    fn can_refresh(&self, credential: &Credential) -> bool {
        credential.refreshable()
    }

    /// Whether `credential` must be renewed before it is used at `now`. By default: it can be
    /// refreshed and expires within [`REFRESH_MARGIN`]. A provider that derives a session
    /// token says so when that token is missing or about to expire.
    fn due(&self, credential: &Credential, now: SystemTime) -> bool {
        self.can_refresh(credential) && credential.expires_within(now, REFRESH_MARGIN)
    }

    /// Trades `ctx.credential` for a new credential, returned as the profile `ctx.profile_id`
    /// to write. A service that rotates refresh tokens hands out a new one, which replaces the
    /// old; one that does not leaves the old one in place. A provider deriving a session token
    /// keeps the stored secret and replaces only the session.
    async fn refresh(&self, ctx: &RefreshContext) -> Result<ProfileWrite, RefreshError>;
}

/// How a refresh fixture must end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshExpectation {
    /// The refresh succeeds with this access token and this refresh token (the rotated one, or
    /// the old one when the service sent none).
    Refreshed {
        /// The new access token.
        access_token: String,
        /// The refresh token the new credential must hold.
        refresh_token: String,
    },
    /// The stored secret is kept as it was, and a new session token with this value is cached
    /// beside it (a provider deriving session tokens).
    SessionRenewed {
        /// The new session token.
        session_token: String,
    },
    /// The service refused the refresh token: [`RefreshError::SignInRequired`].
    SignInRequired,
}

/// A scripted refresh for the contract harness: the stored credential, the service's answers,
/// and how the refresh must end. A provider with a [`Refresher`] registers fixtures showing a
/// refresh that keeps the refresh token, one that rotates it, and one refused with
/// `invalid_grant`; one deriving session tokens shows a renewed session and a refused one.
#[derive(Debug, Clone)]
pub struct RefreshFixture {
    /// Names the case in reports (`a rotated refresh token replaces the old one`).
    pub name: String,
    /// The stored credential to refresh (kind `oauth`, with a refresh token).
    pub credential: Credential,
    /// Answers to the refresher's requests, in order (see [`crate::ScriptedHttp`]).
    pub replies: Vec<Result<HttpResponse, HttpError>>,
    /// How it must end.
    pub expect: RefreshExpectation,
}

impl RefreshFixture {
    /// A refresh of `credential`, answered with `replies`, that must end as `expect` says.
    pub fn new(
        name: &str,
        credential: Credential,
        replies: Vec<Result<HttpResponse, HttpError>>,
        expect: RefreshExpectation,
    ) -> Self {
        Self {
            name: name.to_owned(),
            credential,
            replies,
            expect,
        }
    }
}
