//! Device-code sign-in (RFC 8628): every device-code method has a fixture for each way the
//! service can answer its polls (`device-fixtures-present`), and under each it polls the way
//! the RFC asks (`device-code-polling`): it shows the user code and the verification URL
//! before it waits, waits at least the interval before every poll and 5 s more after each
//! `slow_down`, and ends as the service's answers say, with an error that fits on one line and
//! shows neither the device code nor a token.
//!
//! The harness runs the method in a context it builds itself, the same for every provider: the
//! fixture's replies as the service, a clock that passes time at once and records each wait, a
//! prompter that records what it shows and answers nothing, a browser that records what it
//! opens, a non-interactive session and default options. Everything the method does goes into
//! one log in order, so a wait can be told apart from a poll it came before.

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use plugboard_core::{
    AuthContext, AuthKind, AuthMethod, Clock, DeviceCodeCase, DeviceCodeFixture, ErrorChain,
    HostServices, HttpClient, HttpError, HttpRequest, HttpResponse, OpenUrlError, Progress,
    PromptError, Prompter, Provider, Random, ScriptedClock, ScriptedHttp, Session, UrlOpener,
    async_trait,
};
use secrecy::SecretString;
use tokio::sync::Notify;

use crate::guard::guarded;
use crate::report::Report;
use crate::rules::{DEVICE_CODE_POLLING, DEVICE_FIXTURES_PRESENT};
use crate::subject::Subject;
use crate::tokens::{shown_in_error, shows_token};
use crate::{fixtures, local};

/// How much later every poll must come after the service answers `slow_down` (RFC 8628 §3.5),
/// once for each time it said so.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// How many requests and waits a run may make in all. A scripted run needs a handful; a method
/// that polls on after the script has run out (retrying "no network" forever, say) is stopped
/// here, since the scripted clock's waits pass at once and its loop would never end.
const MAX_STEPS: usize = 1_000;

/// How many polls the pending case needs at least: one for each `authorization_pending`
/// answer, and one for the token.
const PENDING_POLLS: usize = 3;

/// Fields of a service's answers that hold a secret, by the role reports name them with.
const SECRET_FIELDS: [(&str, &str); 5] = [
    ("device_code", "the device code"),
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
/// to look for that is blank, no interval to hold the waits to, or replies that do not show
/// its case.
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
    let needed = if case == DeviceCodeCase::PendingThenSuccess {
        2
    } else {
        1
    };
    let answered = fixture
        .replies
        .iter()
        .filter(|reply| answers(reply, case.as_str()))
        .count();
    (answered < needed).then(|| {
        format!(
            "is of the {} case but its replies answer {} {answered} time(s), not {needed}: script the answers the case says ({})",
            case.as_str(),
            case.as_str(),
            describe(case)
        )
    })
}

/// Whether `reply` carries the RFC 8628 error code `code` (as JSON or as a form, the code is
/// the same word).
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

/// One thing a method did, in the order it did it.
#[derive(Debug, Clone)]
enum Event {
    /// A request, by method and URL without its query.
    Sent(String),
    /// A wait on the clock.
    Slept(Duration),
    /// Text shown to the user: a note, a progress line, a prompt.
    Shown(String),
}

/// Everything one run did, shared by the pieces of its context, with a budget of requests and
/// waits past which the run is stopped.
#[derive(Default)]
struct Log {
    events: Mutex<Vec<Event>>,
    steps: AtomicUsize,
    stopped: Notify,
}

impl Log {
    fn push(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    /// Records a request or a wait; `false` once the budget is spent, when the run is stopped.
    fn step(&self, event: Event) -> bool {
        if self.steps.fetch_add(1, Ordering::Relaxed) >= MAX_STEPS {
            // A stored permit: the run may not be waiting on it yet.
            self.stopped.notify_one();
            return false;
        }
        self.push(event);
        true
    }

    fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The fixture's replies as the service, each request noted.
struct LoggedHttp {
    inner: ScriptedHttp,
    log: Arc<Log>,
}

#[async_trait]
impl HttpClient for LoggedHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = request.url.split(['?', '#']).next().unwrap_or_default();
        if !self
            .log
            .step(Event::Sent(format!("{} {url}", request.method.as_str())))
        {
            return pending().await;
        }
        self.inner.send(request).await
    }
}

/// A [`ScriptedClock`] whose waits are also noted in the run's log.
struct LoggedClock {
    inner: ScriptedClock,
    log: Arc<Log>,
}

#[async_trait]
impl Clock for LoggedClock {
    fn now(&self) -> std::time::SystemTime {
        self.inner.now()
    }

    async fn sleep(&self, duration: Duration) {
        if !self.log.step(Event::Slept(duration)) {
            return pending().await;
        }
        self.inner.sleep(duration).await;
    }
}

/// Notes everything shown to the user and answers nothing: the session is not interactive,
/// and a device-code sign-in has nothing to ask.
struct LoggedPrompter {
    log: Arc<Log>,
}

impl LoggedPrompter {
    fn asked(&self, prompt: &str) -> PromptError {
        self.log.push(Event::Shown(prompt.to_owned()));
        PromptError::EndOfInput
    }
}

#[async_trait]
impl Prompter for LoggedPrompter {
    async fn text(&self, prompt: &str) -> Result<String, PromptError> {
        Err(self.asked(prompt))
    }

    async fn secret(&self, prompt: &str) -> Result<SecretString, PromptError> {
        Err(self.asked(prompt))
    }

    async fn select(&self, prompt: &str, _items: &[String]) -> Result<usize, PromptError> {
        self.log.push(Event::Shown(prompt.to_owned()));
        Err(PromptError::NotInteractive {
            prompt: prompt.to_owned(),
        })
    }

    fn progress(&self, message: &str) -> Box<dyn Progress> {
        self.log.push(Event::Shown(message.to_owned()));
        Box::new(LoggedProgress {
            log: self.log.clone(),
        })
    }

    fn note(&self, message: &str) {
        self.log.push(Event::Shown(message.to_owned()));
    }
}

/// A progress line whose every message is noted as shown.
struct LoggedProgress {
    log: Arc<Log>,
}

impl Progress for LoggedProgress {
    fn set_message(&mut self, message: &str) {
        self.log.push(Event::Shown(message.to_owned()));
    }

    fn finish(self: Box<Self>, message: &str) {
        self.log.push(Event::Shown(message.to_owned()));
    }
}

/// A browser that opens nothing and says it did: what it is given is not shown to the user
/// (who may be on another machine), so it does not count as showing the URL.
struct QuietBrowser;

impl UrlOpener for QuietBrowser {
    fn open(&self, _url: &str) -> Result<(), OpenUrlError> {
        Ok(())
    }
}

/// Fixed bytes: a device-code sign-in needs no randomness, but the context has a slot for it.
struct FixedBytes;

impl Random for FixedBytes {
    fn fill(&self, dest: &mut [u8]) {
        for (slot, b) in dest.iter_mut().zip(0u8..=u8::MAX) {
            *slot = b;
        }
    }
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
    let http = LoggedHttp {
        inner: ScriptedHttp::new(fixture.replies.clone()),
        log: log.clone(),
    };
    let clock = LoggedClock {
        inner: ScriptedClock::default(),
        log: log.clone(),
    };
    let mut ctx = AuthContext::new(
        Arc::new(LoggedPrompter { log: log.clone() }),
        Arc::new(QuietBrowser),
        Arc::new(clock),
        Arc::new(FixedBytes),
        HostServices::default().with_http_client(Arc::new(http)),
    );
    ctx.session = Session::new(false, false);
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
                if polls(&events).len() < PENDING_POLLS
                    && fixture.case == DeviceCodeCase::PendingThenSuccess
                {
                    faults.push(format!(
                        "signed in after {} poll(s), though the service answered authorization_pending twice before the token: poll again after each authorization_pending",
                        polls(&events).len()
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
    // The request that got the answer ending the sign-in must have been sent.
    let ending = fixture
        .replies
        .iter()
        .position(|reply| answers(reply, fixture.case.as_str()));
    let sent = events
        .iter()
        .filter(|e| matches!(e, Event::Sent(_)))
        .count();
    if let Some(ending) = ending
        && sent <= ending
    {
        faults.push(format!(
            "failed after {sent} request(s), before the service answered {} ({chain}): poll until the service says the sign-in ended",
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
                    let needed = fixture.interval + SLOW_DOWN_STEP * slow_downs;
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
