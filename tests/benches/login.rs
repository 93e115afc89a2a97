//! Budget (docs/performance.md): a whole OpenRouter OAuth login against the local double, with
//! a browser that approves at once, takes under 100 ms.
//!
//! "Whole" means what `plugboard models auth login --method oauth` does after start-up: PKCE
//! and state, the loopback server, the authorize URL, the browser's consent and redirect, the
//! callback, the code exchange over HTTP, and the store write. Only the person is left out.
#![expect(
    clippy::expect_used,
    reason = "a benchmark that cannot set up or whose login fails must stop loudly"
)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use plugboard_core::{
    AuthContext, AuthMethod, Clock, HostServices, HttpSettings, OpenUrlError, Random,
    ScriptedBrowser, ScriptedPrompter,
};
use plugboard_http::NetworkClient;
use plugboard_openrouter::{BASE_URL_ENV, OAuthMethod};
use plugboard_store::CredentialStore;
use plugboard_testkit::{OpenRouterDouble, approve_in_background};
use rand::Rng;

struct SystemClock;

#[plugboard_core::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        rand::rng().fill_bytes(dest);
    }
}

/// A browser that approves the consent page the moment it is asked to open it.
fn instant_browser() -> ScriptedBrowser {
    ScriptedBrowser::following(Box::new(|url: &str| {
        // Off the login's thread: the login must keep serving its callback meanwhile.
        drop(approve_in_background(url.to_owned()));
        Ok::<(), OpenUrlError>(())
    }))
}

fn login(c: &mut Criterion) {
    let double = OpenRouterDouble::start().expect("the double starts");
    let home = tempfile::tempdir().expect("a temporary directory");
    let mut store =
        CredentialStore::open(&home.path().join("credentials.sqlite")).expect("the store opens");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let host = HostServices::default()
        .with_http_client(Arc::new(
            NetworkClient::new(&HttpSettings::default()).expect("an HTTP client"),
        ))
        .with_env(BASE_URL_ENV, &double.api_base());

    c.bench_function("oauth login against the double, instant browser", |b| {
        b.iter(|| {
            let mut ctx = AuthContext::new(
                Arc::new(ScriptedPrompter::new([])),
                Arc::new(instant_browser()),
                Arc::new(SystemClock),
                Arc::new(OsRandom),
                host.clone(),
            );
            // Any free port: the default (3000) may be held by something on this machine.
            ctx.options.callback_port = Some(0);
            let result = runtime
                .block_on(OAuthMethod.run(&mut ctx))
                .expect("the login succeeds");
            store
                .write_profiles(
                    result
                        .profiles
                        .iter()
                        .map(|p| (&p.profile_id, &p.credential)),
                    SystemTime::now(),
                )
                .expect("the store write succeeds");
        });
    });
}

criterion_group!(benches, login);
criterion_main!(benches);
