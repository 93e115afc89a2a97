//! What the harness checks: one provider, the manifest that declares it, and its fixtures.

use std::fmt;

use plugboard_core::{ContractFixture, ManifestSource, Provider, ProviderRegistration};

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

/// One provider to check, with the manifest that declares it and the fixtures for its methods.
pub struct Subject {
    /// The manifest declaring the provider and its sign-in choices.
    pub manifest: ManifestText,
    /// The provider.
    pub provider: Box<dyn Provider>,
    /// Scripted runs of its methods, with the outcome each must have.
    pub fixtures: Vec<Box<dyn ContractFixture>>,
}

impl Subject {
    /// A subject from its parts.
    pub fn new(
        manifest: ManifestText,
        provider: Box<dyn Provider>,
        fixtures: Vec<Box<dyn ContractFixture>>,
    ) -> Self {
        Self {
            manifest,
            provider,
            fixtures,
        }
    }

    /// The subject an extension registered: its manifest, a fresh provider and its fixtures.
    pub fn from_registration(registration: &ProviderRegistration) -> Self {
        Self::new(
            registration.manifest.into(),
            (registration.provider)(),
            (registration.fixtures)(),
        )
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
            .finish()
    }
}
