//! An Anthropic double: a real HTTP server on loopback that answers the parts of Anthropic's
//! API plugboard uses (`POST /v1/messages`, `GET /v1/models`) the way Anthropic documents them:
//! `x-api-key` and `anthropic-version` checked, Message objects with text blocks, errors in
//! Anthropic's shape (`{"type":"error","error":{"type":...,"message":...}}`) with a
//! `request-id` header, and faults on demand.
//!
//! Self-contained apart from the crate's response-body helpers and journal type: it shares no
//! state, routes or faults with the OpenRouter double.

mod body;
mod double;
mod routes;
mod state;

pub use double::{AnthropicDouble, AnthropicServerPanicked};
pub use routes::{
    ANTHROPIC_VERSION, INVALID_KEY, MAX_MESSAGES_REQUEST_BYTES, MISSING_KEY, MODELS, REPLY_PREFIX,
};
pub use state::{AnthropicFault, AnthropicRecord, KEY_PREFIX as ANTHROPIC_KEY_PREFIX};
