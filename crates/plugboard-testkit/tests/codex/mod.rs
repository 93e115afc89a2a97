//! The OpenAI Codex double over real HTTP: sign-in through the consent page, the code exchange
//! with PKCE, refresh-token rotation and reuse detection, the Responses stream, and faults.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use plugboard_testkit::{
    CODEX_CLIENT_ID, CODEX_CONSENT_TITLE, CODEX_REPLY, CodexDouble, CodexEndpoint, CodexFault,
    FollowError, IssuedTokens, RefreshErrorStyle, approve, deny, redirect_for,
};
use serde_json::{Value, json};

use super::support::{Answer, CHALLENGE, CallbackServer, Http, VERIFIER, query_param};

const STATE: &str = "codex-state-1";

fn double() -> CodexDouble {
    CodexDouble::builder()
        .accept_any_redirect_port()
        .start()
        .unwrap()
}

/// `http://localhost:<callback port>/auth/callback`, the only shape Codex registers.
fn redirect_uri(callback: &CallbackServer) -> String {
    let port = url::Url::parse(&callback.url(STATE))
        .unwrap()
        .port()
        .unwrap();
    format!("http://localhost:{port}/auth/callback")
}

fn token_url(double: &CodexDouble) -> String {
    format!("{}/oauth/token", double.origin())
}

fn responses_url(double: &CodexDouble) -> String {
    format!("{}/backend-api/codex/responses", double.origin())
}

/// Consent through the scripted browser; returns the code and the redirect URI used.
fn sign_in(double: &CodexDouble, callback: &CallbackServer) -> (String, String) {
    let redirect = redirect_uri(callback);
    let outcome = approve(&double.authorize_url(&redirect, CHALLENGE, STATE)).unwrap();
    (
        query_param(&outcome.callback_url, "code").unwrap(),
        redirect,
    )
}

/// The form-encoded exchange codex-rs sends.
fn exchange(
    http: &Http,
    double: &CodexDouble,
    code: &str,
    redirect: &str,
    verifier: &str,
) -> Answer {
    http.post_form(
        &token_url(double),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("client_id", CODEX_CLIENT_ID),
            ("code_verifier", verifier),
        ],
    )
    .unwrap()
}

/// The JSON refresh codex-rs sends.
fn refresh(http: &Http, double: &CodexDouble, refresh_token: &str) -> Answer {
    let body = json!({
        "client_id": CODEX_CLIENT_ID,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    });
    http.post_json(&token_url(double), &body, &[]).unwrap()
}

fn responses_body(prompt: &str) -> Value {
    json!({
        "model": "gpt-5-codex",
        "instructions": "You are a coding agent.",
        "input": [{
            "type": "message",
            "role": "user",
            "content": [{ "type": "input_text", "text": prompt }],
        }],
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "store": false,
        "stream": true,
        "include": [],
    })
}

fn call_responses(http: &Http, double: &CodexDouble, access: &str, body: &Value) -> Answer {
    let bearer = format!("Bearer {access}");
    let account = double.account_id();
    http.post_json(
        &responses_url(double),
        body,
        &[
            ("authorization", &bearer),
            ("chatgpt-account-id", &account),
            ("accept", "text/event-stream"),
        ],
    )
    .unwrap()
}

/// The `(event, data)` pairs of an SSE body.
fn sse_events(answer: &Answer) -> Vec<(String, Value)> {
    answer
        .text()
        .split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut event = None;
            let mut data = None;
            for line in frame.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = Some(name.to_owned());
                } else if let Some(json) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str::<Value>(json).unwrap());
                }
            }
            let (event, data) = (event.unwrap(), data.unwrap());
            assert_eq!(data["type"], event.as_str(), "data.type names the event");
            (event, data)
        })
        .collect()
}

fn joined_deltas(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(name, _)| name == "response.output_text.delta")
        .map(|(_, data)| data["delta"].as_str().unwrap())
        .collect()
}

fn jwt_claims(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "header.payload.signature");
    assert!(parts.iter().all(|part| !part.is_empty()));
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

fn refresh_token_of(tokens: &IssuedTokens) -> &str {
    tokens.refresh_token.as_deref().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Sign-in

#[test]
fn signing_in_through_the_consent_page_yields_tokens_that_serve_responses() {
    let double = double();
    let callback = CallbackServer::start();
    let http = Http::new();
    let redirect = redirect_uri(&callback);

    let outcome = approve(&double.authorize_url(&redirect, CHALLENGE, STATE)).unwrap();
    assert_eq!(outcome.consent_status, 200);
    assert_eq!(outcome.callback_status, 200);
    assert!(
        outcome.callback_url.starts_with(&redirect),
        "{}",
        outcome.callback_url
    );
    assert_eq!(
        query_param(&outcome.callback_url, "state").as_deref(),
        Some(STATE)
    );
    let code = query_param(&outcome.callback_url, "code").unwrap();
    assert_eq!(callback.seen().len(), 1, "the browser called back once");

    let answer = exchange(&http, &double, &code, &redirect, VERIFIER);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let id_claims = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(id_claims["email"], double.email());
    let auth = &id_claims["https://api.openai.com/auth"];
    assert_eq!(auth["chatgpt_account_id"], double.account_id());
    assert_eq!(auth["chatgpt_plan_type"], "plus");
    let access = body["access_token"].as_str().unwrap();
    let access_claims = jwt_claims(access);
    let (iat, exp) = (
        access_claims["iat"].as_u64().unwrap(),
        access_claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert_eq!(
        access_claims["https://api.openai.com/auth"]["chatgpt_account_id"],
        double.account_id()
    );
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(double.code_exchanges(), 1);

    let stream = call_responses(&http, &double, access, &responses_body("hi"));
    assert_eq!(stream.status, 200, "{}", stream.text());
    assert_eq!(joined_deltas(&sse_events(&stream)), CODEX_REPLY);
}

#[test]
fn denying_redirects_with_access_denied_and_the_state() {
    let double = double();
    let callback = CallbackServer::start();
    double.set_deny_description("No thanks <b>really</b>");
    let outcome = deny(&double.authorize_url(&redirect_uri(&callback), CHALLENGE, STATE)).unwrap();
    assert_eq!(
        query_param(&outcome.callback_url, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query_param(&outcome.callback_url, "error_description").as_deref(),
        Some("No thanks <b>really</b>")
    );
    assert_eq!(
        query_param(&outcome.callback_url, "state").as_deref(),
        Some(STATE)
    );
    assert_eq!(query_param(&outcome.callback_url, "code"), None);
}

#[test]
fn the_consent_page_shows_continue_and_cancel_with_stable_ids() {
    let double = double();
    let callback = CallbackServer::start();
    let page = Http::new()
        .get(
            &double.authorize_url(&redirect_uri(&callback), CHALLENGE, STATE),
            None,
        )
        .unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.headers
            .get("x-frame-options")
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    let html = page.text();
    assert!(html.contains(CODEX_CONSENT_TITLE));
    assert!(html.contains(r#"id="authorize""#) && html.contains(r#"id="deny""#));
}

#[test]
fn invalid_authorization_requests_answer_an_error_page_never_a_redirect() {
    // Without accept_any_redirect_port, only Codex's registered ports pass.
    let double = CodexDouble::start().unwrap();
    let good = [
        ("response_type", "code"),
        ("client_id", CODEX_CLIENT_ID),
        ("redirect_uri", "http://localhost:1455/auth/callback"),
        ("scope", "openid profile email offline_access"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", STATE),
    ];
    let cases: [(&str, Option<&str>); 10] = [
        ("response_type", Some("token")),
        ("client_id", Some("app_someone_else")),
        ("redirect_uri", Some("http://localhost:8080/auth/callback")),
        ("redirect_uri", Some("http://127.0.0.1:1455/auth/callback")),
        ("redirect_uri", Some("https://evil.example/auth/callback")),
        ("scope", Some("openid profile email")),
        ("code_challenge", Some("short")),
        ("code_challenge_method", Some("plain")),
        ("state", None),
        ("code_challenge", None),
    ];
    let http = Http::new();
    let url_with = |params: &[(&str, &str)]| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("{}/oauth/authorize?{query}", double.origin())
    };
    assert_eq!(http.get(&url_with(&good), None).unwrap().status, 200);
    for port in ["1455", "1457"] {
        let redirect = format!("http://localhost:{port}/auth/callback");
        let mut params = good.to_vec();
        params[2].1 = &redirect;
        assert_eq!(
            http.get(&url_with(&params), None).unwrap().status,
            200,
            "{port}"
        );
    }
    for (field, value) in cases {
        let params: Vec<(&str, &str)> = good
            .iter()
            .filter_map(|&(name, v)| match (name == field, value) {
                (true, Some(replacement)) => Some((name, replacement)),
                (true, None) => None,
                (false, _) => Some((name, v)),
            })
            .collect();
        let url = url_with(&params);
        let page = http.get(&url, None).unwrap();
        assert_eq!(page.status, 400, "{field}={value:?} accepted");
        assert!(
            page.headers.get("location").is_none(),
            "{field}={value:?} redirected"
        );
        assert!(page.text().contains(r#"id="problem""#));
        assert!(matches!(
            redirect_for(&url),
            Err(FollowError::ConsentRefused { status: 400, .. })
        ));
    }
    // A forged approve form is checked the same way: no redirect to an unregistered URI.
    let forged = http
        .post_form(
            &format!("{}/oauth/authorize/deny", double.origin()),
            &[
                ("redirect_uri", "https://evil.example/auth/callback"),
                ("state", STATE),
            ],
        )
        .unwrap();
    assert_eq!(forged.status, 400);
    assert!(forged.headers.get("location").is_none());
}

// ---------------------------------------------------------------------------------------------
// Code exchange

#[test]
fn a_wrong_verifier_is_refused_and_burns_the_code() {
    let double = double();
    let callback = CallbackServer::start();
    let http = Http::new();
    let (code, redirect) = sign_in(&double, &callback);
    let wrong = exchange(
        &http,
        &double,
        &code,
        &redirect,
        "not-the-verifier-at-all-0000000000000000",
    );
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.json()["error"], "invalid_grant");
    assert!(
        wrong.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("code_verifier")
    );
    let right = exchange(&http, &double, &code, &redirect, VERIFIER);
    assert_eq!(right.status, 400, "a code tried once is spent");
    assert_eq!(double.code_exchanges(), 2);
}

#[test]
fn a_code_is_single_use_and_bound_to_its_redirect_uri() {
    let double = double();
    let callback = CallbackServer::start();
    let http = Http::new();
    let (code, redirect) = sign_in(&double, &callback);
    assert_eq!(
        exchange(&http, &double, &code, &redirect, VERIFIER).status,
        200
    );
    let again = exchange(&http, &double, &code, &redirect, VERIFIER);
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");

    let (code, _) = sign_in(&double, &callback);
    let elsewhere = exchange(
        &http,
        &double,
        &code,
        "http://localhost:1455/auth/callback",
        VERIFIER,
    );
    assert_eq!(elsewhere.status, 400);
    assert_eq!(elsewhere.json()["error"], "invalid_grant");
}

#[test]
fn malformed_token_requests_get_oauth_errors() {
    type Fields<'a> = &'a [(&'a str, &'a str)];
    let double = double();
    let http = Http::new();
    let url = token_url(&double);
    let cases: [(Fields<'_>, u16, &str); 4] = [
        (&[("code", "x")], 400, "invalid_request"),
        (&[("grant_type", "password")], 400, "unsupported_grant_type"),
        (
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "app_other"),
                ("refresh_token", "rt_x"),
            ],
            401,
            "invalid_client",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CODEX_CLIENT_ID),
            ],
            400,
            "invalid_request",
        ),
    ];
    for (fields, status, error) in cases {
        let answer = http.post_form(&url, fields).unwrap();
        assert_eq!(answer.status, status, "{fields:?}");
        assert_eq!(answer.json()["error"], error, "{fields:?}");
        assert!(answer.json()["error_description"].is_string());
    }
}

// ---------------------------------------------------------------------------------------------
// Refresh

#[test]
fn a_refresh_rotates_both_tokens_and_marks_the_old_refresh_token_used() {
    let double = double();
    let http = Http::new();
    let first = double.issue_tokens();
    let answer = refresh(&http, &double, refresh_token_of(&first));
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    let new_access = body["access_token"].as_str().unwrap();
    let new_refresh = body["refresh_token"].as_str().unwrap();
    assert_ne!(new_access, first.access_token);
    assert_ne!(new_refresh, refresh_token_of(&first));
    assert!(body["id_token"].is_string());
    assert!(double.refresh_token_used(refresh_token_of(&first)));
    assert!(!double.refresh_token_used(new_refresh));
    assert!(double.is_live_access_token(new_access));
    assert_eq!(double.refresh_requests(), 1);
    // The rotated token keeps working.
    assert_eq!(refresh(&http, &double, new_refresh).status, 200);
    assert_eq!(double.families_revoked(), 0);
}

#[test]
fn a_form_encoded_refresh_is_accepted_too() {
    let double = double();
    let tokens = double.issue_tokens();
    let answer = Http::new()
        .post_form(
            &token_url(&double),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CODEX_CLIENT_ID),
                ("refresh_token", refresh_token_of(&tokens)),
            ],
        )
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[test]
fn reusing_a_refresh_token_revokes_the_whole_family() {
    let double = double();
    let http = Http::new();
    let first = double.issue_tokens();
    let rotated = refresh(&http, &double, refresh_token_of(&first)).json();
    let new_access = rotated["access_token"].as_str().unwrap();
    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    assert_eq!(
        call_responses(&http, &double, new_access, &responses_body("x")).status,
        200
    );

    let reuse = refresh(&http, &double, refresh_token_of(&first));
    assert_eq!(reuse.status, 400);
    assert_eq!(reuse.json()["error"], "invalid_grant");
    assert!(
        reuse.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    assert!(double.family_revoked(new_refresh));
    assert_eq!(double.families_revoked(), 1);

    // Everything the family issued stops working, the newest tokens included.
    let revoked = call_responses(&http, &double, new_access, &responses_body("x"));
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.json(), json!({ "detail": "Unauthorized" }));
    assert!(!double.is_live_access_token(&first.access_token));
    let after = refresh(&http, &double, new_refresh);
    assert_eq!(after.status, 400);
    assert_eq!(after.json()["error"], "invalid_grant");
    // Another family is untouched.
    let other = double.issue_tokens();
    assert!(!double.family_revoked(refresh_token_of(&other)));
    assert_eq!(
        refresh(&http, &double, refresh_token_of(&other)).status,
        200
    );
    assert_eq!(double.refresh_requests(), 4);
}

#[test]
fn the_legacy_error_style_answers_401_with_codex_rs_codes() {
    let double = CodexDouble::builder()
        .refresh_error_style(RefreshErrorStyle::LegacyCodes)
        .start()
        .unwrap();
    let http = Http::new();
    let first = double.issue_tokens();
    assert_eq!(
        refresh(&http, &double, refresh_token_of(&first)).status,
        200
    );
    let reuse = refresh(&http, &double, refresh_token_of(&first));
    assert_eq!(reuse.status, 401);
    assert_eq!(reuse.json()["error"]["code"], "refresh_token_reused");
    let unknown = refresh(&http, &double, "rt_never_issued");
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.json()["error"]["code"], "refresh_token_invalidated");
}

#[test]
fn an_unknown_refresh_token_is_an_invalid_grant() {
    let double = double();
    let answer = refresh(&Http::new(), &double, "rt_never_issued");
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"], "invalid_grant");
    assert_eq!(double.refresh_requests(), 1);
}

#[test]
fn without_rotation_a_refresh_keeps_the_refresh_token() {
    let double = CodexDouble::builder()
        .rotate_refresh_tokens(false)
        .start()
        .unwrap();
    let http = Http::new();
    let tokens = double.issue_tokens();
    for _ in 0..2 {
        let answer = refresh(&http, &double, refresh_token_of(&tokens));
        assert_eq!(answer.status, 200);
        assert!(answer.json().get("refresh_token").is_none());
    }
    assert!(!double.family_revoked(refresh_token_of(&tokens)));
}

#[test]
fn concurrent_refreshes_with_one_token_let_exactly_one_succeed_and_revoke_the_family() {
    const RACERS: usize = 10;
    let double = Arc::new(double());
    let tokens = double.issue_tokens();
    let token = refresh_token_of(&tokens).to_owned();
    let barrier = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let double = Arc::clone(&double);
            let barrier = Arc::clone(&barrier);
            let token = token.clone();
            std::thread::spawn(move || {
                let http = Http::new();
                barrier.wait();
                let answer = refresh(&http, &double, &token);
                (answer.status, answer.json())
            })
        })
        .collect();
    let answers: Vec<(u16, Value)> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .filter(|(s, _)| *s != 200)
            .all(|(s, b)| *s == 400 && b["error"] == "invalid_grant")
    );
    assert_eq!(double.refresh_requests(), RACERS);
    assert_eq!(double.families_revoked(), 1);
    assert!(double.family_revoked(&token));
    // Even the winner's fresh access token is dead: this is what plugboard must never trigger.
    assert!(!double.is_live_access_token(winners[0]["access_token"].as_str().unwrap()));
}

// ---------------------------------------------------------------------------------------------
// Responses

#[test]
fn the_stream_is_server_sent_events_ending_in_response_completed() {
    let double = double();
    let tokens = double.issue_tokens();
    let answer = call_responses(
        &Http::new(),
        &double,
        &tokens.access_token,
        &responses_body("hi"),
    );
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    assert!(
        answer.headers.get("content-length").is_none(),
        "streamed, not sized"
    );
    let events = sse_events(&answer);
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(joined_deltas(&events), CODEX_REPLY);
    let created = &events[0].1["response"];
    let completed = &events[7].1["response"];
    assert_eq!(created["id"], completed["id"]);
    assert!(completed["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["model"], "gpt-5-codex");
    assert_eq!(completed["output"][0]["content"][0]["text"], CODEX_REPLY);
    let usage = &completed["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap())
    );
    let sequence: Vec<u64> = events
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(sequence, (0..8).collect::<Vec<_>>());
}

#[test]
fn reply_exactly_in_the_prompt_sets_the_streamed_text() {
    let double = double();
    let tokens = double.issue_tokens();
    let answer = call_responses(
        &Http::new(),
        &double,
        &tokens.access_token,
        &responses_body("Say it. Reply exactly: hello there"),
    );
    assert_eq!(joined_deltas(&sse_events(&answer)), "hello there");
}

#[test]
fn an_expired_access_token_gets_the_expired_401() {
    let double = CodexDouble::builder()
        .access_token_ttl(Duration::ZERO)
        .start()
        .unwrap();
    let http = Http::new();
    let tokens = double.issue_tokens();
    assert_eq!(tokens.expires_in, 0);
    let claims = jwt_claims(&tokens.access_token);
    assert!(claims["exp"].as_u64() < claims["iat"].as_u64().map(|iat| iat + 1));
    assert!(!double.is_live_access_token(&tokens.access_token));

    let answer = call_responses(&http, &double, &tokens.access_token, &responses_body("x"));
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["detail"]["code"], "token_expired");
    assert_eq!(answer.json()["detail"]["type"], "invalid_request_error");
    let header = answer
        .headers
        .get("x-error-json")
        .unwrap()
        .to_str()
        .unwrap();
    let decoded: Value = serde_json::from_slice(&STANDARD.decode(header).unwrap()).unwrap();
    assert_eq!(decoded["error"]["code"], "token_expired");

    // A refresh gives a live token once the lifetime is back to normal.
    double.set_access_token_ttl(Duration::from_secs(600));
    let refreshed = refresh(&http, &double, refresh_token_of(&tokens)).json();
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(
        call_responses(&http, &double, access, &responses_body("x")).status,
        200
    );
}

#[test]
fn expire_access_tokens_expires_every_live_token_now() {
    let double = double();
    let tokens = double.issue_tokens();
    assert!(double.is_live_access_token(&tokens.access_token));
    double.expire_access_tokens();
    assert!(!double.is_live_access_token(&tokens.access_token));
    let answer = call_responses(
        &Http::new(),
        &double,
        &tokens.access_token,
        &responses_body("x"),
    );
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["detail"]["code"], "token_expired");
}

#[test]
fn unknown_tokens_and_foreign_accounts_are_refused() {
    let double = double();
    let http = Http::new();
    let unknown = call_responses(&http, &double, "a.b.c", &responses_body("x"));
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.json(), json!({ "detail": "Unauthorized" }));
    assert!(unknown.headers.get("x-error-json").is_none());
    let none = http
        .post_json(&responses_url(&double), &responses_body("x"), &[])
        .unwrap();
    assert_eq!(none.status, 401);

    let tokens = double.issue_tokens();
    let bearer = format!("Bearer {}", tokens.access_token);
    for account in [None, Some("someone-else")] {
        let mut headers = vec![("authorization", bearer.as_str())];
        if let Some(account) = account {
            headers.push(("chatgpt-account-id", account));
        }
        let answer = http
            .post_json(&responses_url(&double), &responses_body("x"), &headers)
            .unwrap();
        assert_eq!(answer.status, 403, "{account:?}");
    }
}

#[test]
fn request_bodies_codex_rs_would_not_send_are_refused_with_400() {
    let double = double();
    let http = Http::new();
    let tokens = double.issue_tokens();
    let cases: [(&str, Value, &str); 7] = [
        ("model", json!(""), "model is required"),
        ("instructions", Value::Null, "Instructions are required"),
        ("input", json!("hi"), "input must be a list"),
        ("stream", json!(false), "Stream must be set to true"),
        ("store", json!(true), "Store must be set to false"),
        ("tools", json!("none"), "tools has the wrong type"),
        (
            "parallel_tool_calls",
            json!("no"),
            "parallel_tool_calls has the wrong type",
        ),
    ];
    for (field, value, message) in cases {
        let mut body = responses_body("x");
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        let answer = call_responses(&http, &double, &tokens.access_token, &body);
        assert_eq!(answer.status, 400, "{field}");
        assert_eq!(answer.json(), json!({ "detail": message }), "{field}");
    }
    let mut body = responses_body("x");
    body.as_object_mut().unwrap().remove("store");
    assert_eq!(
        call_responses(&http, &double, &tokens.access_token, &body).status,
        400
    );
}

// ---------------------------------------------------------------------------------------------
// Faults

#[test]
fn a_cut_stream_ends_without_response_completed() {
    let double = double();
    let tokens = double.issue_tokens();
    double.fail_next_on(CodexEndpoint::Responses, CodexFault::StreamCut);
    let http = Http::new();
    let cut = call_responses(&http, &double, &tokens.access_token, &responses_body("x"));
    assert_eq!(cut.status, 200);
    let names: Vec<String> = sse_events(&cut).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.first().map(String::as_str), Some("response.created"));
    assert!(names.iter().any(|n| n == "response.output_text.delta"));
    assert!(!names.iter().any(|n| n == "response.completed"));
    // Once only.
    let whole = call_responses(&http, &double, &tokens.access_token, &responses_body("x"));
    assert!(
        sse_events(&whole)
            .iter()
            .any(|(n, _)| n == "response.completed")
    );
}

#[test]
fn response_failed_carries_an_error_and_no_completion() {
    let double = double();
    let tokens = double.issue_tokens();
    double.set_fault_on(CodexEndpoint::Responses, Some(CodexFault::ResponseFailed));
    let answer = call_responses(
        &Http::new(),
        &double,
        &tokens.access_token,
        &responses_body("x"),
    );
    let events = sse_events(&answer);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["response.created", "response.failed"]);
    let failed = &events[1].1["response"];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "server_error");
    assert!(failed["error"]["message"].is_string());
    assert_eq!(
        double.current_fault(CodexEndpoint::Responses),
        Some(CodexFault::ResponseFailed),
        "set_fault_on persists"
    );
}

#[test]
fn status_and_rate_limit_faults_answer_in_each_endpoints_shape() {
    let double = double();
    let http = Http::new();
    let tokens = double.issue_tokens();
    double.fail_next_on(
        CodexEndpoint::Responses,
        CodexFault::RateLimited {
            retry_after_secs: 7,
        },
    );
    let limited = call_responses(&http, &double, &tokens.access_token, &responses_body("x"));
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers.get("retry-after").unwrap(), "7");
    assert_eq!(limited.json()["error"]["code"], "rate_limit_exceeded");

    double.fail_next_on(CodexEndpoint::Responses, CodexFault::Status(401));
    let unauthorized = call_responses(&http, &double, &tokens.access_token, &responses_body("x"));
    assert_eq!(unauthorized.status, 401);
    assert_eq!(unauthorized.json(), json!({ "detail": "Unauthorized" }));

    double.fail_next_on(CodexEndpoint::Responses, CodexFault::Status(502));
    assert_eq!(
        call_responses(&http, &double, &tokens.access_token, &responses_body("x")).status,
        502
    );

    double.fail_next_on(CodexEndpoint::Refresh, CodexFault::Status(503));
    let unavailable = refresh(&http, &double, refresh_token_of(&tokens));
    assert_eq!(unavailable.status, 503);
    assert_eq!(unavailable.json()["error"], "temporarily_unavailable");
    assert!(
        !double.refresh_token_used(refresh_token_of(&tokens)),
        "a fault spends nothing"
    );

    double.fail_next_on(
        CodexEndpoint::Exchange,
        CodexFault::RateLimited {
            retry_after_secs: 2,
        },
    );
    let exchange_limited = exchange(
        &http,
        &double,
        "ac_x",
        "http://localhost:1455/auth/callback",
        VERIFIER,
    );
    assert_eq!(exchange_limited.status, 429);
    assert_eq!(exchange_limited.headers.get("retry-after").unwrap(), "2");
    assert_eq!(double.code_exchanges(), 1, "faulted requests are counted");
    assert_eq!(double.refresh_requests(), 1);
}

#[test]
fn an_injected_invalid_grant_refuses_a_good_refresh_token_without_spending_it() {
    let double = double();
    let http = Http::new();
    let tokens = double.issue_tokens();
    double.fail_next_on(CodexEndpoint::Refresh, CodexFault::InvalidGrant);
    let refused = refresh(&http, &double, refresh_token_of(&tokens));
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error"], "invalid_grant");
    assert!(!double.refresh_token_used(refresh_token_of(&tokens)));
    assert_eq!(double.families_revoked(), 0);
    assert_eq!(
        refresh(&http, &double, refresh_token_of(&tokens)).status,
        200
    );
}

#[test]
fn a_slow_refresh_trips_a_shorter_client_timeout_and_still_rotates() {
    let double = double();
    let tokens = double.issue_tokens();
    double.fail_next_on(
        CodexEndpoint::Refresh,
        CodexFault::Slow(Duration::from_millis(600)),
    );
    let impatient = Http::with_timeout(Duration::from_millis(150));
    let body = json!({
        "client_id": CODEX_CLIENT_ID,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token_of(&tokens),
    });
    let started = Instant::now();
    let Err(err) = impatient.post_json(&token_url(&double), &body, &[]) else {
        panic!("the slow refresh answered within the client's timeout");
    };
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_millis(600));
    // The service finishes the refresh the client gave up on: the token is spent all the same,
    // which is exactly how an impatient client ends up reusing it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !double.refresh_token_used(refresh_token_of(&tokens)) {
        assert!(
            Instant::now() < deadline,
            "the slow refresh never completed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        refresh(&Http::new(), &double, refresh_token_of(&tokens)).status,
        400
    );
    assert_eq!(double.families_revoked(), 1);
}

#[test]
fn connection_reset_answers_nothing() {
    let double = double();
    let tokens = double.issue_tokens();
    double.fail_next_on(CodexEndpoint::Refresh, CodexFault::ConnectionReset);
    let body = json!({
        "client_id": CODEX_CLIENT_ID,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token_of(&tokens),
    });
    assert!(
        Http::new()
            .post_json(&token_url(&double), &body, &[])
            .is_err()
    );
    let log = double.requests_to("/oauth/token");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, None);
    assert_eq!(log[0].grant_type.as_deref(), Some("refresh_token"));
}

// ---------------------------------------------------------------------------------------------
// Records, secrets, binary

#[test]
fn requests_are_recorded_without_secrets() {
    let double = double();
    let http = Http::new();
    let tokens = double.issue_tokens();
    refresh(&http, &double, refresh_token_of(&tokens));
    call_responses(&http, &double, &tokens.access_token, &responses_body("x"));
    let log = double.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].path, "/oauth/token");
    assert_eq!(log[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(log[0].status, Some(200));
    assert_eq!(log[1].path, "/backend-api/codex/responses");
    assert!(log[1].authorization);
    assert_eq!(log[1].chatgpt_account_id, Some(double.account_id()));
    let printed = format!("{log:?} {tokens:?}");
    assert!(!printed.contains(&tokens.access_token));
    assert!(!printed.contains(refresh_token_of(&tokens)));
    assert!(!printed.contains(&tokens.id_token));
}

#[test]
fn the_plugboard_double_binary_serves_openai_codex_at_the_printed_base_url() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_plugboard-double"))
        .args(["--service", "openai-codex", "--fault", "refresh=status:500"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut base = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("export OPENAI_CODEX_BASE_URL=") {
            base = Some(url.to_owned());
        }
        if line.starts_with("# Ctrl-C") {
            break;
        }
    }
    let answer = base.map(|base| {
        let body = json!({ "client_id": CODEX_CLIENT_ID, "grant_type": "refresh_token", "refresh_token": "rt_x" });
        Http::new().post_json(&format!("{base}/oauth/token"), &body, &[])
    });
    // Stop the child before any assertion can fail, so a failing test leaves no process behind.
    child.kill().unwrap();
    child.wait().unwrap();
    let answer = answer.expect("the export line").unwrap();
    assert_eq!(answer.status, 500);
}

#[test]
fn the_plugboard_double_binary_still_serves_openrouter() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_plugboard-double"))
        .args(["--service", "openrouter", "--fault", "status:418"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut base = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("export OPENROUTER_BASE_URL=") {
            base = Some(url.to_owned());
        }
        if line.starts_with("# Ctrl-C") {
            break;
        }
    }
    let answer = base.map(|base| {
        Http::new().post_json(&format!("{base}/auth/keys"), &json!({ "code": "c" }), &[])
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(answer.expect("the export line").unwrap().status, 418);
}

#[test]
fn the_plugboard_double_binary_refuses_bad_arguments_with_exit_2() {
    for args in [
        &["--port", "0"][..],
        &["--service", "gemini"],
        &["--service", "openai-codex", "--fault", "stream-cut"],
        &["--service", "openai-codex", "--fault", "token=reset"],
        &["--service", "openrouter", "--no-rotation"],
    ] {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard-double"))
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}");
    }
}
