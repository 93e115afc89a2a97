//! The host's services for one call into a provider: built here, once, for sign-in and model
//! calls alike, so both see the same HTTP settings and client, config and environment.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use plugboard_core::{HostServices, HttpClient, HttpSettings, Provider};

use crate::app::App;
use crate::network;

/// The services `provider` gets for a command whose requests may take up to
/// `default_timeout` (unless `PLUGBOARD_HTTP_TIMEOUT` says otherwise): the real HTTP client,
/// the current config file and the provider's declared environment variables.
pub(crate) fn host_services(
    app: &App,
    provider: &dyn Provider,
    default_timeout: Duration,
) -> anyhow::Result<HostServices> {
    let http = network::http_settings(default_timeout)?;
    let client = network::client(&http)?;
    let config = app.config().load()?;
    Ok(services_for(provider, http, client, config))
}

/// The services `provider` gets from parts a command shares between the providers it asks at
/// once (one HTTP client, one read of the config): only the environment is the provider's own.
pub(crate) fn services_for(
    provider: &dyn Provider,
    http: HttpSettings,
    client: Arc<dyn HttpClient>,
    config: serde_json::Value,
) -> HostServices {
    let env = provider_env(provider, |name| std::env::var(name).ok());
    HostServices::new(http, client, config, env)
}

/// The services `provider` gets when nothing may be sent: its config and environment, and a
/// client that answers every request with "no network". `models status` asks a provider
/// where its service is with these, so looking can never reach a service.
pub(crate) fn offline_services(provider: &dyn Provider, config: serde_json::Value) -> HostServices {
    let mut host = HostServices::default().with_config(config);
    host.env = provider_env(provider, |name| std::env::var(name).ok());
    host
}

/// The provider's declared environment variables that are set (per `lookup`), and nothing
/// else: a provider sees only what it declared. Empty values are passed on as they are;
/// [`HostServices::env_var`] treats them as unset.
fn provider_env(
    provider: &dyn Provider,
    lookup: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    provider
        .env_vars()
        .iter()
        .filter_map(|v| lookup(&v.name).map(|value| (v.name.to_string(), value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use plugboard_openrouter::{API_KEY_ENV, BASE_URL_ENV, OpenRouterProvider};

    use super::*;

    #[test]
    fn a_provider_gets_only_the_variables_it_declared_that_are_set() {
        let provider = OpenRouterProvider::new();
        let env = provider_env(&provider, |name| match name {
            BASE_URL_ENV => Some("https://env.test/api/v1".to_owned()),
            API_KEY_ENV => Some(String::new()),
            _ => Some("leaked".to_owned()),
        });
        assert_eq!(
            env,
            BTreeMap::from([
                (API_KEY_ENV.to_owned(), String::new()),
                (
                    BASE_URL_ENV.to_owned(),
                    "https://env.test/api/v1".to_owned()
                ),
            ])
        );
        let mut host = HostServices::default();
        host.env = env;
        assert_eq!(host.env_var(API_KEY_ENV), None);
        assert_eq!(host.env_var(BASE_URL_ENV), Some("https://env.test/api/v1"));

        let nothing_set = provider_env(&provider, |_| None);
        assert!(nothing_set.is_empty());
    }
}
