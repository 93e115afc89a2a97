//! Tests of writing the store: whole transactions, replaced profiles, damaged rows removed,
//! waiting for another process's lock.

use std::path::Path;
use std::time::{Duration, Instant};

use plugboard_core::CredentialKind;
use rusqlite::Connection;

use super::{DamagedRemoval, ReplacedProfile};
use crate::credentials::BUSY_TIMEOUT;
use crate::credentials::test_support::{at, credential, fresh, id, ids, insert_raw};
use crate::error::StoreError;

#[test]
fn rewriting_a_profile_keeps_created_at_and_moves_updated_at() {
    let (_tmp, _path, mut store) = fresh();
    let p = id("openrouter:default");
    let first = store
        .write_profiles([(&p, &credential("sk-old", "paste"))], at(1_000))
        .unwrap();
    assert!(first.is_empty(), "nothing was there to replace: {first:?}");
    let second = store
        .write_profiles([(&p, &credential("sk-new", "oauth-pkce"))], at(2_000))
        .unwrap();
    assert_eq!(
        second,
        [ReplacedProfile {
            profile_id: p.clone(),
            kind: Some(CredentialKind::ApiKey),
            provenance: Some(credential("sk-old", "paste").provenance().clone()),
            updated_at: Some(at(1_000)),
        }]
    );

    let got = store.get(&p).unwrap().unwrap();
    assert_eq!(got.created_at, at(1_000));
    assert_eq!(got.updated_at, at(2_000));
    assert_eq!(got.credential.expose_secret(), "sk-new");
    assert_eq!(got.credential.provenance()["auth_flow"], "oauth-pkce");
    assert_eq!(store.list().unwrap().profiles.len(), 1);
}

#[test]
fn a_failed_write_keeps_nothing_from_that_call() {
    let (_tmp, path, mut store) = fresh();
    let kept = id("openrouter:default");
    store
        .write_profiles([(&kept, &credential("sk-old", "paste"))], at(1_000))
        .unwrap();
    // Make the second row of the next call fail, after the first has been written.
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON profiles WHEN NEW.profile_id = 'bad:x'
             BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
        )
        .unwrap();

    let err = store
        .write_profiles(
            [
                (&kept, &credential("sk-changed", "paste")),
                (&id("new:x"), &credential("sk-new", "paste")),
                (&id("bad:x"), &credential("sk-bad", "paste")),
            ],
            at(2_000),
        )
        .unwrap_err();

    assert!(matches!(err, StoreError::Write { .. }), "{err:?}");
    assert!(!err.to_string().contains("sk-"), "{err}");
    assert_eq!(ids(&store.list().unwrap()), ["openrouter:default"]);
    let got = store.get(&kept).unwrap().unwrap();
    assert_eq!(got.credential.expose_secret(), "sk-old");
    assert_eq!(got.updated_at, at(1_000));
}

#[test]
fn remove_damaged_deletes_exactly_that_row_and_leaves_good_profiles_alone() {
    let (_tmp, path, mut store) = fresh();
    let good = id("openrouter:good");
    store
        .write_profiles([(&good, &credential("sk-good", "paste"))], at(1))
        .unwrap();
    insert_raw(
        &path,
        b"openrouter:bad name",
        "openrouter",
        "api_key",
        b"sk-a",
        "{}",
    );
    insert_raw(
        &path,
        b"openrouter:\x1b[2Jx\xff",
        "openrouter",
        "api_key",
        b"sk-b",
        "{}",
    );
    insert_raw(
        &path,
        b"openrouter:bad kind",
        "openrouter",
        "magic",
        b"sk-c",
        "{}",
    );

    assert_eq!(
        store.remove_damaged(b"openrouter:good").unwrap(),
        DamagedRemoval::NotDamaged(good.clone())
    );
    assert_eq!(
        store.remove_damaged(b"openrouter:bad").unwrap(),
        DamagedRemoval::NotStored
    );
    assert_eq!(
        store.remove_damaged(b"openrouter:\x1b[2Jx\xff").unwrap(),
        DamagedRemoval::Removed
    );
    assert_eq!(
        store.remove_damaged(b"openrouter:bad name").unwrap(),
        DamagedRemoval::Removed
    );
    assert_eq!(
        store.remove_damaged(b"openrouter:bad name").unwrap(),
        DamagedRemoval::NotStored
    );

    let listing = store.list().unwrap();
    assert_eq!(listing.profiles.len(), 1);
    let left: Vec<_> = listing.damaged.iter().map(|d| d.raw_id.clone()).collect();
    assert_eq!(left, [b"openrouter:bad kind".to_vec()]);
}

/// Another connection holding the write lock, as another plugboard process would.
fn hold_write_lock(path: &Path) -> Connection {
    let holder = Connection::open(path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    holder
}

#[test]
fn a_write_waits_only_as_long_as_it_is_told_and_says_it_is_waiting() {
    let (_tmp, path, mut store) = fresh();
    let p = id("openrouter:default");
    let _holder = hold_write_lock(&path);
    let wait = Duration::from_millis(300);

    let waited = std::cell::Cell::new(0);
    let started = Instant::now();
    let err = store
        .write_profiles_waiting([(&p, &credential("sk-1", "paste"))], at(1), wait, || {
            waited.set(waited.get() + 1)
        })
        .unwrap_err();
    assert!(started.elapsed() >= wait, "{:?}", started.elapsed());
    assert!(started.elapsed() < BUSY_TIMEOUT, "{:?}", started.elapsed());
    assert_eq!(waited.get(), 1);
    assert!(matches!(err, StoreError::Busy { .. }), "{err:?}");

    let err = store
        .check_writable(wait, || waited.set(waited.get() + 1))
        .unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err:?}");
    assert_eq!(waited.get(), 2);
    drop(_holder);
    assert!(ids(&store.list().unwrap()).is_empty());
}

#[test]
fn a_write_that_waited_lands_once_the_lock_is_released() {
    let (_tmp, path, mut store) = fresh();
    let p = id("openrouter:default");
    let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let holder = hold_write_lock(&path);
        held_tx.send(()).unwrap();
        // Released only once the writer says it is waiting: no sleeping and hoping.
        waiting_rx.recv().unwrap();
        holder.execute_batch("ROLLBACK").unwrap();
    });
    held_rx.recv().unwrap();

    store
        .write_profiles_waiting(
            [(&p, &credential("sk-1", "paste"))],
            at(1),
            Duration::from_secs(60),
            || waiting_tx.send(()).unwrap(),
        )
        .unwrap();
    holder.join().unwrap();
    assert_eq!(ids(&store.list().unwrap()), ["openrouter:default"]);
}

#[test]
fn a_free_store_is_written_without_a_word_about_waiting() {
    let (_tmp, _path, mut store) = fresh();
    store
        .check_writable(Duration::ZERO, || panic!("nobody holds the lock"))
        .unwrap();
    store
        .write_profiles_waiting(
            [(&id("a:x"), &credential("sk-a", "paste"))],
            at(1),
            Duration::ZERO,
            || panic!("nobody holds the lock"),
        )
        .unwrap();
    assert_eq!(ids(&store.list().unwrap()), ["a:x"]);
}
