//! `plugboard models list`: which providers it asks, and what it refuses before asking any.
//! With all five providers signed in against their doubles: one run lists them all, and a
//! failing service fails only its own provider's entry.

use plugboard_testkit::{ANTHROPIC_MODELS, OLLAMA_MODELS};
use serde_json::Value;

use crate::five_providers::{FiveProviders, PROVIDERS};
use crate::support::Plugboard;

#[test]
fn an_unknown_provider_is_a_usage_error_that_names_who_can_list() {
    let pb = Plugboard::new();
    for json in [false, true] {
        let mut args = vec!["models", "list", "--provider", "nope"];
        if json {
            args.push("--json");
        }
        let run = pb.run(&args, "", &[]);
        let line = run.error_line(2);
        assert!(
            line.starts_with("error: unknown provider \"nope\": "),
            "{line}"
        );
        assert!(line.ends_with("list models"), "{line}");
    }
}

#[test]
fn the_help_says_what_a_line_is_and_when_the_command_fails() {
    let pb = Plugboard::new();
    let run = pb.run(&["models", "list", "--help"], "", &[]).success();
    for said in [
        "--provider <P>",
        "--json",
        "(free)",
        "fails only when no provider",
    ] {
        assert!(run.stdout.contains(said), "{said}: {run:#?}");
    }
}

/// The entries of a `models list --json` document, by provider id, in order.
fn entries(list: &Value) -> Vec<(String, Value)> {
    list["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .map(|e| {
            (
                e["provider"].as_str().expect("a provider").to_owned(),
                e.clone(),
            )
        })
        .collect()
}

/// The ids of a provider entry's models.
fn ids(entry: &Value) -> Vec<&str> {
    entry["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| m["id"].as_str().expect("an id"))
        .collect()
}

/// The lines the text of `models list` has for the providers that listed in `list`: one per
/// model, `provider/id`, with ` (free)` after a free one.
fn expected_lines(list: &Value) -> Vec<String> {
    entries(list)
        .iter()
        .filter(|(_, entry)| entry["ok"] == true)
        .flat_map(|(provider, entry)| {
            entry["models"]
                .as_array()
                .expect("models")
                .iter()
                .map(move |m| {
                    let free = if m["free"] == true { " (free)" } else { "" };
                    format!("{provider}/{}{free}", m["id"].as_str().expect("an id"))
                })
        })
        .collect()
}

#[test]
fn with_five_providers_signed_in_one_run_lists_the_models_of_every_one() {
    let five = FiveProviders::signed_in();
    let list = five.run(&["models", "list", "--json"]).success().json();
    let entries = entries(&list);
    let providers: Vec<&str> = entries.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(providers, PROVIDERS, "{list:#}");
    for (id, entry) in &entries {
        assert_eq!(entry["ok"], true, "{id}: {entry:#}");
        assert!(!ids(entry).is_empty(), "{id}: {entry:#}");
    }
    let entry = |id: &str| &entries.iter().find(|(p, _)| p == id).expect("listed").1;

    let openrouter = entry("openrouter");
    let mut free = 0;
    for model in openrouter["models"].as_array().expect("models") {
        if model["id"].as_str().is_some_and(|id| id.ends_with(":free")) {
            assert_eq!(model["free"], true, "{model:#}");
            free += 1;
        }
    }
    assert!(free >= 2, "{openrouter:#}");
    let priced = openrouter["models"]
        .as_array()
        .expect("models")
        .iter()
        .find(|m| m["id"] == "openai/gpt-5")
        .expect("a priced model");
    assert_eq!(priced["free"], false);
    assert_eq!(ids(entry("ollama")), OLLAMA_MODELS);
    assert!(ids(entry("github-copilot")).contains(&"gpt-4.1"));
    assert_eq!(ids(entry("anthropic")), ANTHROPIC_MODELS.map(|(id, _)| id));

    let text = five.run(&["models", "list"]).success();
    assert_eq!(text.stderr, "", "{text:#?}");
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines, expected_lines(&list), "{text:#?}");
    assert!(
        lines.contains(&"openrouter/liquid/lfm-2.5-1.2b-instruct:free (free)"),
        "{text:#?}"
    );
    assert!(lines.contains(&"openrouter/openai/gpt-5"), "{text:#?}");
}

#[test]
fn a_failing_service_fails_only_its_providers_entry_and_the_others_still_list() {
    let mut five = FiveProviders::signed_in();
    assert!(five.anthropic.revoke_key(&five.anthropic_key));
    let list = five.run(&["models", "list", "--json"]).success().json();
    for (id, entry) in entries(&list) {
        if id == "anthropic" {
            assert_eq!(entry["ok"], false, "{entry:#}");
            assert_eq!(entry["error"]["type"], "credential_rejected", "{entry:#}");
        } else {
            assert_eq!(entry["ok"], true, "{id}: {entry:#}");
        }
    }

    five.stop_ollama();
    let list = five.run(&["models", "list", "--json"]).success().json();
    let mut listed = Vec::new();
    for (id, entry) in entries(&list) {
        match id.as_str() {
            "anthropic" => assert_eq!(entry["error"]["type"], "credential_rejected"),
            "ollama" => assert_eq!(entry["error"]["type"], "unreachable", "{entry:#}"),
            _ => {
                assert_eq!(entry["ok"], true, "{id}: {entry:#}");
                assert!(!ids(&entry).is_empty(), "{id}: {entry:#}");
                listed.push(id.clone());
                continue;
            }
        }
        assert_eq!(entry["ok"], false, "{entry:#}");
        assert!(entry["error"]["message"].is_string(), "{entry:#}");
        assert!(entry.get("models").is_none(), "{entry:#}");
    }
    assert_eq!(listed, ["github-copilot", "openai-codex", "openrouter"]);

    let text = five.run(&["models", "list"]).success();
    assert_eq!(
        text.stdout.lines().collect::<Vec<_>>(),
        expected_lines(&list)
    );
    let failures: Vec<&str> = text.stderr.lines().collect();
    assert_eq!(failures.len(), 2, "{text:#?}");
    assert!(failures[0].starts_with("anthropic: "), "{text:#?}");
    assert!(
        failures[1].starts_with("ollama: Ollama could not be reached: "),
        "{text:#?}"
    );
}
