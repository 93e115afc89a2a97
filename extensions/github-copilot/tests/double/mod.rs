//! The whole GitHub Copilot flow over real HTTP against the GitHub double: the device sign-in
//! on a clock that really waits (the double slows down polls that come early), the session
//! derived on first use and reused after, renewed once when Copilot says it expired, refused
//! when GitHub no longer takes the GitHub token, and the model list. What is sent is checked by
//! a server that imitates GitHub, not by the provider's own idea of it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use plugboard_core::{
    AuthContext, AuthMethod, Clock, Credential, CredentialCheck, ErrorChain, FixedRandom,
    HostServices, HttpSettings, ModelContext, ModelErrorKind, ModelLister, ModelOutput,
    ModelRequest, ModelRunner, ProfileId, RefreshContext, RefreshError, Refresher, ScriptedBrowser,
    ScriptedPrompter, async_trait, shows_secret,
};
use plugboard_github_copilot::{
    BASE_URL_ENV, ChatRunner, DeviceMethod, ExchangeCheck, ModelsLister, PROVIDER_ID,
    SessionRefresher,
};
use plugboard_http::NetworkClient;
use plugboard_testkit::{COPILOT_API_PATH, GitHubDouble, GitHubFault};

/// The wall clock, waiting for real: the double holds polls to the interval it gave.
struct WallClock;

#[async_trait]
impl Clock for WallClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

#[expect(
    clippy::expect_used,
    reason = "a helper outside #[test] functions fails the test loudly on setup errors"
)]
fn host(double: &GitHubDouble) -> HostServices {
    HostServices::default()
        .with_http_client(Arc::new(
            NetworkClient::new(&HttpSettings::default()).expect("an HTTP client"),
        ))
        .with_env(BASE_URL_ENV, &double.origin())
}

fn sign_in_context(double: &GitHubDouble) -> AuthContext {
    let mut ctx = AuthContext::new(
        Arc::new(ScriptedPrompter::new([])),
        Arc::new(ScriptedBrowser::new()),
        Arc::new(WallClock),
        Arc::new(FixedRandom::default()),
        host(double),
    );
    ctx.options.no_browser = true;
    ctx
}

fn stored(double: &GitHubDouble) -> Credential {
    let token = double.issue_github_token();
    Credential::oauth(
        plugboard_core::OAuthTokens::new(token.into()),
        plugboard_core::Provenance::new(),
    )
}

/// What the host does before a call: renew the session when the refresher says it is due.
#[expect(
    clippy::expect_used,
    reason = "a helper outside #[test] functions fails the test loudly on setup errors"
)]
async fn renew(double: &GitHubDouble, credential: Credential) -> Result<Credential, RefreshError> {
    let ctx = RefreshContext::new(
        ProfileId::new(PROVIDER_ID, "default").expect("a valid profile id"),
        credential,
        host(double),
        Arc::new(WallClock),
    );
    SessionRefresher.refresh(&ctx).await.map(|w| w.credential)
}

async fn ask(
    double: &GitHubDouble,
    credential: &Credential,
    prompt: &str,
) -> Result<Vec<ModelOutput>, (ModelErrorKind, String)> {
    ChatRunner
        .run(
            &ModelContext::new(credential.clone(), host(double)),
            &ModelRequest::new("gpt-4.1", prompt),
        )
        .await
        .map(|r| r.outputs)
        .map_err(|e| (e.kind(), ErrorChain(&e).to_string()))
}

#[tokio::test]
async fn a_device_sign_in_waits_out_the_pending_polls_and_stores_the_github_token() {
    let double = GitHubDouble::start_with(2, 0).unwrap();
    let mut ctx = sign_in_context(&double);
    let result = DeviceMethod.run(&mut ctx).await.unwrap();
    let credential = &result.profiles[0].credential;
    assert_eq!(double.issued_github_tokens(), [credential.expose_secret()]);
    assert!(credential.session().is_none());
    // Three polls, none before the interval: the double would have slowed them down.
    assert_eq!((double.polls(), double.early_polls()), (3, 0));
    assert_eq!(double.token_exchanges(), 0, "the sign-in exchanges nothing");
    let device = &double.requests_to("/login/device/code")[0];
    assert_eq!(device.accept.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn a_slow_down_is_honoured_with_five_more_seconds() {
    let double = GitHubDouble::start_with(0, 1).unwrap();
    let mut ctx = sign_in_context(&double);
    DeviceMethod.run(&mut ctx).await.unwrap();
    assert_eq!((double.polls(), double.early_polls()), (2, 0));
}

#[tokio::test]
async fn a_denied_sign_in_ends_with_githubs_answer() {
    let double = GitHubDouble::builder()
        .fault(GitHubFault::AccessDenied)
        .start()
        .unwrap();
    let err = DeviceMethod
        .run(&mut sign_in_context(&double))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "the GitHub sign-in was denied");
}

#[tokio::test]
async fn the_session_is_derived_once_on_first_use_and_reused_on_the_next_call() {
    let double = GitHubDouble::start().unwrap();
    let credential = stored(&double);
    let now = SystemTime::now();
    assert!(SessionRefresher.due(&credential, now));
    // Without a session the call asks the host to renew, sending nothing.
    assert_eq!(
        ask(&double, &credential, "x").await.unwrap_err().0,
        ModelErrorKind::CredentialExpired
    );
    let credential = renew(&double, credential).await.unwrap();
    assert!(!SessionRefresher.due(&credential, now));
    assert_eq!(
        credential
            .session()
            .and_then(|s| s.endpoint.clone())
            .as_deref(),
        Some(double.copilot_api().as_str())
    );
    for prompt in ["Reply exactly: one", "Reply exactly: two"] {
        let outputs = ask(&double, &credential, prompt).await.unwrap();
        assert_eq!(
            outputs,
            [ModelOutput::text(&prompt["Reply exactly: ".len()..])]
        );
    }
    assert_eq!(
        double.token_exchanges(),
        1,
        "exchanged once, reused on the next call"
    );
    // The Copilot token is asked for the integration the calls name.
    let exchange = &double.requests_to("/copilot_internal/v2/token")[0];
    assert_eq!(exchange.integration_id.as_deref(), Some("vscode-chat"));
    assert_eq!(exchange.editor_version.as_deref(), Some("vscode/1.107.0"));
    let chats = double.requests_to(&format!("{COPILOT_API_PATH}/chat/completions"));
    assert_eq!(chats.len(), 2);
    for sent in chats {
        assert_eq!(sent.auth_scheme.as_deref(), Some("Bearer"));
        assert_eq!(sent.editor_version.as_deref(), Some("vscode/1.107.0"));
        assert_eq!(sent.integration_id.as_deref(), Some("vscode-chat"));
        assert_eq!(sent.stream, Some(false));
    }
}

#[tokio::test]
async fn a_copilot_token_the_api_calls_expired_is_renewed_once_and_the_call_resent() {
    let double = GitHubDouble::start().unwrap();
    let credential = renew(&double, stored(&double)).await.unwrap();
    double.expire_copilot_tokens();
    let (kind, line) = ask(&double, &credential, "x").await.unwrap_err();
    assert_eq!(kind, ModelErrorKind::CredentialExpired, "{line}");
    let renewed = renew(&double, credential.clone()).await.unwrap();
    assert_eq!(renewed.expose_secret(), credential.expose_secret());
    assert_ne!(renewed.session_token(), credential.session_token());
    assert!(ask(&double, &renewed, "x").await.is_ok());
    assert_eq!(double.token_exchanges(), 2);
}

#[tokio::test]
async fn a_github_token_github_no_longer_takes_needs_a_new_sign_in() {
    let double = GitHubDouble::start().unwrap();
    let credential = stored(&double);
    let token = credential.expose_secret().to_owned();
    let check = |credential: &Credential| {
        let ctx = ModelContext::new(credential.clone(), host(&double));
        async move { ExchangeCheck.check(&ctx).await }
    };
    check(&credential).await.unwrap();
    assert_eq!(double.token_exchanges(), 1);

    double.revoke_github_token(&token);
    let err = renew(&double, credential.clone()).await.unwrap_err();
    assert!(
        matches!(err, RefreshError::SignInRequired { .. }),
        "{err:?}"
    );
    let shown = ErrorChain(&err).to_string();
    assert!(shown.contains("Bad credentials"), "{shown}");
    assert!(!shows_secret(&shown, &token));
    let err = check(&credential).await.unwrap_err();
    assert_eq!(err.kind(), ModelErrorKind::CredentialRejected);

    let other = stored(&double);
    double.set_fault(Some(GitHubFault::NoCopilotAccess));
    let err = renew(&double, other).await.unwrap_err();
    assert!(matches!(err, RefreshError::Service(_)), "{err:?}");
    assert!(err.to_string().contains("no Copilot access"), "{err}");
}

#[tokio::test]
async fn the_plans_chat_models_are_listed_from_the_sessions_api() {
    let double = GitHubDouble::start().unwrap();
    let credential = renew(&double, stored(&double)).await.unwrap();
    let models = ModelsLister
        .list(&ModelContext::new(credential, host(&double)))
        .await
        .unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["gpt-4.1", "gpt-5-mini", "claude-sonnet-4"]);
    let free: Vec<&str> = models
        .iter()
        .filter(|m| m.free)
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(free, ["gpt-4.1", "gpt-5-mini"]);
    assert_eq!(models[0].name.as_deref(), Some("GPT-4.1"));
    let sent = &double.requests_to(&format!("{COPILOT_API_PATH}/models"))[0];
    assert_eq!(sent.status, 200);
}
