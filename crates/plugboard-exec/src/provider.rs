//! The providers of an executable plugin, built from its manifest alone: sign-in methods from
//! its choices, `model.run` and `model.list` from its declared capabilities, a refresher for a
//! provider whose sign-in can store refreshable tokens. Building them starts nothing; the
//! first call starts the plugin, which all its providers then share.

use std::path::Path;
use std::sync::Arc;

use plugboard_core::{
    AuthKind, AuthMethod, EnvRole, EnvVar, HostServices, MODEL_LIST_CAPABILITY,
    MODEL_RUN_CAPABILITY, Manifest, ManifestError, ManifestProvider, ModelLister, ModelRunner,
    Provider, Refresher, Runtime, base_url_env,
};

use crate::calls::ProviderCalls;
use crate::model::{ExecLister, ExecRunner};
use crate::options::ExecOptions;
use crate::plugin::Plugin;
use crate::refresh::ExecRefresher;
use crate::sign_in::ExecMethod;

/// One provider of an executable plugin.
pub(crate) struct ExecProvider {
    calls: Arc<ProviderCalls>,
    docs_path: String,
    env_vars: Vec<EnvVar>,
    methods: Vec<Box<dyn AuthMethod>>,
    runner: Option<ExecRunner>,
    lister: Option<ExecLister>,
    refresher: Option<ExecRefresher>,
}

impl Provider for ExecProvider {
    fn id(&self) -> &str {
        &self.calls.provider
    }

    fn label(&self) -> &str {
        &self.calls.label
    }

    fn docs_path(&self) -> &str {
        &self.docs_path
    }

    fn env_vars(&self) -> &[EnvVar] {
        &self.env_vars
    }

    fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
        &self.methods
    }

    fn service_url(&self, host: &HostServices) -> Option<String> {
        self.calls.base_url(host).ok().flatten()
    }

    fn model_runner(&self) -> Option<&dyn ModelRunner> {
        self.runner.as_ref().map(|r| r as &dyn ModelRunner)
    }

    fn model_lister(&self) -> Option<&dyn ModelLister> {
        self.lister.as_ref().map(|l| l as &dyn ModelLister)
    }

    fn refresher(&self) -> Option<&dyn Refresher> {
        self.refresher.as_ref().map(|r| r as &dyn Refresher)
    }
}

/// The plugin of the executable plugin in `dir` whose manifest (read from `path`) is
/// `manifest`: not started.
pub(crate) fn plugin(
    dir: &Path,
    path: &str,
    manifest: &Manifest,
    options: &ExecOptions,
) -> Result<Arc<Plugin>, ManifestError> {
    let error = |pointer: &str, message: String| ManifestError {
        file: path.to_owned(),
        pointer: pointer.to_owned(),
        message,
    };
    let runtime = match &manifest.runtime {
        Some(Runtime::Exec(runtime)) => runtime.clone(),
        Some(other) => {
            return Err(error(
                "/runtime/kind",
                format!("a {} plugin is not an executable plugin", other.kind()),
            ));
        }
        None => {
            return Err(error(
                "/runtime",
                "an executable plugin needs a \"runtime\" object".to_owned(),
            ));
        }
    };
    // The program and the working folder must not depend on where the host was started.
    let dir = std::path::absolute(dir)
        .map_err(|e| error("", format!("cannot resolve the plugin folder: {e}")))?;
    Ok(Arc::new(Plugin::new(
        &manifest.id,
        dir,
        runtime,
        options.clone(),
    )))
}

/// A provider for each one `manifest` declares, all sharing `plugin`.
pub(crate) fn proxies(plugin: &Arc<Plugin>, manifest: &Manifest) -> Vec<Box<dyn Provider>> {
    let base_url = match &manifest.runtime {
        Some(Runtime::Exec(runtime)) => runtime.base_url.clone(),
        _ => None,
    };
    manifest
        .providers
        .iter()
        .map(|declared| {
            let calls = Arc::new(ProviderCalls::new(
                Arc::clone(plugin),
                &declared.id,
                &declared.label,
                base_url.clone(),
            ));
            Box::new(proxy(calls, manifest, declared)) as Box<dyn Provider>
        })
        .collect()
}

fn proxy(
    calls: Arc<ProviderCalls>,
    manifest: &Manifest,
    declared: &ManifestProvider,
) -> ExecProvider {
    let mut methods: Vec<ExecMethod> = Vec::new();
    for choice in manifest
        .auth_choices
        .iter()
        .filter(|c| c.provider == declared.id)
    {
        // Two choices may offer one method (say, under two groups): it is one method.
        if methods.iter().any(|m| m.id == choice.method) {
            continue;
        }
        methods.push(ExecMethod {
            calls: Arc::clone(&calls),
            id: choice.method.clone(),
            label: choice.label.clone(),
            hint: choice.hint.clone(),
            kind: choice.kind,
        });
    }
    let has = |capability: &str| declared.capabilities.iter().any(|c| c == capability);
    // Only a browser or device-code sign-in can store tokens that expire and renew; a
    // provider signed in with a key has nothing to refresh.
    let refreshes = methods
        .iter()
        .any(|m| matches!(m.kind, AuthKind::OAuth | AuthKind::DeviceCode));
    ExecProvider {
        docs_path: format!("/plugins/{}", manifest.id),
        env_vars: vec![EnvVar::named(base_url_env(&declared.id), EnvRole::Setting)],
        methods: methods
            .into_iter()
            .map(|m| Box::new(m) as Box<dyn AuthMethod>)
            .collect(),
        runner: has(MODEL_RUN_CAPABILITY).then(|| ExecRunner(Arc::clone(&calls))),
        lister: has(MODEL_LIST_CAPABILITY).then(|| ExecLister(Arc::clone(&calls))),
        refresher: refreshes.then(|| ExecRefresher(Arc::clone(&calls))),
        calls,
    }
}
