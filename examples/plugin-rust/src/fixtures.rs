//! The contract fixtures the plugin declares (its answer to `list_fixtures`), as data:
//! `plugboard plugins check` runs each through the protocol, serving the scripted replies from
//! a loopback server whose URL it hands the plugin as its base URL, and probes the runner in
//! OpenRouter's own error shape ([`ServiceErrors`]).

use plugboard_protocol::{
    ErrorKind, FixtureAnswer, Fixtures, ModelExpectation, ModelFixture, Reply, ServiceErrors,
    SignInExpectation, SignInFixture,
};

use crate::PROVIDER_ID;

/// The method every sign-in fixture runs.
const METHOD: &str = "api-key";
/// The model every model fixture asks for.
const MODEL: &str = "openai/gpt-4o-mini";
/// What the scripted completion says.
const REPLY_TEXT: &str = "Hello from the example plugin.";

fn sign_in(name: &str, expect: SignInExpectation, answers: Vec<FixtureAnswer>) -> SignInFixture {
    SignInFixture {
        name: name.to_owned(),
        provider: PROVIDER_ID.to_owned(),
        method: METHOD.to_owned(),
        expect,
        answers,
        profile: None,
        replies: Vec::new(),
    }
}

fn model(name: &str, replies: Vec<Reply>, expect: ModelExpectation) -> ModelFixture {
    ModelFixture {
        name: name.to_owned(),
        provider: PROVIDER_ID.to_owned(),
        model: MODEL.to_owned(),
        prompt: "Say hello.".to_owned(),
        replies,
        expect,
    }
}

fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply {
        status,
        body: body.into(),
    }
}

/// OpenRouter's error shape: the status repeated as `code`, and a message.
fn error_body(code: u16, message: &str) -> String {
    serde_json::json!({ "error": { "code": code, "message": message } }).to_string()
}

/// Every fixture of the plugin.
pub fn fixtures() -> Fixtures {
    let key = || FixtureAnswer::Secret("sk-or-v1-example-fixture-key-0001".to_owned());
    let mut work = sign_in(
        "a pasted key is stored under the profile asked for",
        SignInExpectation::Succeeds,
        vec![key()],
    );
    work.profile = Some("work".to_owned());
    let completion = serde_json::json!({
        "id": "gen-fixture",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": REPLY_TEXT },
            "finish_reason": "stop",
        }],
    });
    let rejected = reply(401, error_body(401, "User not found."));
    Fixtures {
        sign_in: vec![
            sign_in(
                "a pasted key is stored",
                SignInExpectation::Succeeds,
                vec![key()],
            ),
            work,
            sign_in(
                "an empty key is refused",
                SignInExpectation::Fails,
                vec![FixtureAnswer::Secret("  ".to_owned())],
            ),
            sign_in(
                "a cancelled prompt stores nothing",
                SignInExpectation::Fails,
                vec![FixtureAnswer::Cancel],
            ),
        ],
        model: vec![
            model(
                "a completion's first choice is the reply",
                vec![reply(200, completion.to_string())],
                ModelExpectation::Replies(REPLY_TEXT.to_owned()),
            ),
            model(
                "a 401 is a rejected key",
                vec![rejected.clone()],
                ModelExpectation::Fails(ErrorKind::CredentialRejected),
            ),
            model(
                "a 429 is rate limiting",
                vec![reply(429, error_body(429, "Rate limit exceeded"))],
                ModelExpectation::Fails(ErrorKind::RateLimited),
            ),
            model(
                "a 200 that is not JSON is a bad response",
                vec![reply(200, "<html>maintenance</html>")],
                ModelExpectation::Fails(ErrorKind::BadResponse),
            ),
        ],
        list: Vec::new(),
        service_errors: vec![ServiceErrors {
            provider: PROVIDER_ID.to_owned(),
            rejected,
            expired: None,
            error_with_message: reply(400, error_body(400, "{message}")),
        }],
        // API keys never expire, so there is nothing to refresh.
        refresh: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{
        Credential, CredentialKind, HostServices, HttpError, HttpResponse, ModelContext,
        ModelErrorKind, ModelRequest, ModelRunner, Provenance, ScriptedHttp,
    };

    use super::*;
    use crate::{BASE_URL_ENV, ChatRunner};

    fn kind(kind: ErrorKind) -> ModelErrorKind {
        plugboard_protocol::WireError::new(kind, "")
            .into_model("S")
            .kind()
    }

    /// Each model fixture ends the way it says when its replies answer the runner, as the
    /// contract harness will run it (there through the protocol and a loopback server).
    #[tokio::test]
    async fn each_model_fixture_ends_as_it_says() {
        for fixture in fixtures().model {
            let replies: Vec<_> = fixture
                .replies
                .iter()
                .map(|r| Ok::<_, HttpError>(HttpResponse::new(r.status, r.body.clone())))
                .collect();
            let host = HostServices::default()
                .with_http_client(Arc::new(ScriptedHttp::new(replies)))
                .with_env(BASE_URL_ENV, "http://127.0.0.1:9");
            let credential = Credential::new(
                CredentialKind::ApiKey,
                "sk-pbct-test".to_owned().into(),
                Provenance::new(),
            );
            let ctx = ModelContext::new(credential, host);
            let got = ChatRunner
                .run(&ctx, &ModelRequest::new(&fixture.model, &fixture.prompt))
                .await;
            match (&fixture.expect, got) {
                (ModelExpectation::Replies(text), Ok(reply)) => {
                    assert_eq!(&reply.outputs[0].text, text, "{}", fixture.name);
                }
                (ModelExpectation::Fails(want), Err(e)) => {
                    assert_eq!(e.kind(), kind(*want), "{}", fixture.name);
                }
                (_, got) => panic!("{}: {got:?}", fixture.name),
            }
        }
    }

    #[test]
    fn the_service_errors_are_openrouters_shape_with_the_message_slot() {
        let fixtures = fixtures();
        let errors = &fixtures.service_errors[0];
        assert_eq!(errors.provider, PROVIDER_ID);
        let body: serde_json::Value =
            serde_json::from_str(&errors.error_with_message.body).unwrap();
        assert_eq!(body["error"]["message"], "{message}");
        assert_eq!(errors.rejected.status, 401);
    }
}
