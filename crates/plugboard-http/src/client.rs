//! The host's real [`HttpClient`]: bounded bodies, no redirects, the system's CA certificates,
//! and the usual proxy variables (never for loopback). It builds the request, sends it and reads
//! the answer; which proxy, which URLs and which error words are decided in their own modules.

use std::fmt;
use std::sync::OnceLock;

use plugboard_core::{HttpClient, HttpError, HttpRequest, HttpResponse, HttpSettings, async_trait};
use reqwest::header::{HeaderName, HeaderValue};
use thiserror::Error;
use url::Url;

use crate::error_map::{http_error, short_reason};
use crate::is_loopback;
use crate::proxy::Proxies;
use crate::request_url::{host_label, parse_url};

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
            .map_err(|error| http_error(error, host, &self.settings))?
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
            .map_err(|error| http_error(error, &host, &self.settings))?;
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

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
