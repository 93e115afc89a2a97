//! How a user signs in to a provider: the [`AuthMethod`] trait, what a method returns, and how
//! it fails.

use std::error::Error as StdError;
use std::fmt;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::context::{AuthContext, PromptError};
use crate::credential::Credential;
use crate::ids::{ModelRef, ProfileId};

/// How a sign-in method works, as shown in menus and declared in manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthKind {
    /// A browser login (authorization code, PKCE, ...).
    #[serde(rename = "oauth")]
    OAuth,
    /// The user pastes an API key they manage.
    ApiKey,
    /// The user pastes a bearer token.
    Token,
    /// A device-code login: a code shown here, confirmed on another device.
    DeviceCode,
    /// No credential: the method checks that a local service answers and records where it is
    /// (a profile of credential kind `none`).
    Local,
}

impl AuthKind {
    /// The stable name used in manifests and `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OAuth => "oauth",
            Self::ApiKey => "api_key",
            Self::Token => "token",
            Self::DeviceCode => "device_code",
            Self::Local => "local",
        }
    }
}

impl fmt::Display for AuthKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One way of signing in to a provider. A method never writes the store: it returns an
/// [`AuthResult`] and the host writes it in one transaction, which is what makes "nothing is
/// written on failure" hold for every provider.
#[async_trait]
pub trait AuthMethod: Send + Sync {
    /// Unique within its provider, `^[a-z0-9][a-z0-9-]*$` (`oauth`, `api-key`).
    fn id(&self) -> &str;
    /// Short name for menus.
    fn label(&self) -> &str;
    /// One line saying when to pick this method.
    fn hint(&self) -> Option<&str> {
        None
    }
    /// How the method works; must match the manifest's `kind` for it.
    fn kind(&self) -> AuthKind;
    /// Whether the method opens a browser.
    fn needs_browser(&self) -> bool {
        false
    }
    /// Whether the method cannot work without an interactive terminal.
    fn needs_tty(&self) -> bool {
        false
    }
    /// Signs in. Everything from outside (prompts, browser, clock, randomness, settings)
    /// comes through `ctx`.
    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError>;
}

/// A profile a sign-in asks the host to store.
#[derive(Debug, Clone)]
pub struct ProfileWrite {
    /// Where to store it; must belong to the method's provider.
    pub profile_id: ProfileId,
    /// What to store.
    pub credential: Credential,
}

/// What a successful sign-in hands to the host.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AuthResult {
    /// Profiles to write, all in one transaction.
    pub profiles: Vec<ProfileWrite>,
    /// A JSON merge patch (RFC 7396) for the config file.
    pub config_patch: Option<serde_json::Value>,
    /// A model the user may want as default; applied only when they ask (`--set-default`).
    pub default_model: Option<ModelRef>,
    /// Lines for the user: where things went, what to do next.
    pub notes: Vec<String>,
    /// The service minted the credential during this sign-in (OpenRouter's OAuth exchange
    /// issues a new key), so it is live there whether or not the host manages to store it: a
    /// host that cannot store it must say so, and waits longer for a busy store first.
    pub issued_remotely: bool,
    /// Where the user can revoke a credential issued during this sign-in (a keys page), for a
    /// host that could not store it.
    pub revoke_url: Option<String>,
}

impl AuthResult {
    /// A result that writes one profile.
    pub fn profile(profile_id: ProfileId, credential: Credential) -> Self {
        Self {
            profiles: vec![ProfileWrite {
                profile_id,
                credential,
            }],
            ..Self::default()
        }
    }

    /// Adds a suggested default model.
    pub fn with_default_model(mut self, model: ModelRef) -> Self {
        self.default_model = Some(model);
        self
    }

    /// Adds a note for the user.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Marks the credential as issued by the service during this sign-in, revocable at
    /// `revoke_url` when the service has such a page.
    pub fn with_remote_issue(mut self, revoke_url: Option<&str>) -> Self {
        self.issued_remotely = true;
        self.revoke_url = revoke_url.map(str::to_owned);
        self
    }

    /// Adds a config merge patch.
    pub fn with_config_patch(mut self, patch: serde_json::Value) -> Self {
        self.config_patch = Some(patch);
        self
    }
}

/// Why a sign-in failed. Messages are one line and never contain a secret.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The user backed out.
    #[error("sign-in cancelled")]
    Cancelled,
    /// A prompt could not be answered.
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// What the user gave was refused; the message says why and what to do.
    #[error("{0}")]
    InvalidInput(String),
    /// The method needs something this session does not have (a terminal, a browser).
    #[error("{0}")]
    Unavailable(String),
    /// The provider's service refused or failed.
    #[error("{0}")]
    Service(String),
    /// Anything else, from the method's own machinery (a callback server, an HTTP client).
    #[error(transparent)]
    Other(Box<dyn StdError + Send + Sync>),
}

impl AuthError {
    /// Wraps a typed error from a method's own machinery.
    pub fn other(error: impl StdError + Send + Sync + 'static) -> Self {
        Self::Other(Box::new(error))
    }
}
