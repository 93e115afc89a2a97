//! `plugboard plugins list` and `plugboard models auth choices`: what the binary has linked in.

use serde_json::json;

use crate::support::{Plugboard, key};

#[test]
fn plugins_list_json_shows_the_linked_openrouter_plugin_and_its_api_key_method() {
    let pb = Plugboard::new();
    let list = pb
        .run(&["plugins", "list", "--json"], "", &[])
        .success()
        .json();

    let plugins = list["plugins"].as_array().unwrap();
    let openrouter = plugins
        .iter()
        .find(|p| p["id"] == "openrouter")
        .unwrap_or_else(|| panic!("the inventory registration was lost at link time: {list:#}"));
    let providers = openrouter["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 1, "{openrouter:#}");
    assert_eq!(providers[0]["id"], "openrouter");
    let methods: Vec<&str> = providers[0]["auth_methods"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(methods.contains(&"api-key"), "{openrouter:#}");
}

#[test]
fn plugins_list_mentions_openrouter_in_plain_text() {
    let pb = Plugboard::new();
    let run = pb.run(&["plugins", "list"], "", &[]).success();
    assert!(run.stdout.contains("openrouter"), "{run:#?}");
    assert!(run.stdout.contains("api-key"), "{run:#?}");
}

#[test]
fn auth_choices_offer_openrouter_oauth_first_then_the_api_key_and_mark_openrouter_signed_in() {
    let pb = Plugboard::new();
    let choices = |pb: &Plugboard| {
        pb.run(&["models", "auth", "choices", "--json"], "", &[])
            .success()
            .json()
    };
    let group_of = |menu: &serde_json::Value| {
        menu["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| {
                g["choices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["choice_id"] == "openrouter-api-key")
            })
            .unwrap_or_else(|| panic!("no openrouter-api-key choice in {menu:#}"))
            .clone()
    };

    let before = group_of(&choices(&pb));
    let choice = before["choices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["choice_id"] == "openrouter-api-key")
        .unwrap();
    assert_eq!(choice["provider"], "openrouter");
    assert_eq!(choice["method"], "api-key");
    assert_eq!(choice["kind"], "api_key");
    assert_eq!(before["signed_in"], json!(false), "{before:#}");
    assert_eq!(before["hint"], "OAuth or API key");
    let ids: Vec<&str> = before["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["choice_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["openrouter-oauth", "openrouter-api-key"],
        "featured first"
    );
    let oauth = &before["choices"][0];
    assert_eq!(
        (
            &oauth["method"],
            &oauth["kind"],
            &oauth["hint"],
            &oauth["featured"]
        ),
        (
            &json!("oauth"),
            &json!("oauth"),
            &json!("Browser sign-in"),
            &json!(true)
        )
    );

    pb.login(&key(1), &[]);
    let after = group_of(&choices(&pb));
    assert_eq!(after["signed_in"], json!(true), "{after:#}");
}

#[test]
fn the_sign_in_menu_has_a_group_per_provider_with_openrouter_featured_first() {
    let pb = Plugboard::new();
    let menu = pb
        .run(&["models", "auth", "choices", "--json"], "", &[])
        .success()
        .json();
    let groups: Vec<(&str, Vec<&str>)> = menu["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let choices = g["choices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["choice_id"].as_str().unwrap())
                .collect();
            (g["id"].as_str().unwrap(), choices)
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("openrouter", vec!["openrouter-oauth", "openrouter-api-key"]),
            ("anthropic", vec!["anthropic-api-key"]),
            ("openai-codex", vec!["openai-codex-oauth"]),
            ("github-copilot", vec!["github-copilot-device"]),
            ("ollama", vec!["ollama-local"]),
        ],
        "{menu:#}"
    );
    let codex = &menu["groups"][2]["choices"][0];
    assert_eq!(codex["label"], "OpenAI Codex (ChatGPT sign-in)");
    assert_eq!(
        (&codex["method"], &codex["kind"]),
        (&json!("oauth"), &json!("oauth"))
    );
    let anthropic = &menu["groups"][1]["choices"][0];
    assert_eq!(
        (&anthropic["method"], &anthropic["kind"]),
        (&json!("api-key"), &json!("api_key"))
    );
}
