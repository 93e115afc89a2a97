//! The Ollama provider: an Ollama server of the user's own, found where `OLLAMA_HOST` says (as
//! Ollama reads it) or at `http://127.0.0.1:11434`; a sign-in that only checks the server
//! answers (`ollama-local`, kind `local`, storing no secret); model runs (`model.run`) through
//! `POST /api/chat`; and the pulled models (`model.list`) from `GET /api/tags`.
//!
//! The crate registers itself with the host at link time; the host binary names it in its
//! `extensions.rs` so the linker keeps the registration. Its contract fixtures are built only
//! with the `contract-fixtures` feature, which only dev-dependencies (its own, the tests
//! crate's) enable.

mod chat;
mod endpoints;
#[cfg(feature = "contract-fixtures")]
mod fixtures;
mod local;
mod ollama_host;
mod provider;
mod service_text;
mod tags;

pub use chat::ChatRunner;
pub use endpoints::{
    ALLOW_PLAIN_HTTP_CONFIG_KEY, BASE_URL_CONFIG_KEY, CHAT_PATH, DEFAULT_BASE_URL, TAGS_PATH,
    VERSION_PATH,
};
pub use local::{LOCAL_METHOD_ID, LocalMethod};
pub use ollama_host::{DEFAULT_PORT, base_url as ollama_host_url};
pub use provider::{HOST_ENV, OllamaProvider, PROVIDER_ID};
pub use tags::{ServerCheck, TagsLister};

use plugboard_core::{
    ContractFixture, ListFixture, ManifestSource, ModelFixture, ProviderRegistration, ServiceErrors,
};

/// The plugin manifest, embedded so the host needs no files at run time.
pub const MANIFEST: ManifestSource = ManifestSource {
    path: "manifests/ollama.json",
    json: include_str!("../../../manifests/ollama.json"),
};

plugboard_core::inventory::submit! {
    ProviderRegistration {
        manifest: MANIFEST,
        provider: || Box::new(OllamaProvider::new()),
        fixtures: CONTRACT_FIXTURES,
        model_fixtures: MODEL_FIXTURES,
        service_errors: SERVICE_ERRORS,
        // Nothing is issued, so nothing expires or needs a device code.
        refresh_fixtures: Vec::new,
        list_fixtures: LIST_FIXTURES,
        device_fixtures: Vec::new,
    }
}

// Fixtures are test code: only the `contract-fixtures` feature (enabled by dev-dependencies
// alone) builds them, so the shipped binary carries none of their answers or replies.
#[cfg(feature = "contract-fixtures")]
const CONTRACT_FIXTURES: fn() -> Vec<Box<dyn ContractFixture>> = fixtures::contract_fixtures;
#[cfg(not(feature = "contract-fixtures"))]
const CONTRACT_FIXTURES: fn() -> Vec<Box<dyn ContractFixture>> = Vec::new;
#[cfg(feature = "contract-fixtures")]
const MODEL_FIXTURES: fn() -> Vec<ModelFixture> = fixtures::model_fixtures;
#[cfg(not(feature = "contract-fixtures"))]
const MODEL_FIXTURES: fn() -> Vec<ModelFixture> = Vec::new;
#[cfg(feature = "contract-fixtures")]
const SERVICE_ERRORS: fn() -> Option<ServiceErrors> = fixtures::service_errors;
#[cfg(not(feature = "contract-fixtures"))]
const SERVICE_ERRORS: fn() -> Option<ServiceErrors> = || None;
#[cfg(feature = "contract-fixtures")]
const LIST_FIXTURES: fn() -> Vec<ListFixture> = fixtures::list_fixtures;
#[cfg(not(feature = "contract-fixtures"))]
const LIST_FIXTURES: fn() -> Vec<ListFixture> = Vec::new;
