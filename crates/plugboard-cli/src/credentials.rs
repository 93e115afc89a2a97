//! Which credential a provider uses, and why: `--profile` if given, else the provider's
//! credential environment variable, else its default profile. `models status` reports this
//! and every command that calls a provider uses the same answer.

use plugboard_core::{Credential, CredentialKind, ProfileId, Provenance, Provider};
use plugboard_store::StoredProfile;
use serde::Serialize;

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
