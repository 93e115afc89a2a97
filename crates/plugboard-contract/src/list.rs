//! Rules that run the extension's list fixtures: a model lister has one under which it lists
//! models, a provider without a lister has none, and each listing ends the way its fixture
//! says without showing the credential.

use std::collections::BTreeSet;
use std::sync::Arc;

use plugboard_core::{
    Credential, ErrorChain, HostServices, HttpError, HttpResponse, ListExpectation, ListFixture,
    ModelContext, ModelError, ModelInfo, ModelLister, ScriptedHttp,
};

use crate::guard::{Trouble, guarded};
use crate::model_call::{shown_in_model_error, shown_secret, test_credential};
use crate::report::Report;
use crate::rules::{LIST_FIXTURE_OUTCOME, LIST_FIXTURES_PRESENT};
use crate::subject::Subject;

/// How a harness listing ended: the lister's own result, or why it produced none.
pub(crate) type Listing = Result<Result<Vec<ModelInfo>, ModelError>, Trouble>;

/// Lists with `lister`, sending `credential`, its requests answered by `replies` in order (then
/// "no network"). Also says how many requests it made.
pub(crate) async fn list(
    lister: &dyn ModelLister,
    credential: &Credential,
    replies: Vec<Result<HttpResponse, HttpError>>,
) -> (Listing, usize) {
    let http = Arc::new(ScriptedHttp::new(replies));
    let host = HostServices::default().with_http_client(http.clone());
    let ctx = ModelContext::new(credential.clone(), host);
    let listing = guarded(lister.list(&ctx)).await;
    (listing, http.requests().len())
}

/// `list-fixtures-present`, then `list-fixture-outcome` for each list fixture of a provider
/// that has a model lister.
pub(crate) async fn check(subject: &Subject, report: &mut Report) {
    let name = subject.provider_name();
    let Some(lister) = subject.provider.model_lister() else {
        if let Some(first) = subject.list_fixtures.first() {
            report.fail(
                LIST_FIXTURES_PRESENT,
                &name,
                format!(
                    "provider has no model lister but registers list fixtures (the first is {:?}): implement Provider::model_lister or register none",
                    first.name
                ),
            );
        }
        return;
    };
    let covered = subject
        .list_fixtures
        .iter()
        .any(|f| matches!(&f.expect, ListExpectation::Lists { ids, .. } if !ids.is_empty()));
    if !covered {
        report.fail(
            LIST_FIXTURES_PRESENT,
            &name,
            "provider has a model lister but no list fixture under which it lists models: register one (ListExpectation::Lists with at least one id)",
        );
    }
    let credential = test_credential(subject.provider.as_ref());
    for fixture in &subject.list_fixtures {
        if let Some(message) = run(fixture, lister, &credential).await {
            report.fail(
                LIST_FIXTURE_OUTCOME,
                &name,
                format!("list fixture {:?}: {message}", fixture.name),
            );
        }
    }
}

async fn run(
    fixture: &ListFixture,
    lister: &dyn ModelLister,
    credential: &Credential,
) -> Option<String> {
    let (listing, _) = list(lister, credential, fixture.replies.clone()).await;
    let listed = match listing {
        Err(trouble) => {
            return Some(format!(
                "the lister {trouble}: it must return, even on bad answers"
            ));
        }
        Ok(Err(e)) => return failed(&fixture.expect, &e),
        Ok(Ok(listed)) => listed,
    };
    if let Some(secret) = shown_secret(&format!("{listed:?}")) {
        return Some(format!(
            "the listing shows {secret}: never put the credential in what a lister returns"
        ));
    }
    match &fixture.expect {
        ListExpectation::Fails(kind) => Some(format!(
            "must fail with {kind} but listed {} model(s): refuse this answer with an error",
            listed.len()
        )),
        ListExpectation::Lists { ids, free } => listed_wrongly(&listed, ids, free),
    }
}

/// What is wrong with a listing that failed: it shows the credential, or it was to list, or it
/// failed otherwise than expected.
fn failed(expect: &ListExpectation, e: &ModelError) -> Option<String> {
    if let Some(shown) = shown_in_model_error(e) {
        return Some(format!(
            "{shown}: never quote the credential, and quote a service's words only scrubbed of it (plugboard_core::scrub_secret) and sanitised"
        ));
    }
    let chain = ErrorChain(e).to_string();
    match expect {
        ListExpectation::Lists { .. } => Some(format!(
            "must list models but failed ({}: {chain}): fix the lister or the fixture's replies",
            e.kind()
        )),
        ListExpectation::Fails(kind) if e.kind() != *kind => Some(format!(
            "must fail with {kind} but failed with {} ({chain}): return the error of the kind the fixture expects",
            e.kind()
        )),
        ListExpectation::Fails(_) => None,
    }
}

/// What differs between a listing and the ids and free models its fixture expects. Model ids
/// are not secrets; a difference is named by the first model where it shows.
fn listed_wrongly(listed: &[ModelInfo], ids: &[String], free: &[String]) -> Option<String> {
    let fix = "fix the lister (keep the service's order) or the fixture's expectation";
    if let Some(i) =
        (0..listed.len().max(ids.len())).find(|&i| listed.get(i).map(|m| &m.id) != ids.get(i))
    {
        return Some(match (listed.get(i), ids.get(i)) {
            (Some(got), Some(want)) => format!(
                "model {} is {:?} where the fixture expects {want:?}: {fix}",
                i + 1,
                got.id
            ),
            (Some(got), None) => format!(
                "listed {} models where the fixture expects {}, the first extra being {:?}: {fix}",
                listed.len(),
                ids.len(),
                got.id
            ),
            (None, want) => format!(
                "listed {} models where the fixture expects {}, missing {:?}: {fix}",
                listed.len(),
                ids.len(),
                want.map_or("", String::as_str)
            ),
        });
    }
    let marked: BTreeSet<&str> = listed
        .iter()
        .filter(|m| m.free)
        .map(|m| m.id.as_str())
        .collect();
    let expected: BTreeSet<&str> = free.iter().map(String::as_str).collect();
    if let Some(extra) = marked.difference(&expected).next() {
        return Some(format!(
            "marks {extra:?} as free, which the fixture does not: mark free only what the service marks free"
        ));
    }
    expected.difference(&marked).next().map(|missing| {
        format!(
            "does not mark {missing:?} as free, which the fixture does: read how the service marks free models"
        )
    })
}
