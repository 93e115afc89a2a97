//! `plugboard models auth logout`.

use crate::support::{Plugboard, key, profile_ids, redacted};

const LOGOUT: &[&str] = &["models", "auth", "logout", "--provider", "openrouter"];

fn logout(pb: &Plugboard, extra: &[&str]) -> crate::support::Run {
    let args: Vec<&str> = LOGOUT.iter().chain(extra).copied().collect();
    pb.run(&args, "", &[])
}

#[test]
fn logout_with_a_profile_removes_only_that_profile() {
    let pb = Plugboard::new();
    let default_key = key(100);
    pb.login(&default_key, &[]);
    pb.login(&key(101), &["--profile", "work"]);

    let run = logout(&pb, &["--profile", "work"]).success();
    assert_eq!(run.stdout, "removed openrouter:work\n");
    let status = pb.openrouter_status();
    assert_eq!(profile_ids(&status), ["openrouter:default"]);
    assert_eq!(status["effective"]["redacted"], redacted(&default_key));

    // Gone is gone: a second logout of it fails, and the full form means the same profile.
    for form in ["work", "openrouter:work"] {
        let run = logout(&pb, &["--profile", form]);
        let line = run.error_line(1);
        assert!(line.contains("openrouter:work"), "{line}");
    }
    assert_eq!(profile_ids(&pb.openrouter_status()), ["openrouter:default"]);
}

#[test]
fn logout_with_a_profile_of_another_provider_exits_2_and_removes_nothing() {
    let pb = Plugboard::new();
    pb.login(&key(105), &[]);
    logout(&pb, &["--profile", "other:default"]).error_line(2);
    let run = pb.run(&["models", "auth", "logout", "--provider", "nope"], "", &[]);
    run.error_line(2);
    assert_eq!(profile_ids(&pb.openrouter_status()), ["openrouter:default"]);
}

#[test]
fn logout_with_all_removes_every_profile_of_the_provider() {
    let pb = Plugboard::new();
    pb.login(&key(110), &[]);
    pb.login(&key(111), &["--profile", "work"]);
    pb.login(&key(112), &["--profile", "home"]);

    let run = logout(&pb, &["--all"]).success();
    let removed: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        removed,
        [
            "removed openrouter:default",
            "removed openrouter:home",
            "removed openrouter:work"
        ]
    );
    let status = pb.openrouter_status();
    assert!(profile_ids(&status).is_empty(), "{status:#}");
    assert_eq!(status["effective"], serde_json::Value::Null);
}

#[test]
fn logout_of_several_profiles_without_a_terminal_exits_2_listing_them_and_removes_nothing() {
    let pb = Plugboard::new();
    pb.login(&key(113), &[]);
    pb.login(&key(114), &["--profile", "work"]);

    let run = logout(&pb, &[]);
    let line = run.error_line(2);
    assert!(
        line.contains("openrouter has 2 profiles (openrouter:default, openrouter:work)"),
        "{line}"
    );
    assert!(line.contains("--all"), "{line}");
    assert!(line.contains("nothing was removed"), "{line}");
    assert_eq!(
        profile_ids(&pb.openrouter_status()),
        ["openrouter:default", "openrouter:work"]
    );
}

#[test]
fn logout_of_a_single_profile_removes_it_without_asking() {
    let pb = Plugboard::new();
    pb.login(&key(115), &["--profile", "work"]);
    let run = logout(&pb, &[]).success();
    assert_eq!(run.stdout, "removed openrouter:work\n");
    assert!(profile_ids(&pb.openrouter_status()).is_empty());
}

#[test]
fn logout_flags_that_contradict_each_other_exit_2_and_remove_nothing() {
    let pb = Plugboard::new();
    pb.login(&key(116), &[]);
    pb.login(&key(117), &["--profile", "work"]);
    for extra in [
        &["--all", "--profile", "work"][..],
        &["--damaged", "openrouter:work"][..],
    ] {
        let run = logout(&pb, extra);
        assert_eq!(run.code, 2, "{extra:?}: {run:#?}");
    }
    let run = pb.run(&["models", "auth", "logout"], "", &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(
        profile_ids(&pb.openrouter_status()),
        ["openrouter:default", "openrouter:work"]
    );
}

#[test]
fn logout_with_nothing_stored_exits_1_with_one_clear_line() {
    // Never signed in (no store at all), and signed in then out (an empty store).
    let fresh = Plugboard::new();
    let emptied = Plugboard::new();
    emptied.login(&key(120), &[]);
    logout(&emptied, &[]).success();

    for pb in [&fresh, &emptied] {
        let run = logout(pb, &[]);
        let line = run.error_line(1);
        assert_eq!(line, "error: no stored credentials for openrouter");
    }
}
