//! The GitHub Copilot provider: sign in to GitHub with a device code (`github-copilot-device`,
//! the flow GitHub's Copilot editor integrations use), keep the GitHub token, and derive from
//! it at use the short-lived Copilot token the Copilot API takes, cached in the same profile
//! and renewed by [`SessionRefresher`]. Models run through the Copilot API's chat completions
//! ([`ChatRunner`], `model.run`) and are listed from its model list ([`ModelsLister`],
//! `model.list`); [`ExchangeCheck`] asks whether a sign-in still works.
//!
//! The crate registers itself with the host at link time; the host binary names it in its
//! `extensions.rs` so the linker keeps the registration. Its contract fixtures are built only
//! with the `contract-fixtures` feature, which only dev-dependencies (its own, the tests
//! crate's) enable.

mod chat;
mod check;
mod copilot_api;
mod device;
mod endpoints;
#[cfg(feature = "contract-fixtures")]
mod fixtures;
mod models;
mod provider;
mod refresh;
mod service_text;
mod session;

pub use chat::ChatRunner;
pub use check::ExchangeCheck;
pub use copilot_api::DEFAULT_COPILOT_API;
pub use device::{DEVICE_METHOD_ID, DeviceMethod};
pub use endpoints::{BASE_URL_CONFIG_KEY, DEFAULT_API_ORIGIN, DEFAULT_GITHUB_ORIGIN};
pub use models::ModelsLister;
pub use provider::{BASE_URL_ENV, DEFAULT_MODEL, GitHubCopilotProvider, PROVIDER_ID};
pub use refresh::SessionRefresher;

use plugboard_core::{
    ContractFixture, DeviceCodeFixture, ListFixture, ManifestSource, ModelFixture,
    ProviderRegistration, RefreshFixture, ServiceErrors,
};

/// The plugin manifest, embedded so the host needs no files at run time.
pub const MANIFEST: ManifestSource = ManifestSource {
    path: "manifests/github-copilot.json",
    json: include_str!("../../../manifests/github-copilot.json"),
};

plugboard_core::inventory::submit! {
    ProviderRegistration {
        manifest: MANIFEST,
        provider: || Box::new(GitHubCopilotProvider::new()),
        fixtures: CONTRACT_FIXTURES,
        model_fixtures: MODEL_FIXTURES,
        service_errors: SERVICE_ERRORS,
        refresh_fixtures: REFRESH_FIXTURES,
        list_fixtures: LIST_FIXTURES,
        device_fixtures: DEVICE_FIXTURES,
    }
}

// Fixtures are test code: only the `contract-fixtures` feature (enabled by dev-dependencies
// alone) builds them, so the shipped binary carries none of their tokens, answers or replies.
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
const REFRESH_FIXTURES: fn() -> Vec<RefreshFixture> = fixtures::refresh_fixtures;
#[cfg(not(feature = "contract-fixtures"))]
const REFRESH_FIXTURES: fn() -> Vec<RefreshFixture> = Vec::new;
#[cfg(feature = "contract-fixtures")]
const LIST_FIXTURES: fn() -> Vec<ListFixture> = fixtures::list_fixtures;
#[cfg(not(feature = "contract-fixtures"))]
const LIST_FIXTURES: fn() -> Vec<ListFixture> = Vec::new;
#[cfg(feature = "contract-fixtures")]
const DEVICE_FIXTURES: fn() -> Vec<DeviceCodeFixture> = fixtures::device_fixtures;
#[cfg(not(feature = "contract-fixtures"))]
const DEVICE_FIXTURES: fn() -> Vec<DeviceCodeFixture> = Vec::new;
