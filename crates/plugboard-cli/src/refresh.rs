//! Refreshing a stored credential, once across every process that shares the store.
//!
//! Many plugboard processes may find the same access token expiring at once. Services rotate
//! refresh tokens and revoke the whole token family when one is used twice, so two refreshes
//! of one token would sign the user out. Here a refresh takes the store's write lock, reads the
//! profile again, and sends the refresh only if the stored credential is still the one this
//! process read; otherwise another process has just refreshed it and its result is used. The
//! lock is held around that one request only, whose timeout ([`REFRESH_TIMEOUT`]) is shorter
//! than how long a waiting process waits for the lock ([`REFRESH_LOCK_WAIT`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use plugboard_core::{
    Clock, Credential, HostServices, ProfileId, Provider, REFRESH_LOCK_WAIT, REFRESH_TIMEOUT,
    RefreshContext, RefreshError, sanitize_line,
};
use thiserror::Error;

use plugboard_store::{CredentialStore, StoreError};

use crate::output::note;

/// How long a refresh waiting for the store's lock sleeps between tries.
const LOCK_RETRY: Duration = Duration::from_millis(50);

/// Why a stored credential could not be refreshed. The host adds advice (the login command).
#[derive(Debug, Error)]
pub(crate) enum RefreshFailure {
    /// The provider has no refresher, or its refresher cannot renew the credential (no refresh
    /// token).
    #[error("the {kind} of profile {profile} cannot be refreshed")]
    NotRefreshable {
        /// The profile.
        profile: ProfileId,
        /// Its credential's kind.
        kind: String,
    },
    /// An earlier refresh was refused for good; only a new sign-in helps.
    #[error("profile {profile} needs a new sign-in ({reason})")]
    NeedsSignIn {
        /// The profile.
        profile: ProfileId,
        /// Why, as recorded when the refresh was refused.
        reason: String,
    },
    /// The profile was removed (or damaged) while this process waited.
    #[error("profile {0} is no longer stored")]
    Gone(ProfileId),
    /// The provider answered with a profile other than the one it was asked to refresh.
    #[error("{provider} refreshed profile {returned} when asked for {asked}: nothing was stored")]
    WrongProfile {
        /// The provider's id.
        provider: String,
        /// The profile asked for.
        asked: ProfileId,
        /// The profile it returned.
        returned: ProfileId,
    },
    /// The refresh did not finish within its time limit.
    #[error("the refresh of profile {0} did not finish within {secs} s", secs = REFRESH_TIMEOUT.as_secs())]
    TimedOut(ProfileId),
    /// The provider's refresh failed.
    #[error(transparent)]
    Refresh(#[from] RefreshError),
}

impl RefreshFailure {
    /// Whether only a new sign-in can fix it.
    pub(crate) fn needs_signin(&self) -> bool {
        matches!(
            self,
            Self::NotRefreshable { .. }
                | Self::NeedsSignIn { .. }
                | Self::Gone(_)
                | Self::Refresh(RefreshError::SignInRequired { .. } | RefreshError::NotRefreshable)
        )
    }
}

/// Held by the refresh this process is making, if any.
static IN_PROCESS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The credential to use for `profile`, whose credential this process read as `read`: the one
/// another process stored if it already refreshed it, else a fresh one from the provider, stored
/// here. It refreshes with the services (`host`) of the call it is for: one HTTP client, so the
/// refresh costs one request and no second client. A refresh the service refuses for good
/// marks the profile as needing a new sign-in; the profile itself is kept.
pub(crate) async fn refresh_profile(
    store: &mut CredentialStore,
    provider: &dyn Provider,
    profile: &ProfileId,
    read: &Credential,
    host: HostServices,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Credential> {
    let not_refreshable = || RefreshFailure::NotRefreshable {
        profile: profile.clone(),
        kind: read.kind().to_string(),
    };
    // The provider's refresher says what it can renew: a refresh token for most, the stored
    // token a session is derived from for a provider like GitHub Copilot.
    let Some(refresher) = provider.refresher() else {
        return Err(not_refreshable().into());
    };
    if !refresher.can_refresh(read) {
        return Err(not_refreshable().into());
    }
    // One refresh at a time in this process, so that a wait for the store's lock is always a
    // wait for another process, as the note says (`models list` may find two providers due).
    let _one_here = IN_PROCESS.lock().await;
    // The wait for the lock is this task's, never the thread's: `models list` refreshes several
    // providers' credentials at once on one thread, and SQLite's own wait (a sleep on that
    // thread) would stop the refresh holding the lock from finishing, until its time was up and
    // its answer (perhaps a rotated refresh token) was dropped.
    let deadline = Instant::now() + REFRESH_LOCK_WAIT;
    let mut waiting = false;
    let lock = loop {
        match store.lock_profile(profile, Duration::ZERO, || {}) {
            Err(StoreError::Busy { .. }) if Instant::now() < deadline => {
                if !waiting {
                    note(&format!(
                        "waiting for another plugboard process to finish refreshing {profile}"
                    ));
                    waiting = true;
                }
                tokio::time::sleep(LOCK_RETRY).await;
            }
            taken => break taken?,
        }
    };
    let Some(current) = lock.current() else {
        lock.release()?;
        return Err(RefreshFailure::Gone(profile.clone()).into());
    };
    if let Some(reason) = &current.needs_signin {
        let reason = sanitize_line(reason, 200);
        lock.release()?;
        return Err(RefreshFailure::NeedsSignIn {
            profile: profile.clone(),
            reason,
        }
        .into());
    }
    if !current.credential.same_secrets(read) {
        let stored = current.credential.clone();
        lock.release()?;
        return Ok(stored);
    }

    let ctx = RefreshContext::new(
        profile.clone(),
        current.credential.clone(),
        host,
        clock.clone(),
    );
    // The lock is never held longer than waiters wait, whatever the client's own timeout (a
    // model call's is longer) and however many requests the provider makes.
    let outcome = tokio::time::timeout(REFRESH_TIMEOUT, refresher.refresh(&ctx)).await;
    match outcome {
        Ok(Ok(write)) if &write.profile_id == profile => {
            lock.replace(&write.credential, clock.now())?;
            Ok(write.credential)
        }
        Ok(Ok(write)) => {
            lock.release()?;
            Err(RefreshFailure::WrongProfile {
                provider: provider.id().to_owned(),
                asked: profile.clone(),
                returned: write.profile_id,
            }
            .into())
        }
        // The reason kept is the error's own words: a provider renewing a session (Copilot)
        // has no refresh token for the service to have refused.
        Ok(Err(error @ RefreshError::SignInRequired { .. })) => {
            lock.mark_needs_signin(&error.to_string())?;
            Err(RefreshFailure::from(error).into())
        }
        Ok(Err(other)) => {
            lock.release()?;
            Err(RefreshFailure::from(other).into())
        }
        Err(_elapsed) => {
            lock.release()?;
            Err(RefreshFailure::TimedOut(profile.clone()).into())
        }
    }
}
