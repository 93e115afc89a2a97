//! What the Anthropic double remembers: the keys it issued, under a mutex of their own that is
//! never held across an await, and beside them the requests it answered and the fault a test
//! has set, in a [`Journal`].

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand::Rng;

use crate::journal::Journal;

/// Prefix of every key the double issues, as Anthropic's API keys have.
pub const KEY_PREFIX: &str = "sk-ant-api03-";

/// A way for the Anthropic double to misbehave, set with
/// [`AnthropicDouble::set_fault`](super::AnthropicDouble::set_fault) or
/// [`AnthropicDouble::fail_next`](super::AnthropicDouble::fail_next). It applies to both
/// endpoints and is answered before any check of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnthropicFault {
    /// 401 `authentication_error` for any key, issued or not (as after the key was disabled).
    RejectEveryKey,
    /// 429 `rate_limit_error` with `retry-after` set to this many seconds.
    RateLimited {
        /// The `retry-after` header's value, in seconds.
        retry_after_secs: u64,
    },
    /// 529 `overloaded_error`.
    Overloaded,
    /// 500 `api_error`.
    ServerError,
    /// 200 with a `Content-Length` for the whole success body, of which only the first half
    /// is sent before the connection is dropped.
    CutBody,
    /// Wait this long, then answer normally.
    Slow(Duration),
}

/// One request the double answered. Neither bodies nor keys are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnthropicRecord {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path without the query, e.g. `/v1/messages`.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// The last four characters of the `x-api-key` sent, if one was.
    pub key_tail: Option<String>,
    /// The `anthropic-version` header sent, if any.
    pub anthropic_version: Option<String>,
    /// The `model` of a messages request, if its body named one.
    pub model: Option<String>,
}

/// The keys the double issued, and those it still accepts.
struct Keys {
    valid: HashSet<String>,
    issued: Vec<String>,
}

pub(super) struct Shared {
    keys: Mutex<Keys>,
    /// The requests answered and the fault set.
    pub(super) journal: Journal<AnthropicRecord, AnthropicFault>,
}

impl Shared {
    pub(super) fn new() -> Self {
        Self {
            keys: Mutex::new(Keys {
                valid: HashSet::new(),
                issued: Vec::new(),
            }),
            journal: Journal::new(),
        }
    }

    // A test that panicked while holding the lock must not make every later request panic
    // too; no update spans a panic point, so the keys stay consistent.
    fn lock(&self) -> MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn issue(&self) -> String {
        let key = format!("{KEY_PREFIX}{}", random_hex(40));
        let mut keys = self.lock();
        keys.issued.push(key.clone());
        keys.valid.insert(key.clone());
        key
    }

    pub(super) fn revoke(&self, key: &str) -> bool {
        self.lock().valid.remove(key)
    }

    pub(super) fn key_is_valid(&self, key: &str) -> bool {
        self.lock().valid.contains(key)
    }

    pub(super) fn issued(&self) -> Vec<String> {
        self.lock().issued.clone()
    }
}

/// `bytes` random bytes as lowercase hex.
pub(super) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
