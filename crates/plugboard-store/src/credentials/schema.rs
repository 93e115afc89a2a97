//! The store's schema: its migrations, in order, and bringing a store up to date with them.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::CredentialStore;
use super::sqlite_error::open_error;
use crate::error::StoreError;

/// Schema migrations, in order: entry `i` takes the store from `user_version` `i` to `i + 1`.
/// Append only; never edit a released entry.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE profiles (
        profile_id TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        secret TEXT NOT NULL,
        provenance TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX profiles_provider ON profiles (provider);",
    // 1 → 2: the secret column becomes one tagged JSON object (the forms are in `material`),
    // so a token can carry its expiry and OAuth tokens their refresh token. Rows of a kind
    // this migration does not know keep their secret as it was, and stay damaged.
    // `needs_signin` says why a profile needs a new sign-in once a refresh was refused for good.
    "UPDATE profiles SET secret = CASE kind
        WHEN 'api_key' THEN json_object('type', 'api_key', 'key', secret)
        WHEN 'token' THEN json_object('type', 'token', 'token', secret)
        WHEN 'oauth' THEN json_object('type', 'oauth', 'access_token', secret)
        ELSE secret
    END;
    ALTER TABLE profiles ADD COLUMN needs_signin TEXT;",
    // 2 → 3: the `none` form and the oauth form's `session` object (see `material`). No row
    // changes: every schema-2 row is already a schema-3 row. The version is what matters: a
    // plugboard that knows only schema 2 refuses the store ("written by a newer plugboard:
    // upgrade") instead of listing a signed-in local provider or a cached session as damaged
    // rows, and suggesting their removal.
    "-- forms added: {\"type\":\"none\"} and the oauth form's session object",
];

/// The newest schema this build knows.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

impl CredentialStore {
    /// Applies missing migrations, one `BEGIN IMMEDIATE` transaction each. The version is
    /// re-read inside the transaction because another process may have migrated while this
    /// one waited for the lock.
    pub(super) fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        // The common case, an up-to-date store, must not take the write lock.
        if check_version(&path, user_version(&self.conn).map_err(open_error(&path))?)? {
            return Ok(());
        }
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(open_error(&path))?;
            let version = user_version(&tx).map_err(open_error(&path))?;
            if check_version(&path, version)? {
                return Ok(());
            }
            let target = version + 1;
            let migrate_error = |source: rusqlite::Error| StoreError::Migrate {
                path: path.clone(),
                version: target,
                source: source.into(),
            };
            // check_version has ruled out versions outside 0..SCHEMA_VERSION.
            let Some(sql) = usize::try_from(version)
                .ok()
                .and_then(|i| MIGRATIONS.get(i))
            else {
                return Err(StoreError::UnknownSchema {
                    path,
                    found: version,
                });
            };
            tx.execute_batch(sql).map_err(migrate_error)?;
            tx.pragma_update(None, "user_version", target)
                .map_err(migrate_error)?;
            tx.commit().map_err(migrate_error)?;
        }
    }
}

/// Whether a store at `version` is up to date; an error if it is newer than this build.
fn check_version(path: &Path, version: i64) -> Result<bool, StoreError> {
    if version < 0 {
        return Err(StoreError::UnknownSchema {
            path: path.to_owned(),
            found: version,
        });
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(version == SCHEMA_VERSION)
}

pub(super) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{SCHEMA_VERSION, user_version};
    use crate::credentials::CredentialStore;
    use crate::credentials::test_support::{at, credential, fresh, id, ids};
    use crate::error::StoreError;

    #[test]
    fn reopening_an_up_to_date_store_changes_nothing() {
        let (_tmp, path, mut store) = fresh();
        store
            .write_profiles([(&id("a:x"), &credential("sk-a", "paste"))], at(1))
            .unwrap();
        drop(store);
        let store = CredentialStore::open(&path).unwrap();
        assert_eq!(user_version(&store.conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(ids(&store.list().unwrap()), ["a:x"]);
    }

    #[test]
    fn a_store_written_by_a_newer_plugboard_is_refused() {
        let (_tmp, path, store) = fresh();
        drop(store);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();

        let err = CredentialStore::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::TooNew { found, known, .. } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
            "{err:?}"
        );
        assert!(err.to_string().contains("newer plugboard"), "{err}");
        assert!(err.to_string().contains("upgrade plugboard"), "{err}");
    }
}
