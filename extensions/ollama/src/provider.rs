//! The provider itself: its identity, the one setting it reads, its sign-in method and its
//! capabilities.

use plugboard_core::{
    AuthMethod, CredentialCheck, EnvVar, HostServices, ModelLister, ModelRunner, Provider,
};

use crate::chat::ChatRunner;
use crate::endpoints::Endpoints;
use crate::local::LocalMethod;
use crate::tags::{ServerCheck, TagsLister};

/// The provider id: prefix of `ollama:<profile>` and `ollama/<model>`.
pub const PROVIDER_ID: &str = "ollama";
/// Where the Ollama server is, read as Ollama reads it (`0.0.0.0`, `:11434`,
/// `192.168.1.5:8080`, `https://ollama.example.com`): the variable the `ollama` CLI and
/// `ollama serve` read, so plugboard finds the server they use. A setting, not a credential.
pub const HOST_ENV: &str = "OLLAMA_HOST";

const ENV_VARS: &[EnvVar] = &[EnvVar::setting(HOST_ENV)];

/// The Ollama provider: a server of the user's own (`local`, no credential), model calls to it
/// (`model.run`) and its pulled models (`model.list`).
pub struct OllamaProvider {
    methods: Vec<Box<dyn AuthMethod>>,
}

impl OllamaProvider {
    /// The provider with its sign-in method.
    pub fn new() -> Self {
        Self {
            methods: vec![Box::new(LocalMethod)],
        }
    }
}

impl Default for OllamaProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl Provider for OllamaProvider {
    fn id(&self) -> &str {
        PROVIDER_ID
    }

    fn label(&self) -> &str {
        "Ollama"
    }

    fn docs_path(&self) -> &str {
        "/providers/ollama"
    }

    fn env_vars(&self) -> &[EnvVar] {
        ENV_VARS
    }

    // No default model: which models a server has is the user's choice (`ollama pull`), and
    // `model.list` says which they are.

    fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
        &self.methods
    }

    fn service_url(&self, host: &HostServices) -> Option<String> {
        Endpoints::from_host(host)
            .ok()
            .map(|endpoints| endpoints.base().to_owned())
    }

    fn model_runner(&self) -> Option<&dyn ModelRunner> {
        Some(&ChatRunner)
    }

    fn model_lister(&self) -> Option<&dyn ModelLister> {
        Some(&TagsLister)
    }

    fn credential_check(&self) -> Option<&dyn CredentialCheck> {
        Some(&ServerCheck)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_url_is_the_resolved_server_or_none_when_unusable() {
        let provider = OllamaProvider::new();
        let cases = [
            (None, Some("http://127.0.0.1:11434")),
            (Some("0.0.0.0"), Some("http://127.0.0.1:11434")),
            (
                Some("https://ollama.example.com"),
                Some("https://ollama.example.com"),
            ),
            (Some("192.168.1.5:8080"), None),
        ];
        for (env, want) in cases {
            let mut host = HostServices::default();
            if let Some(value) = env {
                host = host.with_env(HOST_ENV, value);
            }
            assert_eq!(provider.service_url(&host).as_deref(), want, "{env:?}");
        }
        let allowed = HostServices::default()
            .with_env(HOST_ENV, "192.168.1.5:8080")
            .with_config(serde_json::json!({"providers": {"ollama": {"allow_plain_http": true}}}));
        assert_eq!(
            provider.service_url(&allowed).as_deref(),
            Some("http://192.168.1.5:8080")
        );
    }

    #[test]
    fn ollama_host_is_a_setting_and_there_is_no_credential_variable() {
        let provider = OllamaProvider::new();
        assert_eq!(provider.env_vars(), [EnvVar::setting("OLLAMA_HOST")]);
        assert!(provider.credential_env_vars().is_empty());
        assert_eq!(provider.default_model(), None);
    }
}
