//! A sign-in over a profile that already holds a key says what it replaced: which kind, when
//! it was stored and how it came.

use plugboard_testkit::OpenRouterDouble;

use crate::support::{HandoffBrowser, Plugboard, key, profile};

/// The date (`YYYY-MM-DD`) `openrouter:default` was last written, from status.
fn stored_on(pb: &Plugboard) -> String {
    let status = pb.openrouter_status();
    let updated = profile(&status, "openrouter:default")["updated_at"]
        .as_str()
        .expect("updated_at is a string")
        .to_owned();
    updated[..10].to_owned()
}

fn oauth_login(pb: &Plugboard, double: &OpenRouterDouble) -> crate::support::Run {
    let browser = HandoffBrowser::new();
    let login = pb.start_oauth_login(double, &browser, &["--port", "0"]);
    plugboard_testkit::approve(&browser.wait_for_url()).expect("the browser signs in");
    let run = pb.wait_watched(login, "").success();
    pb.remember_issued_key(double);
    run
}

#[test]
fn an_oauth_login_over_a_pasted_key_says_it_replaced_the_pasted_key() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let first = pb.login(&key(700), &[]);
    assert!(!first.stderr.contains("replaced"), "{first:#?}");
    let date = stored_on(&pb);

    let run = oauth_login(&pb, &double);
    let want = format!("replaced the API key stored on {date} (pasted) in openrouter:default");
    assert!(run.stderr.contains(&want), "{want}: {run:#?}");
}

#[test]
fn an_api_key_login_over_an_oauth_key_says_it_replaced_the_oauth_key() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let first = oauth_login(&pb, &double);
    assert!(!first.stderr.contains("replaced"), "{first:#?}");
    let date = stored_on(&pb);

    let run = pb.login(&key(701), &[]);
    let want = format!("replaced the API key stored on {date} (oauth) in openrouter:default");
    assert!(run.stderr.contains(&want), "{want}: {run:#?}");

    // Another profile replaces nothing.
    let other = pb.login(&key(702), &["--profile", "work"]);
    assert!(!other.stderr.contains("replaced"), "{other:#?}");
}
