//! Answering the browser: the accept loops, hyper's limits on each connection, and the checks
//! on each request (path, method, then the state) that decide which page it gets and whether it
//! ends the login.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::query::{CallbackParams, Rejection};
use super::{CallbackOutcome, pages};
use crate::state::State;

/// Largest request head (request line and headers) read; a browser's callback is far smaller.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// A client that has not sent its headers by then is not a browser following a redirect.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// No connection lives longer than this, whatever it sends.
const CONNECTION_TIME_LIMIT: Duration = Duration::from_secs(30);
/// Pause after a failed `accept` (say, out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What every connection's handler shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) path: String,
    pub(super) state: State,
    pub(super) service_name: String,
    pub(super) outcome: watch::Sender<Option<CallbackOutcome>>,
}

/// Accepts connections on `listener` and serves each in a task of its own, until aborted.
pub(super) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
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
        return pages::not_found();
    }
    if request.method() != Method::GET {
        return pages::method_not_allowed();
    }
    let params = CallbackParams::parse(request.uri().query().unwrap_or(""));
    let outcome = match params.judge(&shared.state) {
        Ok(outcome) => outcome,
        Err(Rejection::MissingState | Rejection::WrongState) => {
            return pages::not_this_sign_in();
        }
        Err(Rejection::MissingCode) => return pages::incomplete(),
    };
    let response = pages::outcome(&shared.service_name, &outcome);
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
        pages::already_finished()
    }
}

#[cfg(test)]
mod tests {
    use hyper::StatusCode;
    use plugboard_core::FixedRandom;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::test_support::*;
    use super::*;
    use crate::testing::{get, request};

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
}
