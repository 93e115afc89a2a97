//! Helpers shared by the callback server's tests: a server on any port with a known state, the
//! callback URLs to send it, and checks on what it answered.

use std::net::{Ipv4Addr, SocketAddr};

use plugboard_core::FixedRandom;
use secrecy::ExposeSecret;

use super::{CallbackConfig, CallbackOutcome, CallbackServer, PortChoice};
use crate::state::State;
use crate::testing::{Reply, get};

pub(super) const PATH: &str = "/example/callback";

pub(super) fn state() -> State {
    State::generate(&FixedRandom(9))
}

pub(super) fn config(port: PortChoice) -> CallbackConfig {
    CallbackConfig {
        path: PATH.to_owned(),
        port,
        state: state(),
        service_name: "Example <Service>".to_owned(),
    }
}

pub(super) async fn any_port() -> CallbackServer {
    CallbackServer::start(config(PortChoice::Pinned(0)))
        .await
        .unwrap()
}

pub(super) fn v4(server: &CallbackServer) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, server.port()))
}

pub(super) fn callback(query: &str) -> String {
    format!("{PATH}?{query}")
}

pub(super) fn right_state() -> String {
    format!("state={}", state().as_str())
}

pub(super) fn expect_code(outcome: CallbackOutcome) -> String {
    match outcome {
        CallbackOutcome::Code(code) => code.expose_secret().to_owned(),
        other => panic!("expected a code, got {other:?}"),
    }
}

/// Sends the real callback (right state, `code`) and asserts the wait ends with that code.
pub(super) async fn assert_real_callback_completes(server: &mut CallbackServer, code: &str) {
    get(
        v4(server),
        &callback(&format!("{}&code={code}", right_state())),
    )
    .await;
    assert_eq!(expect_code(server.wait().await), code);
}

/// The wait has not ended: checked without sleeping, by polling once.
pub(super) async fn still_waiting(server: &mut CallbackServer) -> bool {
    tokio::select! {
        biased;
        _ = server.wait() => false,
        () = std::future::ready(()) => true,
    }
}

pub(super) fn assert_page_headers(reply: &Reply) {
    let want = [
        ("content-type", "text/html; charset=utf-8"),
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
    ];
    for (name, value) in want {
        assert_eq!(
            reply.headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name} on a {} page",
            reply.status
        );
    }
    let body = reply.body.to_lowercase();
    for external in [
        "<script", "<link", "<img", "src=", "href=", "http://", "https://",
    ] {
        assert!(!body.contains(external), "page loads {external}: {body}");
    }
}
