//! A small HTTP/1 client for tests, built on hyper's client so requests are real HTTP over real
//! loopback sockets, as a browser would send them.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HOST, HeaderMap};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use url::Url;

/// One response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// Sends `method path_and_query` to `addr` and reads the whole response.
pub(crate) async fn request(addr: SocketAddr, method: Method, path_and_query: &str) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header(HOST, format!("localhost:{}", addr.port()))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    drop(sender);
    let _ = driver.await;
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// `GET path_and_query` on `addr`.
pub(crate) async fn get(addr: SocketAddr, path_and_query: &str) -> Reply {
    request(addr, Method::GET, path_and_query).await
}

/// `GET url`, sent to the loopback port the URL names, like a browser following a redirect to
/// `http://localhost:PORT/...`.
pub(crate) async fn get_url(url: &Url) -> Reply {
    let port = url.port_or_known_default().unwrap();
    let mut target = url.path().to_owned();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    get(SocketAddr::from(([127, 0, 0, 1], port)), &target).await
}
