//! The host's network side of [`plugboard_core::HttpClient`]: a real client with bounded bodies,
//! no redirects, the system's CA certificates and the usual proxy variables (never for
//! loopback), plus what every provider needs around it: one safe retry, a sanitiser for a
//! server's own error text, and the loopback test for "plain http is allowed here".
//!
//! Sign-in (the code exchange) and model calls both go through it, so timeouts, proxies and
//! error wording are decided once. It knows no provider.

mod client;

pub use client::{NetworkClient, NetworkClientError, is_loopback, sanitize_line, send_with_retry};
