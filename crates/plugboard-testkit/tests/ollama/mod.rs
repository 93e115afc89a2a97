//! The Ollama double over real HTTP: version, tags and chat as Ollama shapes them, the body
//! checks, Ollama's error shape, every fault, and a stopped double that no longer answers.

use std::net::TcpStream;

use plugboard_testkit::{
    OLLAMA_MAX_REQUEST_BYTES, OLLAMA_MODELS, OLLAMA_REPLY_PREFIX, OLLAMA_VERSION, OllamaDouble,
    OllamaFault, OllamaRecord,
};
use serde_json::{Value, json};

use crate::support::{Answer, Http};

fn chat_body(model: &str, prompt: &str) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": false,
    })
}

fn chat(http: &Http, double: &OllamaDouble, body: &Value) -> Answer {
    http.post_json(&format!("{}/api/chat", double.origin()), body, &[])
        .unwrap()
}

/// `error` of Ollama's error shape, after checking that it is the whole body.
fn ollama_error(answer: &Answer) -> String {
    let body = answer.json();
    let object = body.as_object().unwrap();
    assert_eq!(object.len(), 1, "{body}");
    body["error"].as_str().unwrap().to_owned()
}

#[test]
fn the_version_and_the_local_models_are_answered_as_ollama_shapes_them() {
    let double = OllamaDouble::start().unwrap();
    let http = Http::new();

    let version = http
        .get(&format!("{}/api/version", double.origin()), None)
        .unwrap();
    assert_eq!(version.status, 200);
    assert_eq!(version.json(), json!({ "version": OLLAMA_VERSION }));

    let tags = http
        .get(&format!("{}/api/tags", double.origin()), None)
        .unwrap();
    assert_eq!(tags.status, 200);
    let body = tags.json();
    let models = body["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, OLLAMA_MODELS);
    for model in models {
        assert_eq!(model["model"], model["name"], "{model}");
        assert_eq!(model["digest"].as_str().unwrap().len(), 64, "{model}");
        assert!(model["size"].is_u64(), "{model}");
        assert_eq!(model["details"]["format"], "gguf", "{model}");
    }

    let root = http.get(&format!("{}/", double.origin()), None).unwrap();
    assert_eq!(
        (root.status, root.text().as_str()),
        (200, "Ollama is running")
    );
}

#[test]
fn a_chat_without_streaming_echoes_the_last_user_message_and_sends_no_credentials_back() {
    let double = OllamaDouble::start().unwrap();
    let http = Http::new();
    let answer = chat(&http, &double, &chat_body("llama3.2", "say hello"));
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.headers.get("content-type").unwrap(),
        "application/json; charset=utf-8"
    );
    let body = answer.json();
    assert_eq!(body["model"], "llama3.2");
    assert_eq!(body["done"], true);
    assert_eq!(body["done_reason"], "stop");
    assert_eq!(body["message"]["role"], "assistant");
    assert_eq!(
        body["message"]["content"],
        format!("{OLLAMA_REPLY_PREFIX} say hello")
    );
    assert_eq!(
        double.requests(),
        [OllamaRecord {
            method: "POST".to_owned(),
            path: "/api/chat".to_owned(),
            status: 200,
            model: Some("llama3.2".to_owned()),
            stream: Some(false),
            authorization: false,
        }]
    );

    // An empty prompt still gets the prefix; a full tag and an Authorization header are fine,
    // and the log says the header came.
    let answer = http
        .post_json(
            &format!("{}/api/chat", double.origin()),
            &chat_body("gemma3:1b", ""),
            &[("authorization", "Bearer not-needed")],
        )
        .unwrap();
    assert_eq!(answer.json()["message"]["content"], OLLAMA_REPLY_PREFIX);
    assert!(double.requests_to("/api/chat")[1].authorization);
}

#[test]
fn malformed_chats_are_refused_with_ollamas_error_shape() {
    let double = OllamaDouble::start().unwrap();
    let http = Http::new();
    let url = format!("{}/api/chat", double.origin());
    let cases: Vec<(String, u16, &str)> = vec![
        (String::new(), 400, "missing request body"),
        ("[1]".to_owned(), 400, "the request body is not a JSON object"),
        ("{".to_owned(), 400, "the request body is not a JSON object"),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "stream": false}).to_string(),
            400,
            "model is required",
        ),
        (
            json!({"model": "llama3.2", "messages": [{"role": "user", "content": "x"}]})
                .to_string(),
            400,
            "the Ollama double answers only \"stream\": false",
        ),
        (
            json!({"model": "llama3.2", "messages": [{"role": "user", "content": "x"}], "stream": true})
                .to_string(),
            400,
            "the Ollama double answers only \"stream\": false",
        ),
        (
            json!({"model": "llama3.2", "messages": [], "stream": false}).to_string(),
            400,
            "messages must be a non-empty list",
        ),
        (
            json!({"model": "llama3.2", "messages": [{"role": "user", "content": 1}], "stream": false})
                .to_string(),
            400,
            "messages[0].content must be a string",
        ),
        (
            json!({"model": "llama3.2", "messages": [{"role": "assistant", "content": "x"}], "stream": false})
                .to_string(),
            400,
            "messages need a user message",
        ),
        (
            chat_body("mistral", "hi").to_string(),
            404,
            "model 'mistral' not found",
        ),
        (
            "x".repeat(OLLAMA_MAX_REQUEST_BYTES + 1),
            413,
            "request body too large",
        ),
    ];
    for (body, status, message) in cases {
        let answer = http
            .post(&url, "application/json", body.clone(), &[])
            .unwrap();
        let shown: String = body.chars().take(80).collect();
        assert_eq!(answer.status, status, "{shown}: {}", answer.text());
        assert_eq!(ollama_error(&answer), message, "{shown}");
    }
}

#[test]
fn unknown_paths_and_methods_get_the_routers_plain_404() {
    let double = OllamaDouble::start().unwrap();
    let http = Http::new();
    for path in ["/api/generate", "/v1/models", "/api/chat"] {
        let answer = http
            .get(&format!("{}{path}", double.origin()), None)
            .unwrap();
        assert_eq!(
            (answer.status, answer.text().as_str()),
            (404, "404 page not found"),
            "{path}"
        );
    }
    let answer = http
        .post_json(&format!("{}/api/tags", double.origin()), &json!({}), &[])
        .unwrap();
    assert_eq!(answer.status, 404);
}

#[test]
fn each_fault_replaces_the_answer_and_fail_next_fires_once() {
    let double = OllamaDouble::start().unwrap();
    let http = Http::new();
    let version = |http: &Http| {
        http.get(&format!("{}/api/version", double.origin()), None)
            .unwrap()
    };

    double.set_fault(Some(OllamaFault::ServerError));
    assert_eq!(double.current_fault(), Some(OllamaFault::ServerError));
    for answer in [
        version(&http),
        chat(&http, &double, &chat_body("llama3.2", "hi")),
    ] {
        assert_eq!(answer.status, 500);
        assert!(ollama_error(&answer).contains("injected by the Ollama double"));
    }

    double.set_fault(Some(OllamaFault::Unauthorized));
    let answer = http
        .get(&format!("{}/api/tags", double.origin()), None)
        .unwrap();
    assert_eq!(
        (answer.status, ollama_error(&answer).as_str()),
        (401, "unauthorized")
    );

    double.set_fault(Some(OllamaFault::BadJson));
    let answer = chat(&http, &double, &chat_body("llama3.2", "hi"));
    assert_eq!(answer.status, 200);
    assert!(serde_json::from_slice::<Value>(&answer.body).is_err());

    // A missing model applies to chats only, after the body is checked.
    double.set_fault(None);
    double.fail_next(OllamaFault::ModelNotFound);
    assert_eq!(version(&http).status, 200);
    assert_eq!(double.current_fault(), Some(OllamaFault::ModelNotFound));
    let answer = chat(&http, &double, &chat_body("llama3.2", "hi"));
    assert_eq!(
        (answer.status, ollama_error(&answer).as_str()),
        (404, "model 'llama3.2' not found")
    );
    assert_eq!(double.current_fault(), None);
    assert_eq!(
        chat(&http, &double, &chat_body("llama3.2", "hi")).status,
        200
    );

    double.fail_next(OllamaFault::ServerError);
    assert_eq!(version(&http).status, 500);
    assert_eq!(version(&http).status, 200);
}

#[test]
fn a_stopped_double_refuses_connections_like_a_machine_without_ollama() {
    let double = OllamaDouble::start().unwrap();
    let addr = double.addr();
    assert!(TcpStream::connect(addr).is_ok());
    double.shutdown().unwrap();
    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}
