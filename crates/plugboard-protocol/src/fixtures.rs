//! Contract fixtures an executable plugin declares (its answer to `list_fixtures`): the same
//! cases a built-in extension registers, as data. `plugboard plugins check` runs each through
//! the protocol, serving the scripted replies from a loopback server it starts and handing the
//! plugin that server's URL as its base URL.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::wire::{ErrorKind, WireCredential};

/// Everything a plugin declares for the contract.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Fixtures {
    /// Scripted sign-ins, with the outcome each must have.
    #[serde(default)]
    pub sign_in: Vec<SignInFixture>,
    /// Scripted model calls, for providers with `model.run`.
    #[serde(default)]
    pub model: Vec<ModelFixture>,
    /// Scripted listings, for providers with `model.list`.
    #[serde(default)]
    pub list: Vec<ListFixture>,
    /// Scripted refreshes, for providers whose sign-in stores OAuth tokens that expire.
    #[serde(default)]
    pub refresh: Vec<RefreshFixture>,
    /// How each provider's service answers a credential it will not take, for the harness's
    /// own probes.
    #[serde(default)]
    pub service_errors: Vec<ServiceErrors>,
}

/// An HTTP answer the loopback server gives, in order, one per request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body (sent as `application/json` when it parses as JSON).
    #[serde(default)]
    pub body: String,
}

/// One answer the host gives the plugin's prompts, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FixtureAnswer {
    /// Answers a text prompt.
    Text(String),
    /// Answers a secret prompt.
    Secret(String),
    /// Picks an item of a select prompt.
    Select(usize),
    /// Cancels the prompt.
    Cancel,
}

/// Whether a scripted sign-in must succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignInExpectation {
    /// It returns at least one profile.
    Succeeds,
    /// It fails (and so writes nothing).
    Fails,
}

/// A scripted run of a sign-in method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SignInFixture {
    /// Names the case in reports.
    pub name: String,
    /// The provider.
    pub provider: String,
    /// The method.
    pub method: String,
    /// What must happen.
    pub expect: SignInExpectation,
    /// The answers to its prompts, in order; a prompt past the end gets "no input".
    #[serde(default)]
    pub answers: Vec<FixtureAnswer>,
    /// The profile name to ask for (`--profile`), instead of the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The service's answers, in order.
    #[serde(default)]
    pub replies: Vec<Reply>,
}

/// What a scripted model call must return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelExpectation {
    /// A reply whose first output is this text.
    Replies(String),
    /// A failure of this kind.
    Fails(ErrorKind),
}

/// A scripted model call, made with a test credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ModelFixture {
    /// Names the case.
    pub name: String,
    /// The provider.
    pub provider: String,
    /// The model, without the provider prefix.
    pub model: String,
    /// The prompt.
    pub prompt: String,
    /// The service's answers, in order.
    #[serde(default)]
    pub replies: Vec<Reply>,
    /// What must happen.
    pub expect: ModelExpectation,
}

/// What a scripted listing must return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListExpectation {
    /// These model ids, in order; `free` names those marked free.
    Lists {
        /// Every id, in order.
        ids: Vec<String>,
        /// The free ones.
        #[serde(default)]
        free: Vec<String>,
    },
    /// A failure of this kind.
    Fails(ErrorKind),
}

/// A scripted listing, made with a test credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListFixture {
    /// Names the case.
    pub name: String,
    /// The provider.
    pub provider: String,
    /// The service's answers, in order.
    #[serde(default)]
    pub replies: Vec<Reply>,
    /// What must happen.
    pub expect: ListExpectation,
}

/// What a scripted refresh must return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefreshExpectation {
    /// An `oauth` credential with exactly these tokens.
    Refreshed {
        /// The new access token.
        access_token: String,
        /// The refresh token to keep: the rotated one, or the stored one when none was sent.
        refresh_token: String,
    },
    /// The stored credential with a new session token, and nothing else changed.
    SessionRenewed {
        /// The new session token.
        session_token: String,
    },
    /// A failure of kind `sign_in_required`: the user must sign in again.
    SignInRequired,
}

/// A scripted refresh of a stored credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RefreshFixture {
    /// Names the case.
    pub name: String,
    /// The provider.
    pub provider: String,
    /// The stored credential to refresh (test tokens, never real ones).
    pub credential: WireCredential,
    /// The service's answers, in order.
    #[serde(default)]
    pub replies: Vec<Reply>,
    /// What must happen.
    pub expect: RefreshExpectation,
}

/// How a provider's service answers a credential it will not take, in its own error shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceErrors {
    /// The provider.
    pub provider: String,
    /// The answer to a key it rejects (usually 401).
    pub rejected: Reply,
    /// The answer to an expired access token, when the service tells it apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<Reply>,
    /// An error answer whose body says `{message}` where the message goes; the harness puts
    /// the key in it to check no error shows it. Its status is replaced by the probe's.
    pub error_with_message: Reply,
}
