//! Rules across subjects: ids that must be unique between plugins, and manifests whose
//! declared providers must all be registered.

use std::collections::BTreeMap;

use plugboard_core::{
    DuplicateId, Manifest, PairingRule, PluginIds, Provider, SharedId, duplicate_ids,
    pairing_issues,
};

use crate::report::Report;
use crate::rules::{CHOICE_ID_UNIQUE, PLUGIN_ID_UNIQUE, PROVIDER_ID_UNIQUE, PROVIDER_REGISTERED};
use crate::subject::Subject;

/// `manifests[i]` is `subjects[i]`'s manifest if it loaded (broken ones are already reported).
pub(crate) fn check(subjects: &[Subject], manifests: &[Option<Manifest>], report: &mut Report) {
    // One entry per manifest, however many providers it declares, in first-seen order.
    let mut plugins: Vec<PluginIds<'_>> = Vec::new();
    for (s, manifest) in subjects.iter().zip(manifests) {
        let path = s.manifest.path.as_str();
        let index = match plugins.iter().position(|p| p.path == path) {
            Some(index) => index,
            None => {
                plugins.push(PluginIds {
                    path,
                    manifest: None,
                    providers: Vec::new(),
                });
                plugins.len() - 1
            }
        };
        let plugin = &mut plugins[index];
        plugin.manifest = plugin.manifest.or(manifest.as_ref());
        plugin.providers.push(s.provider.id());
    }

    // The same uniqueness checks the registry makes, from the same function.
    let mut registered_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for duplicate in duplicate_ids(&plugins) {
        let DuplicateId {
            kind,
            id,
            pointer,
            first,
            second,
        } = duplicate;
        match kind {
            SharedId::Plugin => report.fail(
                PLUGIN_ID_UNIQUE,
                &second,
                format!("{pointer}: plugin id {id:?} is already used by {first}: pick another"),
            ),
            SharedId::Choice => report.fail(
                CHOICE_ID_UNIQUE,
                &second,
                format!("{pointer}: choice id {id:?} is already used by {first}: pick another"),
            ),
            _ => registered_by
                .entry(id)
                .or_insert_with(|| vec![first])
                .push(second),
        }
    }
    for (id, paths) in &registered_by {
        let name = if id.is_empty() {
            "(blank provider id)"
        } else {
            id.as_str()
        };
        report.fail(
            PROVIDER_ID_UNIQUE,
            name,
            format!(
                "provider {name:?} is registered {} times (with {}): give each provider its own id",
                paths.len(),
                paths.join(", ")
            ),
        );
    }

    for plugin in &plugins {
        let Some(manifest) = plugin.manifest else {
            continue;
        };
        let registered: Vec<&dyn Provider> = subjects
            .iter()
            .filter(|s| s.manifest.path == plugin.path)
            .map(|s| s.provider.as_ref())
            .collect();
        for issue in pairing_issues(manifest, &registered) {
            if issue.rule == PairingRule::ProviderNotRegistered {
                report.fail(
                    PROVIDER_REGISTERED,
                    plugin.path,
                    format!("{}: {}", issue.pointer, issue.message),
                );
            }
        }
    }
}
