//! Test-only doubles for plugboard: an [`OpenRouterDouble`] (a real HTTP server on loopback that
//! acts like OpenRouter for the parts plugboard uses, with [`Fault`]s on demand), a
//! [`CodexDouble`] (OpenAI's ChatGPT sign-in and Codex Responses endpoint, with refresh-token
//! rotation, reuse detection and [`CodexFault`]s), an [`AnthropicDouble`] (Anthropic's
//! Messages and Models endpoints, with [`AnthropicFault`]s), an [`OllamaDouble`] (a local
//! Ollama server's version, tags and chat endpoints, with [`OllamaFault`]s, that can be
//! stopped to look unreachable), a [`GitHubDouble`] (GitHub's device sign-in, the Copilot
//! token exchange and the Copilot API, with [`GitHubFault`]s), and a scripted browser
//! ([`approve`], [`deny`], [`redirect_for`]) that follows a consent page in place of a human.
//!
//! Nothing here depends on plugboard's own crates: each double checks plugboard from the
//! outside, against what its service does, not against what plugboard expects it to do.

mod anthropic;
mod body;
mod browser;
mod codex;
mod conn;
mod double;
mod example_plugins;
mod fault;
mod github;
mod html;
mod journal;
mod ollama;
mod routes;
mod server;
mod state;

pub use anthropic::{
    ANTHROPIC_KEY_PREFIX, ANTHROPIC_VERSION, AnthropicDouble, AnthropicFault, AnthropicRecord,
    AnthropicServerPanicked, INVALID_KEY as ANTHROPIC_INVALID_KEY,
    MAX_MESSAGES_REQUEST_BYTES as ANTHROPIC_MAX_REQUEST_BYTES,
    MISSING_KEY as ANTHROPIC_MISSING_KEY, MODELS as ANTHROPIC_MODELS,
    REPLY_PREFIX as ANTHROPIC_REPLY_PREFIX,
};
pub use body::OVERSIZED_BYTES;
pub use browser::{
    FollowError, FollowOutcome, approve, approve_async, approve_in_background, deny, deny_async,
    redirect_for, redirect_for_async,
};
pub use codex::{
    CODEX_CLIENT_ID, CODEX_CONSENT_TITLE, CODEX_DENY_DESCRIPTION, CODEX_REDIRECT_PORTS,
    CODEX_REPLY, CodexDouble, CodexDoubleBuilder, CodexEndpoint, CodexFault, CodexRequestRecord,
    CodexServerPanicked, DEFAULT_ACCESS_TOKEN_TTL, IssuedTokens, ParseCodexFaultError,
    RefreshErrorStyle,
};
pub use double::{DEFAULT_DENY_DESCRIPTION, DoubleBuilder, OpenRouterDouble, ServerPanicked};
pub use example_plugins::{example_python_plugin_dir, example_rust_plugin};
pub use fault::{Endpoint, Fault, ParseFaultError};
pub use github::{
    COPILOT_API_PATH, COPILOT_MODELS, COPILOT_REPLY, DEFAULT_COPILOT_TOKEN_TTL,
    DEFAULT_DEVICE_CODE_TTL, DEFAULT_DEVICE_INTERVAL, GITHUB_COPILOT_CLIENT_ID,
    GITHUB_TOKEN_PREFIX, GitHubDouble, GitHubDoubleBuilder, GitHubFault, GitHubRecord,
    GitHubServerPanicked, MISSING_EDITOR_VERSION as COPILOT_MISSING_EDITOR_VERSION,
    TOKEN_EXPIRED as COPILOT_TOKEN_EXPIRED, TOKEN_UNKNOWN as COPILOT_TOKEN_UNKNOWN,
};
pub use html::CONSENT_TITLE;
pub use ollama::{
    MAX_CHAT_REQUEST_BYTES as OLLAMA_MAX_REQUEST_BYTES, MODELS as OLLAMA_MODELS, OllamaDouble,
    OllamaFault, OllamaRecord, OllamaServerPanicked, REPLY_PREFIX as OLLAMA_REPLY_PREFIX,
    VERSION as OLLAMA_VERSION,
};
pub use routes::{
    MAX_REQUEST_BYTES, MODELS as OPENROUTER_MODELS, NO_CREDENTIALS, OpenRouterModel, UNKNOWN_KEY,
};
pub use state::RequestRecord;
