//! A plugin served in-process, the test acting as the host.

use plugboard_core::ErrorChain;
use plugboard_plugin::ServeError;
use plugboard_protocol::{
    Answer, AnswerError, AnswerFailure, ErrorKind, HostMessage, MAX_LINE_BYTES, PROTOCOL_VERSIONS,
    PluginMessage, PromptKind, WireCredential, WireError, WireProfile, WireSecret,
};
use plugboard_testkit::{OPENROUTER_MODELS, OpenRouterDouble};
use serde_json::json;

use crate::host::{Host, api_key};
use crate::providers::{ACME, BOOM, PLUGIN, fixtures, plugin};

fn sign_in(id: u64, provider: &str, method: &str, profile: &str) -> HostMessage {
    HostMessage::SignIn {
        id,
        provider: provider.into(),
        method: method.into(),
        profile: profile.into(),
        base_url: None,
        settings: serde_json::Value::Null,
        interactive: false,
        no_browser: true,
        timeout_secs: 300,
    }
}

fn run_model(
    id: u64,
    provider: &str,
    base_url: Option<String>,
    key: &str,
    prompt: &str,
) -> HostMessage {
    HostMessage::RunModel {
        id,
        provider: provider.into(),
        credential: api_key(key),
        base_url,
        settings: serde_json::Value::Null,
        model: "openai/gpt-4o-mini".into(),
        prompt: prompt.into(),
    }
}

fn failure(message: PluginMessage) -> (u64, WireError) {
    match message {
        PluginMessage::Failed { id, error } => (id, error),
        other => panic!("expected failed, got {other:?}"),
    }
}

/// The id and kind of the plugin's next prompt, after checking what it asks.
async fn prompt(host: &mut Host, kind: PromptKind, message: &str) -> u64 {
    match host.recv().await {
        PluginMessage::Prompt {
            id,
            kind: asked,
            message: said,
            ..
        } => {
            assert_eq!((asked, said.as_str()), (kind, message));
            id
        }
        other => panic!("expected a prompt, got {other:?}"),
    }
}

#[tokio::test]
async fn the_plugin_says_hello_first_and_ends_cleanly_when_the_host_closes_its_input() {
    let mut host = Host::start(plugin());
    assert_eq!(
        host.recv().await,
        PluginMessage::Hello {
            plugin: PLUGIN.into(),
            version: "1.2.3".into(),
            versions: PROTOCOL_VERSIONS.to_vec(),
        }
    );
    host.send(&HostMessage::Start { version: 1 }).await;
    host.send(&HostMessage::ListFixtures { id: 4 }).await;
    assert_eq!(
        host.recv().await,
        PluginMessage::Fixtures {
            id: 4,
            fixtures: fixtures(),
        }
    );
    let (rest, ended) = host.close().await;
    assert_eq!(rest, []);
    assert!(ended.is_ok(), "{ended:?}");
}

#[tokio::test]
async fn a_host_that_closes_before_starting_ends_the_session_cleanly() {
    let mut host = Host::start(plugin());
    assert!(matches!(host.recv().await, PluginMessage::Hello { .. }));
    let (rest, ended) = host.close().await;
    assert_eq!(rest, []);
    assert!(ended.is_ok(), "{ended:?}");
}

#[tokio::test]
async fn a_session_that_does_not_start_properly_ends_with_an_error_and_answers_nothing() {
    let cases = [
        (
            HostMessage::Start { version: 99 },
            "the host chose protocol version 99, which this plugin does not speak (it speaks [1])",
        ),
        (
            HostMessage::ListFixtures { id: 1 },
            "the host sent list_fixtures before start",
        ),
    ];
    for (first, want) in cases {
        let mut host = Host::start(plugin());
        assert!(matches!(host.recv().await, PluginMessage::Hello { .. }));
        host.send(&first).await;
        host.send(&HostMessage::ListFixtures { id: 2 }).await;
        let (rest, ended) = host.finish().await;
        assert_eq!(rest, [], "{want}");
        assert_eq!(ended.unwrap_err().to_string(), want);
    }
    let mut host = Host::start(plugin());
    host.recv().await;
    host.send(&HostMessage::Start { version: 2 }).await;
    assert!(matches!(
        host.finish().await.1,
        Err(ServeError::UnsupportedVersion { version: 2, .. })
    ));
}

#[tokio::test]
async fn a_sign_in_asks_the_host_for_the_secret_and_returns_the_profile_asked_for() {
    let cases = [("acme:work", "acme:work"), ("acme:default", "acme:default")];
    for (asked, stored) in cases {
        let mut host = Host::started(plugin()).await;
        host.send(&sign_in(7, ACME, "api-key", asked)).await;
        let id = prompt(&mut host, PromptKind::Secret, "Acme API key").await;
        host.answer(
            id,
            Answer::Secret(WireSecret(" sk-acme-0123456789 \n".into())),
        )
        .await;
        match host.recv().await {
            PluginMessage::SignedIn { id, profiles, .. } => {
                assert_eq!(id, 7);
                let [
                    WireProfile {
                        profile_id,
                        credential: WireCredential::ApiKey { key, provenance },
                    },
                ] = profiles.as_slice()
                else {
                    panic!("{profiles:?}")
                };
                assert_eq!(profile_id, stored);
                assert_eq!(key.0, "sk-acme-0123456789");
                assert_eq!(provenance["auth_flow"], "api-key");
            }
            other => panic!("{other:?}"),
        }
        assert!(host.close().await.1.is_ok());
    }
}

#[tokio::test]
async fn a_refused_or_unanswered_prompt_fails_the_sign_in_with_its_kind() {
    let refusal = |kind| {
        Answer::Error(AnswerError {
            kind,
            message: String::new(),
        })
    };
    let cases = [
        (refusal(AnswerFailure::Cancelled), ErrorKind::Cancelled),
        (refusal(AnswerFailure::EndOfInput), ErrorKind::InvalidInput),
        (
            Answer::Secret(WireSecret("   ".into())),
            ErrorKind::InvalidInput,
        ),
        // A secret prompt answered with plain text is not taken as the key.
        (Answer::Text("sk-acme-1".into()), ErrorKind::InvalidInput),
    ];
    for (answer, kind) in cases {
        let mut host = Host::started(plugin()).await;
        host.send(&sign_in(3, ACME, "api-key", "acme:default"))
            .await;
        let id = prompt(&mut host, PromptKind::Secret, "Acme API key").await;
        host.answer(id, answer.clone()).await;
        let (id, error) = failure(host.recv().await);
        assert_eq!((id, error.kind), (3, kind), "{answer:?}: {}", error.message);
        assert!(!error.message.contains("sk-acme-1"), "{}", error.message);
    }
}

#[tokio::test]
async fn a_sign_in_gets_the_session_the_host_describes_and_goes_where_the_host_says() {
    let mut host = Host::started(plugin()).await;
    host.send(&HostMessage::SignIn {
        id: 1,
        provider: ACME.into(),
        method: "show-context".into(),
        profile: "acme:default".into(),
        base_url: Some("https://eu.acme.test/v1".into()),
        settings: json!({"region": "eu"}),
        interactive: true,
        no_browser: true,
        timeout_secs: 42,
    })
    .await;
    match host.recv().await {
        PluginMessage::SignedIn {
            notes, profiles, ..
        } => {
            assert_eq!(
                notes,
                [
                    r#"settings {"region":"eu"}"#,
                    "base url https://eu.acme.test/v1",
                    "interactive true",
                    "no browser true",
                    "timeout 42",
                    "random true",
                ]
            );
            assert_eq!(profiles[0].profile_id, "acme:default");
        }
        other => panic!("{other:?}"),
    }
    // Without settings or a base URL the method sees neither.
    host.send(&sign_in(2, ACME, "show-context", "acme:default"))
        .await;
    match host.recv().await {
        PluginMessage::SignedIn { notes, .. } => {
            assert_eq!(&notes[..2], ["settings null", "base url none"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_browser_notes_and_choices_of_a_method_are_relayed_to_the_host() {
    let mut host = Host::started(plugin()).await;
    host.send(&sign_in(5, ACME, "browser", "acme:work")).await;
    let note = |m: &str| PluginMessage::Note { message: m.into() };
    assert_eq!(host.recv().await, note("opening the consent page"));
    assert_eq!(host.recv().await, note("waiting for the browser"));
    let opened = match host.recv().await {
        PluginMessage::OpenUrl { id, url } => {
            assert_eq!(url, "https://acme.test/consent");
            id
        }
        other => panic!("{other:?}"),
    };
    host.answer(opened, Answer::Opened).await;
    assert_eq!(host.recv().await, note("consent given"));
    let plan = match host.recv().await {
        PluginMessage::Prompt {
            id,
            kind: PromptKind::Select,
            items,
            ..
        } => {
            assert_eq!(items, ["free", "pro"]);
            id
        }
        other => panic!("{other:?}"),
    };
    host.answer(plan, Answer::Index(1)).await;
    let name = prompt(&mut host, PromptKind::Text, "Your name").await;
    host.answer(name, Answer::Text("ada".into())).await;
    match host.recv().await {
        PluginMessage::SignedIn {
            id: 5, profiles, ..
        } => {
            assert_eq!(profiles[0].profile_id, "acme:work");
            assert!(matches!(
                &profiles[0].credential,
                WireCredential::Token { token, .. } if token.0 == "tok-pro-ada"
            ));
        }
        other => panic!("{other:?}"),
    }

    // A browser the host cannot open, and a choice out of range, fail the sign-in.
    host.send(&sign_in(6, ACME, "browser", "acme:work")).await;
    let opened = loop {
        if let PluginMessage::OpenUrl { id, .. } = host.recv().await {
            break id;
        }
    };
    host.answer(
        opened,
        Answer::Error(AnswerError {
            kind: AnswerFailure::NoBrowser,
            message: "no display".into(),
        }),
    )
    .await;
    let (id, error) = failure(host.recv().await);
    assert_eq!(
        (id, error.kind, error.message.as_str()),
        (
            6,
            ErrorKind::Unavailable,
            "cannot open a browser: no display"
        )
    );
    host.send(&sign_in(8, ACME, "browser", "acme:work")).await;
    loop {
        match host.recv().await {
            PluginMessage::OpenUrl { id, .. } => host.answer(id, Answer::Opened).await,
            PluginMessage::Prompt { id, .. } => {
                host.answer(id, Answer::Index(2)).await;
                break;
            }
            _ => {}
        }
    }
    let (id, error) = failure(host.recv().await);
    assert_eq!(
        (id, error.kind, error.message.as_str()),
        (
            8,
            ErrorKind::InvalidInput,
            "cannot read input: the host picked item 2 of 2"
        )
    );
}

#[tokio::test]
async fn a_model_call_reaches_the_service_at_the_base_url_the_host_sent() {
    let double = OpenRouterDouble::start().unwrap();
    let key = double.issue_key();
    let mut host = Host::started(plugin()).await;
    let base = Some(double.api_base());
    host.send(&run_model(
        1,
        "openrouter",
        base.clone(),
        &key,
        "Reply exactly: pong",
    ))
    .await;
    match host.recv().await {
        PluginMessage::ModelReply { id, outputs } => {
            assert_eq!(id, 1);
            assert_eq!(outputs[0].text, "pong");
        }
        other => panic!("{other:?}"),
    }
    let sent = double.requests_to("/api/v1/chat/completions");
    assert_eq!(sent.len(), 1);

    host.send(&HostMessage::ListModels {
        id: 2,
        provider: "openrouter".into(),
        credential: api_key(&key),
        base_url: base.clone(),
        settings: serde_json::Value::Null,
    })
    .await;
    match host.recv().await {
        PluginMessage::Models { id: 2, models } => {
            let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
            let want: Vec<&str> = OPENROUTER_MODELS.iter().map(|m| m.id).collect();
            assert_eq!(ids, want);
        }
        other => panic!("{other:?}"),
    }

    // A key the service does not know is rejected, and the message never shows it.
    let unknown = "sk-or-v1-0000000000000000000000000000000000000000000000000000000000000000";
    host.send(&run_model(3, "openrouter", base, unknown, "hi"))
        .await;
    let (id, error) = failure(host.recv().await);
    assert_eq!((id, error.kind), (3, ErrorKind::CredentialRejected));
    assert!(!error.message.contains(unknown), "{}", error.message);
    assert!(host.close().await.1.is_ok());
}

#[tokio::test]
async fn requests_for_what_the_plugin_lacks_fail_as_unsupported_and_the_session_goes_on() {
    let mut host = Host::started(plugin()).await;
    let cases: Vec<(String, &str)> = vec![
        (
            plugboard_protocol::encode(&run_model(1, "nope", None, "k", "hi")),
            "plugin test-plugin has no provider \"nope\"",
        ),
        (
            plugboard_protocol::encode(&sign_in(2, ACME, "nope", "acme:default")),
            "provider acme has no sign-in method \"nope\"",
        ),
        (
            plugboard_protocol::encode(&run_model(3, ACME, None, "k", "hi")),
            "provider acme cannot run models",
        ),
        (
            plugboard_protocol::encode(&HostMessage::ListModels {
                id: 4,
                provider: ACME.into(),
                credential: api_key("k"),
                base_url: None,
                settings: serde_json::Value::Null,
            }),
            "provider acme cannot list models",
        ),
        (
            plugboard_protocol::encode(&HostMessage::Refresh {
                id: 5,
                provider: ACME.into(),
                profile: "acme:default".into(),
                credential: api_key("k"),
                base_url: None,
                settings: serde_json::Value::Null,
            }),
            "provider acme cannot refresh credentials",
        ),
        (
            "{\"type\":\"launch\",\"id\":6}\n".into(),
            "this plugin does not handle \"launch\" requests",
        ),
        (
            "{\"type\":\"run_model\",\"id\":7,\"provider\":\"acme\"}\n".into(),
            "cannot read this run_model request: it does not match the protocol version agreed",
        ),
    ];
    for (n, (line, want)) in cases.iter().enumerate() {
        host.send_line(line).await;
        let (id, error) = failure(host.recv().await);
        assert_eq!(
            (id, error.kind, error.message.as_str()),
            (n as u64 + 1, ErrorKind::Unsupported, *want)
        );
    }
    // A profile of another provider is refused before the method runs.
    host.send(&sign_in(8, ACME, "api-key", "openrouter:default"))
        .await;
    let (id, error) = failure(host.recv().await);
    assert_eq!((id, error.kind), (8, ErrorKind::InvalidInput));
    host.send(&HostMessage::ListFixtures { id: 9 }).await;
    assert!(matches!(
        host.recv().await,
        PluginMessage::Fixtures { id: 9, .. }
    ));
    assert!(host.close().await.1.is_ok());
}

#[tokio::test]
async fn garbage_from_the_host_ends_the_session_with_an_error_that_never_quotes_it() {
    let too_long = format!("{}\n", "x".repeat(MAX_LINE_BYTES + 1));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"sk-garbage-secret\n".to_vec(),
            "line 2 from the host is not a protocol message: it is not JSON",
        ),
        (
            b"{\"type\":\"answer\",\"id\":\"sk-garbage-secret\"}\n".to_vec(),
            "line 2 from the host is not a protocol message: it is JSON, but no message this protocol version knows",
        ),
        (
            b"[\"sk-garbage-secret\"]\n".to_vec(),
            "line 2 from the host is not a protocol message: it is JSON, but no message this protocol version knows",
        ),
        (
            b"\xff\xfe sk-garbage-secret\n".to_vec(),
            "line 2 from the host is not a protocol message: it is not UTF-8",
        ),
        (
            too_long.into_bytes(),
            "line 2 from the host is longer than the protocol's 1048576 bytes",
        ),
    ];
    for (line, want) in cases {
        let mut host = Host::started(plugin()).await;
        host.send_bytes(&line).await;
        let (rest, ended) = host.finish().await;
        assert_eq!(rest, []);
        let shown = ErrorChain(&ended.unwrap_err()).to_string();
        assert_eq!(shown, want);
    }
}

#[tokio::test]
async fn garbage_during_a_prompt_fails_that_sign_in_before_the_session_ends() {
    let mut host = Host::started(plugin()).await;
    host.send(&sign_in(1, ACME, "api-key", "acme:default"))
        .await;
    prompt(&mut host, PromptKind::Secret, "Acme API key").await;
    host.send_line("not json\n").await;
    let (rest, ended) = host.finish().await;
    assert_eq!(rest.len(), 1);
    assert_eq!(failure(rest[0].clone()).1.kind, ErrorKind::InvalidInput);
    assert!(matches!(ended, Err(ServeError::Garbage { line: 3, .. })));
}

#[tokio::test]
async fn a_host_that_closes_during_a_prompt_gets_the_failure_and_the_session_ends_cleanly() {
    let mut host = Host::started(plugin()).await;
    host.send(&sign_in(1, ACME, "api-key", "acme:default"))
        .await;
    prompt(&mut host, PromptKind::Secret, "Acme API key").await;
    let (rest, ended) = host.close().await;
    let [PluginMessage::Failed { id: 1, error }] = rest.as_slice() else {
        panic!("{rest:?}")
    };
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(
        error.message.contains("standard input ended"),
        "{}",
        error.message
    );
    assert!(ended.is_ok(), "{ended:?}");
}

#[tokio::test]
async fn a_panic_in_provider_code_fails_that_request_and_the_plugin_serves_on() {
    let mut host = Host::started(plugin()).await;
    host.send(&run_model(1, BOOM, None, "sk-boom-key", "hi"))
        .await;
    let (id, error) = failure(host.recv().await);
    assert_eq!(
        (id, error.kind, error.message.as_str()),
        (
            1,
            ErrorKind::Internal,
            "the plugin panicked while handling run_model: its stderr says where"
        )
    );
    host.send(&sign_in(2, BOOM, "api-key", "boom:default"))
        .await;
    let (id, error) = failure(host.recv().await);
    assert_eq!((id, error.kind), (2, ErrorKind::Internal));
    host.send(&HostMessage::ListFixtures { id: 3 }).await;
    assert!(matches!(
        host.recv().await,
        PluginMessage::Fixtures { id: 3, .. }
    ));
    assert!(host.close().await.1.is_ok());
}

#[tokio::test]
async fn an_answer_nobody_asked_for_is_ignored() {
    let mut host = Host::started(plugin()).await;
    host.answer(41, Answer::Text("stray".into())).await;
    host.send(&HostMessage::Start { version: 1 }).await;
    host.send(&HostMessage::ListFixtures { id: 1 }).await;
    assert!(matches!(
        host.recv().await,
        PluginMessage::Fixtures { id: 1, .. }
    ));
    assert!(host.close().await.1.is_ok());
}

#[tokio::test]
async fn an_answer_to_another_id_leaves_the_prompt_waiting_for_its_own() {
    let mut host = Host::started(plugin()).await;
    host.send(&sign_in(1, ACME, "api-key", "acme:default"))
        .await;
    let id = prompt(&mut host, PromptKind::Secret, "Acme API key").await;
    host.answer(id + 1, Answer::Secret(WireSecret("sk-acme-stray".into())))
        .await;
    host.answer(id, Answer::Secret(WireSecret("sk-acme-asked".into())))
        .await;
    match host.recv().await {
        PluginMessage::SignedIn {
            id: 1, profiles, ..
        } => {
            assert!(matches!(
                &profiles[0].credential,
                WireCredential::ApiKey { key, .. } if key.0 == "sk-acme-asked"
            ));
        }
        other => panic!("{other:?}"),
    }
    assert!(host.close().await.1.is_ok());
}

#[tokio::test]
async fn a_host_that_vanishes_during_a_prompt_ends_the_session_with_a_write_error() {
    let mut host = Host::started(plugin()).await;
    host.send(&sign_in(1, ACME, "api-key", "acme:default"))
        .await;
    prompt(&mut host, PromptKind::Secret, "Acme API key").await;
    let ended = host.vanish().await;
    assert!(matches!(ended, Err(ServeError::Write(_))), "{ended:?}");
}
