//! The `ollama` provider through the real binary, against the Ollama double: signing in only
//! checks the server answers and stores a profile with no secret, and models run through it.

use plugboard_testkit::{OLLAMA_REPLY_PREFIX, OLLAMA_VERSION, OllamaDouble};
use serde_json::Value;

use crate::support::{Plugboard, profile, provider_entry, tree};

/// Where `ollama` and plugboard look for the server.
pub(crate) const HOST_ENV: &str = "OLLAMA_HOST";

/// Signing in to the local server (its one method).
pub(crate) const LOGIN: &[&str] = &["models", "auth", "login", "--provider", "ollama"];

#[test]
fn a_local_ollama_signs_in_with_no_secret_and_answers_a_prompt() {
    let pb = Plugboard::new();
    let double = OllamaDouble::start().expect("the Ollama double starts");
    let origin = double.origin();
    let env = [(HOST_ENV, origin.as_str())];

    let run = pb.run(LOGIN, "", &env).success();
    assert!(
        run.stdout
            .starts_with("signed in to Ollama: stored ollama:default (no secret needed) in "),
        "{run:#?}"
    );
    assert_eq!(double.requests_to("/api/version").len(), 1);

    let status = pb.status(&[], &env);
    let ollama = provider_entry(&status, "ollama");
    assert_eq!(ollama["effective"]["kind"], "none", "{ollama:#}");
    let stored = profile(ollama, "ollama:default");
    assert_eq!(stored["kind"], "none", "{stored:#}");
    assert_eq!(stored["redacted"], Value::Null, "{stored:#}");
    assert_eq!(stored["refreshable"], false);
    assert_eq!(stored["provenance"]["auth_flow"], "local");
    assert_eq!(stored["provenance"]["base_url"], origin);
    assert_eq!(stored["provenance"]["version"], OLLAMA_VERSION);
    let text = pb.run(&["models", "status"], "", &env).success();
    assert!(
        text.stdout.contains("ollama:default  none  no secret  "),
        "{text:#?}"
    );

    let reply = pb
        .run(
            &[
                "infer",
                "model",
                "run",
                "--model",
                "ollama/llama3.2:latest",
                "--prompt",
                "hi",
            ],
            "",
            &env,
        )
        .success();
    assert_eq!(reply.stdout, format!("{OLLAMA_REPLY_PREFIX} hi\n"));
    let chats = double.requests_to("/api/chat");
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].model.as_deref(), Some("llama3.2:latest"));
    assert!(!chats[0].authorization, "no credential is sent");
}

#[test]
fn signing_in_to_an_ollama_that_is_not_running_fails_and_stores_nothing() {
    let pb = Plugboard::new();
    let double = OllamaDouble::start().expect("the Ollama double starts");
    let origin = double.origin();
    double.shutdown().expect("the Ollama double stops");

    let run = pb.run(LOGIN, "", &[(HOST_ENV, origin.as_str())]);
    assert_eq!(run.code, 1, "{run:#?}");
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{run:#?}");
    assert!(errors[0].contains("nothing was stored"), "{run:#?}");
    assert!(
        !pb.home().join("credentials.sqlite").exists(),
        "a store was written: {:?}",
        tree(pb.root())
    );
}
