//! How commands reach a provider's service: one place sets the HTTP settings and builds the
//! client, so sign-in and model calls share timeouts, proxies and certificates.

use std::sync::Arc;
use std::time::Duration;

use plugboard_core::{HttpClient, HttpSettings};
use plugboard_http::NetworkClient;

use crate::echo;
use crate::error::usage;

/// Overrides the HTTP request timeout (seconds), for slow links and for tests of a slow service.
const HTTP_TIMEOUT_ENV: &str = "PLUGBOARD_HTTP_TIMEOUT";

/// The settings for a command whose requests may take up to `default_timeout`, unless
/// `PLUGBOARD_HTTP_TIMEOUT` says otherwise.
pub(crate) fn http_settings(default_timeout: Duration) -> anyhow::Result<HttpSettings> {
    let mut settings = HttpSettings::default();
    settings.request_timeout = match http_timeout_env()? {
        Some(seconds) => Duration::from_secs(seconds),
        None => default_timeout,
    };
    Ok(settings)
}

/// The real client for `settings`. Building it is cheap: the TLS setup waits for the first
/// request.
pub(crate) fn client(settings: &HttpSettings) -> anyhow::Result<Arc<dyn HttpClient>> {
    Ok(Arc::new(NetworkClient::new(settings)?))
}

fn http_timeout_env() -> anyhow::Result<Option<u64>> {
    let Some(raw) = std::env::var_os(HTTP_TIMEOUT_ENV) else {
        return Ok(None);
    };
    match raw.to_str().map(str::trim).map(str::parse::<u64>) {
        Some(Ok(seconds)) if (1..=3600).contains(&seconds) => Ok(Some(seconds)),
        _ => usage(format!(
            "{HTTP_TIMEOUT_ENV} must be a whole number of seconds from 1 to 3600, not {}",
            echo::quoted(&raw.to_string_lossy())
        )),
    }
}
