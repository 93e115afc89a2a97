//! A loopback HTTP server standing in for a plugin's service during `plugins check`: every
//! request it receives is handed to the call's [`HttpClient`] (the contract harness's scripted
//! service) and its answer written back, so a plugin that does its own HTTP meets the same
//! scripted replies a linked-in provider would. It lives for one call.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use plugboard_core::{HttpClient, HttpError, HttpMethod, HttpRequest};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The largest request body passed on; a plugin's request to its service is far smaller.
const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// The largest answer passed back: the plugin, not the bridge, bounds what it reads.
const MAX_ANSWER_BODY: usize = 16 * 1024 * 1024;

/// A client that has not sent its headers by then is not a plugin making a request.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Headers that describe one hop, not the request: not passed on.
const HOP_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

/// A running bridge; dropping it stops the server and every connection.
pub(crate) struct Bridge {
    url: String,
    accept: JoinHandle<()>,
}

impl Bridge {
    /// Starts a server on `127.0.0.1` (any free port) answering through `client`.
    pub(crate) async fn start(client: Arc<dyn HttpClient>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let accept = tokio::spawn(accept_loop(listener, client, url.clone()));
        Ok(Self { url, accept })
    }

    /// `http://127.0.0.1:PORT`: the base URL handed to the plugin.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // Aborting the loop drops its `JoinSet`, which aborts every connection.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, client: Arc<dyn HttpClient>, origin: String) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, Arc::clone(&client), origin.clone()));
                }
                // Out of descriptors, say: the plugin's request fails, the check goes on.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve(stream: TcpStream, client: Arc<dyn HttpClient>, origin: String) {
    let service = service_fn(move |request| {
        let client = Arc::clone(&client);
        let origin = origin.clone();
        async move { answer(client.as_ref(), &origin, request).await }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    // A broken connection concerns only the plugin's request.
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Passes one request to `client`. A client that fails (a scripted cut connection, a script
/// that has run out) makes the connection close without an answer, as a real service's would.
async fn answer(
    client: &dyn HttpClient,
    origin: &str,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let (parts, body) = request.into_parts();
    let method = match parts.method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        _ => return Ok(plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and POST")),
    };
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(plain(StatusCode::PAYLOAD_TOO_LARGE, "request too large")),
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut forwarded =
        HttpRequest::get(format!("{origin}{path}")).with_max_response_bytes(MAX_ANSWER_BODY);
    forwarded.method = method;
    if method == HttpMethod::Post {
        forwarded.body = Some(body.to_vec());
    }
    for (name, value) in &parts.headers {
        if HOP_HEADERS.contains(&name.as_str()) {
            continue;
        }
        if let Ok(value) = value.to_str() {
            forwarded
                .headers
                .push((name.as_str().to_owned(), value.to_owned()));
        }
    }
    let reply = client.send(forwarded).await?;
    let Ok(status) = StatusCode::from_u16(reply.status) else {
        return Ok(plain(
            StatusCode::BAD_GATEWAY,
            "the script's status is invalid",
        ));
    };
    let content_type = if serde_json::from_slice::<serde_json::Value>(&reply.body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    Ok(with_type(status, content_type, Bytes::from(reply.body)))
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    with_type(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(text.as_bytes()),
    )
}

fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use plugboard_core::{HttpResponse, ScriptedHttp};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn exchange(url: &str, raw: &str) -> String {
        let addr = url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn requests_reach_the_client_and_its_answers_come_back_then_a_cut() {
        let script = Arc::new(ScriptedHttp::new([
            Ok(HttpResponse::new(401, br#"{"error":"no"}"#.to_vec())),
            Ok(HttpResponse::new(200, b"<html>".to_vec())),
        ]));
        let bridge = Bridge::start(script.clone()).await.unwrap();
        let first = exchange(
            bridge.url(),
            "POST /v1/chat?x=1 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer k\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        )
        .await;
        assert!(first.starts_with("HTTP/1.1 401"), "{first}");
        assert!(first.contains("content-type: application/json"), "{first}");
        assert!(first.ends_with(r#"{"error":"no"}"#), "{first}");
        let second = exchange(
            bridge.url(),
            "GET /models HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(
            second.contains("text/plain") && second.ends_with("<html>"),
            "{second}"
        );
        // The script has run out: the connection closes without an answer.
        let third = exchange(
            bridge.url(),
            "GET /models HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(third, "");

        let sent = script.requests();
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[0].method, HttpMethod::Post);
        assert_eq!(sent[0].url, format!("{}/v1/chat?x=1", bridge.url()));
        assert_eq!(sent[0].body.as_deref(), Some(&b"{}"[..]));
        assert!(
            sent[0]
                .headers
                .iter()
                .any(|(n, v)| n == "authorization" && v == "Bearer k")
        );
        assert!(!sent[0].headers.iter().any(|(n, _)| n == "host"));
        assert_eq!(sent[1].method, HttpMethod::Get);
    }

    #[tokio::test]
    async fn a_dropped_bridge_stops_listening() {
        let bridge = Bridge::start(Arc::new(ScriptedHttp::default()))
            .await
            .unwrap();
        let addr = bridge.url().trim_start_matches("http://").to_owned();
        drop(bridge);
        tokio::task::yield_now().await;
        // The listener was owned by the aborted task; connecting now is refused.
        let mut refused = false;
        for _ in 0..100 {
            if TcpStream::connect(&addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused);
    }
}
