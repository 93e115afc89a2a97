//! What the host lends every call into a plugin, sign-in or model call alike: how to reach the
//! network, the config file and the provider's environment. One struct, built once by the
//! host, so a method and a runner can never see different settings or read them differently.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::http::{HttpClient, NoNetwork};

/// How the host reaches the network on a plugin's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpSettings {
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest wait for a whole request, body included.
    pub request_timeout: Duration,
    /// `User-Agent` to send.
    pub user_agent: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            user_agent: concat!("plugboard/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// The host's services for one call into a plugin: HTTP settings and the client that applies
/// them, the config file and the provider's environment. [`AuthContext`] and [`ModelContext`]
/// both carry it as `host`, so sign-in and model calls reach the same service the same way.
///
/// It has no `Debug`: the environment may hold the provider's key.
///
/// [`AuthContext`]: crate::AuthContext
/// [`ModelContext`]: crate::ModelContext
#[derive(Clone)]
#[non_exhaustive]
pub struct HostServices {
    /// Network timeouts and identity, for plugins that build requests (the host's client
    /// already applies them).
    pub http: HttpSettings,
    /// Sends HTTP requests to the provider's service ([`NoNetwork`] unless the host or a test
    /// supplies one).
    pub http_client: Arc<dyn HttpClient>,
    /// The current config file, read-only (`providers.<id>` holds provider settings).
    pub config: serde_json::Value,
    /// The provider's declared environment variables that are set, as the host sees them.
    pub env: BTreeMap<String, String>,
}

impl HostServices {
    /// Services from their parts: what the host builds once per command.
    pub fn new(
        http: HttpSettings,
        http_client: Arc<dyn HttpClient>,
        config: serde_json::Value,
        env: BTreeMap<String, String>,
    ) -> Self {
        Self {
            http,
            http_client,
            config,
            env,
        }
    }

    /// The same services, sending requests through `client` (a test's script, say).
    pub fn with_http_client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.http_client = client;
        self
    }

    /// The same services, with this config file.
    pub fn with_config(mut self, config: serde_json::Value) -> Self {
        self.config = config;
        self
    }

    /// The same services, with `name` set to `value` in the provider's environment.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    /// An environment variable the provider declared, if set and non-empty: an empty value
    /// counts as unset, as it does for the host's own variables.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The provider's settings object from config (`providers.<id>`), if any.
    pub fn provider_config(&self, provider: &str) -> Option<&serde_json::Value> {
        self.config.get("providers")?.get(provider)
    }
}

impl Default for HostServices {
    /// Default HTTP settings, no network ([`NoNetwork`]), an empty config and no environment:
    /// nothing from outside reaches a plugin unless a test puts it there.
    fn default() -> Self {
        Self::new(
            HttpSettings::default(),
            Arc::new(NoNetwork),
            serde_json::Value::Object(serde_json::Map::new()),
            BTreeMap::new(),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::context::AuthContext;
    use crate::credential::{Credential, CredentialKind, Provenance};
    use crate::http::{HttpError, HttpRequest};
    use crate::model::ModelContext;

    /// One set of services, handed to a sign-in and to a model call as the host does.
    fn both(host: &HostServices) -> [HostServices; 2] {
        let mut auth = AuthContext::scripted([]);
        auth.host = host.clone();
        let credential = Credential::new(
            CredentialKind::ApiKey,
            "k".to_owned().into(),
            Provenance::new(),
        );
        let model = ModelContext::new(credential, host.clone());
        [auth.host, model.host]
    }

    #[test]
    fn an_empty_variable_is_unset_for_sign_in_and_model_calls_alike() {
        let host = HostServices::default()
            .with_env("SET", "value")
            .with_env("EMPTY", "")
            .with_env("SPACE", " ");
        let cases = [
            ("SET", Some("value")),
            ("EMPTY", None),
            // Only the plugin knows whether blank is meaningful, so it is passed on as given.
            ("SPACE", Some(" ")),
            ("UNDECLARED", None),
        ];
        for seen in both(&host) {
            for (name, expected) in cases {
                assert_eq!(seen.env_var(name), expected, "{name}");
            }
        }
    }

    #[test]
    fn provider_settings_are_read_from_providers_id_for_sign_in_and_model_calls_alike() {
        let cases = [
            (
                json!({"providers": {"acme": {"base_url": "https://a"}}, "acme": {"x": 1}}),
                Some(json!({"base_url": "https://a"})),
            ),
            (json!({"providers": {"other": {}}}), None),
            // Top-level keys are the host's, never a provider's settings.
            (json!({"acme": {"base_url": "https://a"}}), None),
            (json!({"providers": ["acme"]}), None),
            (json!({}), None),
        ];
        for (config, expected) in cases {
            let host = HostServices::default().with_config(config.clone());
            for seen in both(&host) {
                assert_eq!(seen.provider_config("acme"), expected.as_ref(), "{config}");
            }
        }
    }

    #[tokio::test]
    async fn the_default_services_reach_no_network() {
        let request = HttpRequest::get("https://example.test/");
        for seen in both(&HostServices::default()) {
            let answer = seen.http_client.send(request.clone()).await;
            assert!(matches!(answer, Err(HttpError::Unavailable(_))));
            assert_eq!(seen.http, HttpSettings::default());
            assert!(seen.env.is_empty());
            assert_eq!(seen.config, json!({}));
        }
    }
}
