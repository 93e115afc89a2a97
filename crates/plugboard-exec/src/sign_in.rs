//! A plugin's sign-in method as the host sees it: the manifest's choice (id, kind, label,
//! hint) run through the protocol, its prompts relayed to the user, and what it returns checked
//! before the host writes anything: every profile must be the requested provider's.

use std::sync::Arc;
use std::time::Duration;

use plugboard_core::{
    AuthContext, AuthError, AuthKind, AuthMethod, AuthResult, Credential, ModelRef, ProfileId,
    ProfileWrite, async_trait,
};
use plugboard_protocol::{HostMessage, PluginMessage, WireProfile};

use crate::calls::{ProviderCalls, ServiceError, scrubbed};
use crate::error::ExecError;
use crate::relay::{Secrets, SignInRelay};
use crate::session::Request;

/// One sign-in method of a plugin's provider.
pub(crate) struct ExecMethod {
    pub(crate) calls: Arc<ProviderCalls>,
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) hint: Option<String>,
    pub(crate) kind: AuthKind,
}

#[async_trait]
impl AuthMethod for ExecMethod {
    fn id(&self) -> &str {
        &self.id
    }

    fn label(&self) -> &str {
        &self.label
    }

    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn kind(&self) -> AuthKind {
        self.kind
    }

    fn needs_browser(&self) -> bool {
        self.kind == AuthKind::OAuth
    }

    async fn run(&self, ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
        let calls = &self.calls;
        let profile = ctx
            .target_profile(&calls.provider)
            .map_err(AuthError::other)?;
        let service = calls.service(&ctx.host).await.map_err(|e| match e {
            ServiceError::BaseUrl(e) => AuthError::other(e),
            ServiceError::Bridge(e) => AuthError::from(e),
        })?;
        // A browser or device-code sign-in waits for the user somewhere the host cannot see
        // (a callback, another device), as long as the user gave the sign-in.
        let waits = match self.kind {
            AuthKind::OAuth | AuthKind::DeviceCode => ctx.options.timeout,
            _ => Duration::ZERO,
        };
        let request = Request {
            name: "sign_in",
            answer: "signed_in",
            build: |id| HostMessage::SignIn {
                id,
                provider: calls.provider.clone(),
                method: self.id.clone(),
                profile: profile.to_string(),
                base_url: service.base_url.clone(),
                settings: calls.settings(&ctx.host),
                interactive: ctx.session.interactive,
                no_browser: ctx.options.no_browser || ctx.session.remote,
                timeout_secs: ctx.options.timeout.as_secs(),
            },
        };
        let mut relay = SignInRelay {
            ctx,
            secrets: Secrets::default(),
        };
        let answer = calls.call(request, waits, &mut relay).await?;
        let secrets = relay.secrets;
        match answer {
            PluginMessage::SignedIn {
                profiles,
                default_model,
                notes,
                issued_remotely,
                revoke_url,
                ..
            } => match signed_in(calls, profiles, default_model, &secrets) {
                Ok(mut result) => {
                    if issued_remotely {
                        // Only an https page is worth showing as where to revoke a key.
                        let revoke_url = revoke_url.filter(|url| {
                            url.starts_with("https://")
                                && url.len() <= 200
                                && url.chars().all(|c| c.is_ascii_graphic())
                        });
                        result = result.with_remote_issue(revoke_url.as_deref());
                    }
                    result.notes = notes
                        .iter()
                        .map(|note| secrets.line(note, 500))
                        .filter(|note| !note.is_empty())
                        .collect();
                    Ok(result)
                }
                Err(error) => Err(calls.refuse(error).await.into()),
            },
            PluginMessage::Failed { error, .. } => Err(scrubbed(error, &secrets).into_auth()),
            other => Err(calls.wrong_answer("sign_in", &other).await.into()),
        }
    }
}

/// What a sign-in returned, if the host can take it: every profile the requested provider's,
/// and a suggested model of that provider. An error quoting the plugin has the sign-in's
/// `secrets` scrubbed.
fn signed_in(
    calls: &ProviderCalls,
    profiles: Vec<WireProfile>,
    default_model: Option<String>,
    secrets: &Secrets,
) -> Result<AuthResult, ExecError> {
    let mut result = AuthResult::default();
    result.profiles = owned_profiles(calls, profiles, secrets)?;
    result.default_model = default_model
        .map(|model| suggested_model(calls, &model, secrets))
        .transpose()?;
    Ok(result)
}

/// The profiles to write, if every one is the requested provider's; otherwise the call fails
/// naming the first foreign one, and nothing is written.
fn owned_profiles(
    calls: &ProviderCalls,
    profiles: Vec<WireProfile>,
    secrets: &Secrets,
) -> Result<Vec<ProfileWrite>, ExecError> {
    profiles
        .into_iter()
        .map(|wire| match wire.profile_id.parse::<ProfileId>() {
            Ok(id) if id.provider() == calls.provider => Ok(ProfileWrite {
                profile_id: id,
                credential: Credential::from(wire.credential),
            }),
            _ => Err(ExecError::ForeignProfile {
                plugin: calls.plugin.id.clone(),
                provider: calls.provider.clone(),
                profile: secrets.line(&wire.profile_id, 80),
            }),
        })
        .collect()
}

/// The model a sign-in suggests, if it is one of this provider's.
fn suggested_model(
    calls: &ProviderCalls,
    model: &str,
    secrets: &Secrets,
) -> Result<ModelRef, ExecError> {
    match model.parse::<ModelRef>() {
        Ok(model) if model.provider() == calls.provider => Ok(model),
        _ => Err(ExecError::BadAnswer {
            plugin: calls.plugin.id.clone(),
            problem: format!(
                "suggested model {}, which is not provider/model of provider {}",
                secrets.line(model, 80),
                calls.provider
            ),
        }),
    }
}
