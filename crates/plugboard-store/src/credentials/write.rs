//! Writing the store: every change is one transaction, begun with `BEGIN IMMEDIATE`, waiting
//! for another process's write lock only as long as the caller allows.

use std::time::{Duration, SystemTime};

use plugboard_core::{Credential, CredentialKind, ProfileId, Provenance};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};

use super::material;
use super::rows::{RawRow, SELECT_PROFILES, from_millis, to_millis};
use super::sqlite_error::{is_busy, read_error, write_error};
use super::{BUSY_TIMEOUT, CredentialStore};
use crate::error::StoreError;

/// What a write replaced in a profile that already existed: enough to tell the user what was
/// there (never its secret). A field is `None` when the old row held something undecodable.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplacedProfile {
    /// The profile that was overwritten.
    pub profile_id: ProfileId,
    /// The old credential's kind.
    pub kind: Option<CredentialKind>,
    /// The old credential's provenance.
    pub provenance: Option<Provenance>,
    /// When the old credential was written.
    pub updated_at: Option<SystemTime>,
}

/// What [`CredentialStore::remove_damaged`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DamagedRemoval {
    /// The damaged row was deleted.
    Removed,
    /// No row has that id.
    NotStored,
    /// The row decodes fine, so it is a profile like any other and was left alone.
    NotDamaged(ProfileId),
}

/// Writes one profile: a new row, or an existing one keeping its `created_at`. A written
/// credential is a fresh sign-in or refresh, so it clears `needs_signin`. Parameters are
/// [`upsert_params`].
pub(super) const UPSERT: &str = "INSERT INTO profiles
        (profile_id, provider, name, kind, secret, provenance, created_at, updated_at, needs_signin)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, NULL)
    ON CONFLICT (profile_id) DO UPDATE SET
        provider = excluded.provider,
        name = excluded.name,
        kind = excluded.kind,
        secret = excluded.secret,
        provenance = excluded.provenance,
        updated_at = excluded.updated_at,
        needs_signin = NULL";

/// The parameters of [`UPSERT`]: `now` in Unix milliseconds.
pub(super) fn upsert_params(
    id: &ProfileId,
    credential: &Credential,
    now: i64,
) -> impl rusqlite::Params {
    // A Map of Values always serializes; the fallback only keeps the code panic-free.
    let provenance =
        serde_json::to_string(credential.provenance()).unwrap_or_else(|_| String::from("{}"));
    (
        id.to_string(),
        id.provider().to_owned(),
        id.name().to_owned(),
        credential.kind().as_str(),
        material::encode(credential),
        provenance,
        now,
    )
}

impl CredentialStore {
    /// Writes every profile in one transaction: either all are stored or, on any error, none.
    /// An existing profile keeps its `created_at`; every written profile gets `updated_at = now`.
    /// Clears each written profile's `needs_signin`: a new sign-in fixes it.
    /// Returns what was overwritten, so the caller can say what a sign-in replaced. Waits for
    /// another process's write lock as long as every statement does.
    pub fn write_profiles<'a>(
        &mut self,
        profiles: impl IntoIterator<Item = (&'a ProfileId, &'a Credential)>,
        now: SystemTime,
    ) -> Result<Vec<ReplacedProfile>, StoreError> {
        self.write_profiles_waiting(profiles, now, BUSY_TIMEOUT, || {})
    }

    /// [`CredentialStore::write_profiles`], waiting up to `lock_wait` for another process to
    /// release the write lock, and calling `on_wait` once, before waiting, if the lock is not
    /// free at once (so the caller can say why nothing happens). A sign-in that cannot be
    /// repeated (a key already issued by a service) waits longer than the default.
    pub fn write_profiles_waiting<'a>(
        &mut self,
        profiles: impl IntoIterator<Item = (&'a ProfileId, &'a Credential)>,
        now: SystemTime,
        lock_wait: Duration,
        on_wait: impl FnOnce(),
    ) -> Result<Vec<ReplacedProfile>, StoreError> {
        let path = self.path.clone();
        let now = to_millis(now);
        // Dropping the transaction on an early return rolls it back.
        let tx = self.begin_write(lock_wait, on_wait)?;
        let mut replaced = Vec::new();
        {
            let mut previous = tx
                .prepare("SELECT kind, provenance, updated_at FROM profiles WHERE profile_id = ?1")
                .map_err(write_error(&path))?;
            let mut upsert = tx.prepare(UPSERT).map_err(write_error(&path))?;
            for (id, credential) in profiles {
                // Best effort: an old row that does not decode is still replaced, and said so.
                let old = previous
                    .query_row([id.to_string()], |row| {
                        Ok(ReplacedProfile {
                            profile_id: id.clone(),
                            kind: row
                                .get::<_, String>(0)
                                .ok()
                                .and_then(|k| CredentialKind::from_name(&k)),
                            provenance: row
                                .get::<_, String>(1)
                                .ok()
                                .and_then(|p| serde_json::from_str(&p).ok()),
                            updated_at: row.get::<_, i64>(2).ok().and_then(from_millis),
                        })
                    })
                    .optional()
                    .map_err(write_error(&path))?;
                replaced.extend(old);
                upsert
                    .execute(upsert_params(id, credential, now))
                    .map_err(write_error(&path))?;
            }
        }
        tx.commit().map_err(write_error(&path))?;
        Ok(replaced)
    }

    /// Takes and releases the write lock, waiting up to `lock_wait` for it (and calling
    /// `on_wait` first if it is not free at once). A sign-in that ends with a key issued by a
    /// service calls this before it starts, so a busy store fails it before anything exists
    /// that would then be lost.
    pub fn check_writable(
        &self,
        lock_wait: Duration,
        on_wait: impl FnOnce(),
    ) -> Result<(), StoreError> {
        let tx = self.begin_write(lock_wait, on_wait)?;
        tx.rollback().map_err(write_error(&self.path))
    }

    /// `BEGIN IMMEDIATE`, first without waiting so the caller learns that it must wait, then
    /// waiting up to `lock_wait`; every later statement waits [`BUSY_TIMEOUT`] again.
    pub(super) fn begin_write(
        &self,
        lock_wait: Duration,
        on_wait: impl FnOnce(),
    ) -> Result<Transaction<'_>, StoreError> {
        let write = write_error(&self.path);
        self.conn.busy_timeout(Duration::ZERO).map_err(&write)?;
        let begun = match Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate) {
            Err(e) if is_busy(&e) => {
                on_wait();
                self.conn.busy_timeout(lock_wait).and_then(|()| {
                    Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
                })
            }
            other => other,
        };
        let restored = self.conn.busy_timeout(BUSY_TIMEOUT);
        let tx = begun.map_err(&write)?;
        restored.map_err(&write)?;
        Ok(tx)
    }

    /// Deletes the row whose id is exactly `raw_id`, but only if it is damaged: the one way to
    /// address a row that has no valid profile id. A row that decodes is left alone and
    /// reported as [`DamagedRemoval::NotDamaged`].
    pub fn remove_damaged(&mut self, raw_id: &[u8]) -> Result<DamagedRemoval, StoreError> {
        let path = self.path.clone();
        // One transaction, so the row deleted is the row that was found damaged.
        let tx = self.begin_write(BUSY_TIMEOUT, || {})?;
        // Compared as the bytes it was stored as, whatever they are.
        let row = tx
            .query_row(
                &format!("{SELECT_PROFILES} WHERE profile_id = CAST(?1 AS TEXT)"),
                [raw_id],
                RawRow::read,
            )
            .optional()
            .map_err(read_error(&path))?;
        let Some(row) = row else {
            return Ok(DamagedRemoval::NotStored);
        };
        if let Ok(profile) = row.decode() {
            return Ok(DamagedRemoval::NotDamaged(profile.profile_id));
        }
        tx.execute(
            "DELETE FROM profiles WHERE profile_id = CAST(?1 AS TEXT)",
            [raw_id],
        )
        .map_err(write_error(&path))?;
        tx.commit().map_err(write_error(&path))?;
        Ok(DamagedRemoval::Removed)
    }

    /// Deletes a profile; says whether it was there.
    pub fn remove(&mut self, id: &ProfileId) -> Result<bool, StoreError> {
        let deleted = self
            .conn
            .execute(
                "DELETE FROM profiles WHERE profile_id = ?1",
                [id.to_string()],
            )
            .map_err(write_error(&self.path))?;
        Ok(deleted > 0)
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
