//! Rows: what one holds, and turning it back into a profile, or into a damaged row that is
//! listed apart and never carries its secret. Times are stored as Unix milliseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugboard_core::{Credential, CredentialKind, ProfileId, Provenance};
use rusqlite::Row;
use rusqlite::types::ValueRef;

use super::material;

/// Every column of a profile row, in the order [`RawRow::read`] reads them.
pub(super) const SELECT_PROFILES: &str = "SELECT profile_id, provider, name, kind, secret, provenance, created_at, updated_at, needs_signin FROM profiles";

/// A profile as the store holds it.
#[derive(Debug, Clone)]
pub struct StoredProfile {
    /// Which profile this is.
    pub profile_id: ProfileId,
    /// The credential, secret included.
    pub credential: Credential,
    /// When the profile was first written.
    pub created_at: SystemTime,
    /// When the profile was last written.
    pub updated_at: SystemTime,
    /// Why the profile needs a new sign-in, when a refresh was refused for good (the refresh
    /// token revoked, expired or reused); `None` otherwise. A new sign-in clears it.
    pub needs_signin: Option<String>,
}

/// A stored row that cannot be turned back into a profile. It never carries the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRow {
    /// The row's id exactly as stored: the bytes
    /// [`CredentialStore::remove_damaged`](super::CredentialStore::remove_damaged) takes.
    /// Usually text, but a damaged row may hold anything, so it is kept as bytes.
    pub raw_id: Vec<u8>,
    /// The row's provider column, decoded lossily.
    pub provider: String,
    /// What is wrong with the row, in words; never the secret.
    pub problem: String,
}

impl DamagedRow {
    /// The raw id as text, with any bytes that are not UTF-8 replaced. Not safe to print as
    /// it is: it may hold control characters.
    pub fn id_lossy(&self) -> String {
        String::from_utf8_lossy(&self.raw_id).into_owned()
    }
}

/// A row as read from SQLite, before any decoding that could fail for a damaged store. Every
/// column is kept as whatever SQLite holds, so reading never fails on one bad row.
pub(super) struct RawRow {
    profile_id: Vec<u8>,
    provider: Vec<u8>,
    name: Vec<u8>,
    kind: Vec<u8>,
    secret: Vec<u8>,
    provenance: Vec<u8>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    /// `None` for SQL NULL.
    needs_signin: Option<Vec<u8>>,
}

impl RawRow {
    pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        let bytes = |i| -> rusqlite::Result<Vec<u8>> {
            Ok(match row.get_ref(i)? {
                ValueRef::Text(b) | ValueRef::Blob(b) => b.to_vec(),
                // A STRICT table holds only text here; anything else fails to decode later.
                _ => Vec::new(),
            })
        };
        let int = |i| -> rusqlite::Result<Option<i64>> {
            Ok(match row.get_ref(i)? {
                ValueRef::Integer(n) => Some(n),
                _ => None,
            })
        };
        Ok(Self {
            profile_id: bytes(0)?,
            provider: bytes(1)?,
            name: bytes(2)?,
            kind: bytes(3)?,
            secret: bytes(4)?,
            provenance: bytes(5)?,
            created_at: int(6)?,
            updated_at: int(7)?,
            needs_signin: match row.get_ref(8)? {
                ValueRef::Null => None,
                _ => Some(bytes(8)?),
            },
        })
    }

    /// The profile, or the row as damaged. Problems are described without ever quoting the
    /// secret.
    pub(super) fn decode(self) -> Result<StoredProfile, DamagedRow> {
        let damaged = |problem: String| DamagedRow {
            raw_id: self.profile_id.clone(),
            provider: String::from_utf8_lossy(&self.provider).into_owned(),
            problem,
        };
        let utf8 = |column: &str, bytes: &[u8]| {
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| damaged(format!("{column} is not valid UTF-8")))
        };
        let profile_id: ProfileId = utf8("the id", &self.profile_id)?
            .parse()
            .map_err(|e| damaged(format!("{e}")))?;
        if profile_id.provider().as_bytes() != self.provider.as_slice()
            || profile_id.name().as_bytes() != self.name.as_slice()
        {
            return Err(damaged(String::from(
                "provider and name columns disagree with the id",
            )));
        }
        let kind_name = utf8("the kind", &self.kind)?;
        let kind = CredentialKind::from_name(&kind_name)
            .ok_or_else(|| damaged(format!("unknown credential kind {kind_name:?}")))?;
        let provenance: Provenance =
            serde_json::from_str(&utf8("the provenance", &self.provenance)?)
                .map_err(|e| damaged(format!("provenance is not a JSON object: {e}")))?;
        let created_at = self
            .created_at
            .and_then(from_millis)
            .ok_or_else(|| damaged(String::from("creation time out of range")))?;
        let updated_at = self
            .updated_at
            .and_then(from_millis)
            .ok_or_else(|| damaged(String::from("update time out of range")))?;
        let needs_signin = self
            .needs_signin
            .as_deref()
            .map(|note| utf8("the sign-in note", note))
            .transpose()?;
        // Only what is wrong with the secret is said, never any of it.
        let Ok(secret) = std::str::from_utf8(&self.secret) else {
            return Err(damaged(String::from("the secret is not valid UTF-8")));
        };
        let credential = material::decode(kind, secret, provenance).map_err(damaged)?;
        Ok(StoredProfile {
            profile_id,
            credential,
            created_at,
            updated_at,
            needs_signin,
        })
    }
}

/// Unix milliseconds, saturating far outside any plausible clock.
pub(super) fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

pub(super) fn from_millis(ms: i64) -> Option<SystemTime> {
    let offset = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use plugboard_core::ProfileId;

    use super::{from_millis, to_millis};
    use crate::credentials::test_support::{at, credential, fresh, id, insert_raw, tagged_key};
    use crate::error::StoreError;

    #[test]
    fn damaged_rows_are_listed_apart_from_the_good_ones_and_never_with_the_secret() {
        let good_key = tagged_key(b"sk-topsecret");
        let good_key = good_key.as_slice();
        let not_utf8 = tagged_key(b"sk-topsecret\xff");
        let blank = tagged_key(b"  ");
        let control = tagged_key(br"sk-top\u0007secret");
        // (raw id, provider column, kind, secret, provenance, what the problem mentions)
        type Case<'a> = (&'a [u8], &'a str, &'a str, &'a [u8], &'a str, &'a str);
        let cases: [Case; 13] = [
            (
                b"openrouter:n",
                "openrouter",
                "magic",
                good_key,
                "{}",
                "unknown credential kind",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "api_key",
                good_key,
                "not json",
                "provenance",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "api_key",
                good_key,
                "[1]",
                "provenance",
            ),
            (
                b"openrouter:bad name",
                "openrouter",
                "api_key",
                good_key,
                "{}",
                "invalid profile id",
            ),
            (
                b"openrouter:n",
                "other",
                "api_key",
                good_key,
                "{}",
                "disagree",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "api_key",
                &not_utf8,
                "{}",
                "secret is not valid UTF-8",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "api_key",
                &blank,
                "{}",
                "key is empty",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "api_key",
                &control,
                "{}",
                "key contains control characters",
            ),
            (
                b"openrouter:\xffn",
                "openrouter",
                "api_key",
                good_key,
                "{}",
                "id is not valid UTF-8",
            ),
            // A plain secret, as schema 1 stored it, left behind by a tool that skipped the
            // migration.
            (
                b"openrouter:n",
                "openrouter",
                "api_key",
                b"sk-topsecret",
                "{}",
                "secret is not valid JSON",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "token",
                good_key,
                "{}",
                "type is not its kind column (token)",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "token",
                br#"{"type":"token","token":"sk-topsecret","expires_at":1.5}"#,
                "{}",
                "expires_at is not whole milliseconds",
            ),
            (
                b"openrouter:n",
                "openrouter",
                "oauth",
                br#"{"type":"oauth","access_token":"sk-topsecret","refresh_token":"sk-topsecret","expires_at":-5}"#,
                "{}",
                "expires_at is out of range",
            ),
        ];
        for (raw_id, provider, kind, secret, provenance, problem) in cases {
            let (_tmp, path, mut store) = fresh();
            let good = id("openrouter:good");
            store
                .write_profiles([(&good, &credential("sk-good", "paste"))], at(1))
                .unwrap();
            insert_raw(&path, raw_id, provider, kind, secret, provenance);

            for listing in [
                store.list().unwrap(),
                store.list_provider(provider).unwrap(),
            ] {
                let good_ids: Vec<_> = listing
                    .profiles
                    .iter()
                    .map(|p| p.profile_id.clone())
                    .collect();
                if provider == "openrouter" {
                    assert_eq!(good_ids, std::slice::from_ref(&good), "{raw_id:?}");
                }
                let [damaged] = listing.damaged.as_slice() else {
                    panic!("{raw_id:?}: {listing:?}")
                };
                assert_eq!(damaged.raw_id, raw_id);
                assert_eq!(damaged.provider, provider);
                assert!(damaged.problem.contains(problem), "{damaged:?}");
                assert!(!format!("{damaged:?}").contains("topsecret"), "{damaged:?}");
            }
            if let Ok(parsed) = std::str::from_utf8(raw_id)
                .unwrap_or("")
                .parse::<ProfileId>()
            {
                let err = store.get(&parsed).unwrap_err();
                assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
                assert!(!err.to_string().contains("topsecret"), "{err}");
            }
        }
    }

    #[test]
    fn times_are_stored_as_unix_milliseconds() {
        for ms in [0_i64, 1, 1_700_000_000_123, -1_500] {
            assert_eq!(to_millis(from_millis(ms).unwrap()), ms);
        }
        assert_eq!(to_millis(at(1_234) + Duration::from_micros(999)), 1_234);
    }
}
