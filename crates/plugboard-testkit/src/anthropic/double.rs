//! The Anthropic double's server: a real HTTP server on loopback, on a thread and runtime of
//! its own, so plain `#[test]`s can use it whatever runtime the caller has (or none).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use thiserror::Error;

use super::routes;
use super::state::{AnthropicFault, AnthropicRecord, Shared};
use crate::server::{Plain, Server};

/// An Anthropic double: a real HTTP server on `127.0.0.1` answering `POST /v1/messages` and
/// `GET /v1/models` as Anthropic documents them, with keys it issues and faults on demand.
///
/// It is listening when [`start`](Self::start) returns, and stops when dropped.
pub struct AnthropicDouble {
    server: Server,
    shared: Arc<Shared>,
}

impl AnthropicDouble {
    /// Starts a double on any free port of 127.0.0.1.
    pub fn start() -> io::Result<Self> {
        Self::start_on(0)
    }

    /// Starts a double on `port` of 127.0.0.1 (`0`: any free port).
    pub fn start_on(port: u16) -> io::Result<Self> {
        let shared = Arc::new(Shared::new());
        let serving = Arc::clone(&shared);
        let server = Server::start(
            "anthropic-double",
            port,
            // Plain: every fault of this double is an answer or a body that fails mid-way,
            // never a connection dropped before answering.
            Plain::new(move |request| {
                let shared = Arc::clone(&serving);
                async move { routes::handle(&shared, request).await }
            }),
        )?;
        Ok(Self { server, shared })
    }

    /// The address the double listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`: what `ANTHROPIC_BASE_URL` is set to. The API is under it at
    /// Anthropic's own paths (`/v1/messages`, `/v1/models`).
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Issues a key the double accepts from now on (`sk-ant-api03-...`).
    pub fn issue_key(&self) -> String {
        self.shared.issue()
    }

    /// Makes a key invalid from now on; false if it was not valid.
    pub fn revoke_key(&self, key: &str) -> bool {
        self.shared.revoke(key)
    }

    /// Whether the double would accept this key now (faults aside).
    pub fn is_valid_key(&self, key: &str) -> bool {
        self.shared.key_is_valid(key)
    }

    /// Every key issued so far, oldest first.
    pub fn issued_keys(&self) -> Vec<String> {
        self.shared.issued()
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<AnthropicRecord> {
        self.shared.journal.requests()
    }

    /// The requests to this path (without query), oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<AnthropicRecord> {
        let mut requests = self.shared.journal.requests();
        requests.retain(|r| r.path == path);
        requests
    }

    /// Sets (or with `None` clears) a fault on every request until cleared.
    pub fn set_fault(&self, fault: Option<AnthropicFault>) {
        self.shared.journal.set_fault(fault);
    }

    /// Applies `fault` to the next request only.
    pub fn fail_next(&self, fault: AnthropicFault) {
        self.shared.journal.fail_next(fault);
    }

    /// The fault currently set, if any.
    pub fn current_fault(&self) -> Option<AnthropicFault> {
        self.shared.journal.fault()
    }

    /// Stops serving and waits for the server thread to end. Dropping the double does the same.
    pub fn shutdown(self) -> Result<(), AnthropicServerPanicked> {
        self.server.shutdown(AnthropicServerPanicked)
    }
}

impl fmt::Debug for AnthropicDouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicDouble")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

/// The Anthropic double's server thread panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the Anthropic double's server thread panicked")]
pub struct AnthropicServerPanicked;
