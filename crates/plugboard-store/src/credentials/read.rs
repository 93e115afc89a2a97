//! Reading the store: listing profiles (damaged rows apart), fetching one, and which providers
//! have any.

use std::collections::BTreeSet;

use plugboard_core::ProfileId;
use rusqlite::OptionalExtension;

use super::CredentialStore;
use super::rows::{DamagedRow, RawRow, SELECT_PROFILES, StoredProfile};
use super::sqlite_error::read_error;
use crate::error::StoreError;

/// What a list of the store returns: the profiles that decode, and the rows that do not,
/// apart, so that one damaged row never hides the others.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Profiles that decode, ordered by profile id.
    pub profiles: Vec<StoredProfile>,
    /// Rows that do not decode, ordered by their raw id.
    pub damaged: Vec<DamagedRow>,
}

impl CredentialStore {
    /// Every row: the profiles that decode, and apart from them the rows that do not.
    pub fn list(&self) -> Result<Listing, StoreError> {
        self.query(&format!("{SELECT_PROFILES} ORDER BY profile_id"), [])
    }

    /// The rows of one provider (by their provider column), split like [`CredentialStore::list`].
    pub fn list_provider(&self, provider: &str) -> Result<Listing, StoreError> {
        self.query(
            &format!("{SELECT_PROFILES} WHERE provider = ?1 ORDER BY profile_id"),
            [provider],
        )
    }

    /// One profile, if stored; an error if its row does not decode.
    pub fn get(&self, id: &ProfileId) -> Result<Option<StoredProfile>, StoreError> {
        let row = self
            .conn
            .query_row(
                &format!("{SELECT_PROFILES} WHERE profile_id = ?1"),
                [id.to_string()],
                RawRow::read,
            )
            .optional()
            .map_err(read_error(&self.path))?;
        row.map(|row| {
            row.decode().map_err(|damaged| StoreError::Damaged {
                path: self.path.clone(),
                profile_id: damaged.id_lossy(),
                problem: damaged.problem,
            })
        })
        .transpose()
    }

    /// The providers that have at least one stored profile.
    pub fn providers_with_credentials(&self) -> Result<BTreeSet<String>, StoreError> {
        let read = read_error(&self.path);
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT provider FROM profiles")
            .map_err(read)?;
        let providers = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .and_then(Iterator::collect)
            .map_err(read_error(&self.path))?;
        Ok(providers)
    }

    fn query(&self, sql: &str, params: impl rusqlite::Params) -> Result<Listing, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(read_error(&self.path))?;
        let rows: Vec<RawRow> = stmt
            .query_map(params, RawRow::read)
            .and_then(Iterator::collect)
            .map_err(read_error(&self.path))?;
        let mut listing = Listing::default();
        for row in rows {
            match row.decode() {
                Ok(profile) => listing.profiles.push(profile),
                Err(damaged) => listing.damaged.push(damaged),
            }
        }
        // SQLite sorts the joined text, where `a-b:x` comes before `a:x`; callers expect the
        // order of `ProfileId` itself, as in a `BTreeMap`.
        listing
            .profiles
            .sort_by(|a, b| a.profile_id.cmp(&b.profile_id));
        listing.damaged.sort_by(|a, b| a.raw_id.cmp(&b.raw_id));
        Ok(listing)
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::{Credential, CredentialKind};

    use crate::credentials::test_support::{at, credential, fresh, id, ids};

    #[test]
    fn profiles_round_trip_through_write_get_list_and_remove() {
        let (_tmp, _path, mut store) = fresh();
        let a = id("a:x");
        let ab = id("a-b:x");
        let or = id("openrouter:work");
        let mut oauth = credential("sk-or-v1-oauth", "oauth-pkce");
        oauth = Credential::new(
            CredentialKind::OAuth,
            oauth.expose_secret().into(),
            oauth.provenance().clone(),
        );
        store
            .write_profiles(
                [
                    (&or, &oauth),
                    (&a, &credential("sk-a", "paste")),
                    (&ab, &credential("sk-ab", "paste")),
                ],
                at(1_700_000_000_123),
            )
            .unwrap();

        let got = store.get(&or).unwrap().unwrap();
        assert_eq!(got.profile_id, or);
        assert_eq!(got.credential.kind(), CredentialKind::OAuth);
        assert_eq!(got.credential.expose_secret(), "sk-or-v1-oauth");
        assert_eq!(got.credential.provenance(), oauth.provenance());
        assert_eq!(got.created_at, at(1_700_000_000_123));
        assert_eq!(got.updated_at, at(1_700_000_000_123));

        // Ordered like ProfileId, not like the joined text (where "a-b:x" < "a:x").
        assert_eq!(
            ids(&store.list().unwrap()),
            ["a:x", "a-b:x", "openrouter:work"]
        );
        assert_eq!(ids(&store.list_provider("a").unwrap()), ["a:x"]);
        assert!(ids(&store.list_provider("nobody").unwrap()).is_empty());
        assert_eq!(
            store
                .providers_with_credentials()
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            ["a", "a-b", "openrouter"]
        );

        assert!(store.remove(&a).unwrap());
        assert!(!store.remove(&a).unwrap());
        assert!(store.get(&a).unwrap().is_none());
        assert_eq!(ids(&store.list().unwrap()), ["a-b:x", "openrouter:work"]);
    }
}
