//! The model list and the key check over real HTTP against the OpenRouter double: what is sent
//! (path, Bearer key) is checked by a server that imitates OpenRouter, not by the provider's
//! own idea of it.

use std::sync::Arc;

use plugboard_core::{
    Credential, CredentialCheck, CredentialKind, ErrorChain, HostServices, HttpSettings,
    ModelContext, ModelErrorKind, ModelLister, Provenance, shows_secret,
};
use plugboard_http::NetworkClient;
use plugboard_openrouter::{BASE_URL_ENV, KeyCheck, ModelsLister};
use plugboard_testkit::{Endpoint, Fault, OPENROUTER_MODELS, OpenRouterDouble};

#[expect(
    clippy::expect_used,
    reason = "a helper outside #[test] functions fails the test loudly on setup errors"
)]
fn context(double: &OpenRouterDouble, key: &str) -> ModelContext {
    let host = HostServices::default()
        .with_http_client(Arc::new(
            NetworkClient::new(&HttpSettings::default()).expect("an HTTP client"),
        ))
        .with_env(BASE_URL_ENV, &double.api_base());
    let credential = Credential::new(
        CredentialKind::ApiKey,
        key.to_owned().into(),
        Provenance::new(),
    );
    ModelContext::new(credential, host)
}

#[tokio::test]
async fn the_list_is_the_doubles_catalogue_with_free_models_marked() {
    let double = OpenRouterDouble::start().expect("the double starts");
    let key = double.issue_key();
    let models = ModelsLister
        .list(&context(&double, &key))
        .await
        .expect("a list");
    let got: Vec<(&str, Option<&str>, bool)> = models
        .iter()
        .map(|m| (m.id.as_str(), m.name.as_deref(), m.free))
        .collect();
    let want: Vec<(&str, Option<&str>, bool)> = OPENROUTER_MODELS
        .iter()
        .map(|m| {
            let free =
                m.id.ends_with(":free") || (m.prompt_price == "0" && m.completion_price == "0");
            (m.id, Some(m.name), free)
        })
        .collect();
    assert_eq!(got, want);
    assert!(models.iter().any(|m| m.free) && models.iter().any(|m| !m.free));
    let sent = double.requests_to("/api/v1/models");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, Some(200));
}

#[tokio::test]
async fn the_check_rejects_a_revoked_key_that_the_public_list_still_answers() {
    let double = OpenRouterDouble::start().expect("the double starts");
    let key = double.issue_key();
    let ctx = context(&double, &key);
    KeyCheck.check(&ctx).await.expect("the key works");
    assert!(double.revoke_key(&key));
    let err = KeyCheck.check(&ctx).await.expect_err("a revoked key");
    assert_eq!(
        ErrorChain(&err).to_string(),
        "OpenRouter rejected the key: HTTP 401 (User not found.)"
    );
    // OpenRouter's list is public and does not check the key sent with it: a revoked key
    // still lists, so only the check says the key is refused.
    let models = ModelsLister.list(&ctx).await.expect("a list");
    assert_eq!(models.len(), OPENROUTER_MODELS.len());
    let statuses: Vec<Option<u16>> = double.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(200), Some(401), Some(200)]);
}

#[tokio::test]
async fn faults_become_the_right_kind_without_the_key() {
    let double = OpenRouterDouble::start().expect("the double starts");
    let key = double.issue_key();
    let ctx = context(&double, &key);
    let cases = [
        (Fault::ReusedCode, ModelErrorKind::CredentialRejected),
        (Fault::Status(429), ModelErrorKind::RateLimited),
        (Fault::Status(500), ModelErrorKind::Service),
        (Fault::NotJson, ModelErrorKind::BadResponse),
        (Fault::MissingKey, ModelErrorKind::BadResponse),
        // Past the check's bound (TooLarge); within the list's, but not a whole document.
        (Fault::Oversized, ModelErrorKind::BadResponse),
        (Fault::ConnectionReset, ModelErrorKind::Network),
    ];
    for (fault, want) in cases {
        double.set_fault_on(Endpoint::Models, Some(fault));
        double.set_fault_on(Endpoint::KeyInfo, Some(fault));
        let listed = ModelsLister.list(&ctx).await.map(|_| ());
        let checked = KeyCheck.check(&ctx).await;
        for (what, got) in [("list", listed), ("check", checked)] {
            let err = got.expect_err("a fault");
            assert_eq!(err.kind(), want, "{fault} {what}: {err}");
            let shown = format!("{} {err:?}", ErrorChain(&err));
            assert!(!shows_secret(&shown, &key), "{shown}");
        }
    }
    // An empty catalogue is still a catalogue.
    double.set_fault_on(Endpoint::Models, Some(Fault::EmptyKey));
    assert_eq!(ModelsLister.list(&ctx).await.expect("a list"), []);
}
