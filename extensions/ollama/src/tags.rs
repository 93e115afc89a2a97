//! The `model.list` capability and the credential check, both from `GET <server>/api/tags`:
//! the models pulled to the server, `{"models": [{"name": "llama3.2:latest", ...}]}`. The
//! list's ids are the names as Ollama gives them, which is what `/api/chat` takes.

use plugboard_core::{
    CredentialCheck, HttpRequest, HttpResponse, ModelContext, ModelError, ModelInfo, ModelLister,
    async_trait, sanitize_line,
};
use plugboard_http::send_with_retry;
use serde::Deserialize;

use crate::endpoints::{Endpoints, location_message};
use crate::service_text::{Asked, SERVICE, from_object, malformed, refusal};

/// A server with hundreds of models answers a few hundred KiB; 4 MiB leaves room while keeping a
/// hostile answer from filling memory.
pub(crate) const MAX_TAGS_RESPONSE: usize = 4 * 1024 * 1024;

/// Longest model name taken as it is; Ollama's names are short (`namespace/model:tag`).
const MAX_NAME: usize = 200;

/// Lists the models pulled to the Ollama server.
#[derive(Debug, Clone, Copy, Default)]
pub struct TagsLister;

/// Checks that the Ollama server answers its model list: there is no credential to check, so
/// what can fail is the server (or a proxy in front of it).
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerCheck;

#[derive(Deserialize)]
struct TagsReply {
    models: Vec<serde_json::Value>,
}

/// `GET /api/tags`, once more if no connection was made.
async fn fetch(ctx: &ModelContext) -> Result<HttpResponse, ModelError> {
    let endpoints =
        Endpoints::from_host(&ctx.host).map_err(|e| ModelError::Config(location_message(&e)))?;
    let request = HttpRequest::get(endpoints.tags_url()).with_max_response_bytes(MAX_TAGS_RESPONSE);
    send_with_retry(ctx.host.http_client.as_ref(), request)
        .await
        .map_err(|source| ModelError::Network {
            service: SERVICE.to_owned(),
            source,
        })
}

/// The models of a `/api/tags` answer, in Ollama's order. Every entry needs a `name` that is
/// plain text: it becomes the `<model>` of `ollama/<model>`, printed as it is.
pub(crate) fn read_tags(
    response: &HttpResponse,
    secret: &str,
) -> Result<Vec<ModelInfo>, ModelError> {
    if !response.is_success() {
        return Err(refusal(response, secret, Asked::Tags));
    }
    let reply: TagsReply = from_object(&response.body)
        .ok_or_else(|| malformed("the model list is not the JSON it should be"))?;
    reply
        .models
        .iter()
        .map(|model| {
            let name = model
                .get("name")
                .and_then(serde_json::Value::as_str)
                .filter(|name| !name.is_empty())
                .ok_or_else(|| malformed("the model list has a model without a name"))?;
            if sanitize_line(name, MAX_NAME) != name || name.contains(' ') {
                return Err(malformed(
                    "the model list has a model name that is not plain text",
                ));
            }
            // Ollama sets no price, so no model is marked free: `free` is a service's own
            // marker (OpenRouter's `:free`), not a judgement that a local model costs nothing.
            Ok(ModelInfo::new(name))
        })
        .collect()
}

#[async_trait]
impl ModelLister for TagsLister {
    async fn list(&self, ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError> {
        read_tags(&fetch(ctx).await?, ctx.credential.expose_secret())
    }
}

#[async_trait]
impl CredentialCheck for ServerCheck {
    async fn check(&self, ctx: &ModelContext) -> Result<(), ModelError> {
        // The whole list is read, so that something else answering at the address (a web
        // server, a captive portal) does not pass for Ollama.
        read_tags(&fetch(ctx).await?, ctx.credential.expose_secret()).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use plugboard_core::{
        Credential, ErrorChain, HostServices, HttpError, ModelErrorKind, Provenance, ScriptedHttp,
    };
    use serde_json::json;

    use super::*;
    use crate::provider::HOST_ENV;

    fn context(replies: Vec<Result<HttpResponse, HttpError>>) -> (ModelContext, Arc<ScriptedHttp>) {
        let http = Arc::new(ScriptedHttp::new(replies));
        let host = HostServices::default()
            .with_http_client(http.clone())
            .with_env(HOST_ENV, "localhost:2");
        (
            ModelContext::new(Credential::none(Provenance::new()), host),
            http,
        )
    }

    fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
    }

    fn tags(names: &[&str]) -> String {
        let models: Vec<_> = names
            .iter()
            .map(|name| {
                json!({
                    "name": name, "model": name, "modified_at": "2023-11-04T14:56:49.277302595-07:00",
                    "size": 7365960935_u64, "digest": "9f438cb9cd581fc025612d27f7c1a6669ff83a8bb0ed86c94fcf4c5440555697",
                    "details": {"format": "gguf", "family": "llama", "families": null,
                        "parameter_size": "13B", "quantization_level": "Q4_0"},
                })
            })
            .collect();
        json!({ "models": models }).to_string()
    }

    #[tokio::test]
    async fn the_list_is_every_name_in_ollamas_order_none_marked_free() {
        let (ctx, http) = context(vec![reply(200, &tags(&["llama3:latest", "codellama:13b"]))]);
        let got = TagsLister.list(&ctx).await.unwrap();
        assert_eq!(
            got,
            [
                ModelInfo::new("llama3:latest"),
                ModelInfo::new("codellama:13b")
            ]
        );
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "http://localhost:2/api/tags");
        assert!(sent.headers.is_empty(), "{:?}", sent.headers);
        assert_eq!(sent.max_response_bytes, MAX_TAGS_RESPONSE);
    }

    #[tokio::test(start_paused = true)]
    async fn answers_that_are_not_the_documented_list_fail_with_the_right_kind() {
        use ModelErrorKind as K;
        type Case = (Vec<Result<HttpResponse, HttpError>>, Result<usize, K>);
        let cases: Vec<Case> = vec![
            (vec![reply(200, r#"{"models":[]}"#)], Ok(0)),
            (vec![reply(200, &tags(&["a:1", "b/c:latest"]))], Ok(2)),
            (vec![reply(200, r#"{"data":[]}"#)], Err(K::BadResponse)),
            (vec![reply(200, r#"{"models":{}}"#)], Err(K::BadResponse)),
            (vec![reply(200, "[[]]")], Err(K::BadResponse)),
            (
                vec![reply(200, r#"{"models":[{"model":"x"}]}"#)],
                Err(K::BadResponse),
            ),
            (
                vec![reply(200, r#"{"models":[{"name":""}]}"#)],
                Err(K::BadResponse),
            ),
            (
                vec![reply(200, r#"{"models":[{"name":"a\u001b[2Jb"}]}"#)],
                Err(K::BadResponse),
            ),
            (
                vec![reply(200, r#"{"models":[{"name":"two words"}]}"#)],
                Err(K::BadResponse),
            ),
            (vec![reply(200, "<html>")], Err(K::BadResponse)),
            (
                vec![reply(404, "404 page not found")],
                Err(K::InvalidRequest),
            ),
            (
                vec![reply(401, r#"{"error":"unauthorized"}"#)],
                Err(K::CredentialRejected),
            ),
            (vec![reply(500, r#"{"error":"boom"}"#)], Err(K::Service)),
            (
                vec![
                    Err(HttpError::Connect {
                        host: "localhost".into(),
                        reason: "connection refused".into(),
                    }),
                    Err(HttpError::Connect {
                        host: "localhost".into(),
                        reason: "connection refused".into(),
                    }),
                ],
                Err(K::Network),
            ),
        ];
        for (replies, want) in cases {
            let (ctx, _) = context(replies.clone());
            let got = TagsLister.list(&ctx).await;
            assert_eq!(
                got.as_ref().map(Vec::len).map_err(ModelError::kind),
                want,
                "{:?}",
                got.as_ref().err().map(|e| ErrorChain(e).to_string())
            );
            // The check agrees with the listing, answer for answer.
            let (ctx, _) = context(replies);
            let checked = ServerCheck.check(&ctx).await;
            assert_eq!(checked.map_err(|e| e.kind()), want.map(|_| ()));
        }
    }

    #[tokio::test]
    async fn a_server_that_is_down_is_a_network_failure_naming_ollama() {
        let refused = || {
            Err(HttpError::Connect {
                host: "localhost".into(),
                reason: "connection refused".into(),
            })
        };
        let (ctx, http) = context(vec![refused(), refused()]);
        let err = ServerCheck.check(&ctx).await.unwrap_err();
        assert_eq!(
            ErrorChain(&err).to_string(),
            "Ollama could not be reached: cannot connect to localhost: connection refused"
        );
        // Tried twice: no connection was made, so one more attempt is safe.
        assert_eq!(http.requests().len(), 2);
    }
}
