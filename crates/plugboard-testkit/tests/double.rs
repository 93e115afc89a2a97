//! The OpenRouter double over real HTTP: the consent page, the code exchange, keys, chat, and
//! every fault, driven the way plugboard and a browser would drive them.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail the test loudly on setup errors"
)]

mod anthropic;
mod codex;
mod github;
mod ollama;
mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use plugboard_testkit::{
    CONSENT_TITLE, Endpoint, Fault, FollowError, MAX_REQUEST_BYTES, NO_CREDENTIALS,
    OPENROUTER_MODELS, OVERSIZED_BYTES, OpenRouterDouble, UNKNOWN_KEY, approve, approve_async,
    approve_in_background, deny, redirect_for,
};
use serde_json::{Value, json};

use support::{Answer, CALLBACK_PAGE, CHALLENGE, CallbackServer, Http, VERIFIER, query_param};

const STATE: &str = "state-123";

fn exchange_url(double: &OpenRouterDouble) -> String {
    format!("{}/auth/keys", double.api_base())
}

fn chat_url(double: &OpenRouterDouble) -> String {
    format!("{}/chat/completions", double.api_base())
}

/// Runs the consent with the scripted browser and returns the code it was redirected with.
fn obtain_code(double: &OpenRouterDouble, callback: &CallbackServer) -> String {
    let outcome = approve(&double.authorize_url(&callback.url(STATE), CHALLENGE)).unwrap();
    query_param(&outcome.callback_url, "code").unwrap()
}

fn exchange(http: &Http, double: &OpenRouterDouble, code: &str, verifier: &str) -> Answer {
    let body = json!({ "code": code, "code_verifier": verifier, "code_challenge_method": "S256" });
    http.post_json(&exchange_url(double), &body, &[]).unwrap()
}

fn chat(http: &Http, double: &OpenRouterDouble, key: Option<&str>, prompt: &str) -> Answer {
    let body = json!({
        "model": "openrouter/auto",
        "messages": [{ "role": "user", "content": prompt }],
    });
    let bearer = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("authorization", b)])
        .unwrap_or_default();
    http.post_json(&chat_url(double), &body, &headers).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The flow

#[test]
fn approving_then_exchanging_yields_a_key_that_works_for_key_info_and_chat() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    let http = Http::new();

    let outcome = approve(&double.authorize_url(&callback.url(STATE), CHALLENGE)).unwrap();
    assert_eq!(outcome.consent_status, 200);
    assert_eq!(outcome.callback_status, 200);
    assert_eq!(outcome.callback_body, CALLBACK_PAGE);
    assert_eq!(callback.seen().len(), 1, "the browser called back once");
    let code = query_param(&outcome.callback_url, "code").unwrap();

    let answer = exchange(&http, &double, &code, VERIFIER);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    let key = body["key"].as_str().unwrap();
    assert!(key.starts_with("sk-or-v1-") && key.len() == "sk-or-v1-".len() + 64);
    assert!(
        key["sk-or-v1-".len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
    );
    assert_eq!(body["user_id"], double.user_id());
    assert_eq!(double.issued_keys(), [key]);
    assert_eq!(double.exchanges(), 1);

    let info = http
        .get(&format!("{}/key", double.api_base()), Some(key))
        .unwrap();
    assert_eq!(info.status, 200);
    let data = &info.json()["data"];
    assert_eq!(
        data["label"],
        format!("sk-or-v1-...{}", &key[key.len() - 4..])
    );
    assert_eq!(data["limit"], Value::Null);
    assert_eq!(data["is_free_tier"], true);

    let reply = chat(&http, &double, Some(key), "Say it. Reply exactly: pong ");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let completion = reply.json();
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["model"], "openrouter/auto");
    assert!(completion["id"].as_str().unwrap().starts_with("gen-"));
    assert_eq!(completion["choices"][0]["message"]["role"], "assistant");
    assert_eq!(completion["choices"][0]["message"]["content"], "pong");
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
}

#[test]
fn the_approve_redirect_keeps_the_callbacks_state_and_adds_a_code() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    let redirect = redirect_for(&double.authorize_url(&callback.url(STATE), CHALLENGE)).unwrap();
    assert!(redirect.starts_with(&callback.url(STATE)), "{redirect}");
    assert_eq!(query_param(&redirect, "state").as_deref(), Some(STATE));
    assert!(query_param(&redirect, "code").is_some_and(|c| !c.is_empty()));
    assert!(
        callback.seen().is_empty(),
        "redirect_for must not call back"
    );
}

#[test]
fn every_approval_issues_a_different_code() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    assert_ne!(
        obtain_code(&double, &callback),
        obtain_code(&double, &callback)
    );
}

#[test]
fn a_code_is_single_use() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    let http = Http::new();
    let code = obtain_code(&double, &callback);

    assert_eq!(exchange(&http, &double, &code, VERIFIER).status, 200);
    let again = exchange(&http, &double, &code, VERIFIER);
    assert_eq!(again.status, 403);
    assert!(again.error_message().contains("already used"));
    assert_eq!(double.issued_keys().len(), 1);
}

#[test]
fn a_wrong_verifier_is_refused_and_burns_the_code() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    let http = Http::new();
    let code = obtain_code(&double, &callback);

    let wrong = exchange(&http, &double, &code, &"x".repeat(43));
    assert_eq!(wrong.status, 400);
    assert!(wrong.error_message().contains("code_verifier"));
    assert_eq!(
        exchange(&http, &double, &code, VERIFIER).status,
        403,
        "a code tried with the wrong verifier is spent"
    );
    assert!(double.issued_keys().is_empty());
}

#[test]
fn an_exchange_with_another_method_or_no_verifier_is_refused() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    let http = Http::new();

    let code = obtain_code(&double, &callback);
    let plain =
        json!({ "code": code, "code_verifier": VERIFIER, "code_challenge_method": "plain" });
    let answer = http.post_json(&exchange_url(&double), &plain, &[]).unwrap();
    assert_eq!(answer.status, 400);
    assert!(answer.error_message().contains("code_challenge_method"));

    let code = obtain_code(&double, &callback);
    let bare = json!({ "code": code, "code_challenge_method": "S256" });
    let answer = http.post_json(&exchange_url(&double), &bare, &[]).unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error_message(), "Missing code_verifier");
}

#[test]
fn an_unknown_code_is_forbidden_and_malformed_json_is_a_bad_request() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    assert_eq!(exchange(&http, &double, "nope", VERIFIER).status, 403);

    for body in ["{", "[]", "null", "{\"code\": 5}"] {
        let answer = http
            .post(&exchange_url(&double), "application/json", body, &[])
            .unwrap();
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.error_message(), "Invalid JSON body");
    }
    let answer = http
        .post_json(&exchange_url(&double), &json!({}), &[])
        .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error_message(), "Missing code");
}

#[test]
fn deny_redirects_with_access_denied_and_the_configured_description() {
    let hostile = "<script>alert('x')</script> & more";
    let double = OpenRouterDouble::builder()
        .deny_description(hostile)
        .start()
        .unwrap();
    let callback = CallbackServer::start();

    let outcome = deny(&double.authorize_url(&callback.url(STATE), CHALLENGE)).unwrap();
    assert_eq!(outcome.callback_status, 200);
    assert_eq!(
        query_param(&outcome.callback_url, "state").as_deref(),
        Some(STATE)
    );
    assert_eq!(
        query_param(&outcome.callback_url, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query_param(&outcome.callback_url, "error_description").as_deref(),
        Some(hostile)
    );
    assert!(query_param(&outcome.callback_url, "code").is_none());

    double.set_deny_description("changed");
    let outcome = deny(&double.authorize_url(&callback.url(STATE), CHALLENGE)).unwrap();
    assert_eq!(
        query_param(&outcome.callback_url, "error_description").as_deref(),
        Some("changed")
    );
}

#[test]
fn approve_in_background_completes_from_another_thread() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    let handle = approve_in_background(double.authorize_url(&callback.url(STATE), CHALLENGE));
    let outcome = handle.join().unwrap().unwrap();
    assert_eq!(outcome.callback_status, 200);
    assert_eq!(callback.seen().len(), 1);
}

#[test]
fn the_blocking_browser_refuses_to_run_inside_a_tokio_runtime() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    let url = double.authorize_url(&callback.url(STATE), CHALLENGE);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert!(matches!(approve(&url), Err(FollowError::InsideRuntime)));
        let outcome = approve_async(&url).await.unwrap();
        assert_eq!(outcome.callback_status, 200);
    });
}

// ---------------------------------------------------------------------------------------------
// The consent page

#[test]
fn the_consent_page_shows_authorize_and_deny_with_stable_ids() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let page = http
        .get(
            &double.authorize_url("http://localhost:3000/cb?state=s", CHALLENGE),
            None,
        )
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text();
    assert!(html.contains(&format!("<title>{CONSENT_TITLE}</title>")));
    assert!(html.contains(r#"<form id="approve-form" method="post" action="/auth/approve">"#));
    assert!(html.contains(r#"<button type="submit" id="authorize">Authorize</button>"#));
    assert!(html.contains(r#"<form id="deny-form" method="post" action="/auth/deny">"#));
    assert!(html.contains(r#"<button type="submit" id="deny">Deny</button>"#));
    assert!(html.contains(&format!(r#"name="code_challenge" value="{CHALLENGE}""#)));
}

#[test]
fn a_challenge_method_other_than_s256_is_refused() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let callback = "http%3A%2F%2F127.0.0.1%3A1%2Fcb";
    for method in [
        "&code_challenge_method=plain",
        "&code_challenge_method=s256",
        "",
    ] {
        let url = format!(
            "{}/auth?callback_url={callback}&code_challenge={CHALLENGE}{method}",
            double.origin()
        );
        let page = http.get(&url, None).unwrap();
        assert_eq!(page.status, 400, "{method:?} accepted");
        assert!(page.text().contains("code_challenge_method must be S256"));
    }
}

#[test]
fn the_consent_page_refuses_a_missing_or_malformed_challenge() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    for challenge in ["", "short", &"!".repeat(43)] {
        let url = double.authorize_url("http://127.0.0.1:1/cb", challenge);
        assert_eq!(http.get(&url, None).unwrap().status, 400, "{challenge:?}");
    }
}

#[test]
fn the_consent_page_refuses_a_callback_off_loopback() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    for callback in [
        "https://example.com/cb",
        "http://192.168.1.10:3000/cb",
        "/openrouter-oauth/callback",
        "javascript:alert(1)",
    ] {
        let page = http
            .get(&double.authorize_url(callback, CHALLENGE), None)
            .unwrap();
        assert_eq!(page.status, 400, "{callback} accepted");
        assert!(!page.text().contains("id=\"authorize\""));
    }
    let missing = format!(
        "{}/auth?code_challenge={CHALLENGE}&code_challenge_method=S256",
        double.origin()
    );
    let page = http.get(&missing, None).unwrap();
    assert_eq!(page.status, 400);
    assert!(page.text().contains("callback_url is required"));
}

#[test]
fn a_forged_approve_form_is_checked_like_the_consent_page() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let answer = http
        .post_form(
            &format!("{}/auth/approve", double.origin()),
            &[
                ("callback_url", "https://attacker.example/steal"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        )
        .unwrap();
    assert_eq!(answer.status, 400);
    assert!(!answer.headers.contains_key("location"));
}

#[test]
fn the_scripted_browser_reports_a_refused_consent_page() {
    let double = OpenRouterDouble::start().unwrap();
    let error = approve(&double.authorize_url("https://example.com/cb", CHALLENGE)).unwrap_err();
    assert!(
        matches!(error, FollowError::ConsentRefused { status: 400, .. }),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Keys and chat

#[test]
fn an_issued_key_works_without_the_oauth_dance_until_revoked() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let key = double.issue_key();
    assert!(double.is_valid_key(&key));
    let reply = chat(&http, &double, Some(&key), "hello there");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["choices"][0]["message"]["content"],
        "double reply to: hello there"
    );

    assert!(double.revoke_key(&key));
    let refused = chat(&http, &double, Some(&key), "hello");
    assert_eq!(refused.status, 401);
    assert_eq!(refused.error_message(), UNKNOWN_KEY);
}

#[test]
fn chat_without_a_key_or_with_an_unknown_key_is_unauthorized() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();

    let none = chat(&http, &double, None, "hi");
    assert_eq!(none.status, 401);
    assert_eq!(none.error_message(), NO_CREDENTIALS);

    let unknown = chat(
        &http,
        &double,
        Some(&format!("sk-or-v1-{}", "0".repeat(64))),
        "hi",
    );
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.error_message(), UNKNOWN_KEY);

    let info = http
        .get(&format!("{}/key", double.api_base()), Some("garbage"))
        .unwrap();
    assert_eq!(info.status, 401);
}

#[test]
fn the_key_lookup_describes_an_issued_key_and_refuses_it_once_revoked() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let key = double.issue_key();
    let url = format!("{}/key", double.api_base());
    let info = http.get(&url, Some(&key)).unwrap();
    assert_eq!(info.status, 200);
    assert!(info.json()["data"].is_object());
    // The older spelling answers the same.
    let old = http
        .get(&format!("{}/auth/key", double.api_base()), Some(&key))
        .unwrap();
    assert_eq!(old.json(), info.json());

    assert!(double.revoke_key(&key));
    let revoked = http.get(&url, Some(&key)).unwrap();
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.error_message(), UNKNOWN_KEY);
    let none = http.get(&url, None).unwrap();
    assert_eq!(none.status, 401);
    assert_eq!(none.error_message(), NO_CREDENTIALS);
}

fn models_url(double: &OpenRouterDouble) -> String {
    format!("{}/models", double.api_base())
}

#[test]
fn the_model_list_is_in_openrouters_shape_with_free_variants() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let key = double.issue_key();
    for bearer in [None, Some(key.as_str())] {
        let reply = http.get(&models_url(&double), bearer).unwrap();
        assert_eq!(reply.status, 200, "{bearer:?}: {}", reply.text());
        let body = reply.json();
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), OPENROUTER_MODELS.len());
        for (entry, model) in data.iter().zip(OPENROUTER_MODELS) {
            assert_eq!(entry["id"], model.id);
            assert_eq!(entry["name"], model.name);
            assert_eq!(entry["pricing"]["prompt"], model.prompt_price);
            assert_eq!(entry["pricing"]["completion"], model.completion_price);
            for field in ["canonical_slug", "description"] {
                assert!(entry[field].is_string(), "{field}: {entry}");
            }
            for field in ["created", "context_length"] {
                assert!(entry[field].is_u64(), "{field}: {entry}");
            }
            assert!(entry["architecture"].is_object() && entry["top_provider"].is_object());
        }
    }
    let free = OPENROUTER_MODELS
        .iter()
        .filter(|m| m.id.ends_with(":free"))
        .count();
    assert!(free >= 1, "at least one :free variant");
    assert!(
        OPENROUTER_MODELS.iter().any(|m| !m.id.ends_with(":free")
            && m.prompt_price == "0"
            && m.completion_price == "0"),
        "a model free by its prices alone"
    );
}

#[test]
fn the_model_list_answers_alike_whatever_key_is_sent_as_openrouters_does() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let key = double.issue_key();
    let listed = http.get(&models_url(&double), None).unwrap().json();
    assert!(double.revoke_key(&key));
    // OpenRouter's list is public and it does not check a key sent with it: an unknown or a
    // revoked key gets the same list as none.
    for bearer in ["sk-or-v1-unknown", key.as_str()] {
        let reply = http.get(&models_url(&double), Some(bearer)).unwrap();
        assert_eq!(reply.status, 200, "{bearer}: {}", reply.text());
        assert_eq!(reply.json(), listed, "{bearer}");
    }
    // The key endpoint is where a revoked key shows.
    let info = http
        .get(&format!("{}/key", double.api_base()), Some(&key))
        .unwrap();
    assert_eq!(info.status, 401);
    assert_eq!(info.error_message(), UNKNOWN_KEY);
    assert_eq!(
        http.post_json(&models_url(&double), &json!({}), &[])
            .unwrap()
            .status,
        405
    );
    let statuses: Vec<Option<u16>> = double
        .requests_to("/api/v1/models")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(200), Some(200), Some(200), Some(405)]);
}

#[test]
fn faults_on_the_model_list_answer_there_only() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let key = double.issue_key();
    let list = || http.get(&models_url(&double), Some(&key)).unwrap();

    double.set_fault_on(Endpoint::Models, Some(Fault::MissingKey));
    assert_eq!(list().json(), json!({}));
    double.set_fault_on(Endpoint::Models, Some(Fault::EmptyKey));
    assert_eq!(list().json(), json!({"data": []}));
    double.set_fault_on(Endpoint::Models, Some(Fault::ReusedCode));
    assert_eq!(list().status, 401);
    double.set_fault_on(Endpoint::Models, Some(Fault::Status(502)));
    let failed = list();
    assert_eq!(failed.status, 502);
    failed.error_message();
    // The key lookup and chat are untouched by a fault on the list.
    let info = http
        .get(&format!("{}/key", double.api_base()), Some(&key))
        .unwrap();
    assert_eq!(info.status, 200);
    double.set_fault_on(Endpoint::Models, None);
    assert_eq!(list().status, 200);
    double.fail_next_on(Endpoint::Models, Fault::NotJson);
    assert!(list().text().starts_with("<!doctype html>"));
    assert_eq!(list().status, 200);
}

#[test]
fn chat_without_model_or_messages_is_a_bad_request() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let bearer = format!("Bearer {}", double.issue_key());
    let auth = [("authorization", bearer.as_str())];
    let no_model = json!({ "messages": [{ "role": "user", "content": "hi" }] });
    let answer = http
        .post_json(&chat_url(&double), &no_model, &auth)
        .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error_message(), "Missing model");

    let no_messages = json!({ "model": "m", "messages": [] });
    let answer = http
        .post_json(&chat_url(&double), &no_messages, &auth)
        .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error_message(), "Missing messages");
}

#[test]
fn chat_records_the_attribution_headers_it_received() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let bearer = format!("Bearer {}", double.issue_key());
    let body = json!({ "model": "m", "messages": [{ "role": "user", "content": "hi" }] });
    let headers = [
        ("authorization", bearer.as_str()),
        ("http-referer", "https://github.com/plugboard"),
        ("x-title", "plugboard"),
    ];
    assert_eq!(
        http.post_json(&chat_url(&double), &body, &headers)
            .unwrap()
            .status,
        200
    );
    let requests = double.requests_to("/api/v1/chat/completions");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].status, Some(200));
    assert_eq!(
        requests[0].http_referer.as_deref(),
        Some("https://github.com/plugboard")
    );
    assert_eq!(requests[0].x_title.as_deref(), Some("plugboard"));
}

// ---------------------------------------------------------------------------------------------
// Faults

#[test]
fn service_unavailable_once_fails_one_exchange_then_answers_normally() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    let http = Http::new();
    let code = obtain_code(&double, &callback);

    double.set_fault(Some(Fault::ServiceUnavailableOnce));
    let first = exchange(&http, &double, &code, VERIFIER);
    assert_eq!(first.status, 503);
    first.error_message();
    assert_eq!(
        double.current_fault(Endpoint::Exchange),
        None,
        "cleared itself"
    );
    assert_eq!(
        exchange(&http, &double, &code, VERIFIER).status,
        200,
        "the fault left the code unspent"
    );
}

#[test]
fn a_status_fault_persists_until_cleared() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    double.set_fault(Some(Fault::Status(500)));
    for _ in 0..2 {
        let answer = exchange(&http, &double, "any", VERIFIER);
        assert_eq!(answer.status, 500);
        assert!(answer.error_message().contains("Internal Server Error"));
    }
    double.set_fault(None);
    assert_eq!(exchange(&http, &double, "any", VERIFIER).status, 403);
}

#[test]
fn fail_next_applies_any_fault_once() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    double.fail_next(Fault::Status(502));
    assert_eq!(exchange(&http, &double, "any", VERIFIER).status, 502);
    assert_eq!(exchange(&http, &double, "any", VERIFIER).status, 403);
}

#[test]
fn connection_reset_ends_the_exchange_without_a_response() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    double.set_fault(Some(Fault::ConnectionReset));
    let body = json!({ "code": "c", "code_verifier": VERIFIER, "code_challenge_method": "S256" });
    let error = http
        .post_json(&exchange_url(&double), &body, &[])
        .err()
        .expect("a reset connection is an error, not an answer");
    assert!(error.status().is_none() && !error.is_timeout(), "{error:?}");
    assert_eq!(double.requests_to("/api/v1/auth/keys")[0].status, None);
}

#[test]
fn connection_reset_sends_a_tcp_reset() {
    let double = OpenRouterDouble::builder()
        .fault_on(Endpoint::Exchange, Fault::ConnectionReset)
        .start()
        .unwrap();
    let mut stream = TcpStream::connect(double.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"POST /api/v1/auth/keys HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
        .unwrap();
    let mut buf = [0u8; 64];
    let read = stream.read(&mut buf);
    assert!(
        matches!(&read, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{read:?}"
    );
}

#[test]
fn oversized_answers_more_than_a_mebibyte_without_announcing_its_length() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    double.set_fault(Some(Fault::Oversized));
    let answer = exchange(&http, &double, "any", VERIFIER);
    assert_eq!(answer.status, 200);
    assert!(!answer.headers.contains_key("content-length"));
    assert!(answer.body.len() > 1024 * 1024);
    assert!(answer.body.len() >= OVERSIZED_BYTES);
    assert!(
        answer.json()["key"]
            .as_str()
            .unwrap()
            .starts_with("sk-or-v1-")
    );
}

#[test]
fn slow_delays_the_answer_by_at_least_the_configured_time() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let delay = Duration::from_millis(300);
    double.set_fault(Some(Fault::Slow(delay)));
    let started = Instant::now();
    let answer = exchange(&http, &double, "any", VERIFIER);
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    assert_eq!(answer.status, 403, "after the delay the normal answer");
}

#[test]
fn slow_trips_a_shorter_client_timeout() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::with_timeout(Duration::from_millis(100));
    double.set_fault(Some(Fault::Slow(Duration::from_secs(30))));
    let body = json!({ "code": "c" });
    let error = http
        .post_json(&exchange_url(&double), &body, &[])
        .err()
        .expect("the client gives up first");
    assert!(error.is_timeout(), "{error:?}");
}

#[test]
fn not_json_answers_an_html_page_with_status_200() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    double.set_fault(Some(Fault::NotJson));
    let answer = exchange(&http, &double, "any", VERIFIER);
    assert_eq!(answer.status, 200);
    assert!(serde_json::from_slice::<Value>(&answer.body).is_err());
    assert!(answer.text().contains("<html"));
}

#[test]
fn missing_key_and_empty_key_answer_200_without_a_usable_key() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();

    double.set_fault(Some(Fault::MissingKey));
    let missing = exchange(&http, &double, "any", VERIFIER);
    assert_eq!(missing.status, 200);
    assert!(missing.json().get("key").is_none());
    assert_eq!(missing.json()["user_id"], double.user_id());

    double.set_fault(Some(Fault::EmptyKey));
    let empty = exchange(&http, &double, "any", VERIFIER);
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json()["key"], "");
    assert!(double.issued_keys().is_empty());
}

#[test]
fn reused_code_refuses_a_fresh_code_without_spending_it() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    let http = Http::new();
    let code = obtain_code(&double, &callback);

    double.fail_next(Fault::ReusedCode);
    let refused = exchange(&http, &double, &code, VERIFIER);
    assert_eq!(refused.status, 403);
    assert!(refused.error_message().contains("already used"));
    assert_eq!(exchange(&http, &double, &code, VERIFIER).status, 200);
}

#[test]
fn faults_on_chat_leave_the_exchange_alone() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let key = double.issue_key();
    double.set_fault_on(Endpoint::Chat, Some(Fault::Status(429)));
    assert_eq!(chat(&http, &double, Some(&key), "hi").status, 429);
    assert_eq!(exchange(&http, &double, "any", VERIFIER).status, 403);

    double.set_fault_on(Endpoint::Chat, Some(Fault::EmptyKey));
    let empty = chat(&http, &double, Some(&key), "Reply exactly: x");
    assert_eq!(empty.json()["choices"][0]["message"]["content"], "");

    double.set_fault_on(Endpoint::Chat, Some(Fault::MissingKey));
    assert!(
        chat(&http, &double, Some(&key), "hi")
            .json()
            .get("choices")
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// Robustness and lifecycle

#[test]
fn request_bodies_over_the_limit_are_refused_with_413() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let big = vec![b'{'; MAX_REQUEST_BYTES + 1];
    let answer = http
        .post(&exchange_url(&double), "application/json", big, &[])
        .unwrap();
    assert_eq!(answer.status, 413);
    assert_eq!(double.exchanges(), 1);
}

#[test]
fn garbage_on_the_socket_leaves_the_double_serving() {
    let double = OpenRouterDouble::start().unwrap();
    let mut stream = TcpStream::connect(double.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"\x00\x01\x02 not http\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    // hyper answers 400 or just closes; either way the read ends.
    let _ = stream.read_to_end(&mut answer);

    let http = Http::new();
    assert_eq!(exchange(&http, &double, "any", VERIFIER).status, 403);
}

#[test]
fn unknown_paths_answer_404_and_wrong_methods_405() {
    let double = OpenRouterDouble::start().unwrap();
    let http = Http::new();
    let missing = http
        .get(&format!("{}/api/v1/nothing", double.origin()), None)
        .unwrap();
    assert_eq!(missing.status, 404);
    missing.error_message();
    assert_eq!(http.get(&exchange_url(&double), None).unwrap().status, 405);
    assert_eq!(
        http.get(&format!("{}/", double.origin()), None)
            .unwrap()
            .status,
        200
    );
}

#[test]
fn the_double_stops_listening_when_shut_down() {
    let double = OpenRouterDouble::start().unwrap();
    let addr = double.addr();
    assert!(double.origin().ends_with(&addr.port().to_string()));
    assert_eq!(double.api_base(), format!("http://{addr}/api/v1"));
    TcpStream::connect(addr).unwrap();
    double.shutdown().unwrap();
    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn the_request_log_keeps_method_path_and_status() {
    let double = OpenRouterDouble::start().unwrap();
    let callback = CallbackServer::start();
    obtain_code(&double, &callback);
    let log: Vec<(String, String, Option<u16>)> = double
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect();
    assert_eq!(
        log,
        [
            ("GET".into(), "/auth".into(), Some(200)),
            ("POST".into(), "/auth/approve".into(), Some(302)),
        ]
    );
}

#[test]
fn the_binary_prints_a_base_url_that_serves_and_honours_its_fault() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_openrouter-double"))
        .args(["--port", "0", "--fault", "status:500"])
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
    // Stop the child before any assertion can fail, so a failing test leaves no process behind.
    child.kill().unwrap();
    child.wait().unwrap();
    let answer = answer.expect("the export line").unwrap();
    assert_eq!(answer.status, 500);
}

#[test]
fn the_binary_refuses_unknown_arguments_with_exit_2() {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_openrouter-double"))
        .args(["--fault", "explode"])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}
