//! The provider itself: its identity, environment, sign-in method, refresher and model runner.

use plugboard_core::{
    AuthMethod, CredentialCheck, EnvVar, HostServices, ModelLister, ModelRunner, Provider,
    Refresher,
};

use crate::endpoints::Endpoints;
use crate::models::{KnownModels, StoredTokenCheck};
use crate::oauth::OAuthMethod;
use crate::refresh::TokenRefresher;
use crate::responses::ResponsesRunner;

/// The provider id: prefix of `openai-codex:<profile>` and `openai-codex/<model>`.
pub const PROVIDER_ID: &str = "openai-codex";
/// Moves the sign-in, refresh and model endpoints to one origin (a test double, a proxy).
pub const BASE_URL_ENV: &str = "OPENAI_CODEX_BASE_URL";
/// The first model of the kept list (`CHATGPT_MODELS`), the first OpenAI's models page for Codex
/// offers a ChatGPT sign-in. (codex-rs's old default, `gpt-5-codex`, is no longer offered.)
pub const DEFAULT_MODEL: &str = "openai-codex/gpt-5.6-sol";

const ENV_VARS: &[EnvVar] = &[EnvVar::setting(BASE_URL_ENV)];

/// OpenAI Codex: sign in with a ChatGPT account as the Codex CLI does (`oauth`), keep the
/// tokens fresh, run models through the ChatGPT backend's Responses API (`model.run`), list the
/// models offered to ChatGPT sign-in (`model.list`, a kept list), and judge a stored sign-in.
pub struct OpenAiCodexProvider {
    methods: Vec<Box<dyn AuthMethod>>,
}

impl OpenAiCodexProvider {
    /// The provider with its sign-in method.
    pub fn new() -> Self {
        Self {
            methods: vec![Box::new(OAuthMethod)],
        }
    }
}

impl Default for OpenAiCodexProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl Provider for OpenAiCodexProvider {
    fn id(&self) -> &str {
        PROVIDER_ID
    }

    fn label(&self) -> &str {
        "OpenAI Codex"
    }

    fn docs_path(&self) -> &str {
        "/providers/openai-codex"
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
        Some(&ResponsesRunner)
    }

    fn model_lister(&self) -> Option<&dyn ModelLister> {
        Some(&KnownModels)
    }

    fn credential_check(&self) -> Option<&dyn CredentialCheck> {
        Some(&StoredTokenCheck)
    }

    fn refresher(&self) -> Option<&dyn Refresher> {
        Some(&TokenRefresher)
    }
}
