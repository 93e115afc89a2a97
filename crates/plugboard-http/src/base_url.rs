//! Where a provider's service is: one rule for every provider. The provider's base-URL
//! environment variable wins, then config `providers.<id>.base_url`, then the real service.
//! Plain http is allowed only to this machine, and a URL with a user name or password is
//! refused, so keys and codes never cross the network in the clear or land in a URL.

use plugboard_core::HostServices;
use thiserror::Error;
use url::Url;

use crate::loopback::is_loopback;

/// The config key (under `providers.<id>`) that moves a provider's service.
pub const BASE_URL_CONFIG_KEY: &str = "base_url";

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
    /// unset. The result has no trailing slash in its path.
    pub fn resolve(&self, host: &HostServices) -> Result<Url, BaseUrlError> {
        let configured = host
            .provider_config(self.provider_id)
            .and_then(|c| c.get(BASE_URL_CONFIG_KEY))
            .and_then(|v| v.as_str());
        self.resolve_from(host.env_var(self.env_var), configured)
    }

    /// [`ServiceLocation::resolve`] from an environment value and a config value.
    pub fn resolve_from(
        &self,
        env: Option<&str>,
        config: Option<&str>,
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
        if url.scheme() != "https" && !is_loopback(&url) {
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
