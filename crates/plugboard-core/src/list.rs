//! The `model.list` capability: which models a provider offers, asked of its service with the
//! credential the host resolved (or known to the extension, for a service without a list).

use async_trait::async_trait;
use serde::Serialize;

use crate::http::{HttpError, HttpResponse};
use crate::model::{ModelContext, ModelError, ModelErrorKind};

/// The capability's stable name, as manifests declare it.
pub const MODEL_LIST_CAPABILITY: &str = "model.list";

/// One model a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ModelInfo {
    /// The model as the provider names it, without the `provider/` prefix: what
    /// `--model provider/<id>` takes.
    pub id: String,
    /// The service's display name for it, when it gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The service marks it as free to call (OpenRouter's `:free` variants).
    pub free: bool,
}

impl ModelInfo {
    /// A model named `id`, not marked free, without a display name.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: None,
            free: false,
        }
    }

    /// Adds the service's display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Marks it as free to call.
    pub fn free(mut self, free: bool) -> Self {
        self.free = free;
        self
    }
}

/// Lists the models of one provider: the `model.list` capability. A provider that has one
/// declares `"capabilities": [..., "model.list"]` in its manifest.
#[async_trait]
pub trait ModelLister: Send + Sync {
    /// The models the provider offers to `ctx.credential`, in the service's order. Fails as a
    /// model call does: a refused credential is [`ModelError::CredentialRejected`], an answer
    /// that is not the documented shape [`ModelError::BadResponse`].
    async fn list(&self, ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError>;
}

/// How a list fixture must end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListExpectation {
    /// The list has exactly these model ids, in this order, and these of them marked free.
    Lists {
        /// Every id, in order.
        ids: Vec<String>,
        /// The ids marked free.
        free: Vec<String>,
    },
    /// The listing fails with this kind of error.
    Fails(ModelErrorKind),
}

/// A scripted listing for the contract harness: the service's answers and how the listing
/// must end. Extensions register them beside their provider
/// ([`ProviderRegistration::list_fixtures`](crate::ProviderRegistration::list_fixtures)).
#[derive(Debug, Clone)]
pub struct ListFixture {
    /// Names the case in reports (`the free models are marked`).
    pub name: String,
    /// Answers to the lister's requests, in order (see [`crate::ScriptedHttp`]).
    pub replies: Vec<Result<HttpResponse, HttpError>>,
    /// How it must end.
    pub expect: ListExpectation,
}

impl ListFixture {
    /// A listing answered with `replies` that must end as `expect` says.
    pub fn new(
        name: &str,
        replies: Vec<Result<HttpResponse, HttpError>>,
        expect: ListExpectation,
    ) -> Self {
        Self {
            name: name.to_owned(),
            replies,
            expect,
        }
    }
}
