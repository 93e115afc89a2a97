//! A plugin's refresher: the stored credential of the profile being renewed goes to the plugin,
//! and what comes back must be that same profile.

use std::sync::Arc;

use plugboard_core::{
    Credential, ProfileWrite, RefreshContext, RefreshError, Refresher, async_trait,
};
use plugboard_protocol::{HostMessage, PluginMessage, WireCredential};

use crate::calls::{ProviderCalls, ServiceError, credential_secrets, scrubbed};
use crate::error::ExecError;
use crate::session::Request;

/// Renews the credentials of a plugin's provider that signs in with OAuth or a device code.
pub(crate) struct ExecRefresher(pub(crate) Arc<ProviderCalls>);

#[async_trait]
impl Refresher for ExecRefresher {
    fn can_refresh(&self, credential: &Credential) -> bool {
        credential.refreshable()
    }

    async fn refresh(&self, ctx: &RefreshContext) -> Result<ProfileWrite, RefreshError> {
        let calls = &self.0;
        let service = calls.service(&ctx.host).await.map_err(|e| match e {
            ServiceError::BaseUrl(e) => RefreshError::Config(e.to_string()),
            ServiceError::Bridge(e) => RefreshError::from(e),
        })?;
        let secrets = credential_secrets(&ctx.credential);
        let asked = ctx.profile_id.to_string();
        let answer = calls
            .quiet(
                Request {
                    name: "refresh",
                    answer: "refreshed",
                    build: |id| HostMessage::Refresh {
                        id,
                        provider: calls.provider.clone(),
                        profile: asked.clone(),
                        credential: WireCredential::from(&ctx.credential),
                        base_url: service.base_url.clone(),
                        settings: calls.settings(&ctx.host),
                    },
                },
                &secrets,
            )
            .await?;
        match answer {
            PluginMessage::Refreshed { profile, .. } if profile.profile_id == asked => {
                Ok(ProfileWrite {
                    profile_id: ctx.profile_id.clone(),
                    credential: Credential::from(profile.credential),
                })
            }
            PluginMessage::Refreshed { profile, .. } => Err(calls
                .refuse(ExecError::WrongProfile {
                    plugin: calls.plugin.id.clone(),
                    asked,
                    got: secrets.line(&profile.profile_id, 80),
                })
                .await
                .into()),
            PluginMessage::Failed { error, .. } => {
                Err(scrubbed(error, &secrets).into_refresh(&calls.label))
            }
            other => Err(calls.wrong_answer("refresh", &other).await.into()),
        }
    }
}
