//! The OpenRouter provider: sign-in with an API key the user manages (`openrouter-api-key`).
//!
//! The crate registers itself with the host at link time; the host binary names it in its
//! `extensions.rs` so the linker keeps the registration.

mod fixtures;
mod provider;

pub use provider::{
    API_KEY_ENV, BASE_URL_ENV, DEFAULT_MODEL, OpenRouterProvider, PROVIDER_ID, api_key_method,
};

use plugboard_core::{ManifestSource, ProviderRegistration};

/// The plugin manifest, embedded so the host needs no files at run time.
pub const MANIFEST: ManifestSource = ManifestSource {
    path: "manifests/openrouter.json",
    json: include_str!("../../../manifests/openrouter.json"),
};

plugboard_core::inventory::submit! {
    ProviderRegistration {
        manifest: MANIFEST,
        provider: || Box::new(OpenRouterProvider::new()),
        fixtures: fixtures::contract_fixtures,
    }
}
