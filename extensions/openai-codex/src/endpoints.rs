//! Where OpenAI Codex lives: the sign-in and refresh endpoints on `https://auth.openai.com`, the
//! Responses endpoint on `https://chatgpt.com/backend-api/codex`. `OPENAI_CODEX_BASE_URL` (else
//! config `providers.openai-codex.base_url`) moves all three to one origin under the same
//! paths, so a double can answer them all. One place decides it, so sign-in, refresh and model
//! calls can never disagree.

use plugboard_core::HostServices;
use plugboard_http::{BaseUrlError, ServiceLocation, join_path};
use plugboard_oauth::AuthorizeRequest;
use url::Url;

use crate::provider::{BASE_URL_ENV, PROVIDER_ID};

/// OpenAI's sign-in service, which issues and refreshes the tokens (codex-rs's default issuer).
pub const DEFAULT_AUTH_ORIGIN: &str = "https://auth.openai.com";
/// The ChatGPT backend that serves Codex models (codex-rs's default `chatgpt_base_url`).
pub const DEFAULT_BACKEND_ORIGIN: &str = "https://chatgpt.com";

/// The config key (under `providers.openai-codex`) that overrides the base URL.
pub use plugboard_http::BASE_URL_CONFIG_KEY;

/// The Codex CLI's OAuth client id: the client the registered redirect URIs belong to
/// (`CLIENT_ID` in codex-rs's `login/src/auth/manager.rs`).
pub(crate) const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// What the sign-in asks for: an id token with the profile and email, and a refresh token.
pub(crate) const SCOPE: &str = "openid profile email offline_access";
/// Who is calling, as codex-rs names itself to the sign-in page and the backend (its default
/// `originator`); the backend serves Codex models to the Codex client.
pub(crate) const ORIGINATOR: &str = "codex_cli_rs";

const AUTHORIZE_PATH: &str = "/oauth/authorize";
const TOKEN_PATH: &str = "/oauth/token";
/// The Codex API base on the ChatGPT backend; the Responses endpoint is under it.
const API_PATH: &str = "/backend-api/codex";
const RESPONSES_PATH: &str = "/backend-api/codex/responses";

/// The one base-URL rule; its default is the sign-in origin, and the Responses endpoint keeps
/// its own origin unless the base is moved.
const LOCATION: ServiceLocation<'static> = ServiceLocation {
    provider_id: PROVIDER_ID,
    env_var: BASE_URL_ENV,
    default: DEFAULT_AUTH_ORIGIN,
};

/// A configured base URL that cannot be used.
pub(crate) type EndpointError = BaseUrlError;

/// The three URLs every call uses, and the API base the model calls go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    authorize: Url,
    token: String,
    api_base: String,
    responses: String,
}

impl Endpoints {
    /// Resolves from the host's services: the environment first, then config, then the real
    /// services.
    pub(crate) fn from_host(host: &HostServices) -> Result<Self, EndpointError> {
        Ok(Self::at(&LOCATION.resolve(host)?))
    }

    /// Resolves from an environment value and a config value, the environment winning.
    #[cfg(test)]
    pub(crate) fn resolve(env: Option<&str>, config: Option<&str>) -> Result<Self, EndpointError> {
        Ok(Self::at(&LOCATION.resolve_from(env, config)?))
    }

    fn at(base: &Url) -> Self {
        // Without an override the real services live on two origins; a base set to the real
        // sign-in origin is the same as none.
        let moved = base.as_str().trim_end_matches('/') != DEFAULT_AUTH_ORIGIN;
        let mut authorize = base.clone();
        let auth_path = format!("{}{AUTHORIZE_PATH}", base.path().trim_end_matches('/'));
        authorize.set_path(&auth_path);
        let (api_base, responses) = if moved {
            (join_path(base, API_PATH), join_path(base, RESPONSES_PATH))
        } else {
            (
                format!("{DEFAULT_BACKEND_ORIGIN}{API_PATH}"),
                format!("{DEFAULT_BACKEND_ORIGIN}{RESPONSES_PATH}"),
            )
        };
        Self {
            authorize,
            token: join_path(base, TOKEN_PATH),
            api_base,
            responses,
        }
    }

    /// Where the Codex API is as the host's settings resolve it, for `models status`: the
    /// ChatGPT backend's Codex base that model calls go to. `None` when the settings cannot be
    /// used (the call itself then says why).
    pub(crate) fn service_url(host: &HostServices) -> Option<String> {
        Self::from_host(host)
            .ok()
            .map(|endpoints| endpoints.api_base)
    }

    /// The authorize URL with the parameters codex-rs's `build_authorize_url` sends:
    /// `response_type`, `client_id`, `redirect_uri`, `scope`, the PKCE challenge and method,
    /// `id_token_add_organizations`, `codex_cli_simplified_flow`, `state` and `originator`.
    pub(crate) fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Url {
        let mut url = self.authorize.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", request.redirect_uri.as_str())
            .append_pair("scope", SCOPE)
            .append_pair("code_challenge", request.pkce.challenge())
            .append_pair("code_challenge_method", request.pkce.method())
            .append_pair("id_token_add_organizations", "true")
            .append_pair("codex_cli_simplified_flow", "true")
            .append_pair("state", request.state.as_str())
            .append_pair("originator", ORIGINATOR);
        url
    }

    /// `POST` here to exchange a code, or a refresh token, for tokens.
    pub(crate) fn token_url(&self) -> &str {
        &self.token
    }

    /// `POST` here to run a model.
    pub(crate) fn responses_url(&self) -> &str {
        &self.responses
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::FixedRandom;
    use plugboard_oauth::LoginSecrets;

    use super::*;

    #[test]
    fn the_real_services_are_used_unless_the_base_is_moved_and_then_all_three_move() {
        // (env, config, authorize, token, API base, responses)
        let cases = [
            (
                None,
                None,
                "https://auth.openai.com/oauth/authorize",
                "https://auth.openai.com/oauth/token",
                "https://chatgpt.com/backend-api/codex",
                "https://chatgpt.com/backend-api/codex/responses",
            ),
            (
                Some("https://auth.openai.com/"),
                None,
                "https://auth.openai.com/oauth/authorize",
                "https://auth.openai.com/oauth/token",
                "https://chatgpt.com/backend-api/codex",
                "https://chatgpt.com/backend-api/codex/responses",
            ),
            (
                Some("http://127.0.0.1:8080"),
                Some("https://cfg.test"),
                "http://127.0.0.1:8080/oauth/authorize",
                "http://127.0.0.1:8080/oauth/token",
                "http://127.0.0.1:8080/backend-api/codex",
                "http://127.0.0.1:8080/backend-api/codex/responses",
            ),
            (
                None,
                Some("https://proxy.test/codex/"),
                "https://proxy.test/codex/oauth/authorize",
                "https://proxy.test/codex/oauth/token",
                "https://proxy.test/codex/backend-api/codex",
                "https://proxy.test/codex/backend-api/codex/responses",
            ),
        ];
        for (env, config, authorize, token, api_base, responses) in cases {
            let got = Endpoints::resolve(env, config).unwrap();
            assert_eq!(got.authorize.as_str(), authorize, "{env:?} {config:?}");
            assert_eq!(got.token_url(), token, "{env:?} {config:?}");
            assert_eq!(got.api_base, api_base, "{env:?} {config:?}");
            assert_eq!(got.responses_url(), responses, "{env:?} {config:?}");
        }
    }

    #[test]
    fn the_service_url_is_the_codex_api_base_or_nothing_when_unusable() {
        let host = HostServices::default();
        assert_eq!(
            Endpoints::service_url(&host).as_deref(),
            Some("https://chatgpt.com/backend-api/codex")
        );
        let host = host.with_env(BASE_URL_ENV, "http://127.0.0.1:8080/");
        assert_eq!(
            Endpoints::service_url(&host).as_deref(),
            Some("http://127.0.0.1:8080/backend-api/codex")
        );
        let host = host.with_env(BASE_URL_ENV, "http://chatgpt.com");
        assert_eq!(Endpoints::service_url(&host), None);
    }

    #[test]
    fn unusable_base_urls_are_refused_naming_the_setting() {
        let cases = [
            (
                Some("http://auth.example.test"),
                None,
                "OPENAI_CODEX_BASE_URL uses http:// for auth.example.test: only https is allowed, except for a loopback host (127.0.0.1, ::1 or localhost)",
            ),
            (
                None,
                Some("https://user:hunter2@cfg.test"),
                "config providers.openai-codex.base_url carries a user name or password: remove the part before @ (credentials are sent as headers, never in the URL)",
            ),
            (
                Some("auth.openai.com"),
                None,
                "OPENAI_CODEX_BASE_URL is not a valid URL (relative URL without a base): use e.g. https://auth.openai.com",
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
        assert_eq!(got.token_url(), "https://cfg.test/oauth/token");
        let host = host.with_env(BASE_URL_ENV, "http://localhost:9");
        let got = Endpoints::from_host(&host).unwrap();
        assert_eq!(got.token_url(), "http://localhost:9/oauth/token");
    }

    #[test]
    fn the_authorize_url_carries_what_codex_rs_sends() {
        let endpoints = Endpoints::resolve(None, None).unwrap();
        let secrets = LoginSecrets::generate(&FixedRandom(3));
        let redirect = Url::parse("http://localhost:1455/auth/callback").unwrap();
        let url = endpoints.authorize_url(&AuthorizeRequest {
            redirect_uri: &redirect,
            state: &secrets.state,
            pkce: &secrets.pkce,
        });
        assert_eq!(
            url.origin().ascii_serialization(),
            "https://auth.openai.com"
        );
        assert_eq!(url.path(), "/oauth/authorize");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let want: Vec<(String, String)> = [
            ("response_type", "code"),
            ("client_id", "app_EMoamEEZ73f0CkXaXp7hrann"),
            ("redirect_uri", "http://localhost:1455/auth/callback"),
            ("scope", "openid profile email offline_access"),
            ("code_challenge", secrets.pkce.challenge()),
            ("code_challenge_method", "S256"),
            ("id_token_add_organizations", "true"),
            ("codex_cli_simplified_flow", "true"),
            ("state", secrets.state.as_str()),
            ("originator", "codex_cli_rs"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(pairs, want);
    }
}
