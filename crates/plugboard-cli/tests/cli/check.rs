//! `plugboard models status --check`: each provider says whether the credential it would use
//! works, and nothing a service does (or fails to do) fails the command or makes it wait long.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Plugboard, key, openrouter};

#[test]
fn with_no_credentials_every_provider_has_nothing_to_check_and_nothing_is_created() {
    let pb = Plugboard::new();
    let status = pb.status(&["--check"], &[]);
    let providers = status["providers"].as_array().expect("providers");
    assert!(!providers.is_empty());
    for provider in providers {
        assert_eq!(
            provider["check"],
            json!({"status": "no_credential", "message": null}),
            "{provider:#}"
        );
    }
    let run = pb.run(&["models", "status", "--check"], "", &[]).success();
    assert_eq!(
        run.stdout
            .matches("  check      no credential to check\n")
            .count(),
        providers.len(),
        "{run:#?}"
    );
    assert!(!pb.home().exists(), "status --check created files");
}

#[test]
fn without_check_no_provider_has_a_check_entry_or_line() {
    let pb = Plugboard::new();
    pb.login(&key(300), &[]);
    let status = pb.status(&[], &[]);
    for provider in status["providers"].as_array().expect("providers") {
        assert!(provider.get("check").is_none(), "{provider:#}");
    }
    let run = pb.run(&["models", "status"], "", &[]).success();
    assert!(!run.stdout.contains("  check "), "{run:#?}");
}

#[test]
fn a_service_that_never_answers_does_not_fail_the_command_or_hold_it_long() {
    let pb = Plugboard::new();
    pb.login(&key(301), &[]);
    // Takes connections (the kernel's backlog) and never answers.
    let black_hole = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("a free port");
    let base = format!(
        "http://127.0.0.1:{}/api/v1",
        black_hole.local_addr().expect("an address").port()
    );
    let env = [("OPENROUTER_BASE_URL", base.as_str())];
    let started = Instant::now();
    let status = pb.status(&["--check"], &env);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let check = &openrouter(&status)["check"];
    // A provider without a check says so; one with a check finds the service unreachable.
    match check["status"].as_str() {
        Some("unsupported") => assert_eq!(check["message"], Value::Null),
        Some("unreachable") => assert!(check["message"].is_string(), "{check:#}"),
        _ => panic!("{check:#}"),
    }
    drop(black_hole);
}
