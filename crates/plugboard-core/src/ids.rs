//! Identifier syntax shared by plugins, providers, methods and choices, and the two composite
//! references users type: profile ids (`provider:name`) and model refs (`provider/model`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Longest id accepted anywhere; long enough for any sensible name, short enough for a menu.
pub const MAX_ID_LEN: usize = 64;

/// Whether `s` is a valid plugin, provider, method, choice or group id: `^[a-z0-9][a-z0-9-]*$`,
/// at most [`MAX_ID_LEN`] bytes.
pub fn is_valid_id(s: &str) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit() => {}
        _ => return false,
    }
    s.len() <= MAX_ID_LEN
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether `name` is an `UPPER_SNAKE` environment variable name: A-Z, 0-9 and `_`, starting
/// with a letter.
pub fn is_upper_snake(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks an id and says what is wrong with it, for error messages.
pub fn check_id(s: &str) -> Result<(), IdError> {
    if is_valid_id(s) {
        Ok(())
    } else {
        Err(IdError::Invalid { id: s.to_owned() })
    }
}

/// Whether `s` is a valid profile name (the part after `:`): letters, digits, `-`, `_`, `.`,
/// starting with a letter or digit, at most [`MAX_ID_LEN`] bytes.
fn is_valid_profile_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    s.len() <= MAX_ID_LEN
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Why an id, profile id or model ref was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdError {
    /// An id broke the `^[a-z0-9][a-z0-9-]*$` rule.
    #[error(
        "invalid id {id:?}: use lowercase letters, digits and '-', starting with a letter or digit"
    )]
    Invalid {
        /// The offending id.
        id: String,
    },
    /// A profile id was not `provider:name`.
    #[error("invalid profile id {input:?}: expected provider:name, e.g. openrouter:default")]
    Profile {
        /// What was given.
        input: String,
    },
    /// A model ref was not `provider/model`.
    #[error("invalid model {input:?}: expected provider/model, e.g. openrouter/auto")]
    Model {
        /// What was given.
        input: String,
    },
}

/// The name of the profile a provider uses when nothing else is said.
pub const DEFAULT_PROFILE_NAME: &str = "default";

/// A stored credential's address: `provider:name`, e.g. `openrouter:default`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProfileId {
    provider: String,
    name: String,
}

impl ProfileId {
    /// Builds a profile id from its parts, checking both.
    pub fn new(provider: &str, name: &str) -> Result<Self, IdError> {
        if is_valid_id(provider) && is_valid_profile_name(name) {
            Ok(Self {
                provider: provider.to_owned(),
                name: name.to_owned(),
            })
        } else {
            Err(IdError::Profile {
                input: format!("{provider}:{name}"),
            })
        }
    }

    /// The provider's default profile, `provider:default`.
    pub fn default_for(provider: &str) -> Result<Self, IdError> {
        Self::new(provider, DEFAULT_PROFILE_NAME)
    }

    /// Parses what a user typed for a provider: either a full `provider:name` (which must name
    /// `provider`) or a bare `name`.
    pub fn parse_for(provider: &str, input: &str) -> Result<Self, IdError> {
        let id = if input.contains(':') {
            input.parse()?
        } else {
            Self::new(provider, input)?
        };
        if id.provider == provider {
            Ok(id)
        } else {
            Err(IdError::Profile {
                input: input.to_owned(),
            })
        }
    }

    /// The provider part.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The name part.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is the provider's default profile.
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_PROFILE_NAME
    }
}

impl FromStr for ProfileId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (provider, name) = s.split_once(':').ok_or_else(|| IdError::Profile {
            input: s.to_owned(),
        })?;
        Self::new(provider, name).map_err(|_| IdError::Profile {
            input: s.to_owned(),
        })
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.name)
    }
}

impl Serialize for ProfileId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProfileId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A model reference: `provider/model`, where the model part is the provider's own name for it
/// and may itself contain `/` and `:` (`openrouter/liquid/lfm-2.5-1.2b-instruct:free`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelRef {
    provider: String,
    model: String,
}

impl ModelRef {
    /// The provider part.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The model part, as the provider names it.
    pub fn model(&self) -> &str {
        &self.model
    }
}

impl FromStr for ModelRef {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || IdError::Model {
            input: s.to_owned(),
        };
        let (provider, model) = s.split_once('/').ok_or_else(bad)?;
        let model_ok = !model.is_empty()
            && model.len() <= 256
            && !model.starts_with('/')
            && !model.ends_with('/')
            && !model.chars().any(|c| c.is_whitespace() || c.is_control());
        if is_valid_id(provider) && model_ok {
            Ok(Self {
                provider: provider.to_owned(),
                model: model.to_owned(),
            })
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}

impl Serialize for ModelRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ModelRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_syntax_follows_the_documented_pattern() {
        let cases = [
            ("openrouter", true),
            ("a", true),
            ("0x", true),
            ("api-key", true),
            ("a-", true),
            ("", false),
            ("-a", false),
            ("Api", false),
            ("api_key", false),
            ("api key", false),
            ("é", false),
        ];
        for (id, ok) in cases {
            assert_eq!(is_valid_id(id), ok, "{id:?}");
        }
        assert!(!is_valid_id(&"a".repeat(MAX_ID_LEN + 1)));
        assert!(is_valid_id(&"a".repeat(MAX_ID_LEN)));
    }

    #[test]
    fn profile_ids_parse_and_round_trip() {
        let cases = [
            ("openrouter:default", Some(("openrouter", "default"))),
            ("openrouter:Work_2.b", Some(("openrouter", "Work_2.b"))),
            ("openrouter", None),
            ("openrouter:", None),
            (":default", None),
            ("Open:default", None),
            ("openrouter:a:b", None),
            ("openrouter:-x", None),
        ];
        for (input, want) in cases {
            let got = input.parse::<ProfileId>().ok();
            assert_eq!(
                got.as_ref().map(|p| (p.provider(), p.name())),
                want,
                "{input:?}"
            );
            if let Some(p) = got {
                assert_eq!(p.to_string(), input);
            }
        }
    }

    #[test]
    fn profile_for_provider_accepts_bare_names_and_refuses_other_providers() {
        assert_eq!(
            ProfileId::parse_for("openrouter", "work")
                .unwrap()
                .to_string(),
            "openrouter:work"
        );
        assert_eq!(
            ProfileId::parse_for("openrouter", "openrouter:work")
                .unwrap()
                .to_string(),
            "openrouter:work"
        );
        assert!(ProfileId::parse_for("openrouter", "anthropic:work").is_err());
        assert!(ProfileId::default_for("openrouter").unwrap().is_default());
    }

    #[test]
    fn model_refs_keep_slashes_and_colons_in_the_model_part() {
        let cases = [
            ("openrouter/auto", Some(("openrouter", "auto"))),
            (
                "openrouter/liquid/lfm-2.5-1.2b-instruct:free",
                Some(("openrouter", "liquid/lfm-2.5-1.2b-instruct:free")),
            ),
            ("openrouter", None),
            ("openrouter/", None),
            ("/auto", None),
            ("OpenRouter/auto", None),
            ("openrouter/a b", None),
            ("openrouter//x", None),
            ("openrouter/x/", None),
        ];
        for (input, want) in cases {
            let got = input.parse::<ModelRef>().ok();
            assert_eq!(
                got.as_ref().map(|m| (m.provider(), m.model())),
                want,
                "{input:?}"
            );
            if let Some(m) = got {
                assert_eq!(m.to_string(), input);
            }
        }
    }

    #[test]
    fn ids_serialize_as_strings() {
        let p: ProfileId = "openrouter:default".parse().unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"openrouter:default\"");
        let m: ModelRef = serde_json::from_str("\"openrouter/auto\"").unwrap();
        assert_eq!(m.model(), "auto");
        assert!(serde_json::from_str::<ModelRef>("\"auto\"").is_err());
    }
}
