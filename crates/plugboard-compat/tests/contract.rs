//! Manifest-only providers held to the provider contract: one built from a test manifest with
//! a key variable and one without, and one from each example manifest shipped under
//! `manifests/examples/`, each with fixtures written here the way an OpenAI-compatible service
//! answers. The examples are also admitted to a registry, as the host does with an installed
//! plugin, so a capability or choice that does not pair up fails here.
#![expect(
    clippy::expect_used,
    reason = "test helpers outside #[test] functions fail the test loudly on setup errors"
)]

use plugboard_contract::{ManifestText, Subject, check_provider};
use plugboard_core::{
    Answer, ContractFixture, HttpError, HttpResponse, ListExpectation, ListFixture, LoginOptions,
    Manifest, ModelErrorKind, ModelExpectation, ModelFixture, ModelRequest, PluginSource,
    ProfileId, Registry, ScriptedFixture, ServiceErrors, base_url_env,
};

/// A key shaped like those OpenAI-compatible services issue (`gsk_...`, `sk-...`).
const KEY: &str = "sk-compat-0000111122223333444455556666777788889999aaaabbbbccccdddd";

fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
}

/// No connection, twice (a request that never connected is sent once more).
fn refused() -> Vec<Result<HttpResponse, HttpError>> {
    let refusal = || {
        Err(HttpError::Connect {
            host: "localhost".to_owned(),
            reason: "connection refused".to_owned(),
        })
    };
    vec![refusal(), refusal()]
}

/// An error answer in OpenAI's documented shape.
fn error_answer(status: u16, message: &str) -> HttpResponse {
    let body = serde_json::json!({"error": {
        "message": message, "type": "invalid_request_error", "param": null, "code": null,
    }});
    HttpResponse::new(status, body.to_string())
}

/// How an OpenAI-compatible service answers a key it will not take: HTTP 401 in OpenAI's
/// error shape ("Incorrect API key provided"). Keys do not expire.
fn service_errors() -> ServiceErrors {
    ServiceErrors {
        rejected: error_answer(401, "Incorrect API key provided."),
        expired: None,
        error_with_message: std::sync::Arc::new(error_answer),
    }
}

/// A model list in OpenAI's shape.
fn model_list() -> String {
    serde_json::json!({"object": "list", "data": [
        {"id": "model-large", "object": "model", "created": 1_733_447_754, "owned_by": "acme"},
        {"id": "vendor/model-small", "object": "model", "created": 1_754_407_957, "owned_by": "vendor"},
    ]})
    .to_string()
}

/// Sign-in fixtures: the API-key cases for a keyed provider; for one without a key, a service
/// that lists its models (at the manifest's address, at a moved one, under `--profile`) and
/// services that do not.
fn sign_in_fixtures(provider_id: &str, keyed: bool) -> Vec<Box<dyn ContractFixture>> {
    let fixtures = if keyed {
        ScriptedFixture::api_key_cases(provider_id, "api-key", KEY)
    } else {
        let listed = || vec![reply(200, &model_list())];
        let succeeds =
            |name| ScriptedFixture::succeeds(name, provider_id, "local", Vec::<Answer>::new());
        let fails = |name| ScriptedFixture::fails(name, provider_id, "local", Vec::<Answer>::new());
        let mut named = LoginOptions::default();
        named.profile = ProfileId::new(provider_id, "work").ok();
        let env = base_url_env(provider_id);
        vec![
            succeeds("a service that lists its models is recorded").with_http(listed()),
            succeeds("--profile names the profile")
                .with_http(listed())
                .with_options(named),
            succeeds("the base URL variable moves the service")
                .with_env(&env, "http://127.0.0.1:8080/v1")
                .with_http(listed()),
            fails("a service that does not answer writes nothing").with_http(refused()),
            fails("something that is not such a service writes nothing")
                .with_http(vec![reply(404, "Not Found")]),
            fails("a service that wants a key writes nothing")
                .with_http(vec![Ok(error_answer(401, "Missing API key"))]),
            fails("plain http to another machine is refused without permission")
                .with_env(&env, "http://192.168.1.5:1234/v1"),
        ]
    };
    fixtures
        .into_iter()
        .map(|f| Box::new(f) as Box<dyn ContractFixture>)
        .collect()
}

/// Model calls answered the way OpenAI documents chat completions and its errors.
fn model_fixtures() -> Vec<ModelFixture> {
    let request = || ModelRequest::new("model-large", "Reply exactly: ok");
    let completion = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1741569952,"model":"model-large","choices":[{"index":0,"message":{"role":"assistant","content":"ok","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}}"#;
    let fixture = |name: &str, replies: Vec<Result<HttpResponse, HttpError>>, expect| {
        ModelFixture::new(name, request(), replies, expect)
    };
    let fails = ModelExpectation::Fails;
    vec![
        fixture(
            "the first choice's message content is the reply",
            vec![reply(200, completion)],
            ModelExpectation::Replies("ok".to_owned()),
        ),
        fixture(
            "a 503 is retried once",
            vec![reply(503, ""), reply(200, completion)],
            ModelExpectation::Replies("ok".to_owned()),
        ),
        fixture(
            "a 401 is a rejected key",
            vec![Ok(error_answer(401, "Incorrect API key provided."))],
            fails(ModelErrorKind::CredentialRejected),
        ),
        fixture(
            "a 429 is a rate limit",
            vec![Ok(error_answer(429, "Rate limit reached for requests"))],
            fails(ModelErrorKind::RateLimited),
        ),
        fixture(
            "an unknown model is an invalid request",
            vec![Ok(error_answer(
                404,
                "The model `model-huge` does not exist or you do not have access to it.",
            ))],
            fails(ModelErrorKind::InvalidRequest),
        ),
        fixture(
            "a 500 is a service failure",
            vec![Ok(error_answer(
                500,
                "The server had an error while processing your request.",
            ))],
            fails(ModelErrorKind::Service),
        ),
        fixture(
            "an answer that is not JSON is a bad response",
            vec![reply(200, "<html>")],
            fails(ModelErrorKind::BadResponse),
        ),
        fixture(
            "a service that does not answer is a network failure",
            refused(),
            fails(ModelErrorKind::Network),
        ),
    ]
}

/// Model lists in OpenAI's shape, and not.
fn list_fixtures() -> Vec<ListFixture> {
    vec![
        ListFixture::new(
            "the list's ids in the service's order, none free",
            vec![reply(200, &model_list())],
            ListExpectation::Lists {
                ids: vec!["model-large".to_owned(), "vendor/model-small".to_owned()],
                free: Vec::new(),
            },
        ),
        ListFixture::new(
            "a list in another shape is a bad response",
            vec![reply(200, r#"{"models":[{"name":"llama3.2"}]}"#)],
            ListExpectation::Fails(ModelErrorKind::BadResponse),
        ),
        ListFixture::new(
            "a 401 is a rejected key",
            vec![Ok(error_answer(401, "Incorrect API key provided."))],
            ListExpectation::Fails(ModelErrorKind::CredentialRejected),
        ),
        ListFixture::new(
            "a service that does not answer is a network failure",
            refused(),
            ListExpectation::Fails(ModelErrorKind::Network),
        ),
    ]
}

/// The provider of the manifest at `path` (text `json`), with every fixture.
fn subject(path: &str, json: &str) -> Subject {
    let manifest = Manifest::load(path, json).expect("the manifest loads");
    let keyed = match &manifest.runtime {
        Some(plugboard_core::Runtime::OpenaiCompatible(runtime)) => runtime.api_key_env.is_some(),
        other => panic!("{path}: not an openai-compatible runtime: {other:?}"),
    };
    let mut providers = plugboard_compat::providers(path, &manifest).expect("the provider builds");
    let provider = providers.remove(0);
    let fixtures = sign_in_fixtures(provider.id(), keyed);
    Subject::new(ManifestText::new(path, json), provider, fixtures)
        .with_model_fixtures(model_fixtures())
        .with_list_fixtures(list_fixtures())
        .with_service_errors(service_errors())
}

/// A test manifest for provider `acme-cloud`, with `runtime` and the one choice its method
/// needs.
fn test_manifest(runtime: serde_json::Value) -> String {
    let keyed = runtime.get("api_key_env").is_some();
    let (method, kind) = if keyed {
        ("api-key", "api_key")
    } else {
        ("local", "local")
    };
    serde_json::json!({
        "manifest_version": 1,
        "id": "acme",
        "name": "Acme",
        "version": "1.0.0",
        "providers": [{"id": "acme-cloud", "label": "Acme Cloud", "capabilities": ["model.run", "model.list"]}],
        "auth_choices": [{
            "choice_id": format!("acme-cloud-{method}"),
            "provider": "acme-cloud",
            "method": method,
            "kind": kind,
            "label": "Acme Cloud",
            "group": {"id": "acme-cloud", "label": "Acme Cloud"},
        }],
        "runtime": runtime,
    })
    .to_string()
}

#[tokio::test]
async fn a_provider_with_a_key_variable_passes_the_contract() {
    let json = test_manifest(serde_json::json!({
        "kind": "openai-compatible",
        "base_url": "https://api.acme.test/openai/v1",
        "api_key_env": "ACME_API_KEY",
        "default_model": "model-large",
    }));
    let report = check_provider(&subject("plugins/acme/plugin.json", &json)).await;
    assert!(report.is_ok(), "{report}");
}

#[tokio::test]
async fn a_provider_without_a_key_passes_the_contract() {
    let json = test_manifest(serde_json::json!({
        "kind": "openai-compatible",
        "base_url": "http://localhost:1234/v1",
    }));
    let report = check_provider(&subject("plugins/acme/plugin.json", &json)).await;
    assert!(report.is_ok(), "{report}");
}

/// The example manifests shipped in the repository, by path and text.
const EXAMPLES: [(&str, &str); 3] = [
    (
        "manifests/examples/groq/plugin.json",
        include_str!("../../../manifests/examples/groq/plugin.json"),
    ),
    (
        "manifests/examples/deepseek/plugin.json",
        include_str!("../../../manifests/examples/deepseek/plugin.json"),
    ),
    (
        "manifests/examples/lmstudio/plugin.json",
        include_str!("../../../manifests/examples/lmstudio/plugin.json"),
    ),
];

#[tokio::test]
async fn every_example_manifest_builds_a_provider_that_passes_the_contract() {
    for (path, json) in EXAMPLES {
        let report = check_provider(&subject(path, json)).await;
        assert!(report.is_ok(), "{path}: {report}");
    }
}

#[test]
fn the_example_manifests_are_admitted_to_a_registry_with_the_services_documented_addresses() {
    let mut registry = Registry::build(Vec::new()).expect("an empty registry");
    for (path, json) in EXAMPLES {
        let manifest = Manifest::load(path, json).expect("the example loads");
        let providers = plugboard_compat::providers(path, &manifest).expect("it builds");
        registry
            .admit(PluginSource {
                path,
                json,
                providers,
            })
            .unwrap_or_else(|e| panic!("{path} is refused: {e}"));
    }
    let host = plugboard_core::HostServices::default();
    /// A provider's id, service URL, variables and default model.
    type Described<'a> = (&'a str, Option<String>, Vec<&'a str>, Option<&'a str>);
    let described: Vec<Described<'_>> = registry
        .providers()
        .map(|p| {
            (
                p.id(),
                p.service_url(&host),
                p.env_vars().iter().map(|v| v.name.as_ref()).collect(),
                p.default_model(),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            (
                "deepseek",
                Some("https://api.deepseek.com".to_owned()),
                vec!["DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL"],
                Some("deepseek/deepseek-v4-flash"),
            ),
            (
                "groq",
                Some("https://api.groq.com/openai/v1".to_owned()),
                vec!["GROQ_API_KEY", "GROQ_BASE_URL"],
                Some("groq/llama-3.3-70b-versatile"),
            ),
            (
                "lmstudio",
                Some("http://localhost:1234/v1".to_owned()),
                vec!["LMSTUDIO_BASE_URL"],
                None,
            ),
        ]
    );
    assert!(registry.broken().is_empty(), "{:?}", registry.broken());
}

#[test]
fn a_manifest_whose_capabilities_leave_out_the_model_list_is_refused_by_the_registry() {
    let json = test_manifest(serde_json::json!({
        "kind": "openai-compatible",
        "base_url": "https://api.acme.test/v1",
        "api_key_env": "ACME_API_KEY",
    }))
    .replace(r#"["model.run","model.list"]"#, r#"["model.run"]"#);
    let manifest = Manifest::load("p.json", &json).expect("it loads");
    let providers = plugboard_compat::providers("p.json", &manifest).expect("it builds");
    let mut registry = Registry::build(Vec::new()).expect("an empty registry");
    let err = registry
        .admit(PluginSource {
            path: "p.json",
            json: &json,
            providers,
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "p.json: /providers/0/capabilities: provider \"acme-cloud\" has a model lister but does not declare it: add \"model.list\" to its \"capabilities\""
    );
    assert_eq!(registry.broken().len(), 1);
}
