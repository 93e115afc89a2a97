//! Contract fixtures: per sign-in method, a scripted context under which the method must
//! succeed, and cases under which it must fail. Extensions register them beside their
//! provider; the contract harness runs them for every registered provider.
//!
//! The trait and its vocabulary are always built (the harness runs fixtures); the ready
//! `ScriptedFixture` is test code, built only with the `contract-fixtures` feature.

use std::any::Any;

use async_trait::async_trait;
use thiserror::Error;

use crate::context::AuthContext;
#[cfg(any(test, feature = "contract-fixtures"))]
use {
    crate::context::LoginOptions,
    crate::http::{HttpError, HttpResponse},
    crate::scripted::{Answer, ScriptedHttp},
    std::collections::BTreeMap,
    std::sync::Arc,
};

/// What a fixture expects of its method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// The method returns a result with at least one profile.
    Succeeds,
    /// The method returns an error (and so writes nothing).
    Fails,
}

/// A context prepared for one fixture run, plus whatever must stay alive while it runs (a
/// local double of the provider's service, say).
pub struct PreparedFixture {
    /// The context to run the method with.
    pub context: AuthContext,
    /// Dropped after the run.
    pub guard: Option<Box<dyn Any + Send>>,
}

/// A fixture could not be set up (a port could not be bound, ...): the harness reports it as a
/// failure of the fixture rule, not as the method's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot prepare fixture {name:?}: {reason}")]
pub struct FixtureError {
    /// The fixture's name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// One scripted run of a sign-in method with an expected outcome.
#[async_trait]
pub trait ContractFixture: Send + Sync {
    /// Names the case in reports (`empty key is refused`).
    fn name(&self) -> &str;
    /// The provider whose method it runs.
    fn provider_id(&self) -> &str;
    /// The method it runs.
    fn method_id(&self) -> &str;
    /// What must happen.
    fn expectation(&self) -> Expectation;
    /// Builds the context (and starts anything the run needs).
    async fn prepare(&self) -> Result<PreparedFixture, FixtureError>;
    /// Every piece of text the fixture carries (its name, scripted answers, environment
    /// values, scripted replies), so a test can show that none of it is built into a binary
    /// that ships without fixtures.
    fn texts(&self) -> Vec<String> {
        vec![self.name().to_owned()]
    }
}

#[cfg(any(test, feature = "contract-fixtures"))]
/// The common fixture: prompt answers from a script, nothing else outside.
#[derive(Debug, Clone)]
pub struct ScriptedFixture {
    name: String,
    provider_id: String,
    method_id: String,
    expectation: Expectation,
    answers: Vec<Answer>,
    options: LoginOptions,
    env: BTreeMap<String, String>,
    http: Vec<Result<HttpResponse, HttpError>>,
}

#[cfg(any(test, feature = "contract-fixtures"))]
impl ScriptedFixture {
    /// A case where `method_id` of `provider_id` must succeed given `answers`.
    pub fn succeeds(name: &str, provider_id: &str, method_id: &str, answers: Vec<Answer>) -> Self {
        Self::new(name, provider_id, method_id, Expectation::Succeeds, answers)
    }

    /// A case where `method_id` of `provider_id` must fail given `answers`.
    pub fn fails(name: &str, provider_id: &str, method_id: &str, answers: Vec<Answer>) -> Self {
        Self::new(name, provider_id, method_id, Expectation::Fails, answers)
    }

    fn new(
        name: &str,
        provider_id: &str,
        method_id: &str,
        expectation: Expectation,
        answers: Vec<Answer>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            provider_id: provider_id.to_owned(),
            method_id: method_id.to_owned(),
            expectation,
            answers,
            options: LoginOptions::default(),
            env: BTreeMap::new(),
            http: Vec::new(),
        }
    }

    /// The cases every API-key method built on [`crate::ApiKeyMethod`] is held to: a pasted
    /// `valid_key` is stored, `--profile` names the profile, and an empty, blank, oversized or
    /// control-character key, a cancelled prompt or no input at all writes nothing. One list,
    /// so every provider's key sign-in is checked against the same rules.
    pub fn api_key_cases(provider_id: &str, method_id: &str, valid_key: &str) -> Vec<Self> {
        let secret = |s: &str| vec![Answer::Secret(s.to_owned())];
        let named_profile = LoginOptions {
            profile: crate::ids::ProfileId::new(provider_id, "work").ok(),
            ..LoginOptions::default()
        };
        let fails = |name, answers| Self::fails(name, provider_id, method_id, answers);
        let prefix: String = valid_key.chars().take(8).collect();
        vec![
            Self::succeeds(
                "pasted key is stored",
                provider_id,
                method_id,
                secret(valid_key),
            ),
            Self::succeeds(
                "--profile names the profile",
                provider_id,
                method_id,
                secret(valid_key),
            )
            .with_options(named_profile),
            fails("empty key is refused", secret("")),
            fails("whitespace key is refused", secret(" \t ")),
            fails(
                "key with control characters is refused",
                secret(&format!("{prefix}\x1b[2J")),
            ),
            fails("key over 4 KiB is refused", secret(&"k".repeat(5 * 1024))),
            fails("cancelled prompt writes nothing", vec![Answer::Cancel]),
            fails("no input writes nothing", vec![]),
        ]
    }

    /// Runs with these login options (a `--profile`, say).
    pub fn with_options(mut self, options: LoginOptions) -> Self {
        self.options = options;
        self
    }

    /// Answers the method's HTTP requests with `replies`, in order (see [`ScriptedHttp`]).
    pub fn with_http(mut self, replies: Vec<Result<HttpResponse, HttpError>>) -> Self {
        self.http = replies;
        self
    }

    /// Runs with this environment variable set.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }
}

#[cfg(any(test, feature = "contract-fixtures"))]
#[async_trait]
impl ContractFixture for ScriptedFixture {
    fn name(&self) -> &str {
        &self.name
    }

    fn provider_id(&self) -> &str {
        &self.provider_id
    }

    fn method_id(&self) -> &str {
        &self.method_id
    }

    fn expectation(&self) -> Expectation {
        self.expectation
    }

    async fn prepare(&self) -> Result<PreparedFixture, FixtureError> {
        let mut context = AuthContext::scripted(self.answers.iter().cloned());
        context.options = self.options.clone();
        context.host.env = self.env.clone();
        if !self.http.is_empty() {
            context.host.http_client = Arc::new(ScriptedHttp::new(self.http.iter().cloned()));
        }
        Ok(PreparedFixture {
            context,
            guard: None,
        })
    }

    fn texts(&self) -> Vec<String> {
        let answers = self.answers.iter().filter_map(|answer| match answer {
            Answer::Text(text) | Answer::Secret(text) => Some(text.clone()),
            Answer::Select(_) | Answer::Cancel => None,
        });
        let replies = self.http.iter().filter_map(|reply| {
            let body = &reply.as_ref().ok()?.body;
            Some(String::from_utf8_lossy(body).into_owned())
        });
        std::iter::once(self.name.clone())
            .chain(answers)
            .chain(self.env.values().cloned())
            .chain(replies)
            .collect()
    }
}
