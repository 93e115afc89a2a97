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
    use plugboard_core::{Credential, CredentialKind, OAuthTokens};

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

    #[test]
    fn every_kind_reads_back_with_its_expiry_refresh_token_and_account() {
        let (_tmp, _path, mut store) = fresh();
        let provenance = credential("x", "oauth-pkce").provenance().clone();
        let mut full = OAuthTokens::new("at-full".into());
        full.refresh_token = Some("rt-full".into());
        full.expires_at = Some(at(1_800_000_000_456));
        full.account_id = Some("acct-7".into());
        let written = [
            (id("a:key"), credential("sk-key", "paste")),
            (
                id("a:token"),
                Credential::token("tok-1".into(), None, provenance.clone()),
            ),
            (
                id("a:token-expiring"),
                Credential::token(
                    "tok-2".into(),
                    Some(at(1_700_000_001_000)),
                    provenance.clone(),
                ),
            ),
            (
                id("a:oauth-bare"),
                Credential::oauth(OAuthTokens::new("at-bare".into()), provenance.clone()),
            ),
            (id("a:oauth-full"), Credential::oauth(full, provenance)),
        ];
        store
            .write_profiles(written.iter().map(|(id, c)| (id, c)), at(1_000))
            .unwrap();

        for (id, want) in &written {
            let got = store.get(id).unwrap().unwrap();
            assert_eq!(got.credential.kind(), want.kind(), "{id}");
            assert!(got.credential.same_secrets(want), "{id}");
            assert_eq!(got.credential.expose_secret(), want.expose_secret(), "{id}");
            assert_eq!(got.credential.refresh_token(), want.refresh_token(), "{id}");
            assert_eq!(got.credential.expires_at(), want.expires_at(), "{id}");
            assert_eq!(got.credential.account_id(), want.account_id(), "{id}");
            assert_eq!(got.credential.provenance(), want.provenance(), "{id}");
            assert!(got.needs_signin.is_none(), "{id}");
        }
        let oauth = store.get(&id("a:oauth-full")).unwrap().unwrap();
        assert_eq!(oauth.credential.refresh_token(), Some("rt-full"));
        assert_eq!(oauth.credential.account_id(), Some("acct-7"));
        assert_eq!(oauth.credential.expires_at(), Some(at(1_800_000_000_456)));
    }
}
