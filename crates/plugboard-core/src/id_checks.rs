//! The id checks the registry and the contract harness share: a runtime provider's own ids, and
//! the ids that must be unique across every plugin linked together. The registry refuses to load
//! on the first fault, as a typed [`RegistryError`](crate::RegistryError); the harness files
//! each under its own rule. Both ask these functions (as both ask
//! [`pairing_issues`](crate::pairing_issues)), so they cannot drift apart.

use std::collections::{HashMap, HashSet};

use crate::ids::is_valid_id;
use crate::manifest::Manifest;
use crate::provider::Provider;

/// A fault in one runtime provider's own ids.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderIdIssue {
    /// The provider's id breaks the id syntax.
    InvalidProviderId,
    /// A method id breaks the id syntax.
    InvalidMethodId {
        /// The method id.
        method: String,
    },
    /// Two methods of the provider share an id.
    DuplicateMethod {
        /// The method id.
        method: String,
    },
}

/// Every fault in `provider`'s own ids, in order: its id, then each method's. A method id that
/// breaks the syntax is not also counted as a repeat.
pub fn provider_id_issues(provider: &dyn Provider) -> Vec<ProviderIdIssue> {
    let mut issues = Vec::new();
    if !is_valid_id(provider.id()) {
        issues.push(ProviderIdIssue::InvalidProviderId);
    }
    let mut seen = HashSet::new();
    for method in provider.auth_methods() {
        let id = method.id();
        if !is_valid_id(id) {
            issues.push(ProviderIdIssue::InvalidMethodId {
                method: id.to_owned(),
            });
        } else if !seen.insert(id) {
            issues.push(ProviderIdIssue::DuplicateMethod {
                method: id.to_owned(),
            });
        }
    }
    issues
}

/// One plugin as the uniqueness check sees it.
#[derive(Debug, Clone)]
pub struct PluginIds<'a> {
    /// Its manifest's path, to name it in reports.
    pub path: &'a str,
    /// Its manifest, when it loaded.
    pub manifest: Option<&'a Manifest>,
    /// The ids of the runtime providers registered with it.
    pub providers: Vec<&'a str>,
}

/// Which kind of id a [`DuplicateId`] repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SharedId {
    /// A manifest's `id`.
    Plugin,
    /// A `choice_id` or one of the `deprecated_choice_ids`: `--choice` accepts both.
    Choice,
    /// A runtime provider's id.
    Provider,
}

/// An id used again where it must be unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateId {
    /// Which kind of id.
    pub kind: SharedId,
    /// The id.
    pub id: String,
    /// RFC 6901 pointer to where `second` uses it again; empty for a provider id, which lives
    /// in runtime code rather than in the manifest.
    pub pointer: String,
    /// The path of the plugin that used it first.
    pub first: String,
    /// The path of the plugin that used it again.
    pub second: String,
}

/// Every reuse of an id that must be unique across `plugins`: plugin ids, choice ids (deprecated
/// ones included) and runtime provider ids, in plugin order. Each names the plugin that used the
/// id first. A choice id repeated inside one manifest is that manifest's own issue
/// ([`ManifestRule::DuplicateChoice`](crate::ManifestRule::DuplicateChoice)), so it is not
/// reported again here; a provider registered twice is, even with one manifest.
pub fn duplicate_ids(plugins: &[PluginIds<'_>]) -> Vec<DuplicateId> {
    let mut found = Vec::new();
    let mut plugin_ids: HashMap<&str, &str> = HashMap::new();
    let mut choice_ids: HashMap<&str, &str> = HashMap::new();
    let mut provider_ids: HashMap<&str, &str> = HashMap::new();
    let mut push = |kind, id: &str, pointer: String, first: &str, second: &str| {
        found.push(DuplicateId {
            kind,
            id: id.to_owned(),
            pointer,
            first: first.to_owned(),
            second: second.to_owned(),
        });
    };
    for plugin in plugins {
        if let Some(manifest) = plugin.manifest {
            let first = *plugin_ids
                .entry(manifest.id.as_str())
                .or_insert(plugin.path);
            if first != plugin.path {
                push(
                    SharedId::Plugin,
                    &manifest.id,
                    "/id".to_owned(),
                    first,
                    plugin.path,
                );
            }
            for (pointer, id) in manifest.choice_ids() {
                let first = *choice_ids.entry(id).or_insert(plugin.path);
                if first != plugin.path {
                    push(SharedId::Choice, id, pointer, first, plugin.path);
                }
            }
        }
        for id in &plugin.providers {
            match provider_ids.get(id) {
                Some(&first) => push(SharedId::Provider, id, String::new(), first, plugin.path),
                None => {
                    provider_ids.insert(id, plugin.path);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(plugin: &str, choices: &[(&str, &[&str])]) -> Manifest {
        let choices: Vec<_> = choices
            .iter()
            .map(|(id, deprecated)| {
                serde_json::json!({
                    "choice_id": id, "deprecated_choice_ids": deprecated, "provider": plugin,
                    "method": "api-key", "kind": "api_key", "label": "Key",
                    "group": {"id": plugin, "label": plugin}
                })
            })
            .collect();
        let json = serde_json::json!({
            "manifest_version": 1, "id": plugin, "name": plugin, "version": "1",
            "providers": [{"id": plugin, "label": plugin}], "auth_choices": choices
        });
        Manifest::load("test.json", &json.to_string()).unwrap()
    }

    #[test]
    fn ids_reused_across_plugins_name_both_plugins_and_where() {
        let a = manifest("a", &[("a-key", &["key"])]);
        let b = manifest("b", &[("b-key", &[])]);
        let a_again = manifest("a", &[("a-key2", &[])]);
        let takes_key = manifest("c", &[("key", &[])]);
        let plugin = |path, manifest, providers: &[&'static str]| PluginIds {
            path,
            manifest,
            providers: providers.to_vec(),
        };
        let found = |plugins: &[PluginIds<'_>]| -> Vec<(SharedId, String, String, String, String)> {
            duplicate_ids(plugins)
                .into_iter()
                .map(|d| (d.kind, d.id, d.pointer, d.first, d.second))
                .collect()
        };
        let owned = |kind, id: &str, pointer: &str, first: &str, second: &str| {
            (kind, id.into(), pointer.into(), first.into(), second.into())
        };
        let cases = [
            (
                vec![
                    plugin("a.json", Some(&a), &["a"]),
                    plugin("b.json", Some(&b), &["b"]),
                ],
                vec![],
            ),
            (
                vec![
                    plugin("a.json", Some(&a), &["a"]),
                    plugin("x.json", Some(&a_again), &["x"]),
                ],
                vec![owned(SharedId::Plugin, "a", "/id", "a.json", "x.json")],
            ),
            (
                vec![
                    plugin("a.json", Some(&a), &["a"]),
                    plugin("c.json", Some(&takes_key), &["c"]),
                ],
                vec![owned(
                    SharedId::Choice,
                    "key",
                    "/auth_choices/0/choice_id",
                    "a.json",
                    "c.json",
                )],
            ),
            (
                vec![
                    plugin("a.json", Some(&a), &["a"]),
                    plugin("b.json", None, &["a"]),
                ],
                vec![owned(SharedId::Provider, "a", "", "a.json", "b.json")],
            ),
            (
                vec![plugin("a.json", Some(&a), &["a", "a"])],
                vec![owned(SharedId::Provider, "a", "", "a.json", "a.json")],
            ),
        ];
        for (plugins, want) in cases {
            assert_eq!(found(&plugins), want, "{plugins:?}");
        }
    }
}
