//! Contract fixtures for OpenAI Codex: the sign-in (a pasted redirect whose state is predicted
//! from the scripted context's fixed randomness, the exchange answered by a script with
//! JWT-shaped tokens built here), model calls answered with the backend's event streams and
//! error shapes, the backend's answers to a credential it refuses, refreshes, and the kept
//! model list.

use std::time::Duration;

use plugboard_core::{
    Answer, ContractFixture, Credential, FixedRandom, HttpError, HttpResponse, ListExpectation,
    ListFixture, LoginOptions, ModelErrorKind, ModelExpectation, ModelFixture, ModelRequest,
    OAuthTokens, ProfileId, Provenance, RefreshExpectation, RefreshFixture, ScriptedFixture,
    ServiceErrors,
};
use plugboard_oauth::LoginSecrets;
use serde_json::json;

use crate::jwt::unsigned;
use crate::oauth::{CALLBACK_PATH, OAUTH_METHOD_ID};
use crate::provider::{BASE_URL_ENV, PROVIDER_ID};

/// Where the scripted services "are": a loopback origin nothing listens on.
const FIXTURE_BASE: &str = "http://127.0.0.1:9/codex-fixture";
const AUTH_CLAIM: &str = "https://api.openai.com/auth";

type Replies = Vec<Result<HttpResponse, HttpError>>;

fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
}

/// The token endpoint's answer to a good code: an id token naming the account, an access token
/// that expires, and a refresh token.
fn token_reply() -> Replies {
    let body = json!({
        "id_token": unsigned(&json!({"email": "fixture-user@example.test", AUTH_CLAIM: {
            "chatgpt_account_id": "fixture-account-1", "chatgpt_plan_type": "plus"}})),
        "access_token": unsigned(&json!({"exp": 1_700_003_600, AUTH_CLAIM: {
            "chatgpt_account_id": "fixture-account-1"}})),
        "refresh_token": "fixture-refresh-token-1",
        "token_type": "Bearer",
        "expires_in": 3600,
    });
    vec![reply(200, &body.to_string())]
}

pub(crate) fn contract_fixtures() -> Vec<Box<dyn ContractFixture>> {
    let state = LoginSecrets::generate(&FixedRandom::default()).state;
    let redirect = |query: &str| {
        vec![Answer::Text(format!(
            "http://localhost:1455{CALLBACK_PATH}?{query}&state={}",
            state.as_str()
        ))]
    };
    let mut paste = LoginOptions::default();
    paste.no_browser = true;
    // A pinned free port: the registered 1455/1457 may be busy on a test machine.
    paste.callback_port = Some(0);
    paste.timeout = Duration::from_secs(20);
    let mut paste_work = paste.clone();
    paste_work.profile = ProfileId::new(PROVIDER_ID, "work").ok();

    let case = |fixture: ScriptedFixture, options: &LoginOptions| -> Box<dyn ContractFixture> {
        Box::new(
            fixture
                .with_options(options.clone())
                .with_env(BASE_URL_ENV, FIXTURE_BASE),
        )
    };
    let succeeds =
        |name, answers| ScriptedFixture::succeeds(name, PROVIDER_ID, OAUTH_METHOD_ID, answers);
    let fails = |name, answers| ScriptedFixture::fails(name, PROVIDER_ID, OAUTH_METHOD_ID, answers);
    vec![
        case(
            succeeds(
                "a pasted ChatGPT redirect is exchanged for tokens",
                redirect("code=fixture-code"),
            )
            .with_http(token_reply()),
            &paste,
        ),
        case(
            succeeds(
                "--profile names the ChatGPT profile",
                redirect("code=fixture-code"),
            )
            .with_http(token_reply()),
            &paste_work,
        ),
        case(
            fails(
                "a ChatGPT redirect with a wrong state is refused",
                vec![Answer::Text(format!(
                    "http://localhost:1455{CALLBACK_PATH}?code=fixture-code&state=forged-state"
                ))],
            )
            .with_http(token_reply()),
            &paste,
        ),
        case(
            fails(
                "a denied ChatGPT sign-in writes nothing",
                redirect("error=access_denied&error_description=missing_codex_entitlement"),
            )
            .with_http(token_reply()),
            &paste,
        ),
        case(
            fails(
                "a code the token endpoint refuses writes nothing",
                redirect("code=used-code"),
            )
            .with_http(vec![reply(
                400,
                r#"{"error":"invalid_grant","error_description":"Invalid authorization code"}"#,
            )]),
            &paste,
        ),
        case(
            fails(
                "a token answer that is not JSON writes nothing",
                redirect("code=fixture-code"),
            )
            .with_http(vec![reply(200, "<html>fixture garbage</html>")]),
            &paste,
        ),
        case(
            fails(
                "a cancelled ChatGPT paste writes nothing",
                vec![Answer::Cancel],
            )
            .with_http(token_reply()),
            &paste,
        ),
        Box::new(
            fails(
                "a plain-http Codex base URL off this machine is refused",
                redirect("code=fixture-code"),
            )
            .with_options(paste.clone())
            .with_env(BASE_URL_ENV, "http://codex-fixture.example")
            .with_http(token_reply()),
        ),
    ]
}

/// A whole event stream, as the backend sends it.
fn stream(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap_or("")))
        .collect()
}

/// Model calls answered the way the ChatGPT backend answers, each with the outcome the host
/// relies on.
pub(crate) fn model_fixtures() -> Vec<ModelFixture> {
    let request = || ModelRequest::new("gpt-5-codex", "Reply exactly: ok");
    let fixture =
        |name: &str, replies: Replies, expect| ModelFixture::new(name, request(), replies, expect);
    let fails = ModelExpectation::Fails;
    let created = json!({"type": "response.created", "response": {"id": "resp_fixture"}});
    let delta =
        json!({"type": "response.output_text.delta", "item_id": "msg_fixture", "delta": "ok"});
    let completed = json!({"type": "response.completed", "response": {"id": "resp_fixture",
        "usage": {"input_tokens": 12, "output_tokens": 2, "total_tokens": 14}}});
    let failed = json!({"type": "response.failed", "response": {"id": "resp_fixture",
        "error": {"code": "server_error", "message": "The fixture model failed."}}});
    vec![
        fixture(
            "a streamed Codex reply is the text of its deltas",
            vec![reply(
                200,
                &stream(&[created.clone(), delta.clone(), completed]),
            )],
            ModelExpectation::Replies("ok".to_owned()),
        ),
        fixture(
            "a Codex 429 is rate limiting",
            vec![reply(
                429,
                r#"{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached (fixture)"}}"#,
            )],
            fails(ModelErrorKind::RateLimited),
        ),
        fixture(
            "a Codex stream cut before response.completed is a bad response",
            vec![reply(200, &stream(&[created.clone(), delta]))],
            fails(ModelErrorKind::BadResponse),
        ),
        fixture(
            "a Codex response.failed event is a service failure",
            vec![reply(200, &stream(&[created, failed]))],
            fails(ModelErrorKind::Service),
        ),
        fixture(
            "a Codex 401 for an expired token asks for a refresh",
            vec![expired_reply()],
            fails(ModelErrorKind::CredentialExpired),
        ),
        fixture(
            "a Codex 401 for a revoked token is a rejected credential",
            vec![rejected_reply()],
            fails(ModelErrorKind::CredentialRejected),
        ),
    ]
}

fn error_body(status: u16, message: &str, code: Option<&str>) -> String {
    json!({
        "error": {"message": message, "type": "invalid_request_error", "code": code, "param": null},
        "status": status,
    })
    .to_string()
}

fn expired_reply() -> Result<HttpResponse, HttpError> {
    reply(
        401,
        &error_body(
            401,
            "Provided authentication token is expired. Please try signing in again. (fixture)",
            Some("token_expired"),
        ),
    )
}

fn rejected_reply() -> Result<HttpResponse, HttpError> {
    reply(
        401,
        &error_body(
            401,
            "Your authentication token has been invalidated. Please try signing in again. (fixture)",
            Some("token_invalidated"),
        ),
    )
}

/// How the backend answers a credential it will not take, in its own error shape.
pub(crate) fn service_errors() -> Option<ServiceErrors> {
    let response = |r: Result<HttpResponse, HttpError>| r.ok();
    Some(ServiceErrors {
        rejected: response(rejected_reply())?,
        expired: response(expired_reply()),
        error_with_message: std::sync::Arc::new(|status, message| {
            HttpResponse::new(status, error_body(status, message, None))
        }),
    })
}

/// A stored sign-in whose access token is about to expire.
fn stored() -> Credential {
    let mut tokens = OAuthTokens::new(unsigned(&json!({"exp": 1_700_000_030})).into());
    tokens.refresh_token = Some("fixture-refresh-stored".to_owned().into());
    tokens.expires_at =
        Some(std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_030));
    tokens.account_id = Some("fixture-account-1".to_owned());
    let mut provenance = Provenance::new();
    provenance.insert("auth_flow".into(), "oauth-pkce".into());
    provenance.insert("method".into(), OAUTH_METHOD_ID.into());
    Credential::oauth(tokens, provenance)
}

/// Refreshes answered the way OpenAI's token endpoint answers.
pub(crate) fn refresh_fixtures() -> Vec<RefreshFixture> {
    let fresh_access = unsigned(&json!({"exp": 1_700_003_600, "fixture": "refreshed"}));
    let rotated_access = unsigned(&json!({"exp": 1_700_003_600, "fixture": "rotated"}));
    vec![
        RefreshFixture::new(
            "a refresh answered without a refresh token keeps the stored one",
            stored(),
            vec![reply(
                200,
                &json!({"access_token": fresh_access, "expires_in": 3600}).to_string(),
            )],
            RefreshExpectation::Refreshed {
                access_token: fresh_access.clone(),
                refresh_token: "fixture-refresh-stored".to_owned(),
            },
        ),
        RefreshFixture::new(
            "a rotated refresh token replaces the stored one",
            stored(),
            vec![reply(
                200,
                &json!({
                    "id_token": unsigned(&json!({AUTH_CLAIM: {"chatgpt_account_id": "fixture-account-1"}})),
                    "access_token": rotated_access,
                    "refresh_token": "fixture-refresh-rotated",
                })
                .to_string(),
            )],
            RefreshExpectation::Refreshed {
                access_token: rotated_access.clone(),
                refresh_token: "fixture-refresh-rotated".to_owned(),
            },
        ),
        RefreshFixture::new(
            "a refresh token refused with invalid_grant needs a new sign-in",
            stored(),
            vec![reply(
                400,
                r#"{"error":"invalid_grant","error_description":"The refresh token was already used (fixture)"}"#,
            )],
            RefreshExpectation::SignInRequired,
        ),
    ]
}

/// The kept model list: it sends nothing, so no answer of the service can change it, and a
/// refused or malformed answer cannot happen.
pub(crate) fn list_fixtures() -> Vec<ListFixture> {
    vec![ListFixture::new(
        "the models offered to ChatGPT sign-in are listed without a request",
        Vec::new(),
        ListExpectation::Lists {
            ids: crate::models::CHATGPT_MODELS
                .iter()
                .map(|(id, _)| (*id).to_owned())
                .collect(),
            free: Vec::new(),
        },
    )]
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{
        FixedClock, HostServices, RefreshContext, RefreshError, Refresher, ScriptedHttp,
    };

    use super::*;
    use crate::refresh::TokenRefresher;

    #[tokio::test]
    async fn every_refresh_fixture_ends_as_it_expects_and_writes_its_own_profile() {
        let fixtures = refresh_fixtures();
        assert_eq!(fixtures.len(), 3);
        for fixture in fixtures {
            let profile = ProfileId::new(PROVIDER_ID, "fixture").unwrap();
            let http = Arc::new(ScriptedHttp::new(fixture.replies.clone()));
            let host = HostServices::default()
                .with_http_client(http.clone())
                .with_env(BASE_URL_ENV, FIXTURE_BASE);
            let ctx = RefreshContext::new(
                profile.clone(),
                fixture.credential.clone(),
                host,
                Arc::new(FixedClock::default()),
            );
            let got = TokenRefresher.refresh(&ctx).await;
            match (&fixture.expect, got) {
                (
                    RefreshExpectation::Refreshed {
                        access_token,
                        refresh_token,
                    },
                    Ok(write),
                ) => {
                    assert_eq!(write.profile_id, profile, "{}", fixture.name);
                    assert_eq!(
                        write.credential.expose_secret(),
                        access_token,
                        "{}",
                        fixture.name
                    );
                    assert_eq!(
                        write.credential.refresh_token(),
                        Some(refresh_token.as_str()),
                        "{}",
                        fixture.name
                    );
                    assert_eq!(write.credential.account_id(), Some("fixture-account-1"));
                    assert!(write.credential.expires_at().is_some(), "{}", fixture.name);
                }
                (RefreshExpectation::SignInRequired, Err(RefreshError::SignInRequired { .. })) => {}
                (want, got) => panic!("{}: wanted {want:?}, got {got:?}", fixture.name),
            }
            assert_eq!(http.requests().len(), 1, "{}", fixture.name);
        }
    }

    #[tokio::test]
    async fn the_oauth_method_refuses_a_forged_state_without_sending_a_request() {
        let fixture = contract_fixtures()
            .into_iter()
            .find(|f| f.name() == "a ChatGPT redirect with a wrong state is refused")
            .unwrap();
        let mut prepared = fixture.prepare().await.unwrap();
        let http = Arc::new(ScriptedHttp::new(token_reply()));
        prepared.context.host = prepared.context.host.clone().with_http_client(http.clone());
        let method = crate::oauth::OAuthMethod;
        let err = plugboard_core::AuthMethod::run(&method, &mut prepared.context)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("state does not match"), "{err}");
        assert!(http.requests().is_empty());
    }

    #[test]
    fn the_service_errors_are_the_backends_shapes() {
        let errors = service_errors().unwrap();
        assert_eq!(errors.rejected.status, 401);
        assert_eq!(errors.expired.map(|r| r.status), Some(401));
        let quoted = (errors.error_with_message)(500, "the key sk-quoted");
        let body: serde_json::Value = serde_json::from_slice(&quoted.body).unwrap();
        assert_eq!(body["error"]["message"], "the key sk-quoted");
        assert_eq!(quoted.status, 500);
    }
}
