//! Where GitHub Copilot lives. The sign-in is GitHub's device flow on `https://github.com`
//! (`/login/device/code`, `/login/oauth/access_token`); the Copilot token is exchanged on the
//! REST API, `https://api.github.com/copilot_internal/v2/token`. `GITHUB_COPILOT_BASE_URL`
//! (else config `providers.github-copilot.base_url`) moves all three to one origin under the
//! same paths, so a double can answer them all. The chat and models endpoints are not here:
//! they live wherever the token reply's `endpoints.api` says (see [`crate::session`]).

use plugboard_core::HostServices;
use plugboard_http::{BaseUrlError, ServiceLocation, join_path};
use url::Url;

use crate::provider::{BASE_URL_ENV, PROVIDER_ID};

/// GitHub's web origin, where the device flow runs.
pub const DEFAULT_GITHUB_ORIGIN: &str = "https://github.com";
/// GitHub's REST API origin, where the Copilot token is exchanged: the provider's base URL.
pub const DEFAULT_API_ORIGIN: &str = "https://api.github.com";

/// The config key (under `providers.github-copilot`) that overrides the base URL.
pub use plugboard_http::BASE_URL_CONFIG_KEY;

/// The OAuth client id of GitHub's Copilot editor integrations (a GitHub App): the one
/// OpenClaw, pi-ai, LiteLLM, Zed and copilot.vim sign in with, and the only one the token
/// exchange serves Copilot tokens to.
pub(crate) const CLIENT_ID: &str = "Iv1.b507a08c87ecfe98";
/// What the device flow asks for, as OpenClaw and pi-ai ask.
pub(crate) const SCOPE: &str = "read:user";

const DEVICE_CODE_PATH: &str = "/login/device/code";
const ACCESS_TOKEN_PATH: &str = "/login/oauth/access_token";
const COPILOT_TOKEN_PATH: &str = "/copilot_internal/v2/token";

/// The one base-URL rule; its default is the REST API origin, and the device flow keeps its
/// own origin unless the base is moved.
const LOCATION: ServiceLocation<'static> = ServiceLocation {
    provider_id: PROVIDER_ID,
    env_var: BASE_URL_ENV,
    default: DEFAULT_API_ORIGIN,
};

/// A configured base URL that cannot be used.
pub(crate) type EndpointError = BaseUrlError;

/// The base URL as the settings in `host` resolve it: the environment first, then config,
/// then the REST API origin.
pub(crate) fn base_url(host: &HostServices) -> Result<Url, EndpointError> {
    LOCATION.resolve(host)
}

/// The three GitHub URLs a sign-in and a session renewal use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    device_code: Url,
    access_token: Url,
    copilot_token: String,
}

impl Endpoints {
    /// Resolves from the host's services: the environment first, then config, then GitHub.
    pub(crate) fn from_host(host: &HostServices) -> Result<Self, EndpointError> {
        Ok(Self::at(&base_url(host)?))
    }

    /// Resolves from an environment value and a config value, the environment winning.
    #[cfg(test)]
    pub(crate) fn resolve(env: Option<&str>, config: Option<&str>) -> Result<Self, EndpointError> {
        Ok(Self::at(&LOCATION.resolve_from(env, config)?))
    }

    fn at(base: &Url) -> Self {
        // Without an override GitHub lives on two origins; a base set to the real API origin
        // is the same as none.
        let moved = base.as_str().trim_end_matches('/') != DEFAULT_API_ORIGIN;
        let web = if moved {
            base.clone()
        } else {
            // The constant is a valid URL; should it ever not be, the base still is.
            Url::parse(DEFAULT_GITHUB_ORIGIN).unwrap_or_else(|_| base.clone())
        };
        Self {
            device_code: with_path(&web, DEVICE_CODE_PATH),
            access_token: with_path(&web, ACCESS_TOKEN_PATH),
            copilot_token: join_path(base, COPILOT_TOKEN_PATH),
        }
    }

    /// `POST` here to start the device flow.
    pub(crate) fn device_code_url(&self) -> &Url {
        &self.device_code
    }

    /// `POST` here to poll for the GitHub token.
    pub(crate) fn access_token_url(&self) -> &Url {
        &self.access_token
    }

    /// `GET` here to trade the GitHub token for a Copilot token.
    pub(crate) fn copilot_token_url(&self) -> &str {
        &self.copilot_token
    }
}

/// `base` with `path` appended to its path (a `Url`, where [`join_path`] gives a string).
fn with_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_services_are_used_unless_the_base_is_moved_and_then_all_three_move() {
        // (env, config, device code, access token, copilot token)
        let cases = [
            (
                None,
                None,
                "https://github.com/login/device/code",
                "https://github.com/login/oauth/access_token",
                "https://api.github.com/copilot_internal/v2/token",
            ),
            (
                Some("https://api.github.com/"),
                None,
                "https://github.com/login/device/code",
                "https://github.com/login/oauth/access_token",
                "https://api.github.com/copilot_internal/v2/token",
            ),
            (
                Some("http://127.0.0.1:8080"),
                Some("https://cfg.test"),
                "http://127.0.0.1:8080/login/device/code",
                "http://127.0.0.1:8080/login/oauth/access_token",
                "http://127.0.0.1:8080/copilot_internal/v2/token",
            ),
            (
                None,
                Some("https://proxy.test/gh/"),
                "https://proxy.test/gh/login/device/code",
                "https://proxy.test/gh/login/oauth/access_token",
                "https://proxy.test/gh/copilot_internal/v2/token",
            ),
        ];
        for (env, config, device, access, copilot) in cases {
            let got = Endpoints::resolve(env, config).unwrap();
            assert_eq!(got.device_code_url().as_str(), device, "{env:?} {config:?}");
            assert_eq!(
                got.access_token_url().as_str(),
                access,
                "{env:?} {config:?}"
            );
            assert_eq!(got.copilot_token_url(), copilot, "{env:?} {config:?}");
        }
    }

    #[test]
    fn unusable_base_urls_are_refused_naming_the_setting() {
        let cases = [
            (
                Some("http://gh.example.test"),
                None,
                "GITHUB_COPILOT_BASE_URL uses http:// for gh.example.test: only https is allowed, except for a loopback host (127.0.0.1, ::1 or localhost)",
            ),
            (
                None,
                Some("https://user:hunter2@cfg.test"),
                "config providers.github-copilot.base_url carries a user name or password: remove the part before @ (credentials are sent as headers, never in the URL)",
            ),
        ];
        for (env, config, message) in cases {
            assert_eq!(
                Endpoints::resolve(env, config).unwrap_err().to_string(),
                message
            );
        }
    }

    #[test]
    fn the_host_services_move_the_endpoints_env_first() {
        let host = HostServices::default().with_config(serde_json::json!({
            "providers": {PROVIDER_ID: {BASE_URL_CONFIG_KEY: "https://cfg.test"}},
        }));
        let got = Endpoints::from_host(&host).unwrap();
        assert_eq!(
            got.copilot_token_url(),
            "https://cfg.test/copilot_internal/v2/token"
        );
        let host = host.with_env(BASE_URL_ENV, "http://localhost:9");
        let got = Endpoints::from_host(&host).unwrap();
        assert_eq!(
            got.device_code_url().as_str(),
            "http://localhost:9/login/device/code"
        );
    }
}
