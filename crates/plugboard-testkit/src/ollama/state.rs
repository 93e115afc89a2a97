//! What the Ollama double remembers: the requests it answered and the fault a test has set,
//! in a [`Journal`] of its own records and faults.

use crate::journal::Journal;

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

/// All the Ollama double remembers: its requests and its fault.
pub(super) type Shared = Journal<OllamaRecord, OllamaFault>;
