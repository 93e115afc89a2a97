//! The model runner, the model list and the key check over real HTTP against the Anthropic
//! double: what is sent (path, headers, body) is checked by a server that imitates Anthropic,
//! not by the provider's own idea of it.

use std::sync::Arc;
use std::time::Duration;

use plugboard_anthropic::{
    ANTHROPIC_VERSION, BASE_URL_ENV, MessagesRunner, ModelsCheck, ModelsLister,
};
use plugboard_core::{
    Credential, CredentialCheck, CredentialKind, ErrorChain, HostServices, HttpSettings,
    ModelContext, ModelErrorKind, ModelInfo, ModelLister, ModelOutput, ModelRequest, ModelRunner,
    Provenance, shows_secret,
};
use plugboard_http::NetworkClient;
use plugboard_testkit::{
    ANTHROPIC_MODELS, ANTHROPIC_REPLY_PREFIX, AnthropicDouble, AnthropicFault,
};

#[expect(
    clippy::expect_used,
    reason = "a helper outside #[test] functions fails the test loudly on setup errors"
)]
fn context(double: &AnthropicDouble, key: &str) -> ModelContext {
    let host = HostServices::default()
        .with_http_client(Arc::new(
            NetworkClient::new(&HttpSettings::default()).expect("an HTTP client"),
        ))
        .with_env(BASE_URL_ENV, &double.origin());
    let credential = Credential::new(
        CredentialKind::ApiKey,
        key.to_owned().into(),
        Provenance::new(),
    );
    ModelContext::new(credential, host)
}

async fn run(double: &AnthropicDouble, key: &str, model: &str) -> Result<Vec<ModelOutput>, String> {
    MessagesRunner
        .run(
            &context(double, key),
            &ModelRequest::new(model, "say hello"),
        )
        .await
        .map(|reply| reply.outputs)
        .map_err(|e| format!("{} | {}", e.kind(), ErrorChain(&e)))
}

#[tokio::test]
async fn a_call_with_an_issued_key_returns_the_joined_text_blocks() {
    let double = AnthropicDouble::start().expect("the double starts");
    let key = double.issue_key();
    let outputs = run(&double, &key, "claude-sonnet-5-5")
        .await
        .expect("a reply");
    assert_eq!(
        outputs,
        [ModelOutput::text(format!(
            "{ANTHROPIC_REPLY_PREFIX} say hello"
        ))]
    );
    let sent = &double.requests_to("/v1/messages")[0];
    assert_eq!(sent.anthropic_version.as_deref(), Some(ANTHROPIC_VERSION));
    assert_eq!(sent.key_tail.as_deref(), Some(&key[key.len() - 4..]));
    assert_eq!(sent.model.as_deref(), Some("claude-sonnet-5-5"));
}

#[tokio::test]
async fn each_way_the_double_refuses_becomes_the_right_kind_without_the_key() {
    let double = AnthropicDouble::start().expect("the double starts");
    let key = double.issue_key();
    let kind = |got: &Result<Vec<ModelOutput>, String>| {
        let line = got.as_ref().expect_err("the call fails");
        assert!(!shows_secret(line, &key), "{line}");
        line.split(" | ").next().unwrap_or_default().to_owned()
    };
    let cases = [
        (
            Some(AnthropicFault::RejectEveryKey),
            "claude-sonnet-5-5",
            ModelErrorKind::CredentialRejected,
        ),
        (
            Some(AnthropicFault::RateLimited {
                retry_after_secs: 1,
            }),
            "claude-sonnet-5-5",
            ModelErrorKind::RateLimited,
        ),
        (
            Some(AnthropicFault::Overloaded),
            "claude-sonnet-5-5",
            ModelErrorKind::Service,
        ),
        (
            Some(AnthropicFault::ServerError),
            "claude-sonnet-5-5",
            ModelErrorKind::Service,
        ),
        (
            Some(AnthropicFault::CutBody),
            "claude-sonnet-5-5",
            ModelErrorKind::Network,
        ),
        (None, "claude-unknown", ModelErrorKind::InvalidRequest),
    ];
    for (fault, model, want) in cases {
        double.set_fault(fault);
        let got = run(&double, &key, model).await;
        assert_eq!(kind(&got), want.as_str(), "{fault:?}: {got:?}");
    }
    double.set_fault(None);
    assert!(double.revoke_key(&key));
    let got = run(&double, &key, "claude-sonnet-5-5").await;
    assert_eq!(
        got,
        Err("credential_rejected | Anthropic rejected the key: HTTP 401 (authentication_error: invalid x-api-key)".to_owned())
    );
    // A slow answer within the host's timeout is still an answer.
    let key = double.issue_key();
    double.fail_next(AnthropicFault::Slow(Duration::from_millis(200)));
    assert!(run(&double, &key, "claude-sonnet-5-5").await.is_ok());
}

#[tokio::test]
async fn the_list_is_every_model_the_double_knows_with_its_display_name() {
    let double = AnthropicDouble::start().expect("the double starts");
    let key = double.issue_key();
    let models = ModelsLister
        .list(&context(&double, &key))
        .await
        .expect("a list");
    let want: Vec<ModelInfo> = ANTHROPIC_MODELS
        .iter()
        .map(|(id, name)| ModelInfo::new(*id).with_name(*name))
        .collect();
    assert_eq!(models, want);
    let sent = double.requests_to("/v1/models");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].anthropic_version.as_deref(),
        Some(ANTHROPIC_VERSION)
    );
    assert_eq!(sent[0].key_tail.as_deref(), Some(&key[key.len() - 4..]));
}

#[tokio::test]
async fn the_check_passes_an_issued_key_and_rejects_a_revoked_one() {
    let double = AnthropicDouble::start().expect("the double starts");
    let key = double.issue_key();
    let ctx = context(&double, &key);
    ModelsCheck.check(&ctx).await.expect("the key works");
    assert!(double.revoke_key(&key));
    let err = ModelsCheck.check(&ctx).await.expect_err("a revoked key");
    assert_eq!(err.kind(), ModelErrorKind::CredentialRejected);
    let err = ModelsLister.list(&ctx).await.expect_err("a revoked key");
    assert_eq!(
        ErrorChain(&err).to_string(),
        "Anthropic rejected the key: HTTP 401 (authentication_error: invalid x-api-key)"
    );
    let sent = double.requests_to("/v1/models");
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|r| r.status == 200 || r.status == 401));
}

#[tokio::test]
async fn faults_on_the_models_endpoint_become_the_right_kind() {
    let double = AnthropicDouble::start().expect("the double starts");
    let key = double.issue_key();
    let ctx = context(&double, &key);
    let cases = [
        (
            AnthropicFault::RejectEveryKey,
            ModelErrorKind::CredentialRejected,
        ),
        (
            AnthropicFault::RateLimited {
                retry_after_secs: 1,
            },
            ModelErrorKind::RateLimited,
        ),
        (AnthropicFault::Overloaded, ModelErrorKind::Service),
        (AnthropicFault::ServerError, ModelErrorKind::Service),
        (AnthropicFault::CutBody, ModelErrorKind::Network),
    ];
    for (fault, want) in cases {
        double.set_fault(Some(fault));
        let listed = ModelsLister.list(&ctx).await.expect_err("a fault");
        let checked = ModelsCheck.check(&ctx).await.expect_err("a fault");
        for err in [listed, checked] {
            assert_eq!(err.kind(), want, "{fault:?}: {err}");
            let shown = format!("{} {err:?}", ErrorChain(&err));
            assert!(!shows_secret(&shown, &key), "{shown}");
        }
    }
}
