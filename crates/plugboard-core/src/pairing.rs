//! Whether a manifest and the runtime providers registered with it describe the same providers
//! and methods. The registry refuses to load on the first fault; the contract harness reports
//! each under its own rule. Both ask this one function, so they cannot drift apart.

use crate::list::MODEL_LIST_CAPABILITY;
use crate::manifest::Manifest;
use crate::model::MODEL_RUN_CAPABILITY;
use crate::provider::Provider;

/// Which way a manifest and its runtime providers disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PairingRule {
    /// A runtime provider is missing from the manifest's `providers`.
    ProviderNotDeclared,
    /// A provider in the manifest's `providers` is not among the runtime providers.
    ProviderNotRegistered,
    /// A choice names a method its runtime provider does not have.
    ChoiceWithoutMethod,
    /// A choice's `kind` differs from its runtime method's.
    KindMismatch,
    /// A runtime method has no choice in the manifest.
    MethodWithoutChoice,
    /// The manifest's `capabilities` for a provider differ from what it offers at runtime.
    CapabilityMismatch,
}

/// One disagreement between a manifest and its runtime providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingIssue {
    /// The disagreement.
    pub rule: PairingRule,
    /// RFC 6901 pointer into the manifest.
    pub pointer: String,
    /// What disagrees and what to do.
    pub message: String,
}

/// Every disagreement between `manifest` and `providers`, the runtime providers registered with
/// it. Choices of providers not in `providers` are left to [`PairingRule::ProviderNotRegistered`],
/// and the methods of an undeclared provider to [`PairingRule::ProviderNotDeclared`], so one
/// fault is reported once.
pub fn pairing_issues(manifest: &Manifest, providers: &[&dyn Provider]) -> Vec<PairingIssue> {
    let mut issues = Vec::new();
    let mut push = |rule, pointer: String, message: String| {
        issues.push(PairingIssue {
            rule,
            pointer,
            message,
        });
    };
    let declared = |id: &str| manifest.providers.iter().any(|p| p.id == id);
    for provider in providers.iter().filter(|p| !declared(p.id())) {
        push(
            PairingRule::ProviderNotDeclared,
            "/providers".into(),
            format!(
                "provider {:?} is registered at runtime but not declared: add it to \"providers\"",
                provider.id()
            ),
        );
    }
    for (i, p) in manifest.providers.iter().enumerate() {
        let Some(runtime) = providers.iter().find(|r| r.id() == p.id) else {
            push(
                PairingRule::ProviderNotRegistered,
                format!("/providers/{i}/id"),
                format!(
                    "provider {:?} is declared but not registered by the plugin: register it or remove it",
                    p.id
                ),
            );
            continue;
        };
        // Each capability the host knows, and whether the runtime provider offers it.
        let known = [
            (
                MODEL_RUN_CAPABILITY,
                runtime.model_runner().is_some(),
                "model runner",
                "Provider::model_runner",
            ),
            (
                MODEL_LIST_CAPABILITY,
                runtime.model_lister().is_some(),
                "model lister",
                "Provider::model_lister",
            ),
        ];
        for (capability, offers, what, method) in known {
            let declares = p.capabilities.iter().any(|c| c == capability);
            if declares == offers {
                continue;
            }
            let message = if declares {
                format!(
                    "provider {:?} declares {capability} but has no {what}: implement {method} or remove the capability",
                    p.id
                )
            } else {
                format!(
                    "provider {:?} has a {what} but does not declare it: add \"{capability}\" to its \"capabilities\"",
                    p.id
                )
            };
            push(
                PairingRule::CapabilityMismatch,
                format!("/providers/{i}/capabilities"),
                message,
            );
        }
        if let Some(unknown) = p
            .capabilities
            .iter()
            .find(|c| !known.iter().any(|(name, ..)| c.as_str() == *name))
        {
            push(
                PairingRule::CapabilityMismatch,
                format!("/providers/{i}/capabilities"),
                format!(
                    "provider {:?} declares capability {unknown:?}, which plugboard does not know: the known ones are {MODEL_RUN_CAPABILITY} and {MODEL_LIST_CAPABILITY}",
                    p.id
                ),
            );
        }
    }
    for (i, choice) in manifest.auth_choices.iter().enumerate() {
        let Some(provider) = providers.iter().find(|p| p.id() == choice.provider) else {
            continue;
        };
        match provider.auth_method(&choice.method) {
            None => push(
                PairingRule::ChoiceWithoutMethod,
                format!("/auth_choices/{i}/method"),
                format!(
                    "provider {:?} has no sign-in method {:?}: add the method or fix the choice",
                    choice.provider, choice.method
                ),
            ),
            Some(method) if method.kind() != choice.kind => push(
                PairingRule::KindMismatch,
                format!("/auth_choices/{i}/kind"),
                format!(
                    "kind is {} but method {:?} is {}: make them agree",
                    choice.kind,
                    choice.method,
                    method.kind()
                ),
            ),
            Some(_) => {}
        }
    }
    for provider in providers.iter().filter(|p| declared(p.id())) {
        for method in provider.auth_methods() {
            let offered = manifest
                .auth_choices
                .iter()
                .any(|c| c.provider == provider.id() && c.method == method.id());
            if !offered {
                push(
                    PairingRule::MethodWithoutChoice,
                    "/auth_choices".into(),
                    format!(
                        "method {:?} of provider {:?} has no sign-in choice: add one",
                        method.id(),
                        provider.id()
                    ),
                );
            }
        }
    }
    issues
}
