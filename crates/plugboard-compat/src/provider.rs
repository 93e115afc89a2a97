//! The provider an `openai-compatible` manifest describes: its identity and choices from the
//! manifest, its sign-in from the host (`api-key` with a key variable, `local` without), its
//! model calls, model list and check from OpenAI's documented API.

use std::sync::Arc;

use plugboard_core::{
    ApiKeyMethod, AuthMethod, CredentialCheck, EnvRole, EnvVar, HostServices, Manifest,
    ManifestError, ModelLister, ModelRef, ModelRunner, OpenAiCompatibleRuntime, Provider, Runtime,
    base_url_env,
};

use crate::chat::ChatRunner;
use crate::local::{LOCAL_METHOD_ID, LocalMethod};
use crate::models::{ModelsCheck, ModelsLister};
use crate::service::{Service, base_url_issue};

/// Where every manifest-only provider's page is in the docs.
pub const DOCS_PATH: &str = "/providers/openai-compatible";

/// The id of the host's API-key method: `--method api-key`.
pub const API_KEY_METHOD_ID: &str = "api-key";

/// A provider served from an `openai-compatible` manifest alone.
pub struct CompatProvider {
    service: Arc<Service>,
    default_model: Option<String>,
    env_vars: Vec<EnvVar>,
    methods: Vec<Box<dyn AuthMethod>>,
    runner: ChatRunner,
    lister: ModelsLister,
    check: ModelsCheck,
}

impl std::fmt::Debug for CompatProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompatProvider")
            .field("service", &self.service)
            .field("default_model", &self.default_model)
            .finish_non_exhaustive()
    }
}

/// The providers of the plugin whose manifest, read from `path`, is `manifest`: exactly one
/// for an `openai-compatible` runtime. Nothing is sent and no file is read.
///
/// # Errors
///
/// A [`ManifestError`] naming `path` and the pointer at fault: a runtime of another kind (or
/// none), not exactly one provider, a `base_url` that is not an http(s) URL with a host (or
/// carries a user name or password), or a `default_model` that does not make a model ref.
pub fn providers(path: &str, manifest: &Manifest) -> Result<Vec<Box<dyn Provider>>, ManifestError> {
    Ok(vec![Box::new(CompatProvider::new(path, manifest)?)])
}

impl CompatProvider {
    /// The provider `manifest` (read from `path`) describes; see [`providers`].
    ///
    /// # Errors
    ///
    /// As [`providers`].
    pub fn new(path: &str, manifest: &Manifest) -> Result<Self, ManifestError> {
        let fault = |pointer: &str, message: String| ManifestError {
            file: path.to_owned(),
            pointer: pointer.to_owned(),
            message,
        };
        let runtime: &OpenAiCompatibleRuntime = match &manifest.runtime {
            Some(Runtime::OpenaiCompatible(runtime)) => runtime,
            Some(other) => {
                return Err(fault(
                    "/runtime",
                    format!(
                        "the runtime is {:?}, not \"openai-compatible\"",
                        other.kind()
                    ),
                ));
            }
            None => {
                return Err(fault(
                    "/runtime",
                    "an openai-compatible plugin needs a \"runtime\" object".to_owned(),
                ));
            }
        };
        let [declared] = manifest.providers.as_slice() else {
            return Err(fault(
                "/providers",
                format!(
                    "an openai-compatible plugin declares exactly one provider, not {}",
                    manifest.providers.len()
                ),
            ));
        };
        let id = declared.id.clone();
        if let Some(message) = base_url_issue(&id, &runtime.base_url) {
            return Err(fault("/runtime/base_url", message));
        }
        let default_model = match &runtime.default_model {
            None => None,
            Some(model) => {
                let reference = format!("{id}/{model}");
                if reference.parse::<ModelRef>().is_err() {
                    return Err(fault(
                        "/runtime/default_model",
                        format!("default_model {model:?} is not a model id this provider can take"),
                    ));
                }
                Some(reference)
            }
        };
        let service = Arc::new(Service {
            provider_id: id.clone(),
            name: declared.label.clone(),
            base_url_env: base_url_env(&id),
            default_base: runtime.base_url.trim().to_owned(),
            keyed: runtime.api_key_env.is_some(),
        });

        // The menu's words for the method: the manifest's choice for it, if it has one (the
        // registry refuses a method without a choice, naming the manifest).
        let choice = |method: &str| {
            manifest
                .auth_choices
                .iter()
                .find(|c| c.provider == id && c.method == method)
        };
        let mut env_vars = Vec::new();
        let method: Box<dyn AuthMethod> = match &runtime.api_key_env {
            Some(variable) => {
                env_vars.push(EnvVar::named(variable.clone(), EnvRole::Credential));
                let choice = choice(API_KEY_METHOD_ID);
                let label = choice
                    .map(|c| c.label.clone())
                    .unwrap_or_else(|| format!("{} API key", declared.label));
                let mut method =
                    ApiKeyMethod::new(id.clone(), label, format!("{} API key", declared.label))
                        .with_note(
                            "to replace the key, run the same command again with the new one",
                        );
                if let Some(hint) = choice.and_then(|c| c.hint.clone()) {
                    method = method.with_hint(hint);
                }
                if let Some(model) = &default_model {
                    method = method.with_default_model(model.clone());
                }
                Box::new(method)
            }
            None => {
                let choice = choice(LOCAL_METHOD_ID);
                Box::new(LocalMethod {
                    service: service.clone(),
                    label: choice
                        .map(|c| c.label.clone())
                        .unwrap_or_else(|| format!("{} (no key)", declared.label)),
                    hint: choice.and_then(|c| c.hint.clone()),
                })
            }
        };
        env_vars.push(EnvVar::named(
            service.base_url_env.clone(),
            EnvRole::Setting,
        ));
        Ok(Self {
            runner: ChatRunner {
                service: service.clone(),
            },
            lister: ModelsLister {
                service: service.clone(),
            },
            check: ModelsCheck {
                service: service.clone(),
            },
            service,
            default_model,
            env_vars,
            methods: vec![method],
        })
    }
}

impl Provider for CompatProvider {
    fn id(&self) -> &str {
        &self.service.provider_id
    }

    fn label(&self) -> &str {
        &self.service.name
    }

    fn docs_path(&self) -> &str {
        DOCS_PATH
    }

    fn env_vars(&self) -> &[EnvVar] {
        &self.env_vars
    }

    fn default_model(&self) -> Option<&str> {
        self.default_model.as_deref()
    }

    fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
        &self.methods
    }

    fn service_url(&self, host: &HostServices) -> Option<String> {
        self.service.service_url(host)
    }

    fn model_runner(&self) -> Option<&dyn ModelRunner> {
        Some(&self.runner)
    }

    fn model_lister(&self) -> Option<&dyn ModelLister> {
        Some(&self.lister)
    }

    fn credential_check(&self) -> Option<&dyn CredentialCheck> {
        Some(&self.check)
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::AuthKind;

    use super::*;

    fn manifest(runtime: serde_json::Value, method: &str, kind: &str) -> String {
        serde_json::json!({
            "manifest_version": 1,
            "id": "acme",
            "name": "Acme",
            "version": "1.0.0",
            "providers": [{"id": "acme-cloud", "label": "Acme Cloud", "capabilities": ["model.run", "model.list"]}],
            "auth_choices": [{
                "choice_id": format!("acme-cloud-{method}"),
                "provider": "acme-cloud",
                "method": method,
                "kind": kind,
                "label": "Acme key (from the console)",
                "hint": "Paste a key",
                "group": {"id": "acme", "label": "Acme"},
            }],
            "runtime": runtime,
        })
        .to_string()
    }

    fn build(json: &str) -> Result<CompatProvider, ManifestError> {
        let manifest = Manifest::load("plugins/acme/plugin.json", json).unwrap();
        CompatProvider::new("plugins/acme/plugin.json", &manifest)
    }

    #[test]
    fn a_keyed_service_reads_its_key_variable_and_signs_in_with_the_hosts_api_key_method() {
        let provider = build(&manifest(
            serde_json::json!({"kind": "openai-compatible", "base_url": "https://api.acme.test/v1", "api_key_env": "ACME_API_KEY", "default_model": "acme-large"}),
            "api-key",
            "api_key",
        ))
        .unwrap();
        assert_eq!(provider.id(), "acme-cloud");
        assert_eq!(provider.label(), "Acme Cloud");
        assert_eq!(provider.docs_path(), "/providers/openai-compatible");
        assert_eq!(provider.default_model(), Some("acme-cloud/acme-large"));
        assert_eq!(
            provider.env_vars(),
            [
                EnvVar::credential("ACME_API_KEY"),
                EnvVar::setting("ACME_CLOUD_BASE_URL"),
            ]
        );
        let [method] = provider.auth_methods() else {
            panic!("one method");
        };
        assert_eq!(
            (method.id(), method.kind(), method.label(), method.hint()),
            (
                "api-key",
                AuthKind::ApiKey,
                "Acme key (from the console)",
                Some("Paste a key")
            )
        );
        assert_eq!(
            provider.service_url(&HostServices::default()).as_deref(),
            Some("https://api.acme.test/v1")
        );
        assert!(provider.model_runner().is_some());
        assert!(provider.model_lister().is_some());
        assert!(provider.credential_check().is_some());
    }

    #[test]
    fn a_service_without_a_key_variable_signs_in_locally_and_reads_only_its_base_url() {
        let provider = build(&manifest(
            serde_json::json!({"kind": "openai-compatible", "base_url": "http://localhost:1234/v1"}),
            "local",
            "local",
        ))
        .unwrap();
        assert_eq!(
            provider.env_vars(),
            [EnvVar::setting("ACME_CLOUD_BASE_URL")]
        );
        assert!(provider.credential_env_vars().is_empty());
        assert_eq!(provider.default_model(), None);
        let [method] = provider.auth_methods() else {
            panic!("one method");
        };
        assert_eq!((method.id(), method.kind()), ("local", AuthKind::Local));
    }

    #[test]
    fn a_manifest_it_cannot_serve_is_refused_at_the_pointer_at_fault() {
        let cases = [
            (
                serde_json::json!({"kind": "openai-compatible", "base_url": "api.acme.test/v1"}),
                "plugins/acme/plugin.json: /runtime/base_url: base_url is not a valid URL (relative URL without a base): give the API root with its path, e.g. https://api.groq.com/openai/v1",
            ),
            (
                serde_json::json!({"kind": "openai-compatible", "base_url": "https://me:pw@api.acme.test/v1"}),
                "plugins/acme/plugin.json: /runtime/base_url: base_url carries a user name or password: remove the part before @ (a key goes in the variable api_key_env names)",
            ),
            (
                serde_json::json!({"kind": "openai-compatible", "base_url": "https://api.acme.test/v1", "default_model": "has space"}),
                "plugins/acme/plugin.json: /runtime/default_model: default_model \"has space\" is not a model id this provider can take",
            ),
            (
                serde_json::json!({"kind": "exec", "command": ["./bin/acme"]}),
                "plugins/acme/plugin.json: /runtime: the runtime is \"exec\", not \"openai-compatible\"",
            ),
        ];
        for (runtime, want) in cases {
            let json = manifest(runtime.clone(), "local", "local");
            let err = build(&json).unwrap_err();
            assert_eq!(err.to_string(), want, "{runtime}");
        }
        // A built-in manifest has no runtime at all.
        let mut bare: serde_json::Value =
            serde_json::from_str(&manifest(serde_json::json!(null), "local", "local")).unwrap();
        bare.as_object_mut().unwrap().remove("runtime");
        let manifest = Manifest::load("m.json", &bare.to_string()).unwrap();
        assert_eq!(
            providers("m.json", &manifest).err().unwrap().pointer,
            "/runtime"
        );
    }
}
