//! What the harness checks: one provider, the manifest that declares it, and its fixtures (for
//! its sign-in methods and its model runner).

use std::fmt;

use plugboard_core::{
    ContractFixture, DeviceCodeFixture, ListFixture, ManifestSource, ModelFixture, Provider,
    ProviderRegistration, RefreshFixture, ServiceErrors,
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

/// One provider to check, with the manifest that declares it and the fixtures for its methods,
/// its device-code methods, its model runner, its model lister and its refresher.
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
    /// How its service answers a credential it will not take, for the harness's own model
    /// calls, listings and credential checks; `None` for a provider with none of these.
    pub service_errors: Option<ServiceErrors>,
    /// Scripted refreshes of its credentials, with the outcome each must have; empty for a
    /// provider without a refresher.
    pub refresh_fixtures: Vec<RefreshFixture>,
    /// Scripted listings of its models, with the outcome each must have; empty for a provider
    /// without a model lister.
    pub list_fixtures: Vec<ListFixture>,
    /// Scripted device-code sign-ins, one per case for each of its device-code methods; empty
    /// for a provider without such a method.
    pub device_fixtures: Vec<DeviceCodeFixture>,
}

impl Subject {
    /// A subject from its parts, without model, refresh, list or device fixtures and without
    /// service errors (see [`Subject::with_model_fixtures`], [`Subject::with_service_errors`],
    /// [`Subject::with_refresh_fixtures`], [`Subject::with_list_fixtures`] and
    /// [`Subject::with_device_fixtures`]).
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
            service_errors: None,
            refresh_fixtures: Vec::new(),
            list_fixtures: Vec::new(),
            device_fixtures: Vec::new(),
        }
    }

    /// The same subject with these model fixtures, for a provider with a model runner.
    pub fn with_model_fixtures(mut self, model_fixtures: Vec<ModelFixture>) -> Self {
        self.model_fixtures = model_fixtures;
        self
    }

    /// The same subject with its service's error answers, for a provider with a model runner.
    pub fn with_service_errors(mut self, service_errors: ServiceErrors) -> Self {
        self.service_errors = Some(service_errors);
        self
    }

    /// The same subject with these refresh fixtures, for a provider with a refresher.
    pub fn with_refresh_fixtures(mut self, refresh_fixtures: Vec<RefreshFixture>) -> Self {
        self.refresh_fixtures = refresh_fixtures;
        self
    }

    /// The same subject with these list fixtures, for a provider with a model lister.
    pub fn with_list_fixtures(mut self, list_fixtures: Vec<ListFixture>) -> Self {
        self.list_fixtures = list_fixtures;
        self
    }

    /// The same subject with these device-code fixtures, for a provider with a device-code
    /// sign-in.
    pub fn with_device_fixtures(mut self, device_fixtures: Vec<DeviceCodeFixture>) -> Self {
        self.device_fixtures = device_fixtures;
        self
    }

    /// The subject an extension registered: its manifest, a fresh provider, its fixtures, its
    /// model, refresh, list and device-code fixtures, and its service's error answers.
    pub fn from_registration(registration: &ProviderRegistration) -> Self {
        let subject = Self::new(
            registration.manifest.into(),
            (registration.provider)(),
            (registration.fixtures)(),
        )
        .with_model_fixtures((registration.model_fixtures)())
        .with_refresh_fixtures((registration.refresh_fixtures)())
        .with_list_fixtures((registration.list_fixtures)())
        .with_device_fixtures((registration.device_fixtures)());
        match (registration.service_errors)() {
            Some(errors) => subject.with_service_errors(errors),
            None => subject,
        }
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
            .field("service_errors", &self.service_errors.is_some())
            .field("refresh_fixtures", &self.refresh_fixtures.len())
            .field("list_fixtures", &self.list_fixtures.len())
            .field("device_fixtures", &self.device_fixtures.len())
            .finish()
    }
}
