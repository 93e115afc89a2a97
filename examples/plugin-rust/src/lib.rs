//! The example executable plugin in Rust: a provider `example-rust` that signs in with an
//! OpenRouter API key (the host relays the prompt) and runs models through OpenRouter's
//! OpenAI-compatible chat completions API, served over the plugin protocol by
//! [`plugboard_plugin`]. Its `main` is one line: `plugboard_plugin::run(plugin())`.
//!
//! It is a plugin like any other: built on its own, copied into a plugin directory beside its
//! `plugin.json`, checked by `plugboard plugins check` with the fixtures it declares
//! ([`fixtures`]). See this directory's README.

mod chat;
mod fixtures;

pub use chat::{ChatRunner, DEFAULT_BASE_URL};
pub use fixtures::fixtures;

use plugboard_core::{ApiKeyMethod, AuthMethod, EnvVar, HostServices, ModelRunner, Provider};
use plugboard_plugin::Plugin;

/// The plugin id, as `plugin.json` declares it.
pub const PLUGIN_ID: &str = "example-rust";
/// The provider id: the prefix of `example-rust:<profile>` and `example-rust/<model>`.
pub const PROVIDER_ID: &str = "example-rust";
/// Moves the service (`plugboard_core::base_url_env(PROVIDER_ID)`); the host sets it to the
/// manifest's `runtime.base_url`, or to the contract harness's loopback server.
pub const BASE_URL_ENV: &str = "EXAMPLE_RUST_BASE_URL";

const ENV_VARS: &[EnvVar] = &[EnvVar::setting(BASE_URL_ENV)];

/// The plugin: its one provider and its contract fixtures.
pub fn plugin() -> Plugin {
    Plugin::new(PLUGIN_ID, env!("CARGO_PKG_VERSION"))
        .provider(Box::new(ExampleProvider::new()))
        .fixtures(fixtures())
}

/// The example provider: an API-key sign-in and a model runner.
pub struct ExampleProvider {
    methods: Vec<Box<dyn AuthMethod>>,
}

impl ExampleProvider {
    /// The provider with its one sign-in method, `api-key`.
    pub fn new() -> Self {
        let api_key = ApiKeyMethod::new(PROVIDER_ID, "Example API key", "OpenRouter API key")
            .with_hint("Paste an OpenRouter key from openrouter.ai/keys");
        Self {
            methods: vec![Box::new(api_key)],
        }
    }
}

impl Default for ExampleProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl Provider for ExampleProvider {
    fn id(&self) -> &str {
        PROVIDER_ID
    }

    fn label(&self) -> &str {
        "Example (Rust)"
    }

    fn docs_path(&self) -> &str {
        "/plugins/example-rust"
    }

    fn env_vars(&self) -> &[EnvVar] {
        ENV_VARS
    }

    fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
        &self.methods
    }

    fn service_url(&self, host: &HostServices) -> Option<String> {
        chat::service_url(host)
    }

    fn model_runner(&self) -> Option<&dyn ModelRunner> {
        Some(&ChatRunner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_variable_is_the_one_the_host_sets() {
        assert_eq!(BASE_URL_ENV, plugboard_core::base_url_env(PROVIDER_ID));
    }

    #[test]
    fn the_manifest_declares_what_the_plugin_serves() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.json");
        let json = std::fs::read_to_string(path).unwrap();
        let manifest = plugboard_core::Manifest::load(path, &json).unwrap();
        assert_eq!(manifest.id, PLUGIN_ID);
        let provider = ExampleProvider::new();
        let declared: Vec<&str> = manifest.providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(declared, [provider.id()]);
        for choice in &manifest.auth_choices {
            assert!(provider.auth_method(&choice.method).is_some(), "{choice:?}");
        }
    }
}
