//! Tests of opening the store: file modes, symlinks, other users' files, WAL.

use rusqlite::Connection;
use tempfile::TempDir;

use crate::credentials::CredentialStore;
use crate::credentials::schema::{SCHEMA_VERSION, user_version};
use crate::credentials::test_support::fresh;
// Only the Unix tests (modes, owners, symlinks) write profiles or check errors.
#[cfg(unix)]
use crate::{
    credentials::test_support::{at, credential, id, ids},
    error::{EntryKind, StoreError},
    paths::ensure_private_dir,
};

#[cfg(unix)]
#[test]
fn store_file_is_created_0600_in_a_0700_directory_and_so_is_its_wal() {
    use crate::paths::tests::mode;
    let (_tmp, path, mut store) = fresh();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);

    store
        .write_profiles(
            [(&id("openrouter:default"), &credential("sk-1", "x"))],
            at(1),
        )
        .unwrap();
    let wal = path.with_extension("sqlite-wal");
    assert!(
        wal.exists(),
        "WAL file should exist while the store is open"
    );
    assert_eq!(mode(&wal), 0o600);
}

#[cfg(unix)]
#[test]
fn an_existing_store_readable_by_others_is_tightened_to_0600() {
    use std::os::unix::fs::PermissionsExt;
    let (_tmp, path, store) = fresh();
    drop(store);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _store = CredentialStore::open(&path).unwrap();
    assert_eq!(crate::paths::tests::mode(&path), 0o600);
}

#[cfg(unix)]
#[test]
fn open_existing_reads_a_store_readable_by_others_without_changing_it() {
    use crate::paths::tests::{mode, set_mode};
    let (_tmp, path, store) = fresh();
    drop(store);
    set_mode(&path, 0o644);
    let store = CredentialStore::open_existing(&path).unwrap().unwrap();
    assert!(store.list().unwrap().profiles.is_empty());
    assert_eq!(mode(&path), 0o644);
}

#[cfg(unix)]
#[test]
fn a_store_symlink_is_refused_and_its_target_neither_created_nor_changed() {
    use crate::paths::tests::{mode, set_mode};
    let tmp = TempDir::new().unwrap();
    let home = tmp.path().join("home");
    ensure_private_dir(&home).unwrap();
    let path = home.join("credentials.sqlite");
    let dangling = tmp.path().join("nowhere.sqlite");
    let readable = tmp.path().join("notes.txt");
    std::fs::write(&readable, "my notes").unwrap();
    set_mode(&readable, 0o644);

    for target in [&dangling, &readable] {
        std::os::unix::fs::symlink(target, &path).unwrap();
        for err in [
            CredentialStore::open_existing(&path).unwrap_err(),
            CredentialStore::open(&path).unwrap_err(),
        ] {
            assert!(
                matches!(&err, StoreError::Symlink { path: p } if *p == path),
                "{err:?}"
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
    assert!(!dangling.exists());
    assert_eq!(mode(&readable), 0o644);
    assert_eq!(std::fs::read_to_string(&readable).unwrap(), "my notes");
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn a_store_others_own_or_can_write_is_refused_and_left_alone() {
    use crate::paths::tests::{give_away, mode, set_mode};
    let (_tmp, path, store) = fresh();
    drop(store);
    for bad in [0o660, 0o606, 0o666] {
        set_mode(&path, bad);
        for err in [
            CredentialStore::open_existing(&path).unwrap_err(),
            CredentialStore::open(&path).unwrap_err(),
        ] {
            assert!(
                matches!(&err, StoreError::NotPrivate { kind: EntryKind::File, mode, .. } if *mode == bad),
                "{err:?}"
            );
        }
        assert_eq!(mode(&path), bad);
    }
    set_mode(&path, 0o600);
    give_away(&path);
    for err in [
        CredentialStore::open_existing(&path).unwrap_err(),
        CredentialStore::open(&path).unwrap_err(),
    ] {
        assert!(
            matches!(&err, StoreError::NotPrivate { owner: 12345, .. }),
            "{err:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_store_in_a_home_others_can_write_is_refused() {
    use crate::paths::tests::set_mode;
    let (_tmp, path, store) = fresh();
    drop(store);
    let home = path.parent().unwrap();
    set_mode(home, 0o777);
    for err in [
        CredentialStore::open_existing(&path).unwrap_err(),
        CredentialStore::open(&path).unwrap_err(),
    ] {
        assert!(
            matches!(&err, StoreError::NotPrivate { kind: EntryKind::Directory, mode: 0o777, path: p, .. } if p == home),
            "{err:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_home_reached_through_a_symlinked_directory_still_opens() {
    let (tmp, path, mut store) = fresh();
    store
        .write_profiles([(&id("a:x"), &credential("sk-a", "paste"))], at(1))
        .unwrap();
    drop(store);
    let linked_home = tmp.path().join("linked");
    std::os::unix::fs::symlink(path.parent().unwrap(), &linked_home).unwrap();
    let through_link = linked_home.join("credentials.sqlite");
    let store = CredentialStore::open_existing(&through_link)
        .unwrap()
        .unwrap();
    assert_eq!(store.path(), through_link);
    assert_eq!(ids(&store.list().unwrap()), ["a:x"]);
    drop(store);
    CredentialStore::open(&through_link).unwrap();
}

#[test]
fn the_store_runs_in_wal_mode_with_the_current_schema() {
    let (_tmp, path, store) = fresh();
    drop(store);
    // A fresh connection sees what was persisted in the file, not per-connection state.
    let raw = Connection::open(&path).unwrap();
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(user_version(&raw).unwrap(), SCHEMA_VERSION);
}

#[test]
fn open_existing_on_a_missing_file_returns_none_and_creates_nothing() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("home");
    let path = dir.join("credentials.sqlite");
    assert!(CredentialStore::open_existing(&path).unwrap().is_none());
    assert!(!dir.exists());

    CredentialStore::open(&path).unwrap();
    let store = CredentialStore::open_existing(&path).unwrap().unwrap();
    assert_eq!(store.path(), path);
}
