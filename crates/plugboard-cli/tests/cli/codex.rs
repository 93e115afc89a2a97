//! The `openai-codex` provider through the real binary, against the Codex double: ChatGPT
//! sign-in, model runs, and refresh: before use, after an expired-token 401, once across ten
//! processes, and refused for good (the profile is kept and status says to sign in again).

use std::time::Duration;

use plugboard_testkit::{CODEX_REPLY, CodexDouble, CodexEndpoint, CodexFault};
use serde_json::{Value, json};

use crate::support::{HandoffBrowser, Plugboard, Run, profile, provider_entry};

const PROVIDER: &str = "openai-codex";
pub(crate) const BASE_URL_ENV: &str = "OPENAI_CODEX_BASE_URL";

/// A ChatGPT sign-in on any free port (the double accepts it; OpenAI only takes 1455/1457).
const LOGIN: &[&str] = &[
    "models",
    "auth",
    "login",
    "--provider",
    "openai-codex",
    "--method",
    "oauth",
    "--port",
    "0",
];

const INFER_JSON: &[&str] = &[
    "infer",
    "model",
    "run",
    "--model",
    "openai-codex/gpt-5-codex",
    "--prompt",
    "hi",
    "--json",
];

/// Signs `pb` in to `double` with a ChatGPT sign-in whose `$BROWSER` hands the URL to the
/// test, which approves the consent page as the user would.
pub(crate) fn sign_in(pb: &Plugboard, double: &CodexDouble) -> Run {
    let browser = HandoffBrowser::new();
    let env = [
        (BASE_URL_ENV, double.origin()),
        ("BROWSER", browser.command()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let login = pb.spawn_watched(LOGIN, &env);
    let followed =
        plugboard_testkit::approve(&browser.wait_for_url()).expect("the consent page is followed");
    assert_eq!(followed.callback_status, 200, "{followed:?}");
    pb.wait_watched(login, "")
}

/// How long the double's access tokens live: `Duration::ZERO` issues them already expired.
pub(crate) fn double_issuing(ttl: Duration) -> CodexDouble {
    CodexDouble::builder()
        .accept_any_redirect_port()
        .access_token_ttl(ttl)
        .start()
        .expect("the Codex double starts")
}

pub(crate) const HOUR: Duration = Duration::from_secs(3600);

struct Codex {
    pb: Plugboard,
    double: CodexDouble,
}

impl Codex {
    /// A fresh home signed in to the double, whose access tokens live `ttl`; later tokens live
    /// an hour.
    fn signed_in(ttl: Duration) -> Self {
        let codex = Self {
            pb: Plugboard::new(),
            double: double_issuing(ttl),
        };
        codex.sign_in().success();
        codex.double.set_access_token_ttl(HOUR);
        codex
    }

    fn env(&self) -> [(&str, String); 1] {
        [(BASE_URL_ENV, self.double.origin())]
    }

    fn sign_in(&self) -> Run {
        sign_in(&self.pb, &self.double)
    }

    fn run(&self, args: &[&str]) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.pb.run(args, "", &env)
    }

    fn status(&self) -> Value {
        provider_entry(
            &self.run(&["models", "status", "--json"]).success().json(),
            PROVIDER,
        )
        .clone()
    }

    fn stored(&self) -> Value {
        profile(&self.status(), "openai-codex:default").clone()
    }
}

#[test]
fn chatgpt_sign_in_stores_oauth_tokens_with_expiry_and_refreshability() {
    let codex = Codex {
        pb: Plugboard::new(),
        double: double_issuing(HOUR),
    };
    let run = codex.sign_in().success();
    assert!(run.stdout.contains("openai-codex:default"), "{run:#?}");
    assert_eq!(codex.double.code_exchanges(), 1);

    let status = codex.status();
    assert_eq!(
        status["profile_counts"],
        json!({"api_key": 0, "none": 0, "oauth": 1, "token": 0})
    );
    assert_eq!(
        status["effective"]["source"], "default_profile",
        "{status:#}"
    );
    assert_eq!(status["effective"]["kind"], "oauth");
    assert_eq!(status["effective"]["refreshable"], true);
    let stored = codex.stored();
    assert_eq!(stored["kind"], "oauth");
    assert_eq!(stored["refreshable"], true);
    assert_eq!(stored["needs_signin"], Value::Null);
    assert!(
        stored["expires_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{stored:#}"
    );
    assert_eq!(stored["provenance"]["auth_flow"], "oauth-pkce");
    assert_eq!(stored["provenance"]["callback"], "loopback");

    let text = codex.run(&["models", "status"]).success();
    assert!(
        text.stdout
            .contains("profiles   1 (1 oauth, 0 token, 0 api_key)"),
        "{text:#?}"
    );
    assert!(text.stdout.contains("(refreshable)"), "{text:#?}");
}

#[test]
fn a_model_run_returns_the_doubles_text_in_the_same_json_shape_as_openrouters() {
    let codex = Codex::signed_in(HOUR);
    let reply = codex.run(INFER_JSON).success().json();
    assert_eq!(
        reply,
        json!({
            "ok": true,
            "capability": "model.run",
            "transport": "local",
            "provider": "openai-codex",
            "model": "gpt-5-codex",
            "attempts": [],
            "outputs": [{"text": CODEX_REPLY, "mediaUrl": null}],
        })
    );
    assert_eq!(
        codex.double.refresh_requests(),
        0,
        "a live token is not refreshed"
    );
}

#[test]
fn an_expired_token_is_refreshed_before_the_call_and_the_new_one_is_stored() {
    let codex = Codex::signed_in(Duration::ZERO);
    let before = codex.stored();

    let reply = codex.run(INFER_JSON).success().json();
    assert_eq!(reply["outputs"][0]["text"], CODEX_REPLY);
    assert_eq!(codex.double.refresh_requests(), 1);
    let responses = codex
        .double
        .requests_to("/backend-api/codex/responses")
        .len();
    assert_eq!(responses, 1, "one model request: the refresh came first");

    let after = codex.stored();
    assert_ne!(after["redacted"], before["redacted"], "{after:#}");
    assert!(after["expires_at"].as_str() > before["expires_at"].as_str());
    assert_eq!(after["created_at"], before["created_at"]);

    // The refreshed token is live for an hour: the next call sends no refresh.
    codex.run(INFER_JSON).success();
    assert_eq!(codex.double.refresh_requests(), 1);
}

#[test]
fn ten_processes_with_one_expired_token_send_one_refresh_and_all_succeed() {
    const PROCESSES: usize = 10;
    let codex = Codex::signed_in(Duration::ZERO);
    let env = codex.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();

    // All started before any is waited for, so they find the token expired together.
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| codex.pb.spawn(INFER_JSON, &env))
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|child| codex.pb.wait(child, "", &env))
        .collect();

    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.code, 0, "process {i}: {run:#?}");
        assert_eq!(run.json()["outputs"][0]["text"], CODEX_REPLY, "process {i}");
    }
    assert_eq!(codex.double.refresh_requests(), 1, "exactly one refresh");
    assert_eq!(
        codex.double.families_revoked(),
        0,
        "no refresh token reused"
    );
    assert_eq!(codex.stored()["refreshable"], true);
}

#[test]
fn a_slow_refresh_is_waited_for_by_a_second_process_which_sends_none() {
    let codex = Codex::signed_in(Duration::ZERO);
    codex.double.set_fault_on(
        CodexEndpoint::Refresh,
        Some(CodexFault::Slow(Duration::from_secs(2))),
    );
    let env = codex.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();

    let first = codex.pb.spawn_watched(INFER_JSON, &env);
    // The second starts once the first is refreshing, holding the store's lock.
    while codex.double.refresh_requests() == 0 {
        std::thread::yield_now();
    }
    let second = codex.pb.spawn_watched(INFER_JSON, &env);
    let waited =
        second.line_containing("waiting for another plugboard process to finish refreshing");
    assert!(waited.contains("openai-codex:default"), "{waited}");

    for run in [
        codex.pb.wait_watched(first, ""),
        codex.pb.wait_watched(second, ""),
    ] {
        assert_eq!(run.code, 0, "{run:#?}");
    }
    assert_eq!(codex.double.refresh_requests(), 1);
}

#[test]
fn an_expired_token_401_is_refreshed_once_and_the_call_resent() {
    let codex = Codex::signed_in(HOUR);
    // The clock says the token is live; the service says it has expired.
    codex.double.expire_access_tokens();
    let reply = codex.run(INFER_JSON).success().json();
    assert_eq!(reply["outputs"][0]["text"], CODEX_REPLY);
    assert_eq!(codex.double.refresh_requests(), 1);
    assert_eq!(
        codex
            .double
            .requests_to("/backend-api/codex/responses")
            .len(),
        2,
        "sent, refused as expired, refreshed, resent"
    );
}

#[test]
fn a_refused_refresh_keeps_the_profile_and_status_says_to_sign_in_again() {
    let codex = Codex::signed_in(Duration::ZERO);
    codex
        .double
        .set_fault_on(CodexEndpoint::Refresh, Some(CodexFault::InvalidGrant));
    let login = "plugboard models auth login --provider openai-codex";

    let run = codex.run(INFER_JSON);
    assert_eq!(run.code, 1, "{run:#?}");
    let error = &run.json()["error"];
    assert_eq!(error["type"], "credential_expired", "{error:#}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("sign in again with `{login}`")),
        "{message}"
    );
    assert_eq!(codex.double.refresh_requests(), 1);

    let stored = codex.stored();
    assert_eq!(stored["refreshable"], false, "{stored:#}");
    assert!(stored["needs_signin"].is_string(), "{stored:#}");
    assert_eq!(stored["login_command"], login);
    let text = codex.run(&["models", "status"]).success();
    assert!(text.stdout.contains("needs a new sign-in"), "{text:#?}");
    assert!(text.stdout.contains(login), "{text:#?}");

    // A refused refresh token is not sent again.
    let again = codex.run(INFER_JSON);
    assert_eq!(again.code, 1, "{again:#?}");
    assert_eq!(codex.double.refresh_requests(), 1);

    // Signing in again clears it.
    codex.double.set_fault_on(CodexEndpoint::Refresh, None);
    codex.sign_in().success();
    let stored = codex.stored();
    assert_eq!(stored["needs_signin"], Value::Null, "{stored:#}");
    assert_eq!(stored["refreshable"], true);
    codex.run(INFER_JSON).success();
}
