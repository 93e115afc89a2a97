//! What every call into one of a plugin's providers shares: the plugin, which provider, where
//! its service is (the one base-URL rule, or the contract's scripted service on loopback), its
//! settings, and the secrets to scrub from what the plugin says.

use std::sync::Arc;
use std::time::Duration;

use plugboard_core::{Credential, HostServices, base_url_env};
use plugboard_http::{BaseUrlError, ServiceLocation};
use plugboard_protocol::{HostMessage, PluginMessage, WireError};
use thiserror::Error;

use crate::bridge::Bridge;
use crate::error::ExecError;
use crate::plugin::Plugin;
use crate::relay::{QuietRelay, Secrets};
use crate::session::{Relay, Request};

/// One provider of a plugin, as its sign-in methods and capabilities reach it.
pub(crate) struct ProviderCalls {
    pub(crate) plugin: Arc<Plugin>,
    /// The provider id.
    pub(crate) provider: String,
    /// Its name, for the errors of its service (`into_model(service)`).
    pub(crate) label: String,
    /// `runtime.base_url`.
    default_base_url: Option<String>,
}

/// Where one call's service is. Holds the bridge, when there is one, for the call's duration.
pub(crate) struct Service {
    /// The base URL handed to the plugin.
    pub(crate) base_url: Option<String>,
    _bridge: Option<Bridge>,
}

/// The service of a call could not be located.
#[derive(Debug, Error)]
pub(crate) enum ServiceError {
    /// The user's base URL setting cannot be used.
    #[error(transparent)]
    BaseUrl(#[from] BaseUrlError),
    /// The loopback bridge did not start.
    #[error(transparent)]
    Bridge(#[from] ExecError),
}

impl ProviderCalls {
    pub(crate) fn new(
        plugin: Arc<Plugin>,
        provider: &str,
        label: &str,
        default_base_url: Option<String>,
    ) -> Self {
        Self {
            plugin,
            provider: provider.to_owned(),
            label: label.to_owned(),
            default_base_url,
        }
    }

    /// The base URL from the host's services: `<PROVIDER>_BASE_URL`, then config
    /// `providers.<id>.base_url`, then `runtime.base_url`; `None` when none is set. The same
    /// rule as every provider's (plain http only to loopback unless the user allowed it).
    pub(crate) fn base_url(&self, host: &HostServices) -> Result<Option<String>, BaseUrlError> {
        let env_var = base_url_env(&self.provider);
        let location = ServiceLocation {
            provider_id: &self.provider,
            env_var: &env_var,
            default: self.default_base_url.as_deref().unwrap_or_default(),
        };
        let set = |value: Option<&str>| value.is_some_and(|v| !v.trim().is_empty());
        if self.default_base_url.is_none()
            && !set(host.env_var(&env_var))
            && !set(location.configured_base_url(host))
        {
            return Ok(None);
        }
        let url = location.resolve(host)?;
        Ok(Some(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// Where this call's requests go: with the options' bridge, a loopback server answering
    /// through `host.http_client` for as long as the returned [`Service`] lives; otherwise the
    /// configured base URL.
    pub(crate) async fn service(&self, host: &HostServices) -> Result<Service, ServiceError> {
        if !self.plugin.options.bridge {
            return Ok(Service {
                base_url: self.base_url(host)?,
                _bridge: None,
            });
        }
        let bridge = Bridge::start(Arc::clone(&host.http_client))
            .await
            .map_err(|source| ExecError::Bridge {
                plugin: self.plugin.id.clone(),
                source: Arc::new(source),
            })?;
        Ok(Service {
            base_url: Some(bridge.url().to_owned()),
            _bridge: Some(bridge),
        })
    }

    /// The provider's settings from the user's config (`providers.<id>`), `null` when none (as
    /// the protocol says, and as the SDK reads it: no settings, not empty ones).
    pub(crate) fn settings(&self, host: &HostServices) -> serde_json::Value {
        host.provider_config(&self.provider)
            .cloned()
            .unwrap_or_default()
    }

    /// A request nobody can be asked anything during (a model call, a listing, a refresh), with
    /// the plugin's own time limit.
    pub(crate) async fn quiet<F: FnOnce(u64) -> HostMessage>(
        &self,
        request: Request<F>,
        secrets: &Secrets,
    ) -> Result<PluginMessage, ExecError> {
        let options = &self.plugin.options;
        let mut relay = QuietRelay {
            plugin: &self.plugin.id,
            verbose: options.verbose,
            sink: options.stderr.as_ref(),
            secrets,
        };
        self.call(request, Duration::ZERO, &mut relay).await
    }

    /// A request relayed through `relay`, allowed at least `at_least` (a sign-in waiting for
    /// a browser).
    pub(crate) async fn call<F: FnOnce(u64) -> HostMessage>(
        &self,
        request: Request<F>,
        at_least: Duration,
        relay: &mut dyn Relay,
    ) -> Result<PluginMessage, ExecError> {
        let limit = self.plugin.request_limit(at_least);
        self.plugin.call(request, limit, relay).await
    }

    /// Stops the plugin for an answer this request cannot use (the session let it through:
    /// it was well-formed), returning the error.
    pub(crate) async fn refuse(&self, error: ExecError) -> ExecError {
        self.plugin.stop(error).await
    }

    /// [`ProviderCalls::refuse`] for an answer of the wrong type.
    pub(crate) async fn wrong_answer(
        &self,
        request: &'static str,
        got: &PluginMessage,
    ) -> ExecError {
        self.refuse(ExecError::WrongAnswer {
            plugin: self.plugin.id.clone(),
            request,
            got: crate::session::kind(got),
        })
        .await
    }

    /// [`ProviderCalls::refuse`] for an answer whose content cannot be used.
    pub(crate) async fn bad_answer(&self, problem: impl Into<String>) -> ExecError {
        self.refuse(ExecError::BadAnswer {
            plugin: self.plugin.id.clone(),
            problem: problem.into(),
        })
        .await
    }
}

/// Every secret `credential` holds, to scrub from what the plugin says about it.
pub(crate) fn credential_secrets(credential: &Credential) -> Secrets {
    let mut secrets = Secrets::default();
    if credential.has_secret() {
        secrets.add(credential.expose_secret());
    }
    if let Some(token) = credential.refresh_token() {
        secrets.add(token);
    }
    if let Some(token) = credential.session_token() {
        secrets.add(token);
    }
    secrets
}

/// The plugin's error with the call's secrets scrubbed and its message made one safe line.
pub(crate) fn scrubbed(error: WireError, secrets: &Secrets) -> WireError {
    WireError::new(error.kind, secrets.line(&error.message, 300))
}
