//! Rules that run the extension's fixtures: every method has one, each run ends the way it
//! says, and a successful run writes only profiles its provider owns, holding a secret unless
//! its method is local.
//!
//! A method is third-party code, so every run is [`guarded`].

use plugboard_core::{
    AuthMethod, AuthResult, ContractFixture, ErrorChain, Expectation, ProfileId, Provider,
    is_valid_id,
};

use crate::guard::guarded;
use crate::local;
use crate::report::Report;
use crate::rules::{FIXTURE_OUTCOME, FIXTURES_PRESENT, PROFILE_OWNERSHIP};
use crate::subject::Subject;

/// `fixtures-present`, then `fixture-outcome` and `profile-ownership` for each fixture that
/// names a method of this provider.
pub(crate) async fn check(subject: &Subject, report: &mut Report) {
    let provider = subject.provider.as_ref();
    let name = subject.provider_name();

    for method in provider.auth_methods() {
        let covered = subject.fixtures.iter().any(|f| {
            f.provider_id() == provider.id()
                && f.method_id() == method.id()
                && f.expectation() == Expectation::Succeeds
        });
        if !covered {
            report.fail(
                FIXTURES_PRESENT,
                &name,
                format!(
                    "method {:?} has no fixture under which it must succeed: register one",
                    method.id()
                ),
            );
        }
    }

    for fixture in &subject.fixtures {
        let fixture = fixture.as_ref();
        if fixture.provider_id() != provider.id() {
            report.fail(
                FIXTURES_PRESENT,
                &name,
                format!(
                    "fixture {:?} is for provider {:?}: register it with the provider it tests",
                    fixture.name(),
                    fixture.provider_id()
                ),
            );
            continue;
        }
        let Some(method) = provider.auth_method(fixture.method_id()) else {
            report.fail(
                FIXTURES_PRESENT,
                &name,
                format!(
                    "fixture {:?} names method {:?}, which this provider does not have: fix its method id",
                    fixture.name(),
                    fixture.method_id()
                ),
            );
            continue;
        };
        run(fixture, method, provider, &name, report).await;
    }
}

async fn run(
    fixture: &dyn ContractFixture,
    method: &dyn AuthMethod,
    provider: &dyn Provider,
    name: &str,
    report: &mut Report,
) {
    let case = format!("fixture {:?} (method {:?})", fixture.name(), method.id());
    let mut prepared = match guarded(fixture.prepare()).await {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(e)) => {
            report.fail(
                FIXTURE_OUTCOME,
                name,
                format!("{case}: {}: fix the fixture's setup", ErrorChain(&e)),
            );
            return;
        }
        Err(trouble) => {
            report.fail(
                FIXTURE_OUTCOME,
                name,
                format!("{case}: preparing it {trouble}: fix the fixture's setup"),
            );
            return;
        }
    };
    // Read before the run: the method gets the context mutably and could change it.
    let asked_for = prepared.context.options.profile.clone();
    let outcome = guarded(method.run(&mut prepared.context)).await;
    // The guard (a local double of the service, say) had to live through the run.
    drop(prepared);

    let expected = fixture.expectation();
    let result = match outcome {
        Err(trouble) => {
            report.fail(
                FIXTURE_OUTCOME,
                name,
                format!("{case}: the method {trouble}: it must return, even on bad input"),
            );
            return;
        }
        Ok(Err(e)) => {
            if expected == Expectation::Succeeds {
                report.fail(
                    FIXTURE_OUTCOME,
                    name,
                    format!(
                        "{case}: must succeed but failed ({}): fix the method or the fixture's script",
                        ErrorChain(&e)
                    ),
                );
            }
            return;
        }
        Ok(Ok(result)) => result,
    };
    match expected {
        Expectation::Fails => report.fail(
            FIXTURE_OUTCOME,
            name,
            format!("{case}: must fail but succeeded: refuse this input with an error"),
        ),
        Expectation::Succeeds if result.profiles.is_empty() => report.fail(
            FIXTURE_OUTCOME,
            name,
            format!("{case}: succeeded without a profile: return the profile the host must store"),
        ),
        Expectation::Succeeds => {}
    }
    local::check_written(method, &result, &case, name, report);
    check_ownership(&case, &result, asked_for.as_ref(), provider, name, report);
}

/// `profile-ownership` for a successful run (`case`, as reports name it): every profile it
/// writes belongs to `provider`, and is `asked_for` when the run was given `--profile`.
pub(crate) fn check_ownership(
    case: &str,
    result: &AuthResult,
    asked_for: Option<&ProfileId>,
    provider: &dyn Provider,
    name: &str,
    report: &mut Report,
) {
    // With an invalid provider id (reported elsewhere) no profile id could belong to it.
    let owner_known = is_valid_id(provider.id());
    for write in &result.profiles {
        let written = &write.profile_id;
        if owner_known && written.provider() != provider.id() {
            report.fail(
                PROFILE_OWNERSHIP,
                name,
                format!(
                    "{case}: wrote profile {written}, which belongs to provider {:?}: write only {}:<name> profiles",
                    written.provider(),
                    provider.id()
                ),
            );
            continue;
        }
        match asked_for {
            Some(asked) if written != asked => report.fail(
                PROFILE_OWNERSHIP,
                name,
                format!(
                    "{case}: was asked for profile {asked} but wrote {written}: write AuthContext::target_profile"
                ),
            ),
            _ => {}
        }
    }
}
