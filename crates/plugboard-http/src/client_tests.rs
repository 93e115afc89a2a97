//! The client's tests against real servers on loopback: what is sent, what is read, how each
//! failure is reported, and which requests go through a proxy.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::*;
use crate::testing::env_of;

#[test]
fn an_unsendable_user_agent_is_refused_at_setup() {
    let mut settings = HttpSettings::default();
    settings.user_agent = "plugboard\n".to_owned();
    let error = NetworkClient::new(&settings).unwrap_err();
    assert!(
        matches!(error, NetworkClientError::InvalidUserAgent(_)),
        "{error:?}"
    );
}

/// What a test server does with the one connection it accepts.
enum Script {
    /// Writes these bytes after reading the request head, then closes.
    Answer(Vec<u8>),
    /// Closes after reading the request head without answering.
    Close,
    /// Resets the connection after reading the request head.
    Reset,
    /// Writes these bytes (maybe none) after reading the request head, then holds the
    /// connection without writing more.
    Stall(Vec<u8>),
    /// Writes these bytes at once, before any request arrives, then waits for the client to
    /// hang up.
    Blurt(&'static [u8]),
}

/// Serves one connection on 127.0.0.1 and hands back the request head it read.
async fn serve_once(script: Script) -> (SocketAddr, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        if let Script::Blurt(bytes) = script {
            let _ = stream.write_all(bytes).await;
            // Closing with the client's bytes unread would reset the connection and could
            // race the client's read of these.
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest).await;
            return String::new();
        }
        let head = read_head(&mut stream).await;
        match script {
            // The client may hang up first (an oversized body), so write errors are fine.
            Script::Answer(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
            }
            Script::Close => drop(stream),
            Script::Reset => {
                stream.set_zero_linger().unwrap();
                drop(stream);
            }
            Script::Stall(bytes) => {
                let _ = stream.write_all(&bytes).await;
                // Returns once the client gives up and closes its end.
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
            }
            Script::Blurt(_) => {}
        }
        head
    });
    (addr, task)
}

async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn answer(status_line: &str, headers: &str, body: &[u8]) -> Script {
    let mut bytes =
        format!("HTTP/1.1 {status_line}\r\n{headers}connection: close\r\n\r\n").into_bytes();
    bytes.extend_from_slice(body);
    Script::Answer(bytes)
}

fn sized(status_line: &str, body: &[u8]) -> Script {
    answer(
        status_line,
        &format!("content-length: {}\r\n", body.len()),
        body,
    )
}

fn chunked(chunks: &[&[u8]]) -> Script {
    let mut body = Vec::new();
    for chunk in chunks {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    answer("200 OK", "transfer-encoding: chunked\r\n", &body)
}

fn local_client() -> NetworkClient {
    NetworkClient::new(&HttpSettings::default()).unwrap()
}

async fn dead_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn a_body_is_returned_whole_with_its_status() {
    let (addr, server) = serve_once(sized("200 OK", br#"{"ok":true}"#)).await;
    let response = local_client()
        .send(HttpRequest::get(format!("http://{addr}/token")))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, br#"{"ok":true}"#);
    server.await.unwrap();
}

#[tokio::test]
async fn a_post_sends_its_headers_body_and_user_agent() {
    let (addr, server) = serve_once(sized("200 OK", b"{}")).await;
    let mut settings = HttpSettings::default();
    settings.user_agent = "plugboard-test/1.2".to_owned();
    let client = NetworkClient::new(&settings).unwrap();
    let request =
        HttpRequest::post_json(format!("http://{addr}/token"), &serde_json::json!({"a": 1}))
            .with_header("x-probe", "yes");
    client.send(request).await.unwrap();
    let head = server.await.unwrap().to_ascii_lowercase();
    assert!(head.starts_with("post /token http/1.1\r\n"), "{head}");
    assert!(
        head.contains("\r\nuser-agent: plugboard-test/1.2\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nx-probe: yes\r\n"), "{head}");
    assert!(
        head.contains("\r\ncontent-type: application/json\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\ncontent-length: 7\r\n"), "{head}");
}

#[tokio::test]
async fn a_body_within_the_bound_is_read_and_a_longer_one_refused_not_truncated() {
    let limit = 1000;
    let exact = vec![b'a'; limit];
    let over = vec![b'a'; limit + 1];
    let half = vec![b'b'; limit / 2];
    let cases = [
        (
            "sized, exactly the bound",
            sized("200 OK", &exact),
            Some(limit),
        ),
        ("sized, one byte over", sized("200 OK", &over), None),
        (
            "chunked, exactly the bound",
            chunked(&[&half, &half]),
            Some(limit),
        ),
        (
            "chunked, one byte over",
            chunked(&[&half, &half, b"c"]),
            None,
        ),
        (
            "chunked, far over",
            chunked(&[&exact, &exact, &exact]),
            None,
        ),
        (
            "no length, one byte over",
            answer("200 OK", "", &over),
            None,
        ),
    ];
    for (name, script, expected) in cases {
        let (addr, server) = serve_once(script).await;
        let request = HttpRequest::get(format!("http://{addr}/big")).with_max_response_bytes(limit);
        let outcome = local_client().send(request).await;
        match expected {
            Some(len) => assert_eq!(outcome.unwrap().body.len(), len, "{name}"),
            None => assert_eq!(
                outcome.unwrap_err(),
                HttpError::TooLarge {
                    host: addr.to_string(),
                    limit
                },
                "{name}"
            ),
        }
        server.await.unwrap();
    }
}

#[tokio::test]
async fn a_connection_lost_after_the_request_is_a_transport_error_not_a_connect_error() {
    let cases = [
        (
            "closed before answering",
            Script::Close,
            "connection closed before message completed",
        ),
        ("reset before answering", Script::Reset, "connection reset"),
        (
            "closed mid-body",
            answer("200 OK", "content-length: 100\r\n", b"only part"),
            "connection closed early",
        ),
    ];
    for (name, script, reason) in cases {
        let (addr, server) = serve_once(script).await;
        let error = local_client()
            .send(HttpRequest::get(format!("http://{addr}/token?code=sekrit")))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            HttpError::Transport {
                host: addr.to_string(),
                reason: reason.to_owned()
            },
            "{name}"
        );
        assert!(!error.to_string().contains("sekrit"), "{name}: {error}");
        server.await.unwrap();
    }
}

#[tokio::test]
async fn no_connection_or_a_failed_handshake_is_a_connect_error_naming_only_the_host() {
    let dead = dead_addr().await;
    // A plain-HTTP server answers the TLS hello with text, so the handshake fails.
    let (plain, server) = serve_once(Script::Blurt(b"HTTP/1.1 400 Bad Request\r\n\r\n")).await;
    let cases = [
        (
            "nothing listening",
            format!("http://{dead}"),
            dead,
            "connection refused",
        ),
        (
            "tls to a plain server",
            format!("https://{plain}"),
            plain,
            "the server did not answer in TLS (is it plain http?)",
        ),
    ];
    for (name, base, addr, reason) in cases {
        let error = local_client()
            .send(HttpRequest::get(format!("{base}/token?code=sekrit")))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            HttpError::Connect {
                host: addr.to_string(),
                reason: reason.to_owned()
            },
            "{name}"
        );
        assert!(!error.to_string().contains("sekrit"), "{name}: {error}");
    }
    server.await.unwrap();
}

#[tokio::test]
async fn a_server_slower_than_the_request_timeout_is_a_timeout() {
    let cases = [
        ("no answer at all", Vec::new()),
        (
            "a body that stops coming",
            b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npart".to_vec(),
        ),
    ];
    let mut settings = HttpSettings::default();
    settings.request_timeout = Duration::from_millis(200);
    for (name, written) in cases {
        let (addr, server) = serve_once(Script::Stall(written)).await;
        let client = NetworkClient::new(&settings).unwrap();
        let error = client
            .send(HttpRequest::get(format!("http://{addr}/slow")))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            HttpError::Timeout {
                host: addr.to_string(),
                seconds: 1
            },
            "{name}"
        );
        // The server finishes once the client's connection is gone.
        drop(client);
        server.await.unwrap();
    }
}

#[tokio::test]
async fn a_redirect_is_returned_as_is_not_followed() {
    let (addr, server) = serve_once(answer(
        "302 Found",
        "location: http://127.0.0.1:9/elsewhere\r\ncontent-length: 0\r\n",
        b"",
    ))
    .await;
    let response = local_client()
        .send(HttpRequest::post_json(
            format!("http://{addr}/token"),
            &serde_json::json!({"code": "c"}),
        ))
        .await
        .unwrap();
    assert_eq!(response.status, 302);
    server.await.unwrap();
}

#[tokio::test]
async fn loopback_requests_bypass_the_proxy() {
    let (addr, server) = serve_once(sized("200 OK", b"direct")).await;
    let proxy = format!("http://{}", dead_addr().await);
    let env = env_of(&[("ALL_PROXY", &proxy), ("HTTP_PROXY", &proxy)]);
    let client = NetworkClient::with_env(&HttpSettings::default(), env).unwrap();
    let response = client
        .send(HttpRequest::get(format!("http://{addr}/callback")))
        .await
        .unwrap();
    assert_eq!(response.body, b"direct");
    server.await.unwrap();
}

#[tokio::test]
async fn other_hosts_go_through_the_proxy() {
    for variable in ["HTTP_PROXY", "http_proxy", "ALL_PROXY"] {
        let (proxy_addr, proxy) = serve_once(sized("200 OK", b"via proxy")).await;
        let value = format!("http://{proxy_addr}");
        let env = env_of(&[(variable, &value)]);
        let client = NetworkClient::with_env(&HttpSettings::default(), env).unwrap();
        // The .invalid name never resolves, so only the proxy can have answered.
        let response = client
            .send(HttpRequest::get("http://plugboard.invalid/models"))
            .await
            .unwrap();
        assert_eq!(response.body, b"via proxy", "{variable}");
        let head = proxy.await.unwrap().to_ascii_lowercase();
        assert!(
            head.starts_with("get http://plugboard.invalid/models http/1.1\r\n"),
            "{variable}: {head}"
        );
    }
}

#[tokio::test]
async fn a_host_in_no_proxy_is_not_proxied() {
    let proxy = format!("http://{}", dead_addr().await);
    let env = env_of(&[("HTTP_PROXY", &proxy), ("NO_PROXY", "plugboard.invalid")]);
    let client = NetworkClient::with_env(&HttpSettings::default(), env).unwrap();
    // Direct, the name cannot resolve; through the dead proxy it would be refused.
    let error = client
        .send(HttpRequest::get("http://plugboard.invalid/models"))
        .await
        .unwrap_err();
    let HttpError::Connect { host, reason } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(host, "plugboard.invalid");
    assert_ne!(reason, "connection refused", "{error}");
}
