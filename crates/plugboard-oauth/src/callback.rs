//! The loopback callback server: where the browser lands after the user signs in.
//!
//! It listens on loopback only, answers only `GET <path>`, and checks the state before anything
//! else, so a stray or hostile request gets a 400 and the login keeps waiting: nothing but a
//! request carrying this login's state can end, hijack or delay it.
//!
//! This module holds the public types and the server's lifecycle; binding the ports, answering
//! requests, the pages and reading the query each have a module of their own below it.

mod bind;
mod pages;
mod query;
mod service;
#[cfg(test)]
mod test_support;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use secrecy::SecretString;
use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinSet;
use url::Url;

pub(crate) use query::{CallbackParams, Rejection};
use service::{Shared, accept_loop};

use crate::state::State;

/// Which port the callback server listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChoice {
    /// This port if it is free, else any free port (see [`CallbackServer::fell_back`]); `0`
    /// means any free port.
    Preferred(u16),
    /// Exactly this port, or [`CallbackError::PortInUse`]; `Pinned(0)` means any free port.
    Pinned(u16),
}

/// What a [`CallbackServer`] listens for.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    /// The callback path, such as `/openrouter-oauth/callback`; requests elsewhere get 404.
    pub path: String,
    /// Which port to listen on.
    pub port: PortChoice,
    /// The state a callback must carry to count.
    pub state: State,
    /// The service's name, shown on the pages the browser sees.
    pub service_name: String,
}

/// What the first callback carrying the right state said.
#[derive(Debug, Clone)]
pub enum CallbackOutcome {
    /// The service granted access: the authorization code, to exchange with the PKCE verifier.
    Code(SecretString),
    /// The service (or the user) refused: its `error` and `error_description`, with control
    /// characters removed and cut to a sane length.
    Denied {
        /// The OAuth error code, such as `access_denied`.
        error: String,
        /// The service's explanation, if it gave one.
        description: Option<String>,
    },
}

/// The callback server could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The pinned port is taken, on `127.0.0.1` or `::1`. The host says how to pick another.
    #[error("port {port} on localhost is in use")]
    PortInUse {
        /// The port asked for.
        port: u16,
    },
    /// Every free port tried was taken on one of the loopback addresses. The host says how to
    /// pin one.
    #[error("cannot find a port free on both 127.0.0.1 and ::1 for the sign-in callback")]
    NoFreePort,
    /// Listening failed for another reason; what the OS said is the source.
    #[error("cannot listen on {addr} for the sign-in callback")]
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The provider gave a callback path that cannot be part of a URL.
    #[error(
        "the callback path {path:?} is not a URL path: it must start with '/' and hold no '?' or '#'"
    )]
    InvalidPath {
        /// The path given.
        path: String,
    },
    /// The provider named no registered port to listen on.
    #[error("no registered port was given for the sign-in callback")]
    NoRegisteredPort,
}

/// A loopback HTTP server that waits for the browser's redirect after sign-in.
///
/// It is listening once [`CallbackServer::start`] returns, and stops on
/// [`CallbackServer::shutdown`] or when dropped.
#[derive(Debug)]
pub struct CallbackServer {
    port: u16,
    fell_back: bool,
    addresses: Vec<SocketAddr>,
    redirect_uri: Url,
    outcome: watch::Receiver<Option<CallbackOutcome>>,
    // Keeps the sender alive, so `wait` never sees a closed channel while the server exists.
    _shared: Arc<Shared>,
    // Dropping the set aborts the accept loops, and each loop's own set of connection tasks
    // with it.
    accept_loops: JoinSet<()>,
}

impl CallbackServer {
    /// Binds loopback (`127.0.0.1`, and `::1` where the host has IPv6) and starts answering.
    pub async fn start(config: CallbackConfig) -> Result<Self, CallbackError> {
        let path = checked_path(&config.path)?;
        let (bound, fell_back) = bind::bind(config.port).await?;
        let redirect_uri =
            Url::parse(&format!("http://localhost:{}{path}", bound.port)).map_err(|_| {
                CallbackError::InvalidPath {
                    path: config.path.clone(),
                }
            })?;
        let (sender, outcome) = watch::channel(None);
        let shared = Arc::new(Shared {
            // Compared with the path the URL parser normalised, as a browser sends it.
            path: redirect_uri.path().to_owned(),
            state: config.state,
            service_name: config.service_name,
            outcome: sender,
        });
        let mut addresses = Vec::with_capacity(bound.listeners.len());
        let mut accept_loops = JoinSet::new();
        for listener in bound.listeners {
            if let Ok(addr) = listener.local_addr() {
                addresses.push(addr);
            }
            accept_loops.spawn(accept_loop(listener, Arc::clone(&shared)));
        }
        Ok(Self {
            port: bound.port,
            fell_back,
            addresses,
            redirect_uri,
            outcome,
            _shared: shared,
            accept_loops,
        })
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the preferred port was taken and another free port is used instead.
    pub fn fell_back(&self) -> bool {
        self.fell_back
    }

    /// `http://localhost:PORT/<path>`: where the service should send the browser back to.
    pub fn redirect_uri(&self) -> Url {
        self.redirect_uri.clone()
    }

    /// The loopback addresses listened on: `127.0.0.1:PORT`, and `[::1]:PORT` where available.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.addresses.clone()
    }

    /// Waits for the first callback carrying the right state. Cancel-safe: dropping the future
    /// loses nothing, and a later call returns the same outcome.
    pub async fn wait(&mut self) -> CallbackOutcome {
        let outcome = match self.outcome.wait_for(Option::is_some).await {
            Ok(seen) => (*seen).clone(),
            Err(_) => None,
        };
        match outcome {
            Some(outcome) => outcome,
            // The sender lives in `self`, so the channel cannot close while we wait.
            None => std::future::pending().await,
        }
    }

    /// Stops listening and ends every open connection; returns once the listeners are closed.
    pub async fn shutdown(mut self) {
        self.accept_loops.abort_all();
        while self.accept_loops.join_next().await.is_some() {}
    }
}

/// `path` if it can be a callback URL's path: it starts with `/` and holds no `?` or `#`.
pub(crate) fn checked_path(path: &str) -> Result<&str, CallbackError> {
    if path.starts_with('/') && !path.contains(['?', '#']) {
        Ok(path)
    } else {
        Err(CallbackError::InvalidPath {
            path: path.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv6Addr, TcpListener as StdListener};

    use hyper::StatusCode;
    use tokio::net::TcpStream;

    use super::test_support::*;
    use super::*;
    use crate::testing::get;

    #[tokio::test]
    async fn wait_is_cancel_safe() {
        let mut server = any_port().await;
        assert!(still_waiting(&mut server).await);
        assert!(still_waiting(&mut server).await);
        assert_real_callback_completes(&mut server, "kept").await;
    }

    #[tokio::test]
    async fn it_listens_on_every_loopback_address_it_reports_and_nothing_else() {
        let mut server = any_port().await;
        let addresses = server.addresses();
        assert!(addresses.contains(&v4(&server)), "{addresses:?}");
        let ipv6 = StdListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok();
        assert_eq!(addresses.len(), if ipv6 { 2 } else { 1 }, "{addresses:?}");
        for addr in &addresses {
            assert!(addr.ip().is_loopback(), "{addr}");
            assert_eq!(addr.port(), server.port());
            let reply = get(*addr, "/elsewhere").await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{addr}");
        }
        let last = addresses.last().unwrap();
        get(
            *last,
            &callback(&format!("{}&code=via-{}", right_state(), last.ip())),
        )
        .await;
        assert_eq!(
            expect_code(server.wait().await),
            format!("via-{}", last.ip())
        );
    }

    #[tokio::test]
    async fn after_shutdown_nothing_listens() {
        let server = any_port().await;
        let addresses = server.addresses();
        server.shutdown().await;
        for addr in addresses {
            assert!(TcpStream::connect(addr).await.is_err(), "{addr}");
        }
    }

    #[tokio::test]
    async fn dropping_the_server_stops_it() {
        let server = any_port().await;
        let addr = v4(&server);
        drop(server);
        // Abort takes effect when the runtime next polls the tasks; yielding lets it.
        let mut refused = false;
        for _ in 0..100 {
            tokio::task::yield_now().await;
            if TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused, "{addr} still accepts connections");
    }

    #[tokio::test]
    async fn a_callback_path_that_is_not_a_url_path_is_refused() {
        for path in ["callback", "/a?b", "/a#b", ""] {
            let mut config = config(PortChoice::Pinned(0));
            config.path = path.to_owned();
            let err = CallbackServer::start(config).await.unwrap_err();
            assert!(
                matches!(err, CallbackError::InvalidPath { .. }),
                "{path}: {err:?}"
            );
        }
    }
}
