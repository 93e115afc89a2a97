//! The lifecycle every double shares: a listener on `127.0.0.1`, a thread and current-thread
//! tokio runtime of its own, an accept loop that runs until told to stop, HTTP/1 on each
//! connection with a header-read timeout, and stop-and-join on shutdown or drop.
//!
//! A double runs on its own thread and runtime so that plain `#[test]`s can use it whatever
//! runtime the caller has (or none). What differs between doubles is how a connection is
//! served, so that is the [`Connections`] parameter: [`Plain`] hands each request to a handler
//! and sends its response; [`Resettable`] also lets the handler drop the connection with a
//! reset instead of answering, for the connection-reset faults.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::body::{Body as HttpBody, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::body::Body;
use crate::conn::ResettableStream;

/// A client that sends no complete request head within this long is disconnected.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A double's running server: the address it listens on and the thread serving it. Dropping
/// it stops the accept loop and waits for the thread, so a double that holds one needs no
/// `Drop` of its own.
pub(crate) struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `port` of 127.0.0.1 (0: any free one) and serves each connection with
    /// `connections` from a thread named `<name>-<port>`; listening when this returns, so a
    /// client may connect at once without polling.
    pub(crate) fn start(name: &str, port: u16, connections: impl Connections) -> io::Result<Self> {
        let listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        // tokio requires a non-blocking socket before it takes it over.
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Registering the listener needs the runtime's reactor, which only exists inside it.
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || runtime.block_on(accept_loop(listener, connections, stopped)))?;
        Ok(Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the thread to end; `panicked` is what the caller gets if
    /// the thread panicked, so each double keeps its own public error.
    pub(crate) fn shutdown<E>(mut self, panicked: E) -> Result<(), E> {
        self.stop_and_join().map_err(|ThreadPanicked| panicked)
    }

    fn stop_and_join(&mut self) -> Result<(), ThreadPanicked> {
        if let Some(stop) = self.stop.take() {
            // An error means the server already ended; joining below reports how.
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| ThreadPanicked),
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Nothing to report to from a drop; `shutdown` is there for callers who care.
        let _ = self.stop_and_join();
    }
}

/// The server thread panicked (the panic itself went to stderr); each double turns this into
/// its own public error.
struct ThreadPanicked;

/// How a double serves one accepted connection: the part of the server that differs between
/// doubles.
pub(crate) trait Connections: Send + 'static {
    /// Serves `stream` until the connection ends. The future runs as a task of its own, so it
    /// may not borrow `self`.
    fn serve(&self, stream: TcpStream) -> impl Future<Output = ()> + Send + 'static;
}

/// Serves each connection with a handler that always answers: for the Anthropic double, whose
/// faults are answers, delays or a body that fails mid-way, never a connection dropped before
/// answering.
pub(crate) struct Plain<H>(Arc<H>);

impl<H> Plain<H> {
    /// Serves every request with `handler`.
    pub(crate) fn new(handler: H) -> Self {
        Self(Arc::new(handler))
    }
}

impl<H, F, B> Connections for Plain<H>
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    fn serve(&self, stream: TcpStream) -> impl Future<Output = ()> + Send + 'static {
        let handler = Arc::clone(&self.0);
        let service = service_fn(move |request| {
            let answer = handler(request);
            async move { Ok::<_, Infallible>(answer.await) }
        });
        serve_http1(TokioIo::new(stream), service)
    }
}

/// What a [`Resettable`] handler does with one request.
pub(crate) enum Reply {
    /// Send this response.
    Respond(Response<Body>),
    /// Drop the connection with a reset, without answering.
    Reset,
}

/// Serves each connection through a [`ResettableStream`], so that a handler answering
/// [`Reply::Reset`] makes the client see the connection die rather than a response or a
/// clean close (the OpenRouter and Codex doubles' connection-reset faults).
pub(crate) struct Resettable<H>(Arc<H>);

impl<H> Resettable<H> {
    /// Serves every request with `handler`.
    pub(crate) fn new(handler: H) -> Self {
        Self(Arc::new(handler))
    }
}

impl<H, F> Connections for Resettable<H>
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    fn serve(&self, stream: TcpStream) -> impl Future<Output = ()> + Send + 'static {
        let handler = Arc::clone(&self.0);
        // hyper owns the stream while it serves, so the handler raises this flag and the
        // stream acts on it (see `ResettableStream`).
        let reset = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(ResettableStream::new(stream, Arc::clone(&reset)));
        let service = service_fn(move |request| {
            let answer = handler(request);
            let reset = Arc::clone(&reset);
            async move {
                match answer.await {
                    Reply::Respond(response) => Ok(response),
                    Reply::Reset => {
                        reset.store(true, Ordering::SeqCst);
                        Err(ResetRequested)
                    }
                }
            }
        });
        serve_http1(io, service)
    }
}

/// Tells hyper to abandon the connection without answering.
#[derive(Debug, Error)]
#[error("connection reset on purpose")]
struct ResetRequested;

async fn accept_loop(
    listener: TcpListener,
    connections: impl Connections,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connections.serve(stream));
                }
                // Running out of descriptors and the like pass; let other tasks run meanwhile.
                Err(_) => tokio::task::yield_now().await,
            },
        }
    }
    // Returning drops the runtime, which cancels every connection still open.
}

/// HTTP/1 on one connection, with the header-read timeout every double keeps.
async fn serve_http1<I, S, B>(io: TokioIo<I>, service: S)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    // Errors here are the client's or a fault's doing; the connection is over either way.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(io, service)
        .await;
}
