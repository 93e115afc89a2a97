//! The Anthropic provider: an API key the user manages (`anthropic-api-key`), model runs
//! (`model.run`) through Anthropic's Messages API (`POST /v1/messages`), and the models the key
//! may use (`model.list`) and a check of the key, both through its Models API
//! (`GET /v1/models`).
//!
//! The crate registers itself with the host at link time; the host binary names it in its
//! `extensions.rs` so the linker keeps the registration. Its contract fixtures are built only
//! with the `contract-fixtures` feature, which only dev-dependencies (its own, the tests
//! crate's) enable.

mod endpoints;
#[cfg(feature = "contract-fixtures")]
mod fixtures;
mod messages;
mod models;
mod provider;
mod refusal;
mod service_text;
#[cfg(test)]
mod test_support;

pub use endpoints::{BASE_URL_CONFIG_KEY, DEFAULT_BASE_URL, MESSAGES_PATH, MODELS_PATH};
pub use messages::{ANTHROPIC_VERSION, MAX_TOKENS, MessagesRunner};
pub use models::{ModelsCheck, ModelsLister};
pub use provider::{
    API_KEY_ENV, AnthropicProvider, BASE_URL_ENV, DEFAULT_MODEL, PROVIDER_ID, api_key_method,
};

use plugboard_core::{
    ContractFixture, ListFixture, ManifestSource, ModelFixture, ProviderRegistration, ServiceErrors,
};

/// The plugin manifest, embedded so the host needs no files at run time.
pub const MANIFEST: ManifestSource = ManifestSource {
    path: "manifests/anthropic.json",
    json: include_str!("../../../manifests/anthropic.json"),
};

plugboard_core::inventory::submit! {
    ProviderRegistration {
        manifest: MANIFEST,
        provider: || Box::new(AnthropicProvider::new()),
        fixtures: CONTRACT_FIXTURES,
        model_fixtures: MODEL_FIXTURES,
        service_errors: SERVICE_ERRORS,
        // API keys do not expire, so there is nothing to refresh.
        refresh_fixtures: Vec::new,
        list_fixtures: LIST_FIXTURES,
        device_fixtures: Vec::new,
    }
}

// Fixtures are test code: only the `contract-fixtures` feature (enabled by dev-dependencies
// alone) builds them, so the shipped binary carries none of their keys, answers or replies.
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
