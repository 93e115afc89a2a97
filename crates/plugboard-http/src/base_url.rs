//! Where a provider's service is: one rule for every provider. The provider's base-URL
//! environment variable wins, then config `providers.<id>.base_url`, then the real service.
//! Plain http is allowed only to this machine, unless config `providers.<id>.allow_plain_http`
//! is `true` (a service of the user's own on their local network, such as an Ollama server),
//! and a URL with a user name or password is always refused, so keys and codes never cross the
//! network in the clear without the user asking for it, or land in a URL.

use plugboard_core::HostServices;
use thiserror::Error;
use url::Url;

use crate::loopback::is_unencrypted;

/// The config key (under `providers.<id>`) that moves a provider's service.
pub const BASE_URL_CONFIG_KEY: &str = "base_url";

/// The config key (under `providers.<id>`) that lets plain `http://` reach a host other than
/// this machine when set to `true` (the JSON boolean; anything else leaves the rule as it is).
pub const ALLOW_PLAIN_HTTP_CONFIG_KEY: &str = "allow_plain_http";

/// Where plain `http://` may go. Only the user can widen it, through config
/// (`providers.<id>.allow_plain_http: true`): a setting in a file they own says they know the
/// traffic to that service is unencrypted, which an environment variable set somewhere in a
/// shell's startup files would not say as plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlainHttp {
    /// Only to a loopback host (`127.0.0.0/8`, `::1`, `localhost`): the rule for everyone.
    #[default]
    LoopbackOnly,
    /// To any host: the user set `providers.<id>.allow_plain_http` to `true`.
    Allowed,
}

/// Where one provider's service is by default, and which settings may move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLocation<'a> {
    /// The provider id, naming its config object (`providers.<id>.base_url`).
    pub provider_id: &'a str,
    /// Its base-URL environment variable (`OPENROUTER_BASE_URL`).
    pub env_var: &'a str,
    /// The real service's base URL.
    pub default: &'a str,
}

/// A configured base URL that cannot be used. `setting` names where it came from (the
/// variable or config key), so the user knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BaseUrlError {
    /// Not an absolute http(s) URL with a host.
    #[error("{setting} is not a valid URL ({reason}): use e.g. {example}")]
    Invalid {
        /// The variable or config key.
        setting: String,
        /// What is wrong.
        reason: String,
        /// The real service's URL, as an example.
        example: String,
    },
    /// Plain http to a host that is not this machine.
    #[error(
        "{setting} uses {scheme}:// for {host}: only https is allowed, except for a loopback host (127.0.0.1, ::1 or localhost)"
    )]
    Insecure {
        /// The variable or config key.
        setting: String,
        /// The scheme used.
        scheme: String,
        /// The host named.
        host: String,
    },
    /// A user name or password in the URL. The URL itself is not repeated, since it holds the
    /// password.
    #[error(
        "{setting} carries a user name or password: remove the part before @ (credentials are sent as headers, never in the URL)"
    )]
    Userinfo {
        /// The variable or config key.
        setting: String,
    },
}

impl ServiceLocation<'_> {
    /// The base URL from the host's services, which a sign-in, a refresh and a model call
    /// share: the environment first, then config, then the default. An empty value counts as
    /// unset. Plain http reaches a non-loopback host only when [`ServiceLocation::plain_http`]
    /// allows it. The result has no trailing slash in its path.
    pub fn resolve(&self, host: &HostServices) -> Result<Url, BaseUrlError> {
        self.resolve_with(
            host.env_var(self.env_var),
            self.configured_base_url(host),
            self.plain_http(host),
        )
    }

    /// The base URL config gives (`providers.<id>.base_url`), if it is a string.
    pub fn configured_base_url<'h>(&self, host: &'h HostServices) -> Option<&'h str> {
        host.provider_config(self.provider_id)?
            .get(BASE_URL_CONFIG_KEY)?
            .as_str()
    }

    /// Where plain http may go for this provider: [`PlainHttp::Allowed`] exactly when config
    /// `providers.<id>.allow_plain_http` is `true`.
    pub fn plain_http(&self, host: &HostServices) -> PlainHttp {
        let allowed = host
            .provider_config(self.provider_id)
            .and_then(|c| c.get(ALLOW_PLAIN_HTTP_CONFIG_KEY))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if allowed {
            PlainHttp::Allowed
        } else {
            PlainHttp::LoopbackOnly
        }
    }

    /// [`ServiceLocation::resolve`] from an environment value and a config value, with plain
    /// http to loopback only.
    pub fn resolve_from(
        &self,
        env: Option<&str>,
        config: Option<&str>,
    ) -> Result<Url, BaseUrlError> {
        self.resolve_with(env, config, PlainHttp::LoopbackOnly)
    }

    /// [`ServiceLocation::resolve`] from an environment value, a config value and where plain
    /// http may go. Everything else (a valid http(s) URL with a host, no user name or password)
    /// holds whatever `plain_http` says.
    pub fn resolve_with(
        &self,
        env: Option<&str>,
        config: Option<&str>,
        plain_http: PlainHttp,
    ) -> Result<Url, BaseUrlError> {
        let (raw, setting) = match (env.map(str::trim), config.map(str::trim)) {
            (Some(v), _) if !v.is_empty() => (v, self.env_var.to_owned()),
            (_, Some(v)) if !v.is_empty() => (
                v,
                format!(
                    "config providers.{}.{BASE_URL_CONFIG_KEY}",
                    self.provider_id
                ),
            ),
            _ => (self.default, "the default base URL".to_owned()),
        };
        let invalid = |reason: String| BaseUrlError::Invalid {
            setting: setting.clone(),
            reason,
            example: self.default.to_owned(),
        };
        let mut url = Url::parse(raw).map_err(|e| invalid(e.to_string()))?;
        let host = match url.host_str() {
            Some(h) if url.scheme() == "https" || url.scheme() == "http" => h.to_owned(),
            _ => return Err(invalid("it needs an http(s) scheme and a host".to_owned())),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BaseUrlError::Userinfo { setting });
        }
        if plain_http == PlainHttp::LoopbackOnly && is_unencrypted(&url) {
            return Err(BaseUrlError::Insecure {
                setting,
                scheme: url.scheme().to_owned(),
                host,
            });
        }
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
        url.set_query(None);
        url.set_fragment(None);
        Ok(url)
    }
}

/// `base` with `path` (which starts with `/`) appended to its path: `https://h/api/v1` and
/// `/chat/completions` make `https://h/api/v1/chat/completions`.
pub fn join_path(base: &Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACME: ServiceLocation<'static> = ServiceLocation {
        provider_id: "acme",
        env_var: "ACME_BASE_URL",
        default: "https://api.acme.test/v1",
    };

    #[test]
    fn base_url_comes_from_env_then_config_then_default() {
        let cases = [
            (None, None, Ok("https://api.acme.test/v1")),
            (Some(""), Some("  "), Ok("https://api.acme.test/v1")),
            (
                Some("http://127.0.0.1:8080/v1/"),
                Some("https://cfg.test/v1"),
                Ok("http://127.0.0.1:8080/v1"),
            ),
            (None, Some("https://cfg.test/v1"), Ok("https://cfg.test/v1")),
            (Some("http://localhost:9"), None, Ok("http://localhost:9/")),
            (Some("http://[::1]:9/v1"), None, Ok("http://[::1]:9/v1")),
            (
                Some("http://api.acme.test/v1"),
                None,
                Err(
                    "ACME_BASE_URL uses http:// for api.acme.test: only https is allowed, except for a loopback host (127.0.0.1, ::1 or localhost)",
                ),
            ),
            (
                None,
                Some("http://10.0.0.1/v1"),
                Err(
                    "config providers.acme.base_url uses http:// for 10.0.0.1: only https is allowed, except for a loopback host (127.0.0.1, ::1 or localhost)",
                ),
            ),
            (
                Some("api.acme.test/v1"),
                None,
                Err(
                    "ACME_BASE_URL is not a valid URL (relative URL without a base): use e.g. https://api.acme.test/v1",
                ),
            ),
            (
                Some("file:///etc/passwd"),
                None,
                Err(
                    "ACME_BASE_URL is not a valid URL (it needs an http(s) scheme and a host): use e.g. https://api.acme.test/v1",
                ),
            ),
        ];
        for (env, config, want) in cases {
            let got = ACME.resolve_from(env, config);
            match want {
                Ok(base) => assert_eq!(got.unwrap().as_str(), base, "{env:?} {config:?}"),
                Err(message) => assert_eq!(got.unwrap_err().to_string(), message),
            }
        }
    }

    #[test]
    fn the_host_services_give_the_base_url_env_first_and_an_empty_env_value_counts_as_unset() {
        let base = |host: &HostServices| ACME.resolve(host).unwrap().to_string();
        let host = HostServices::default();
        assert_eq!(base(&host), ACME.default);
        let host = host.with_config(serde_json::json!({
            "base_url": "https://top-level.test/v1",
            "providers": {"acme": {BASE_URL_CONFIG_KEY: "https://cfg.test/v1"}},
        }));
        assert_eq!(base(&host), "https://cfg.test/v1");
        let host = host.with_env("ACME_BASE_URL", "https://env.test/v1");
        assert_eq!(base(&host), "https://env.test/v1");
        let host = host.with_env("ACME_BASE_URL", "");
        assert_eq!(base(&host), "https://cfg.test/v1");
    }

    #[test]
    fn a_base_url_with_a_user_name_or_password_is_refused_without_repeating_it() {
        let cases = [
            (Some("https://user:hunter2@api.acme.test/v1"), None),
            (Some("https://:hunter2@api.acme.test/v1"), None),
            (Some("https://hunter2@api.acme.test/v1"), None),
            (Some("http://user:hunter2@127.0.0.1:8080/v1"), None),
            (None, Some("https://user:hunter2@cfg.test/v1")),
        ];
        for (env, config) in cases {
            let error = ACME.resolve_from(env, config).unwrap_err();
            assert!(
                matches!(error, BaseUrlError::Userinfo { .. }),
                "{env:?} {config:?}: {error:?}"
            );
            let message = error.to_string();
            assert!(!message.contains("hunter2"), "{message}");
            assert!(message.contains("user name or password"), "{message}");
        }
    }

    #[test]
    fn only_true_loopback_hosts_may_use_plain_http() {
        let cases = [
            ("http://127.0.0.1:8080/v1", true),
            ("http://127.1.2.3/v1", true),
            ("http://[::1]:8080/v1", true),
            ("http://localhost:8080/v1", true),
            ("http://localhost.:8080/v1", false),
            ("http://[::ffff:127.0.0.1]:8080/v1", false),
            ("http://localhost.example:8080/v1", false),
        ];
        for (base, allowed) in cases {
            match ACME.resolve_from(Some(base), None) {
                Ok(_) => assert!(allowed, "{base} was allowed"),
                Err(BaseUrlError::Insecure { .. }) => assert!(!allowed, "{base} was refused"),
                Err(other) => panic!("{base}: {other:?}"),
            }
        }
    }

    #[test]
    fn allowing_plain_http_lets_it_reach_any_host_and_changes_nothing_else() {
        use PlainHttp::{Allowed, LoopbackOnly};
        let cases = [
            ("http://192.168.1.5:11434", LoopbackOnly, Err("insecure")),
            (
                "http://192.168.1.5:11434",
                Allowed,
                Ok("http://192.168.1.5:11434/"),
            ),
            (
                "http://ollama.lan/base/",
                Allowed,
                Ok("http://ollama.lan/base"),
            ),
            (
                "http://127.0.0.1:9",
                LoopbackOnly,
                Ok("http://127.0.0.1:9/"),
            ),
            ("http://127.0.0.1:9", Allowed, Ok("http://127.0.0.1:9/")),
            (
                "https://api.acme.test/v1",
                Allowed,
                Ok("https://api.acme.test/v1"),
            ),
            ("http://user:hunter2@192.168.1.5", Allowed, Err("userinfo")),
            ("ftp://192.168.1.5", Allowed, Err("invalid")),
            ("192.168.1.5:11434", Allowed, Err("invalid")),
        ];
        for (base, plain_http, want) in cases {
            let got = ACME.resolve_with(Some(base), None, plain_http);
            let got = match &got {
                Ok(url) => Ok(url.as_str()),
                Err(BaseUrlError::Insecure { .. }) => Err("insecure"),
                Err(BaseUrlError::Userinfo { .. }) => Err("userinfo"),
                Err(BaseUrlError::Invalid { .. }) => Err("invalid"),
            };
            assert_eq!(got, want, "{base} {plain_http:?}");
        }
        let config = ACME.resolve_with(None, Some("http://10.0.0.1/v1"), Allowed);
        assert_eq!(config.unwrap().as_str(), "http://10.0.0.1/v1");
    }

    #[test]
    fn only_the_boolean_true_in_the_providers_config_allows_plain_http() {
        let cases = [
            (serde_json::json!({}), PlainHttp::LoopbackOnly),
            (
                serde_json::json!({"providers": {"acme": {}}}),
                PlainHttp::LoopbackOnly,
            ),
            (
                serde_json::json!({"providers": {"acme": {ALLOW_PLAIN_HTTP_CONFIG_KEY: true}}}),
                PlainHttp::Allowed,
            ),
            (
                serde_json::json!({"providers": {"acme": {ALLOW_PLAIN_HTTP_CONFIG_KEY: false}}}),
                PlainHttp::LoopbackOnly,
            ),
            (
                serde_json::json!({"providers": {"acme": {ALLOW_PLAIN_HTTP_CONFIG_KEY: "true"}}}),
                PlainHttp::LoopbackOnly,
            ),
            (
                serde_json::json!({"providers": {"acme": {ALLOW_PLAIN_HTTP_CONFIG_KEY: 1}}}),
                PlainHttp::LoopbackOnly,
            ),
            // Another provider's permission is not this one's, nor is a top-level key.
            (
                serde_json::json!({
                    ALLOW_PLAIN_HTTP_CONFIG_KEY: true,
                    "providers": {"other": {ALLOW_PLAIN_HTTP_CONFIG_KEY: true}},
                }),
                PlainHttp::LoopbackOnly,
            ),
        ];
        for (config, want) in cases {
            let host = HostServices::default().with_config(config.clone());
            assert_eq!(ACME.plain_http(&host), want, "{config}");
        }
    }

    #[test]
    fn resolving_from_the_host_applies_the_configured_permission_to_env_and_config_alike() {
        let allowed = serde_json::json!({
            "providers": {"acme": {
                ALLOW_PLAIN_HTTP_CONFIG_KEY: true,
                BASE_URL_CONFIG_KEY: "http://10.0.0.2:8080",
            }},
        });
        let host = HostServices::default().with_config(allowed);
        assert_eq!(
            ACME.configured_base_url(&host),
            Some("http://10.0.0.2:8080")
        );
        assert_eq!(
            ACME.resolve(&host).unwrap().as_str(),
            "http://10.0.0.2:8080/"
        );
        let host = host.with_env("ACME_BASE_URL", "http://10.0.0.3");
        assert_eq!(ACME.resolve(&host).unwrap().as_str(), "http://10.0.0.3/");

        let strict = HostServices::default().with_config(
            serde_json::json!({"providers": {"acme": {BASE_URL_CONFIG_KEY: "http://10.0.0.2"}}}),
        );
        assert!(matches!(
            ACME.resolve(&strict),
            Err(BaseUrlError::Insecure { .. })
        ));
    }

    #[test]
    fn paths_are_joined_under_the_base_path() {
        let cases = [
            (
                "https://h.test/api/v1",
                "/chat",
                "https://h.test/api/v1/chat",
            ),
            (
                "http://127.0.0.1:9",
                "/v1/messages",
                "http://127.0.0.1:9/v1/messages",
            ),
        ];
        for (base, path, want) in cases {
            let base = ACME.resolve_from(Some(base), None).unwrap();
            assert_eq!(join_path(&base, path), want);
        }
    }
}
