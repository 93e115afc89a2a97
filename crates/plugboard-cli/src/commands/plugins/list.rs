//! `plugboard plugins list`: every plugin the registry read, built in or installed, with
//! where it came from, its providers and their sign-in methods, and its state: `ok`, or
//! `broken` with the reason it was left out. Only what `App::load` read is shown: listing
//! starts no plugin process.

use std::path::Path;

use plugboard_core::{AuthKind, BrokenPlugin, EnvRole, LoadedManifest, PluginOrigin, Provider};
use plugboard_discovery::MANIFEST_FILE;
use serde::Serialize;

use crate::app::App;
use crate::installed::plugin_dir;
use crate::output::{print, print_json};

#[derive(Serialize)]
struct PluginsJson<'a> {
    plugins: Vec<PluginJson<'a>>,
}

/// One plugin. A broken plugin has no providers, and whatever its manifest did not say (or
/// could not be read for) is `null`.
#[derive(Serialize)]
struct PluginJson<'a> {
    id: Option<&'a str>,
    name: Option<&'a str>,
    version: Option<&'a str>,
    description: Option<&'a str>,
    /// The manifest's path: repository-relative for a built-in plugin (embedded in the
    /// binary), the file for an installed one.
    manifest: Option<&'a str>,
    providers: Vec<ProviderJson<'a>>,
    /// `built-in`, `manifest` or `exec`; `null` for a broken plugin whose runtime is unknown.
    source: Option<&'static str>,
    /// The plugin's folder; `null` for a built-in plugin.
    path: Option<String>,
    /// `ok` or `broken`.
    state: &'static str,
    /// Why a broken plugin was left out, one line; `null` when it is ok.
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct ProviderJson<'a> {
    id: &'a str,
    label: &'a str,
    docs_path: &'a str,
    env_vars: Vec<EnvVarJson<'a>>,
    default_model: Option<&'a str>,
    /// From the manifest; the registry has checked it matches the runtime.
    capabilities: &'a [String],
    auth_methods: Vec<MethodJson<'a>>,
}

#[derive(Serialize)]
struct EnvVarJson<'a> {
    name: &'a str,
    role: &'static str,
}

#[derive(Serialize)]
struct MethodJson<'a> {
    id: &'a str,
    label: &'a str,
    hint: Option<&'a str>,
    kind: AuthKind,
    needs_browser: bool,
    needs_tty: bool,
}

pub(crate) fn run(app: &App, json: bool) -> anyhow::Result<()> {
    let plugins: Vec<PluginJson> = app
        .registry
        .manifests()
        .iter()
        .map(|loaded| loaded_json(app, loaded))
        .chain(app.registry.broken().iter().map(broken_json))
        .collect();
    if json {
        return print_json(&PluginsJson { plugins });
    }
    print(render(&plugins).trim_end())
}

fn loaded_json<'a>(app: &'a App, loaded: &'a LoadedManifest) -> PluginJson<'a> {
    let m = &loaded.manifest;
    let installed = loaded.origin != PluginOrigin::BuiltIn;
    PluginJson {
        id: Some(&m.id),
        name: Some(&m.name),
        version: Some(&m.version),
        description: m.description.as_deref(),
        manifest: Some(&loaded.path),
        providers: m
            .providers
            .iter()
            .filter_map(|declared| {
                let runtime = app.registry.provider(&declared.id)?;
                Some(provider_json(runtime, &declared.capabilities))
            })
            .collect(),
        source: Some(loaded.origin.as_str()),
        path: installed.then(|| plugin_dir(&loaded.path).display().to_string()),
        state: "ok",
        reason: None,
    }
}

fn broken_json(broken: &BrokenPlugin) -> PluginJson<'_> {
    let read_manifest = Path::new(&broken.path)
        .file_name()
        .is_some_and(|name| name == MANIFEST_FILE);
    PluginJson {
        id: broken.id.as_deref(),
        name: None,
        version: None,
        description: None,
        manifest: read_manifest.then_some(broken.path.as_str()),
        providers: Vec::new(),
        source: broken.origin.map(PluginOrigin::as_str),
        path: Some(plugin_dir(&broken.path).display().to_string()),
        state: "broken",
        reason: Some(&broken.reason),
    }
}

/// The list as text: a heading line per plugin, where it came from, then its providers; a
/// broken plugin with its reason instead.
fn render(plugins: &[PluginJson<'_>]) -> String {
    let mut text = String::new();
    for p in plugins {
        match (p.state, p.id) {
            ("broken", Some(id)) => text.push_str(&format!("{id}  (broken)\n")),
            ("broken", None) => text.push_str("(unreadable plugin)  (broken)\n"),
            (_, id) => text.push_str(&format!(
                "{} {}  {}\n",
                id.unwrap_or_default(),
                p.version.unwrap_or_default(),
                p.description.or(p.name).unwrap_or_default()
            )),
        }
        let source = p.source.unwrap_or("unknown");
        match &p.path {
            Some(path) => text.push_str(&format!("  source   {source}  {path}\n")),
            None => text.push_str(&format!("  source   {source}\n")),
        }
        if let Some(reason) = p.reason {
            text.push_str(&format!("  broken   {reason}\n"));
        }
        for provider in &p.providers {
            let env: Vec<_> = provider.env_vars.iter().map(|v| v.name).collect();
            text.push_str(&format!("  provider {}  {}\n", provider.id, provider.label));
            text.push_str(&format!("    docs     {}\n", provider.docs_path));
            if !env.is_empty() {
                text.push_str(&format!("    env      {}\n", env.join(", ")));
            }
            if let Some(model) = provider.default_model {
                text.push_str(&format!("    model    {model}\n"));
            }
            if !provider.capabilities.is_empty() {
                text.push_str(&format!(
                    "    can      {}\n",
                    provider.capabilities.join(", ")
                ));
            }
            for m in &provider.auth_methods {
                text.push_str(&format!(
                    "    sign-in  {:<10} {:<8} {}\n",
                    m.id,
                    m.kind.as_str(),
                    m.label
                ));
            }
        }
    }
    text
}

fn provider_json<'a>(p: &'a dyn Provider, capabilities: &'a [String]) -> ProviderJson<'a> {
    ProviderJson {
        id: p.id(),
        label: p.label(),
        docs_path: p.docs_path(),
        env_vars: p
            .env_vars()
            .iter()
            .map(|v| EnvVarJson {
                name: &v.name,
                role: if v.role == EnvRole::Credential {
                    "credential"
                } else {
                    "setting"
                },
            })
            .collect(),
        default_model: p.default_model(),
        capabilities,
        auth_methods: p
            .auth_methods()
            .iter()
            .map(|m| MethodJson {
                id: m.id(),
                label: m.label(),
                hint: m.hint(),
                kind: m.kind(),
                needs_browser: m.needs_browser(),
                needs_tty: m.needs_tty(),
            })
            .collect(),
    }
}
