//! The loopback callback server: where the browser lands after the user signs in.
//!
//! It listens on loopback only, answers only `GET <path>`, and checks the state before anything
//! else, so a stray or hostile request gets a 400 and the login keeps waiting: nothing but a
//! request carrying this login's state can end, hijack or delay it.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use secrecy::SecretString;
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use url::Url;

use crate::state::State;

/// Largest request head (request line and headers) read; a browser's callback is far smaller.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// A client that has not sent its headers by then is not a browser following a redirect.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// No connection lives longer than this, whatever it sends.
const CONNECTION_TIME_LIMIT: Duration = Duration::from_secs(30);
/// A free IPv4 port can be taken on `::1`; this many tries at finding one free on both.
const FREE_PORT_ATTEMPTS: usize = 8;
/// Longest text echoed from a callback into a page or a message.
const MAX_ECHO_CHARS: usize = 300;
/// Pause after a failed `accept` (say, out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// `EAFNOSUPPORT`: the host has no IPv6. std maps it to no `io::ErrorKind` of its own.
#[cfg(any(target_os = "linux", target_os = "android"))]
const EAFNOSUPPORT: i32 = 97;
#[cfg(windows)]
const EAFNOSUPPORT: i32 = 10047;
#[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
const EAFNOSUPPORT: i32 = 47;

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
        let (bound, fell_back) = match config.port {
            PortChoice::Preferred(0) | PortChoice::Pinned(0) => (bind_free_port().await?, false),
            PortChoice::Pinned(port) => match bind_loopback(port).await {
                Ok(bound) => (bound, false),
                Err(BindFailure::InUse) => return Err(CallbackError::PortInUse { port }),
                Err(BindFailure::Other(e)) => return Err(e),
            },
            PortChoice::Preferred(port) => match bind_loopback(port).await {
                Ok(bound) => (bound, false),
                Err(BindFailure::InUse) => (bind_free_port().await?, true),
                Err(BindFailure::Other(e)) => return Err(e),
            },
        };
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

/// What every connection's handler shares.
#[derive(Debug)]
struct Shared {
    path: String,
    state: State,
    service_name: String,
    outcome: watch::Sender<Option<CallbackOutcome>>,
}

fn checked_path(path: &str) -> Result<&str, CallbackError> {
    if path.starts_with('/') && !path.contains(['?', '#']) {
        Ok(path)
    } else {
        Err(CallbackError::InvalidPath {
            path: path.to_owned(),
        })
    }
}

/// Listeners on one port, on every loopback address the host has.
struct Bound {
    port: u16,
    listeners: Vec<TcpListener>,
}

enum BindFailure {
    InUse,
    Other(CallbackError),
}

/// Binds `127.0.0.1:port` and `[::1]:` the same port. A host without IPv6 is fine; `::1` taken
/// is not, because a browser resolving `localhost` to `::1` would reach whoever holds it.
async fn bind_loopback(port: u16) -> Result<Bound, BindFailure> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v4_listener = TcpListener::bind(v4)
        .await
        .map_err(|e| bind_failure(v4, e))?;
    let port = v4_listener
        .local_addr()
        .map_err(|source| BindFailure::Other(CallbackError::Bind { addr: v4, source }))?
        .port();
    let mut listeners = vec![v4_listener];
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match TcpListener::bind(v6).await {
        Ok(listener) => listeners.push(listener),
        Err(e) if no_ipv6(&e) => {}
        Err(e) => return Err(bind_failure(v6, e)),
    }
    Ok(Bound { port, listeners })
}

async fn bind_free_port() -> Result<Bound, CallbackError> {
    for _ in 0..FREE_PORT_ATTEMPTS {
        match bind_loopback(0).await {
            Ok(bound) => return Ok(bound),
            Err(BindFailure::InUse) => continue,
            Err(BindFailure::Other(e)) => return Err(e),
        }
    }
    Err(CallbackError::NoFreePort)
}

fn bind_failure(addr: SocketAddr, source: io::Error) -> BindFailure {
    if source.kind() == io::ErrorKind::AddrInUse {
        BindFailure::InUse
    } else {
        BindFailure::Other(CallbackError::Bind { addr, source })
    }
}

fn no_ipv6(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::AddrNotAvailable | io::ErrorKind::Unsupported
    ) || e.raw_os_error() == Some(EAFNOSUPPORT)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
            // Reaps finished connections so the set does not grow for the server's lifetime.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |request| {
        let response = respond(&shared, &request);
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(false)
        .max_buf_size(MAX_REQUEST_HEAD)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    // A failed or timed-out connection concerns only its client; the login keeps waiting.
    let _ = tokio::time::timeout(CONNECTION_TIME_LIMIT, connection).await;
}

/// Answers one request. The body is never read: a callback has none worth reading.
fn respond(shared: &Shared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() != shared.path {
        return page(StatusCode::NOT_FOUND, "Not found", "There is nothing here.");
    }
    if request.method() != Method::GET {
        let mut response = page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "This address only answers GET.",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    let params = CallbackParams::parse(request.uri().query().unwrap_or(""));
    let outcome = match params.judge(&shared.state) {
        Ok(outcome) => outcome,
        Err(Rejection::MissingState | Rejection::WrongState) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Not part of a sign-in in progress",
                "This request does not belong to the sign-in waiting here, so it was ignored. \
                 If you are signing in, use the link your terminal shows.",
            );
        }
        Err(Rejection::MissingCode) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Sign-in response incomplete",
                "The sign-in response carried no code. Finish the sign-in in this browser, or \
                 return to the terminal and start again.",
            );
        }
    };
    let service = escape_html(&shared.service_name);
    let response = match &outcome {
        CallbackOutcome::Code(_) => page(
            StatusCode::OK,
            "Signed in",
            &format!(
                "You are signed in to {service}. You can close this tab and return to the terminal."
            ),
        ),
        CallbackOutcome::Denied { error, description } => {
            let reason = match description {
                Some(description) => format!("{error}: {description}"),
                None => error.clone(),
            };
            page(
                StatusCode::OK,
                "Sign-in not completed",
                &format!(
                    "{service} did not grant access ({}). Return to the terminal to try again.",
                    escape_html(&reason)
                ),
            )
        }
    };
    let first = shared.outcome.send_if_modified(|slot| {
        if slot.is_none() {
            *slot = Some(outcome);
            true
        } else {
            false
        }
    });
    if first {
        response
    } else {
        page(
            StatusCode::CONFLICT,
            "Sign-in already finished",
            "This sign-in has already finished. You can close this tab and return to the terminal.",
        )
    }
}

/// An HTML page that loads nothing from anywhere: inline style, no scripts, no links.
/// `message_html` must already be escaped.
fn page(status: StatusCode, title: &str, message_html: &str) -> Response<Full<Bytes>> {
    let title = escape_html(title);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:36rem;\
         margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}}h1{{font-size:1.4rem}}\
         </style></head><body><h1>{title}</h1><p>{message_html}</p></body></html>\n"
    );
    let mut response = Response::new(Full::new(Bytes::from(html)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Escapes text for an HTML element's content or a quoted attribute.
pub(crate) fn escape_html(text: &str) -> String {
    html_escape::encode_safe(text).into_owned()
}

/// Text from a callback made safe to show by the core's one-line sanitiser: no escape
/// sequences, controls or direction overrides (a terminal would obey them), at most
/// [`MAX_ECHO_CHARS`] characters.
fn clean_echo(text: &str) -> String {
    plugboard_core::sanitize_line(text, MAX_ECHO_CHARS)
}

/// The parameters of a callback's query string; the first of each name counts.
#[derive(Debug, Default)]
pub(crate) struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Why a callback's parameters do not end the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    MissingState,
    WrongState,
    MissingCode,
}

impl CallbackParams {
    /// Reads a query string (without its `?`), percent- and `+`-decoding the values.
    pub(crate) fn parse(query: &str) -> Self {
        let mut params = Self::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*name {
                "state" => &mut params.state,
                "code" => &mut params.code,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }

    /// What these parameters mean for a login waiting for `state`. The state is checked
    /// first, so an `error` without it is only a stray request.
    pub(crate) fn judge(self, state: &State) -> Result<CallbackOutcome, Rejection> {
        let given = self.state.ok_or(Rejection::MissingState)?;
        if !state.matches(&given) {
            return Err(Rejection::WrongState);
        }
        if let Some(error) = self.error.filter(|e| !e.is_empty()) {
            return Ok(CallbackOutcome::Denied {
                error: clean_echo(&error),
                description: self
                    .error_description
                    .map(|d| clean_echo(&d))
                    .filter(|d| !d.is_empty()),
            });
        }
        match self.code.filter(|c| !c.is_empty()) {
            Some(code) => Ok(CallbackOutcome::Code(code.into())),
            None => Err(Rejection::MissingCode),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener as StdListener;

    use plugboard_core::FixedRandom;
    use secrecy::ExposeSecret;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::testing::{Reply, get, request};

    const PATH: &str = "/example/callback";

    fn state() -> State {
        State::generate(&FixedRandom(9))
    }

    fn config(port: PortChoice) -> CallbackConfig {
        CallbackConfig {
            path: PATH.to_owned(),
            port,
            state: state(),
            service_name: "Example <Service>".to_owned(),
        }
    }

    async fn any_port() -> CallbackServer {
        CallbackServer::start(config(PortChoice::Pinned(0)))
            .await
            .unwrap()
    }

    fn v4(server: &CallbackServer) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, server.port()))
    }

    fn callback(query: &str) -> String {
        format!("{PATH}?{query}")
    }

    fn right_state() -> String {
        format!("state={}", state().as_str())
    }

    fn expect_code(outcome: CallbackOutcome) -> String {
        match outcome {
            CallbackOutcome::Code(code) => code.expose_secret().to_owned(),
            other => panic!("expected a code, got {other:?}"),
        }
    }

    /// Sends the real callback (right state, `code`) and asserts the wait ends with that code.
    async fn assert_real_callback_completes(server: &mut CallbackServer, code: &str) {
        get(
            v4(server),
            &callback(&format!("{}&code={code}", right_state())),
        )
        .await;
        assert_eq!(expect_code(server.wait().await), code);
    }

    /// The wait has not ended: checked without sleeping, by polling once.
    async fn still_waiting(server: &mut CallbackServer) -> bool {
        tokio::select! {
            biased;
            _ = server.wait() => false,
            () = std::future::ready(()) => true,
        }
    }

    fn assert_page_headers(reply: &Reply) {
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

    #[tokio::test]
    async fn stray_requests_are_refused_and_the_real_callback_still_completes_the_wait() {
        let mut server = any_port().await;
        let addr = v4(&server);
        let wrong = State::generate(&FixedRandom(10));
        let strays = [
            (
                Method::GET,
                callback(&format!("state={}&code=evil", wrong.as_str())),
                400,
            ),
            (Method::GET, callback("code=evil"), 400),
            (Method::GET, PATH.to_owned(), 400),
            (Method::GET, callback(&right_state()), 400),
            (
                Method::GET,
                callback(&format!("{}&code=", right_state())),
                400,
            ),
            (
                Method::POST,
                callback(&format!("{}&code=evil", right_state())),
                405,
            ),
            (
                Method::HEAD,
                callback(&format!("{}&code=evil", right_state())),
                405,
            ),
            (
                Method::GET,
                format!("/other?{}&code=evil", right_state()),
                404,
            ),
            (
                Method::GET,
                format!("{PATH}/more?{}&code=evil", right_state()),
                404,
            ),
            (Method::GET, "/".to_owned(), 404),
            (
                Method::GET,
                callback(&format!("state={}&error=access_denied", wrong.as_str())),
                400,
            ),
            (Method::GET, callback("error=access_denied"), 400),
        ];
        for (method, target, status) in strays {
            let reply = request(addr, method.clone(), &target).await;
            assert_eq!(reply.status.as_u16(), status, "{method} {target}");
            if method != Method::HEAD {
                assert_page_headers(&reply);
            }
            assert!(
                still_waiting(&mut server).await,
                "{method} {target} ended the wait"
            );
        }
        let reply = request(addr, Method::POST, PATH).await;
        assert_eq!(reply.headers.get("allow").unwrap(), "GET");

        let reply = get(addr, &callback(&format!("{}&code=the-code", right_state()))).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(expect_code(server.wait().await), "the-code");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_success_page_says_where_to_go_and_carries_no_secret() {
        let mut server = any_port().await;
        let reply = get(
            v4(&server),
            &callback(&format!("code=secret-code&{}", right_state())),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_page_headers(&reply);
        assert!(
            reply
                .body
                .contains("You are signed in to Example &lt;Service&gt;"),
            "{}",
            reply.body
        );
        assert!(reply.body.contains("return to the terminal"));
        assert!(!reply.body.contains("secret-code"));
        assert!(!reply.body.contains(state().as_str()));
        assert_eq!(expect_code(server.wait().await), "secret-code");
    }

    #[tokio::test]
    async fn a_denial_with_the_right_state_ends_the_wait_and_its_page_escapes_the_error() {
        let mut server = any_port().await;
        let reply = get(
            v4(&server),
            &callback(&format!(
                "{}&error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&error_description=User+said+%22no%22",
                right_state()
            )),
        )
        .await;
        assert_page_headers(&reply);
        assert!(
            reply
                .body
                .contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
            "{}",
            reply.body
        );
        assert!(reply.body.contains("User said &quot;no&quot;"));
        assert!(!reply.body.contains("<script>"));
        match server.wait().await {
            CallbackOutcome::Denied { error, description } => {
                assert_eq!(error, "<script>alert(1)</script>");
                assert_eq!(description.as_deref(), Some("User said \"no\""));
            }
            other => panic!("expected a denial, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn only_the_first_right_state_callback_counts() {
        let mut server = any_port().await;
        let addr = v4(&server);
        let first = get(addr, &callback(&format!("{}&code=first", right_state()))).await;
        assert_eq!(first.status, StatusCode::OK);
        let later = [
            format!("{}&code=second", right_state()),
            format!("{}&error=access_denied", right_state()),
        ];
        for query in later {
            let reply = get(addr, &callback(&query)).await;
            assert_eq!(reply.status, StatusCode::CONFLICT, "{query}");
            assert_page_headers(&reply);
        }
        assert_eq!(expect_code(server.wait().await), "first");
        assert_eq!(expect_code(server.wait().await), "first");
    }

    #[tokio::test]
    async fn echoed_text_is_cut_short_and_stripped_of_control_characters() {
        let mut server = any_port().await;
        let long = "x".repeat(1000);
        get(
            v4(&server),
            &callback(&format!(
                "{}&error=bad%1B%5B31m&error_description={long}",
                right_state()
            )),
        )
        .await;
        match server.wait().await {
            CallbackOutcome::Denied { error, description } => {
                assert_eq!(error, "bad");
                let description = description.unwrap();
                assert_eq!(description.chars().count(), MAX_ECHO_CHARS + 1);
                assert!(description.ends_with('…'), "{description}");
            }
            other => panic!("expected a denial, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn oversized_headers_are_refused_without_ending_the_wait() {
        let mut server = any_port().await;
        let mut stream = TcpStream::connect(v4(&server)).await.unwrap();
        let head = format!(
            "GET {} HTTP/1.1\r\nHost: localhost\r\nX-Filler: {}\r\n\r\n",
            callback(&format!("{}&code=big", right_state())),
            "a".repeat(MAX_REQUEST_HEAD * 2)
        );
        // The server may close before reading everything; a failed write is part of refusing.
        let _ = stream.write_all(head.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
            "{answer}"
        );
        assert!(still_waiting(&mut server).await);

        assert_real_callback_completes(&mut server, "real").await;
    }

    #[tokio::test]
    async fn a_silent_connection_does_not_delay_the_real_callback() {
        let mut server = any_port().await;
        let _silent = TcpStream::connect(v4(&server)).await.unwrap();
        let mut half = TcpStream::connect(v4(&server)).await.unwrap();
        half.write_all(b"GET /example/callback?state=")
            .await
            .unwrap();
        assert_real_callback_completes(&mut server, "real").await;
    }

    #[tokio::test]
    async fn wait_is_cancel_safe() {
        let mut server = any_port().await;
        assert!(still_waiting(&mut server).await);
        assert!(still_waiting(&mut server).await);
        assert_real_callback_completes(&mut server, "kept").await;
    }

    #[tokio::test]
    async fn an_occupied_preferred_port_falls_back_to_a_free_one() {
        let holder = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = holder.local_addr().unwrap().port();
        let mut server = CallbackServer::start(config(PortChoice::Preferred(taken)))
            .await
            .unwrap();
        assert!(server.fell_back());
        assert_ne!(server.port(), taken);
        assert_eq!(server.redirect_uri().port(), Some(server.port()));
        assert_real_callback_completes(&mut server, "c").await;
    }

    #[tokio::test]
    async fn a_free_preferred_port_is_used_as_is() {
        let port = {
            let probe = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            probe.local_addr().unwrap().port()
        };
        // The probe's port is free again unless another process grabbed it in between; only
        // then would this fall back, which the assertion message makes plain.
        let server = CallbackServer::start(config(PortChoice::Preferred(port)))
            .await
            .unwrap();
        assert!(
            !server.fell_back() && server.port() == port,
            "port {port} was taken by someone else"
        );
    }

    #[test]
    fn a_bind_error_names_the_address_and_leaves_the_cause_to_its_source() {
        let err = CallbackError::Bind {
            addr: (Ipv4Addr::LOCALHOST, 80).into(),
            source: io::ErrorKind::PermissionDenied.into(),
        };
        assert_eq!(
            err.to_string(),
            "cannot listen on 127.0.0.1:80 for the sign-in callback"
        );
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("permission denied"));
    }

    #[tokio::test]
    async fn an_occupied_pinned_port_is_an_error_naming_the_port() {
        let holder = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = holder.local_addr().unwrap().port();
        let err = CallbackServer::start(config(PortChoice::Pinned(taken)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, CallbackError::PortInUse { port } if port == taken),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("port {taken} on localhost is in use")
        );
    }

    #[tokio::test]
    async fn a_port_taken_on_ipv6_loopback_counts_as_taken() {
        let Ok(holder) = StdListener::bind((Ipv6Addr::LOCALHOST, 0)) else {
            return; // No IPv6 on this host: nothing to take.
        };
        let taken = holder.local_addr().unwrap().port();
        let err = CallbackServer::start(config(PortChoice::Pinned(taken)))
            .await
            .unwrap_err();
        assert!(matches!(err, CallbackError::PortInUse { port } if port == taken));
        let server = CallbackServer::start(config(PortChoice::Preferred(taken)))
            .await
            .unwrap();
        assert!(server.fell_back());
    }

    #[tokio::test]
    async fn pinned_zero_takes_any_free_port_without_falling_back() {
        let server = any_port().await;
        assert_ne!(server.port(), 0);
        assert!(!server.fell_back());
        assert_eq!(
            server.redirect_uri().as_str(),
            format!("http://localhost:{}{PATH}", server.port())
        );
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

    #[test]
    fn a_host_without_ipv6_is_told_apart_from_a_taken_port() {
        let cases = [
            (io::Error::from_raw_os_error(EAFNOSUPPORT), true),
            (io::ErrorKind::AddrNotAvailable.into(), true),
            (io::ErrorKind::Unsupported.into(), true),
            (io::ErrorKind::AddrInUse.into(), false),
            (io::ErrorKind::PermissionDenied.into(), false),
        ];
        for (error, missing) in cases {
            assert_eq!(no_ipv6(&error), missing, "{error:?}");
            let in_use = matches!(
                bind_failure(SocketAddr::from((Ipv6Addr::LOCALHOST, 1)), error),
                BindFailure::InUse
            );
            assert!(!(missing && in_use));
        }
    }

    #[test]
    fn escape_html_escapes_markup_and_quotes() {
        let cases = [
            ("plain text", "plain text"),
            ("<script>", "&lt;script&gt;"),
            ("a & b", "a &amp; b"),
            ("\"double\"", "&quot;double&quot;"),
            ("'single'", "&#x27;single&#x27;"),
            ("a/b", "a&#x2F;b"),
            ("&amp;", "&amp;amp;"),
            ("ünïcödé", "ünïcödé"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(escape_html(input), want, "{input}");
        }
    }

    #[test]
    fn callback_params_are_judged_state_first() {
        let right = right_state();
        let wrong = format!("state={}", State::generate(&FixedRandom(10)).as_str());
        let cases: [(String, Result<&str, Rejection>); 9] = [
            (format!("{right}&code=abc"), Ok("code abc")),
            (format!("code=abc&{right}"), Ok("code abc")),
            (format!("{right}&code=a%2Fb+c"), Ok("code a/b c")),
            (
                format!("{right}&error=access_denied&code=abc"),
                Ok("denied access_denied"),
            ),
            (format!("{right}&error=&code=abc"), Ok("code abc")),
            (format!("{wrong}&code=abc"), Err(Rejection::WrongState)),
            (
                format!("{wrong}&error=access_denied"),
                Err(Rejection::WrongState),
            ),
            ("code=abc&error=x".to_owned(), Err(Rejection::MissingState)),
            (format!("{right}&code="), Err(Rejection::MissingCode)),
        ];
        for (query, want) in cases {
            let got = CallbackParams::parse(&query)
                .judge(&state())
                .map(|outcome| match outcome {
                    CallbackOutcome::Code(code) => format!("code {}", code.expose_secret()),
                    CallbackOutcome::Denied { error, .. } => format!("denied {error}"),
                });
            assert_eq!(got.as_deref().map_err(|e| *e), want, "{query}");
        }
    }
}
