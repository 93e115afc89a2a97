//! A model call in-process against the local double: the OpenRouter runner builds the chat
//! request, sends it over loopback HTTP with the real client, and reads the reply. This is what
//! `plugboard infer model run` does after start-up and credential resolution, without the
//! service's own thinking time; the binary's whole run is measured with hyperfine
//! (docs/performance.md).
#![expect(
    clippy::expect_used,
    reason = "a benchmark that cannot set up or whose call fails must stop loudly"
)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use plugboard_core::{
    Credential, CredentialKind, HostServices, HttpSettings, ModelContext, ModelRequest, Provenance,
    Provider,
};
use plugboard_http::NetworkClient;
use plugboard_openrouter::{BASE_URL_ENV, OpenRouterProvider};
use plugboard_testkit::OpenRouterDouble;

fn model_run(c: &mut Criterion) {
    let double = OpenRouterDouble::start().expect("the double starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let provider = OpenRouterProvider::new();
    let runner = provider.model_runner().expect("OpenRouter runs models");
    let host = HostServices::default()
        .with_http_client(Arc::new(
            NetworkClient::new(&HttpSettings::default()).expect("an HTTP client"),
        ))
        .with_env(BASE_URL_ENV, &double.api_base());
    let credential = Credential::new(
        CredentialKind::ApiKey,
        double.issue_key().into(),
        Provenance::new(),
    );
    let ctx = ModelContext::new(credential, host);
    let request = ModelRequest::new("liquid/lfm-2.5-1.2b-instruct:free", "Reply exactly: ok");

    c.bench_function("model call against the double", |b| {
        b.iter(|| {
            let reply = runtime
                .block_on(runner.run(&ctx, &request))
                .expect("the call succeeds");
            assert_eq!(reply.outputs[0].text, "ok");
        });
    });
}

criterion_group!(benches, model_run);
criterion_main!(benches);
