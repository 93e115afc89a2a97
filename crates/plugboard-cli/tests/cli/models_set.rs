//! `plugboard models set` and `login --set-default`: the default model in `config.json`.

use serde_json::json;

use crate::support::{Plugboard, key};

fn read_config(pb: &Plugboard) -> serde_json::Value {
    let text = std::fs::read_to_string(pb.home().join("config.json")).expect("config.json exists");
    serde_json::from_str(&text).expect("config.json is JSON")
}

#[test]
fn models_set_writes_the_default_model_and_keeps_unknown_config_keys() {
    let pb = Plugboard::new();
    std::fs::create_dir_all(pb.home()).unwrap();
    std::fs::write(
        pb.home().join("config.json"),
        r#"{"future_key": {"nested": [1, 2]}}"#,
    )
    .unwrap();

    let run = pb
        .run(&["models", "set", "openrouter/auto"], "", &[])
        .success();
    assert!(
        run.stdout
            .starts_with("default model set to openrouter/auto"),
        "{run:#?}"
    );
    assert_eq!(
        read_config(&pb),
        json!({"future_key": {"nested": [1, 2]}, "default_model": "openrouter/auto"})
    );
    assert_eq!(pb.status(&[], &[])["default_model"], "openrouter/auto");
    let plain = pb.run(&["models", "status"], "", &[]).success();
    assert!(plain.stdout.contains("openrouter/auto"), "{plain:#?}");
}

#[test]
fn models_set_refuses_a_malformed_model_or_an_unknown_provider_with_exit_2() {
    let pb = Plugboard::new();
    pb.run(&["models", "set", "openrouter/auto"], "", &[])
        .success();
    let before = read_config(&pb);
    for model in ["auto", "nope/x", "openrouter/", "/auto"] {
        let run = pb.run(&["models", "set", model], "", &[]);
        run.error_line(2);
        assert_eq!(read_config(&pb), before, "{model}");
    }
}

#[test]
fn login_with_set_default_makes_openrouter_auto_the_default_model() {
    let pb = Plugboard::new();
    pb.login(&key(90), &[]);
    assert!(
        !pb.home().join("config.json").exists(),
        "without --set-default the config is left alone"
    );
    assert_eq!(pb.status(&[], &[])["default_model"], json!(null));

    pb.login(&key(90), &["--set-default"]);
    assert_eq!(read_config(&pb)["default_model"], "openrouter/auto");
    assert_eq!(pb.status(&[], &[])["default_model"], "openrouter/auto");
}
