//! The HTTP seam: methods (and later capabilities) reach their service through an injected
//! [`HttpClient`], so the core stays free of I/O, tests script responses, and the host decides
//! timeouts, proxies and trusted certificates once for every provider.

use std::fmt;

use async_trait::async_trait;
use thiserror::Error;

/// An HTTP request method; only the ones providers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl HttpMethod {
    /// The method as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One request to a provider's service. Its `Debug` output shows header names only, because
/// headers carry keys (`Authorization: Bearer ...`).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpRequest {
    /// GET or POST.
    pub method: HttpMethod,
    /// Absolute URL.
    pub url: String,
    /// Extra headers, sent as given.
    pub headers: Vec<(String, String)>,
    /// Body, sent as given (with `Content-Type: application/json` when built by
    /// [`HttpRequest::post_json`]).
    pub body: Option<Vec<u8>>,
    /// A response body longer than this is an error ([`HttpError::TooLarge`]), never truncated.
    pub max_response_bytes: usize,
}

/// The default response bound: far above any JSON a sign-in or model call returns.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;

impl HttpRequest {
    /// A `GET` of `url` with the default response bound.
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: HttpMethod::Get,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// A `POST` of `body` as JSON to `url`, with the default response bound.
    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> Self {
        Self {
            method: HttpMethod::Post,
            url: url.into(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Some(body.to_string().into_bytes()),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the response bound.
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// A complete response: status and the whole body (within the request's bound).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body, at most the request's `max_response_bytes`.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with `status` and `body`.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: body.into(),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl fmt::Debug for HttpResponse {
    /// Bodies carry keys (a code exchange answers with one), so only their size is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// Why a request got no complete response. Messages never include bodies or headers.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HttpError {
    /// No connection could be made (refused, unreachable, DNS, TLS handshake): worth one retry.
    #[error("cannot connect to {host}: {reason}")]
    Connect {
        /// The host that was tried.
        host: String,
        /// Why, in a few words.
        reason: String,
    },
    /// The connect or total time ran out.
    #[error("no answer from {host} within {seconds} s")]
    Timeout {
        /// The host that was tried.
        host: String,
        /// The limit that ran out, in seconds.
        seconds: u64,
    },
    /// The response body was longer than the request allowed.
    #[error("the response from {host} is larger than {limit} bytes")]
    TooLarge {
        /// The host that answered.
        host: String,
        /// The bound in bytes.
        limit: usize,
    },
    /// The URL cannot be requested (not absolute, not http(s)).
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The connection failed after it was made (reset, closed mid-body).
    #[error("the connection to {host} failed: {reason}")]
    Transport {
        /// The host.
        host: String,
        /// Why, in a few words.
        reason: String,
    },
    /// This context has no network (scripted contexts without a scripted client).
    #[error("no network in this context: {0}")]
    Unavailable(String),
    /// A request someone else made failed, as they reported it: an executable plugin sends
    /// its own requests and says why one failed (already one sanitised line).
    #[error("{0}")]
    Reported(String),
}

impl HttpError {
    /// Whether one more attempt may help: the connection never happened.
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }
}

/// Sends requests for a method. The host's implementation applies [`crate::HttpSettings`]
/// (timeouts, user agent), proxies and trusted certificates; tests script it.
#[async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends `request` once and returns the whole response, bounded; no retries.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

/// The client of a context that has no network: every request fails with
/// [`HttpError::Unavailable`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNetwork;

#[async_trait]
impl HttpClient for NoNetwork {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        Err(HttpError::Unavailable(format!(
            "{} {} was not sent",
            request.method.as_str(),
            request.url
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_header_values_or_bodies() {
        let request = HttpRequest::post_json("https://x.test/a", &serde_json::json!({"k": "s3"}))
            .with_header("authorization", "Bearer sk-secret");
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("sk-secret") && !shown.contains("s3"),
            "{shown}"
        );
        assert!(shown.contains("authorization"), "{shown}");
        let response = HttpResponse::new(200, br#"{"key":"sk-secret"}"#.to_vec());
        assert!(!format!("{response:?}").contains("sk-secret"));
    }
}
