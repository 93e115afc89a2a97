//! Contract fixtures for GitHub Copilot, in the shapes GitHub answers with: the device flow
//! (HTTP 200 with `error` for every state of a poll, as GitHub's "Device flow" docs describe),
//! the Copilot token exchange (`token`, `expires_at`, `refresh_in`, `endpoints`) and its REST
//! errors (`{"message", "documentation_url"}`), and the Copilot API's chat completions, model
//! list and errors (plain text for authentication, OpenAI's `{"error": {...}}` otherwise).

use std::time::{Duration, SystemTime};

use plugboard_core::{
    ContractFixture, Credential, DeviceCodeCase, DeviceCodeFixture, HttpError, HttpResponse,
    ListExpectation, ListFixture, LoginOptions, ModelErrorKind, ModelExpectation, ModelFixture,
    ModelRequest, OAuthTokens, ProfileId, Provenance, RefreshExpectation, RefreshFixture,
    ScriptedFixture, ServiceErrors, SessionToken,
};
use serde_json::{Value, json};

use crate::device::DEVICE_METHOD_ID;
use crate::provider::{BASE_URL_ENV, PROVIDER_ID};

/// Where the scripted services "are": a loopback origin nothing listens on.
const FIXTURE_BASE: &str = "http://127.0.0.1:9/copilot-fixture";
/// The user code of every device answer here, in GitHub's `XXXX-XXXX` form.
const USER_CODE: &str = "FXTR-C0DE";
/// Where GitHub tells the user to enter it.
const VERIFICATION_URI: &str = "https://github.com/login/device";
/// GitHub's polling interval.
const INTERVAL_SECS: u64 = 5;
/// The GitHub token the fixtures' sign-ins are granted and their stored credentials hold.
const GITHUB_TOKEN: &str = "ghu_FixtureGitHubToken0123456789abcdefXYZ";

type Replies = Vec<Result<HttpResponse, HttpError>>;

fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
}

fn device_answer() -> Result<HttpResponse, HttpError> {
    let body = json!({
        "device_code": "3584d83530557fdd1f46af8289938c8ef79f9dc5",
        "user_code": USER_CODE,
        "verification_uri": VERIFICATION_URI,
        "expires_in": 899,
        "interval": INTERVAL_SECS,
    });
    reply(200, &body.to_string())
}

/// A poll's answer for `error`, as GitHub sends it: HTTP 200, the code, its description and
/// the docs link (and the new interval for `slow_down`).
fn poll_error(error: &str) -> Result<HttpResponse, HttpError> {
    let description = match error {
        "authorization_pending" => "The authorization request is still pending.",
        "slow_down" => "Too many requests have been made in the same timeframe.",
        "expired_token" => "The device_code has expired.",
        "access_denied" => "The authorization request was denied.",
        _ => "The request failed.",
    };
    let mut body = json!({
        "error": error,
        "error_description": description,
        "error_uri": "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow",
    });
    if error == "slow_down" {
        body["interval"] = json!(INTERVAL_SECS + 5);
    }
    reply(200, &body.to_string())
}

fn granted() -> Result<HttpResponse, HttpError> {
    let body = json!({"access_token": GITHUB_TOKEN, "token_type": "bearer", "scope": ""});
    reply(200, &body.to_string())
}

pub(crate) fn contract_fixtures() -> Vec<Box<dyn ContractFixture>> {
    let mut quiet = LoginOptions::default();
    quiet.no_browser = true;
    let mut work = quiet.clone();
    work.profile = ProfileId::new(PROVIDER_ID, "work").ok();
    let case = |fixture: ScriptedFixture, options: &LoginOptions| -> Box<dyn ContractFixture> {
        Box::new(
            fixture
                .with_options(options.clone())
                .with_env(BASE_URL_ENV, FIXTURE_BASE),
        )
    };
    let succeeds =
        |name| ScriptedFixture::succeeds(name, PROVIDER_ID, DEVICE_METHOD_ID, Vec::new());
    let fails = |name| ScriptedFixture::fails(name, PROVIDER_ID, DEVICE_METHOD_ID, Vec::new());
    vec![
        case(
            succeeds("a device code confirmed at GitHub stores the GitHub token").with_http(vec![
                device_answer(),
                poll_error("authorization_pending"),
                granted(),
            ]),
            &quiet,
        ),
        case(
            succeeds("--profile names the GitHub Copilot profile")
                .with_http(vec![device_answer(), granted()]),
            &work,
        ),
        case(
            fails("a device sign-in denied at GitHub writes nothing")
                .with_http(vec![device_answer(), poll_error("access_denied")]),
            &quiet,
        ),
        case(
            fails("a GitHub device code that expired writes nothing")
                .with_http(vec![device_answer(), poll_error("expired_token")]),
            &quiet,
        ),
        case(
            fails("a device answer that is not JSON writes nothing")
                .with_http(vec![reply(200, "device_code=x&user_code=y")]),
            &quiet,
        ),
        Box::new(
            fails("a plain-http GitHub base URL off this machine is refused")
                .with_options(quiet.clone())
                .with_env(BASE_URL_ENV, "http://copilot-fixture.example")
                .with_http(vec![device_answer(), granted()]),
        ),
    ]
}

/// One device fixture per case, each scripting GitHub's real answers.
pub(crate) fn device_fixtures() -> Vec<DeviceCodeFixture> {
    let fixture = |name: &str, case, polls: Replies| DeviceCodeFixture {
        name: name.to_owned(),
        method_id: DEVICE_METHOD_ID.to_owned(),
        case,
        user_code: USER_CODE.to_owned(),
        verification_uri: VERIFICATION_URI.to_owned(),
        interval: Duration::from_secs(INTERVAL_SECS),
        replies: std::iter::once(device_answer()).chain(polls).collect(),
    };
    vec![
        fixture(
            "GitHub answers authorization_pending twice, then the token",
            DeviceCodeCase::PendingThenSuccess,
            vec![
                poll_error("authorization_pending"),
                poll_error("authorization_pending"),
                granted(),
            ],
        ),
        fixture(
            "GitHub asks to slow down once, then gives the token",
            DeviceCodeCase::SlowDown,
            vec![poll_error("slow_down"), granted()],
        ),
        fixture(
            "GitHub says the device code expired",
            DeviceCodeCase::Expired,
            vec![
                poll_error("authorization_pending"),
                poll_error("expired_token"),
            ],
        ),
        fixture(
            "the user denied the device sign-in at GitHub",
            DeviceCodeCase::Denied,
            vec![poll_error("access_denied")],
        ),
    ]
}

fn completion(content: &str) -> String {
    json!({
        "id": "chatcmpl-fixture", "object": "chat.completion", "created": 1_700_000_000,
        "model": "gpt-4.1-2025-04-14",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    })
    .to_string()
}

/// The Copilot API's JSON error shape.
fn api_error(message: &str, code: &str) -> String {
    json!({"error": {"message": message, "code": code}}).to_string()
}

fn expired_reply() -> HttpResponse {
    HttpResponse::new(401, "unauthorized: token expired\n")
}

fn rejected_reply() -> HttpResponse {
    HttpResponse::new(
        401,
        "unauthorized: AuthenticateToken authentication failed\n",
    )
}

/// Model calls answered the way the Copilot API answers, each with the outcome the host
/// relies on.
pub(crate) fn model_fixtures() -> Vec<ModelFixture> {
    let request = || ModelRequest::new("gpt-4.1", "Reply exactly: ok");
    let fixture =
        |name: &str, replies: Replies, expect| ModelFixture::new(name, request(), replies, expect);
    let fails = ModelExpectation::Fails;
    vec![
        fixture(
            "a Copilot chat completion is the text of its message",
            vec![reply(200, &completion("ok"))],
            ModelExpectation::Replies("ok".to_owned()),
        ),
        fixture(
            "a Copilot 401 for an expired Copilot token asks for a renewal",
            vec![Ok(expired_reply())],
            fails(ModelErrorKind::CredentialExpired),
        ),
        fixture(
            "a Copilot 401 for a token it does not know is a rejected credential",
            vec![Ok(rejected_reply())],
            fails(ModelErrorKind::CredentialRejected),
        ),
        fixture(
            "a Copilot 429 is rate limiting",
            vec![reply(
                429,
                &api_error(
                    "Sorry, you have been rate-limited (fixture).",
                    "rate_limited",
                ),
            )],
            fails(ModelErrorKind::RateLimited),
        ),
        fixture(
            "a model Copilot does not serve is an invalid request",
            vec![reply(
                400,
                &api_error(
                    "The requested model is not supported.",
                    "model_not_supported",
                ),
            )],
            fails(ModelErrorKind::InvalidRequest),
        ),
        fixture(
            "a Copilot 500 is a service failure",
            vec![reply(
                500,
                &api_error("Internal server error (fixture).", "internal"),
            )],
            fails(ModelErrorKind::Service),
        ),
        fixture(
            "a Copilot answer that is not JSON is a bad response",
            vec![reply(200, "<html>fixture portal</html>")],
            fails(ModelErrorKind::BadResponse),
        ),
    ]
}

/// How the Copilot API answers a Copilot token it will not take: plain text for a 401, as it
/// sends them, and its JSON error shape otherwise.
pub(crate) fn service_errors() -> Option<ServiceErrors> {
    Some(ServiceErrors {
        rejected: rejected_reply(),
        expired: Some(expired_reply()),
        error_with_message: std::sync::Arc::new(|status, message| {
            if status == 401 {
                HttpResponse::new(status, format!("unauthorized: {message}\n"))
            } else {
                HttpResponse::new(status, api_error(message, "fixture_error"))
            }
        }),
    })
}

fn model_entry(id: &str, name: &str, kind: &str, multiplier: f64) -> Value {
    json!({
        "id": id, "name": name, "object": "model", "vendor": "OpenAI", "version": id,
        "preview": false, "model_picker_enabled": true, "is_chat_default": id == "gpt-4.1",
        "is_chat_fallback": false,
        "billing": {"is_premium": multiplier > 0.0, "multiplier": multiplier},
        "capabilities": {"family": id, "object": "model_capabilities", "type": kind,
                         "tokenizer": "o200k_base",
                         "limits": {"max_context_window_tokens": 128_000,
                                    "max_output_tokens": 16_384, "max_prompt_tokens": 128_000},
                         "supports": {"streaming": true, "tool_calls": true}},
        "policy": {"state": "enabled", "terms": "Enable access to this model (fixture)."},
    })
}

/// Model lists answered the way the Copilot API answers.
pub(crate) fn list_fixtures() -> Vec<ListFixture> {
    let list = json!({
        "object": "list",
        "data": [
            model_entry("gpt-4.1", "GPT-4.1", "chat", 0.0),
            model_entry("claude-sonnet-4", "Claude Sonnet 4", "chat", 1.0),
            model_entry("text-embedding-3-small", "Embedding V3 small", "embeddings", 0.0),
            model_entry("gpt-5-mini", "GPT-5 mini", "chat", 0.0),
        ],
    });
    vec![
        ListFixture::new(
            "the plan's chat models are listed, those without premium requests free",
            vec![reply(200, &list.to_string())],
            ListExpectation::Lists {
                ids: vec![
                    "gpt-4.1".to_owned(),
                    "claude-sonnet-4".to_owned(),
                    "gpt-5-mini".to_owned(),
                ],
                free: vec!["gpt-4.1".to_owned(), "gpt-5-mini".to_owned()],
            },
        ),
        ListFixture::new(
            "a model list refused for an expired Copilot token asks for a renewal",
            vec![Ok(expired_reply())],
            ListExpectation::Fails(ModelErrorKind::CredentialExpired),
        ),
        ListFixture::new(
            "a model list that is not JSON is a bad response",
            vec![reply(200, "<html>fixture portal</html>")],
            ListExpectation::Fails(ModelErrorKind::BadResponse),
        ),
    ]
}

/// A stored GitHub sign-in, with the Copilot session cached from an earlier use (about to
/// expire) or none yet.
fn stored(session: bool) -> Credential {
    let mut tokens = OAuthTokens::new(GITHUB_TOKEN.to_owned().into());
    if session {
        tokens.session = Some(SessionToken {
            token: "tid=fixture-old;exp=1700000030;sku=copilot_for_individual"
                .to_owned()
                .into(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_030),
            endpoint: Some("https://api.individual.githubcopilot.com".to_owned()),
        });
    }
    let mut provenance = Provenance::new();
    provenance.insert("auth_flow".into(), "device-code".into());
    provenance.insert("method".into(), DEVICE_METHOD_ID.into());
    Credential::oauth(tokens, provenance)
}

fn token_reply(token: &str) -> Result<HttpResponse, HttpError> {
    let body = json!({
        "token": token,
        "expires_at": 1_700_001_800,
        "refresh_in": 1500,
        "endpoints": {
            "api": "https://api.individual.githubcopilot.com",
            "origin-tracker": "https://origin-tracker.individual.githubcopilot.com",
            "proxy": "https://proxy.individual.githubcopilot.com",
            "telemetry": "https://telemetry.individual.githubcopilot.com",
        },
        "chat_enabled": true,
        "sku": "copilot_for_individual",
    });
    reply(200, &body.to_string())
}

/// Session renewals answered the way GitHub's token exchange answers.
pub(crate) fn refresh_fixtures() -> Vec<RefreshFixture> {
    let first = "tid=fixture-first;exp=1700001800;sku=copilot_for_individual;proxy-ep=proxy.individual.githubcopilot.com;8kp=1:f1";
    let renewed = "tid=fixture-new;exp=1700001800;sku=copilot_for_individual;proxy-ep=proxy.individual.githubcopilot.com;8kp=1:f2";
    vec![
        RefreshFixture::new(
            "the first use derives a Copilot token from the GitHub token",
            stored(false),
            vec![token_reply(first)],
            RefreshExpectation::SessionRenewed {
                session_token: first.to_owned(),
            },
        ),
        RefreshFixture::new(
            "an expiring Copilot token is replaced, the GitHub token kept",
            stored(true),
            vec![token_reply(renewed)],
            RefreshExpectation::SessionRenewed {
                session_token: renewed.to_owned(),
            },
        ),
        RefreshFixture::new(
            "a GitHub token GitHub no longer accepts needs a new sign-in",
            stored(true),
            vec![reply(
                401,
                r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#,
            )],
            RefreshExpectation::SignInRequired,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{
        AuthMethod, FixedClock, HostServices, RefreshContext, RefreshError, Refresher, ScriptedHttp,
    };

    use super::*;
    use crate::device::DeviceMethod;
    use crate::refresh::SessionRefresher;

    #[tokio::test]
    async fn every_refresh_fixture_ends_as_it_expects_in_its_own_profile() {
        for fixture in refresh_fixtures() {
            let profile = ProfileId::new(PROVIDER_ID, "fixture").unwrap();
            let http = Arc::new(ScriptedHttp::new(fixture.replies.clone()));
            let ctx = RefreshContext::new(
                profile.clone(),
                fixture.credential.clone(),
                HostServices::default().with_http_client(http.clone()),
                Arc::new(FixedClock::default()),
            );
            match (&fixture.expect, SessionRefresher.refresh(&ctx).await) {
                (RefreshExpectation::SessionRenewed { session_token }, Ok(write)) => {
                    assert_eq!(write.profile_id, profile, "{}", fixture.name);
                    assert_eq!(write.credential.expose_secret(), GITHUB_TOKEN);
                    assert_eq!(
                        write.credential.session_token(),
                        Some(session_token.as_str())
                    );
                    assert!(
                        !SessionRefresher.due(&write.credential, FixedClock::default().0),
                        "{}",
                        fixture.name
                    );
                }
                (RefreshExpectation::SignInRequired, Err(RefreshError::SignInRequired { .. })) => {}
                (want, got) => panic!("{}: wanted {want:?}, got {got:?}", fixture.name),
            }
            assert_eq!(
                http.requests()[0].url,
                "https://api.github.com/copilot_internal/v2/token"
            );
        }
    }

    #[tokio::test]
    async fn every_sign_in_fixture_ends_as_it_expects() {
        for fixture in contract_fixtures() {
            let mut prepared = fixture.prepare().await.unwrap();
            let got = DeviceMethod.run(&mut prepared.context).await;
            match fixture.expectation() {
                plugboard_core::Expectation::Succeeds => {
                    let result = got.unwrap_or_else(|e| panic!("{}: {e}", fixture.name()));
                    assert_eq!(result.profiles[0].credential.expose_secret(), GITHUB_TOKEN);
                }
                plugboard_core::Expectation::Fails => {
                    assert!(got.is_err(), "{}", fixture.name());
                }
            }
        }
    }

    #[test]
    fn there_is_one_device_fixture_per_case_each_scripting_its_answer() {
        let fixtures = device_fixtures();
        for case in DeviceCodeCase::ALL {
            let mine: Vec<_> = fixtures.iter().filter(|f| f.case == case).collect();
            assert_eq!(mine.len(), 1, "{case:?}");
            let bodies: String = mine[0]
                .replies
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|r| String::from_utf8_lossy(&r.body).into_owned())
                .collect();
            assert!(bodies.contains(case.as_str()), "{case:?}");
        }
    }

    #[test]
    fn the_service_errors_are_the_copilot_apis_shapes() {
        let errors = service_errors().unwrap();
        assert_eq!(errors.rejected.status, 401);
        assert!(!crate::service_text::says_token_expired(
            &errors.rejected.body
        ));
        assert!(crate::service_text::says_token_expired(
            &errors.expired.unwrap().body
        ));
        let quoted = (errors.error_with_message)(500, "the key sk-quoted");
        let body: Value = serde_json::from_slice(&quoted.body).unwrap();
        assert_eq!(body["error"]["message"], "the key sk-quoted");
    }
}
