//! The Anthropic double's server: a real HTTP server on loopback, on a thread and runtime of
//! its own, so plain `#[test]`s can use it whatever runtime the caller has (or none).

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::routes;
use super::state::{AnthropicFault, AnthropicRecord, FaultSlot, Shared};

/// A client that sends no complete request head within this long is disconnected.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// An Anthropic double: a real HTTP server on `127.0.0.1` answering `POST /v1/messages` and
/// `GET /v1/models` as Anthropic documents them, with keys it issues and faults on demand.
///
/// It is listening when [`start`](Self::start) returns, and stops when dropped.
pub struct AnthropicDouble {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl AnthropicDouble {
    /// Starts a double on any free port of 127.0.0.1.
    pub fn start() -> io::Result<Self> {
        Self::start_on(0)
    }

    /// Starts a double on `port` of 127.0.0.1 (`0`: any free port).
    pub fn start_on(port: u16) -> io::Result<Self> {
        let listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared::new());
        let (stop, stopped) = oneshot::channel();
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("anthropic-double-{}", addr.port()))
            .spawn(move || runtime.block_on(serve(listener, serving, stopped)))?;
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the double listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: what `ANTHROPIC_BASE_URL` is set to. The API is under it at
    /// Anthropic's own paths (`/v1/messages`, `/v1/models`).
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
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
        self.shared.requests()
    }

    /// The requests to this path (without query), oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<AnthropicRecord> {
        let mut requests = self.shared.requests();
        requests.retain(|r| r.path == path);
        requests
    }

    /// Sets (or with `None` clears) a fault on every request until cleared.
    pub fn set_fault(&self, fault: Option<AnthropicFault>) {
        self.shared
            .set_fault(fault.map(|fault| FaultSlot { fault, once: false }));
    }

    /// Applies `fault` to the next request only.
    pub fn fail_next(&self, fault: AnthropicFault) {
        self.shared.set_fault(Some(FaultSlot { fault, once: true }));
    }

    /// The fault currently set, if any.
    pub fn current_fault(&self) -> Option<AnthropicFault> {
        self.shared.fault()
    }

    /// Stops serving and waits for the server thread to end. Dropping the double does the same.
    pub fn shutdown(mut self) -> Result<(), AnthropicServerPanicked> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), AnthropicServerPanicked> {
        if let Some(stop) = self.stop.take() {
            // An error means the server already ended; joining below reports how.
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| AnthropicServerPanicked),
            None => Ok(()),
        }
    }
}

impl Drop for AnthropicDouble {
    fn drop(&mut self) {
        // Nothing to report to from a drop; `shutdown` is there for callers who care.
        let _ = self.stop_and_join();
    }
}

impl fmt::Debug for AnthropicDouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicDouble")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// The Anthropic double's server thread panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the Anthropic double's server thread panicked")]
pub struct AnthropicServerPanicked;

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                // Running out of descriptors and the like pass; let other tasks run meanwhile.
                Err(_) => tokio::task::yield_now().await,
            },
        }
    }
    // Returning drops the runtime, which cancels every connection still open.
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, io::Error>(routes::handle(&shared, request).await) }
    });
    // Errors here are the client's or a fault's doing; the connection is over either way.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
