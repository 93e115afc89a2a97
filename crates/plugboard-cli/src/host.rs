//! The host's services for one call into a provider: built here, once, for sign-in and model
//! calls alike, so both see the same HTTP settings and client, config and environment.

use std::collections::BTreeMap;
use std::time::Duration;

use plugboard_core::{HostServices, Provider};

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
    Ok(HostServices::new(
        http,
        client,
        config,
        provider_env(provider),
    ))
}

/// The provider's declared environment variables that are set, and nothing else: a provider
/// sees only what it declared.
fn provider_env(provider: &dyn Provider) -> BTreeMap<String, String> {
    provider
        .env_vars()
        .iter()
        .filter_map(|v| {
            std::env::var(v.name)
                .ok()
                .map(|value| (v.name.to_owned(), value))
        })
        .collect()
}
