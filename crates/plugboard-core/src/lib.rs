//! The plugboard contract: what a model provider is ([`Provider`]), how a user signs in to it
//! ([`AuthMethod`]), the link-time registry extensions join ([`ProviderRegistration`],
//! [`Registry`]), plugin manifests with their JSON Schema ([`Manifest`]), and the sign-in menu
//! built from manifests alone ([`AuthMenu`]), and the capabilities a signed-in provider offers
//! ([`ModelRunner`] for `model.run`, [`ModelLister`] for `model.list`, [`CredentialCheck`]
//! for asking whether a credential works, [`Refresher`] for credentials that expire).
//!
//! Invariants this crate keeps:
//! - It performs no I/O. Prompts, browsers, time and randomness reach a method through
//!   [`AuthContext`]; HTTP, settings and the environment reach a method and a model runner
//!   alike through one [`HostServices`] both contexts carry, so tests and the contract harness
//!   script them.
//! - A method never writes the store: it returns an [`AuthResult`], and the host writes it. A
//!   refresher likewise returns the profile to write.
//! - Secrets travel as [`Credential`]s, whose `Debug` and `Display` are redacted.
//! - Text from outside is made safe to show by one sanitiser ([`sanitize_text`],
//!   [`sanitize_line`]) and one secret scrubber ([`scrub_secret`]), used by every crate.
//! - Test code stays out of the shipped binary: the scripted doubles and `ScriptedFixture`
//!   exist only with the `contract-fixtures` feature, which only dev-dependencies enable.
//! - Registry and manifest faults are typed errors naming the file and JSON pointer; nothing
//!   here panics on bad plugin data.

mod api_key;
mod auth;
mod chain;
mod check;
mod context;
mod credential;
mod device;
mod fixture;
mod host;
mod http;
mod id_checks;
mod ids;
mod list;
mod manifest;
mod menu;
mod model;
mod pairing;
mod provider;
mod refresh;
mod registry;
mod runtime;
mod scripted;
mod text;

pub use api_key::{ApiKeyError, ApiKeyMethod, MAX_API_KEY_LEN, validate_api_key};
pub use auth::{AuthError, AuthKind, AuthMethod, AuthResult, ProfileWrite};
pub use chain::ErrorChain;
pub use check::CredentialCheck;
pub use context::{
    AuthContext, Clock, LoginOptions, OpenUrlError, Progress, PromptError, Prompter, Random,
    Session, UrlOpener,
};
pub use credential::{Credential, CredentialKind, OAuthTokens, Provenance, SessionToken, redact};
pub use device::{DeviceCodeCase, DeviceCodeFixture};
#[cfg(any(test, feature = "contract-fixtures"))]
pub use fixture::ScriptedFixture;
pub use fixture::{ContractFixture, Expectation, FixtureError, PreparedFixture};
pub use host::{HostServices, HttpSettings};
pub use http::{
    DEFAULT_MAX_RESPONSE_BYTES, HttpClient, HttpError, HttpMethod, HttpRequest, HttpResponse,
    NoNetwork,
};
pub use id_checks::{
    DuplicateId, PluginIds, ProviderIdIssue, SharedId, duplicate_ids, provider_id_issues,
};
pub use ids::{
    DEFAULT_PROFILE_NAME, IdError, MAX_ID_LEN, ModelRef, ProfileId, check_id, is_upper_snake,
    is_valid_id,
};
pub use list::{ListExpectation, ListFixture, MODEL_LIST_CAPABILITY, ModelInfo, ModelLister};
pub use manifest::{
    AuthChoice, ChoiceGroup, MANIFEST_SCHEMA_VERSION, Manifest, ManifestError, ManifestIssue,
    ManifestProvider, ManifestRule, manifest_schema, manifest_schema_text,
};
pub use menu::{AuthMenu, MenuChoice, MenuGroup};
pub use model::{
    ErrorAnswer, MODEL_RUN_CAPABILITY, ModelContext, ModelError, ModelErrorKind, ModelExpectation,
    ModelFixture, ModelOutput, ModelReply, ModelRequest, ModelRunner, ServiceErrors,
};
pub use pairing::{PairingIssue, PairingRule, pairing_issues};
pub use provider::{EnvRole, EnvVar, Provider};
pub use refresh::{
    REFRESH_LOCK_WAIT, REFRESH_MARGIN, REFRESH_TIMEOUT, RefreshContext, RefreshError,
    RefreshExpectation, RefreshFixture, Refresher,
};
pub use registry::{
    BrokenPlugin, LoadedManifest, ManifestSource, PluginOrigin, PluginSource, ProviderRegistration,
    Registry, RegistryError, registrations,
};
pub use runtime::{
    EXEC_BASE_ENV, ExecRuntime, MAX_EXEC_TIMEOUT_SECS, OpenAiCompatibleRuntime, Runtime,
    base_url_env,
};
#[cfg(any(test, feature = "contract-fixtures"))]
pub use scripted::{
    Answer, FixedClock, FixedRandom, FollowUrl, ScriptedBrowser, ScriptedPrompter, SilentProgress,
};
pub use scripted::{ScriptedClock, ScriptedHttp};
pub use text::{
    MIN_SECRET_RUN, REDACTED_MARK, escape_json_for_terminal, is_safe_media_url, sanitize_line,
    sanitize_text, scrub_secret, shows_secret,
};

/// Re-exported so extensions implement [`AuthMethod`] with the same macro version.
pub use async_trait::async_trait;
/// Re-exported so extensions register with the same `inventory` the core collects from.
pub use inventory;
