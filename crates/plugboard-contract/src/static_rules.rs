//! Rules that need no fixture run: the runtime provider's own data, and how it pairs with its
//! manifest.

use std::collections::HashSet;

use plugboard_core::{
    Manifest, ModelRef, PairingRule, Provider, ProviderIdIssue, is_upper_snake, is_valid_id,
    pairing_issues, provider_id_issues,
};

use crate::report::Report;
use crate::rules::{
    CAPABILITY_DECLARED, CHOICE_HAS_METHOD, DEFAULT_MODEL, DOCS_PATH, ENV_VARS, KIND_AGREES,
    METHOD_HAS_CHOICE, METHOD_ID_SYNTAX, METHOD_ID_UNIQUE, PROVIDER_DECLARED, PROVIDER_ID_SYNTAX,
    TEXT_NONBLANK,
};
use crate::subject::provider_name;

const ID_ADVICE: &str = "use lowercase letters, digits and '-', starting with a letter or digit";

/// The provider's identity, texts, docs path, default model and environment variables.
pub(crate) fn check_runtime(provider: &dyn Provider, report: &mut Report) {
    let name = provider_name(provider);
    let mut fail = |rule, message: String| report.fail(rule, &name, message);

    // The same checks the registry makes, from the same function, under this harness's rules.
    for issue in provider_id_issues(provider) {
        let (rule, message) = match issue {
            ProviderIdIssue::InvalidMethodId { method } => (
                METHOD_ID_SYNTAX,
                format!("method id {method:?} is invalid: {ID_ADVICE}"),
            ),
            ProviderIdIssue::DuplicateMethod { method } => (
                METHOD_ID_UNIQUE,
                format!("two methods have id {method:?}: give each method its own id"),
            ),
            _ => (
                PROVIDER_ID_SYNTAX,
                format!("provider id {:?} is invalid: {ID_ADVICE}", provider.id()),
            ),
        };
        fail(rule, message);
    }
    if provider.label().trim().is_empty() {
        fail(
            TEXT_NONBLANK,
            "provider label is blank: give it the name users know".into(),
        );
    }

    for method in provider.auth_methods() {
        let id = method.id();
        if method.label().trim().is_empty() {
            fail(
                TEXT_NONBLANK,
                format!("method {id:?} has a blank label: name it for the menu"),
            );
        }
        if method.hint().is_some_and(|h| h.trim().is_empty()) {
            fail(
                TEXT_NONBLANK,
                format!("method {id:?} has a blank hint: write one line or return None"),
            );
        }
    }

    if !provider.docs_path().starts_with('/') {
        fail(
            DOCS_PATH,
            format!(
                "docs path {:?} does not start with '/': use a site path like /providers/{}",
                provider.docs_path(),
                provider.id()
            ),
        );
    }

    if let Some(model) = provider.default_model() {
        match model.parse::<ModelRef>() {
            Err(_) => fail(
                DEFAULT_MODEL,
                format!(
                    "default model {model:?} is not a provider/model ref: use {}/<model>",
                    provider.id()
                ),
            ),
            // An invalid provider id is already reported; no model ref could match it.
            Ok(r) if is_valid_id(provider.id()) && r.provider() != provider.id() => fail(
                DEFAULT_MODEL,
                format!(
                    "default model {model:?} belongs to provider {:?}: suggest one of this provider's models, {}/<model>",
                    r.provider(),
                    provider.id()
                ),
            ),
            Ok(_) => {}
        }
    }

    let mut seen = HashSet::new();
    for var in provider.env_vars() {
        if !is_upper_snake(&var.name) {
            fail(
                ENV_VARS,
                format!(
                    "environment variable {:?} is not UPPER_SNAKE: use A-Z, 0-9 and '_', starting with a letter",
                    var.name
                ),
            );
        } else if !seen.insert(var.name.as_ref()) {
            fail(
                ENV_VARS,
                format!(
                    "environment variable {:?} is listed twice: list it once",
                    var.name
                ),
            );
        }
    }
}

/// The runtime provider against a manifest that loaded: it is declared, its methods and the
/// manifest's choices for it pair up one to one with the same kind, and its declared
/// capabilities are the ones it offers. Whether every declared provider is registered needs all
/// providers at once, so that is a registry rule.
pub(crate) fn check_pairing(
    provider: &dyn Provider,
    manifest: &Manifest,
    path: &str,
    report: &mut Report,
) {
    for issue in pairing_issues(manifest, &[provider]) {
        let rule = match issue.rule {
            PairingRule::ProviderNotDeclared => PROVIDER_DECLARED,
            PairingRule::ChoiceWithoutMethod => CHOICE_HAS_METHOD,
            PairingRule::KindMismatch => KIND_AGREES,
            PairingRule::MethodWithoutChoice => METHOD_HAS_CHOICE,
            PairingRule::CapabilityMismatch => CAPABILITY_DECLARED,
            // ProviderNotRegistered needs every provider of the manifest: a registry rule.
            _ => continue,
        };
        report.fail(rule, path, format!("{}: {}", issue.pointer, issue.message));
    }
}
