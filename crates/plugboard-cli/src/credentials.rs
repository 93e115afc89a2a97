//! Which credential a provider uses, and why: `--profile` if given, else the provider's
//! credential environment variable, else its default profile. `models status` reports this
//! and every command that calls a provider uses the same answer.

use std::str::FromStr;

use plugboard_core::{Credential, CredentialKind, ProfileId, Provenance, Provider};
use plugboard_store::StoredProfile;
use serde::Serialize;

use crate::echo;
use crate::error::UsageError;

/// Why a credential is the effective one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub(crate) enum Source {
    /// `--profile` named it.
    ProfileFlag {
        /// The profile.
        profile_id: ProfileId,
    },
    /// A credential environment variable is set.
    Env {
        /// The variable.
        env_var: String,
    },
    /// The provider's default profile.
    DefaultProfile {
        /// The profile.
        profile_id: ProfileId,
    },
}

/// The credential a provider would use now.
#[derive(Debug, Clone)]
pub(crate) struct Effective {
    pub(crate) source: Source,
    pub(crate) credential: Credential,
}

/// What `--profile` says: `provider:name`, or a bare `name` meaning that name at whichever
/// provider the command is about. Every command that takes `--profile` (login, logout, status,
/// infer) parses it with this one `FromStr` and checks it with [`ProfileArg::at`], so the
/// syntax and the rule for another provider's profile are the same everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProfileArg {
    /// `provider:name`.
    Full(ProfileId),
    /// A bare `name`.
    Name(String),
}

impl FromStr for ProfileArg {
    type Err = UsageError;

    fn from_str(input: &str) -> Result<Self, UsageError> {
        let parsed = if input.contains(':') {
            input.parse().ok().map(Self::Full)
        } else {
            // A name is valid when it makes a valid profile with a provider id that always is.
            ProfileId::new("p", input)
                .ok()
                .map(|_| Self::Name(input.to_owned()))
        };
        parsed.ok_or_else(|| {
            UsageError(format!(
                "--profile {} is not a profile: give a name (letters, digits, '-', '_', '.') or provider:name, e.g. work or openrouter:work",
                echo::quoted(input)
            ))
        })
    }
}

impl ProfileArg {
    /// The provider it names, if it names one.
    pub(crate) fn provider(&self) -> Option<&str> {
        match self {
            Self::Full(id) => Some(id.provider()),
            Self::Name(_) => None,
        }
    }

    /// The profile it means for a command about `provider`. A profile of another provider is a
    /// usage error naming both.
    pub(crate) fn at(&self, provider: &str) -> Result<ProfileId, UsageError> {
        match self {
            Self::Full(id) if id.provider() == provider => Ok(id.clone()),
            Self::Full(id) => Err(UsageError(format!(
                "--profile {} is a profile of provider {}, not {provider} (a profile for {provider} looks like {provider}:work)",
                echo::clip(&id.to_string()),
                echo::clip(id.provider())
            ))),
            Self::Name(name) => ProfileId::new(provider, name)
                .map_err(|e| UsageError(echo::clip_in(&e.to_string(), name))),
        }
    }
}

/// `--profile` (if given) for a command about `provider`, parsed and checked by the one rule.
pub(crate) fn profile_for(
    input: Option<&str>,
    provider: &str,
) -> Result<Option<ProfileId>, UsageError> {
    input
        .map(|input| input.parse::<ProfileArg>()?.at(provider))
        .transpose()
}

/// The command that signs in to `id` again.
pub(crate) fn login_command(id: &ProfileId) -> String {
    let profile = if id.is_default() {
        String::new()
    } else {
        format!(" --profile {}", id.name())
    };
    format!(
        "plugboard models auth login --provider {}{profile}",
        id.provider()
    )
}

/// Why a provider has nothing to send, and how to give it something: a sign-in, or its
/// credential variable.
pub(crate) fn no_credential_message(provider: &dyn Provider) -> String {
    let env_hint = provider
        .credential_env_vars()
        .first()
        .map(|var| format!(", or set {var}"))
        .unwrap_or_default();
    format!(
        "no {} credential: sign in with `plugboard models auth login --provider {}`{env_hint}",
        provider.label(),
        provider.id()
    )
}

/// What to do about a credential the service rejected or called expired: the fix depends on
/// where it came from. Nothing for a credential without a secret (a local service): signing in
/// again would store the same nothing, and the provider's own message says what to do.
pub(crate) fn credential_advice(effective: &Effective) -> Option<String> {
    if !effective.credential.has_secret() {
        return None;
    }
    Some(match &effective.source {
        Source::Env { env_var } => {
            format!("the key comes from ${env_var}: fix it, or unset it to use the stored profile")
        }
        Source::ProfileFlag { profile_id } | Source::DefaultProfile { profile_id } => {
            format!("sign in again with `{}`", login_command(profile_id))
        }
    })
}

/// `--profile` named a profile that is not stored.
#[derive(Debug, thiserror::Error)]
#[error("profile {0} is not stored: sign in with `plugboard models auth login --provider {provider} --profile {name}`", provider = .0.provider(), name = .0.name())]
pub(crate) struct MissingProfile(pub(crate) ProfileId);

/// Resolves the effective credential of `provider`. `profiles` are its stored profiles; `env`
/// reads an environment variable.
pub(crate) fn effective(
    provider: &dyn Provider,
    profile_flag: Option<&ProfileId>,
    env: impl Fn(&str) -> Option<String>,
    profiles: &[StoredProfile],
) -> Result<Option<Effective>, MissingProfile> {
    let stored = |id: &ProfileId| {
        profiles
            .iter()
            .find(|p| &p.profile_id == id)
            .map(|p| p.credential.clone())
    };
    if let Some(id) = profile_flag.filter(|id| id.provider() == provider.id()) {
        let credential = stored(id).ok_or_else(|| MissingProfile(id.clone()))?;
        return Ok(Some(Effective {
            source: Source::ProfileFlag {
                profile_id: id.clone(),
            },
            credential,
        }));
    }
    for name in provider.credential_env_vars() {
        if let Some(value) = env(name).filter(|v| !v.trim().is_empty()) {
            let mut provenance = Provenance::new();
            provenance.insert("source".into(), "env".into());
            let credential = Credential::new(
                CredentialKind::ApiKey,
                value.trim().to_owned().into(),
                provenance,
            );
            return Ok(Some(Effective {
                source: Source::Env {
                    env_var: name.to_owned(),
                },
                credential,
            }));
        }
    }
    let Ok(default) = ProfileId::default_for(provider.id()) else {
        return Ok(None);
    };
    Ok(stored(&default).map(|credential| Effective {
        source: Source::DefaultProfile {
            profile_id: default,
        },
        credential,
    }))
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use plugboard_openrouter::OpenRouterProvider;

    use super::*;

    fn profile(id: &str, secret: &str) -> StoredProfile {
        StoredProfile {
            profile_id: id.parse().unwrap(),
            credential: Credential::new(
                CredentialKind::ApiKey,
                secret.to_owned().into(),
                Provenance::new(),
            ),
            created_at: SystemTime::UNIX_EPOCH,
            updated_at: SystemTime::UNIX_EPOCH,
            needs_signin: None,
        }
    }

    #[test]
    fn profile_flag_beats_env_beats_default_profile() {
        let provider = OpenRouterProvider::new();
        let stored = [
            profile("openrouter:default", "default-key"),
            profile("openrouter:work", "work-key"),
        ];
        let work: ProfileId = "openrouter:work".parse().unwrap();
        type Case<'a> = (
            Option<&'a ProfileId>,
            Option<&'a str>,
            &'a [StoredProfile],
            Option<&'a str>,
        );
        let cases: [Case; 5] = [
            (Some(&work), Some("env-key"), &stored, Some("work-key")),
            (Some(&work), None, &stored, Some("work-key")),
            (None, Some("env-key"), &stored, Some("env-key")),
            (None, None, &stored, Some("default-key")),
            (None, None, &[], None),
        ];
        for (flag, env_value, profiles, want) in cases {
            let env = |name: &str| {
                env_value
                    .filter(|_| name == "OPENROUTER_API_KEY")
                    .map(str::to_owned)
            };
            let got = effective(&provider, flag, env, profiles).unwrap();
            assert_eq!(
                got.map(|e| e.credential.expose_secret().to_owned())
                    .as_deref(),
                want,
                "{flag:?} {env_value:?}"
            );
        }
    }

    #[test]
    fn every_profile_flag_is_read_by_one_rule() {
        // (what --profile says, the provider the command is about, the profile or the error)
        let cases: [(&str, &str, Result<&str, &str>); 9] = [
            ("work", "openrouter", Ok("openrouter:work")),
            ("openrouter:work", "openrouter", Ok("openrouter:work")),
            ("default", "openrouter", Ok("openrouter:default")),
            ("w.1_a-b", "openrouter", Ok("openrouter:w.1_a-b")),
            (
                "other:work",
                "openrouter",
                Err("--profile other:work is a profile of provider other, not openrouter"),
            ),
            (
                "Not Valid",
                "openrouter",
                Err("--profile \"Not Valid\" is not a profile"),
            ),
            ("", "openrouter", Err("--profile \"\" is not a profile")),
            ("openrouter:", "openrouter", Err("is not a profile")),
            ("Open:work", "openrouter", Err("is not a profile")),
        ];
        for (input, provider, want) in cases {
            let got = profile_for(Some(input), provider)
                .map(|id| id.map(|id| id.to_string()).unwrap_or_default())
                .map_err(|e| e.to_string());
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{input}: {got}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
        assert_eq!(profile_for(None, "openrouter").unwrap(), None);
    }

    #[test]
    fn a_missing_profile_flag_is_an_error_naming_the_login_command() {
        let provider = OpenRouterProvider::new();
        let missing: ProfileId = "openrouter:nope".parse().unwrap();
        let err = effective(&provider, Some(&missing), |_| None, &[]).unwrap_err();
        assert!(err.to_string().contains("--profile nope"), "{err}");
    }

    #[test]
    fn a_profile_flag_for_another_provider_is_ignored() {
        let provider = OpenRouterProvider::new();
        let other: ProfileId = "other:work".parse().unwrap();
        let stored = [profile("openrouter:default", "default-key")];
        let got = effective(&provider, Some(&other), |_| None, &stored)
            .unwrap()
            .unwrap();
        assert!(matches!(got.source, Source::DefaultProfile { .. }));
    }
}
