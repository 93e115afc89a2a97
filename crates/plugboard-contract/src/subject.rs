//! What the harness checks: one provider, the manifest that declares it, and its fixtures (for
//! its sign-in methods and its model runner).

use std::fmt;

use plugboard_core::{
    ContractFixture, ManifestSource, ModelFixture, Provider, ProviderRegistration,
};

/// A manifest's path and text. Owned, unlike [`ManifestSource`], so tests can check manifests
/// they build at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestText {
    /// Repository-relative path, used as the subject of manifest failures.
    pub path: String,
    /// The manifest's JSON text.
    pub json: String,
}

impl ManifestText {
    /// A manifest from its path and text.
    pub fn new(path: impl Into<String>, json: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            json: json.into(),
        }
    }
}

impl From<ManifestSource> for ManifestText {
    fn from(source: ManifestSource) -> Self {
        Self::new(source.path, source.json)
    }
}

/// One provider to check, with the manifest that declares it and the fixtures for its methods
/// and its model runner.
pub struct Subject {
    /// The manifest declaring the provider and its sign-in choices.
    pub manifest: ManifestText,
    /// The provider.
    pub provider: Box<dyn Provider>,
    /// Scripted runs of its methods, with the outcome each must have.
    pub fixtures: Vec<Box<dyn ContractFixture>>,
    /// Scripted calls of its model runner, with the outcome each must have; empty for a
    /// provider without one.
    pub model_fixtures: Vec<ModelFixture>,
}

impl Subject {
    /// A subject from its parts, without model fixtures (see [`Subject::with_model_fixtures`]).
    pub fn new(
        manifest: ManifestText,
        provider: Box<dyn Provider>,
        fixtures: Vec<Box<dyn ContractFixture>>,
    ) -> Self {
        Self {
            manifest,
            provider,
            fixtures,
            model_fixtures: Vec::new(),
        }
    }

    /// The same subject with these model fixtures, for a provider with a model runner.
    pub fn with_model_fixtures(mut self, model_fixtures: Vec<ModelFixture>) -> Self {
        self.model_fixtures = model_fixtures;
        self
    }

    /// The subject an extension registered: its manifest, a fresh provider, its fixtures and
    /// its model fixtures.
    pub fn from_registration(registration: &ProviderRegistration) -> Self {
        Self::new(
            registration.manifest.into(),
            (registration.provider)(),
            (registration.fixtures)(),
        )
        .with_model_fixtures((registration.model_fixtures)())
    }

    /// The provider's id, or a placeholder when it is blank, for failure subjects.
    pub(crate) fn provider_name(&self) -> String {
        provider_name(self.provider.as_ref())
    }
}

pub(crate) fn provider_name(provider: &dyn Provider) -> String {
    match provider.id() {
        "" => "(blank provider id)".to_owned(),
        id => id.to_owned(),
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("manifest", &self.manifest.path)
            .field("provider", &self.provider.id())
            .field("fixtures", &self.fixtures.len())
            .field("model_fixtures", &self.model_fixtures.len())
            .finish()
    }
}
