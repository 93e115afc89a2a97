//! Where OpenRouter lives: the API base (`OPENROUTER_BASE_URL`, else config
//! `providers.openrouter.base_url`, else `https://openrouter.ai/api/v1`) and the authorize page
//! on the same origin. One place decides it, so sign-in and model calls can never disagree.

use plugboard_core::HostServices;
use plugboard_http::{BaseUrlError, ServiceLocation, join_path};
use plugboard_oauth::AuthorizeRequest;
use url::Url;

use crate::provider::{BASE_URL_ENV, PROVIDER_ID};

/// OpenRouter's public API.
pub const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";

/// The config key (under `providers.openrouter`) that overrides the API base.
pub use plugboard_http::BASE_URL_CONFIG_KEY;

/// Where OpenRouter is, and which settings move it (the same rule as every provider's).
const LOCATION: ServiceLocation<'static> = ServiceLocation {
    provider_id: PROVIDER_ID,
    env_var: BASE_URL_ENV,
    default: DEFAULT_BASE_URL,
};

/// The resolved API base and the origin its authorize page is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    /// The API base, without a trailing slash (`https://openrouter.ai/api/v1`).
    api_base: Url,
    /// `scheme://host[:port]` of the API base.
    origin: Url,
}

/// A configured base URL that cannot be used.
pub(crate) type EndpointError = BaseUrlError;

impl Endpoints {
    /// Resolves the base from the host's services, which a sign-in and a model call share:
    /// the environment first, then config, then the default.
    pub(crate) fn from_host(host: &HostServices) -> Result<Self, EndpointError> {
        Ok(Self::at(LOCATION.resolve(host)?))
    }

    /// Resolves from an environment value and a config value, the environment winning.
    #[cfg(test)]
    pub(crate) fn resolve(env: Option<&str>, config: Option<&str>) -> Result<Self, EndpointError> {
        Ok(Self::at(LOCATION.resolve_from(env, config)?))
    }

    /// The API base as the host's settings resolve it, for `models status`; `None` when the
    /// settings cannot be used (the call itself then says why).
    pub(crate) fn service_url(host: &HostServices) -> Option<String> {
        LOCATION
            .resolve(host)
            .ok()
            .map(|base| base.as_str().trim_end_matches('/').to_owned())
    }

    fn at(api_base: Url) -> Self {
        let mut origin = api_base.clone();
        origin.set_path("");
        Self { api_base, origin }
    }

    /// `<origin>/auth?callback_url=<redirect with ?state=...>&code_challenge=...&code_challenge_method=S256`.
    ///
    /// OpenRouter has no `state` parameter of its own; it keeps the callback URL's query and
    /// adds `code`, so the state travels inside `callback_url` and comes back beside the code.
    pub(crate) fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Url {
        let mut callback = request.redirect_uri.clone();
        callback
            .query_pairs_mut()
            .append_pair("state", request.state.as_str());
        let mut url = self.origin.clone();
        url.set_path("/auth");
        url.query_pairs_mut()
            .append_pair("callback_url", callback.as_str())
            .append_pair("code_challenge", request.pkce.challenge())
            .append_pair("code_challenge_method", request.pkce.method());
        url
    }

    /// `POST` here to exchange a code for a key.
    pub(crate) fn keys_url(&self) -> String {
        join_path(&self.api_base, "/auth/keys")
    }

    /// `POST` here to run a model.
    pub(crate) fn chat_url(&self) -> String {
        join_path(&self.api_base, "/chat/completions")
    }

    /// `GET` here for the models OpenRouter offers.
    pub(crate) fn models_url(&self) -> String {
        join_path(&self.api_base, "/models")
    }

    /// `GET` here for what OpenRouter knows of the key sent (the "get current API key"
    /// endpoint).
    pub(crate) fn key_url(&self) -> String {
        join_path(&self.api_base, "/key")
    }

    /// The API base, without a trailing slash.
    #[cfg(test)]
    pub(crate) fn api_base(&self) -> &str {
        self.api_base.as_str().trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::FixedRandom;
    use plugboard_oauth::LoginSecrets;

    use super::*;

    #[test]
    fn base_url_comes_from_env_then_config_then_default() {
        let cases = [
            (None, None, Ok("https://openrouter.ai/api/v1")),
            (Some(""), Some("  "), Ok("https://openrouter.ai/api/v1")),
            (
                Some("http://127.0.0.1:8080/api/v1/"),
                Some("https://cfg.test/api/v1"),
                Ok("http://127.0.0.1:8080/api/v1"),
            ),
            (
                None,
                Some("https://cfg.test/api/v1"),
                Ok("https://cfg.test/api/v1"),
            ),
            (
                Some("http://localhost:9/v1"),
                None,
                Ok("http://localhost:9/v1"),
            ),
            (Some("http://[::1]:9/v1"), None, Ok("http://[::1]:9/v1")),
            (
                Some("http://openrouter.ai/api/v1"),
                None,
                Err(
                    "OPENROUTER_BASE_URL uses http:// for openrouter.ai: only https is allowed, except for a loopback host (127.0.0.1, ::1 or localhost)",
                ),
            ),
            (
                None,
                Some("http://10.0.0.1/api/v1"),
                Err(
                    "config providers.openrouter.base_url uses http:// for 10.0.0.1: only https is allowed, except for a loopback host (127.0.0.1, ::1 or localhost)",
                ),
            ),
            (
                Some("openrouter.ai/api/v1"),
                None,
                Err(
                    "OPENROUTER_BASE_URL is not a valid URL (relative URL without a base): use e.g. https://openrouter.ai/api/v1",
                ),
            ),
            (
                Some("file:///etc/passwd"),
                None,
                Err(
                    "OPENROUTER_BASE_URL is not a valid URL (it needs an http(s) scheme and a host): use e.g. https://openrouter.ai/api/v1",
                ),
            ),
        ];
        for (env, config, want) in cases {
            let got = Endpoints::resolve(env, config);
            match want {
                Ok(base) => assert_eq!(got.unwrap().api_base(), base, "{env:?} {config:?}"),
                Err(message) => assert_eq!(got.unwrap_err().to_string(), message),
            }
        }
    }

    #[test]
    fn the_host_services_give_the_base_url_env_first_and_an_empty_env_value_counts_as_unset() {
        let base = |host: &HostServices| Endpoints::from_host(host).unwrap().api_base().to_owned();
        let host = HostServices::default();
        assert_eq!(base(&host), DEFAULT_BASE_URL);
        let host = host.with_config(serde_json::json!({
            "base_url": "https://top-level.test/api/v1",
            "providers": {PROVIDER_ID: {BASE_URL_CONFIG_KEY: "https://cfg.test/api/v1"}},
        }));
        assert_eq!(base(&host), "https://cfg.test/api/v1");
        let host = host.with_env(BASE_URL_ENV, "https://env.test/api/v1");
        assert_eq!(base(&host), "https://env.test/api/v1");
        let host = host.with_env(BASE_URL_ENV, "");
        assert_eq!(base(&host), "https://cfg.test/api/v1");
    }

    #[test]
    fn the_service_url_is_the_resolved_api_base_or_nothing_when_unusable() {
        let cases = [
            (None, Some("https://openrouter.ai/api/v1")),
            (
                Some("http://127.0.0.1:8080/api/v1/"),
                Some("http://127.0.0.1:8080/api/v1"),
            ),
            (Some("https://proxy.test/"), Some("https://proxy.test")),
            (Some("http://openrouter.ai/api/v1"), None),
            (Some("https://user:pw@openrouter.ai/api/v1"), None),
        ];
        for (env, want) in cases {
            let mut host = HostServices::default();
            if let Some(env) = env {
                host = host.with_env(BASE_URL_ENV, env);
            }
            assert_eq!(Endpoints::service_url(&host).as_deref(), want, "{env:?}");
        }
        let host = HostServices::default().with_env(BASE_URL_ENV, "http://127.0.0.1:9/api/v1");
        let endpoints = Endpoints::from_host(&host).unwrap();
        assert_eq!(endpoints.models_url(), "http://127.0.0.1:9/api/v1/models");
        assert_eq!(endpoints.key_url(), "http://127.0.0.1:9/api/v1/key");
    }

    #[test]
    fn a_base_url_with_a_user_name_or_password_is_refused_without_repeating_it() {
        let cases = [
            (Some("https://user:hunter2@openrouter.ai/api/v1"), None),
            (Some("https://:hunter2@openrouter.ai/api/v1"), None),
            (Some("https://hunter2@openrouter.ai/api/v1"), None),
            (Some("http://user:hunter2@127.0.0.1:8080/api/v1"), None),
            (None, Some("https://user:hunter2@cfg.test/api/v1")),
        ];
        for (env, config) in cases {
            let error = Endpoints::resolve(env, config).unwrap_err();
            assert!(
                matches!(error, EndpointError::Userinfo { .. }),
                "{env:?} {config:?}: {error:?}"
            );
            let message = error.to_string();
            assert!(!message.contains("hunter2"), "{message}");
            assert!(message.contains("user name or password"), "{message}");
        }
        assert_eq!(
            Endpoints::resolve(None, Some("https://user:hunter2@cfg.test/api/v1"))
                .unwrap_err()
                .to_string(),
            "config providers.openrouter.base_url carries a user name or password: remove the part before @ (credentials are sent as headers, never in the URL)"
        );
    }

    #[test]
    fn only_true_loopback_hosts_may_use_plain_http() {
        let cases = [
            ("http://127.0.0.1:8080/api/v1", true),
            ("http://127.1.2.3/api/v1", true),
            ("http://[::1]:8080/api/v1", true),
            ("http://localhost:8080/api/v1", true),
            ("http://localhost.:8080/api/v1", false),
            ("http://[::ffff:127.0.0.1]:8080/api/v1", false),
            ("http://localhost.example:8080/api/v1", false),
        ];
        for (base, allowed) in cases {
            let got = Endpoints::resolve(Some(base), None);
            match got {
                Ok(_) => assert!(allowed, "{base} was allowed"),
                Err(EndpointError::Insecure { .. }) => assert!(!allowed, "{base} was refused"),
                Err(other) => panic!("{base}: {other:?}"),
            }
        }
    }

    #[test]
    fn authorize_url_carries_state_inside_the_encoded_callback() {
        let endpoints = Endpoints::resolve(Some("http://127.0.0.1:8080/api/v1"), None).unwrap();
        let secrets = LoginSecrets::generate(&FixedRandom(9));
        let redirect = Url::parse("http://localhost:3000/openrouter-oauth/callback").unwrap();
        let url = endpoints.authorize_url(&AuthorizeRequest {
            redirect_uri: &redirect,
            state: &secrets.state,
            pkce: &secrets.pkce,
        });
        assert_eq!(url.origin().ascii_serialization(), "http://127.0.0.1:8080");
        assert_eq!(url.path(), "/auth");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let callback = format!(
            "http://localhost:3000/openrouter-oauth/callback?state={}",
            secrets.state.as_str()
        );
        assert_eq!(
            pairs,
            [
                ("callback_url".to_owned(), callback),
                (
                    "code_challenge".to_owned(),
                    secrets.pkce.challenge().to_owned()
                ),
                ("code_challenge_method".to_owned(), "S256".to_owned()),
            ]
        );
        // The callback's own `?` and `=` are encoded, so OpenRouter sees one parameter.
        assert!(url.as_str().contains("callback%3Fstate%3D"), "{url}");
        assert_eq!(
            endpoints.keys_url(),
            "http://127.0.0.1:8080/api/v1/auth/keys"
        );
    }
}
