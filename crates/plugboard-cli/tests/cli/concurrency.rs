//! Many plugboard processes writing one store at once, and a sign-in meeting a store another
//! process holds.

use plugboard_testkit::OpenRouterDouble;
use rusqlite::Connection;

use crate::support::{HandoffBrowser, LOGIN, Plugboard, key, profile, profile_ids, redacted};

#[test]
fn twenty_concurrent_logins_into_one_fresh_home_all_land() {
    const PROCESSES: u64 = 20;
    let pb = Plugboard::new();
    let names: Vec<String> = (0..PROCESSES).map(|i| format!("p{i}")).collect();
    let keys: Vec<String> = (0..PROCESSES).map(|i| key(1_000 + i)).collect();

    // Start all of them before waiting for any.
    let children: Vec<_> = names
        .iter()
        .zip(&keys)
        .map(|(name, key)| {
            let args: Vec<&str> = LOGIN.iter().copied().chain(["--profile", name]).collect();
            let mut child = pb.spawn(&args, &[]);
            Plugboard::feed(&mut child, &format!("{key}\n"));
            child
        })
        .collect();
    let runs: Vec<_> = children
        .into_iter()
        .zip(&keys)
        .map(|(child, key)| pb.wait(child, &format!("{key}\n"), &[]))
        .collect();

    for (name, run) in names.iter().zip(&runs) {
        assert_eq!(run.code, 0, "{name}: {run:#?}");
    }
    let status = pb.openrouter_status();
    let mut want: Vec<String> = names.iter().map(|n| format!("openrouter:{n}")).collect();
    want.sort();
    assert_eq!(profile_ids(&status), want);
    for (name, key) in names.iter().zip(&keys) {
        let stored = profile(&status, &format!("openrouter:{name}"));
        assert_eq!(stored["redacted"], redacted(key), "{name}");
    }
}

/// Takes the store's write lock the way another plugboard process in the middle of a write
/// would; it is held until the connection is dropped.
fn hold_write_lock(pb: &Plugboard) -> Connection {
    let holder = Connection::open(pb.home().join("credentials.sqlite")).expect("the store opens");
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("the write lock is free");
    holder
}

#[test]
fn an_oauth_login_against_a_locked_store_fails_before_anything_is_issued() {
    let pb = Plugboard::new();
    let pasted = key(2_000);
    pb.login(&pasted, &[]);
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let holder = hold_write_lock(&pb);

    // Bounded, so a login that wrongly went ahead gives up soon instead of after 5 minutes.
    let login = pb.start_oauth_login(&double, &browser, &["--port", "0", "--timeout", "30"]);
    let run = pb.wait_watched(login, "");
    drop(holder);

    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(
            "waiting up to 10 s for another plugboard process to release the credential store"
        ),
        "{run:#?}"
    );
    let error = run.stderr.lines().last().unwrap();
    assert!(
        error.starts_with("error: cannot sign in to OpenRouter now, nothing was sent: "),
        "{error}"
    );
    assert!(
        error.contains("locked by another plugboard process"),
        "{error}"
    );
    assert!(browser.opened().is_empty(), "{:?}", browser.opened());
    assert!(double.issued_keys().is_empty(), "the double issued a key");
    assert_eq!(double.exchanges(), 0);
    let status = pb.openrouter_status();
    assert_eq!(
        profile(&status, "openrouter:default")["redacted"],
        redacted(&pasted)
    );
}

#[test]
fn a_store_locked_during_the_exchange_is_waited_for_and_the_issued_key_lands() {
    let pb = Plugboard::new();
    pb.login(&key(2_001), &[]);
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let login = pb.start_oauth_login(&double, &browser, &["--port", "0"]);
    // The URL is opened after the up-front check, so the lock is taken after it passed.
    let url = browser.wait_for_url();
    let holder = hold_write_lock(&pb);
    plugboard_testkit::approve(&url).unwrap();

    // Released once plugboard says it is waiting: the key has been issued by then.
    login.line_containing(
        "waiting up to 60 s for another plugboard process to release the credential store",
    );
    assert_eq!(double.issued_keys().len(), 1);
    drop(holder);

    let run = pb.wait_watched(login, "").success();
    let issued = pb.remember_issued_key(&double);
    assert!(run.stdout.contains(&redacted(&issued)), "{run:#?}");
    let status = pb.openrouter_status();
    assert_eq!(
        profile(&status, "openrouter:default")["redacted"],
        redacted(&issued)
    );
}
