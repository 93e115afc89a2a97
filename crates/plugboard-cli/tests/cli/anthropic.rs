//! The `anthropic` provider through the real binary, against the Anthropic double: an API key
//! signed in from stdin or taken from `ANTHROPIC_API_KEY`, model runs through the Messages
//! API, and Anthropic's error shape turned into plugboard's stable error types.

use plugboard_testkit::{ANTHROPIC_REPLY_PREFIX, AnthropicDouble, AnthropicFault};
use serde_json::json;

use crate::support::{Plugboard, Run, profile, provider_entry};

pub(crate) const LOGIN: &[&str] = &[
    "models",
    "auth",
    "login",
    "--provider",
    "anthropic",
    "--method",
    "api-key",
];

const INFER_JSON: &[&str] = &[
    "infer",
    "model",
    "run",
    "--model",
    "anthropic/claude-sonnet-5-5",
    "--prompt",
    "hi",
    "--json",
];

struct Anthropic {
    pb: Plugboard,
    double: AnthropicDouble,
    key: String,
}

impl Anthropic {
    /// A fresh home with a key the double accepts stored as `anthropic:default`.
    fn signed_in() -> Self {
        let pb = Plugboard::new();
        let double = AnthropicDouble::start().expect("the Anthropic double starts");
        let key = double.issue_key();
        pb.remember_secret(&key);
        pb.run(LOGIN, format!("{key}\n"), &[]).success();
        Self { pb, double, key }
    }

    fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let origin = self.double.origin();
        let mut env = vec![("ANTHROPIC_BASE_URL", origin.as_str())];
        env.extend_from_slice(extra_env);
        self.pb.run(args, "", &env)
    }
}

#[test]
fn an_api_key_from_stdin_is_stored_and_runs_the_model_in_the_same_json_shape_as_openrouters() {
    let anthropic = Anthropic::signed_in();
    let status = anthropic.pb.status(&[], &[]);
    let entry = provider_entry(&status, "anthropic");
    let stored = profile(entry, "anthropic:default");
    assert_eq!(stored["kind"], "api_key");
    assert_eq!(stored["expires_at"], serde_json::Value::Null);
    assert_eq!(stored["refreshable"], false);

    let reply = anthropic.run(INFER_JSON, &[]).success().json();
    let text = reply["outputs"][0]["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with(ANTHROPIC_REPLY_PREFIX), "{reply:#}");
    assert_eq!(
        reply,
        json!({
            "ok": true,
            "capability": "model.run",
            "transport": "local",
            "provider": "anthropic",
            "model": "claude-sonnet-5-5",
            "attempts": [],
            "outputs": [{"text": text, "mediaUrl": null}],
        })
    );
    let sent = anthropic.double.requests_to("/v1/messages");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].key_tail.as_deref(),
        Some(&anthropic.key[anthropic.key.len() - 4..])
    );
}

#[test]
fn the_environment_variable_wins_over_the_stored_key() {
    let anthropic = Anthropic::signed_in();
    let env_key = anthropic.double.issue_key();
    anthropic.pb.remember_secret(&env_key);
    anthropic
        .run(INFER_JSON, &[("ANTHROPIC_API_KEY", &env_key)])
        .success();
    let sent = anthropic.double.requests_to("/v1/messages");
    assert_eq!(
        sent[0].key_tail.as_deref(),
        Some(&env_key[env_key.len() - 4..])
    );
}

#[test]
fn anthropics_errors_become_plugboards_error_types_with_advice() {
    let anthropic = Anthropic::signed_in();
    let cases = [
        (
            AnthropicFault::RejectEveryKey,
            "credential_rejected",
            "sign in again with `plugboard models auth login --provider anthropic`",
        ),
        (
            AnthropicFault::RateLimited {
                retry_after_secs: 30,
            },
            "rate_limited",
            "Anthropic",
        ),
        (AnthropicFault::Overloaded, "service", "Anthropic"),
    ];
    for (fault, kind, says) in cases {
        anthropic.double.set_fault(Some(fault));
        let run = anthropic.run(INFER_JSON, &[]);
        assert_eq!(run.code, 1, "{fault:?}: {run:#?}");
        let error = &run.json()["error"];
        assert_eq!(error["type"], kind, "{fault:?}: {error:#}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(says), "{fault:?}: {message}");
    }
    anthropic.double.set_fault(None);
    // A rejected key is never deleted.
    let status = anthropic.pb.status(&[], &[]);
    profile(provider_entry(&status, "anthropic"), "anthropic:default");
}
