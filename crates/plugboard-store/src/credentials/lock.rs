//! Refreshing one profile under the store's write lock: the host takes the lock, reads the
//! profile as it is now (another process may have refreshed it meanwhile), and either writes
//! what its refresh returned, notes that the profile needs a new sign-in, or writes nothing.
//! Everything it writes is one transaction, like every other write.

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use plugboard_core::{Credential, ProfileId};
use rusqlite::{OptionalExtension, Transaction};

use super::CredentialStore;
use super::rows::{RawRow, SELECT_PROFILES, StoredProfile, to_millis};
use super::sqlite_error::{read_error, write_error};
use super::write::{UPSERT, upsert_params};
use crate::error::StoreError;

/// The store's write lock, held while one profile is refreshed, so that of several processes
/// refreshing at once only the first trades the refresh token and the rest read its result.
/// Dropping it releases the lock and writes nothing. Its `Debug` shows no secret.
pub struct ProfileLock<'a> {
    tx: Transaction<'a>,
    path: &'a Path,
    profile_id: ProfileId,
    current: Option<StoredProfile>,
}

impl CredentialStore {
    /// Takes the write lock (`BEGIN IMMEDIATE`), waiting up to `lock_wait` for another process
    /// to release it and calling `on_wait` once, before waiting, if it is not free at once (as
    /// [`CredentialStore::write_profiles_waiting`] does), then reads `id` inside the
    /// transaction. Hold it only around one refresh request: every other writer waits.
    pub fn lock_profile(
        &mut self,
        id: &ProfileId,
        lock_wait: Duration,
        on_wait: impl FnOnce(),
    ) -> Result<ProfileLock<'_>, StoreError> {
        let store: &Self = self;
        let tx = store.begin_write(lock_wait, on_wait)?;
        let row = tx
            .query_row(
                &format!("{SELECT_PROFILES} WHERE profile_id = ?1"),
                [id.to_string()],
                RawRow::read,
            )
            .optional()
            .map_err(read_error(&store.path))?;
        Ok(ProfileLock {
            tx,
            path: &store.path,
            profile_id: id.clone(),
            // A damaged row cannot be refreshed: the caller treats it as no profile, and
            // listing the store shows it damaged.
            current: row.and_then(|row| row.decode().ok()),
        })
    }
}

impl ProfileLock<'_> {
    /// The profile as stored now (`None` when it is gone or its row is damaged).
    pub fn current(&self) -> Option<&StoredProfile> {
        self.current.as_ref()
    }

    /// Writes `credential` as this profile (keeping `created_at`, with `updated_at = now` and
    /// `needs_signin` cleared), commits, and so releases the lock.
    pub fn replace(self, credential: &Credential, now: SystemTime) -> Result<(), StoreError> {
        let write = write_error(self.path);
        self.tx
            .execute(
                UPSERT,
                upsert_params(&self.profile_id, credential, to_millis(now)),
            )
            .map_err(&write)?;
        self.tx.commit().map_err(&write)
    }

    /// Keeps the credential, records `reason` as why the profile needs a new sign-in (a
    /// refresh was refused for good), commits, and so releases the lock. Does nothing to a
    /// profile that is gone.
    pub fn mark_needs_signin(self, reason: &str) -> Result<(), StoreError> {
        let write = write_error(self.path);
        self.tx
            .execute(
                "UPDATE profiles SET needs_signin = ?2 WHERE profile_id = ?1",
                (self.profile_id.to_string(), reason),
            )
            .map_err(&write)?;
        self.tx.commit().map_err(&write)
    }

    /// Releases the lock without writing.
    pub fn release(self) -> Result<(), StoreError> {
        let write = write_error(self.path);
        self.tx.rollback().map_err(write)
    }
}

impl fmt::Debug for ProfileLock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // StoredProfile's Debug shows the credential redacted.
        f.debug_struct("ProfileLock")
            .field("path", &self.path)
            .field("profile_id", &self.profile_id)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "lock_tests.rs"]
mod tests;
