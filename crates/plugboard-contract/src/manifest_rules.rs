//! `manifest-schema` and the manifest's own semantic issues: the manifest text must be JSON,
//! validate against the schema generated from core's types, and parse; then each issue
//! core finds is filed under the contract rule it breaks.

mod schema;

use plugboard_core::{Manifest, ManifestIssue, ManifestRule};

use crate::report::Report;
use crate::rules::{
    CHOICE_ID_SYNTAX, CHOICE_ID_UNIQUE, MANIFEST_SCHEMA, METHOD_ID_SYNTAX, PROVIDER_ID_SYNTAX,
    TEXT_NONBLANK,
};
use crate::subject::ManifestText;

/// Every rule this module files faults under: [`rule_for`]'s rules and `manifest-schema`.
pub(crate) const RULES_FILED: &[&str] = &[
    MANIFEST_SCHEMA,
    PROVIDER_ID_SYNTAX,
    METHOD_ID_SYNTAX,
    CHOICE_ID_SYNTAX,
    CHOICE_ID_UNIQUE,
    TEXT_NONBLANK,
];

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
    let schema = match schema::Check::new(&value) {
        Ok(schema) => schema,
        Err(e) => {
            return broken(format!(
                "the generated manifest schema does not compile ({e}): this is a plugboard-core bug"
            ));
        }
    };
    let manifest = match Manifest::parse(&text.path, &text.json) {
        Ok(manifest) => manifest,
        Err(e) => {
            let mut faults = schema.all_faults();
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
    let mut faults = schema.faults_beside(&manifest, &issues);
    let sound = faults.is_empty();
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

pub(crate) fn pointer(pointer: &str) -> &str {
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
