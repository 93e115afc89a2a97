//! The Codex double's accept loop: one task per connection, each request to the routes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::routes::{self, Reply};
use super::state::Shared;
use crate::conn::ResettableStream;

/// A client that sends no complete request head within this long is disconnected.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
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
    let reset = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(ResettableStream::new(stream, Arc::clone(&reset)));
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let reset = Arc::clone(&reset);
        async move {
            match routes::handle(&shared, request).await {
                Reply::Respond(response) => Ok(response),
                Reply::Reset => {
                    reset.store(true, Ordering::SeqCst);
                    Err(ResetRequested)
                }
            }
        }
    });
    // Errors here are the client's or the fault's doing; the connection is over either way.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(io, service)
        .await;
}

/// Tells hyper to abandon the connection without answering.
#[derive(Debug, Error)]
#[error("connection reset on purpose")]
struct ResetRequested;
