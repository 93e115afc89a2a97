//! Validation against the manifest's JSON Schema, generated from core's types: it proves that
//! the schema published for editors and plugin authors says what the loader does. Built with
//! the `schema` feature (on by default, as plugboard's own tests use it); without it, as in the
//! `plugboard` binary's `plugins check`, the loader itself (`Manifest::parse` and
//! `Manifest::issues`) is the whole check, which is what decides whether a plugin loads.

#[cfg(not(feature = "schema"))]
use plugboard_core::{Manifest, ManifestIssue};

/// One fault with the rule it breaks.
type Fault = (&'static str, String);

#[cfg(feature = "schema")]
mod validate {
    use std::sync::OnceLock;

    use jsonschema::error::ValidationErrorKind;
    use jsonschema::{ValidationError, Validator};
    use plugboard_core::{Manifest, ManifestIssue, manifest_schema};

    use super::Fault;
    use crate::manifest_rules::pointer;
    use crate::rules::MANIFEST_SCHEMA;

    /// A manifest's schema errors.
    pub(crate) struct Check<'a> {
        errors: Vec<ValidationError<'a>>,
    }

    impl<'a> Check<'a> {
        /// Validates `value`; an error says the generated schema itself does not compile.
        pub(crate) fn new(value: &'a serde_json::Value) -> Result<Self, &'static str> {
            Ok(Self {
                errors: validator()?.iter_errors(value).collect(),
            })
        }

        /// Every schema error, for a manifest that does not even parse.
        pub(crate) fn all_faults(&self) -> Vec<Fault> {
            self.errors.iter().map(fault).collect()
        }

        /// The schema errors that core's issues of a parsed manifest do not already report.
        pub(crate) fn faults_beside(
            &self,
            manifest: &Manifest,
            issues: &[ManifestIssue],
        ) -> Vec<Fault> {
            let mut faults = Vec::new();
            for error in &self.errors {
                // The schema also carries the id patterns. Core's issues report the same bad id
                // at the same place under a more specific rule (choice-id-syntax, ...), so defer
                // to them.
                let id_syntax = matches!(
                    error.kind(),
                    ValidationErrorKind::Pattern { .. } | ValidationErrorKind::MaxLength { .. }
                );
                let at = error.instance_path().as_str();
                // A choice naming a badly spelt, but declared, provider repeats that
                // provider's fault, which provider-id-syntax already reports.
                let names_declared_provider = at.starts_with("/auth_choices/")
                    && at.ends_with("/provider")
                    && error
                        .instance()
                        .as_str()
                        .is_some_and(|v| manifest.providers.iter().any(|p| p.id == v));
                if id_syntax && (names_declared_provider || issues.iter().any(|i| i.pointer == at))
                {
                    continue;
                }
                faults.push(fault(error));
            }
            faults
        }
    }

    fn fault(error: &ValidationError<'_>) -> Fault {
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

    /// The schema compiled once per process; `validator_for` picks the draft the schema's
    /// `$schema` declares.
    fn validator() -> Result<&'static Validator, &'static str> {
        static VALIDATOR: OnceLock<Result<Validator, String>> = OnceLock::new();
        VALIDATOR
            .get_or_init(|| {
                jsonschema::validator_for(&manifest_schema()).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

#[cfg(feature = "schema")]
pub(crate) use validate::Check;

/// Without the `schema` feature: no schema errors, ever.
#[cfg(not(feature = "schema"))]
pub(crate) struct Check;

#[cfg(not(feature = "schema"))]
impl Check {
    /// Nothing to validate against.
    pub(crate) fn new(_value: &serde_json::Value) -> Result<Self, &'static str> {
        Ok(Self)
    }

    /// No schema errors.
    pub(crate) fn all_faults(&self) -> Vec<Fault> {
        Vec::new()
    }

    /// No schema errors.
    pub(crate) fn faults_beside(
        &self,
        _manifest: &Manifest,
        _issues: &[ManifestIssue],
    ) -> Vec<Fault> {
        Vec::new()
    }
}
