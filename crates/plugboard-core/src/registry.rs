//! The link-time registry: extensions `inventory::submit!` a [`ProviderRegistration`]; the
//! host collects them once into a checked [`Registry`].

use thiserror::Error;

use crate::device::DeviceCodeFixture;
use crate::fixture::ContractFixture;
use crate::id_checks::{
    DuplicateId, PluginIds, ProviderIdIssue, SharedId, duplicate_ids, provider_id_issues,
};
use crate::list::ListFixture;
use crate::manifest::{Manifest, ManifestError};
use crate::menu::AuthMenu;
use crate::model::{ModelFixture, ServiceErrors};
use crate::pairing::pairing_issues;
use crate::provider::Provider;
use crate::refresh::RefreshFixture;
use crate::runtime::Runtime;

/// A plugin manifest embedded in an extension (`include_str!`), with the path it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestSource {
    /// Repository-relative path, used in error messages (`manifests/openrouter.json`).
    pub path: &'static str,
    /// The manifest's JSON text.
    pub json: &'static str,
}

/// What an extension submits to the registry: its provider, the manifest that declares it, and
/// the fixtures the contract harness runs against its methods. A plain struct of `const`
/// values, because `inventory` needs one.
///
/// Fixtures are test code: an extension builds them only with its `contract-fixtures` feature
/// (which only dev-dependencies enable) and registers `Vec::new` otherwise, so the shipped
/// binary carries none of their text. The contract's `fixtures-present` rule fails a provider
/// checked without them.
pub struct ProviderRegistration {
    /// The manifest declaring this provider and its sign-in choices.
    pub manifest: ManifestSource,
    /// Builds the provider.
    pub provider: fn() -> Box<dyn Provider>,
    /// Builds the contract fixtures for its methods (`Vec::new` in a build without fixtures).
    pub fixtures: fn() -> Vec<Box<dyn ContractFixture>>,
    /// Builds the contract fixtures for its `model.run` capability (`Vec::new` without one, or
    /// in a build without fixtures).
    pub model_fixtures: fn() -> Vec<ModelFixture>,
    /// How its service answers a credential it will not take, for the contract's universal
    /// model probes (`|| None` without a model runner, or in a build without fixtures).
    pub service_errors: fn() -> Option<ServiceErrors>,
    /// Builds the contract fixtures for its refresher (`Vec::new` without one, or in a build
    /// without fixtures).
    pub refresh_fixtures: fn() -> Vec<RefreshFixture>,
    /// Builds the contract fixtures for its `model.list` capability (`Vec::new` without one,
    /// or in a build without fixtures).
    pub list_fixtures: fn() -> Vec<ListFixture>,
    /// Builds the contract fixtures for its device-code methods, one per
    /// [`DeviceCodeCase`](crate::DeviceCodeCase) each (`Vec::new` without such a method, or in
    /// a build without fixtures).
    pub device_fixtures: fn() -> Vec<DeviceCodeFixture>,
}

inventory::collect!(ProviderRegistration);

/// Every registration linked into this binary, in manifest-path order.
pub fn registrations() -> Vec<&'static ProviderRegistration> {
    let mut all: Vec<_> = inventory::iter::<ProviderRegistration>
        .into_iter()
        .collect();
    all.sort_by_key(|r| r.manifest.path);
    all
}

/// A registry that could not be built. Each says which file or provider is at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A manifest failed to load.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Two manifests share a plugin id.
    #[error("plugin id {id:?} is used by both {first} and {second}")]
    DuplicatePlugin {
        /// The plugin id.
        id: String,
        /// First manifest.
        first: String,
        /// Second manifest.
        second: String,
    },
    /// A provider's runtime id breaks the id syntax.
    #[error("provider id {id:?} is invalid: use lowercase letters, digits and '-'")]
    InvalidProviderId {
        /// The id.
        id: String,
    },
    /// Two providers share an id.
    #[error("provider {id:?} is registered by both {first} and {second}")]
    DuplicateProvider {
        /// The id.
        id: String,
        /// The plugin that registered it first.
        first: String,
        /// The plugin that registered it again.
        second: String,
    },
    /// A method id breaks the id syntax.
    #[error(
        "provider {provider:?} has an invalid method id {method:?}: use lowercase letters, digits and '-'"
    )]
    InvalidMethodId {
        /// The provider.
        provider: String,
        /// The method id.
        method: String,
    },
    /// Two methods of one provider share an id.
    #[error("provider {provider:?} has two methods with id {method:?}")]
    DuplicateMethod {
        /// The provider.
        provider: String,
        /// The method id.
        method: String,
    },
    /// Two choices (or deprecated ids) share an id across manifests.
    #[error("choice id {id:?} is used by both {first} and {second}")]
    DuplicateChoice {
        /// The choice id.
        id: String,
        /// First manifest.
        first: String,
        /// Second manifest.
        second: String,
    },
    /// The manifest and the runtime provider disagree.
    #[error("{file}: {pointer}: {message}")]
    Mismatch {
        /// The manifest.
        file: String,
        /// RFC 6901 pointer into it.
        pointer: String,
        /// What disagrees.
        message: String,
    },
}

/// How a plugin reached the registry, as `plugins list` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PluginOrigin {
    /// An extension linked into this binary.
    BuiltIn,
    /// An installed plugin the host serves from its manifest alone (`openai-compatible`).
    Manifest,
    /// An installed plugin whose program speaks the plugin protocol (`exec`).
    Exec,
}

impl PluginOrigin {
    /// The stable name (`built-in`, `manifest`, `exec`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BuiltIn => "built-in",
            Self::Manifest => "manifest",
            Self::Exec => "exec",
        }
    }

    /// The origin of an installed plugin with this runtime.
    pub fn of(runtime: &Runtime) -> Self {
        match runtime {
            Runtime::OpenaiCompatible(_) => Self::Manifest,
            Runtime::Exec(_) => Self::Exec,
        }
    }
}

/// A loaded manifest and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedManifest {
    /// Its path, for messages.
    pub path: String,
    /// Its content.
    pub manifest: Manifest,
    /// How it reached the registry.
    pub origin: PluginOrigin,
}

/// An installed plugin left out of the registry, with why: listed by `plugins list`, absent
/// from the menu, and harmless to every other command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenPlugin {
    /// Its manifest's path (or its directory, when the manifest could not be read).
    pub path: String,
    /// Its plugin id, when the manifest said one.
    pub id: Option<String>,
    /// How it would have run, when the manifest said.
    pub origin: Option<PluginOrigin>,
    /// Why it was left out, one line.
    pub reason: String,
}

/// One plugin's parts, before checking: its manifest text and its runtime providers.
pub struct PluginSource<'a> {
    /// Manifest path, for messages.
    pub path: &'a str,
    /// Manifest JSON.
    pub json: &'a str,
    /// The providers it registers.
    pub providers: Vec<Box<dyn Provider>>,
}

/// The checked set of plugins: manifests and providers that agree with each other.
pub struct Registry {
    manifests: Vec<LoadedManifest>,
    providers: Vec<Box<dyn Provider>>,
    broken: Vec<BrokenPlugin>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field(
                "manifests",
                &self.manifests.iter().map(|m| &m.path).collect::<Vec<_>>(),
            )
            .field("providers", &self.provider_ids())
            .field("broken", &self.broken)
            .finish()
    }
}

impl Registry {
    /// Builds the registry from every registration linked into this binary.
    pub fn load() -> Result<Self, RegistryError> {
        Self::from_registrations(registrations())
    }

    /// Builds the registry from these registrations, grouping providers by manifest.
    pub fn from_registrations<'a>(
        registrations: impl IntoIterator<Item = &'a ProviderRegistration>,
    ) -> Result<Self, RegistryError> {
        let mut plugins: Vec<PluginSource<'static>> = Vec::new();
        for r in registrations {
            let provider = (r.provider)();
            match plugins.iter_mut().find(|p| p.path == r.manifest.path) {
                Some(p) => p.providers.push(provider),
                None => plugins.push(PluginSource {
                    path: r.manifest.path,
                    json: r.manifest.json,
                    providers: vec![provider],
                }),
            }
        }
        Self::build(plugins)
    }

    /// Checks plugins and builds the registry: manifests load, ids are valid and unique, and
    /// every manifest choice and runtime method pair up with the same kind.
    pub fn build<'a>(
        plugins: impl IntoIterator<Item = PluginSource<'a>>,
    ) -> Result<Self, RegistryError> {
        let mut loaded = Vec::new();
        for plugin in plugins {
            let manifest = Manifest::load(plugin.path, plugin.json)?;
            loaded.push((plugin, manifest));
        }
        let ids: Vec<PluginIds<'_>> = loaded
            .iter()
            .map(|(plugin, manifest)| PluginIds {
                path: plugin.path,
                manifest: Some(manifest),
                providers: plugin.providers.iter().map(|p| p.id()).collect(),
            })
            .collect();
        // Each provider's own ids first: a provider id that breaks the syntax is reported as
        // such, not as a repeat.
        for provider in loaded.iter().flat_map(|(plugin, _)| &plugin.providers) {
            check_provider_ids(provider.as_ref())?;
        }
        if let Some(duplicate) = duplicate_ids(&ids).into_iter().next() {
            return Err(duplicate_error(duplicate));
        }

        let mut registry = Self {
            manifests: Vec::new(),
            providers: Vec::new(),
            broken: Vec::new(),
        };
        for (plugin, manifest) in loaded {
            if manifest.runtime.is_some() {
                return Err(RegistryError::Mismatch {
                    file: plugin.path.to_owned(),
                    pointer: "/runtime".to_owned(),
                    message: "a built-in plugin has no runtime: its code is linked in".to_owned(),
                });
            }
            registry.insert(
                plugin.path,
                plugin.providers,
                manifest,
                PluginOrigin::BuiltIn,
            )?;
        }
        Ok(registry)
    }

    /// Adds an installed plugin after checking it against itself and everything already in
    /// the registry: its manifest loads and has a `runtime`, its ids are valid and unused, and
    /// its manifest and providers pair up. A plugin that fails is recorded as broken, with
    /// the error as its reason, and left out; the error is returned too.
    pub fn admit(&mut self, plugin: PluginSource<'_>) -> Result<(), RegistryError> {
        match Manifest::load(plugin.path, plugin.json) {
            Ok(manifest) => self.admit_manifest(plugin.path, manifest, plugin.providers),
            Err(error) => {
                let error = RegistryError::from(error);
                self.broken.push(BrokenPlugin {
                    path: plugin.path.to_owned(),
                    id: None,
                    origin: None,
                    reason: error.to_string(),
                });
                Err(error)
            }
        }
    }

    /// [`Registry::admit`] for a plugin whose manifest the caller has already loaded (with
    /// [`Manifest::load`], from `path`) to build its providers, so it is not parsed again.
    pub fn admit_manifest(
        &mut self,
        path: &str,
        manifest: Manifest,
        providers: Vec<Box<dyn Provider>>,
    ) -> Result<(), RegistryError> {
        let id = manifest.id.clone();
        let origin = manifest.runtime.as_ref().map(PluginOrigin::of);
        let result = self.check_and_insert(path, manifest, providers, origin);
        if let Err(error) = &result {
            self.broken.push(BrokenPlugin {
                path: path.to_owned(),
                id: Some(id),
                origin,
                reason: error.to_string(),
            });
        }
        result
    }

    /// The checks of [`Registry::admit_manifest`], then the insertion; `origin` is the
    /// manifest's runtime's, `None` when it has none.
    fn check_and_insert(
        &mut self,
        path: &str,
        manifest: Manifest,
        providers: Vec<Box<dyn Provider>>,
        origin: Option<PluginOrigin>,
    ) -> Result<(), RegistryError> {
        let Some(origin) = origin else {
            return Err(RegistryError::Mismatch {
                file: path.to_owned(),
                pointer: "/runtime".to_owned(),
                message: "an installed plugin needs a \"runtime\" object".to_owned(),
            });
        };
        for provider in &providers {
            check_provider_ids(provider.as_ref())?;
        }
        let new = PluginIds {
            path,
            manifest: Some(&manifest),
            providers: providers.iter().map(|p| p.id()).collect(),
        };
        // Only a plugin sharing an id with this one can be named in a repeat (those already
        // admitted share none among themselves), so the others are left out rather than
        // indexed again for every plugin admitted.
        let mut ids: Vec<PluginIds<'_>> = self
            .manifests
            .iter()
            .filter(|m| shares_an_id(&m.manifest, &new))
            .map(|m| PluginIds {
                path: &m.path,
                manifest: Some(&m.manifest),
                providers: m.manifest.providers.iter().map(|p| p.id.as_str()).collect(),
            })
            .collect();
        ids.push(new);
        if let Some(duplicate) = duplicate_ids(&ids).into_iter().next() {
            return Err(duplicate_error(duplicate));
        }
        self.insert(path, providers, manifest, origin)
    }

    /// Records an installed plugin that could not even be offered to [`Registry::admit_manifest`]
    /// (its directory is not private, its manifest cannot be read or does not load, its runtime
    /// cannot start).
    pub fn mark_broken(&mut self, broken: BrokenPlugin) {
        self.broken.push(broken);
    }

    /// The installed plugins left out, in the order they were read.
    pub fn broken(&self) -> &[BrokenPlugin] {
        &self.broken
    }

    /// Pairs a loaded manifest with its providers and adds both, keeping providers sorted by
    /// id and manifests by plugin id.
    fn insert(
        &mut self,
        path: &str,
        providers: Vec<Box<dyn Provider>>,
        manifest: Manifest,
        origin: PluginOrigin,
    ) -> Result<(), RegistryError> {
        let runtime: Vec<&dyn Provider> = providers.iter().map(|p| p.as_ref()).collect();
        if let Some(issue) = pairing_issues(&manifest, &runtime).into_iter().next() {
            return Err(RegistryError::Mismatch {
                file: path.to_owned(),
                pointer: issue.pointer,
                message: issue.message,
            });
        }
        for provider in providers {
            let at = self.providers.partition_point(|p| p.id() < provider.id());
            self.providers.insert(at, provider);
        }
        let at = self
            .manifests
            .partition_point(|m| m.manifest.id < manifest.id);
        self.manifests.insert(
            at,
            LoadedManifest {
                path: path.to_owned(),
                manifest,
                origin,
            },
        );
        Ok(())
    }

    /// Providers, by id.
    pub fn providers(&self) -> impl Iterator<Item = &dyn Provider> {
        self.providers.iter().map(|p| p.as_ref())
    }

    /// The provider with this id.
    pub fn provider(&self, id: &str) -> Option<&dyn Provider> {
        self.providers().find(|p| p.id() == id)
    }

    /// Provider ids, sorted.
    pub fn provider_ids(&self) -> Vec<&str> {
        self.providers().map(|p| p.id()).collect()
    }

    /// Loaded manifests, by plugin id.
    pub fn manifests(&self) -> &[LoadedManifest] {
        &self.manifests
    }

    /// The sign-in menu; `signed_in(provider_id)` marks providers with a stored credential.
    pub fn menu(&self, signed_in: impl Fn(&str) -> bool) -> AuthMenu {
        AuthMenu::build(self.manifests.iter().map(|m| &m.manifest), signed_in)
    }
}

/// The first fault in `provider`'s own ids, as a registry error.
fn check_provider_ids(provider: &dyn Provider) -> Result<(), RegistryError> {
    let id = provider.id().to_owned();
    match provider_id_issues(provider).into_iter().next() {
        None => Ok(()),
        Some(ProviderIdIssue::InvalidMethodId { method }) => Err(RegistryError::InvalidMethodId {
            provider: id,
            method,
        }),
        Some(ProviderIdIssue::DuplicateMethod { method }) => Err(RegistryError::DuplicateMethod {
            provider: id,
            method,
        }),
        Some(_) => Err(RegistryError::InvalidProviderId { id }),
    }
}

/// Whether `manifest` uses any plugin, choice or provider id that `plugin` uses: a cheap scan,
/// with no pointers built, to pick the manifests [`duplicate_ids`] must see.
fn shares_an_id(manifest: &Manifest, plugin: &PluginIds<'_>) -> bool {
    let Some(theirs) = plugin.manifest else {
        return false;
    };
    manifest.id == theirs.id
        || manifest
            .providers
            .iter()
            .any(|p| plugin.providers.contains(&p.id.as_str()))
        || choice_ids(manifest).any(|id| choice_ids(theirs).any(|other| other == id))
}

/// Every id `--choice` accepts in `manifest`, as [`Manifest::choice_ids`] without pointers.
fn choice_ids(manifest: &Manifest) -> impl Iterator<Item = &str> {
    manifest.auth_choices.iter().flat_map(|c| {
        std::iter::once(c.choice_id.as_str())
            .chain(c.deprecated_choice_ids.iter().map(String::as_str))
    })
}

/// An id used twice across plugins, as a registry error.
fn duplicate_error(duplicate: DuplicateId) -> RegistryError {
    let DuplicateId {
        kind,
        id,
        first,
        second,
        ..
    } = duplicate;
    match kind {
        SharedId::Plugin => RegistryError::DuplicatePlugin { id, first, second },
        SharedId::Choice => RegistryError::DuplicateChoice { id, first, second },
        _ => RegistryError::DuplicateProvider { id, first, second },
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use serde_json::json;

    use super::*;
    use crate::auth::{AuthError, AuthKind, AuthMethod, AuthResult};
    use crate::context::AuthContext;

    struct Method(&'static str, AuthKind);

    #[async_trait]
    impl AuthMethod for Method {
        fn id(&self) -> &str {
            self.0
        }
        fn label(&self) -> &str {
            "Method"
        }
        fn kind(&self) -> AuthKind {
            self.1
        }
        async fn run(&self, _ctx: &mut AuthContext) -> Result<AuthResult, AuthError> {
            Err(AuthError::Cancelled)
        }
    }

    struct TestProvider {
        id: &'static str,
        methods: Vec<Box<dyn AuthMethod>>,
    }

    impl Provider for TestProvider {
        fn id(&self) -> &str {
            self.id
        }
        fn label(&self) -> &str {
            "Test"
        }
        fn docs_path(&self) -> &str {
            "/providers/test"
        }
        fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
            &self.methods
        }
    }

    fn provider(id: &'static str, methods: &[(&'static str, AuthKind)]) -> Box<dyn Provider> {
        let methods = methods
            .iter()
            .map(|&(m, k)| Box::new(Method(m, k)) as Box<dyn AuthMethod>)
            .collect();
        Box::new(TestProvider { id, methods })
    }

    fn manifest(plugin: &str, provider: &str, choices: &[(&str, &str, &str)]) -> String {
        let choices: Vec<_> = choices
            .iter()
            .map(|(choice, method, kind)| {
                json!({"choice_id": choice, "provider": provider, "method": method, "kind": kind,
                       "label": "Choice", "group": {"id": provider, "label": "Group"}})
            })
            .collect();
        json!({"manifest_version": 1, "id": plugin, "name": "Plugin", "version": "1",
               "providers": [{"id": provider, "label": "Provider"}], "auth_choices": choices})
        .to_string()
    }

    /// One plugin: (path, manifest json, providers).
    type Plugin = (&'static str, String, Vec<Box<dyn Provider>>);

    fn build(plugins: Vec<Plugin>) -> Result<Registry, RegistryError> {
        let jsons: Vec<String> = plugins.iter().map(|p| p.1.clone()).collect();
        Registry::build(
            plugins
                .into_iter()
                .zip(&jsons)
                .map(|((path, _, providers), json)| PluginSource {
                    path,
                    json,
                    providers,
                }),
        )
    }

    fn alpha() -> Plugin {
        (
            "alpha.json",
            manifest("alpha", "alpha", &[("alpha-key", "api-key", "api_key")]),
            vec![provider("alpha", &[("api-key", AuthKind::ApiKey)])],
        )
    }

    #[test]
    fn consistent_plugins_build_a_registry_sorted_by_provider_id() {
        let beta = (
            "beta.json",
            manifest("beta", "beta", &[("beta-key", "api-key", "api_key")]),
            vec![provider("beta", &[("api-key", AuthKind::ApiKey)])],
        );
        let registry = build(vec![beta, alpha()]).unwrap();
        assert_eq!(registry.provider_ids(), ["alpha", "beta"]);
        assert_eq!(registry.menu(|_| false).choices().count(), 2);
    }

    #[test]
    fn inconsistent_plugins_are_typed_errors_naming_the_fault() {
        let key = &[("api-key", AuthKind::ApiKey)];
        let cases: Vec<(&str, Vec<Plugin>, &str)> = vec![
            (
                "invalid provider id in the manifest",
                vec![(
                    "a.json",
                    manifest("a", "Alpha", &[]),
                    vec![provider("Alpha", &[])],
                )],
                "a.json: /providers/0/id: provider id \"Alpha\" is invalid",
            ),
            (
                "invalid provider id at runtime",
                vec![(
                    "a.json",
                    manifest("a", "alpha", &[]),
                    vec![provider("Alpha", &[])],
                )],
                "provider id \"Alpha\" is invalid",
            ),
            (
                "duplicate provider across plugins",
                vec![
                    alpha(),
                    (
                        "b.json",
                        manifest("b", "alpha", &[("b-key", "api-key", "api_key")]),
                        vec![provider("alpha", key)],
                    ),
                ],
                "provider \"alpha\" is registered by both alpha.json and b.json",
            ),
            (
                "duplicate method",
                vec![(
                    "a.json",
                    manifest("a", "alpha", &[("a-key", "api-key", "api_key")]),
                    vec![provider(
                        "alpha",
                        &[("api-key", AuthKind::ApiKey), ("api-key", AuthKind::ApiKey)],
                    )],
                )],
                "provider \"alpha\" has two methods with id \"api-key\"",
            ),
            (
                "invalid method id",
                vec![(
                    "a.json",
                    manifest("a", "alpha", &[("a-key", "api-key", "api_key")]),
                    vec![provider(
                        "alpha",
                        &[("api-key", AuthKind::ApiKey), ("API", AuthKind::ApiKey)],
                    )],
                )],
                "provider \"alpha\" has an invalid method id \"API\"",
            ),
            (
                "choice without runtime method",
                vec![(
                    "a.json",
                    manifest("a", "alpha", &[("a-key", "token", "token")]),
                    vec![provider("alpha", &[])],
                )],
                "a.json: /auth_choices/0/method: provider \"alpha\" has no sign-in method \"token\"",
            ),
            (
                "kind disagrees",
                vec![(
                    "a.json",
                    manifest("a", "alpha", &[("a-key", "api-key", "oauth")]),
                    vec![provider("alpha", key)],
                )],
                "a.json: /auth_choices/0/kind: kind is oauth but method \"api-key\" is api_key",
            ),
            (
                "runtime method without choice",
                vec![(
                    "a.json",
                    manifest("a", "alpha", &[]),
                    vec![provider("alpha", key)],
                )],
                "a.json: /auth_choices: method \"api-key\" of provider \"alpha\" has no sign-in choice",
            ),
            (
                "declared provider not registered",
                vec![("a.json", manifest("a", "alpha", &[]), vec![])],
                "a.json: /providers/0/id: provider \"alpha\" is declared but not registered",
            ),
            (
                "registered provider not declared",
                vec![(
                    "a.json",
                    manifest("a", "alpha", &[]),
                    vec![provider("alpha", &[]), provider("beta", &[])],
                )],
                "a.json: /providers: provider \"beta\" is registered at runtime but not declared",
            ),
            (
                "duplicate choice across manifests",
                vec![
                    alpha(),
                    (
                        "b.json",
                        manifest("b", "beta", &[("alpha-key", "api-key", "api_key")]),
                        vec![provider("beta", key)],
                    ),
                ],
                "choice id \"alpha-key\" is used by both alpha.json and b.json",
            ),
            (
                "duplicate plugin id",
                vec![
                    alpha(),
                    (
                        "b.json",
                        manifest("alpha", "beta", &[("b-key", "api-key", "api_key")]),
                        vec![provider("beta", key)],
                    ),
                ],
                "plugin id \"alpha\" is used by both alpha.json and b.json",
            ),
            (
                "manifest that does not parse",
                vec![("a.json", "{\"manifest_version\": 1".to_owned(), vec![])],
                "a.json: ",
            ),
        ];
        for (name, plugins, want) in cases {
            let err = build(plugins).expect_err(name).to_string();
            assert!(err.starts_with(want), "{name}: {err}");
            assert!(!err.contains('\n'), "{name}: {err}");
        }
    }

    fn installed(plugin: &str, provider_id: &str, choice: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(&manifest(
            plugin,
            provider_id,
            &[(choice, "api-key", "api_key")],
        ))
        .unwrap();
        v["runtime"] = json!({"kind": "openai-compatible", "base_url": "https://x.test/v1"});
        v.to_string()
    }

    #[test]
    fn installed_plugins_join_after_the_built_ins_and_faulty_ones_are_listed_as_broken() {
        let mut registry = build(vec![alpha()]).unwrap();
        let key = &[("api-key", AuthKind::ApiKey)];
        let good = installed("groq", "groq", "groq-key");
        registry
            .admit(PluginSource {
                path: "/p/groq/plugin.json",
                json: &good,
                providers: vec![provider("groq", key)],
            })
            .unwrap();
        assert_eq!(registry.provider_ids(), ["alpha", "groq"]);
        let origins: Vec<_> = registry.manifests().iter().map(|m| m.origin).collect();
        assert_eq!(origins, [PluginOrigin::BuiltIn, PluginOrigin::Manifest]);

        let no_runtime = manifest("plain", "plain", &[("plain-key", "api-key", "api_key")]);
        let cases: Vec<(Plugin, &str)> = vec![
            (
                (
                    "/p/again/plugin.json",
                    installed("again", "alpha", "again-key"),
                    vec![provider("alpha", key)],
                ),
                "provider \"alpha\" is registered by both alpha.json and /p/again/plugin.json",
            ),
            (
                (
                    "/p/dup/plugin.json",
                    installed("dup", "dup", "groq-key"),
                    vec![provider("dup", key)],
                ),
                "choice id \"groq-key\" is used by both /p/groq/plugin.json and /p/dup/plugin.json",
            ),
            (
                (
                    "/p/plain/plugin.json",
                    no_runtime,
                    vec![provider("plain", key)],
                ),
                "/p/plain/plugin.json: /runtime: an installed plugin needs a \"runtime\" object",
            ),
            (
                (
                    "/p/bad/plugin.json",
                    "{\"manifest_version\": 1, \"colour\": 2}".to_owned(),
                    vec![],
                ),
                "/p/bad/plugin.json: /colour: unknown field",
            ),
        ];
        for ((path, json, providers), want) in cases {
            let err = registry
                .admit(PluginSource {
                    path,
                    json: &json,
                    providers,
                })
                .expect_err(path)
                .to_string();
            assert!(err.starts_with(want), "{path}: {err}");
        }
        assert_eq!(registry.provider_ids(), ["alpha", "groq"]);
        let broken: Vec<_> = registry.broken().iter().map(|b| b.path.as_str()).collect();
        assert_eq!(
            broken,
            [
                "/p/again/plugin.json",
                "/p/dup/plugin.json",
                "/p/plain/plugin.json",
                "/p/bad/plugin.json"
            ]
        );
        assert_eq!(registry.broken()[0].id.as_deref(), Some("again"));
        assert_eq!(registry.broken()[0].origin, Some(PluginOrigin::Manifest));
        assert_eq!(registry.broken()[3].id, None);
        assert_eq!(registry.menu(|_| false).choices().count(), 2);
    }

    #[test]
    fn a_built_in_manifest_with_a_runtime_is_refused() {
        let err = build(vec![(
            "a.json",
            installed("alpha", "alpha", "alpha-key"),
            vec![provider("alpha", &[("api-key", AuthKind::ApiKey)])],
        )])
        .expect_err("runtime")
        .to_string();
        assert_eq!(
            err,
            "a.json: /runtime: a built-in plugin has no runtime: its code is linked in"
        );
    }
}
