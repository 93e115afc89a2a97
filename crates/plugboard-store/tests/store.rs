//! The store as separate plugboard processes use it: many independent connections to one
//! file, found through `Paths`.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns unwrap: a panic there is a clear test failure"
)]

use std::sync::Barrier;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugboard_core::{Credential, CredentialKind, ProfileId, Provenance};
use plugboard_store::{ConfigFile, CredentialStore, Paths};

#[test]
fn twenty_stores_opening_a_fresh_file_at_once_lose_no_write() {
    const WRITERS: usize = 20;
    let tmp = tempfile::TempDir::new().unwrap();
    let paths = Paths::under(tmp.path().join("home"));
    let start = Barrier::new(WRITERS);

    std::thread::scope(|scope| {
        for i in 0..WRITERS {
            let (paths, start) = (&paths, &start);
            scope.spawn(move || {
                start.wait();
                // Each thread is its own "process": its own connection, its own migration check.
                let mut store = CredentialStore::open(paths.store_file()).unwrap();
                let id = ProfileId::new("openrouter", &format!("p{i:02}")).unwrap();
                let credential = Credential::new(
                    CredentialKind::ApiKey,
                    format!("sk-{i}").into(),
                    Provenance::new(),
                );
                let now = UNIX_EPOCH + Duration::from_millis(1_000 + i as u64);
                store.write_profiles([(&id, &credential)], now).unwrap();
            });
        }
    });

    let store = CredentialStore::open_existing(paths.store_file())
        .unwrap()
        .unwrap();
    let listing = store.list().unwrap();
    assert!(listing.damaged.is_empty());
    let stored = listing.profiles;
    let names: Vec<_> = stored
        .iter()
        .map(|p| p.profile_id.name().to_owned())
        .collect();
    let want: Vec<_> = (0..WRITERS).map(|i| format!("p{i:02}")).collect();
    assert_eq!(names, want);
    for (i, p) in stored.iter().enumerate() {
        assert_eq!(p.credential.expose_secret(), format!("sk-{i}"));
    }
}

#[test]
fn config_and_store_live_side_by_side_under_plugboard_home() {
    let tmp = tempfile::TempDir::new().unwrap();
    let paths = Paths::under(tmp.path());
    let config = ConfigFile::new(paths.config_file());
    config
        .update(|v| v["default_model"] = "openrouter/auto".into())
        .unwrap();
    let mut store = CredentialStore::open(paths.store_file()).unwrap();
    let id = ProfileId::default_for("openrouter").unwrap();
    let credential = Credential::new(
        CredentialKind::ApiKey,
        "sk-or-v1-x".into(),
        Provenance::new(),
    );
    store
        .write_profiles([(&id, &credential)], SystemTime::now())
        .unwrap();

    assert_eq!(paths.config_file(), tmp.path().join("config.json"));
    assert_eq!(paths.store_file(), tmp.path().join("credentials.sqlite"));
    assert_eq!(config.load().unwrap()["default_model"], "openrouter/auto");
    assert!(store.get(&id).unwrap().is_some());
}

#[cfg(unix)]
#[test]
fn a_home_anyone_can_write_is_read_by_nobody_and_gains_no_files() {
    use plugboard_store::{EntryKind, StoreError};
    use std::os::unix::fs::PermissionsExt;

    let tmp = tempfile::TempDir::new().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let paths = Paths::under(&home);
    let config = ConfigFile::new(paths.config_file());

    let refused = |err: StoreError| {
        assert!(
            matches!(&err, StoreError::NotPrivate { path, kind: EntryKind::Directory, mode: 0o777, .. } if *path == home),
            "{err:?}"
        );
    };
    refused(paths.check_private().unwrap_err());
    refused(config.load().unwrap_err());
    refused(config.update(|_| {}).unwrap_err());
    refused(CredentialStore::open_existing(paths.store_file()).unwrap_err());
    refused(CredentialStore::open(paths.store_file()).unwrap_err());
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0);
}

/// The schema-1 table, exactly as the first release created it.
const V1_SCHEMA: &str = "CREATE TABLE profiles (
        profile_id TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        secret TEXT NOT NULL,
        provenance TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX profiles_provider ON profiles (provider);
    PRAGMA user_version = 1;";

/// A schema-1 row: id, kind, plain secret, provenance, created_at, updated_at.
type V1Row<'a> = (&'a str, &'a str, &'a [u8], &'a str, i64, i64);

/// A schema-1 store at `path` (in a private home), holding `rows`.
fn v1_store(path: &std::path::Path, rows: &[V1Row]) {
    plugboard_store::ensure_private_dir(path.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(V1_SCHEMA).unwrap();
    for (id, kind, secret, provenance, created, updated) in rows {
        let (provider, name) = id.split_once(':').unwrap();
        conn.execute(
            "INSERT INTO profiles VALUES (?1, ?2, ?3, ?4, CAST(?5 AS TEXT), ?6, ?7, ?8)",
            rusqlite::params![
                id, provider, name, kind, secret, provenance, created, updated
            ],
        )
        .unwrap();
    }
}

fn user_version(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn raw_secrets(path: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT profile_id, CAST(secret AS BLOB) FROM profiles ORDER BY profile_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_schema_1_store_is_migrated_and_keeps_every_secret_kind_and_time() {
    let tmp = tempfile::TempDir::new().unwrap();
    let path = tmp.path().join("home/credentials.sqlite");
    let provenance = r#"{"auth_flow":"paste"}"#;
    v1_store(
        &path,
        &[
            (
                "openrouter:default",
                "api_key",
                b"sk-or-v1-first",
                provenance,
                1_000,
                2_000,
            ),
            // A key holding what looks like JSON and a quote stays the very same string.
            (
                "openrouter:odd",
                "api_key",
                br#"sk-"{}"\x"#,
                "{}",
                3_000,
                3_000,
            ),
            ("acme:tok", "token", b"tok-123", "{}", 4_000, 5_000),
            ("acme:old-oauth", "oauth", b"at-456", "{}", 6_000, 6_000),
            // Damaged before, damaged after: an unknown kind and a secret that is not UTF-8.
            ("acme:magic", "magic", b"sk-topsecret", "{}", 7_000, 7_000),
            (
                "acme:bytes",
                "api_key",
                b"sk-topsecret\xff",
                "{}",
                8_000,
                8_000,
            ),
        ],
    );

    let store = CredentialStore::open(&path).unwrap();
    let listing = store.list().unwrap();
    let got: Vec<_> = listing
        .profiles
        .iter()
        .map(|p| {
            (
                p.profile_id.to_string(),
                p.credential.kind(),
                p.credential.expose_secret().to_owned(),
                p.created_at,
                p.updated_at,
            )
        })
        .collect();
    let ms = |ms| UNIX_EPOCH + Duration::from_millis(ms);
    assert_eq!(
        got,
        [
            (
                "acme:old-oauth".into(),
                CredentialKind::OAuth,
                "at-456".into(),
                ms(6_000),
                ms(6_000)
            ),
            (
                "acme:tok".into(),
                CredentialKind::Token,
                "tok-123".into(),
                ms(4_000),
                ms(5_000)
            ),
            (
                "openrouter:default".into(),
                CredentialKind::ApiKey,
                "sk-or-v1-first".into(),
                ms(1_000),
                ms(2_000)
            ),
            (
                "openrouter:odd".into(),
                CredentialKind::ApiKey,
                r#"sk-"{}"\x"#.into(),
                ms(3_000),
                ms(3_000)
            ),
        ]
    );
    for p in &listing.profiles {
        assert_eq!(p.credential.expires_at(), None);
        assert_eq!(p.credential.refresh_token(), None);
        assert!(p.needs_signin.is_none());
    }
    let default = &listing.profiles[2];
    assert_eq!(default.credential.provenance()["auth_flow"], "paste");
    let damaged: Vec<_> = listing
        .damaged
        .iter()
        .map(|d| (d.id_lossy(), d.problem.clone()))
        .collect();
    assert_eq!(
        damaged,
        [
            ("acme:bytes".into(), "the secret is not valid UTF-8".into()),
            (
                "acme:magic".into(),
                r#"unknown credential kind "magic""#.into()
            ),
        ]
    );
    assert!(!format!("{listing:?}").contains("topsecret"));
    assert_eq!(user_version(&path), 3);
    drop(store);

    // The migration ran once: reopening rewrites nothing.
    let before = raw_secrets(&path);
    assert!(
        before
            .iter()
            .any(|(id, s)| id == "acme:magic" && s == b"sk-topsecret"),
        "a row of unknown kind keeps its secret as it was: {before:?}"
    );
    let store = CredentialStore::open(&path).unwrap();
    assert_eq!(raw_secrets(&path), before);
    assert_eq!(store.list().unwrap().profiles.len(), 4);
    assert_eq!(user_version(&path), 3);
}

/// The schema-2 table: schema 1 with the `needs_signin` column the second migration added.
const V2_SCHEMA: &str = "CREATE TABLE profiles (
        profile_id TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        secret TEXT NOT NULL,
        provenance TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX profiles_provider ON profiles (provider);
    ALTER TABLE profiles ADD COLUMN needs_signin TEXT;
    PRAGMA user_version = 2;";

#[test]
fn a_schema_2_store_is_migrated_without_changing_a_byte_and_then_holds_the_new_forms() {
    let tmp = tempfile::TempDir::new().unwrap();
    let path = tmp.path().join("home/credentials.sqlite");
    plugboard_store::ensure_private_dir(path.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(V2_SCHEMA).unwrap();
    // Every schema-2 form, written as a schema-2 plugboard wrote it, and a damaged row.
    let rows: [(&str, &str, &str, Option<&str>); 5] = [
        (
            "openrouter:default",
            "api_key",
            r#"{"type":"api_key","key":"sk-or-v1-first"}"#,
            None,
        ),
        (
            "acme:tok",
            "token",
            r#"{"type":"token","token":"tok-1","expires_at":5000}"#,
            None,
        ),
        (
            "openai-codex:default",
            "oauth",
            r#"{"type":"oauth","access_token":"at-1","refresh_token":"rt-1","expires_at":1700000000123,"account_id":"acct-9"}"#,
            Some("the refresh token was revoked"),
        ),
        (
            "acme:bare",
            "oauth",
            r#"{"type":"oauth","access_token":"at-2"}"#,
            None,
        ),
        ("acme:magic", "magic", "sk-topsecret", None),
    ];
    for (id, kind, secret, needs_signin) in rows {
        let (provider, name) = id.split_once(':').unwrap();
        conn.execute(
            "INSERT INTO profiles VALUES (?1, ?2, ?3, ?4, ?5, '{}', 1000, 2000, ?6)",
            rusqlite::params![id, provider, name, kind, secret, needs_signin],
        )
        .unwrap();
    }
    drop(conn);
    let before = raw_secrets(&path);

    let mut store = CredentialStore::open(&path).unwrap();
    assert_eq!(user_version(&path), 3);
    assert_eq!(raw_secrets(&path), before, "the migration rewrites no row");
    let listing = store.list().unwrap();
    let ids: Vec<_> = listing
        .profiles
        .iter()
        .map(|p| p.profile_id.to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "acme:bare",
            "acme:tok",
            "openai-codex:default",
            "openrouter:default"
        ]
    );
    let codex = &listing.profiles[2];
    assert_eq!(codex.credential.refresh_token(), Some("rt-1"));
    assert_eq!(codex.credential.account_id(), Some("acct-9"));
    assert_eq!(
        codex.needs_signin.as_deref(),
        Some("the refresh token was revoked")
    );
    assert_eq!(listing.damaged.len(), 1);

    // Rewriting each profile as read writes the very bytes it was read from.
    let profiles: Vec<_> = listing
        .profiles
        .iter()
        .map(|p| (p.profile_id.clone(), p.credential.clone()))
        .collect();
    store
        .write_profiles(profiles.iter().map(|(id, c)| (id, c)), UNIX_EPOCH)
        .unwrap();
    assert_eq!(raw_secrets(&path), before);

    // The schema-3 forms are stored and read back.
    let mut tokens = plugboard_core::OAuthTokens::new("ghu_stored".into());
    tokens.session = Some(plugboard_core::SessionToken {
        token: "tid=cached".into(),
        expires_at: UNIX_EPOCH + Duration::from_millis(1_700_000_600_000),
        endpoint: Some("https://api.individual.githubcopilot.com".into()),
    });
    let copilot = ProfileId::new("github-copilot", "default").unwrap();
    let ollama = ProfileId::new("ollama", "default").unwrap();
    let mut local = Provenance::new();
    local.insert("base_url".into(), "http://127.0.0.1:11434".into());
    store
        .write_profiles(
            [
                (&copilot, &Credential::oauth(tokens, Provenance::new())),
                (&ollama, &Credential::none(local)),
            ],
            UNIX_EPOCH,
        )
        .unwrap();
    drop(store);
    let store = CredentialStore::open(&path).unwrap();
    let session = store.get(&copilot).unwrap().unwrap().credential;
    assert_eq!(session.session_token(), Some("tid=cached"));
    assert_eq!(
        session.session().unwrap().endpoint.as_deref(),
        Some("https://api.individual.githubcopilot.com")
    );
    let none = store.get(&ollama).unwrap().unwrap().credential;
    assert_eq!(none.kind(), CredentialKind::None);
    assert_eq!(none.provenance()["base_url"], "http://127.0.0.1:11434");
    let raw: Vec<_> = raw_secrets(&path)
        .into_iter()
        .filter(|(id, _)| id == "ollama:default")
        .map(|(_, secret)| secret)
        .collect();
    assert_eq!(raw, [br#"{"type":"none"}"#.to_vec()]);
}

#[test]
fn a_second_process_waits_for_a_profile_another_is_refreshing_then_reads_its_result() {
    let tmp = tempfile::TempDir::new().unwrap();
    let paths = Paths::under(tmp.path().join("home"));
    let id = ProfileId::new("openai-codex", "default").unwrap();
    let old = Credential::token(
        "tok-old".into(),
        Some(UNIX_EPOCH + Duration::from_secs(10)),
        Provenance::new(),
    );
    let mut first = CredentialStore::open(paths.store_file()).unwrap();
    first
        .write_profiles([(&id, &old)], UNIX_EPOCH + Duration::from_secs(1))
        .unwrap();

    let lock = first
        .lock_profile(&id, Duration::ZERO, || panic!("nobody else holds the lock"))
        .unwrap();
    assert_eq!(
        lock.current().unwrap().credential.expose_secret(),
        "tok-old"
    );

    let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
    let second = std::thread::scope(|scope| {
        let second = scope.spawn(|| {
            // Another process: its own connection to the same file.
            let mut store = CredentialStore::open(paths.store_file()).unwrap();
            let mut said_waiting = false;
            let err = store
                .lock_profile(&id, Duration::from_millis(100), || said_waiting = true)
                .unwrap_err();
            assert!(
                matches!(err, plugboard_store::StoreError::Busy { .. }),
                "{err:?}"
            );
            assert!(said_waiting);

            // Released only once this one says it is waiting: no sleeping and hoping.
            let lock = store
                .lock_profile(&id, Duration::from_secs(60), || {
                    waiting_tx.send(()).unwrap()
                })
                .unwrap();
            let current = lock.current().unwrap();
            let seen = (
                current.credential.expose_secret().to_owned(),
                current.credential.expires_at(),
                current.updated_at,
            );
            lock.release().unwrap();
            seen
        });
        waiting_rx.recv().unwrap();
        let refreshed = Credential::token(
            "tok-new".into(),
            Some(UNIX_EPOCH + Duration::from_secs(3_600)),
            Provenance::new(),
        );
        lock.replace(&refreshed, UNIX_EPOCH + Duration::from_secs(2))
            .unwrap();
        second.join().unwrap()
    });

    assert_eq!(
        second,
        (
            "tok-new".to_owned(),
            Some(UNIX_EPOCH + Duration::from_secs(3_600)),
            UNIX_EPOCH + Duration::from_secs(2),
        )
    );
}
