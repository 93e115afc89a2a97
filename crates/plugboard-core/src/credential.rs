//! What a sign-in produces and the store keeps: a secret with its kind and provenance.

use std::fmt;

use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::text::is_plainly_visible;

/// What kind of secret a credential holds, independent of how it was obtained (an OAuth login
/// may well produce a plain API key, as OpenRouter's does).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CredentialKind {
    /// A long-lived API key sent as a bearer token or header.
    ApiKey,
    /// A bearer token without a refresh token.
    Token,
    /// An OAuth access token that may be refreshed.
    #[serde(rename = "oauth")]
    OAuth,
}

impl CredentialKind {
    /// The stable name used in the store, `--json` output and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::Token => "token",
            Self::OAuth => "oauth",
        }
    }

    /// Parses the stable name written by [`CredentialKind::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::ApiKey, Self::Token, Self::OAuth]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a credential came from (`{"auth_flow": "oauth-pkce", "user_id": ...}`): free-form JSON
/// that is shown to the user, so it must never hold a secret.
pub type Provenance = serde_json::Map<String, serde_json::Value>;

/// A secret plus what it is and where it came from. Its `Debug` and `Display` never show the
/// secret; only [`Credential::expose_secret`] does, and only the store and the request that
/// uses it should call that.
#[derive(Clone)]
pub struct Credential {
    kind: CredentialKind,
    secret: SecretString,
    provenance: Provenance,
}

impl Credential {
    /// Wraps a secret.
    pub fn new(kind: CredentialKind, secret: SecretString, provenance: Provenance) -> Self {
        Self {
            kind,
            secret,
            provenance,
        }
    }

    /// What kind of secret this is.
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// Where it came from.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The secret itself, for writing to the store or sending to the provider.
    pub fn expose_secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// The secret in a form safe to show: see [`redact`].
    pub fn redacted(&self) -> String {
        redact(self.expose_secret())
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("secret", &self.redacted())
            .field("provenance", &self.provenance)
            .finish()
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.redacted())
    }
}

/// Below this many characters after the vendor prefix, even the last four would give away too
/// much of the secret, so none of it is shown.
const MIN_LEN_TO_SHOW_TAIL: usize = 16;

/// Shows a secret as its vendor prefix, `...`, and its last four characters
/// (`sk-or-v1-...c0de`). The vendor prefix is the leading run of short dash-terminated segments
/// (`sk-`, `or-`, `v1-`); short secrets show no tail at all, and neither does one whose tail
/// would not show as itself (a control, direction or zero-width character, read back from a
/// store someone else wrote), so the result is always safe to print.
pub fn redact(secret: &str) -> String {
    let prefix = vendor_prefix(secret);
    let rest = &secret[prefix.len()..];
    let chars = rest.chars().count();
    if chars < MIN_LEN_TO_SHOW_TAIL {
        return format!("{prefix}...");
    }
    let tail: String = rest.chars().skip(chars - 4).collect();
    if !tail.chars().all(is_plainly_visible) {
        return format!("{prefix}...");
    }
    format!("{prefix}...{tail}")
}

/// The leading `abc-` segments of a key: at most four, each at most six ASCII alphanumerics.
fn vendor_prefix(secret: &str) -> &str {
    let mut end = 0;
    for _ in 0..4 {
        let rest = &secret[end..];
        let Some(dash) = rest.find('-') else { break };
        let segment = &rest[..dash];
        if segment.is_empty()
            || segment.len() > 6
            || !segment.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            break;
        }
        end += dash + 1;
    }
    &secret[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_vendor_prefix_and_last_four_only() {
        let cases = [
            (
                "sk-or-v1-0123456789abcdef0123456789abcdef",
                "sk-or-v1-...cdef",
            ),
            (
                "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
                "sk-ant-api03-...wxyz",
            ),
            ("0123456789abcdef0123", "...0123"),
            ("sk-or-v1-short", "sk-or-v1-..."),
            ("", "..."),
            ("abc", "..."),
            ("sk-or-v1-ééééééééééééééééé1234", "sk-or-v1-...1234"),
            ("sk-or-v1-0123456789abcdef\u{1b}[2J", "sk-or-v1-..."),
            ("sk-or-v1-0123456789abcdef01\u{7}2", "sk-or-v1-..."),
            ("sk-or-v1-0123456789abcdef\u{202e}123", "sk-or-v1-..."),
            ("sk-or-v1-0123456789abcdef\u{200b}123", "sk-or-v1-..."),
            ("sk-or-v1-0123456789abcdef 123", "sk-or-v1-..."),
        ];
        for (secret, want) in cases {
            assert_eq!(redact(secret), want, "{secret:?}");
        }
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let secret = "sk-or-v1-supersecretvalue-0123456789";
        let c = Credential::new(CredentialKind::ApiKey, secret.into(), Provenance::new());
        for shown in [format!("{c:?}"), format!("{c:#?}"), c.to_string()] {
            assert!(!shown.contains("supersecret"), "{shown}");
            assert!(shown.contains("...6789"), "{shown}");
        }
    }

    #[test]
    fn kinds_have_stable_names() {
        for kind in [
            CredentialKind::ApiKey,
            CredentialKind::Token,
            CredentialKind::OAuth,
        ] {
            assert_eq!(CredentialKind::from_name(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
