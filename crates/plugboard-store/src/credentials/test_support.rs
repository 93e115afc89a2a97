//! What the credential store's tests share: ids, credentials, times, a fresh store, raw rows.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugboard_core::{Credential, CredentialKind, ProfileId, Provenance};
use rusqlite::{Connection, params};
use tempfile::TempDir;

use super::{CredentialStore, Listing};

pub(super) fn id(s: &str) -> ProfileId {
    s.parse().unwrap()
}

pub(super) fn credential(secret: &str, flow: &str) -> Credential {
    let mut provenance = Provenance::new();
    provenance.insert("auth_flow".into(), flow.into());
    provenance.insert("user_id".into(), 42.into());
    Credential::new(CredentialKind::ApiKey, secret.into(), provenance)
}

pub(super) fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

pub(super) fn fresh() -> (TempDir, PathBuf, CredentialStore) {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("home/credentials.sqlite");
    let store = CredentialStore::open(&path).unwrap();
    (tmp, path, store)
}

/// The ids of a listing that has no damaged rows.
#[track_caller]
pub(super) fn ids(listing: &Listing) -> Vec<String> {
    assert!(listing.damaged.is_empty(), "{listing:?}");
    listing
        .profiles
        .iter()
        .map(|p| p.profile_id.to_string())
        .collect()
}

/// Inserts a row as-is, bypassing every check, the way damage (or a buggy tool) would. The
/// secret is written exactly as given: a legacy plain secret, or a form from [`tagged_key`].
pub(super) fn insert_raw(
    path: &Path,
    profile_id: &[u8],
    provider: &str,
    kind: &str,
    secret: &[u8],
    provenance: &str,
) {
    Connection::open(path)
        .unwrap()
        .execute(
            "INSERT INTO profiles (profile_id, provider, name, kind, secret, provenance, created_at, updated_at)
             VALUES (CAST(?1 AS TEXT), ?2, 'n', ?3, CAST(?4 AS TEXT), ?5, 0, 0)",
            params![profile_id, provider, kind, secret, provenance],
        )
        .unwrap();
}

/// The `api_key` form around `key`, byte for byte (no escaping), so a test can store a key
/// that is not UTF-8 inside an otherwise good form.
pub(super) fn tagged_key(key: &[u8]) -> Vec<u8> {
    [br#"{"type":"api_key","key":""#.as_slice(), key, br#""}"#].concat()
}
