//! The OpenRouter double: a real HTTP server on loopback, on a thread and runtime of its own.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use thiserror::Error;

use crate::fault::{Endpoint, Fault};
use crate::routes;
use crate::server::{Resettable, Server};
use crate::state::{FaultSlot, RequestRecord, Shared};

/// What a denied consent says in `error_description` unless told otherwise.
pub const DEFAULT_DENY_DESCRIPTION: &str = "The user denied the authorization request";

const EXCHANGE_PATH: &str = "/api/v1/auth/keys";

/// An OpenRouter double: a real HTTP server on `127.0.0.1` that acts like OpenRouter for the
/// parts plugboard uses (consent page, code exchange, key info, chat completions), with faults
/// on demand.
///
/// It serves from a thread and tokio runtime of its own, so plain `#[test]`s can use it and it
/// does not depend on the caller's runtime. It is listening when [`start`](Self::start)
/// returns, and stops when dropped.
pub struct OpenRouterDouble {
    server: Server,
    shared: Arc<Shared>,
}

/// Options for an [`OpenRouterDouble`] before it starts.
#[derive(Debug, Clone)]
pub struct DoubleBuilder {
    port: u16,
    deny_description: String,
    faults: Vec<(Endpoint, Fault)>,
}

impl Default for DoubleBuilder {
    fn default() -> Self {
        Self {
            port: 0,
            deny_description: DEFAULT_DENY_DESCRIPTION.to_owned(),
            faults: Vec::new(),
        }
    }
}

impl DoubleBuilder {
    /// Listens on this port of 127.0.0.1; 0 (the default) takes any free one.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The `error_description` a denied consent redirects with.
    #[must_use]
    pub fn deny_description(mut self, text: impl Into<String>) -> Self {
        self.deny_description = text.into();
        self
    }

    /// Starts with this fault set on `endpoint`, as [`OpenRouterDouble::set_fault_on`] would.
    #[must_use]
    pub fn fault_on(mut self, endpoint: Endpoint, fault: Fault) -> Self {
        self.faults.push((endpoint, fault));
        self
    }

    /// Binds the port and starts serving; the double is listening when this returns.
    pub fn start(self) -> io::Result<OpenRouterDouble> {
        let faults = self
            .faults
            .into_iter()
            .map(|(endpoint, fault)| {
                let once = fault.is_once();
                (endpoint, FaultSlot { fault, once })
            })
            .collect();
        let shared = Arc::new(Shared::new(self.deny_description, faults));
        let serving = Arc::clone(&shared);
        let server = Server::start(
            "openrouter-double",
            self.port,
            // Resettable: the `ConnectionReset` fault and an overwhelming body drop the
            // connection instead of answering.
            Resettable::new(move |request| {
                let shared = Arc::clone(&serving);
                async move { routes::handle(&shared, request).await }
            }),
        )?;
        Ok(OpenRouterDouble { server, shared })
    }
}

impl OpenRouterDouble {
    /// Starts a double on any free port of 127.0.0.1.
    pub fn start() -> io::Result<Self> {
        Self::builder().start()
    }

    /// Starts a double on this port of 127.0.0.1 (0 for any free one).
    pub fn start_on(port: u16) -> io::Result<Self> {
        Self::builder().port(port).start()
    }

    /// Options for a double before it starts.
    pub fn builder() -> DoubleBuilder {
        DoubleBuilder::default()
    }

    /// The address the double listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, where the consent page lives (`/auth`).
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// `http://127.0.0.1:PORT/api/v1`: what `OPENROUTER_BASE_URL` is set to.
    pub fn api_base(&self) -> String {
        format!("{}/api/v1", self.origin())
    }

    /// The consent page URL a client would open for this callback and challenge, built the way
    /// plugboard builds it. Handy for tests that play the client themselves.
    pub fn authorize_url(&self, callback_url: &str, code_challenge: &str) -> String {
        let mut url = format!("{}/auth?", self.origin());
        url.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .append_pair("callback_url", callback_url)
                .append_pair("code_challenge", code_challenge)
                .append_pair("code_challenge_method", "S256")
                .finish(),
        );
        url
    }

    /// Mints a valid key without the OAuth dance, for API-key tests.
    pub fn issue_key(&self) -> String {
        self.shared.mint_key()
    }

    /// Makes a key invalid from now on; false if it was not valid.
    pub fn revoke_key(&self, key: &str) -> bool {
        self.shared.revoke(key)
    }

    /// Whether the double would accept this key now.
    pub fn is_valid_key(&self, key: &str) -> bool {
        self.shared.key_is_valid(key)
    }

    /// Every key minted so far, by exchange or [`issue_key`](Self::issue_key), oldest first.
    pub fn issued_keys(&self) -> Vec<String> {
        self.shared.issued_keys()
    }

    /// The `user_id` exchanges answer with; one per double.
    pub fn user_id(&self) -> String {
        self.shared.user_id()
    }

    /// How many requests reached the exchange endpoint, whatever their outcome.
    pub fn exchanges(&self) -> usize {
        self.requests_to(EXCHANGE_PATH).len()
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.requests()
    }

    /// The requests to this path (without query), oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<RequestRecord> {
        let mut requests = self.shared.requests();
        requests.retain(|r| r.path == path);
        requests
    }

    /// Sets (or with `None` clears) the fault on the exchange endpoint. It stays until cleared,
    /// unless it is a once-only fault like [`Fault::ServiceUnavailableOnce`].
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.set_fault_on(Endpoint::Exchange, fault);
    }

    /// Sets (or with `None` clears) the fault on one endpoint, as [`set_fault`](Self::set_fault)
    /// does for the exchange.
    pub fn set_fault_on(&self, endpoint: Endpoint, fault: Option<Fault>) {
        let slot = fault.map(|fault| FaultSlot {
            fault,
            once: fault.is_once(),
        });
        self.shared.set_fault(endpoint, slot);
    }

    /// Applies `fault` to the next exchange only.
    pub fn fail_next(&self, fault: Fault) {
        self.fail_next_on(Endpoint::Exchange, fault);
    }

    /// Applies `fault` to the next request to `endpoint` only.
    pub fn fail_next_on(&self, endpoint: Endpoint, fault: Fault) {
        self.shared
            .set_fault(endpoint, Some(FaultSlot { fault, once: true }));
    }

    /// The fault currently set on `endpoint`, if any.
    pub fn current_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        self.shared.fault(endpoint)
    }

    /// Changes the `error_description` a denied consent redirects with, e.g. to markup, to
    /// check that the client escapes it.
    pub fn set_deny_description(&self, text: impl Into<String>) {
        self.shared.set_deny_description(text.into());
    }

    /// Makes every chat completion carry these generated-image URLs (`message.images`, as
    /// OpenRouter returns them for image models), e.g. to check what the client does with a
    /// URL it must not show. Empty (the default) sends none.
    pub fn set_chat_images(&self, urls: impl IntoIterator<Item = impl Into<String>>) {
        self.shared
            .set_chat_images(urls.into_iter().map(Into::into).collect());
    }

    /// Stops serving and waits for the server thread to end. Dropping the double does the same.
    pub fn shutdown(self) -> Result<(), ServerPanicked> {
        self.server.shutdown(ServerPanicked)
    }
}

impl fmt::Debug for OpenRouterDouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenRouterDouble")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

/// The double's server thread panicked; it says so on stderr when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the OpenRouter double's server thread panicked")]
pub struct ServerPanicked;
