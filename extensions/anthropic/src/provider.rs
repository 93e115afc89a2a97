//! The provider itself: its identity, environment and sign-in method.

use plugboard_core::{
    ApiKeyMethod, AuthMethod, CredentialCheck, EnvVar, HostServices, ModelLister, ModelRunner,
    Provider,
};

use crate::endpoints::Endpoints;
use crate::messages::MessagesRunner;
use crate::models::{ModelsCheck, ModelsLister};

/// The provider id: prefix of `anthropic:<profile>` and `anthropic/<model>`.
pub const PROVIDER_ID: &str = "anthropic";
/// Holds an API key that wins over stored profiles (unless `--profile` is given); the same
/// variable Anthropic's own SDKs read.
pub const API_KEY_ENV: &str = "ANTHROPIC_API_KEY";
/// Moves the API (`https://api.anthropic.com`) to another origin, e.g. a local double.
pub const BASE_URL_ENV: &str = "ANTHROPIC_BASE_URL";
/// Claude Sonnet 5.5, which Anthropic's model overview lists as its latest Sonnet: the balance
/// of speed and capability a default should have.
pub const DEFAULT_MODEL: &str = "anthropic/claude-sonnet-5-5";

const ENV_VARS: &[EnvVar] = &[
    EnvVar::credential(API_KEY_ENV),
    EnvVar::setting(BASE_URL_ENV),
];

/// The Anthropic provider: a key the user manages (`api-key`), model calls with it
/// (`model.run`), the models it may use (`model.list`), and a check of the key through the
/// Models API.
pub struct AnthropicProvider {
    methods: Vec<Box<dyn AuthMethod>>,
}

impl AnthropicProvider {
    /// The provider with its sign-in method.
    pub fn new() -> Self {
        Self {
            methods: vec![Box::new(api_key_method())],
        }
    }
}

impl Default for AnthropicProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl Provider for AnthropicProvider {
    fn id(&self) -> &str {
        PROVIDER_ID
    }

    fn label(&self) -> &str {
        "Anthropic"
    }

    fn docs_path(&self) -> &str {
        "/providers/anthropic"
    }

    fn env_vars(&self) -> &[EnvVar] {
        ENV_VARS
    }

    fn default_model(&self) -> Option<&str> {
        Some(DEFAULT_MODEL)
    }

    fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
        &self.methods
    }

    fn service_url(&self, host: &HostServices) -> Option<String> {
        Endpoints::service_url(host)
    }

    fn model_runner(&self) -> Option<&dyn ModelRunner> {
        Some(&MessagesRunner)
    }

    fn model_lister(&self) -> Option<&dyn ModelLister> {
        Some(&ModelsLister)
    }

    fn credential_check(&self) -> Option<&dyn CredentialCheck> {
        Some(&ModelsCheck)
    }
}

/// `anthropic-api-key`: paste a key created in the Anthropic Console
/// (<https://console.anthropic.com/settings/keys>).
pub fn api_key_method() -> ApiKeyMethod {
    ApiKeyMethod::new(PROVIDER_ID, "Anthropic API key", "Anthropic API key")
        .with_hint("Paste a key from console.anthropic.com")
        .with_default_model(DEFAULT_MODEL)
        .with_note("to replace the key, run the same command again with the new one")
}
