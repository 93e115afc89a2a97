//! The messages, one JSON object per line: what the host sends ([`HostMessage`]) and what a
//! plugin sends ([`PluginMessage`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fixtures::Fixtures;
use crate::wire::{WireCredential, WireError, WireModel, WireOutput, WireProfile, WireSecret};

/// A message from the host to a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schemars(title = "plugboard plugin protocol: host to plugin")]
pub enum HostMessage {
    /// The reply to the plugin's `hello`: the protocol version both will speak from now on.
    Start {
        /// The highest version both sides speak.
        version: u32,
    },
    /// Run one of the plugin's sign-in methods.
    SignIn {
        /// The request id; the plugin's answer carries it.
        id: u64,
        /// The provider, as the manifest declares it.
        provider: String,
        /// The method id, as a manifest choice names it.
        method: String,
        /// The profile to write (`provider:name`): the user's `--profile`, or the provider's
        /// default. The plugin may write only profiles of its own provider.
        profile: String,
        /// The provider's service, if the manifest or the user gave one.
        base_url: Option<String>,
        /// The provider's settings from the user's config (`providers.<id>`), if any.
        #[serde(default)]
        settings: serde_json::Value,
        /// Whether the user can answer interactive prompts (a terminal).
        interactive: bool,
        /// Whether no browser can be shown here (SSH, no display, `--no-browser`).
        no_browser: bool,
        /// How long the user gave the sign-in, in seconds.
        timeout_secs: u64,
    },
    /// Renew a stored credential of the plugin's provider.
    Refresh {
        /// The request id.
        id: u64,
        /// The provider.
        provider: String,
        /// The stored profile to renew.
        profile: String,
        /// Its credential.
        credential: WireCredential,
        /// The provider's service.
        base_url: Option<String>,
        /// The provider's settings from the user's config.
        #[serde(default)]
        settings: serde_json::Value,
    },
    /// Send one prompt to a model.
    RunModel {
        /// The request id.
        id: u64,
        /// The provider.
        provider: String,
        /// The credential to send: the provider's own, never another's.
        credential: WireCredential,
        /// The provider's service.
        base_url: Option<String>,
        /// The provider's settings from the user's config.
        #[serde(default)]
        settings: serde_json::Value,
        /// The model as the provider names it, without the `provider/` prefix.
        model: String,
        /// The user's prompt.
        prompt: String,
    },
    /// List the models the provider offers.
    ListModels {
        /// The request id.
        id: u64,
        /// The provider.
        provider: String,
        /// The credential to send.
        credential: WireCredential,
        /// The provider's service.
        base_url: Option<String>,
        /// The provider's settings from the user's config.
        #[serde(default)]
        settings: serde_json::Value,
    },
    /// List the plugin's contract fixtures, for `plugboard plugins check`.
    ListFixtures {
        /// The request id.
        id: u64,
    },
    /// The user's answer to one of the plugin's `prompt` or `open_url` messages.
    Answer {
        /// The id of the plugin's message.
        id: u64,
        /// The answer.
        answer: Answer,
    },
}

/// A message from a plugin to the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schemars(title = "plugboard plugin protocol: plugin to host")]
pub enum PluginMessage {
    /// The plugin's first line: who it is and which protocol versions it speaks.
    Hello {
        /// The plugin id, as its manifest says.
        plugin: String,
        /// The plugin's version.
        #[serde(default)]
        version: String,
        /// Protocol versions it speaks.
        versions: Vec<u32>,
    },
    /// Ask the user something; the host answers with an `answer` of the same id.
    Prompt {
        /// The plugin's id for this question.
        id: u64,
        /// What kind of answer.
        kind: PromptKind,
        /// The question, one line.
        message: String,
        /// The choices, for `select`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        items: Vec<String>,
    },
    /// Open a URL in the user's browser; the host answers `opened` or an error.
    OpenUrl {
        /// The plugin's id for this request.
        id: u64,
        /// The URL (https, or http to loopback).
        url: String,
    },
    /// Tell the user something that needs no answer.
    Note {
        /// The text, one line.
        message: String,
    },
    /// A sign-in finished: the profiles to write.
    SignedIn {
        /// The request id.
        id: u64,
        /// Profiles to write, all of the requested provider.
        profiles: Vec<WireProfile>,
        /// A model the user may want as default (`provider/model`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_model: Option<String>,
        /// Lines for the user.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
        /// The service minted the credential during this sign-in (an OAuth exchange that
        /// issues a key), so it is live there whether or not the host manages to store it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        issued_remotely: bool,
        /// Where the user can revoke a credential issued during this sign-in (https).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revoke_url: Option<String>,
    },
    /// A refresh finished: the renewed profile.
    Refreshed {
        /// The request id.
        id: u64,
        /// The renewed profile; the one the host asked to renew.
        profile: WireProfile,
    },
    /// A model call finished.
    ModelReply {
        /// The request id.
        id: u64,
        /// The outputs, at least one.
        outputs: Vec<WireOutput>,
    },
    /// A listing finished.
    Models {
        /// The request id.
        id: u64,
        /// The models.
        models: Vec<WireModel>,
    },
    /// The plugin's contract fixtures.
    Fixtures {
        /// The request id.
        id: u64,
        /// The fixtures.
        fixtures: Fixtures,
    },
    /// A request failed.
    Failed {
        /// The request id.
        id: u64,
        /// Why.
        error: WireError,
    },
}

/// What a `prompt` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromptKind {
    /// A line of visible text.
    Text,
    /// A secret; hidden on a terminal.
    Secret,
    /// One of `items`; the answer is its index.
    Select,
}

/// The host's answer to a `prompt` or `open_url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The text typed.
    Text(String),
    /// The secret typed.
    Secret(WireSecret),
    /// The index of the item picked.
    Index(usize),
    /// The URL was opened.
    Opened,
    /// No answer.
    Error(AnswerError),
}

/// Why a `prompt` or `open_url` got no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AnswerError {
    /// What kind of failure.
    pub kind: AnswerFailure,
    /// What happened, one line.
    #[serde(default)]
    pub message: String,
}

/// The kinds of [`AnswerError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerFailure {
    /// The user cancelled.
    Cancelled,
    /// Standard input ended before an answer.
    EndOfInput,
    /// A choice list needs a terminal this session does not have.
    NotInteractive,
    /// The answer was too long.
    TooLong,
    /// No browser could be opened: the user must open the URL by hand.
    NoBrowser,
    /// The host refused the request (a URL that is not https, say).
    Refused,
    /// Anything else.
    Failed,
}
