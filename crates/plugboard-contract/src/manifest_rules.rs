//! `manifest-schema` and the manifest's own semantic issues: the manifest text must be JSON,
//! validate against the schema generated from core's types, and parse; then each issue
//! core finds is filed under the contract rule it breaks.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use plugboard_core::{Manifest, ManifestIssue, ManifestRule, manifest_schema};

use crate::report::Report;
use crate::rules::{
    CHOICE_ID_SYNTAX, CHOICE_ID_UNIQUE, MANIFEST_SCHEMA, METHOD_ID_SYNTAX, PROVIDER_ID_SYNTAX,
    TEXT_NONBLANK,
};
use crate::subject::ManifestText;

/// What examining a manifest found.
struct Examined {
    /// The manifest, if it is structurally sound enough to compare with the runtime provider.
    manifest: Option<Manifest>,
    /// Each fault with the rule it breaks.
    faults: Vec<(&'static str, String)>,
}

/// Checks one manifest. Returns it only if it is structurally sound, so that rules comparing
/// it with the runtime provider run on something meaningful instead of cascading failures.
pub(crate) fn check(text: &ManifestText, report: &mut Report) -> Option<Manifest> {
    let examined = examine(text);
    for (rule, message) in examined.faults {
        report.fail(rule, &text.path, message);
    }
    examined.manifest
}

fn examine(text: &ManifestText) -> Examined {
    let broken = |message: String| Examined {
        manifest: None,
        faults: vec![(MANIFEST_SCHEMA, message)],
    };
    let value: serde_json::Value = match serde_json::from_str(&text.json) {
        Ok(value) => value,
        Err(e) => return broken(format!("manifest is not valid JSON ({e}): fix the syntax")),
    };
    let validator = match validator() {
        Ok(validator) => validator,
        Err(e) => {
            return broken(format!(
                "the generated manifest schema does not compile ({e}): this is a plugboard-core bug"
            ));
        }
    };
    let schema_errors: Vec<ValidationError<'_>> = validator.iter_errors(&value).collect();
    let manifest = match Manifest::parse(&text.path, &text.json) {
        Ok(manifest) => manifest,
        Err(e) => {
            let mut faults: Vec<_> = schema_errors.iter().map(schema_fault).collect();
            if faults.is_empty() {
                faults.push((
                    MANIFEST_SCHEMA,
                    format!("{}: {}: fix this field", pointer(&e.pointer), e.message),
                ));
            }
            return Examined {
                manifest: None,
                faults,
            };
        }
    };

    let issues = manifest.issues();
    let mut faults = Vec::new();
    let mut sound = true;
    for error in &schema_errors {
        // The schema also carries the id patterns. Core's issues report the same bad id at
        // the same place under a more specific rule (choice-id-syntax, ...), so defer to them.
        let id_syntax = matches!(
            error.kind(),
            ValidationErrorKind::Pattern { .. } | ValidationErrorKind::MaxLength { .. }
        );
        let at = error.instance_path().as_str();
        // A choice naming a badly spelt, but declared, provider repeats that provider's
        // fault, which provider-id-syntax already reports.
        let names_declared_provider = at.starts_with("/auth_choices/")
            && at.ends_with("/provider")
            && error
                .instance()
                .as_str()
                .is_some_and(|v| manifest.providers.iter().any(|p| p.id == v));
        if id_syntax && (names_declared_provider || issues.iter().any(|i| i.pointer == at)) {
            continue;
        }
        sound = false;
        faults.push(schema_fault(error));
    }
    for issue in &issues {
        if let Some(rule) = rule_for(issue) {
            faults.push((rule, format!("{issue}{}", advice(issue.rule))));
        }
    }
    Examined {
        manifest: sound.then_some(manifest),
        faults,
    }
}

fn schema_fault(error: &ValidationError<'_>) -> (&'static str, String) {
    let what = error.to_string();
    let mut chars = what.chars();
    let what: String = chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default();
    (
        MANIFEST_SCHEMA,
        format!(
            "{}: {what}: make it match manifests/schema/plugin-manifest.schema.json",
            pointer(error.instance_path().as_str())
        ),
    )
}

/// What to do, for the issues whose core message says only what is wrong.
fn advice(rule: ManifestRule) -> &'static str {
    match rule {
        ManifestRule::DuplicateChoice => ": give each choice its own id",
        ManifestRule::DuplicateProvider => ": declare each provider once",
        ManifestRule::BlankText => ": write it, or leave an optional hint out",
        ManifestRule::UnknownProvider => ": add it to \"providers\" or fix the choice",
        _ => "",
    }
}

/// The schema compiled once per process; `validator_for` picks the draft the schema's
/// `$schema` declares.
fn validator() -> Result<&'static Validator, &'static str> {
    static VALIDATOR: OnceLock<Result<Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| jsonschema::validator_for(&manifest_schema()).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(String::as_str)
}

fn pointer(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(document)"
    } else {
        pointer
    }
}

fn rule_for(issue: &ManifestIssue) -> Option<&'static str> {
    Some(match issue.rule {
        ManifestRule::ChoiceIdSyntax => CHOICE_ID_SYNTAX,
        ManifestRule::DuplicateChoice => CHOICE_ID_UNIQUE,
        ManifestRule::BlankText => TEXT_NONBLANK,
        ManifestRule::MethodIdSyntax => METHOD_ID_SYNTAX,
        ManifestRule::ProviderIdSyntax => PROVIDER_ID_SYNTAX,
        _ => MANIFEST_SCHEMA,
    })
}
