//! What the Anthropic double remembers: the keys it issued, the requests it answered and the
//! fault a test has set. One mutex guards it all; it is never held across an await.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand::Rng;

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

#[derive(Clone, Copy)]
pub(super) struct FaultSlot {
    pub(super) fault: AnthropicFault,
    pub(super) once: bool,
}

struct State {
    valid: HashSet<String>,
    issued: Vec<String>,
    requests: Vec<AnthropicRecord>,
    fault: Option<FaultSlot>,
}

pub(super) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                valid: HashSet::new(),
                issued: Vec::new(),
                requests: Vec::new(),
                fault: None,
            }),
        }
    }

    // A test that panicked while holding the lock must not make every later request panic
    // too; no update spans a panic point, so the state stays consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn issue(&self) -> String {
        let key = format!("{KEY_PREFIX}{}", random_hex(40));
        let mut state = self.lock();
        state.issued.push(key.clone());
        state.valid.insert(key.clone());
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

    pub(super) fn set_fault(&self, slot: Option<FaultSlot>) {
        self.lock().fault = slot;
    }

    pub(super) fn fault(&self) -> Option<AnthropicFault> {
        self.lock().fault.map(|slot| slot.fault)
    }

    /// The fault to apply to this request, clearing it if it fires only once.
    pub(super) fn take_fault(&self) -> Option<AnthropicFault> {
        let mut state = self.lock();
        let slot = state.fault?;
        if slot.once {
            state.fault = None;
        }
        Some(slot.fault)
    }

    pub(super) fn record(&self, record: AnthropicRecord) {
        self.lock().requests.push(record);
    }

    pub(super) fn requests(&self) -> Vec<AnthropicRecord> {
        self.lock().requests.clone()
    }
}

/// `bytes` random bytes as lowercase hex.
pub(super) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
