//! Rules that run the extension's model fixtures: a model runner has one under which it must
//! reply, a provider without a runner has none, and each call ends the way its fixture says.

use plugboard_core::{ErrorChain, ModelExpectation, ModelFixture, ModelRunner};

use crate::model_call::call;
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

    for fixture in &subject.model_fixtures {
        run(fixture, runner, &name, report).await;
    }
}

async fn run(fixture: &ModelFixture, runner: &dyn ModelRunner, name: &str, report: &mut Report) {
    let case = format!("model fixture {:?}", fixture.name);
    let outcome = call(runner, &fixture.request, fixture.replies.clone()).await;
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
