//! Manifest-only providers: an installed plugin whose `plugin.json` says
//! `"runtime": {"kind": "openai-compatible", "base_url": ..., "api_key_env": ...}` is served by
//! the host itself, with no plugin code. Its one provider signs in with the host's API-key
//! method (or, without `api_key_env`, the `local` method that checks the service answers and
//! stores no secret), runs models through `POST <base_url>/chat/completions`, lists them
//! through `GET <base_url>/models` and checks a key with that same list, all as OpenAI's API
//! reference documents them.
//!
//! Invariants this crate keeps:
//! - Building a provider reads and sends nothing: [`providers`] only checks the manifest's
//!   runtime, so loading a hundred installed plugins costs no process, file or request.
//! - Requests follow the rules every built-in provider follows: the base-URL rule of
//!   `plugboard-http` (`<PROVIDER>_BASE_URL` replaces `base_url` whole, then config
//!   `providers.<id>.base_url`; plain http only to loopback unless
//!   `providers.<id>.allow_plain_http` is `true`), bounded bodies, one safe retry, and the
//!   service's own words shown only scrubbed of the key and sanitised.
//! - The key is sent only as a Bearer header, to the service the settings name, and only
//!   when there is one.

mod chat;
mod local;
mod models;
mod provider;
mod refusal;
mod service;
#[cfg(test)]
mod test_support;

pub use local::LOCAL_METHOD_ID;
pub use provider::{API_KEY_METHOD_ID, CompatProvider, DOCS_PATH, providers};
