//! What a plugin serves: its id and version (for `hello`), its providers, its contract
//! fixtures, and how it reaches the network.

use std::fmt;
use std::time::Duration;

use plugboard_core::{HttpSettings, Provider};
use plugboard_protocol::Fixtures;

/// The plugin's HTTP request timeout unless it sets its own: under the 30 s the host gives a
/// request by default (`runtime.timeout_secs`), so a slow service fails the call as a slow
/// service, before the host gives up on the plugin as hung and stops it.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(25);

/// An executable plugin to serve: built once in `main`, then handed to [`run`](crate::run),
/// [`serve`](crate::serve) or [`serve_io`](crate::serve_io).
pub struct Plugin {
    id: String,
    version: String,
    providers: Vec<Box<dyn Provider>>,
    fixtures: Fixtures,
    http: HttpSettings,
}

impl Plugin {
    /// A plugin with the id its manifest declares and its own version, serving no provider yet.
    pub fn new(id: impl Into<String>, version: impl Into<String>) -> Self {
        let id = id.into();
        let version = version.into();
        let mut http = HttpSettings::default();
        http.request_timeout = http.request_timeout.min(DEFAULT_REQUEST_TIMEOUT);
        http.user_agent = format!(
            "{id}/{version} plugboard-plugin/{}",
            env!("CARGO_PKG_VERSION")
        );
        Self {
            id,
            version,
            providers: Vec::new(),
            fixtures: Fixtures::default(),
            http,
        }
    }

    /// Serves `provider` too: requests naming its id go to it.
    #[must_use]
    pub fn provider(mut self, provider: Box<dyn Provider>) -> Self {
        self.providers.push(provider);
        self
    }

    /// The contract fixtures the plugin declares (its answer to `list_fixtures`), for
    /// `plugboard plugins check`.
    #[must_use]
    pub fn fixtures(mut self, fixtures: Fixtures) -> Self {
        self.fixtures = fixtures;
        self
    }

    /// How the plugin's HTTP client connects: timeouts and `User-Agent`. By default the core's
    /// connect timeout, a request timeout of 25 s, and `<id>/<version> plugboard-plugin/<sdk
    /// version>` as the agent. Keep the request timeout below the host's per-request timeout
    /// (`runtime.timeout_secs`, 30 s by default), so a slow service is reported as such rather
    /// than as a plugin that hung.
    #[must_use]
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.http = settings;
        self
    }

    /// The plugin id, as its manifest declares it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The plugin's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The provider with this id, if the plugin serves it.
    pub(crate) fn find(&self, id: &str) -> Option<&dyn Provider> {
        self.providers
            .iter()
            .find(|p| p.id() == id)
            .map(|p| p.as_ref())
    }

    pub(crate) fn fixture_list(&self) -> &Fixtures {
        &self.fixtures
    }

    pub(crate) fn http(&self) -> &HttpSettings {
        &self.http
    }
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let providers: Vec<&str> = self.providers.iter().map(|p| p.id()).collect();
        f.debug_struct("Plugin")
            .field("id", &self.id)
            .field("version", &self.version)
            .field("providers", &providers)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_service_times_out_in_the_plugin_before_the_host_gives_up_on_it() {
        let host_default = Duration::from_secs(30);
        let plugin = Plugin::new("acme", "1.0.0");
        assert!(plugin.http().request_timeout < host_default);
        assert!(plugin.http().connect_timeout < host_default);
        assert_eq!(
            plugin.http().user_agent,
            format!("acme/1.0.0 plugboard-plugin/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
