//! The plugboard plugin protocol: how the host and an executable plugin talk over the plugin's
//! stdin and stdout, one JSON object per line (UTF-8, `\n`-terminated, at most
//! [`MAX_LINE_BYTES`]). `docs/plugin-protocol.md` describes it with a worked exchange.
//!
//! 1. The plugin writes [`PluginMessage::Hello`] with the versions it speaks; the host answers
//!    [`HostMessage::Start`] with the highest version both speak ([`negotiate`]).
//! 2. The host sends one request at a time (`sign_in`, `refresh`, `run_model`, `list_models`,
//!    `list_fixtures`), each with an id.
//! 3. While it works on a request the plugin may send `prompt`, `open_url` and `note`; the
//!    host answers the first two with [`HostMessage::Answer`]. The plugin has no terminal.
//! 4. The plugin ends the request with its result or [`PluginMessage::Failed`], carrying the
//!    request's id. The host closes the plugin's stdin when it has nothing more to ask.
//!
//! Invariants this crate keeps:
//! - The types here are the protocol: the JSON Schemas ([`host_schema`], [`plugin_schema`])
//!   are generated from them and committed, and a test fails when they drift.
//! - A message never carries the store, its path, or another provider's credential: requests
//!   name one provider and carry only that provider's credential.
//! - Secrets are [`WireSecret`]s, redacted in `Debug`.

mod fixtures;
mod message;
mod wire;

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

pub use fixtures::{
    FixtureAnswer, Fixtures, ListExpectation, ListFixture, ModelExpectation, ModelFixture,
    RefreshExpectation, RefreshFixture, Reply, ServiceErrors, SignInExpectation, SignInFixture,
};
pub use message::{Answer, AnswerError, AnswerFailure, HostMessage, PluginMessage, PromptKind};
pub use wire::{
    ErrorKind, WireCredential, WireError, WireModel, WireOutput, WireProfile, WireSecret,
    WireSession,
};

/// The protocol versions this build speaks, oldest first.
pub const PROTOCOL_VERSIONS: &[u32] = &[1];

/// The longest line either side may send, newline excluded: longer output is a broken plugin.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// A line that is not a message of the protocol.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Longer than [`MAX_LINE_BYTES`].
    #[error("a line of {len} bytes is longer than the protocol's {MAX_LINE_BYTES}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// Not JSON.
    #[error("not JSON")]
    NotJson,
    /// JSON, but not a message this version knows. serde's own words are dropped: they may
    /// quote the line, and a line may hold a secret.
    #[error("JSON, but not a message this protocol version knows")]
    NotAMessage,
}

/// One message as a line: compact JSON and a trailing newline.
pub fn encode(message: &impl Serialize) -> String {
    // The types here always serialize: their maps have string keys and no value fails.
    let mut line = serde_json::to_string(message).unwrap_or_else(|_| "{}".to_owned());
    line.push('\n');
    line
}

/// One line (with or without its newline) as a message.
pub fn decode<T: DeserializeOwned>(line: &str) -> Result<T, DecodeError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.len() > MAX_LINE_BYTES {
        return Err(DecodeError::TooLong { len: line.len() });
    }
    serde_json::from_str(line).map_err(|e| {
        if e.is_data() {
            DecodeError::NotAMessage
        } else {
            DecodeError::NotJson
        }
    })
}

/// The highest version in both `ours` and `theirs`, if any.
pub fn negotiate(ours: &[u32], theirs: &[u32]) -> Option<u32> {
    ours.iter().filter(|v| theirs.contains(v)).max().copied()
}

/// The JSON Schema of every message the host sends, generated from [`HostMessage`].
pub fn host_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(HostMessage)).unwrap_or_default()
}

/// The JSON Schema of every message a plugin sends, generated from [`PluginMessage`].
pub fn plugin_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PluginMessage)).unwrap_or_default()
}

/// A schema as committed under `docs/protocol/`: pretty JSON with a trailing newline.
pub fn schema_text(schema: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_agree_on_the_highest_both_speak() {
        let cases: [(&[u32], &[u32], Option<u32>); 4] = [
            (&[1], &[1], Some(1)),
            (&[1, 2], &[1, 2, 3], Some(2)),
            (&[1], &[2], None),
            (&[1], &[], None),
        ];
        for (ours, theirs, want) in cases {
            assert_eq!(negotiate(ours, theirs), want, "{ours:?} {theirs:?}");
        }
    }

    #[test]
    fn lines_round_trip_and_garbage_is_refused() {
        let hello = PluginMessage::Hello {
            plugin: "acme".into(),
            version: "1.0.0".into(),
            versions: vec![1],
        };
        let line = encode(&hello);
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        assert_eq!(decode::<PluginMessage>(&line).unwrap(), hello);
        assert_eq!(
            decode::<PluginMessage>(r#"{"type":"hello","plugin":"p","versions":[1]}"#).unwrap(),
            PluginMessage::Hello {
                plugin: "p".into(),
                version: String::new(),
                versions: vec![1]
            }
        );
        for garbage in ["garbage", "{\"type\":", ""] {
            assert!(matches!(
                decode::<PluginMessage>(garbage),
                Err(DecodeError::NotJson)
            ));
        }
        let secret = r#"{"type":"hello","plugin":"sk-secret-123","versions":"sk-secret-456"}"#;
        for unknown in ["{}", r#"{"type":"launch"}"#, "[1]", secret] {
            let error = decode::<PluginMessage>(unknown).expect_err(unknown);
            assert!(matches!(error, DecodeError::NotAMessage), "{unknown}");
            assert!(
                !format!("{error} {error:?}").contains("sk-secret"),
                "{unknown}"
            );
        }
        let long = "x".repeat(MAX_LINE_BYTES + 1);
        assert!(matches!(
            decode::<PluginMessage>(&long),
            Err(DecodeError::TooLong { .. })
        ));
    }

    #[test]
    fn committed_schemas_match_the_rust_types() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol");
        for (file, schema) in [
            ("host-message.schema.json", host_schema()),
            ("plugin-message.schema.json", plugin_schema()),
        ] {
            let committed = std::fs::read_to_string(format!("{dir}/{file}")).unwrap_or_default();
            assert!(
                committed == schema_text(&schema),
                "docs/protocol/{file} is stale; regenerate both from the workspace root with:\n  \
                 cargo run -q -p plugboard-cli -- plugins schema --protocol host > docs/protocol/host-message.schema.json\n  \
                 cargo run -q -p plugboard-cli -- plugins schema --protocol plugin > docs/protocol/plugin-message.schema.json"
            );
        }
    }
}
