//! The OpenRouter provider: browser sign-in with OAuth PKCE (`openrouter-oauth`), whose code
//! exchange yields an ordinary API key, and an API key the user manages (`openrouter-api-key`);
//! with either, it runs models (`model.run`) through OpenRouter's chat completions, lists them
//! (`model.list`) through its Models API, and checks the key with its key endpoint.
//!
//! The crate registers itself with the host at link time; the host binary names it in its
//! `extensions.rs` so the linker keeps the registration. Its contract fixtures are built only
//! with the `contract-fixtures` feature, which only dev-dependencies (its own, the tests
//! crate's) enable.

mod chat;
mod endpoints;
mod exchange;
#[cfg(feature = "contract-fixtures")]
mod fixtures;
mod key_check;
mod models;
mod oauth;
mod provider;
mod refusal;
mod service_text;
#[cfg(test)]
mod test_support;

pub use chat::{APP_TITLE_CONFIG_KEY, APP_URL_CONFIG_KEY, ChatRunner};
pub use endpoints::{BASE_URL_CONFIG_KEY, DEFAULT_BASE_URL};
pub use key_check::KeyCheck;
pub use models::ModelsLister;
pub use oauth::{CALLBACK_PATH, DEFAULT_CALLBACK_PORT, OAUTH_METHOD_ID, OAuthMethod};
pub use provider::{
    API_KEY_ENV, BASE_URL_ENV, DEFAULT_MODEL, OpenRouterProvider, PROVIDER_ID, api_key_method,
};

use plugboard_core::{
    ContractFixture, ListFixture, ManifestSource, ModelFixture, ProviderRegistration, ServiceErrors,
};

/// The plugin manifest, embedded so the host needs no files at run time.
pub const MANIFEST: ManifestSource = ManifestSource {
    path: "manifests/openrouter.json",
    json: include_str!("../../../manifests/openrouter.json"),
};

plugboard_core::inventory::submit! {
    ProviderRegistration {
        manifest: MANIFEST,
        provider: || Box::new(OpenRouterProvider::new()),
        fixtures: CONTRACT_FIXTURES,
        model_fixtures: MODEL_FIXTURES,
        service_errors: SERVICE_ERRORS,
        refresh_fixtures: Vec::new,
        list_fixtures: LIST_FIXTURES,
        device_fixtures: Vec::new,
    }
}

// Fixtures are test code: only the `contract-fixtures` feature (enabled by dev-dependencies
// alone) builds them, so the shipped binary carries none of their keys, answers or replies
// (the service errors are the contract's fixtures too).
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
