//! The Anthropic double over real HTTP: messages and models with issued keys, the header and
//! body checks, Anthropic's error shape, and every fault.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plugboard_testkit::{
    ANTHROPIC_INVALID_KEY, ANTHROPIC_KEY_PREFIX, ANTHROPIC_MAX_REQUEST_BYTES,
    ANTHROPIC_MISSING_KEY, ANTHROPIC_MODELS, ANTHROPIC_REPLY_PREFIX, ANTHROPIC_VERSION,
    AnthropicDouble, AnthropicFault, AnthropicRecord,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const MODEL: &str = "claude-sonnet-5-5";

/// An answer, read whole.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `(error.type, error.message)` of Anthropic's error shape, after checking the shape and
    /// that `request_id` is the `request-id` header.
    fn error(&self) -> (String, String) {
        let body = self.json();
        assert_eq!(body["type"], "error", "{body}");
        assert_eq!(
            body["request_id"].as_str(),
            self.header("request-id"),
            "{body}"
        );
        (
            body["error"]["type"].as_str().unwrap().to_owned(),
            body["error"]["message"].as_str().unwrap().to_owned(),
        )
    }
}

/// A blocking client: a runtime of its own around reqwest, plain http only.
struct Client {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Client {
    fn new() -> Self {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Self { runtime, client }
    }

    fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self.client.request(method, url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        self.runtime.block_on(async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes().await?.to_vec();
            Ok(Reply {
                status,
                headers,
                body,
            })
        })
    }

    /// `POST /v1/messages` with the headers Anthropic documents and `body`.
    fn message(&self, double: &AnthropicDouble, key: &str, body: &Value) -> Reply {
        self.message_with(double, &standard_headers(key), &body.to_string())
            .unwrap()
    }

    fn message_with(
        &self,
        double: &AnthropicDouble,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Reply, reqwest::Error> {
        let url = format!("{}/v1/messages", double.origin());
        self.send(reqwest::Method::POST, &url, headers, Some(body.to_owned()))
    }
}

fn standard_headers(key: &str) -> Vec<(&str, &str)> {
    vec![
        ("x-api-key", key),
        ("anthropic-version", ANTHROPIC_VERSION),
        ("content-type", "application/json"),
    ]
}

fn ask(prompt: &str) -> Value {
    json!({
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": prompt}],
    })
}

fn reply_text(body: &Value) -> String {
    body["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            assert_eq!(b["type"], "text");
            b["text"].as_str().unwrap()
        })
        .collect()
}

#[test]
fn a_message_with_an_issued_key_is_answered_with_text_blocks_as_anthropic_shapes_them() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    assert!(key.starts_with(ANTHROPIC_KEY_PREFIX), "{key}");
    let client = Client::new();

    let reply = client.message(&double, &key, &ask("say hello"));
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.header("request-id").unwrap().starts_with("req_"));
    let body = reply.json();
    assert!(body["id"].as_str().unwrap().starts_with("msg_"), "{body}");
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["content"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(
        reply_text(&body),
        format!("{ANTHROPIC_REPLY_PREFIX} say hello")
    );
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 2, "output_tokens": 3})
    );

    assert_eq!(
        double.requests(),
        [AnthropicRecord {
            method: "POST".to_owned(),
            path: "/v1/messages".to_owned(),
            status: 200,
            key_tail: Some(key[key.len() - 4..].to_owned()),
            anthropic_version: Some(ANTHROPIC_VERSION.to_owned()),
            model: Some(MODEL.to_owned()),
        }]
    );
}

#[test]
fn a_reply_longer_than_max_tokens_is_cut_and_says_so() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    let mut request = ask("one two three four");
    request["max_tokens"] = json!(3);
    let body = Client::new().message(&double, &key, &request).json();
    assert_eq!(body["stop_reason"], "max_tokens");
    assert_eq!(
        reply_text(&body),
        format!("{ANTHROPIC_REPLY_PREFIX} one two")
    );
}

#[test]
fn a_missing_unknown_or_revoked_key_is_an_authentication_error() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    let client = Client::new();
    let without_key = [
        ("anthropic-version", ANTHROPIC_VERSION),
        ("content-type", "application/json"),
    ];
    let reply = client
        .message_with(&double, &without_key, &ask("hi").to_string())
        .unwrap();
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.error(),
        (
            "authentication_error".to_owned(),
            ANTHROPIC_MISSING_KEY.to_owned()
        )
    );

    let unknown = format!("{ANTHROPIC_KEY_PREFIX}not-issued");
    for attempt in [unknown.as_str(), key.as_str()] {
        if attempt == key {
            assert!(double.revoke_key(&key));
            assert!(!double.revoke_key(&key), "already revoked");
        }
        let reply = client.message(&double, attempt, &ask("hi"));
        assert_eq!(reply.status, 401);
        assert_eq!(
            reply.error(),
            (
                "authentication_error".to_owned(),
                ANTHROPIC_INVALID_KEY.to_owned()
            )
        );
    }
    assert!(!double.is_valid_key(&key));
    assert_eq!(double.issued_keys(), [key]);
}

#[test]
fn the_version_header_content_type_and_body_fields_are_checked() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    let client = Client::new();
    let with_version = |version: &'static str| {
        vec![
            ("x-api-key", key.as_str()),
            ("anthropic-version", version),
            ("content-type", "application/json"),
        ]
    };
    let no_version = vec![
        ("x-api-key", key.as_str()),
        ("content-type", "application/json"),
    ];
    let as_text = vec![
        ("x-api-key", key.as_str()),
        ("anthropic-version", ANTHROPIC_VERSION),
        ("content-type", "text/plain"),
    ];
    let good = ask("hi").to_string();
    // Headers, body, and the status, error type and message expected.
    type Case<'a> = (Vec<(&'a str, &'a str)>, String, u16, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (no_version, good.clone(), 400, "invalid_request_error", "anthropic-version: header is required"),
        (
            with_version("2020-01-01"),
            good.clone(),
            400,
            "invalid_request_error",
            "anthropic-version: the double knows only 2023-06-01",
        ),
        (as_text, good.clone(), 400, "invalid_request_error", "content-type: must be application/json"),
        (
            standard_headers(&key),
            "{not json".to_owned(),
            400,
            "invalid_request_error",
            "The request body is not valid JSON.",
        ),
        (
            standard_headers(&key),
            json!({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}).to_string(),
            400,
            "invalid_request_error",
            "model: Field required",
        ),
        (
            standard_headers(&key),
            json!({"model": MODEL, "messages": [{"role": "user", "content": "x"}]}).to_string(),
            400,
            "invalid_request_error",
            "max_tokens: Field required",
        ),
        (
            standard_headers(&key),
            json!({"model": MODEL, "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}).to_string(),
            400,
            "invalid_request_error",
            "max_tokens: Input should be greater than or equal to 1",
        ),
        (
            standard_headers(&key),
            json!({"model": MODEL, "max_tokens": 5}).to_string(),
            400,
            "invalid_request_error",
            "messages: Field required",
        ),
        (
            standard_headers(&key),
            json!({"model": MODEL, "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}).to_string(),
            400,
            "invalid_request_error",
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (
            standard_headers(&key),
            json!({"model": "claude-unknown", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}).to_string(),
            404,
            "not_found_error",
            "model: claude-unknown",
        ),
    ];
    for (headers, body, status, kind, message) in cases {
        let reply = client.message_with(&double, &headers, &body).unwrap();
        assert_eq!(reply.status, status, "{message}");
        assert_eq!(reply.error(), (kind.to_owned(), message.to_owned()));
    }
}

#[test]
fn a_request_body_over_the_limit_is_request_too_large() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    let big = ask(&"x".repeat(ANTHROPIC_MAX_REQUEST_BYTES + 1)).to_string();
    let reply = Client::new()
        .message_with(&double, &standard_headers(&key), &big)
        .unwrap();
    assert_eq!(reply.status, 413);
    assert_eq!(reply.error().0, "request_too_large");
}

#[test]
fn models_lists_the_known_models_in_anthropics_list_shape() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    let client = Client::new();
    let url = format!("{}/v1/models", double.origin());
    let headers = [
        ("x-api-key", key.as_str()),
        ("anthropic-version", ANTHROPIC_VERSION),
    ];
    let reply = client
        .send(reqwest::Method::GET, &url, &headers, None)
        .unwrap();
    assert_eq!(reply.status, 200);
    let body = reply.json();
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["type"], "model");
            assert!(m["display_name"].is_string() && m["created_at"].is_string());
            m["id"].as_str().unwrap()
        })
        .collect();
    let want: Vec<&str> = ANTHROPIC_MODELS.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, want);
    assert_eq!(body["has_more"], false);
    assert_eq!(body["first_id"], want[0]);
    assert_eq!(body["last_id"], want[want.len() - 1]);

    let reply = client
        .send(
            reqwest::Method::GET,
            &url,
            &[("anthropic-version", ANTHROPIC_VERSION)],
            None,
        )
        .unwrap();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error().0, "authentication_error");
}

#[test]
fn models_come_in_pages_by_limit_and_cursor() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    let client = Client::new();
    let headers = [
        ("x-api-key", key.as_str()),
        ("anthropic-version", ANTHROPIC_VERSION),
    ];
    let get = |query: &str| {
        let url = format!("{}/v1/models?{query}", double.origin());
        client
            .send(reqwest::Method::GET, &url, &headers, None)
            .unwrap()
    };
    let ids = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all: Vec<&str> = ANTHROPIC_MODELS.iter().map(|(id, _)| *id).collect();

    // Walking forwards one model at a time, as a client following `has_more` does.
    let mut seen = Vec::new();
    let mut query = "limit=1".to_owned();
    loop {
        let reply = get(&query);
        assert_eq!(reply.status, 200, "{query}");
        let body = reply.json();
        let page = ids(&body);
        assert_eq!(page.len(), 1, "{body}");
        assert_eq!(body["first_id"], page[0].as_str());
        assert_eq!(body["last_id"], page[0].as_str());
        seen.extend(page);
        if body["has_more"] == false {
            break;
        }
        query = format!("limit=1&after_id={}", body["last_id"].as_str().unwrap());
    }
    assert_eq!(seen, all);

    // Backwards from the last model.
    let body = get(&format!("limit=1&before_id={}", all[all.len() - 1])).json();
    assert_eq!(ids(&body), [all[all.len() - 2]]);
    assert_eq!(body["has_more"], true);

    // Past the end: an empty page, with nothing more and no ids.
    let body = get(&format!("after_id={}", all[all.len() - 1])).json();
    assert_eq!(body["data"], json!([]));
    assert_eq!(body["has_more"], false);
    assert_eq!(body["first_id"], Value::Null);
    assert_eq!(body["last_id"], Value::Null);

    // A limit out of range or an unknown cursor is an invalid request.
    for query in ["limit=0", "limit=1001", "after_id=claude-nope"] {
        let reply = get(query);
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.error().0, "invalid_request_error", "{query}");
    }
}

#[test]
fn models_check_the_key_and_the_version_like_messages() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    let client = Client::new();
    let url = format!("{}/v1/models?limit=1", double.origin());
    /// The headers sent, and the status, error type and message answered.
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, &'a str);
    let cases: [Case; 3] = [
        (
            vec![
                ("x-api-key", "sk-ant-api03-unknown"),
                ("anthropic-version", ANTHROPIC_VERSION),
            ],
            401,
            "authentication_error",
            ANTHROPIC_INVALID_KEY,
        ),
        (
            vec![("x-api-key", key.as_str())],
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ),
        (
            vec![
                ("x-api-key", key.as_str()),
                ("anthropic-version", "2020-01-01"),
            ],
            400,
            "invalid_request_error",
            "anthropic-version: the double knows only 2023-06-01",
        ),
    ];
    for (headers, status, kind, message) in cases {
        let reply = client
            .send(reqwest::Method::GET, &url, &headers, None)
            .unwrap();
        assert_eq!(reply.status, status, "{headers:?}");
        assert_eq!(reply.error(), (kind.to_owned(), message.to_owned()));
    }
    assert!(double.revoke_key(&key));
    let reply = client
        .send(
            reqwest::Method::GET,
            &url,
            &[
                ("x-api-key", key.as_str()),
                ("anthropic-version", ANTHROPIC_VERSION),
            ],
            None,
        )
        .unwrap();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error().0, "authentication_error");
    let records = double.requests_to("/v1/models");
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r.method == "GET"));
}

#[test]
fn other_paths_are_not_found_and_other_methods_not_allowed() {
    let double = AnthropicDouble::start().unwrap();
    let client = Client::new();
    let reply = client
        .send(
            reqwest::Method::GET,
            &format!("{}/v1/complete", double.origin()),
            &[],
            None,
        )
        .unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error().0, "not_found_error");
    let reply = client
        .send(
            reqwest::Method::GET,
            &format!("{}/v1/messages", double.origin()),
            &[],
            None,
        )
        .unwrap();
    assert_eq!(reply.status, 405);
    assert_eq!(reply.error().0, "invalid_request_error");
}

#[test]
fn each_status_fault_answers_in_anthropics_shape_whatever_the_key() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    let client = Client::new();
    let cases = [
        (AnthropicFault::RejectEveryKey, 401, "authentication_error"),
        (
            AnthropicFault::RateLimited {
                retry_after_secs: 7,
            },
            429,
            "rate_limit_error",
        ),
        (AnthropicFault::Overloaded, 529, "overloaded_error"),
        (AnthropicFault::ServerError, 500, "api_error"),
    ];
    for (fault, status, kind) in cases {
        double.set_fault(Some(fault));
        assert_eq!(double.current_fault(), Some(fault));
        for _ in 0..2 {
            let reply = client.message(&double, &key, &ask("hi"));
            assert_eq!(reply.status, status, "{fault:?} persists until cleared");
            assert_eq!(reply.error().0, kind);
            let retry_after = reply.header("retry-after");
            assert_eq!(retry_after, (status == 429).then_some("7"), "{fault:?}");
        }
    }
    double.set_fault(None);
    assert_eq!(client.message(&double, &key, &ask("hi")).status, 200);
}

#[test]
fn fail_next_applies_a_fault_to_one_request_only() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    let client = Client::new();
    double.fail_next(AnthropicFault::Overloaded);
    assert_eq!(client.message(&double, &key, &ask("hi")).status, 529);
    assert_eq!(double.current_fault(), None);
    assert_eq!(client.message(&double, &key, &ask("hi")).status, 200);
    let statuses: Vec<u16> = double
        .requests_to("/v1/messages")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [529, 200]);
}

#[test]
fn a_cut_body_announces_the_whole_length_and_ends_early() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    double.fail_next(AnthropicFault::CutBody);
    let client = Client::new();
    let error = client
        .message_with(&double, &standard_headers(&key), &ask("hi").to_string())
        .err()
        .expect("reading a cut body fails");
    assert!(
        error.is_body() || error.is_decode() || error.is_request(),
        "{error:?}"
    );
    assert_eq!(client.message(&double, &key, &ask("hi")).status, 200);
}

#[test]
fn slow_delays_the_normal_answer() {
    let double = AnthropicDouble::start().unwrap();
    let key = double.issue_key();
    let delay = Duration::from_millis(300);
    double.fail_next(AnthropicFault::Slow(delay));
    let started = Instant::now();
    let reply = Client::new().message(&double, &key, &ask("hi"));
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
}
