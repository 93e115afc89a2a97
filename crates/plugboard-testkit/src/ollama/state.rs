//! What the Ollama double remembers: the requests it answered and the fault a test has set.
//! One mutex guards it all; it is never held across an await.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A way for the Ollama double to misbehave, set with
/// [`OllamaDouble::set_fault`](super::OllamaDouble::set_fault) or
/// [`OllamaDouble::fail_next`](super::OllamaDouble::fail_next). It applies to the three API
/// endpoints (`/api/version`, `/api/tags`, `/api/chat`); `GET /` always answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OllamaFault {
    /// `/api/chat` answers 404 `{"error":"model '<model>' not found"}` for any model, as when
    /// the model was removed (`ollama rm`); it applies once the body has been checked, so the
    /// name is the one sent. The other endpoints answer normally.
    ModelNotFound,
    /// 500 `{"error":"..."}`, as when a model fails to load.
    ServerError,
    /// 200 with a body that is not JSON.
    BadJson,
    /// 401 `{"error":"unauthorized"}`, as a reverse proxy that wants credentials answers.
    Unauthorized,
}

/// One request the double answered. Bodies are never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaRecord {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path without the query, e.g. `/api/chat`.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// The `model` of a chat request, if its body named one.
    pub model: Option<String>,
    /// The `stream` of a chat request, if its body had it as a boolean.
    pub stream: Option<bool>,
    /// Whether the request carried an `Authorization` header (Ollama needs none).
    pub authorization: bool,
}

#[derive(Clone, Copy)]
pub(super) struct FaultSlot {
    pub(super) fault: OllamaFault,
    pub(super) once: bool,
}

struct State {
    requests: Vec<OllamaRecord>,
    fault: Option<FaultSlot>,
}

pub(super) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(State {
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

    pub(super) fn set_fault(&self, slot: Option<FaultSlot>) {
        self.lock().fault = slot;
    }

    pub(super) fn fault(&self) -> Option<OllamaFault> {
        self.lock().fault.map(|slot| slot.fault)
    }

    /// The fault to apply to this request, clearing it if it fires only once. `applies` says
    /// whether the fault set is one this request is subject to; one that is not stays set.
    pub(super) fn take_fault(&self, applies: impl Fn(OllamaFault) -> bool) -> Option<OllamaFault> {
        let mut state = self.lock();
        let slot = state.fault.filter(|slot| applies(slot.fault))?;
        if slot.once {
            state.fault = None;
        }
        Some(slot.fault)
    }

    pub(super) fn record(&self, record: OllamaRecord) {
        self.lock().requests.push(record);
    }

    pub(super) fn requests(&self) -> Vec<OllamaRecord> {
        self.lock().requests.clone()
    }
}
