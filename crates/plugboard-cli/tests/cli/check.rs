//! `plugboard models status --check`: each provider says whether the credential it would use
//! works, and nothing a service does (or fails to do) fails the command or makes it wait long.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::five_providers::{FiveProviders, PROVIDERS};
use crate::support::{Plugboard, Run, key, openrouter, profile_ids, provider_entry};

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

/// The `check` line of each provider in the text of `models status --check`, with the id of
/// the provider whose section it is in, in order.
fn check_lines(stdout: &str) -> Vec<(String, String)> {
    let mut section = None;
    let mut found = Vec::new();
    for line in stdout.lines() {
        if let Some(check) = line.strip_prefix("  check      ") {
            let id = section
                .clone()
                .expect("a check line is inside a provider's section");
            found.push((id, check.to_owned()));
        } else if !line.starts_with(' ') {
            // A section starts with `Label (id)`.
            section = line
                .strip_suffix(')')
                .and_then(|l| l.rsplit_once(" ("))
                .map(|(_, id)| id.to_owned());
        }
    }
    found
}

/// Runs `models status --check` plus `extra` for `five`, asserting it succeeds within 3 s.
fn timed_check(five: &FiveProviders, extra: &[&str]) -> Run {
    let args: Vec<&str> = ["models", "status", "--check"]
        .iter()
        .chain(extra)
        .copied()
        .collect();
    let started = Instant::now();
    let run = five.run(&args);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}: {run:#?}");
    run.success()
}

/// Each provider's `check` of a `models status --check --json` document, by id, in order.
fn check_statuses(status: &Value) -> Vec<(String, Value)> {
    status["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("an id").to_owned(),
                p["check"].clone(),
            )
        })
        .collect()
}

#[test]
fn with_five_providers_signed_in_a_stopped_ollama_is_unreachable_the_rest_ok_within_three_seconds()
{
    let mut five = FiveProviders::signed_in();
    five.stop_ollama();

    let text = timed_check(&five, &[]);
    let lines = check_lines(&text.stdout);
    let ids: Vec<&str> = lines.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, PROVIDERS, "{text:#?}");
    for (id, check) in &lines {
        if id == "ollama" {
            assert!(
                check.starts_with("unreachable: Ollama could not be reached: "),
                "{check}"
            );
        } else {
            assert_eq!(check, "ok", "{id}: {text:#?}");
        }
    }

    let json = timed_check(&five, &["--json"]).json();
    let checks = check_statuses(&json);
    assert_eq!(checks.len(), PROVIDERS.len(), "{json:#}");
    for (id, check) in checks {
        if id == "ollama" {
            assert_eq!(check["status"], "unreachable", "{check:#}");
            assert!(check["message"].is_string(), "{check:#}");
        } else {
            assert_eq!(check, json!({"status": "ok", "message": null}), "{id}");
        }
    }
}

#[test]
fn with_five_providers_signed_in_a_revoked_openrouter_key_is_rejected_and_the_rest_stay_ok() {
    let five = FiveProviders::signed_in();
    assert!(five.openrouter.revoke_key(&five.openrouter_key));

    let json = timed_check(&five, &["--json"]).json();
    for (id, check) in check_statuses(&json) {
        if id == "openrouter" {
            assert_eq!(check["status"], "rejected", "{check:#}");
            assert!(check["message"].is_string(), "{check:#}");
        } else {
            assert_eq!(check, json!({"status": "ok", "message": null}), "{id}");
        }
    }
    let text = timed_check(&five, &[]);
    let lines = check_lines(&text.stdout);
    let (_, openrouter) = lines
        .iter()
        .find(|(id, _)| id == "openrouter")
        .expect("an openrouter check line");
    assert!(openrouter.starts_with("rejected"), "{openrouter}");
    // A rejected key is reported, never removed.
    assert_eq!(
        profile_ids(provider_entry(
            &five.pb.status(&[], &five.env()),
            "openrouter"
        )),
        ["openrouter:default"]
    );
}
