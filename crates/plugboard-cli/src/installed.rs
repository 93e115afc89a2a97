//! Installed plugins joining the registry after the built-in ones: every folder discovery
//! finds (the plugins directory, then each `PLUGBOARD_PLUGIN_PATH` entry), its manifest read
//! and its providers built, or the plugin recorded as broken with why.
//!
//! Only manifests are read: an `openai-compatible` plugin is served by `plugboard-compat`, an
//! `exec` one by `plugboard-exec`, and neither starts a process or sends a request to be built.
//! One bad plugin never stops the others or the command: whatever goes wrong is its reason in
//! `plugins list`, and it is absent from the menu.

use std::path::Path;

use plugboard_core::{
    BrokenPlugin, ErrorChain, Manifest, ManifestError, PluginOrigin, Registry, Runtime,
};
use plugboard_discovery::{Found, PluginFiles, PluginRoots, discover};
use plugboard_exec::ExecOptions;

/// Adds every plugin found under `roots` to `registry`, or records it as broken.
pub(crate) fn load(registry: &mut Registry, roots: &PluginRoots, options: &ExecOptions) {
    for found in discover(roots) {
        match found {
            Found::Plugin(files) => load_plugin(registry, &files, options),
            Found::Broken { dir, error } => registry.mark_broken(BrokenPlugin {
                path: dir.display().to_string(),
                id: None,
                origin: None,
                // With its cause: "cannot read X" alone would not say what went wrong.
                reason: ErrorChain(&error).to_string(),
            }),
        }
    }
}

fn load_plugin(registry: &mut Registry, files: &PluginFiles, options: &ExecOptions) {
    let path = files.manifest_path.display().to_string();
    let manifest = match Manifest::load(&path, &files.json) {
        Ok(manifest) => manifest,
        Err(error) => {
            return registry.mark_broken(BrokenPlugin {
                path,
                id: None,
                origin: None,
                reason: error.to_string(),
            });
        }
    };
    let broken = |reason: String| BrokenPlugin {
        path: path.clone(),
        id: Some(manifest.id.clone()),
        origin: manifest.runtime.as_ref().map(PluginOrigin::of),
        reason,
    };
    if let Some(error) = borrowed_secret(registry, &path, &manifest) {
        return registry.mark_broken(broken(error.to_string()));
    }
    let built = match &manifest.runtime {
        Some(Runtime::OpenaiCompatible(_)) => plugboard_compat::providers(&path, &manifest),
        Some(Runtime::Exec(_)) => plugboard_exec::providers(&files.dir, &path, &manifest, options),
        // Without a runtime the registry refuses it, saying an installed plugin needs one.
        None => Ok(Vec::new()),
    };
    let providers = match built {
        Ok(providers) => providers,
        Err(error) => return registry.mark_broken(broken(error.to_string())),
    };
    // Refused plugins are recorded by the registry itself. The manifest is handed over as
    // loaded: parsing it again would cost as much as everything else the registry does.
    let _ = registry.admit_manifest(&path, manifest, providers);
}

/// The first variable holding another provider's credential that this plugin would read: a
/// manifest-only provider's `api_key_env`, or a variable an executable plugin asks to be
/// passed (`runtime.env`). Either would hand that provider's key to this plugin's service, so
/// the plugin is refused, naming both. A plugin reusing a provider id is left to the
/// registry, which refuses it naming both plugins.
fn borrowed_secret(registry: &Registry, path: &str, manifest: &Manifest) -> Option<ManifestError> {
    if manifest
        .providers
        .iter()
        .any(|p| registry.provider(&p.id).is_some())
    {
        return None;
    }
    let read: Vec<(String, &str)> = match &manifest.runtime {
        Some(Runtime::OpenaiCompatible(rt)) => rt
            .api_key_env
            .iter()
            .map(|name| ("/runtime/api_key_env".to_owned(), name.as_str()))
            .collect(),
        Some(Runtime::Exec(rt)) => rt
            .env
            .iter()
            .enumerate()
            .map(|(i, name)| (format!("/runtime/env/{i}"), name.as_str()))
            .collect(),
        None => Vec::new(),
    };
    // Only the few names this plugin reads are looked up, rather than every provider's
    // variables indexed again for each plugin loaded.
    read.into_iter().find_map(|(pointer, name)| {
        let owner = registry
            .providers()
            .find(|p| p.credential_env_vars().contains(&name))?
            .id();
        Some(ManifestError {
            file: path.to_owned(),
            pointer,
            message: format!(
                "{name} holds the key of provider {owner:?}: a plugin reads only a variable of its own"
            ),
        })
    })
}

/// The folder of a plugin whose manifest (or, when it could not be read, whose folder) is at
/// `path`, as `Registry` records it.
pub(crate) fn plugin_dir(path: &str) -> &Path {
    let path = Path::new(path);
    match (path.file_name(), path.parent()) {
        (Some(name), Some(parent)) if name == plugboard_discovery::MANIFEST_FILE => parent,
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn options() -> ExecOptions {
        ExecOptions::new(false, Arc::new(|_: &str| {}))
    }

    fn manifest(id: &str, runtime: serde_json::Value, method: &str, kind: &str) -> String {
        serde_json::json!({
            "manifest_version": 1,
            "id": id,
            "name": id,
            "version": "1.0.0",
            "providers": [{"id": id, "label": id, "capabilities": ["model.run", "model.list"]}],
            "auth_choices": [{
                "choice_id": format!("{id}-{method}"),
                "provider": id,
                "method": method,
                "kind": kind,
                "label": id,
                "group": {"id": id, "label": id},
            }],
            "runtime": runtime,
        })
        .to_string()
    }

    #[cfg(unix)]
    fn install(root: &Path, name: &str, json: &str) {
        use std::os::unix::fs::PermissionsExt;
        let dir = root.join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(dir.join("plugin.json"), json).unwrap();
        std::fs::set_permissions(
            dir.join("plugin.json"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn good_plugins_join_and_each_bad_one_is_recorded_with_its_reason() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("plugins");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
        let keyed = |env: &str| serde_json::json!({"kind": "openai-compatible", "base_url": "https://api.test/v1", "api_key_env": env});
        install(
            &root,
            "a-good",
            &manifest("acme", keyed("ACME_API_KEY"), "api-key", "api_key"),
        );
        install(
            &root,
            "b-unknown-field",
            &manifest("bad", keyed("BAD_KEY"), "api-key", "api_key").replacen(
                '{',
                r#"{"colour":"red","#,
                1,
            ),
        );
        install(
            &root,
            "c-steals-a-key",
            &manifest("thief", keyed("OPENROUTER_API_KEY"), "api-key", "api_key"),
        );
        install(
            &root,
            "d-bad-url",
            &manifest(
                "badurl",
                serde_json::json!({"kind": "openai-compatible", "base_url": "not a url"}),
                "local",
                "local",
            ),
        );
        install(
            &root,
            "e-exec",
            &manifest(
                "runner",
                serde_json::json!({"kind": "exec", "command": ["./bin/run"], "env": ["ANTHROPIC_API_KEY"]}),
                "api-key",
                "api_key",
            ),
        );

        let mut registry = Registry::load().unwrap();
        load(
            &mut registry,
            &PluginRoots::new(root.clone(), None),
            &options(),
        );
        assert!(registry.provider("acme").is_some());
        assert_eq!(
            registry
                .manifests()
                .iter()
                .find(|m| m.manifest.id == "acme")
                .map(|m| m.origin),
            Some(PluginOrigin::Manifest)
        );
        let broken: Vec<(Option<&str>, &str)> = registry
            .broken()
            .iter()
            .map(|b| (b.id.as_deref(), b.reason.as_str()))
            .collect();
        let at = |name: &str| root.join(name).join("plugin.json").display().to_string();
        assert_eq!(broken.len(), 4, "{broken:#?}");
        assert_eq!(broken[0].0, None);
        assert!(
            broken[0].1.starts_with(&format!(
                "{}: /colour: unknown field",
                at("b-unknown-field")
            )),
            "{}",
            broken[0].1
        );
        assert_eq!(
            broken[1],
            (
                Some("thief"),
                format!("{}: /runtime/api_key_env: OPENROUTER_API_KEY holds the key of provider \"openrouter\": a plugin reads only a variable of its own", at("c-steals-a-key")).as_str()
            )
        );
        assert_eq!(broken[2].0, Some("badurl"));
        assert!(
            broken[2]
                .1
                .contains(": /runtime/base_url: base_url is not a valid URL"),
            "{}",
            broken[2].1
        );
        assert_eq!(
            broken[3],
            (
                Some("runner"),
                format!("{}: /runtime/env/0: ANTHROPIC_API_KEY holds the key of provider \"anthropic\": a plugin reads only a variable of its own", at("e-exec")).as_str()
            )
        );
    }

    #[test]
    fn a_plugins_folder_is_its_manifests_parent_or_the_recorded_folder_itself() {
        assert_eq!(
            plugin_dir("/h/plugins/groq/plugin.json"),
            Path::new("/h/plugins/groq")
        );
        assert_eq!(plugin_dir("/h/plugins/groq"), Path::new("/h/plugins/groq"));
    }
}
