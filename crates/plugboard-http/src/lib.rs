//! The host's network side of [`plugboard_core::HttpClient`]: a real client with bounded bodies,
//! no redirects, the system's CA certificates and the usual proxy variables (never for
//! loopback), plus what every provider needs around it: one safe retry and the loopback test
//! for "plain http is allowed here". A server's own text is made safe to show by the core's
//! [`plugboard_core::sanitize_line`], the one sanitiser every crate uses.
//!
//! Sign-in (the code exchange) and model calls both go through it, so timeouts, proxies and
//! error wording are decided once. It knows no provider.

mod base_url;
mod client;
mod error_map;
mod loopback;
mod proxy;
mod request_url;
mod retry;
mod service_words;
#[cfg(test)]
mod testing;

pub use base_url::{
    ALLOW_PLAIN_HTTP_CONFIG_KEY, BASE_URL_CONFIG_KEY, BaseUrlError, PlainHttp, ServiceLocation,
    join_path,
};
pub use client::{NetworkClient, NetworkClientError};
pub use loopback::{is_loopback, is_unencrypted};
pub use retry::send_with_retry;
pub use service_words::{MAX_SERVICE_WORDS, openai_error_message, service_words};
