//! The OpenAI Codex provider: sign in with a ChatGPT account the way the Codex CLI does
//! (`openai-codex-oauth`: authorization code with PKCE on the redirect ports OpenAI registered,
//! 1455 then 1457), keep the OAuth tokens fresh with their rotating refresh token
//! ([`TokenRefresher`]), run models (`model.run`) through the ChatGPT backend's Responses
//! API ([`ResponsesRunner`]), list the models offered to ChatGPT sign-in (`model.list`,
//! [`KnownModels`]: a kept list, the backend has no documented one), and judge a stored
//! sign-in without a request ([`StoredTokenCheck`]).
//!
//! The crate registers itself with the host at link time; the host binary names it in its
//! `extensions.rs` so the linker keeps the registration. Its contract fixtures are built only
//! with the `contract-fixtures` feature, which only dev-dependencies (its own, the tests
//! crate's) enable.

mod endpoints;
mod exchange;
#[cfg(feature = "contract-fixtures")]
mod fixtures;
mod jwt;
mod models;
mod oauth;
mod provider;
mod refresh;
mod responses;
mod service_text;
mod sse;
mod tokens;

pub use endpoints::{BASE_URL_CONFIG_KEY, DEFAULT_AUTH_ORIGIN, DEFAULT_BACKEND_ORIGIN};
pub use models::{CHATGPT_MODELS, KnownModels, StoredTokenCheck};
pub use oauth::{CALLBACK_PATH, OAUTH_METHOD_ID, OAuthMethod, REGISTERED_CALLBACK_PORTS};
pub use provider::{BASE_URL_ENV, DEFAULT_MODEL, OpenAiCodexProvider, PROVIDER_ID};
pub use refresh::TokenRefresher;
pub use responses::ResponsesRunner;

use plugboard_core::{
    ContractFixture, ListFixture, ManifestSource, ModelFixture, ProviderRegistration,
    RefreshFixture, ServiceErrors,
};

/// The plugin manifest, embedded so the host needs no files at run time.
pub const MANIFEST: ManifestSource = ManifestSource {
    path: "manifests/openai-codex.json",
    json: include_str!("../../../manifests/openai-codex.json"),
};

plugboard_core::inventory::submit! {
    ProviderRegistration {
        manifest: MANIFEST,
        provider: || Box::new(OpenAiCodexProvider::new()),
        fixtures: CONTRACT_FIXTURES,
        model_fixtures: MODEL_FIXTURES,
        service_errors: SERVICE_ERRORS,
        refresh_fixtures: REFRESH_FIXTURES,
        list_fixtures: LIST_FIXTURES,
        device_fixtures: Vec::new,
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
