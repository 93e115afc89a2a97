//! `plugboard plugins list` and `plugboard plugins schema`.

use plugboard_core::{AuthKind, EnvRole, Provider, manifest_schema_text};
use serde::Serialize;

use plugboard_protocol::{host_schema, plugin_schema, schema_text};

use crate::app::App;
use crate::cli::ProtocolSide;
use crate::output::{print, print_json};

#[derive(Serialize)]
struct PluginsJson<'a> {
    plugins: Vec<PluginJson<'a>>,
}

#[derive(Serialize)]
struct PluginJson<'a> {
    id: &'a str,
    name: &'a str,
    version: &'a str,
    description: Option<&'a str>,
    manifest: &'a str,
    providers: Vec<ProviderJson<'a>>,
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

pub(crate) fn list(app: &App, json: bool) -> anyhow::Result<()> {
    let plugins: Vec<PluginJson> = app
        .registry
        .manifests()
        .iter()
        .map(|loaded| {
            let m = &loaded.manifest;
            PluginJson {
                id: &m.id,
                name: &m.name,
                version: &m.version,
                description: m.description.as_deref(),
                manifest: &loaded.path,
                providers: m
                    .providers
                    .iter()
                    .filter_map(|declared| {
                        let runtime = app.registry.provider(&declared.id)?;
                        Some(provider_json(runtime, &declared.capabilities))
                    })
                    .collect(),
            }
        })
        .collect();
    if json {
        return print_json(&PluginsJson { plugins });
    }
    let mut text = String::new();
    for p in &plugins {
        text.push_str(&format!(
            "{} {}  {}\n",
            p.id,
            p.version,
            p.description.unwrap_or(p.name)
        ));
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
    print(text.trim_end())
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

pub(crate) fn schema(protocol: Option<ProtocolSide>) -> anyhow::Result<()> {
    let text = match protocol {
        None => manifest_schema_text(),
        Some(ProtocolSide::Host) => schema_text(&host_schema()),
        Some(ProtocolSide::Plugin) => schema_text(&plugin_schema()),
    };
    print(text.trim_end())
}
