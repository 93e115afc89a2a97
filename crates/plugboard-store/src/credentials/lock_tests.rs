//! Tests of refreshing one profile under the write lock: what each way out of the lock writes.

use std::time::Duration;

use plugboard_core::{Credential, OAuthTokens, Provenance};

use crate::credentials::test_support::{at, credential, fresh, id, insert_raw, tagged_key};

const WAIT: Duration = Duration::from_secs(5);

fn oauth(access: &str, refresh: &str, expires_ms: u64) -> Credential {
    let mut tokens = OAuthTokens::new(access.into());
    tokens.refresh_token = Some(refresh.into());
    tokens.expires_at = Some(at(expires_ms));
    tokens.account_id = Some("acct-1".into());
    let mut provenance = Provenance::new();
    provenance.insert("auth_flow".into(), "oauth-pkce".into());
    Credential::oauth(tokens, provenance)
}

#[test]
fn marking_a_profile_keeps_its_secret_and_the_listing_says_why() {
    let (_tmp, _path, mut store) = fresh();
    let p = id("openai-codex:default");
    store
        .write_profiles([(&p, &oauth("at-old", "rt-old", 5_000))], at(1_000))
        .unwrap();

    let lock = store
        .lock_profile(&p, WAIT, || panic!("nobody holds the lock"))
        .unwrap();
    assert!(lock.current().unwrap().needs_signin.is_none());
    lock.mark_needs_signin("the refresh token was revoked")
        .unwrap();

    let listing = store.list().unwrap();
    let [got] = listing.profiles.as_slice() else {
        panic!("{listing:?}")
    };
    assert_eq!(
        got.needs_signin.as_deref(),
        Some("the refresh token was revoked")
    );
    assert!(
        got.credential
            .same_secrets(&oauth("at-old", "rt-old", 5_000))
    );
    assert_eq!(
        got.updated_at,
        at(1_000),
        "the credential was not rewritten"
    );
}

#[test]
fn a_refreshed_credential_replaces_the_old_one_and_clears_the_sign_in_note() {
    let (_tmp, _path, mut store) = fresh();
    let p = id("openai-codex:default");
    store
        .write_profiles([(&p, &oauth("at-old", "rt-old", 5_000))], at(1_000))
        .unwrap();
    store
        .lock_profile(&p, WAIT, || {})
        .unwrap()
        .mark_needs_signin("refused")
        .unwrap();

    let lock = store.lock_profile(&p, WAIT, || {}).unwrap();
    assert_eq!(
        lock.current().unwrap().needs_signin.as_deref(),
        Some("refused")
    );
    let fresh_tokens = oauth("at-new", "rt-new", 9_000);
    lock.replace(&fresh_tokens, at(2_000)).unwrap();

    let got = store.get(&p).unwrap().unwrap();
    assert!(got.credential.same_secrets(&fresh_tokens));
    assert_eq!(got.credential.refresh_token(), Some("rt-new"));
    assert_eq!(got.credential.expires_at(), Some(at(9_000)));
    assert_eq!(got.created_at, at(1_000));
    assert_eq!(got.updated_at, at(2_000));
    assert!(got.needs_signin.is_none());
}

#[test]
fn a_new_sign_in_clears_the_sign_in_note() {
    let (_tmp, _path, mut store) = fresh();
    let p = id("openai-codex:default");
    store
        .write_profiles([(&p, &oauth("at-old", "rt-old", 5_000))], at(1_000))
        .unwrap();
    store
        .lock_profile(&p, WAIT, || {})
        .unwrap()
        .mark_needs_signin("refused")
        .unwrap();
    assert!(store.get(&p).unwrap().unwrap().needs_signin.is_some());

    store
        .write_profiles([(&p, &oauth("at-2", "rt-2", 7_000))], at(3_000))
        .unwrap();
    assert!(store.get(&p).unwrap().unwrap().needs_signin.is_none());
}

#[test]
fn a_lock_dropped_or_released_writes_nothing_and_frees_the_store() {
    let (_tmp, _path, mut store) = fresh();
    let p = id("openai-codex:default");
    let old = oauth("at-old", "rt-old", 5_000);
    store.write_profiles([(&p, &old)], at(1_000)).unwrap();

    {
        let lock = store.lock_profile(&p, WAIT, || {}).unwrap();
        // Whatever the caller would have written is lost with the lock.
        let _ = oauth("at-new", "rt-new", 9_000);
        drop(lock);
    }
    store
        .lock_profile(&p, WAIT, || panic!("the dropped lock was released"))
        .unwrap()
        .release()
        .unwrap();
    // Free again: a write that must not wait goes through at once.
    store
        .check_writable(Duration::ZERO, || panic!("the released lock was freed"))
        .unwrap();

    let got = store.get(&p).unwrap().unwrap();
    assert!(got.credential.same_secrets(&old));
    assert_eq!(got.updated_at, at(1_000));
    assert!(got.needs_signin.is_none());
}

#[test]
fn a_profile_that_is_gone_or_damaged_is_locked_with_nothing_current() {
    let (_tmp, path, mut store) = fresh();
    let gone = id("openrouter:gone");
    let lock = store.lock_profile(&gone, WAIT, || {}).unwrap();
    assert!(lock.current().is_none());
    // Marking what is not there changes nothing.
    lock.mark_needs_signin("refused").unwrap();
    assert!(store.list().unwrap().profiles.is_empty());

    insert_raw(
        &path,
        b"openrouter:n",
        "openrouter",
        "token",
        &tagged_key(b"sk-topsecret"),
        "{}",
    );
    let lock = store
        .lock_profile(&id("openrouter:n"), WAIT, || {})
        .unwrap();
    assert!(lock.current().is_none());
    lock.release().unwrap();
    assert_eq!(store.list().unwrap().damaged.len(), 1);
}

#[test]
fn a_lock_shows_no_secret_in_debug() {
    let (_tmp, _path, mut store) = fresh();
    let p = id("openai-codex:default");
    store
        .write_profiles(
            [(
                &p,
                &oauth("at-topsecret-0123456789", "rt-topsecret-0123456789", 5_000),
            )],
            at(1_000),
        )
        .unwrap();
    let lock = store.lock_profile(&p, WAIT, || {}).unwrap();
    let shown = format!("{lock:?}");
    assert!(shown.contains("openai-codex"), "{shown}");
    assert!(!shown.contains("topsecret"), "{shown}");
}

#[test]
fn a_lock_on_a_free_store_does_not_say_it_waits() {
    let (_tmp, _path, mut store) = fresh();
    let p = id("a:x");
    store
        .write_profiles([(&p, &credential("sk-a", "paste"))], at(1))
        .unwrap();
    let lock = store
        .lock_profile(&p, Duration::ZERO, || panic!("nobody holds the lock"))
        .unwrap();
    assert_eq!(lock.current().unwrap().credential.expose_secret(), "sk-a");
}
