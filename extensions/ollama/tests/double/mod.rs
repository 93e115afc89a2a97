//! The provider over real HTTP against the Ollama double: what is sent (paths, body, no
//! credential) is checked by a server that imitates Ollama, not by the provider's own idea of
//! it; and a stopped double is a machine where Ollama is not running.

use std::sync::Arc;

use plugboard_core::{
    AuthContext, AuthMethod, Credential, CredentialCheck, CredentialKind, ErrorChain, HostServices,
    HttpSettings, ModelContext, ModelErrorKind, ModelInfo, ModelLister, ModelOutput, ModelRequest,
    ModelRunner, Provenance,
};
use plugboard_http::NetworkClient;
use plugboard_ollama::{ChatRunner, HOST_ENV, LocalMethod, ServerCheck, TagsLister};
use plugboard_testkit::{
    OLLAMA_MODELS, OLLAMA_REPLY_PREFIX, OLLAMA_VERSION, OllamaDouble, OllamaFault,
};

#[expect(
    clippy::expect_used,
    reason = "a helper outside #[test] functions fails the test loudly on setup errors"
)]
fn host(ollama_host: &str) -> HostServices {
    HostServices::default()
        .with_http_client(Arc::new(
            NetworkClient::new(&HttpSettings::default()).expect("an HTTP client"),
        ))
        .with_env(HOST_ENV, ollama_host)
}

fn context(ollama_host: &str) -> ModelContext {
    ModelContext::new(Credential::none(Provenance::new()), host(ollama_host))
}

async fn chat(ollama_host: &str, model: &str) -> Result<Vec<ModelOutput>, String> {
    ChatRunner
        .run(
            &context(ollama_host),
            &ModelRequest::new(model, "say hello"),
        )
        .await
        .map(|reply| reply.outputs)
        .map_err(|e| format!("{} | {}", e.kind(), ErrorChain(&e)))
}

#[tokio::test]
async fn signing_in_stores_where_the_server_is_and_its_version_and_nothing_secret() {
    let double = OllamaDouble::start().expect("the double starts");
    let mut ctx = AuthContext::scripted([]);
    // OLLAMA_HOST as people write it: host and port, no scheme.
    ctx.host = host(&double.addr().to_string());
    let result = LocalMethod
        .run(&mut ctx)
        .await
        .expect("the sign-in succeeds");
    let credential = &result.profiles[0].credential;
    assert_eq!(credential.kind(), CredentialKind::None);
    assert!(!credential.has_secret());
    assert_eq!(credential.provenance()["base_url"], double.origin());
    assert_eq!(credential.provenance()["version"], OLLAMA_VERSION);
    let asked = double.requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].path, "/api/version");
    assert!(!asked[0].authorization);
}

#[tokio::test]
async fn a_chat_returns_the_reply_and_sends_no_credential() {
    let double = OllamaDouble::start().expect("the double starts");
    let outputs = chat(&double.origin(), "llama3.2").await.expect("a reply");
    assert_eq!(
        outputs,
        [ModelOutput::text(format!(
            "{OLLAMA_REPLY_PREFIX} say hello"
        ))]
    );
    let sent = &double.requests_to("/api/chat")[0];
    assert_eq!(sent.status, 200);
    assert_eq!(sent.model.as_deref(), Some("llama3.2"));
    assert_eq!(sent.stream, Some(false));
    assert!(!sent.authorization);
}

#[tokio::test]
async fn the_list_and_the_check_read_the_servers_models() {
    let double = OllamaDouble::start().expect("the double starts");
    let listed = TagsLister
        .list(&context(&double.origin()))
        .await
        .expect("a list");
    let want: Vec<ModelInfo> = OLLAMA_MODELS.iter().map(|m| ModelInfo::new(*m)).collect();
    assert_eq!(listed, want);
    assert_eq!(ServerCheck.check(&context(&double.origin())).await, Ok(()));
}

#[tokio::test]
async fn each_way_the_double_fails_becomes_the_right_kind() {
    let double = OllamaDouble::start().expect("the double starts");
    let origin = double.origin();
    let kind = |got: Result<Vec<ModelOutput>, String>| {
        let line = got.expect_err("the call fails");
        line.split(" | ").next().unwrap_or_default().to_owned()
    };
    let cases = [
        (
            Some(OllamaFault::ModelNotFound),
            "llama3.2",
            ModelErrorKind::InvalidRequest,
        ),
        (None, "mistral", ModelErrorKind::InvalidRequest),
        (
            Some(OllamaFault::ServerError),
            "llama3.2",
            ModelErrorKind::Service,
        ),
        (
            Some(OllamaFault::BadJson),
            "llama3.2",
            ModelErrorKind::BadResponse,
        ),
        (
            Some(OllamaFault::Unauthorized),
            "llama3.2",
            ModelErrorKind::CredentialRejected,
        ),
    ];
    for (fault, model, want) in cases {
        double.set_fault(fault);
        assert_eq!(kind(chat(&origin, model).await), want.as_str(), "{fault:?}");
    }
    double.set_fault(None);
    assert_eq!(
        chat(&origin, "mistral").await,
        Err("invalid_request | Ollama answered HTTP 404: the model is not on this server: pull it with `ollama pull mistral`, or see `ollama list` (Ollama said: model 'mistral' not found)".to_owned())
    );
    double.set_fault(Some(OllamaFault::BadJson));
    let listed = TagsLister.list(&context(&origin)).await;
    assert_eq!(
        listed.map_err(|e| e.kind()),
        Err(ModelErrorKind::BadResponse)
    );
}

#[tokio::test]
async fn a_stopped_server_is_unreachable_for_every_capability() {
    let double = OllamaDouble::start().expect("the double starts");
    let origin = double.origin();
    double.shutdown().expect("the double stops cleanly");

    let mut ctx = AuthContext::scripted([]);
    ctx.host = host(&origin);
    let err = LocalMethod
        .run(&mut ctx)
        .await
        .expect_err("nothing answers");
    let line = ErrorChain(&err).to_string();
    assert!(
        line.starts_with(&format!(
            "no Ollama server answered at {origin}: start one with `ollama serve`, or set OLLAMA_HOST to where yours runs: "
        )),
        "{line}"
    );

    let got = chat(&origin, "llama3.2").await;
    let line = got.expect_err("nothing answers");
    assert!(
        line.starts_with("network | Ollama could not be reached: "),
        "{line}"
    );
    let listed = TagsLister.list(&context(&origin)).await;
    assert_eq!(listed.map_err(|e| e.kind()), Err(ModelErrorKind::Network));
    let checked = ServerCheck.check(&context(&origin)).await;
    assert_eq!(checked.map_err(|e| e.kind()), Err(ModelErrorKind::Network));
}
