//! The Ollama double's server: a real HTTP server on loopback, on a thread and runtime of its
//! own, so plain `#[test]`s can use it whatever runtime the caller has (or none).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use thiserror::Error;

use super::routes;
use super::state::{OllamaFault, OllamaRecord, Shared};
use crate::server::{Plain, Server};

/// An Ollama double: a real HTTP server on `127.0.0.1` answering `GET /api/version`,
/// `GET /api/tags` and `POST /api/chat` (with `"stream": false`) as Ollama documents them,
/// with faults on demand. It asks for no credentials, as Ollama does not.
///
/// It is listening when [`start`](Self::start) returns, and stops when dropped or
/// [shut down](Self::shutdown); from then on its port refuses connections.
pub struct OllamaDouble {
    server: Server,
    shared: Arc<Shared>,
}

impl OllamaDouble {
    /// Starts a double on any free port of 127.0.0.1.
    pub fn start() -> io::Result<Self> {
        Self::start_on(0)
    }

    /// Starts a double on `port` of 127.0.0.1 (`0`: any free port).
    pub fn start_on(port: u16) -> io::Result<Self> {
        let shared = Arc::new(Shared::new());
        let serving = Arc::clone(&shared);
        let server = Server::start(
            "ollama-double",
            port,
            // Plain: every fault of this double is an answer, never a dropped connection; a
            // server that is not there at all is what `shutdown` gives.
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

    /// `http://127.0.0.1:PORT`: what `OLLAMA_HOST` is set to. The API is under it at Ollama's
    /// own paths (`/api/version`, `/api/tags`, `/api/chat`).
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<OllamaRecord> {
        self.shared.requests()
    }

    /// The requests to this path (without query), oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<OllamaRecord> {
        let mut requests = self.shared.requests();
        requests.retain(|r| r.path == path);
        requests
    }

    /// Sets (or with `None` clears) a fault on every request it applies to, until cleared.
    pub fn set_fault(&self, fault: Option<OllamaFault>) {
        self.shared.set_fault(fault);
    }

    /// Applies `fault` to the next request it applies to only.
    pub fn fail_next(&self, fault: OllamaFault) {
        self.shared.fail_next(fault);
    }

    /// The fault currently set, if any.
    pub fn current_fault(&self) -> Option<OllamaFault> {
        self.shared.fault()
    }

    /// Stops serving and waits for the server thread to end, so that the port refuses
    /// connections from now on (as with no `ollama serve` running). Dropping the double does
    /// the same.
    pub fn shutdown(self) -> Result<(), OllamaServerPanicked> {
        self.server.shutdown(OllamaServerPanicked)
    }
}

impl fmt::Debug for OllamaDouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OllamaDouble")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

/// The Ollama double's server thread panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the Ollama double's server thread panicked")]
pub struct OllamaServerPanicked;
