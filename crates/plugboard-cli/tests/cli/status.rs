//! `plugboard models status`: which credential each provider uses, and why.

use serde_json::{Value, json};

use crate::support::{KEY_ENV, Plugboard, key, openrouter, profile, redacted, tree};

/// What a case is, the status arguments, the environment, and the expected `effective`.
type PrecedenceCase<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)], Value);

#[test]
fn status_reports_which_credential_wins_and_why() {
    let pb = Plugboard::new();
    let (default_key, work_key, env_key) = (key(60), key(61), key(62));
    pb.login(&default_key, &[]);
    pb.login(&work_key, &["--profile", "work"]);
    let padded_env_key = format!("  {env_key}\n");

    let cases: [PrecedenceCase; 5] = [
        (
            "the default profile",
            &[],
            &[],
            json!({
                "source": "default_profile",
                "profile_id": "openrouter:default",
                "kind": "api_key",
                "redacted": redacted(&default_key),
                "expires_at": null,
                "refreshable": false,
            }),
        ),
        (
            "the environment variable over the default profile",
            &[],
            &[(KEY_ENV, &env_key)],
            json!({
                "source": "env",
                "env_var": KEY_ENV,
                "kind": "api_key",
                "redacted": redacted(&env_key),
                "expires_at": null,
                "refreshable": false,
            }),
        ),
        (
            "the environment variable, trimmed",
            &[],
            &[(KEY_ENV, &padded_env_key)],
            json!({
                "source": "env",
                "env_var": KEY_ENV,
                "kind": "api_key",
                "redacted": redacted(&env_key),
                "expires_at": null,
                "refreshable": false,
            }),
        ),
        (
            "--profile",
            &["--profile", "openrouter:work"],
            &[],
            json!({
                "source": "profile_flag",
                "profile_id": "openrouter:work",
                "kind": "api_key",
                "redacted": redacted(&work_key),
                "expires_at": null,
                "refreshable": false,
            }),
        ),
        (
            "--profile over the environment variable",
            &["--profile", "openrouter:work"],
            &[(KEY_ENV, &env_key)],
            json!({
                "source": "profile_flag",
                "profile_id": "openrouter:work",
                "kind": "api_key",
                "redacted": redacted(&work_key),
                "expires_at": null,
                "refreshable": false,
            }),
        ),
    ];
    for (what, args, env, want) in cases {
        let status = pb.status(args, env);
        assert_eq!(openrouter(&status)["effective"], want, "{what}");
        // The plain-text form must not print the environment's key either (checked by `run`).
        let mut plain = vec!["models", "status"];
        plain.extend_from_slice(args);
        pb.run(&plain, "", env).success();
    }
}

#[test]
fn status_with_a_profile_that_is_not_stored_fails_naming_the_login_command() {
    let pb = Plugboard::new();
    pb.login(&key(70), &[]);
    for json in [true, false] {
        let mut args = vec!["models", "status", "--profile", "openrouter:missing"];
        if json {
            args.push("--json");
        }
        let run = pb.run(&args, "", &[]);
        assert_ne!(run.code, 0, "{run:#?}");
        let line = run.error_line(run.code);
        assert!(
            line.contains("plugboard models auth login --provider openrouter --profile missing"),
            "{line}"
        );
    }
}

#[test]
fn read_only_commands_on_a_fresh_home_create_no_files() {
    let commands: [(&[&str], i32); 13] = [
        (&["models", "status"], 0),
        (&["models", "status", "--json"], 0),
        (&["models", "status", "--check"], 0),
        (&["models", "status", "--check", "--json"], 0),
        // Nothing to list with: no credential anywhere.
        (&["models", "list"], 1),
        (&["models", "list", "--provider", "nope"], 2),
        (&["models", "status", "--profile", "openrouter:work"], 1),
        (&["models", "auth", "choices"], 0),
        (&["models", "auth", "choices", "--json"], 0),
        (&["plugins", "list"], 0),
        (&["plugins", "list", "--json"], 0),
        (&["plugins", "schema"], 0),
        (&["models", "auth", "logout", "--provider", "openrouter"], 1),
    ];
    for (args, code) in commands {
        let pb = Plugboard::new();
        let run = pb.run(args, "", &[]);
        assert_eq!(run.code, code, "{args:?}: {run:#?}");
        assert!(
            !pb.home().exists(),
            "{args:?} created {:?}",
            tree(pb.root())
        );
        assert!(
            tree(pb.root()).is_empty(),
            "{args:?} created {:?}",
            tree(pb.root())
        );
    }
}

#[test]
fn status_json_has_store_config_default_model_and_per_provider_credentials() {
    let pb = Plugboard::new();
    let mut status = pb.status(&[], &[]);
    // Where each service is comes from its provider, checked on its own: the rest is exact.
    for provider in status["providers"].as_array_mut().unwrap() {
        let url = provider.as_object_mut().unwrap().remove("service_url");
        assert!(
            matches!(&url, Some(Value::Null | Value::String(_))),
            "{url:?}"
        );
    }
    let store = pb.home().join("credentials.sqlite");
    let config = pb.home().join("config.json");
    let empty = |id: &str, label: &str| {
        json!({
            "id": id,
            "label": label,
            "effective": null,
            "profile_counts": {"api_key": 0, "none": 0, "oauth": 0, "token": 0},
            "profiles": [],
            "unencrypted": false,
        })
    };
    assert_eq!(
        status,
        json!({
            "store": store.to_str().unwrap(),
            "config": config.to_str().unwrap(),
            "default_model": null,
            "providers": [
                empty("anthropic", "Anthropic"),
                empty("github-copilot", "GitHub Copilot"),
                empty("ollama", "Ollama"),
                empty("openai-codex", "OpenAI Codex"),
                empty("openrouter", "OpenRouter"),
            ],
            "damaged": [],
        })
    );

    let key = key(80);
    pb.login(&key, &[]);
    let status = pb.status(&[], &[]);
    let provider = openrouter(&status);
    assert_eq!(
        provider["profile_counts"],
        json!({"api_key": 1, "none": 0, "oauth": 0, "token": 0})
    );
    let profiles = provider["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 1);
    let mut fields: Vec<&str> = profiles[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "created_at",
            "expires_at",
            "kind",
            "needs_signin",
            "profile_id",
            "provenance",
            "redacted",
            "refreshable",
            "updated_at"
        ]
    );
    assert_eq!(provider["effective"]["source"], "default_profile");
}

#[test]
fn a_bare_profile_name_is_shown_at_the_providers_that_have_it_and_an_unknown_one_fails() {
    let pb = Plugboard::new();
    pb.login(&key(90), &["--profile", "work"]);
    let status = pb.status(&["--profile", "work"], &[]);
    assert_eq!(
        openrouter(&status)["effective"]["profile_id"],
        "openrouter:work"
    );
    let anthropic = crate::support::provider_entry(&status, "anthropic");
    assert_eq!(anthropic["effective"], Value::Null, "{anthropic:#}");

    let run = pb.run(&["models", "status", "--profile", "nothere"], "", &[]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.error_line(1)
            .contains("no provider has a profile named nothere: sign in with `plugboard models auth login --provider <provider> --profile nothere`"),
        "{run:#?}"
    );
}

#[test]
fn a_profile_without_a_secret_shows_as_no_secret_never_as_a_redacted_string() {
    let pb = Plugboard::new();
    let key = key(310);
    pb.login(&key, &[]);
    // As a sign-in to a local service that needs no credential stores it.
    rusqlite::Connection::open(pb.home().join("credentials.sqlite"))
        .expect("the store opens")
        .execute(
            r#"INSERT INTO profiles
                 (profile_id, provider, name, kind, secret, provenance, created_at, updated_at)
             VALUES ('openrouter:local', 'openrouter', 'local', 'none', '{"type":"none"}',
                 '{"base_url":"http://127.0.0.1:11434"}', 0, 0)"#,
            [],
        )
        .expect("the row is inserted");

    let status = pb.status(&["--profile", "openrouter:local"], &[]);
    let provider = openrouter(&status);
    assert_eq!(
        provider["effective"],
        json!({
            "source": "profile_flag",
            "profile_id": "openrouter:local",
            "kind": "none",
            "redacted": null,
            "expires_at": null,
            "refreshable": false,
        })
    );
    assert_eq!(
        provider["profile_counts"],
        json!({"api_key": 1, "none": 1, "oauth": 0, "token": 0})
    );
    let local = profile(provider, "openrouter:local");
    assert_eq!(local["kind"], "none");
    assert_eq!(local["redacted"], Value::Null);
    assert_eq!(
        local["provenance"],
        json!({"base_url": "http://127.0.0.1:11434"})
    );
    assert_eq!(
        profile(provider, "openrouter:default")["redacted"],
        redacted(&key)
    );

    let run = pb
        .run(
            &["models", "status", "--profile", "openrouter:local"],
            "",
            &[],
        )
        .success();
    assert!(
        run.stdout
            .contains("  effective  no secret from profile openrouter:local (--profile)\n"),
        "{run:#?}"
    );
    assert!(
        run.stdout
            .contains("    openrouter:local  none  no secret  updated "),
        "{run:#?}"
    );
    assert!(
        run.stdout
            .contains("profiles   2 (0 oauth, 0 token, 1 api_key, 1 none)"),
        "{run:#?}"
    );
}
