//! Device-code sign-in (RFC 8628): every device-code method has a fixture for each way the
//! service can answer its polls (`device-fixtures-present`), and under each it polls the way
//! the RFC asks (`device-code-polling`): it shows the user code and the verification URL
//! before it waits, waits at least the interval before every poll and 5 s more after each
//! `slow_down`, and ends as the service's answers say, with an error that fits on one line and
//! shows neither the device code nor a token.
//!
//! The harness runs the method in a context it builds itself, the same for every provider
//! ([`logged_context`]): the fixture's replies as the service, a clock that passes time at once,
//! a prompter that answers nothing, a browser that opens nothing, a non-interactive session and
//! default options, everything the method does logged in order.

use std::sync::Arc;
use std::time::Duration;

use plugboard_core::{
    AuthKind, AuthMethod, DeviceCodeCase, DeviceCodeFixture, ErrorChain, HttpError, HttpResponse,
    Provider,
};

use crate::device_context::{Event, Log, MAX_STEPS, logged_context};
use crate::guard::guarded;
use crate::report::Report;
use crate::rules::{DEVICE_CODE_POLLING, DEVICE_FIXTURES_PRESENT};
use crate::subject::Subject;
use crate::tokens::{shown_in_error, shows_token};
use crate::{fixtures, local};

/// How much later every poll must come after the service answers `slow_down` (RFC 8628 §3.5),
/// once for each time it said so.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// How many polls the pending case needs at least: one for each `authorization_pending`
/// answer, and one for the token.
const PENDING_POLLS: usize = 3;

/// Fields of a service's answers that hold a secret, by the role reports name them with: RFC
/// 8628's, and those of services that hand out a code to exchange instead of tokens (OpenAI's
/// device sign-in).
const SECRET_FIELDS: [(&str, &str); 8] = [
    ("device_code", "the device code"),
    ("device_auth_id", "the device code"),
    ("authorization_code", "the authorization code"),
    ("code_verifier", "the code verifier"),
    ("access_token", "the access token"),
    ("refresh_token", "the refresh token"),
    ("id_token", "the id token"),
    ("token", "the token"),
];

/// `device-fixtures-present`, then `device-code-polling` for each well-formed fixture of a
/// device-code method.
pub(crate) async fn check(subject: &Subject, report: &mut Report) {
    let provider = subject.provider.as_ref();
    let name = subject.provider_name();
    let methods: Vec<&dyn AuthMethod> = provider
        .auth_methods()
        .iter()
        .map(AsRef::as_ref)
        .filter(|m| m.kind() == AuthKind::DeviceCode)
        .collect();

    for method in &methods {
        for case in DeviceCodeCase::ALL {
            let covered = subject
                .device_fixtures
                .iter()
                .any(|f| f.method_id == method.id() && f.case == case);
            if !covered {
                report.fail(
                    DEVICE_FIXTURES_PRESENT,
                    &name,
                    format!(
                        "device-code method {:?} has no device fixture for the {} case (DeviceCodeCase::{case:?}, {}): register one",
                        method.id(),
                        case.as_str(),
                        describe(case)
                    ),
                );
            }
        }
    }

    for fixture in &subject.device_fixtures {
        let Some(method) = methods.iter().find(|m| m.id() == fixture.method_id) else {
            let what = match provider.auth_method(&fixture.method_id) {
                None => "which this provider does not have".to_owned(),
                Some(m) => format!("which is of kind {}, not device_code", m.kind()),
            };
            report.fail(
                DEVICE_FIXTURES_PRESENT,
                &name,
                format!(
                    "device fixture {:?} names method {:?}, {what}: register device fixtures only for this provider's device-code methods",
                    fixture.name, fixture.method_id
                ),
            );
            continue;
        };
        if let Some(fault) = malformed(fixture) {
            report.fail(
                DEVICE_FIXTURES_PRESENT,
                &name,
                format!("device fixture {:?} {fault}", fixture.name),
            );
            continue;
        }
        run(fixture, *method, provider, &name, report).await;
    }
}

/// What the token endpoint answers in `case`, for reports.
fn describe(case: DeviceCodeCase) -> &'static str {
    match case {
        DeviceCodeCase::PendingThenSuccess => {
            "the token endpoint answers authorization_pending twice, then a token"
        }
        DeviceCodeCase::SlowDown => "the token endpoint answers slow_down once, then a token",
        DeviceCodeCase::Expired => "the token endpoint answers expired_token",
        DeviceCodeCase::Denied => "the token endpoint answers access_denied",
        _ => "a case this harness does not know",
    }
}

/// What is wrong with a fixture, so that its run would prove nothing, if anything: something
/// to look for that is blank, no interval to hold the waits to, too few answers for its case,
/// or a slow_down case whose service never says slow_down. The other answers are the
/// service's own business (RFC 8628's error codes, or a status code as some services use), so
/// only their number is checked.
fn malformed(fixture: &DeviceCodeFixture) -> Option<String> {
    if fixture.user_code.trim().is_empty() {
        return Some(
            "has a blank user_code: give the user code its device-code answer carries".into(),
        );
    }
    if fixture.verification_uri.trim().is_empty() {
        return Some(
            "has a blank verification_uri: give the verification URL its device-code answer carries"
                .into(),
        );
    }
    if fixture.interval.is_zero() {
        return Some(
            "has a zero interval: give the interval its device-code answer carries (RFC 8628 says 5 s when the answer has none)"
                .into(),
        );
    }
    let case = fixture.case;
    let needed = match case {
        DeviceCodeCase::PendingThenSuccess => PENDING_POLLS,
        DeviceCodeCase::SlowDown => 2,
        _ => 1,
    };
    let scripted = fixture.replies.len().saturating_sub(1);
    if scripted < needed {
        return Some(format!(
            "scripts {scripted} poll answer(s) after the device-code answer, but the {} case needs at least {needed} ({}): script them",
            case.as_str(),
            describe(case)
        ));
    }
    // The one answer the harness must recognise: it decides how long later polls must wait.
    if case == DeviceCodeCase::SlowDown
        && !fixture
            .replies
            .iter()
            .any(|reply| answers(reply, "slow_down"))
    {
        return Some(
            "is of the slow_down case but no reply says slow_down: script the token endpoint's slow_down answer (RFC 8628 section 3.5), which the harness looks for to know how long later polls must wait"
                .to_owned(),
        );
    }
    None
}

/// Whether `reply` carries the RFC 8628 error code `code` (as JSON or as a form, the code is
/// the same word; GitHub answers it with HTTP 200, others with 400).
fn answers(reply: &Result<HttpResponse, HttpError>, code: &str) -> bool {
    reply
        .as_ref()
        .is_ok_and(|r| String::from_utf8_lossy(&r.body).contains(code))
}

/// The secrets the service hands out in `replies`, by role: the device code and any token.
/// JSON objects and forms are read; the same value is listed once.
fn secrets(replies: &[Result<HttpResponse, HttpError>]) -> Vec<(&'static str, String)> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for reply in replies.iter().filter_map(|r| r.as_ref().ok()) {
        let body = String::from_utf8_lossy(&reply.body);
        let json = serde_json::from_str::<serde_json::Value>(&body).ok();
        for (field, role) in SECRET_FIELDS {
            let value = match &json {
                Some(json) => json.get(field).and_then(|v| v.as_str()).map(str::to_owned),
                None => body
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(key, _)| *key == field)
                    .map(|(_, value)| value.to_owned()),
            };
            if let Some(value) = value.filter(|v| !v.is_empty())
                && !found.iter().any(|(_, known)| *known == value)
            {
                found.push((role, value));
            }
        }
    }
    found
}

async fn run(
    fixture: &DeviceCodeFixture,
    method: &dyn AuthMethod,
    provider: &dyn Provider,
    name: &str,
    report: &mut Report,
) {
    let case = format!(
        "device fixture {:?} (method {:?}, case {})",
        fixture.name,
        method.id(),
        fixture.case.as_str()
    );
    let log = Arc::new(Log::default());
    let mut ctx = logged_context(fixture.replies.clone(), &log);
    let outcome = tokio::select! {
        outcome = guarded(method.run(&mut ctx)) => Some(outcome),
        () = log.stopped.notified() => None,
    };
    let events = log.events();
    let secrets = secrets(&fixture.replies);
    let mut faults = Vec::new();

    // A run that never returned says nothing reliable about its waits or what it showed.
    let returned = match outcome {
        None => Err(format!(
            "kept sending requests and waiting ({MAX_STEPS} times in all) without finishing: stop when the service says the sign-in ended (expired_token, access_denied) and when a request fails"
        )),
        Some(Err(trouble)) => Err(format!(
            "the method {trouble}: it must return, whatever the service answers"
        )),
        Some(Ok(returned)) => Ok(returned),
    };
    let returned = match returned {
        Ok(returned) => returned,
        Err(fault) => {
            report.fail(DEVICE_CODE_POLLING, name, format!("{case}: {fault}"));
            return;
        }
    };
    let mut notes = Vec::new();
    match returned {
        Err(e) => {
            let chain = ErrorChain(&e).to_string();
            if fixture.case.succeeds() {
                faults.push(format!(
                    "must sign in but failed ({chain}): fix the method, or the fixture's replies"
                ));
            } else {
                faults.extend(failed_wrongly(fixture, &e, &chain, &events, &secrets));
            }
        }
        Ok(result) => {
            if fixture.case.succeeds() {
                if result.profiles.is_empty() {
                    faults.push(
                        "signed in without a profile: return the profile the host must store"
                            .to_owned(),
                    );
                }
                let polled = polls(&events).len();
                let sent = sent(&events);
                if polled < PENDING_POLLS && fixture.case == DeviceCodeCase::PendingThenSuccess {
                    faults.push(format!(
                        "signed in after {polled} poll(s), though the service answered authorization_pending twice before the token: poll again after each authorization_pending"
                    ));
                } else if sent < fixture.replies.len() {
                    // The token comes in the last scripted answers: signing in before the
                    // request getting them was sent takes an earlier answer (slow_down, say)
                    // for the token.
                    faults.push(format!(
                        "signed in after {sent} request(s), before the service gave its last answer (the token comes after {}): poll again after each authorization_pending and slow_down, and sign in only on the token",
                        fixture.case.as_str()
                    ));
                }
            } else {
                faults.push(format!(
                    "must fail, since the service answers {}, but signed in: end the sign-in with an error when the service says so",
                    fixture.case.as_str()
                ));
            }
            local::check_written(method, &result, &case, name, report);
            fixtures::check_ownership(&case, &result, None, provider, name, report);
            notes = result.notes;
        }
    }
    faults.extend(waited_wrongly(fixture, &events));
    faults.extend(shown_wrongly(fixture, &events, &notes, &secrets));
    for fault in faults {
        report.fail(DEVICE_CODE_POLLING, name, format!("{case}: {fault}"));
    }
}

/// The polls among `events`, as their indexes among the requests: every request after the
/// first (the device-code request) to the URL of the second, the token endpoint. Requests to
/// elsewhere (fetching the account once signed in, say) are not polls.
fn polls(events: &[Event]) -> Vec<usize> {
    let sent: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Sent(what) => Some(what.as_str()),
            _ => None,
        })
        .collect();
    let Some(token_endpoint) = sent.get(1) else {
        return Vec::new();
    };
    sent.iter()
        .enumerate()
        .skip(1)
        .filter(|(_, what)| *what == token_endpoint)
        .map(|(i, _)| i)
        .collect()
}

/// How many requests `events` holds.
fn sent(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Sent(_)))
        .count()
}

/// What is wrong with a failure the case expects: it came before the service said the
/// sign-in ended, it spans lines, or it shows a secret.
fn failed_wrongly(
    fixture: &DeviceCodeFixture,
    e: &plugboard_core::AuthError,
    chain: &str,
    events: &[Event],
    secrets: &[(&'static str, String)],
) -> Vec<String> {
    let mut faults = Vec::new();
    // The last scripted answer is the one ending the sign-in: the request getting it must
    // have been sent, or the method failed for a reason of its own.
    let sent = sent(events);
    if sent < fixture.replies.len() {
        faults.push(format!(
            "failed after {sent} request(s), before the service gave its last answer ({}; {chain}): poll until the service says the sign-in ended",
            fixture.case.as_str()
        ));
    }
    if chain.contains(['\n', '\r']) {
        faults.push(
            "the error spans several lines: keep it to one, quoting the service's words only through plugboard_core::sanitize_line"
                .to_owned(),
        );
    }
    let debug = format!("{e:?}");
    let roles: Vec<(&str, &str)> = secrets.iter().map(|(r, v)| (*r, v.as_str())).collect();
    for (shown, role) in shown_in_error(chain, &debug, &roles) {
        faults.push(format!(
            "{shown} {role} the service sent: never put a code or token in an error, and quote the service's words only scrubbed of it (plugboard_core::scrub_secret)"
        ));
    }
    faults
}

/// Whether every poll came after waiting long enough since the request before it: the interval,
/// plus [`SLOW_DOWN_STEP`] for each `slow_down` the service answered before. Only the first
/// wait too short is reported: the rest would say the same.
fn waited_wrongly(fixture: &DeviceCodeFixture, events: &[Event]) -> Option<String> {
    let polls = polls(events);
    let mut waited = Duration::ZERO;
    let mut slow_downs = 0u32;
    let mut request = 0usize;
    for event in events {
        match event {
            Event::Slept(d) => waited = waited.saturating_add(*d),
            Event::Shown(_) => {}
            Event::Sent(_) => {
                if let Some(n) = polls.iter().position(|&p| p == request) {
                    // The interval is the extension's: saturate rather than overflow on it.
                    let needed = fixture
                        .interval
                        .saturating_add(SLOW_DOWN_STEP.saturating_mul(slow_downs));
                    if waited < needed {
                        return Some(too_soon(
                            n + 1,
                            waited,
                            needed,
                            fixture.interval,
                            slow_downs,
                        ));
                    }
                }
                if fixture
                    .replies
                    .get(request)
                    .is_some_and(|reply| answers(reply, "slow_down"))
                {
                    slow_downs += 1;
                }
                waited = Duration::ZERO;
                request += 1;
            }
        }
    }
    None
}

fn too_soon(
    poll: usize,
    waited: Duration,
    needed: Duration,
    interval: Duration,
    slow_downs: u32,
) -> String {
    let waited = seconds(waited);
    if slow_downs == 0 {
        format!(
            "poll {poll} was sent after waiting {waited} since the request before it, but the interval is {}: wait at least the interval (through ctx.clock.sleep) before every poll, the first included",
            seconds(interval)
        )
    } else {
        format!(
            "poll {poll} was sent after waiting {waited}, but the service had answered slow_down {slow_downs} time(s), so the wait must be at least {}: add 5 s to the interval for this and every later poll after each slow_down",
            seconds(needed)
        )
    }
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// What is wrong with what the user saw: the user code or the verification URL missing before
/// the first poll (the user cannot confirm a code they never saw), or a secret shown.
fn shown_wrongly(
    fixture: &DeviceCodeFixture,
    events: &[Event],
    notes: &[String],
    secrets: &[(&'static str, String)],
) -> Vec<String> {
    let mut faults = Vec::new();
    let mut before_polling = String::new();
    let mut request = 0usize;
    let first_poll = polls(events).first().copied();
    for event in events {
        match event {
            Event::Sent(_) => {
                if Some(request) == first_poll {
                    break;
                }
                request += 1;
            }
            Event::Shown(text) => {
                before_polling.push_str(text);
                before_polling.push('\n');
            }
            Event::Slept(_) => {}
        }
    }
    for (what, value) in [
        ("user code", &fixture.user_code),
        ("verification URL", &fixture.verification_uri),
    ] {
        if !before_polling.contains(value.as_str()) {
            faults.push(format!(
                "the {what} was not shown before the first poll: show the user code and the verification URL (ctx.prompter.note) as soon as the service gives them"
            ));
        }
    }
    let shown: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Shown(text) => Some(text.as_str()),
            _ => None,
        })
        .chain(notes.iter().map(String::as_str))
        .collect();
    for (role, secret) in secrets {
        if shown.iter().any(|text| shows_token(text, secret)) {
            faults.push(format!(
                "what was shown to the user shows {role} the service sent: show only the user code and the verification URL"
            ));
        }
    }
    faults
}
