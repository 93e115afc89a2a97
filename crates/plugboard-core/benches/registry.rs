//! Budget (docs/performance.md): building the registry and the sign-in menu from 1,000
//! manifests takes under 20 ms.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use plugboard_core::{
    AuthContext, AuthError, AuthKind, AuthMenu, AuthMethod, AuthResult, Manifest, PluginSource,
    Provider, Registry, async_trait,
};

const PLUGINS: usize = 1_000;

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

criterion_group!(benches, bench);
criterion_main!(benches);
