//! Scripted stand-ins for the outside world: a prompter that answers from a list, a browser
//! that records (and may follow) URLs, a fixed clock, fixed randomness and an HTTP client that
//! answers from a list. Contract fixtures and tests build [`AuthContext`]s from these instead
//! of mocking globals.
//!
//! All but [`ScriptedHttp`] and [`ScriptedClock`] are test code, built only with the
//! `contract-fixtures` feature (which only dev-dependencies enable), so none of it ships in the
//! `plugboard` binary. Those two are always built: the contract harness's own rules answer a
//! provider with them, and those rules may ship.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use std::time::{Duration, SystemTime};

use crate::context::Clock;
use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse};
#[cfg(any(test, feature = "contract-fixtures"))]
use {
    crate::context::{
        AuthContext, OpenUrlError, Progress, PromptError, Prompter, Random, UrlOpener,
    },
    crate::host::HostServices,
    secrecy::SecretString,
    std::sync::Arc,
};

#[cfg(any(test, feature = "contract-fixtures"))]
/// One scripted answer, consumed by the next prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// Answers a [`Prompter::text`] prompt.
    Text(String),
    /// Answers a [`Prompter::secret`] prompt.
    Secret(String),
    /// Answers a [`Prompter::select`] prompt with an index.
    Select(usize),
    /// The user cancels whatever is asked.
    Cancel,
}

#[cfg(any(test, feature = "contract-fixtures"))]
/// A [`Prompter`] that answers from a script and records what it was asked and told.
#[derive(Debug, Default)]
pub struct ScriptedPrompter {
    answers: Mutex<VecDeque<Answer>>,
    transcript: Mutex<Vec<String>>,
}

#[cfg(any(test, feature = "contract-fixtures"))]
impl ScriptedPrompter {
    /// A prompter that gives `answers` in order, then reports end of input.
    pub fn new(answers: impl IntoIterator<Item = Answer>) -> Self {
        Self {
            answers: Mutex::new(answers.into_iter().collect()),
            transcript: Mutex::default(),
        }
    }

    /// Everything asked, noted and shown as progress so far, one entry each.
    pub fn transcript(&self) -> Vec<String> {
        self.transcript
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Answers not yet consumed.
    pub fn remaining(&self) -> usize {
        self.answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn record(&self, line: String) {
        self.transcript
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    fn next(&self, asked: &str, prompt: &str) -> Result<Answer, PromptError> {
        self.record(format!("{asked}: {prompt}"));
        match self
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
        {
            Some(Answer::Cancel) => Err(PromptError::Cancelled),
            Some(answer) => Ok(answer),
            None => Err(PromptError::EndOfInput),
        }
    }
}

#[cfg(any(test, feature = "contract-fixtures"))]
fn mismatch(asked: &str, got: &Answer) -> PromptError {
    PromptError::Io(format!("script answered a {asked} prompt with {got:?}"))
}

#[cfg(any(test, feature = "contract-fixtures"))]
#[async_trait]
impl Prompter for ScriptedPrompter {
    async fn text(&self, prompt: &str) -> Result<String, PromptError> {
        match self.next("text", prompt)? {
            Answer::Text(s) => Ok(s),
            other => Err(mismatch("text", &other)),
        }
    }

    async fn secret(&self, prompt: &str) -> Result<SecretString, PromptError> {
        match self.next("secret", prompt)? {
            Answer::Secret(s) => Ok(s.into()),
            other => Err(mismatch("secret", &other)),
        }
    }

    async fn select(&self, prompt: &str, items: &[String]) -> Result<usize, PromptError> {
        match self.next("select", prompt)? {
            Answer::Select(i) if i < items.len() => Ok(i),
            other => Err(mismatch("select", &other)),
        }
    }

    fn progress(&self, message: &str) -> Box<dyn Progress> {
        self.record(format!("progress: {message}"));
        Box::new(SilentProgress)
    }

    fn note(&self, message: &str) {
        self.record(format!("note: {message}"));
    }
}

#[cfg(any(test, feature = "contract-fixtures"))]
/// A progress line that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct SilentProgress;

#[cfg(any(test, feature = "contract-fixtures"))]
impl Progress for SilentProgress {
    fn set_message(&mut self, _message: &str) {}
    fn finish(self: Box<Self>, _message: &str) {}
}

#[cfg(any(test, feature = "contract-fixtures"))]
/// A function a scripted browser runs on each URL it is asked to open.
pub type FollowUrl = Box<dyn Fn(&str) -> Result<(), OpenUrlError> + Send + Sync>;

#[cfg(any(test, feature = "contract-fixtures"))]
/// A [`UrlOpener`] that records URLs and, if given a `follow` function, acts on them like a
/// browser would (a test's scripted browser).
#[derive(Default)]
pub struct ScriptedBrowser {
    opened: Mutex<Vec<String>>,
    follow: Option<FollowUrl>,
}

#[cfg(any(test, feature = "contract-fixtures"))]
impl ScriptedBrowser {
    /// A browser that only records.
    pub fn new() -> Self {
        Self::default()
    }

    /// A browser that records and then runs `follow` on each URL.
    pub fn following(follow: FollowUrl) -> Self {
        Self {
            opened: Mutex::default(),
            follow: Some(follow),
        }
    }

    /// URLs opened so far.
    pub fn opened(&self) -> Vec<String> {
        self.opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(any(test, feature = "contract-fixtures"))]
impl std::fmt::Debug for ScriptedBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedBrowser")
            .field("opened", &self.opened())
            .finish_non_exhaustive()
    }
}

#[cfg(any(test, feature = "contract-fixtures"))]
impl UrlOpener for ScriptedBrowser {
    fn open(&self, url: &str) -> Result<(), OpenUrlError> {
        self.opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(url.to_owned());
        match &self.follow {
            Some(follow) => follow(url),
            None => Ok(()),
        }
    }
}

/// An [`HttpClient`] that answers from a script, in order, and records every request; when the
/// script runs out it answers [`HttpError::Unavailable`].
#[derive(Debug, Default)]
pub struct ScriptedHttp {
    replies: Mutex<VecDeque<Result<HttpResponse, HttpError>>>,
    requests: Mutex<Vec<HttpRequest>>,
}

impl ScriptedHttp {
    /// A client that gives `replies` in order.
    pub fn new(replies: impl IntoIterator<Item = Result<HttpResponse, HttpError>>) -> Self {
        Self {
            replies: Mutex::new(replies.into_iter().collect()),
            requests: Mutex::default(),
        }
    }

    /// The requests sent so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl HttpClient for ScriptedHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let what = format!("{} {}", request.method.as_str(), request.url);
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
        // A scripted answer is instant: without handing the thread back, a provider that only
        // resends (never waiting on the clock) would starve the time limit meant to stop it.
        // The request is recorded first, so a test sees it as sent the moment it is.
        yield_once().await;
        self.replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
            .unwrap_or_else(|| {
                Err(HttpError::Unavailable(format!(
                    "no scripted reply for {what}"
                )))
            })
    }
}

#[cfg(any(test, feature = "contract-fixtures"))]
/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub SystemTime);

#[cfg(any(test, feature = "contract-fixtures"))]
impl Default for FixedClock {
    /// 2023-11-14T22:13:20Z, a recognisable instant for test output.
    fn default() -> Self {
        Self(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    }
}

#[cfg(any(test, feature = "contract-fixtures"))]
#[async_trait]
impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }

    /// Returns at once (handing the thread back to the runtime once); the time stays where it
    /// is. Use [`ScriptedClock`] to see the waits.
    async fn sleep(&self, _duration: Duration) {
        yield_once().await;
    }
}

/// Hands the thread back to the runtime once, then returns. A scripted wait or answer passes at
/// once, so a loop that waits only on a scripted clock or resends only to a scripted client (a
/// poll retried for ever) would otherwise never give its runtime the thread, and no time limit
/// around it (the contract harness's) could end it.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

/// A clock that moves only when something sleeps on it: each sleep returns at once (handing
/// the thread back to the runtime once), moves the time on by its duration, and is recorded,
/// so a test sees every wait a polling loop made.
#[derive(Debug)]
pub struct ScriptedClock {
    now: Mutex<SystemTime>,
    slept: Mutex<Vec<Duration>>,
}

impl ScriptedClock {
    /// A clock starting at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Mutex::new(start),
            slept: Mutex::default(),
        }
    }

    /// Every sleep so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Default for ScriptedClock {
    /// Starts at 2023-11-14T22:13:20Z, where `FixedClock::default` stands.
    fn default() -> Self {
        Self::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    }
}

#[async_trait]
impl Clock for ScriptedClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn sleep(&self, duration: Duration) {
        yield_once().await;
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.checked_add(duration).unwrap_or(*now);
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(duration);
    }
}

#[cfg(any(test, feature = "contract-fixtures"))]
/// Deterministic "random" bytes: `seed, seed+1, seed+2, ...`, restarting at every call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FixedRandom(pub u8);

#[cfg(any(test, feature = "contract-fixtures"))]
impl Random for FixedRandom {
    fn fill(&self, dest: &mut [u8]) {
        let mut b = self.0;
        for slot in dest {
            *slot = b;
            b = b.wrapping_add(1);
        }
    }
}

#[cfg(any(test, feature = "contract-fixtures"))]
impl AuthContext {
    /// A context whose outside world is scripted: `answers` for prompts, a recording browser,
    /// a fixed clock and fixed randomness, and the default [`HostServices`] (no network, no
    /// config, no environment); non-interactive, not remote.
    pub fn scripted(answers: impl IntoIterator<Item = Answer>) -> Self {
        Self::new(
            Arc::new(ScriptedPrompter::new(answers)),
            Arc::new(ScriptedBrowser::new()),
            Arc::new(FixedClock::default()),
            Arc::new(FixedRandom::default()),
            HostServices::default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::task::{Context, Waker};

    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_scripted_wait_hands_the_thread_back_once_then_passes() {
        let mut cx = Context::from_waker(Waker::noop());
        let scripted = ScriptedClock::default();
        for clock in [&FixedClock::default() as &dyn Clock, &scripted] {
            let mut sleep = clock.sleep(Duration::from_secs(5));
            assert!(sleep.as_mut().poll(&mut cx).is_pending());
            assert!(sleep.as_mut().poll(&mut cx).is_ready());
        }
        assert_eq!(scripted.slept(), [Duration::from_secs(5)]);
        assert_eq!(
            scripted.now(),
            FixedClock::default().0 + Duration::from_secs(5)
        );
    }

    #[tokio::test]
    async fn scripted_prompter_answers_in_order_then_ends() {
        let p = ScriptedPrompter::new([
            Answer::Text("a".into()),
            Answer::Secret("s".into()),
            Answer::Select(1),
        ]);
        assert_eq!(p.text("name").await.unwrap(), "a");
        assert_eq!(p.secret("key").await.unwrap().expose_secret(), "s");
        assert_eq!(
            p.select("pick", &["x".into(), "y".into()]).await.unwrap(),
            1
        );
        assert_eq!(p.text("more").await, Err(PromptError::EndOfInput));
        assert_eq!(
            p.transcript(),
            ["text: name", "secret: key", "select: pick", "text: more"]
        );
    }

    #[tokio::test]
    async fn a_wrong_kind_of_answer_or_a_cancel_is_an_error() {
        let p =
            ScriptedPrompter::new([Answer::Text("a".into()), Answer::Cancel, Answer::Select(5)]);
        assert!(matches!(p.secret("key").await, Err(PromptError::Io(_))));
        assert_eq!(p.text("x").await, Err(PromptError::Cancelled));
        assert!(p.select("pick", &["only".into()]).await.is_err());
    }

    #[test]
    fn fixed_random_is_deterministic() {
        let mut a = [0u8; 4];
        FixedRandom(254).fill(&mut a);
        assert_eq!(a, [254, 255, 0, 1]);
    }
}
