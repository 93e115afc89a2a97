//! The provider itself: its identity, environment, sign-in method, and the capabilities that
//! use a stored GitHub sign-in (session renewal, model runs, model listing, the check).

use plugboard_core::{
    AuthMethod, CredentialCheck, EnvVar, HostServices, ModelLister, ModelRunner, Provider,
    Refresher,
};

use crate::chat::ChatRunner;
use crate::check::ExchangeCheck;
use crate::device::DeviceMethod;
use crate::endpoints::base_url;
use crate::models::ModelsLister;
use crate::refresh::SessionRefresher;

/// The provider id: prefix of `github-copilot:<profile>` and `github-copilot/<model>`.
pub const PROVIDER_ID: &str = "github-copilot";
/// Moves the device flow and the Copilot token exchange to one origin (a test double, a
/// proxy). The Copilot API still comes from the token exchange's answer.
pub const BASE_URL_ENV: &str = "GITHUB_COPILOT_BASE_URL";
/// A model every Copilot plan includes without premium requests (`billing.multiplier` 0 in
/// the model list), and Roo Code's default for Copilot.
pub const DEFAULT_MODEL: &str = "github-copilot/gpt-4.1";

const ENV_VARS: &[EnvVar] = &[EnvVar::setting(BASE_URL_ENV)];

/// GitHub Copilot: sign in to GitHub with a device code (`device_code`), derive short-lived
/// Copilot tokens from it at use, and run (`model.run`) and list (`model.list`) the plan's
/// models through the Copilot API.
pub struct GitHubCopilotProvider {
    methods: Vec<Box<dyn AuthMethod>>,
}

impl GitHubCopilotProvider {
    /// The provider with its sign-in method.
    pub fn new() -> Self {
        Self {
            methods: vec![Box::new(DeviceMethod)],
        }
    }
}

impl Default for GitHubCopilotProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl Provider for GitHubCopilotProvider {
    fn id(&self) -> &str {
        PROVIDER_ID
    }

    fn label(&self) -> &str {
        "GitHub Copilot"
    }

    fn docs_path(&self) -> &str {
        "/providers/github-copilot"
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

    /// The GitHub API origin the token exchange goes to (the device flow's web origin moves
    /// with it when the base URL is set).
    fn service_url(&self, host: &HostServices) -> Option<String> {
        // Shown as the other providers show theirs: an origin without its trailing slash.
        base_url(host)
            .ok()
            .map(|url| url.as_str().trim_end_matches('/').to_owned())
    }

    fn model_runner(&self) -> Option<&dyn ModelRunner> {
        Some(&ChatRunner)
    }

    fn model_lister(&self) -> Option<&dyn ModelLister> {
        Some(&ModelsLister)
    }

    fn credential_check(&self) -> Option<&dyn CredentialCheck> {
        Some(&ExchangeCheck)
    }

    fn refresher(&self) -> Option<&dyn Refresher> {
        Some(&SessionRefresher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_url_is_the_api_origin_as_the_settings_resolve_it() {
        let provider = GitHubCopilotProvider::new();
        let host = HostServices::default();
        assert_eq!(
            provider.service_url(&host).as_deref(),
            Some("https://api.github.com")
        );
        let moved = host.clone().with_env(BASE_URL_ENV, "http://127.0.0.1:7/gh");
        assert_eq!(
            provider.service_url(&moved).as_deref(),
            Some("http://127.0.0.1:7/gh")
        );
        let invalid = host.with_env(BASE_URL_ENV, "http://gh.example.test");
        assert_eq!(provider.service_url(&invalid), None);
    }
}
