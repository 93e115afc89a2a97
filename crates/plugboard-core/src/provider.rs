//! What a provider is: an id, a label, docs, the environment it reads, and its sign-in methods.

use std::borrow::Cow;

use crate::auth::AuthMethod;
use crate::check::CredentialCheck;
use crate::host::HostServices;
use crate::list::ModelLister;
use crate::model::ModelRunner;
use crate::refresh::Refresher;

/// What an environment variable a provider reads is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvRole {
    /// Holds a credential; when set it wins over stored profiles (unless `--profile` is given).
    Credential,
    /// Holds a setting, such as a base URL.
    Setting,
}

/// An environment variable a provider reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// `UPPER_SNAKE` name, e.g. `OPENROUTER_API_KEY`. Owned for providers built from an
    /// installed plugin's manifest at run time.
    pub name: Cow<'static, str>,
    /// What it holds.
    pub role: EnvRole,
}

impl EnvVar {
    /// A variable holding a credential.
    pub const fn credential(name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            role: EnvRole::Credential,
        }
    }

    /// A variable holding a setting.
    pub const fn setting(name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            role: EnvRole::Setting,
        }
    }

    /// A variable whose name is known only at run time (from an installed plugin's manifest).
    pub fn named(name: String, role: EnvRole) -> Self {
        Self {
            name: Cow::Owned(name),
            role,
        }
    }
}

/// A model provider as the host sees it. Object-safe so the registry holds `Box<dyn Provider>`.
pub trait Provider: Send + Sync {
    /// Unique across all plugins, `^[a-z0-9][a-z0-9-]*$`; the prefix of its profile ids and
    /// model refs.
    fn id(&self) -> &str;
    /// Name shown to users.
    fn label(&self) -> &str;
    /// Path of its page in the docs, starting with `/` (`/providers/openrouter`).
    fn docs_path(&self) -> &str;
    /// Environment variables it reads; credential variables first, in precedence order.
    fn env_vars(&self) -> &[EnvVar] {
        &[]
    }
    /// A model to suggest as default, as a `provider/model` ref.
    fn default_model(&self) -> Option<&str> {
        None
    }
    /// Its sign-in methods.
    fn auth_methods(&self) -> &[Box<dyn AuthMethod>];

    /// Where its service is, as the settings in `host` resolve it (base URL environment
    /// variable, config, default): what `models status` shows, and how it tells traffic that
    /// goes unencrypted. `None` when the settings are invalid or the provider cannot say.
    fn service_url(&self, host: &HostServices) -> Option<String> {
        let _ = host;
        None
    }

    /// Its `model.run` capability, if it can run models with a stored credential. A provider
    /// that has one declares `"capabilities": ["model.run"]` in its manifest.
    fn model_runner(&self) -> Option<&dyn ModelRunner> {
        None
    }

    /// Its `model.list` capability, if it can say which models it offers. A provider that has
    /// one declares `"model.list"` in its manifest's capabilities and registers list fixtures.
    fn model_lister(&self) -> Option<&dyn ModelLister> {
        None
    }

    /// How to ask whether a stored credential works, for `models status --check`.
    fn credential_check(&self) -> Option<&dyn CredentialCheck> {
        None
    }

    /// Its refresher, if it issues credentials that expire and can be refreshed (OAuth tokens
    /// with a refresh token), or derives short-lived session tokens from the stored one. A
    /// provider that has one registers refresh fixtures.
    fn refresher(&self) -> Option<&dyn Refresher> {
        None
    }

    /// The sign-in method with this id.
    fn auth_method(&self, id: &str) -> Option<&dyn AuthMethod> {
        self.auth_methods()
            .iter()
            .find(|m| m.id() == id)
            .map(|m| m.as_ref())
    }

    /// Names of its credential environment variables, in precedence order.
    fn credential_env_vars(&self) -> Vec<&str> {
        self.env_vars()
            .iter()
            .filter(|v| v.role == EnvRole::Credential)
            .map(|v| v.name.as_ref())
            .collect()
    }
}
