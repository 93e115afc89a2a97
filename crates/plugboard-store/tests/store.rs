//! The store as separate plugboard processes use it: many independent connections to one
//! file, found through `Paths`.

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
