//! The host's real [`HttpClient`]: bounded bodies, no redirects, the system's CA certificates,
//! the usual proxy variables (never for loopback), and errors that name only the host, plus the
//! one-retry helper. Text from a server is cleaned by the core's sanitiser.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use plugboard_core::{
    HttpClient, HttpError, HttpRequest, HttpResponse, HttpSettings, async_trait, sanitize_line,
};
use reqwest::header::{HeaderName, HeaderValue};
use thiserror::Error;
use url::{Host, Url};

/// Why a [`NetworkClient`] could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NetworkClientError {
    /// The configured `User-Agent` cannot be sent as a header value.
    #[error("the user agent {0:?} is not a valid header value")]
    InvalidUserAgent(String),
    /// A proxy variable is set to something that cannot be used as a proxy. Its value is not
    /// repeated: a proxy URL may carry a password.
    #[error(
        "{variable} is not a usable proxy ({reason}): fix or unset it, e.g. http://proxy.example:3128"
    )]
    InvalidProxy {
        /// The variable, as it was found (`HTTPS_PROXY`, `all_proxy`, ...).
        variable: String,
        /// What is wrong with it, in a few words.
        reason: String,
    },
    /// The HTTP library refused the configuration, most often because the system's CA
    /// certificates could not be loaded.
    #[error("cannot set up the http client: {reason}")]
    Build {
        /// Why, in a few words.
        reason: String,
    },
}

/// The proxy variables, in the order they are looked up: the upper-case spelling wins, as in
/// curl and reqwest.
const HTTP_PROXY_VARS: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
const HTTPS_PROXY_VARS: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
const ALL_PROXY_VARS: [&str; 2] = ["ALL_PROXY", "all_proxy"];
const NO_PROXY_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// `reqwest::Proxy::http`, `https` or `all`.
type MakeProxy = fn(&str) -> reqwest::Result<reqwest::Proxy>;

/// Where non-loopback requests go, read from the environment once, when the client is built.
struct Proxies {
    /// For `http://` URLs (`HTTP_PROXY`).
    http: Option<Url>,
    /// For `https://` URLs (`HTTPS_PROXY`).
    https: Option<Url>,
    /// For either, when the scheme's own variable is unset (`ALL_PROXY`).
    all: Option<Url>,
    /// Hosts that are never proxied (`NO_PROXY`).
    no_proxy: Option<String>,
}

impl Proxies {
    /// Reads and checks every proxy variable through `env`, so a typo fails now rather than on
    /// whichever later request would have used it.
    fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, NetworkClientError> {
        let first_set = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                env(name)
                    .map(|value| value.trim().to_owned())
                    .filter(|value| !value.is_empty())
                    .map(|value| (name, value))
            })
        };
        let proxy = |names| {
            first_set(names)
                .map(|(name, value)| parse_proxy(name, &value))
                .transpose()
        };
        // Under CGI, HTTP_PROXY can come from a client's `Proxy:` header ("httpoxy"), so the
        // http variables are not trusted there (reqwest's own reading ignored them too).
        let cgi = env("REQUEST_METHOD").is_some();
        Ok(Self {
            http: if cgi { None } else { proxy(HTTP_PROXY_VARS)? },
            https: proxy(HTTPS_PROXY_VARS)?,
            all: proxy(ALL_PROXY_VARS)?,
            no_proxy: first_set(NO_PROXY_VARS).map(|(_, value)| value),
        })
    }

    /// The reqwest proxies, most specific first: reqwest uses the first that matches.
    fn to_reqwest(&self) -> Result<Vec<reqwest::Proxy>, NetworkClientError> {
        let no_proxy = || {
            self.no_proxy
                .as_deref()
                .and_then(reqwest::NoProxy::from_string)
        };
        let kinds: [(&Option<Url>, MakeProxy); 3] = [
            (&self.http, |u| reqwest::Proxy::http(u)),
            (&self.https, |u| reqwest::Proxy::https(u)),
            (&self.all, |u| reqwest::Proxy::all(u)),
        ];
        let mut proxies = Vec::new();
        for (url, make) in kinds {
            if let Some(url) = url {
                // Checked by `parse_proxy` already; the error's text could hold the URL.
                let proxy = make(url.as_str()).map_err(|_| NetworkClientError::Build {
                    reason: "the HTTP library refused a proxy URL".to_owned(),
                })?;
                proxies.push(proxy.no_proxy(no_proxy()));
            }
        }
        Ok(proxies)
    }
}

/// A proxy variable's value as a URL, or why it cannot be one. Like curl, a value without a
/// scheme (`proxy.example:3128`) means http.
fn parse_proxy(variable: &str, value: &str) -> Result<Url, NetworkClientError> {
    let invalid = |reason: &str| NetworkClientError::InvalidProxy {
        variable: variable.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = if value.contains("://") {
        Url::parse(value)
    } else {
        Url::parse(&format!("http://{value}"))
    };
    let url = parsed.map_err(|error| invalid(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http:// and https:// proxies are supported"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it names no host"));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "a proxy is a scheme, host and port, without a path",
        ));
    }
    Ok(url)
}

/// The host's [`HttpClient`]: applies [`HttpSettings`], trusts the system's CA certificates,
/// never follows redirects, honours the proxy variables except for loopback addresses, and
/// reads at most a request's `max_response_bytes`.
///
/// The underlying clients are built on first use, so a run that makes no request never loads
/// certificates; the proxy variables are checked at once, so a broken one is reported even by
/// a run that would not have used it.
pub struct NetworkClient {
    settings: HttpSettings,
    user_agent: HeaderValue,
    proxies: Proxies,
    // Loopback traffic (the sign-in callback, local model servers) must never leave the machine
    // through a proxy, so it gets a client of its own with proxies switched off.
    direct: OnceLock<Result<reqwest::Client, NetworkClientError>>,
    proxied: OnceLock<Result<reqwest::Client, NetworkClientError>>,
}

impl fmt::Debug for NetworkClient {
    // A proxy URL may carry a password, so only the settings are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl NetworkClient {
    /// A client with `settings`, taking proxies from the process environment.
    ///
    /// # Errors
    ///
    /// [`NetworkClientError::InvalidUserAgent`] when the user agent cannot be a header value;
    /// [`NetworkClientError::InvalidProxy`] when `HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY` (or
    /// their lower-case spellings) is set to something that is not an http(s) proxy URL.
    pub fn new(settings: &HttpSettings) -> Result<Self, NetworkClientError> {
        Self::with_env(settings, |name| std::env::var(name).ok())
    }

    /// A client with `settings`, reading the proxy variables through `env` instead of the
    /// process environment (`env("HTTPS_PROXY")` is that variable's value, if set).
    ///
    /// # Errors
    ///
    /// As [`NetworkClient::new`].
    pub fn with_env(
        settings: &HttpSettings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, NetworkClientError> {
        let user_agent = HeaderValue::from_str(&settings.user_agent)
            .map_err(|_| NetworkClientError::InvalidUserAgent(settings.user_agent.clone()))?;
        let proxies = Proxies::from_env(&env)?;
        Ok(Self {
            settings: settings.clone(),
            user_agent,
            proxies,
            direct: OnceLock::new(),
            proxied: OnceLock::new(),
        })
    }

    fn client_for(&self, url: &Url) -> Result<&reqwest::Client, HttpError> {
        let direct = is_loopback(url);
        let slot = if direct { &self.direct } else { &self.proxied };
        slot.get_or_init(|| self.build(direct))
            .as_ref()
            .map_err(|error| HttpError::Unavailable(error.to_string()))
    }

    fn build(&self, direct: bool) -> Result<reqwest::Client, NetworkClientError> {
        install_crypto_provider();
        let builder = reqwest::Client::builder()
            .connect_timeout(self.settings.connect_timeout)
            .timeout(self.settings.request_timeout)
            .user_agent(self.user_agent.clone())
            // A code exchange must never be re-posted to wherever a server points.
            .redirect(reqwest::redirect::Policy::none());
        // Proxies are always given explicitly: left alone, reqwest would read the variables
        // itself, and silently skip one it cannot parse.
        let mut builder = builder.no_proxy();
        if !direct {
            for proxy in self.proxies.to_reqwest()? {
                builder = builder.proxy(proxy);
            }
        }
        builder.build().map_err(|error| NetworkClientError::Build {
            reason: short_reason(&error),
        })
    }

    fn map_error(&self, error: reqwest::Error, host: &str) -> HttpError {
        // Its message would otherwise end with the whole URL, query and all.
        let error = error.without_url();
        let host = host.to_owned();
        if error.is_timeout() {
            let limit = if error.is_connect() {
                self.settings.connect_timeout
            } else {
                self.settings.request_timeout
            };
            return HttpError::Timeout {
                host,
                seconds: whole_seconds(limit),
            };
        }
        let reason = short_reason(&error);
        if error.is_connect() {
            HttpError::Connect { host, reason }
        } else {
            HttpError::Transport { host, reason }
        }
    }

    async fn read_bounded(
        &self,
        mut response: reqwest::Response,
        host: &str,
        limit: usize,
    ) -> Result<Vec<u8>, HttpError> {
        let too_large = || HttpError::TooLarge {
            host: host.to_owned(),
            limit,
        };
        let announced = response.content_length();
        if announced.is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        let capacity = announced.map_or(0, |length| usize::try_from(length).unwrap_or(limit));
        let mut body = Vec::with_capacity(capacity.min(limit));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.map_error(error, host))?
        {
            if chunk.len() > limit - body.len() {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[async_trait]
impl HttpClient for NetworkClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = parse_url(&request.url)?;
        let host = host_label(&url);
        let client = self.client_for(&url)?;
        let method =
            reqwest::Method::from_bytes(request.method.as_str().as_bytes()).map_err(|_| {
                HttpError::Transport {
                    host: host.clone(),
                    reason: format!("unsupported method {}", request.method.as_str()),
                }
            })?;
        let mut builder = client.request(method, url);
        for (name, value) in &request.headers {
            // The value may be a key, so only the name may appear in the error.
            let bad_header = || HttpError::Transport {
                host: host.clone(),
                reason: format!("the request header {name:?} is not valid"),
            };
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad_header())?;
            let mut value = HeaderValue::from_str(value).map_err(|_| bad_header())?;
            value.set_sensitive(true);
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder
            .send()
            .await
            .map_err(|error| self.map_error(error, &host))?;
        let status = response.status().as_u16();
        let body = self
            .read_bounded(response, &host, request.max_response_bytes)
            .await?;
        Ok(HttpResponse::new(status, body))
    }
}

/// Installs ring as the process's TLS crypto provider unless one is already there.
///
/// reqwest 0.13 built without its own provider takes the process default; its only other way in
/// is a whole preconfigured `rustls::ClientConfig`, which would mean re-doing its verifier and
/// ALPN setup by hand.
fn install_crypto_provider() {
    // An error only means some provider is installed already, which reqwest then uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Parses `raw` as an absolute http(s) URL with a host.
fn parse_url(raw: &str) -> Result<Url, HttpError> {
    let invalid = |reason: &str| HttpError::InvalidUrl {
        url: redact_url(raw),
        reason: reason.to_owned(),
    };
    let url = Url::parse(raw).map_err(|error| invalid(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http and https URLs can be requested"));
    }
    if url.host().is_none() {
        return Err(invalid("the URL has no host"));
    }
    Ok(url)
}

/// `raw` without its path, query, fragment or credentials, for error messages: those parts can
/// carry authorization codes and keys.
fn redact_url(raw: &str) -> String {
    let cut = raw.find(['?', '#']).unwrap_or(raw.len());
    let shown = &raw[..cut];
    if let Some(scheme_end) = shown.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = shown[authority_start..]
            .find('/')
            .map_or(shown.len(), |i| authority_start + i);
        let authority = &shown[authority_start..authority_end];
        let host_start = authority.rfind('@').map_or(0, |i| i + 1);
        return format!(
            "{}{}",
            &shown[..authority_start],
            sanitize_line(&authority[host_start..], 100)
        );
    }
    sanitize_line(shown, 100)
}

/// The host (and port, when not the scheme's default) that errors may name.
fn host_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Whether `url` points at this machine without asking anyone: an address in `127.0.0.0/8`,
/// `::1`, or exactly the name `localhost`. Such traffic is never proxied, and may use plain
/// http.
///
/// Nothing else counts. `localhost.` (with the root dot) is looked up in DNS rather than the
/// hosts file on many systems, and an IPv4-mapped address (`::ffff:127.0.0.1`) depends on how
/// the system routes it, so both are treated like any other host.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        // Names are case-insensitive; http(s) URLs arrive lower-cased, others may not.
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `limit` in whole seconds, rounded up so a sub-second limit never reads as "0 s".
fn whole_seconds(limit: Duration) -> u64 {
    limit.as_secs() + u64::from(limit.subsec_nanos() > 0)
}

/// A few words on why `error` happened, from the innermost cause: the outer layers' messages
/// name the full URL, which may carry a code or key.
fn short_reason(error: &(dyn StdError + 'static)) -> String {
    let mut innermost = error;
    let mut source = error.source();
    if let Some(words) = tls_words(error) {
        return words;
    }
    while let Some(cause) = source {
        if let Some(words) = tls_words(cause) {
            return words;
        }
        if let Some(io_error) = cause.downcast_ref::<io::Error>()
            && let Some(phrase) = io_phrase(io_error.kind())
        {
            return phrase.to_owned();
        }
        innermost = cause;
        source = cause.source();
    }
    let text = innermost.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    lowercase_first(&sanitize_line(text, 120))
}

/// Words for a TLS failure, when `error` is one (directly, or inside I/O errors, which is how
/// the connection layers pass it up). rustls shows most of its errors as Rust debug text
/// (`invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))`), which tells a user
/// nothing.
fn tls_words(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut error = error;
    // I/O errors can nest (hyper wraps the TLS layer's one), and their `source()` skips the
    // error they wrap, so they are unwrapped by hand.
    let tls = loop {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            break tls;
        }
        let inner = error
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)?;
        error = inner;
    };
    Some(match tls {
        rustls::Error::InvalidCertificate(certificate) => {
            format!(
                "the server's certificate {}",
                certificate_words(certificate)
            )
        }
        rustls::Error::NoCertificatesPresented => "the server presented no certificate".to_owned(),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not answer in TLS (is it plain http?)".to_owned()
        }
        rustls::Error::PeerIncompatible(_) => {
            "the server offers no TLS version or cipher that plugboard accepts".to_owned()
        }
        rustls::Error::AlertReceived(_) => "the server refused the TLS handshake".to_owned(),
        _ => return None,
    })
}

/// What is wrong with the server's certificate, completing "the server's certificate ...".
fn certificate_words(error: &rustls::CertificateError) -> &'static str {
    use rustls::CertificateError as E;
    match error {
        E::UnknownIssuer => "is not signed by an authority this system trusts",
        E::NotValidForName | E::NotValidForNameContext { .. } => "is for another host name",
        E::Expired | E::ExpiredContext { .. } => "has expired",
        E::NotValidYet | E::NotValidYetContext { .. } => {
            "is not valid yet (is this machine's clock right?)"
        }
        E::Revoked => "has been revoked",
        E::BadEncoding => "is malformed",
        E::BadSignature => "has a bad signature",
        E::UnsupportedSignatureAlgorithmContext { .. }
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "uses a signature algorithm plugboard does not accept"
        }
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => "is not meant for a TLS server",
        E::UnhandledCriticalExtension => "has a critical extension plugboard does not know",
        E::UnknownRevocationStatus
        | E::ExpiredRevocationList
        | E::ExpiredRevocationListContext { .. }
        | E::InvalidOcspResponse => "cannot be checked for revocation",
        E::Other(other) => webpki_words(&format!("{:?}", other.0)),
        _ => "is not valid",
    }
}

/// Words for the verifier's own errors, which rustls passes on only as an opaque `Other`: they
/// are told apart by the name their debug text starts with.
fn webpki_words(debug: &str) -> &'static str {
    let name_end = debug
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(debug.len());
    match &debug[..name_end] {
        "CaUsedAsEndEntity" => "is a certificate authority's, not a server's",
        "EndEntityUsedAsCa" => "chain uses a server's certificate as an authority",
        "CertDistrusted" => "is from an authority that is no longer trusted",
        "RequiredEkuNotFound" | "RequiredEkuNotFoundContext" => "is not meant for a TLS server",
        "NameConstraintViolation" => "breaks its authority's name constraints",
        "PathLenConstraintViolated" | "MaximumPathDepthExceeded" => "chain is too long",
        "InvalidCertValidity" => "has an invalid validity period",
        "UnsupportedCertVersion" => "has a version plugboard does not accept",
        "BadDer" | "BadDerTime" | "MalformedExtensions" | "TrailingData" => "is malformed",
        _ => "is not valid",
    }
}

fn io_phrase(kind: io::ErrorKind) -> Option<&'static str> {
    Some(match kind {
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::ConnectionReset => "connection reset",
        io::ErrorKind::ConnectionAborted => "connection aborted",
        io::ErrorKind::UnexpectedEof => "connection closed early",
        io::ErrorKind::BrokenPipe => "connection closed",
        io::ErrorKind::TimedOut => "timed out",
        io::ErrorKind::HostUnreachable => "host unreachable",
        io::ErrorKind::NetworkUnreachable => "network unreachable",
        io::ErrorKind::AddrNotAvailable => "address not available",
        _ => return None,
    })
}

/// Lowercases the first letter unless it starts an acronym ("TLS", "DNS").
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), second) if !second.is_some_and(char::is_uppercase) => first
            .to_lowercase()
            .chain(text[first.len_utf8()..].chars())
            .collect(),
        _ => text.to_owned(),
    }
}

// Long enough for a load balancer to swap a backend or a restarting service to come back,
// short enough that a person at the prompt hardly notices.
const RETRY_DELAY: Duration = Duration::from_millis(200);

/// Sends `request`, and once more after a short pause when no connection could be made or the
/// answer was 502, 503 or 504.
///
/// Nothing else is retried: a 4xx or 500 will not change, and a timed-out request may already
/// have been processed (a code exchange is single-use).
///
/// # Errors
///
/// The last attempt's [`HttpError`].
pub async fn send_with_retry(
    client: &dyn HttpClient,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let first = client.send(request.clone()).await;
    let worth_another = match &first {
        Ok(response) => matches!(response.status, 502..=504),
        Err(error) => error.is_connect(),
    };
    if !worth_another {
        return first;
    }
    tokio::time::sleep(RETRY_DELAY).await;
    client.send(request).await
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use plugboard_core::ScriptedHttp;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    use super::*;

    fn connect_error() -> HttpError {
        HttpError::Connect {
            host: "auth.test".to_owned(),
            reason: "connection refused".to_owned(),
        }
    }

    fn timeout_error() -> HttpError {
        HttpError::Timeout {
            host: "auth.test".to_owned(),
            seconds: 30,
        }
    }

    fn reply(status: u16) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, format!("{status}")))
    }

    #[tokio::test(start_paused = true)]
    async fn retries_once_only_when_no_connection_or_a_gateway_error() {
        struct Case {
            name: &'static str,
            replies: Vec<Result<HttpResponse, HttpError>>,
            sent: usize,
            outcome: Result<u16, HttpError>,
        }
        let cases = [
            Case {
                name: "503 then 200",
                replies: vec![reply(503), reply(200)],
                sent: 2,
                outcome: Ok(200),
            },
            Case {
                name: "502 then 200",
                replies: vec![reply(502), reply(200)],
                sent: 2,
                outcome: Ok(200),
            },
            Case {
                name: "504 then 200",
                replies: vec![reply(504), reply(200)],
                sent: 2,
                outcome: Ok(200),
            },
            Case {
                name: "connect error then 200",
                replies: vec![Err(connect_error()), reply(200)],
                sent: 2,
                outcome: Ok(200),
            },
            Case {
                name: "503 twice",
                replies: vec![reply(503), reply(503), reply(200)],
                sent: 2,
                outcome: Ok(503),
            },
            Case {
                name: "connect error twice",
                replies: vec![Err(connect_error()), Err(connect_error()), reply(200)],
                sent: 2,
                outcome: Err(connect_error()),
            },
            Case {
                name: "200",
                replies: vec![reply(200), reply(200)],
                sent: 1,
                outcome: Ok(200),
            },
            Case {
                name: "400",
                replies: vec![reply(400), reply(200)],
                sent: 1,
                outcome: Ok(400),
            },
            Case {
                name: "401",
                replies: vec![reply(401), reply(200)],
                sent: 1,
                outcome: Ok(401),
            },
            Case {
                name: "500",
                replies: vec![reply(500), reply(200)],
                sent: 1,
                outcome: Ok(500),
            },
            Case {
                name: "timeout",
                replies: vec![Err(timeout_error()), reply(200)],
                sent: 1,
                outcome: Err(timeout_error()),
            },
        ];
        for case in cases {
            let http = ScriptedHttp::new(case.replies);
            let request = HttpRequest::get("https://auth.test/token");
            let started = tokio::time::Instant::now();
            let outcome = send_with_retry(&http, request.clone())
                .await
                .map(|response| response.status);
            let waited = started.elapsed();
            assert_eq!(outcome, case.outcome, "{}", case.name);
            let sent = http.requests();
            assert_eq!(sent.len(), case.sent, "{}", case.name);
            assert!(sent.iter().all(|r| *r == request), "{}", case.name);
            let expected_wait = if case.sent == 2 {
                RETRY_DELAY
            } else {
                Duration::ZERO
            };
            assert_eq!(waited, expected_wait, "{}", case.name);
        }
    }

    #[test]
    fn is_loopback_matches_only_127_8_and_ipv6_1_and_the_exact_name_localhost() {
        let cases = [
            ("http://localhost:8080/callback", true),
            ("http://LocalHost/", true),
            ("https://localhost/", true),
            ("http://127.0.0.1:1455/", true),
            ("http://127.8.9.10/", true),
            ("http://127.255.255.255/", true),
            ("http://[::1]:99/", true),
            ("http://[0:0:0:0:0:0:0:1]/", true),
            // Resolved through DNS on many systems, not the hosts file.
            ("http://localhost./", false),
            ("http://localhost.:8080/api/v1", false),
            ("http://LOCALHOST./", false),
            // Routed however the system maps IPv4 into IPv6.
            ("http://[::ffff:127.0.0.1]/", false),
            ("http://[::ffff:7f00:1]/", false),
            ("https://auth.example.com/token", false),
            ("http://localhost.example.com/", false),
            ("http://mylocalhost/", false),
            ("http://localhost.localdomain/", false),
            ("http://sub.localhost/", false),
            ("http://10.0.0.1/", false),
            ("http://126.255.255.255/", false),
            ("http://128.0.0.1/", false),
            ("http://[::2]/", false),
            ("http://[::]/", false),
            ("http://0.0.0.0/", false),
        ];
        for (raw, expected) in cases {
            let url = Url::parse(raw).unwrap();
            assert_eq!(is_loopback(&url), expected, "{raw}");
        }
    }

    /// An environment holding only `vars`.
    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_malformed_proxy_variable_fails_the_build_without_showing_its_value() {
        let cases = [
            (
                "HTTPS_PROXY",
                "http://user:hunter2@[bad",
                "invalid IPv6 address",
            ),
            (
                "HTTP_PROXY",
                "http://user:hunter2@proxy:99999",
                "invalid port number",
            ),
            ("ALL_PROXY", "http://", "empty host"),
            (
                "https_proxy",
                "ftp://user:hunter2@proxy:21",
                "only http:// and https://",
            ),
            (
                "all_proxy",
                "socks5://user:hunter2@proxy:1080",
                "only http:// and https://",
            ),
            (
                "http_proxy",
                "http://user:hunter2@proxy:3128/path",
                "without a path",
            ),
            (
                "HTTPS_PROXY",
                "http://proxy:3128/?user=hunter2",
                "without a path",
            ),
            ("ALL_PROXY", "hunter2 proxy", "invalid"),
        ];
        for (variable, value, reason) in cases {
            let error =
                NetworkClient::with_env(&HttpSettings::default(), env_of(&[(variable, value)]))
                    .unwrap_err();
            let NetworkClientError::InvalidProxy {
                variable: named, ..
            } = &error
            else {
                panic!("{variable}={value}: {error:?}");
            };
            assert_eq!(named, variable);
            let message = error.to_string();
            assert!(message.contains(reason), "{variable}={value}: {message}");
            assert!(message.starts_with(variable), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn usable_or_empty_proxy_variables_build_and_the_upper_case_spelling_wins() {
        let cases: [&[(&str, &str)]; 7] = [
            &[],
            &[("HTTPS_PROXY", "http://user:pw@proxy.example:3128")],
            &[("HTTP_PROXY", "proxy.example:3128")],
            &[("ALL_PROXY", "https://[::1]:8443/")],
            &[("https_proxy", "  "), ("ALL_PROXY", "")],
            &[
                ("NO_PROXY", "*.internal, 10.0.0.0/8"),
                ("HTTPS_PROXY", "http://p:1"),
            ],
            // The lower-case one is never read when the upper-case one is set.
            &[
                ("HTTPS_PROXY", "http://p:1"),
                ("https_proxy", "http://[bad"),
            ],
        ];
        for vars in cases {
            let built = NetworkClient::with_env(&HttpSettings::default(), env_of(vars));
            assert!(built.is_ok(), "{vars:?}: {:?}", built.err());
        }
    }

    #[test]
    fn under_cgi_http_proxy_is_ignored_rather_than_trusted() {
        let env = env_of(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://[bad")]);
        let client = NetworkClient::with_env(&HttpSettings::default(), env).unwrap();
        assert!(client.proxies.http.is_none());
    }

    /// A stand-in for the verifier's own error type, which shows itself as its debug text.
    #[derive(Debug)]
    enum VerifierError {
        CaUsedAsEndEntity,
        RequiredEkuNotFoundContext { _wanted: u8 },
        SomethingNew,
    }

    impl fmt::Display for VerifierError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{self:?}")
        }
    }

    impl StdError for VerifierError {}

    #[test]
    fn tls_failures_read_as_words_not_debug_text() {
        use rustls::CertificateError as C;
        use rustls::OtherError;
        use std::sync::Arc;
        let other = |e: VerifierError| C::Other(OtherError(Arc::new(e)));
        let cert = |e: C| rustls::Error::InvalidCertificate(e);
        let cases = [
            (
                cert(other(VerifierError::CaUsedAsEndEntity)),
                "the server's certificate is a certificate authority's, not a server's",
            ),
            (
                cert(other(VerifierError::RequiredEkuNotFoundContext {
                    _wanted: 1,
                })),
                "the server's certificate is not meant for a TLS server",
            ),
            (
                cert(other(VerifierError::SomethingNew)),
                "the server's certificate is not valid",
            ),
            (
                cert(C::UnknownIssuer),
                "the server's certificate is not signed by an authority this system trusts",
            ),
            (
                cert(C::NotValidForName),
                "the server's certificate is for another host name",
            ),
            (cert(C::Expired), "the server's certificate has expired"),
            (
                cert(C::NotValidYet),
                "the server's certificate is not valid yet (is this machine's clock right?)",
            ),
            (
                cert(C::Revoked),
                "the server's certificate has been revoked",
            ),
            (
                cert(C::BadEncoding),
                "the server's certificate is malformed",
            ),
            (
                rustls::Error::NoCertificatesPresented,
                "the server presented no certificate",
            ),
            (
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                "the server did not answer in TLS (is it plain http?)",
            ),
            (
                rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
                "the server refused the TLS handshake",
            ),
        ];
        for (tls, words) in cases {
            let shown = tls.to_string();
            // As the connection layers pass it up: inside nested I/O errors inside another error.
            let wrapped = Wrapper(io::Error::other(io::Error::new(
                io::ErrorKind::InvalidData,
                tls,
            )));
            let reason = short_reason(&wrapped);
            assert_eq!(reason, words, "{shown}");
            for debug_text in [
                "Other(",
                "OtherError",
                "CaUsedAsEndEntity",
                "InvalidContentType",
            ] {
                assert!(!reason.contains(debug_text), "{reason}");
            }
        }
    }

    /// An outer error whose cause is an I/O error, like reqwest's and hyper's.
    #[derive(Debug)]
    struct Wrapper(io::Error);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("error sending request for url (https://x.test/?code=secret)")
        }
    }

    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[tokio::test]
    async fn urls_that_are_not_absolute_http_are_refused_without_their_path() {
        let client = NetworkClient::new(&HttpSettings::default()).unwrap();
        let cases = [
            ("/token?code=abc", "/token"),
            ("ftp://files.test/x?code=abc", "ftp://files.test"),
            ("file:///etc/passwd", "file://"),
            ("https://user:pw@/x?code=abc", "https://"),
            ("not a url", "not a url"),
        ];
        for (raw, shown) in cases {
            let error = client.send(HttpRequest::get(raw)).await.unwrap_err();
            let HttpError::InvalidUrl { url, .. } = &error else {
                panic!("{raw}: {error:?}");
            };
            assert_eq!(url, shown, "{raw}");
            assert!(!error.to_string().contains("abc"), "{error}");
        }
    }

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

    #[test]
    fn a_timeout_is_reported_in_whole_seconds_rounded_up() {
        let cases = [(0, 0), (200, 1), (1000, 1), (1001, 2), (30_000, 30)];
        for (millis, seconds) in cases {
            assert_eq!(
                whole_seconds(Duration::from_millis(millis)),
                seconds,
                "{millis}"
            );
        }
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
            let request =
                HttpRequest::get(format!("http://{addr}/big")).with_max_response_bytes(limit);
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
}
