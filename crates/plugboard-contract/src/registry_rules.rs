//! Rules across subjects: ids that must be unique between plugins, and manifests whose
//! declared providers must all be registered.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use plugboard_core::Manifest;

use crate::manifest_rules;
use crate::report::Report;
use crate::rules::{CHOICE_ID_UNIQUE, PLUGIN_ID_UNIQUE, PROVIDER_ID_UNIQUE, PROVIDER_REGISTERED};
use crate::subject::{Subject, provider_name};

pub(crate) fn check(subjects: &[Subject], report: &mut Report) {
    let mut registered_by: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for s in subjects {
        registered_by
            .entry(provider_name(s.provider.as_ref()))
            .or_default()
            .push(&s.manifest.path);
    }
    for (id, paths) in &registered_by {
        if paths.len() > 1 {
            report.fail(
                PROVIDER_ID_UNIQUE,
                id,
                format!(
                    "provider {id:?} is registered {} times (with {}): give each provider its own id",
                    paths.len(),
                    paths.join(", ")
                ),
            );
        }
    }

    // Each manifest once, however many providers it declares; broken ones are already reported.
    let mut manifests: Vec<(&str, Manifest)> = Vec::new();
    for s in subjects {
        let path = s.manifest.path.as_str();
        if manifests.iter().all(|(p, _)| *p != path) {
            if let Some(manifest) = manifest_rules::load(&s.manifest) {
                manifests.push((path, manifest));
            }
        }
    }

    let mut plugin_ids: BTreeMap<&str, &str> = BTreeMap::new();
    let mut choice_ids: BTreeMap<&str, &str> = BTreeMap::new();
    for (path, manifest) in &manifests {
        if let Some(first) = plugin_ids.insert(&manifest.id, path) {
            report.fail(
                PLUGIN_ID_UNIQUE,
                *path,
                format!(
                    "/id: plugin id {:?} is already used by {first}: pick another",
                    manifest.id
                ),
            );
        }
        for (i, choice) in manifest.auth_choices.iter().enumerate() {
            let ids = std::iter::once((format!("/auth_choices/{i}/choice_id"), &choice.choice_id))
                .chain(
                    choice
                        .deprecated_choice_ids
                        .iter()
                        .enumerate()
                        .map(|(j, id)| {
                            (format!("/auth_choices/{i}/deprecated_choice_ids/{j}"), id)
                        }),
                );
            for (pointer, id) in ids {
                match choice_ids.entry(id) {
                    Entry::Vacant(slot) => {
                        slot.insert(path);
                    }
                    // Repeats within one manifest are that manifest's own issue, already filed.
                    Entry::Occupied(first) if first.get() != path => report.fail(
                        CHOICE_ID_UNIQUE,
                        *path,
                        format!(
                            "{pointer}: choice id {id:?} is already used by {}: pick another",
                            first.get()
                        ),
                    ),
                    Entry::Occupied(_) => {}
                }
            }
        }
        for (i, declared) in manifest.providers.iter().enumerate() {
            let registered = subjects
                .iter()
                .any(|s| s.manifest.path == *path && s.provider.id() == declared.id);
            if !registered {
                report.fail(
                    PROVIDER_REGISTERED,
                    *path,
                    format!(
                        "/providers/{i}/id: provider {:?} is declared but not registered with this manifest: register it or remove it",
                        declared.id
                    ),
                );
            }
        }
    }
}
