//! A plugin's contract fixtures, asked for through the protocol (`list_fixtures`) and turned
//! into the harness's subjects: one per provider, its sign-in fixtures run in a scripted
//! context of their own, its model and list fixtures and service errors as the harness's
//! types. The providers are served through the bridge, so every scripted reply reaches the
//! plugin over loopback HTTP.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use plugboard_contract::{ManifestText, Subject};
use plugboard_core::{
    AuthContext, ContractFixture, Credential, Expectation, FixtureError, HostServices,
    HttpResponse, ListExpectation, ListFixture, Manifest, ManifestError, ModelErrorKind,
    ModelExpectation, ModelFixture, ModelRequest, OpenUrlError, PreparedFixture, ProfileId,
    Progress, PromptError, Prompter, Random, RefreshExpectation, RefreshFixture, ScriptedClock,
    ScriptedHttp, ServiceErrors, UrlOpener, async_trait,
};
use plugboard_protocol::{
    ErrorKind, FixtureAnswer, Fixtures, HostMessage, PluginMessage, Reply, SignInExpectation,
    SignInFixture, WireError,
};
use secrecy::SecretString;
use thiserror::Error;

use crate::error::ExecError;
use crate::options::ExecOptions;
use crate::provider::{plugin, proxies};
use crate::relay::{QuietRelay, Secrets};
use crate::session::Request;

/// Why a plugin's subjects could not be built: the stage that failed says which rule to
/// report (`plugin-handshake`, `plugin-fixtures`).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SubjectsError {
    /// The manifest does not load, or is not an executable plugin's.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The plugin did not start or did not agree on a version.
    #[error(transparent)]
    Handshake(ExecError),
    /// The plugin did not list its fixtures, or listed unusable ones.
    #[error(transparent)]
    Fixtures(ExecError),
}

/// Starts the executable plugin in `dir` (manifest `json`, read from `path`), agrees on a
/// version, asks for its fixtures, and returns one contract subject per provider its manifest
/// declares. Every provider is served through the bridge (whatever `options.bridge` says), so
/// the harness's scripted replies reach the plugin's own HTTP. The plugin keeps running for
/// as long as a subject lives.
pub async fn subjects(
    dir: &Path,
    path: &str,
    json: &str,
    options: &ExecOptions,
) -> Result<Vec<Subject>, SubjectsError> {
    let manifest = Manifest::load(path, json)?;
    let mut options = options.clone();
    options.bridge = true;
    let plugin = plugin(dir, path, &manifest, &options)?;
    plugin.start().await.map_err(SubjectsError::Handshake)?;

    let secrets = Secrets::default();
    let mut relay = QuietRelay {
        plugin: &plugin.id,
        verbose: options.verbose,
        sink: options.stderr.as_ref(),
        secrets: &secrets,
    };
    let request = Request {
        name: "list_fixtures",
        answer: "fixtures",
        build: |id| HostMessage::ListFixtures { id },
    };
    let limit = plugin.request_limit(Duration::ZERO);
    let fixtures = match plugin.call(request, limit, &mut relay).await {
        Ok(PluginMessage::Fixtures { fixtures, .. }) => fixtures,
        Ok(PluginMessage::Failed { error, .. }) => {
            return Err(SubjectsError::Fixtures(ExecError::BadAnswer {
                plugin: plugin.id.clone(),
                problem: format!(
                    "could not list its fixtures ({})",
                    secrets.line(&error.message, 300)
                ),
            }));
        }
        Ok(other) => {
            return Err(SubjectsError::Fixtures(ExecError::WrongAnswer {
                plugin: plugin.id.clone(),
                request: "list_fixtures",
                got: crate::session::kind(&other),
            }));
        }
        Err(error) => return Err(SubjectsError::Fixtures(error)),
    };
    if let Some(stray) = stray_provider(&fixtures, &manifest) {
        return Err(SubjectsError::Fixtures(ExecError::BadAnswer {
            plugin: plugin.id.clone(),
            problem: format!(
                "lists fixtures for provider {stray}, which its manifest does not declare"
            ),
        }));
    }
    let text = ManifestText::new(path, json);
    Ok(proxies(&plugin, &manifest)
        .into_iter()
        .map(|provider| subject(text.clone(), provider, &fixtures))
        .collect())
}

/// The first provider a fixture names that the manifest does not declare, sanitised.
fn stray_provider(fixtures: &Fixtures, manifest: &Manifest) -> Option<String> {
    let named = fixtures
        .sign_in
        .iter()
        .map(|f| &f.provider)
        .chain(fixtures.model.iter().map(|f| &f.provider))
        .chain(fixtures.list.iter().map(|f| &f.provider))
        .chain(fixtures.refresh.iter().map(|f| &f.provider))
        .chain(fixtures.service_errors.iter().map(|f| &f.provider));
    named
        .into_iter()
        .find(|p| !manifest.providers.iter().any(|d| &d.id == *p))
        .map(|p| format!("{:?}", plugboard_core::sanitize_line(p, 64)))
}

fn subject(
    manifest: ManifestText,
    provider: Box<dyn plugboard_core::Provider>,
    fixtures: &Fixtures,
) -> Subject {
    let id = provider.id().to_owned();
    let sign_in: Vec<Box<dyn ContractFixture>> = fixtures
        .sign_in
        .iter()
        .filter(|f| f.provider == id)
        .map(|f| Box::new(SignIn(f.clone())) as Box<dyn ContractFixture>)
        .collect();
    let model = fixtures
        .model
        .iter()
        .filter(|f| f.provider == id)
        .map(|f| {
            ModelFixture::new(
                &f.name,
                ModelRequest::new(f.model.clone(), f.prompt.clone()),
                replies(&f.replies),
                match &f.expect {
                    plugboard_protocol::ModelExpectation::Replies(text) => {
                        ModelExpectation::Replies(text.clone())
                    }
                    plugboard_protocol::ModelExpectation::Fails(kind) => {
                        ModelExpectation::Fails(model_kind(*kind))
                    }
                },
            )
        })
        .collect();
    let list = fixtures
        .list
        .iter()
        .filter(|f| f.provider == id)
        .map(|f| {
            ListFixture::new(
                &f.name,
                replies(&f.replies),
                match &f.expect {
                    plugboard_protocol::ListExpectation::Lists { ids, free } => {
                        ListExpectation::Lists {
                            ids: ids.clone(),
                            free: free.clone(),
                        }
                    }
                    plugboard_protocol::ListExpectation::Fails(kind) => {
                        ListExpectation::Fails(model_kind(*kind))
                    }
                },
            )
        })
        .collect();
    let refresh = fixtures
        .refresh
        .iter()
        .filter(|f| f.provider == id)
        .map(|f| {
            RefreshFixture::new(
                &f.name,
                Credential::from(f.credential.clone()),
                replies(&f.replies),
                match &f.expect {
                    plugboard_protocol::RefreshExpectation::Refreshed {
                        access_token,
                        refresh_token,
                    } => RefreshExpectation::Refreshed {
                        access_token: access_token.clone(),
                        refresh_token: refresh_token.clone(),
                    },
                    plugboard_protocol::RefreshExpectation::SessionRenewed { session_token } => {
                        RefreshExpectation::SessionRenewed {
                            session_token: session_token.clone(),
                        }
                    }
                    plugboard_protocol::RefreshExpectation::SignInRequired => {
                        RefreshExpectation::SignInRequired
                    }
                },
            )
        })
        .collect();
    let subject = Subject::new(manifest, provider, sign_in)
        .with_model_fixtures(model)
        .with_list_fixtures(list)
        .with_refresh_fixtures(refresh);
    match fixtures.service_errors.iter().find(|e| e.provider == id) {
        Some(errors) => subject.with_service_errors(service_errors(errors)),
        None => subject,
    }
}

/// The model error kind a wire kind becomes on the host.
fn model_kind(kind: ErrorKind) -> ModelErrorKind {
    WireError::new(kind, "").into_model("").kind()
}

fn response(reply: &Reply) -> HttpResponse {
    HttpResponse::new(reply.status, reply.body.clone().into_bytes())
}

fn replies(replies: &[Reply]) -> Vec<Result<HttpResponse, plugboard_core::HttpError>> {
    replies.iter().map(|r| Ok(response(r))).collect()
}

/// The service's error answers; `error_with_message` puts the message where the body says
/// `{message}` (inside the JSON strings of a JSON body, escaped as JSON) with the probe's status.
fn service_errors(errors: &plugboard_protocol::ServiceErrors) -> ServiceErrors {
    let template = errors.error_with_message.body.clone();
    ServiceErrors {
        rejected: response(&errors.rejected),
        expired: errors.expired.as_ref().map(response),
        error_with_message: Arc::new(move |status, message| {
            HttpResponse::new(status, with_message(&template, message).into_bytes())
        }),
    }
}

/// `template` with `{message}` replaced by `message`: in a JSON body, within its strings (so
/// the result stays JSON whatever the message holds); in any other body, as text.
fn with_message(template: &str, message: &str) -> String {
    fn fill(value: &mut serde_json::Value, message: &str) {
        match value {
            serde_json::Value::String(text) => *text = text.replace("{message}", message),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| fill(v, message)),
            serde_json::Value::Object(fields) => {
                fields.values_mut().for_each(|v| fill(v, message));
            }
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(template) {
        Ok(mut value) => {
            fill(&mut value, message);
            value.to_string()
        }
        Err(_) => template.replace("{message}", message),
    }
}

/// A sign-in fixture of the plugin's, run in a scripted context: its answers given to the
/// plugin's prompts in order, its replies served as the service, no browser, no terminal.
struct SignIn(SignInFixture);

#[async_trait]
impl ContractFixture for SignIn {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn provider_id(&self) -> &str {
        &self.0.provider
    }

    fn method_id(&self) -> &str {
        &self.0.method
    }

    fn expectation(&self) -> Expectation {
        match self.0.expect {
            SignInExpectation::Succeeds => Expectation::Succeeds,
            SignInExpectation::Fails => Expectation::Fails,
        }
    }

    async fn prepare(&self) -> Result<PreparedFixture, FixtureError> {
        let host = HostServices::default()
            .with_http_client(Arc::new(ScriptedHttp::new(replies(&self.0.replies))));
        let mut context = AuthContext::new(
            Arc::new(ScriptedAnswers::new(&self.0.answers)),
            Arc::new(NoBrowser),
            Arc::new(ScriptedClock::default()),
            Arc::new(CountingRandom::default()),
            host,
        );
        if let Some(name) = &self.0.profile {
            let profile = ProfileId::new(&self.0.provider, name).map_err(|e| FixtureError {
                name: self.0.name.clone(),
                reason: e.to_string(),
            })?;
            context.options.profile = Some(profile);
        }
        Ok(PreparedFixture {
            context,
            guard: None,
        })
    }

    fn texts(&self) -> Vec<String> {
        let answers = self.0.answers.iter().filter_map(|a| match a {
            FixtureAnswer::Text(text) | FixtureAnswer::Secret(text) => Some(text.clone()),
            FixtureAnswer::Select(_) | FixtureAnswer::Cancel => None,
        });
        std::iter::once(self.0.name.clone())
            .chain(answers)
            .chain(self.0.replies.iter().map(|r| r.body.clone()))
            .collect()
    }
}

/// A prompter answering from a fixture's answers, in order; past the end, "no input".
struct ScriptedAnswers(Mutex<VecDeque<FixtureAnswer>>);

impl ScriptedAnswers {
    fn new(answers: &[FixtureAnswer]) -> Self {
        Self(Mutex::new(answers.iter().cloned().collect()))
    }

    fn next(&self) -> Result<FixtureAnswer, PromptError> {
        let next = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        match next {
            Some(FixtureAnswer::Cancel) => Err(PromptError::Cancelled),
            Some(answer) => Ok(answer),
            None => Err(PromptError::EndOfInput),
        }
    }
}

fn mismatch(asked: &str) -> PromptError {
    PromptError::Io(format!(
        "the fixture answers a {asked} prompt with another kind of answer"
    ))
}

#[async_trait]
impl Prompter for ScriptedAnswers {
    async fn text(&self, _prompt: &str) -> Result<String, PromptError> {
        match self.next()? {
            FixtureAnswer::Text(text) => Ok(text),
            _ => Err(mismatch("text")),
        }
    }

    async fn secret(&self, _prompt: &str) -> Result<SecretString, PromptError> {
        match self.next()? {
            FixtureAnswer::Secret(text) => Ok(text.into()),
            _ => Err(mismatch("secret")),
        }
    }

    async fn select(&self, _prompt: &str, items: &[String]) -> Result<usize, PromptError> {
        match self.next()? {
            FixtureAnswer::Select(index) if index < items.len() => Ok(index),
            _ => Err(mismatch("select")),
        }
    }

    fn progress(&self, _message: &str) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }

    fn note(&self, _message: &str) {}
}

struct NoProgress;

impl Progress for NoProgress {
    fn set_message(&mut self, _message: &str) {}
    fn finish(self: Box<Self>, _message: &str) {}
}

/// No browser in a contract check: the plugin must offer the URL some other way.
struct NoBrowser;

impl UrlOpener for NoBrowser {
    fn open(&self, _url: &str) -> Result<(), OpenUrlError> {
        Err(OpenUrlError {
            reason: "no browser during a contract check".to_owned(),
        })
    }
}

/// Bytes that differ from call to call, for a context the plugin never asks for randomness
/// (randomness is the plugin's own, in its process).
#[derive(Default)]
struct CountingRandom(Mutex<u8>);

impl Random for CountingRandom {
    fn fill(&self, dest: &mut [u8]) {
        let mut next = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for byte in dest {
            *next = next.wrapping_add(1);
            *byte = *next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_goes_inside_the_json_strings_of_an_error_body_and_stays_json() {
        let cases = [
            (
                r#"{"error":{"message":"{message}","code":401}}"#,
                "key \"sk-x\"\n\u{200b}",
                Some(serde_json::json!({"error":{"message":"key \"sk-x\"\n\u{200b}","code":401}})),
            ),
            (
                r#"{"errors":["bad: {message}"]}"#,
                "k",
                Some(serde_json::json!({"errors":["bad: k"]})),
            ),
            ("plain {message} text", "k", None),
        ];
        for (template, message, json) in cases {
            let filled = with_message(template, message);
            match json {
                Some(json) => {
                    assert_eq!(
                        serde_json::from_str::<serde_json::Value>(&filled).unwrap(),
                        json
                    );
                }
                None => assert_eq!(filled, "plain k text"),
            }
        }
    }

    #[test]
    fn a_fixture_of_any_kind_for_a_provider_the_manifest_does_not_declare_is_named() {
        let manifest = Manifest::load(
            "acme/plugin.json",
            r#"{"manifest_version": 1, "id": "acme", "name": "Acme", "version": "1",
                "providers": [{"id": "acme", "label": "Acme"}],
                "auth_choices": [{"choice_id": "acme-key", "provider": "acme",
                    "method": "api-key", "kind": "api_key", "label": "Key",
                    "group": {"id": "acme", "label": "Acme"}}],
                "runtime": {"kind": "exec", "command": ["./acme"]}}"#,
        )
        .unwrap();
        let credential =
            serde_json::json!({"kind": "oauth", "access_token": "at", "provenance": {}});
        let reply = serde_json::json!({"status": 401, "body": ""});
        let cases = [
            (
                "sign_in",
                serde_json::json!({"name": "n", "method": "api-key", "expect": "succeeds"}),
            ),
            (
                "model",
                serde_json::json!({"name": "n", "model": "m", "prompt": "p", "expect": {"replies": "t"}}),
            ),
            (
                "list",
                serde_json::json!({"name": "n", "expect": {"fails": "service"}}),
            ),
            (
                "refresh",
                serde_json::json!({"name": "n", "credential": credential, "expect": "sign_in_required"}),
            ),
            (
                "service_errors",
                serde_json::json!({"rejected": reply, "error_with_message": reply}),
            ),
        ];
        for (kind, mut fixture) in cases {
            for (provider, stray) in [("acme", None), ("other", Some("\"other\""))] {
                fixture["provider"] = provider.into();
                let fixtures: Fixtures =
                    serde_json::from_value(serde_json::json!({ kind: [fixture.clone()] }))
                        .unwrap_or_else(|e| panic!("{kind}: {e}"));
                assert_eq!(
                    stray_provider(&fixtures, &manifest).as_deref(),
                    stray,
                    "{kind} for {provider}"
                );
            }
        }
    }

    #[tokio::test]
    async fn fixture_answers_are_given_in_order_then_no_input() {
        let answers = ScriptedAnswers::new(&[
            FixtureAnswer::Secret("sk-1".into()),
            FixtureAnswer::Select(1),
            FixtureAnswer::Cancel,
            FixtureAnswer::Text("t".into()),
        ]);
        use secrecy::ExposeSecret;
        assert_eq!(answers.secret("k").await.unwrap().expose_secret(), "sk-1");
        assert_eq!(answers.select("m", &["a".into(), "b".into()]).await, Ok(1));
        assert_eq!(answers.text("t").await, Err(PromptError::Cancelled));
        assert!(matches!(answers.secret("k").await, Err(PromptError::Io(_))));
        assert_eq!(answers.text("t").await, Err(PromptError::EndOfInput));
    }
}
