//! The entry points: one provider, a set of providers, or everything linked into the binary.

use plugboard_core::{Manifest, registrations};

use crate::report::Report;
use crate::rules::{REGISTRY_ONLY, RULES};
use crate::subject::{ManifestText, Subject};
use crate::{
    check_probe, device, fixtures, forged_state, list, list_probes, manifest_rules, model_fixtures,
    model_probes, refresh, registry_rules, static_rules,
};

/// Runs every per-provider rule against `subject`: its manifest, its runtime data, how the two
/// pair up, its fixtures (and, for browser sign-ins, a forged redirect; for device-code
/// sign-ins, its device fixtures), its model runner and model lister (their fixtures and the
/// harness's own scripted calls), its credential check, and its refresher. Needs a Tokio
/// runtime with the time driver enabled (as `#[tokio::test]` provides), for the per-run time
/// limit.
pub async fn check_provider(subject: &Subject) -> Report {
    check_subject(subject).await.0
}

/// [`check_provider`], also handing back the manifest if it loaded, so the registry rules need
/// not examine it again.
async fn check_subject(subject: &Subject) -> (Report, Option<Manifest>) {
    let mut report = Report::default();
    report.checked_provider(&subject.provider_name());
    report.ran(
        RULES
            .iter()
            .map(|r| r.id)
            .filter(|id| !REGISTRY_ONLY.contains(id)),
    );
    let provider = subject.provider.as_ref();
    let manifest = manifest_rules::check(&subject.manifest, &mut report);
    static_rules::check_runtime(provider, &mut report);
    if let Some(manifest) = &manifest {
        static_rules::check_pairing(provider, manifest, &subject.manifest.path, &mut report);
    }
    fixtures::check(subject, &mut report).await;
    forged_state::check(subject, &mut report).await;
    device::check(subject, &mut report).await;
    model_fixtures::check(subject, &mut report).await;
    model_probes::check(subject, &mut report).await;
    list::check(subject, &mut report).await;
    list_probes::check(subject, &mut report).await;
    check_probe::check(subject, &mut report).await;
    refresh::check(subject, &mut report).await;
    (report, manifest)
}

/// Runs the rules about a manifest alone (its schema, id syntax, unique choice ids, text),
/// with no provider: what `plugboard plugins check` holds a plugin to before running any of
/// its code, and all a manifest-only plugin's own files can be held to. Needs no runtime.
pub fn check_manifest(manifest: &ManifestText) -> Report {
    let mut report = Report::default();
    report.ran(manifest_rules::RULES_FILED.iter().copied());
    if let Some(loaded) = manifest_rules::check(manifest, &mut report) {
        for provider in &loaded.providers {
            report.checked_provider(&provider.id);
        }
    }
    report
}

/// Runs [`check_provider`] for each subject, then the rules across them: provider, plugin and
/// choice ids are unique, and every provider a manifest declares is registered with it.
/// Subjects sharing a manifest path are one plugin with several providers.
pub async fn check_registry(subjects: &[Subject]) -> Report {
    let mut report = Report::default();
    let mut manifests = Vec::new();
    for subject in subjects {
        let (checked, manifest) = check_subject(subject).await;
        report.merge(checked);
        manifests.push(manifest);
    }
    report.ran(RULES.iter().map(|r| r.id));
    registry_rules::check(subjects, &manifests, &mut report);
    report
}

/// Runs [`check_registry`] over every provider registration linked into this binary.
pub async fn check_linked() -> Report {
    let subjects: Vec<Subject> = registrations()
        .into_iter()
        .map(Subject::from_registration)
        .collect();
    check_registry(&subjects).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_rules_alone_pass_a_sound_manifest_and_name_each_fault() {
        let sound = r#"{"manifest_version": 1, "id": "acme", "name": "Acme", "version": "1",
            "providers": [{"id": "acme", "label": "Acme"}],
            "auth_choices": [{"choice_id": "acme-key", "provider": "acme", "method": "api-key",
                "kind": "api_key", "label": "Key", "group": {"id": "acme", "label": "Acme"}}]}"#;
        let report = check_manifest(&ManifestText::new("acme/plugin.json", sound));
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.to_string(), "all 6 rules passed for acme");

        let unknown_field =
            sound.replacen("\"version\": \"1\"", "\"version\": \"1\", \"colour\": 1", 1);
        let report = check_manifest(&ManifestText::new("acme/plugin.json", unknown_field));
        assert_eq!(
            report.failed_rules().into_iter().collect::<Vec<_>>(),
            ["manifest-schema"]
        );
        assert!(report.to_string().contains("colour"), "{report}");

        let bad_choice = sound.replace("acme-key", "Acme Key");
        let report = check_manifest(&ManifestText::new("acme/plugin.json", bad_choice));
        assert_eq!(
            report.failed_rules().into_iter().collect::<Vec<_>>(),
            ["choice-id-syntax"]
        );
    }
}
