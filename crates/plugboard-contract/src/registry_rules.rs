//! Rules across subjects: ids that must be unique between plugins, and manifests whose
//! declared providers must all be registered.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use plugboard_core::{Manifest, PairingRule, Provider, pairing_issues};

use crate::report::Report;
use crate::rules::{CHOICE_ID_UNIQUE, PLUGIN_ID_UNIQUE, PROVIDER_ID_UNIQUE, PROVIDER_REGISTERED};
use crate::subject::{Subject, provider_name};

/// `manifests[i]` is `subjects[i]`'s manifest if it loaded (broken ones are already reported).
pub(crate) fn check(subjects: &[Subject], manifests: &[Option<Manifest>], report: &mut Report) {
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

    // Each manifest once, however many providers it declares.
    let mut unique: Vec<(&str, &Manifest)> = Vec::new();
    for (s, manifest) in subjects.iter().zip(manifests) {
        let path = s.manifest.path.as_str();
        if let Some(manifest) = manifest
            .as_ref()
            .filter(|_| unique.iter().all(|(p, _)| *p != path))
        {
            unique.push((path, manifest));
        }
    }

    let mut plugin_ids: BTreeMap<&str, &str> = BTreeMap::new();
    let mut choice_ids: BTreeMap<&str, &str> = BTreeMap::new();
    for (path, manifest) in &unique {
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
        for (pointer, id) in manifest.choice_ids() {
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
        let registered: Vec<&dyn Provider> = subjects
            .iter()
            .filter(|s| s.manifest.path == *path)
            .map(|s| s.provider.as_ref())
            .collect();
        for issue in pairing_issues(manifest, &registered) {
            if issue.rule == PairingRule::ProviderNotRegistered {
                report.fail(
                    PROVIDER_REGISTERED,
                    *path,
                    format!("{}: {}", issue.pointer, issue.message),
                );
            }
        }
    }
}
