//! The provider itself: its identity, environment and sign-in methods.

use plugboard_core::{
    ApiKeyMethod, AuthMethod, CredentialCheck, EnvVar, HostServices, ModelLister, ModelRunner,
    Provider,
};

use crate::chat::ChatRunner;
use crate::endpoints::Endpoints;
use crate::key_check::KeyCheck;
use crate::models::ModelsLister;
use crate::oauth::OAuthMethod;

/// The provider id: prefix of `openrouter:<profile>` and `openrouter/<model>`.
pub const PROVIDER_ID: &str = "openrouter";
/// Holds an API key that wins over stored profiles (unless `--profile` is given).
pub const API_KEY_ENV: &str = "OPENROUTER_API_KEY";
/// Overrides the API base URL (`https://openrouter.ai/api/v1`).
pub const BASE_URL_ENV: &str = "OPENROUTER_BASE_URL";
/// OpenRouter's router model, which picks a model per request.
pub const DEFAULT_MODEL: &str = "openrouter/auto";

const ENV_VARS: &[EnvVar] = &[
    EnvVar::credential(API_KEY_ENV),
    EnvVar::setting(BASE_URL_ENV),
];

/// The OpenRouter provider: OAuth browser sign-in (`oauth`) and a key the user manages
/// (`api-key`), model calls with either (`model.run`), its model list (`model.list`), and a
/// check of the key against OpenRouter's key endpoint.
pub struct OpenRouterProvider {
    methods: Vec<Box<dyn AuthMethod>>,
}

impl OpenRouterProvider {
    /// The provider with all its sign-in methods.
    pub fn new() -> Self {
        Self {
            methods: vec![Box::new(OAuthMethod), Box::new(api_key_method())],
        }
    }
}

impl Default for OpenRouterProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl Provider for OpenRouterProvider {
    fn id(&self) -> &str {
        PROVIDER_ID
    }

    fn label(&self) -> &str {
        "OpenRouter"
    }

    fn docs_path(&self) -> &str {
        "/providers/openrouter"
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
        Some(&ChatRunner)
    }

    fn model_lister(&self) -> Option<&dyn ModelLister> {
        Some(&ModelsLister)
    }

    fn credential_check(&self) -> Option<&dyn CredentialCheck> {
        Some(&KeyCheck)
    }
}

/// `openrouter-api-key`: paste a key from <https://openrouter.ai/keys>.
pub fn api_key_method() -> ApiKeyMethod {
    ApiKeyMethod::new(PROVIDER_ID, "OpenRouter API key", "OpenRouter API key")
        .with_hint("Paste a key you manage from openrouter.ai/keys")
        .with_default_model(DEFAULT_MODEL)
        .with_note("to replace the key, run the same command again with the new one")
}
