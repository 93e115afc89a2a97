//! The `model.list` capability and the credential check, both from `GET <base>/models` read as
//! OpenAI's API reference documents "List models": `{"object": "list", "data": [{"id",
//! "object": "model", "created", "owned_by"}, ...]}`. A model's id is what a chat completion's
//! `model` takes. The list marks no model free: OpenAI's shape has no price.
//!
//! The check asks the same list with the key: OpenAI and the services that follow it answer
//! it only for a key they accept (401 otherwise), it costs nothing, and it tells a service
//! that is not OpenAI-compatible from one that is.

use std::sync::Arc;

use plugboard_core::{
    CredentialCheck, HttpRequest, HttpResponse, ModelContext, ModelError, ModelInfo, ModelLister,
    async_trait,
};
use serde::Deserialize;
use serde_json::Value;

use crate::refusal::{Call, malformed, refusal};
use crate::service::{Service, models_url};

/// Services list tens to a few hundred models, a few hundred bytes each; 8 MiB leaves room
/// for far larger catalogues while keeping a hostile answer from filling memory.
pub(crate) const MAX_MODELS_RESPONSE: usize = 8 * 1024 * 1024;

/// Lists the service's models.
#[derive(Debug, Clone)]
pub(crate) struct ModelsLister {
    pub(crate) service: Arc<Service>,
}

/// Checks the credential (or, without one, that the service answers) with the model list.
#[derive(Debug, Clone)]
pub(crate) struct ModelsCheck {
    pub(crate) service: Arc<Service>,
}

/// `GET <base>/models`, once more if no connection was made.
async fn fetch(service: &Service, ctx: &ModelContext) -> Result<HttpResponse, ModelError> {
    let base = service.base_for_call(&ctx.host)?;
    let request = HttpRequest::get(models_url(&base)).with_max_response_bytes(MAX_MODELS_RESPONSE);
    service.send(ctx, request).await
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<Value>,
}

/// The ids of a model list, in the service's order, or why the answer is not one. Every entry
/// needs a non-empty string `id`: a list with a hole would show part of the catalogue as all.
pub(crate) fn read_list(
    service: &Service,
    call: Call,
    response: &HttpResponse,
    key: &str,
) -> Result<Vec<ModelInfo>, ModelError> {
    if !response.is_success() {
        return Err(refusal(service, call, response, key));
    }
    let list: ModelList = serde_json::from_slice(&response.body)
        .map_err(|_| malformed(service, call, "is not the JSON it should be"))?;
    list.data
        .iter()
        .map(|entry| {
            entry
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(ModelInfo::new)
                .ok_or_else(|| malformed(service, call, "has a model without an id"))
        })
        .collect()
}

#[async_trait]
impl ModelLister for ModelsLister {
    async fn list(&self, ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError> {
        let response = fetch(&self.service, ctx).await?;
        read_list(
            &self.service,
            Call::ModelList,
            &response,
            ctx.credential.expose_secret(),
        )
    }
}

#[async_trait]
impl CredentialCheck for ModelsCheck {
    async fn check(&self, ctx: &ModelContext) -> Result<(), ModelError> {
        // The whole list is read, so that something else answering at the address (a web
        // server, a captive portal) does not pass for the service.
        let response = fetch(&self.service, ctx).await?;
        read_list(
            &self.service,
            Call::Check,
            &response,
            ctx.credential.expose_secret(),
        )
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, HttpError, ModelErrorKind, shows_secret};
    use serde_json::json;

    use super::*;
    use crate::test_support::{KEY, Replies, context, reply, service};

    fn lister() -> ModelsLister {
        ModelsLister {
            service: Arc::new(service(true)),
        }
    }

    fn check() -> ModelsCheck {
        ModelsCheck {
            service: Arc::new(service(true)),
        }
    }

    #[tokio::test]
    async fn the_list_is_asked_for_with_the_key_and_read_in_the_services_order() {
        let body = json!({"object": "list", "data": [
            {"id": "llama-3.3-70b-versatile", "object": "model", "created": 1_733_447_754, "owned_by": "Meta"},
            {"id": "openai/gpt-oss-20b", "object": "model", "created": 1_754_407_957, "owned_by": "OpenAI"},
        ]});
        let (ctx, http) = context(vec![reply(200, &body.to_string())], true);
        let got = lister().list(&ctx).await.unwrap();
        assert_eq!(
            got,
            [
                ModelInfo::new("llama-3.3-70b-versatile"),
                ModelInfo::new("openai/gpt-oss-20b"),
            ]
        );
        let sent = &http.requests()[0];
        assert_eq!(sent.method.as_str(), "GET");
        assert_eq!(sent.url, "http://127.0.0.1:1/v1/models");
        assert_eq!(
            sent.headers,
            [("authorization".to_owned(), format!("Bearer {KEY}"))]
        );
        assert_eq!(sent.max_response_bytes, MAX_MODELS_RESPONSE);
        assert!(sent.body.is_none());
    }

    #[test]
    fn an_answer_not_in_openais_shape_is_a_bad_response() {
        let svc = service(true);
        for body in [
            "<html>",
            "{}",
            "[]",
            r#"{"data":{}}"#,
            r#"{"models":[{"name":"llama3.2"}]}"#,
            r#"{"data":[{"object":"model"}]}"#,
            r#"{"data":[{"id":""}]}"#,
            r#"{"data":[{"id":7}]}"#,
            r#"{"data":["gpt-4o"]}"#,
        ] {
            let err =
                read_list(&svc, Call::ModelList, &HttpResponse::new(200, body), KEY).unwrap_err();
            assert_eq!(err.kind(), ModelErrorKind::BadResponse, "{body}: {err}");
        }
        // An empty list is an answer in the documented shape.
        let empty = read_list(
            &svc,
            Call::ModelList,
            &HttpResponse::new(200, r#"{"object":"list","data":[]}"#),
            KEY,
        )
        .unwrap();
        assert!(empty.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_check_passes_on_a_list_and_fails_as_a_model_call_does() {
        use ModelErrorKind as K;
        let refused = || {
            Err(HttpError::Connect {
                host: "127.0.0.1".to_owned(),
                reason: "connection refused".to_owned(),
            })
        };
        /// Fine, or the error's kind and chain.
        type Outcome = Result<(), (K, &'static str)>;
        let cases: Vec<(Replies, Outcome)> = vec![
            (vec![reply(200, r#"{"object":"list","data":[]}"#)], Ok(())),
            (
                vec![reply(503, ""), reply(200, r#"{"data":[{"id":"m"}]}"#)],
                Ok(()),
            ),
            (
                vec![reply(401, r#"{"error":{"message":"Invalid API Key"}}"#)],
                Err((
                    K::CredentialRejected,
                    "Acme Cloud rejected the key: HTTP 401 (Invalid API Key)",
                )),
            ),
            (
                vec![reply(200, "<html>")],
                Err((
                    K::BadResponse,
                    "Acme Cloud's answer to the key check is not the JSON it should be: check that the base URL is the API root of an OpenAI-compatible service",
                )),
            ),
            (
                vec![refused(), refused()],
                Err((
                    K::Network,
                    "Acme Cloud could not be reached: cannot connect to 127.0.0.1: connection refused",
                )),
            ),
        ];
        for (replies, want) in cases {
            let (ctx, _) = context(replies, true);
            let got = check().check(&ctx).await;
            match want {
                Ok(()) => got.unwrap(),
                Err((kind, line)) => {
                    let err = got.unwrap_err();
                    assert_eq!(
                        (err.kind(), ErrorChain(&err).to_string().as_str()),
                        (kind, line)
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn the_key_never_shows_even_when_the_service_echoes_it() {
        for status in [401, 403, 404, 500] {
            let body = json!({"error": {"message": format!("bad key {}", KEY.to_uppercase())}});
            let (ctx, _) = context(vec![reply(status, &body.to_string())], true);
            let err = lister().list(&ctx).await.unwrap_err();
            let shown = format!("{} {err:?}", ErrorChain(&err));
            assert!(!shows_secret(&shown, KEY), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
    }
}
