//! Budget (docs/performance.md): building the registry and the sign-in menu from 1,000
//! manifests takes under 20 ms. Admitting 100 installed plugins is part of every command's
//! start (`plugins list` with 100 installed plugins stays under 10 ms), so it is measured too.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use plugboard_core::{
    AuthContext, AuthError, AuthKind, AuthMenu, AuthMethod, AuthResult, Manifest, PluginSource,
    Provider, Registry, async_trait,
};

const PLUGINS: usize = 1_000;

/// Installed plugins admitted after the built-in ones, as the budget counts them.
const INSTALLED: usize = 100;

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

struct BenchProvider {
    id: String,
    methods: Vec<Box<dyn AuthMethod>>,
}

impl Provider for BenchProvider {
    fn id(&self) -> &str {
        &self.id
    }
    fn label(&self) -> &str {
        "Provider"
    }
    fn docs_path(&self) -> &str {
        "/providers/bench"
    }
    fn auth_methods(&self) -> &[Box<dyn AuthMethod>] {
        &self.methods
    }
}

/// A plugin shaped like OpenRouter's: one provider, a featured OAuth choice and an API key.
fn manifest(i: usize) -> String {
    let id = format!("plugin-{i:04}");
    serde_json::json!({
        "$schema": "./schema/plugin-manifest.schema.json",
        "manifest_version": 1, "id": id, "name": format!("Plugin {i}"), "version": "1.0.0",
        "description": "A generated plugin",
        "providers": [{"id": id, "label": format!("Provider {i}")}],
        "auth_choices": [
            {"choice_id": format!("{id}-oauth"), "provider": id, "method": "oauth", "kind": "oauth",
             "label": "Browser sign-in", "hint": "Opens a browser", "featured": i.is_multiple_of(7), "order": 10,
             "group": {"id": id, "label": format!("Provider {i}"), "hint": "OAuth or API key"},
             "deprecated_choice_ids": [format!("{id}-old")]},
            {"choice_id": format!("{id}-api-key"), "provider": id, "method": "api-key", "kind": "api_key",
             "label": "API key", "hint": "Paste a key", "order": 20,
             "group": {"id": id, "label": format!("Provider {i}")}}
        ]
    })
    .to_string()
}

fn providers() -> Vec<Box<dyn Provider>> {
    (0..PLUGINS)
        .map(|i| {
            Box::new(BenchProvider {
                id: format!("plugin-{i:04}"),
                methods: vec![
                    Box::new(Method("oauth", AuthKind::OAuth)),
                    Box::new(Method("api-key", AuthKind::ApiKey)),
                ],
            }) as Box<dyn Provider>
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts: Vec<(String, String)> = (0..PLUGINS)
        .map(|i| (format!("manifests/plugin-{i:04}.json"), manifest(i)))
        .collect();

    let sources = texts
        .iter()
        .zip(providers())
        .map(|((path, json), provider)| PluginSource {
            path,
            json,
            providers: vec![provider],
        });
    if let Err(e) = Registry::build(sources) {
        panic!("generated plugins must form a valid registry: {e}");
    }

    c.bench_function("registry_and_menu_from_1000_manifests", |b| {
        b.iter_batched(
            providers,
            |providers| {
                let sources =
                    texts
                        .iter()
                        .zip(providers)
                        .map(|((path, json), provider)| PluginSource {
                            path,
                            json,
                            providers: vec![provider],
                        });
                let registry = Registry::build(sources).map_err(|e| e.to_string());
                let menu = registry.map(|r| r.menu(|id| id.ends_with('3')));
                black_box(menu)
            },
            BatchSize::LargeInput,
        );
    });

    let manifests: Vec<Manifest> = texts
        .iter()
        .filter_map(|(path, json)| Manifest::load(path, json).ok())
        .collect();
    assert_eq!(manifests.len(), PLUGINS, "generated manifests must load");
    c.bench_function("menu_from_1000_parsed_manifests", |b| {
        b.iter(|| black_box(AuthMenu::build(&manifests, |id| id.ends_with('3'))));
    });
}

/// [`manifest`] `i` as an installed plugin: the same, with an `openai-compatible` runtime.
fn installed_manifest(i: usize) -> String {
    let mut manifest: serde_json::Value = match serde_json::from_str(&manifest(i)) {
        Ok(value) => value,
        Err(e) => panic!("generated manifests are JSON: {e}"),
    };
    manifest["runtime"] =
        serde_json::json!({"kind": "openai-compatible", "base_url": "https://api.test/v1"});
    manifest.to_string()
}

fn bench_admit(c: &mut Criterion) {
    let texts: Vec<(String, String)> = (0..INSTALLED)
        .map(|i| {
            let path = format!("plugins/plugin-{i:04}/plugin.json");
            (path, installed_manifest(i))
        })
        .collect();
    c.bench_function("admit_100_installed_plugins", |b| {
        b.iter_batched(
            || providers().into_iter().take(INSTALLED).collect::<Vec<_>>(),
            |providers| {
                let mut registry = match Registry::build(Vec::new()) {
                    Ok(registry) => registry,
                    Err(e) => panic!("an empty registry builds: {e}"),
                };
                // As the host does: each manifest loaded once, to build its providers, then
                // handed over.
                for ((path, json), provider) in texts.iter().zip(providers) {
                    let admitted = Manifest::load(path, json)
                        .map_err(|e| e.to_string())
                        .and_then(|manifest| {
                            registry
                                .admit_manifest(path, manifest, vec![provider])
                                .map_err(|e| e.to_string())
                        });
                    if let Err(e) = admitted {
                        panic!("generated plugins are admitted: {e}");
                    }
                }
                black_box(registry)
            },
            BatchSize::LargeInput,
        );
    });
}

criterion_group!(benches, bench, bench_admit);
criterion_main!(benches);
