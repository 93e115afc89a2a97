//! A plugin's `model.run` and `model.list` capabilities: each call sends the plugin only its own
//! provider's credential, the service's base URL and the provider's settings.

use std::sync::Arc;

use plugboard_core::{
    ModelContext, ModelError, ModelInfo, ModelLister, ModelOutput, ModelReply, ModelRequest,
    ModelRunner, async_trait,
};
use plugboard_protocol::{HostMessage, PluginMessage, WireCredential};

use crate::calls::{ProviderCalls, ServiceError, credential_secrets, scrubbed};
use crate::session::Request;

/// Runs the plugin's models.
pub(crate) struct ExecRunner(pub(crate) Arc<ProviderCalls>);

/// Lists the plugin's models.
pub(crate) struct ExecLister(pub(crate) Arc<ProviderCalls>);

fn service_error(error: ServiceError) -> ModelError {
    match error {
        ServiceError::BaseUrl(e) => ModelError::Config(e.to_string()),
        ServiceError::Bridge(e) => ModelError::from(e),
    }
}

#[async_trait]
impl ModelRunner for ExecRunner {
    async fn run(
        &self,
        ctx: &ModelContext,
        request: &ModelRequest,
    ) -> Result<ModelReply, ModelError> {
        let calls = &self.0;
        let service = calls.service(&ctx.host).await.map_err(service_error)?;
        let secrets = credential_secrets(&ctx.credential);
        let answer = calls
            .quiet(
                Request {
                    name: "run_model",
                    answer: "model_reply",
                    build: |id| HostMessage::RunModel {
                        id,
                        provider: calls.provider.clone(),
                        credential: WireCredential::from(&ctx.credential),
                        base_url: service.base_url.clone(),
                        settings: calls.settings(&ctx.host),
                        model: request.model.clone(),
                        prompt: request.prompt.clone(),
                    },
                },
                &secrets,
            )
            .await?;
        match answer {
            PluginMessage::ModelReply { outputs, .. } if outputs.is_empty() => Err(calls
                .bad_answer("answered a model call without output")
                .await
                .into()),
            PluginMessage::ModelReply { outputs, .. } => Ok(ModelReply::new(
                outputs
                    .into_iter()
                    .map(|wire| {
                        let mut output = ModelOutput::from(wire);
                        output.text = secrets.scrub(&output.text);
                        output
                    })
                    .collect(),
            )),
            PluginMessage::Failed { error, .. } => {
                Err(scrubbed(error, &secrets).into_model(&calls.label))
            }
            other => Err(calls.wrong_answer("run_model", &other).await.into()),
        }
    }
}

#[async_trait]
impl ModelLister for ExecLister {
    async fn list(&self, ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError> {
        let calls = &self.0;
        let service = calls.service(&ctx.host).await.map_err(service_error)?;
        let secrets = credential_secrets(&ctx.credential);
        let answer = calls
            .quiet(
                Request {
                    name: "list_models",
                    answer: "models",
                    build: |id| HostMessage::ListModels {
                        id,
                        provider: calls.provider.clone(),
                        credential: WireCredential::from(&ctx.credential),
                        base_url: service.base_url.clone(),
                        settings: calls.settings(&ctx.host),
                    },
                },
                &secrets,
            )
            .await?;
        match answer {
            PluginMessage::Models { models, .. } => Ok(models
                .into_iter()
                .map(|wire| {
                    let mut info = ModelInfo::from(wire);
                    info.id = secrets.scrub(&info.id);
                    info.name = info.name.map(|name| secrets.scrub(&name));
                    info
                })
                .collect()),
            PluginMessage::Failed { error, .. } => {
                Err(scrubbed(error, &secrets).into_model(&calls.label))
            }
            other => Err(calls.wrong_answer("list_models", &other).await.into()),
        }
    }
}
