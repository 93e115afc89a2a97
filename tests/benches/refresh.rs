//! What a refresh adds to a model call: the OpenAI Codex runner against the local Codex double
//! with a live token, the refresh alone (one POST to the token endpoint, rotating the refresh
//! token), and a refresh followed by the call, as `infer model run` does with a token that
//! expires within a minute. The store's part (one locked read and one write) is measured with
//! the binary, by hyperfine (docs/performance.md).
#![expect(
    clippy::expect_used,
    reason = "a benchmark that cannot set up or whose call fails must stop loudly"
)]

use std::cell::RefCell;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use plugboard_core::{
    Credential, FixedClock, HostServices, HttpSettings, ModelContext, ModelRequest, OAuthTokens,
    ProfileId, Provenance, Provider, RefreshContext,
};
use plugboard_http::NetworkClient;
use plugboard_openai_codex::{BASE_URL_ENV, OpenAiCodexProvider};
use plugboard_testkit::CodexDouble;

fn refresh(c: &mut Criterion) {
    let double = CodexDouble::start().expect("the double starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let provider = OpenAiCodexProvider::new();
    let runner = provider.model_runner().expect("Codex runs models");
    let refresher = provider.refresher().expect("Codex refreshes its tokens");
    let host = HostServices::default()
        .with_http_client(Arc::new(
            NetworkClient::new(&HttpSettings::default()).expect("an HTTP client"),
        ))
        .with_env(BASE_URL_ENV, &double.origin());
    let issued = double.issue_tokens();
    let mut tokens = OAuthTokens::new(issued.access_token.into());
    tokens.refresh_token = issued.refresh_token.map(Into::into);
    tokens.account_id = Some(double.account_id());
    let profile: ProfileId = "openai-codex:default".parse().expect("a profile id");
    // Each refresh spends the refresh token it sends, so every iteration starts from the
    // credential the previous one got back, as the store would hold it.
    let current = RefCell::new(Credential::oauth(tokens, Provenance::new()));
    let request = ModelRequest::new("gpt-5-codex", "Reply exactly: ok");
    let refresh_once = || {
        let ctx = RefreshContext::new(
            profile.clone(),
            current.borrow().clone(),
            host.clone(),
            Arc::new(FixedClock::default()),
        );
        let write = runtime
            .block_on(refresher.refresh(&ctx))
            .expect("the refresh succeeds");
        current.replace(write.credential);
    };
    let call = || {
        let ctx = ModelContext::new(current.borrow().clone(), host.clone());
        let reply = runtime
            .block_on(runner.run(&ctx, &request))
            .expect("the call succeeds");
        assert_eq!(reply.outputs[0].text, "ok");
    };

    let mut group = c.benchmark_group("codex");
    group.bench_function("model call, live token", |b| b.iter(call));
    group.bench_function("refresh alone", |b| b.iter(refresh_once));
    group.bench_function("refresh, then the model call", |b| {
        b.iter(|| {
            refresh_once();
            call();
        });
    });
    group.finish();
    assert_eq!(
        double.families_revoked(),
        0,
        "no refresh token was sent twice"
    );
}

criterion_group!(benches, refresh);
criterion_main!(benches);
