//! Rules that run the extension's model fixtures: a model runner has one under which it must
//! reply (and its service's error answers, for the harness's own calls), a provider without a
//! runner has none, and each call ends the way its fixture says.

use plugboard_core::{Credential, ErrorChain, ModelExpectation, ModelFixture, ModelRunner};

use crate::model_call::{call, test_credential};
use crate::report::Report;
use crate::rules::{MODEL_FIXTURE_OUTCOME, MODEL_FIXTURES_PRESENT};
use crate::subject::Subject;

/// `model-fixtures-present`, then `model-fixture-outcome` for each model fixture of a provider
/// that has a model runner.
pub(crate) async fn check(subject: &Subject, report: &mut Report) {
    let name = subject.provider_name();
    let Some(runner) = subject.provider.model_runner() else {
        if let Some(first) = subject.model_fixtures.first() {
            report.fail(
                MODEL_FIXTURES_PRESENT,
                &name,
                format!(
                    "provider has no model runner but registers model fixtures (the first is {:?}): implement Provider::model_runner or register none",
                    first.name
                ),
            );
        }
        return;
    };

    let covered = subject
        .model_fixtures
        .iter()
        .any(|f| matches!(f.expect, ModelExpectation::Replies(_)));
    if !covered {
        report.fail(
            MODEL_FIXTURES_PRESENT,
            &name,
            "provider has a model runner but no model fixture under which it must reply: register one",
        );
    }
    if subject.service_errors.is_none() {
        report.fail(
            MODEL_FIXTURES_PRESENT,
            &name,
            "provider has a model runner but registers no service errors: register ProviderRegistration::service_errors (how its service answers a rejected key, an expired token, and an error with a message), so the harness can probe the runner in the service's own error shape",
        );
    }

    let credential = test_credential(subject.provider.as_ref());
    for fixture in &subject.model_fixtures {
        run(fixture, runner, &credential, &name, report).await;
    }
}

async fn run(
    fixture: &ModelFixture,
    runner: &dyn ModelRunner,
    credential: &Credential,
    name: &str,
    report: &mut Report,
) {
    let case = format!("model fixture {:?}", fixture.name);
    let outcome = call(
        runner,
        credential,
        &fixture.request,
        fixture.replies.clone(),
    )
    .await;
    let message = match (outcome, &fixture.expect) {
        (Err(trouble), _) => {
            format!("{case}: the runner {trouble}: it must return, even on bad answers")
        }
        (Ok(Ok(reply)), ModelExpectation::Replies(expected)) => match reply.outputs.first() {
            None => format!("{case}: replied without an output: return at least one"),
            Some(first) if first.text != *expected => format!(
                "{case}: the first output is {:?}, not {expected:?}: fix the runner or the fixture's replies",
                first.text
            ),
            Some(_) => return,
        },
        (Ok(Err(e)), ModelExpectation::Replies(_)) => format!(
            "{case}: must reply but failed ({}: {}): fix the runner or the fixture's replies",
            e.kind(),
            ErrorChain(&e)
        ),
        (Ok(Ok(_)), ModelExpectation::Fails(kind)) => {
            format!("{case}: must fail with {kind} but replied: refuse this answer with an error")
        }
        (Ok(Err(e)), ModelExpectation::Fails(kind)) if e.kind() != *kind => format!(
            "{case}: must fail with {kind} but failed with {} ({}): return the error of the kind the fixture expects",
            e.kind(),
            ErrorChain(&e)
        ),
        (Ok(Err(_)), ModelExpectation::Fails(_)) => return,
    };
    report.fail(MODEL_FIXTURE_OUTCOME, name, message);
}
