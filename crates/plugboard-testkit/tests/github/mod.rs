//! The GitHub double over real HTTP: the device flow with its scripted states, GitHub's polling
//! rules and faults, the Copilot token exchange and its refusals, and the Copilot API's checks,
//! chat completions and model list.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plugboard_testkit::{
    COPILOT_API_PATH, COPILOT_MISSING_EDITOR_VERSION, COPILOT_MODELS, COPILOT_REPLY,
    COPILOT_TOKEN_EXPIRED, COPILOT_TOKEN_UNKNOWN, GITHUB_COPILOT_CLIENT_ID, GITHUB_TOKEN_PREFIX,
    GitHubDouble, GitHubFault,
};
use serde_json::{Value, json};

use super::support::{Answer, Http};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const EXCHANGE: &str = "/copilot_internal/v2/token";
const FORM: &str = "application/x-www-form-urlencoded";

fn content_type(reply: &Answer) -> &str {
    reply
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The calls to GitHub and the Copilot API these tests make, over the shared blocking client.
struct Client(Http);

impl Client {
    fn new() -> Self {
        Self(Http::new())
    }

    /// `GET` with these headers.
    fn get(&self, url: &str, headers: &[(&str, &str)]) -> Answer {
        self.0.get_with(url, headers).unwrap()
    }

    /// A form-encoded `POST` asking for JSON, as GitHub's device flow is called.
    fn form(&self, url: &str, fields: &[(&str, &str)]) -> Answer {
        self.form_accepting(url, fields, Some("application/json"))
    }

    fn form_accepting(&self, url: &str, fields: &[(&str, &str)], accept: Option<&str>) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        self.0.post(url, FORM, body, &headers).unwrap()
    }

    fn device_code(&self, double: &GitHubDouble) -> Value {
        let reply = self.form(
            &format!("{}/login/device/code", double.origin()),
            &[
                ("client_id", GITHUB_COPILOT_CLIENT_ID),
                ("scope", "read:user"),
            ],
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }

    fn poll(&self, double: &GitHubDouble, device_code: &str) -> Value {
        let reply = self.form(
            &format!("{}/login/oauth/access_token", double.origin()),
            &[
                ("client_id", GITHUB_COPILOT_CLIENT_ID),
                ("device_code", device_code),
                ("grant_type", DEVICE_GRANT),
            ],
        );
        // GitHub answers every state of a poll with 200.
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }

    fn exchange(&self, double: &GitHubDouble, authorization: Option<&str>) -> Answer {
        let mut headers = vec![("accept", "application/json")];
        if let Some(value) = authorization {
            headers.push(("authorization", value));
        }
        self.get(&format!("{}{EXCHANGE}", double.origin()), &headers)
    }

    /// A Copilot token for a fresh GitHub token.
    fn copilot_token(&self, double: &GitHubDouble) -> String {
        let github = double.issue_github_token();
        let reply = self.exchange(double, Some(&format!("Bearer {github}")));
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["token"].as_str().unwrap().to_owned()
    }

    fn chat(&self, double: &GitHubDouble, headers: &[(&str, &str)], body: &Value) -> Answer {
        self.0
            .post_json(
                &format!("{}/chat/completions", double.copilot_api()),
                body,
                headers,
            )
            .unwrap()
    }
}

/// The headers a Copilot API call needs, with `token`.
fn copilot_headers(bearer: &str) -> Vec<(&str, &str)> {
    vec![
        ("authorization", bearer),
        ("editor-version", "vscode/1.107.0"),
        ("editor-plugin-version", "copilot-chat/0.35.0"),
        ("copilot-integration-id", "vscode-chat"),
    ]
}

fn ask(prompt: &str) -> Value {
    json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": prompt}],
           "stream": false})
}

/// Sleeps out the interval the double holds polls to: the protocol's wait, not a guess.
fn wait(seconds: u64) {
    std::thread::sleep(Duration::from_secs(seconds));
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_device_code_is_pending_as_often_as_scripted_then_granted() {
    let double = GitHubDouble::start_with(2, 0).unwrap();
    let http = Client::new();
    let grant = http.device_code(&double);
    assert_eq!(
        grant["verification_uri"],
        format!("{}/login/device", double.origin())
    );
    assert_eq!(grant["interval"], 1);
    assert_eq!(grant["expires_in"], 900);
    let user_code = grant["user_code"].as_str().unwrap();
    assert_eq!(double.user_codes(), [user_code]);
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    let code = grant["device_code"].as_str().unwrap();
    for _ in 0..2 {
        wait(1);
        let answer = http.poll(&double, code);
        assert_eq!(answer["error"], "authorization_pending", "{answer}");
        assert_eq!(
            answer["error_description"],
            "The authorization request is still pending."
        );
        assert!(
            answer["error_uri"]
                .as_str()
                .unwrap()
                .starts_with("https://docs.github.com/")
        );
    }
    wait(1);
    let granted = http.poll(&double, code);
    let token = granted["access_token"].as_str().unwrap();
    assert!(token.starts_with(GITHUB_TOKEN_PREFIX), "{granted}");
    assert_eq!(granted["token_type"], "bearer");
    assert!(double.is_valid_github_token(token));
    assert_eq!(double.issued_github_tokens(), [token]);
    assert_eq!((double.polls(), double.early_polls()), (3, 0));
    // A device code is good for one token.
    wait(1);
    assert_eq!(http.poll(&double, code)["error"], "incorrect_device_code");
}

#[test]
fn slow_down_adds_five_seconds_to_the_interval_the_double_holds_polls_to() {
    let double = GitHubDouble::start_with(0, 1).unwrap();
    let http = Client::new();
    let code = http.device_code(&double)["device_code"]
        .as_str()
        .unwrap()
        .to_owned();
    wait(1);
    let answer = http.poll(&double, &code);
    assert_eq!(answer["error"], "slow_down", "{answer}");
    assert_eq!(answer["interval"], 6);
    wait(6);
    assert!(http.poll(&double, &code)["access_token"].is_string());
    // The scripted slow_down is not an early poll: the client waited as told.
    assert_eq!(double.early_polls(), 0);
}

#[test]
fn a_poll_before_the_interval_is_slowed_down_like_github_does() {
    let double = GitHubDouble::start().unwrap();
    let http = Client::new();
    let code = http.device_code(&double)["device_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = http.poll(&double, &code);
    assert_eq!(answer["error"], "slow_down", "{answer}");
    assert_eq!(answer["interval"], 6);
    assert_eq!(double.early_polls(), 1);
    assert!(double.issued_github_tokens().is_empty());
}

#[test]
fn faults_and_an_old_device_code_end_the_sign_in_as_github_does() {
    let http = Client::new();
    for (fault, error) in [
        (GitHubFault::AccessDenied, "access_denied"),
        (GitHubFault::ExpiredToken, "expired_token"),
    ] {
        let double = GitHubDouble::builder().fault(fault).start().unwrap();
        assert_eq!(double.current_fault(), Some(fault));
        let code = http.device_code(&double)["device_code"]
            .as_str()
            .unwrap()
            .to_owned();
        wait(1);
        assert_eq!(http.poll(&double, &code)["error"], error);
        assert!(double.issued_github_tokens().is_empty());
    }
    let double = GitHubDouble::builder()
        .device_code_ttl(Duration::from_secs(1))
        .start()
        .unwrap();
    let code = http.device_code(&double)["device_code"]
        .as_str()
        .unwrap()
        .to_owned();
    wait(1);
    let answer = http.poll(&double, &code);
    assert_eq!(answer["error"], "expired_token");
    assert_eq!(answer["error_description"], "The device_code has expired.");
}

#[test]
fn oauth_answers_are_form_encoded_unless_json_is_asked_for_and_bad_requests_are_named() {
    let double = GitHubDouble::start().unwrap();
    let http = Client::new();
    let url = format!("{}/login/device/code", double.origin());
    let reply = http.form_accepting(&url, &[("client_id", GITHUB_COPILOT_CLIENT_ID)], None);
    assert_eq!(reply.status, 200);
    assert!(content_type(&reply).starts_with("application/x-www-form-urlencoded"));
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&reply.body)
        .into_owned()
        .collect();
    assert!(fields.iter().any(|(k, _)| k == "device_code"), "{fields:?}");

    // JSON bodies are taken too.
    let reply = http
        .0
        .post_json(
            &url,
            &json!({"client_id": GITHUB_COPILOT_CLIENT_ID, "scope": "read:user"}),
            &[("accept", "application/json")],
        )
        .unwrap();
    assert!(reply.json()["device_code"].is_string());

    let wrong = http.form(&url, &[("client_id", "Iv1.someone-else")]);
    assert_eq!(wrong.json()["error"], "incorrect_client_credentials");
    let token_url = format!("{}/login/oauth/access_token", double.origin());
    let cases = [
        (
            vec![
                ("client_id", GITHUB_COPILOT_CLIENT_ID),
                ("device_code", "x"),
                ("grant_type", "password"),
            ],
            "unsupported_grant_type",
        ),
        (
            vec![
                ("client_id", GITHUB_COPILOT_CLIENT_ID),
                ("device_code", "nope"),
                ("grant_type", DEVICE_GRANT),
            ],
            "incorrect_device_code",
        ),
        (
            vec![
                ("client_id", "other"),
                ("device_code", "nope"),
                ("grant_type", DEVICE_GRANT),
            ],
            "incorrect_client_credentials",
        ),
    ];
    for (fields, error) in cases {
        let reply = http.form(&token_url, &fields);
        assert_eq!(
            (reply.status, reply.json()["error"].clone()),
            (200, json!(error))
        );
    }
    // Other paths and methods are GitHub's 404.
    let reply = http.get(&url, &[]);
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["message"], "Not Found");
}

#[test]
fn the_exchange_trades_a_github_token_for_a_copilot_token_naming_the_api() {
    let double = GitHubDouble::start().unwrap();
    let http = Client::new();
    let github = double.issue_github_token();
    let before = unix_now();
    for scheme in ["Bearer", "token"] {
        let reply = http.exchange(&double, Some(&format!("{scheme} {github}")));
        assert_eq!(reply.status, 200, "{}", reply.text());
        let body = reply.json();
        let token = body["token"].as_str().unwrap();
        assert!(token.starts_with("tid="), "{token}");
        assert!(token.contains(";exp="), "{token}");
        let expires_at = body["expires_at"].as_u64().unwrap();
        assert!((before + 1800..=unix_now() + 1800).contains(&expires_at));
        assert_eq!(body["refresh_in"], 1500);
        assert_eq!(body["endpoints"]["api"], double.copilot_api());
        assert!(double.is_live_copilot_token(token));
    }
    assert_eq!(double.token_exchanges(), 2);
    assert_eq!(double.issued_copilot_tokens().len(), 2);
    let records = double.requests_to(EXCHANGE);
    let schemes: Vec<_> = records.iter().map(|r| r.auth_scheme.as_deref()).collect();
    assert_eq!(schemes, [Some("Bearer"), Some("token")]);
    // The log keeps no token.
    assert!(!format!("{records:?}").contains(&github));
}

#[test]
fn the_exchange_refuses_in_githubs_words() {
    let double = GitHubDouble::start().unwrap();
    let http = Client::new();
    let github = double.issue_github_token();
    let bearer = format!("Bearer {github}");

    let reply = http.exchange(&double, None);
    assert_eq!(
        (reply.status, reply.json()["message"].clone()),
        (401, json!("Requires authentication"))
    );
    let reply = http.exchange(&double, Some("Bearer ghu_never-issued"));
    assert_eq!(
        (reply.status, reply.json()["message"].clone()),
        (401, json!("Bad credentials"))
    );
    assert_eq!(
        reply.json()["documentation_url"],
        "https://docs.github.com/rest"
    );

    double.set_fault(Some(GitHubFault::NoCopilotAccess));
    let reply = http.exchange(&double, Some(&bearer));
    assert_eq!(reply.status, 403);
    assert!(
        reply.json()["error_details"]["message"]
            .as_str()
            .unwrap()
            .starts_with("No access to GitHub Copilot found.")
    );

    double.set_fault(Some(GitHubFault::RevokedGitHubTokens));
    assert_eq!(http.exchange(&double, Some(&bearer)).status, 401);
    double.set_fault(None);
    assert_eq!(http.exchange(&double, Some(&bearer)).status, 200);

    assert!(double.revoke_github_token(&github));
    assert!(!double.revoke_github_token(&github));
    let reply = http.exchange(&double, Some(&bearer));
    assert_eq!(
        (reply.status, reply.json()["message"].clone()),
        (401, json!("Bad credentials"))
    );
    assert_eq!(double.token_exchanges(), 6);
}

#[test]
fn chat_completions_answer_a_live_copilot_token_sent_with_the_editor_headers() {
    let double = GitHubDouble::start().unwrap();
    let http = Client::new();
    let token = http.copilot_token(&double);
    let bearer = format!("Bearer {token}");
    let headers = copilot_headers(&bearer);

    let reply = http.chat(&double, &headers, &ask("Reply exactly: pong"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "pong");
    let reply = http.chat(&double, &headers, &ask("hello"));
    assert_eq!(
        reply.json()["choices"][0]["message"]["content"],
        COPILOT_REPLY
    );

    let sent = &double.requests_to(&format!("{COPILOT_API_PATH}/chat/completions"))[0];
    assert_eq!(sent.editor_version.as_deref(), Some("vscode/1.107.0"));
    assert_eq!(
        sent.editor_plugin_version.as_deref(),
        Some("copilot-chat/0.35.0")
    );
    assert_eq!(sent.integration_id.as_deref(), Some("vscode-chat"));
    assert_eq!(sent.model.as_deref(), Some("gpt-4.1"));
    assert_eq!(sent.stream, Some(false));
}

#[test]
fn the_copilot_api_refuses_in_its_own_words() {
    let double = GitHubDouble::start().unwrap();
    let http = Client::new();
    let token = http.copilot_token(&double);
    let bearer = format!("Bearer {token}");
    let without = |name: &str| -> Vec<(&str, &str)> {
        copilot_headers(&bearer)
            .into_iter()
            .filter(|(n, _)| *n != name)
            .collect()
    };
    // (headers, status, line), each for the same request
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            without("editor-version"),
            400,
            COPILOT_MISSING_EDITOR_VERSION,
        ),
        (
            without("copilot-integration-id"),
            400,
            "bad request: missing required Copilot-Integration-Id header",
        ),
        (
            copilot_headers("Bearer tid=forged"),
            401,
            COPILOT_TOKEN_UNKNOWN,
        ),
        (
            without("authorization"),
            401,
            "unauthorized: missing authorization header",
        ),
    ];
    for (headers, status, line) in cases {
        let reply = http.chat(&double, &headers, &ask("x"));
        assert_eq!((reply.status, reply.text()), (status, format!("{line}\n")));
        assert!(content_type(&reply).starts_with("text/plain"));
    }
    let headers = copilot_headers(&bearer);
    for (body, code) in [
        (
            json!({"model": "o9-unknown", "messages": [{"role": "user", "content": "x"}]}),
            "model_not_supported",
        ),
        (
            json!({"model": "claude-opus-4", "messages": [{"role": "user", "content": "x"}]}),
            "model_not_supported",
        ),
        (
            json!({"model": "gpt-4.1", "messages": []}),
            "invalid_request_body",
        ),
        (
            json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "x"}], "stream": true}),
            "invalid_request_body",
        ),
    ] {
        let reply = http.chat(&double, &headers, &body);
        assert_eq!(
            (reply.status, reply.json()["error"]["code"].clone()),
            (400, json!(code)),
            "{body}"
        );
    }
}

#[test]
fn copilot_tokens_expire_on_demand_and_a_new_exchange_gives_a_live_one() {
    let double = GitHubDouble::start().unwrap();
    let http = Client::new();
    let github = double.issue_github_token();
    let exchange = |double: &GitHubDouble| {
        http.exchange(double, Some(&format!("Bearer {github}")))
            .json()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = exchange(&double);
    double.expire_copilot_tokens();
    assert!(!double.is_live_copilot_token(&first));
    let bearer = format!("Bearer {first}");
    let reply = http.chat(&double, &copilot_headers(&bearer), &ask("x"));
    assert_eq!(
        (reply.status, reply.text()),
        (401, format!("{COPILOT_TOKEN_EXPIRED}\n"))
    );

    let second = exchange(&double);
    let bearer = format!("Bearer {second}");
    assert_eq!(
        http.chat(&double, &copilot_headers(&bearer), &ask("x"))
            .status,
        200
    );

    // A lifetime of zero issues tokens that are already expired.
    double.set_copilot_token_ttl(Duration::ZERO);
    let third = exchange(&double);
    assert!(!double.is_live_copilot_token(&third));
    assert_eq!(double.token_exchanges(), 3);
}

#[test]
fn the_model_list_describes_each_model_as_copilot_does() {
    let double = GitHubDouble::start().unwrap();
    let http = Client::new();
    let token = http.copilot_token(&double);
    let bearer = format!("Bearer {token}");
    let reply = http.get(
        &format!("{}/models", double.copilot_api()),
        &copilot_headers(&bearer),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["object"], "list");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), COPILOT_MODELS.len());
    for ((id, name, kind, policy, multiplier), model) in COPILOT_MODELS.iter().zip(data) {
        assert_eq!(model["id"], *id);
        assert_eq!(model["name"], *name);
        assert_eq!(model["capabilities"]["type"], *kind);
        assert_eq!(model["policy"]["state"], *policy);
        assert_eq!(model["billing"]["multiplier"], *multiplier);
    }
    // The list needs a live token like every Copilot API call.
    double.expire_copilot_tokens();
    let reply = http.get(
        &format!("{}/models", double.copilot_api()),
        &copilot_headers(&bearer),
    );
    assert_eq!(reply.status, 401);
}

#[test]
fn the_double_stops_when_shut_down() {
    let double = GitHubDouble::start().unwrap();
    let addr = double.addr();
    double.shutdown().unwrap();
    // Stopping joins the server thread, so the port is closed once shutdown returns.
    assert!(std::net::TcpStream::connect(addr).is_err());
}
