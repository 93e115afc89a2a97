//! Asking whether a credential works, without using it for anything: what
//! `models status --check` shows per provider.

use async_trait::async_trait;

use crate::model::{ModelContext, ModelError};

/// Checks a credential with the cheapest request its service has that needs one (OpenRouter's
/// key endpoint, Anthropic's model list), or from what is stored when the service has none. A
/// check never refreshes, renews or writes anything.
#[async_trait]
pub trait CredentialCheck: Send + Sync {
    /// `Ok` when `ctx.credential` works. Fails as a model call does: a refused credential is
    /// [`ModelError::CredentialRejected`], one that has expired for good
    /// [`ModelError::CredentialExpired`], no answer [`ModelError::Network`].
    async fn check(&self, ctx: &ModelContext) -> Result<(), ModelError>;
}
