//! An Ollama double: a real HTTP server on loopback that answers the parts of Ollama's API
//! plugboard uses (`GET /api/version`, `GET /api/tags`, `POST /api/chat` without streaming)
//! the way Ollama's API reference documents them: no credentials, errors as
//! `{"error":"..."}`, an unknown model answered 404 `model '<name>' not found`, and faults on
//! demand. Stopping it ([`OllamaDouble::shutdown`]) leaves its port refusing connections, as a
//! machine where `ollama serve` is not running does.
//!
//! Self-contained apart from the crate's shared server, response bodies and journal type: it
//! shares no state, routes or faults with the other doubles.

mod double;
mod routes;
mod state;

pub use double::{OllamaDouble, OllamaServerPanicked};
pub use routes::{MAX_CHAT_REQUEST_BYTES, MODELS, REPLY_PREFIX, VERSION};
pub use state::{OllamaFault, OllamaRecord};
