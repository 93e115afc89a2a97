//! The `model.list` capability and the credential check, both through Anthropic's Models API
//! (<https://docs.claude.com/en/api/models-list>): `GET <base>/v1/models` with the key in
//! `x-api-key` and the API version in `anthropic-version`, answered with
//! `{"data":[{"type":"model","id","display_name",...}],"has_more","first_id","last_id"}`.
//!
//! The list is read page by page: while `has_more` is true, the next page is asked for with
//! `after_id` set to the page's `last_id`, up to [`MAX_PAGES`] pages of [`PAGE_LIMIT`] models.
//! The check asks for one model (`limit=1`): the cheapest request Anthropic has that needs a
//! valid key, and one that costs no tokens.

use plugboard_core::{
    CredentialCheck, HttpRequest, HttpResponse, ModelContext, ModelError, ModelInfo, ModelLister,
    async_trait,
};
use plugboard_http::send_with_retry;
use serde::Deserialize;
use serde_json::Value;
use url::form_urlencoded;

use crate::endpoints::Endpoints;
use crate::messages::ANTHROPIC_VERSION;
use crate::refusal::{Call, malformed, refusal};
use crate::service_text::SERVICE;

/// Models asked for per page: the most Anthropic allows (its default is 20).
pub(crate) const PAGE_LIMIT: u32 = 1000;

/// Pages read at most. Anthropic offers a few dozen models, one page's worth; a service that
/// keeps saying `has_more` past this many pages is not answering as documented.
pub(crate) const MAX_PAGES: usize = 10;

/// A model entry is under 2 KiB with its capabilities; 4 MiB holds a full page of
/// [`PAGE_LIMIT`] with room to spare while keeping a broken answer from filling memory.
pub(crate) const MAX_MODELS_RESPONSE: usize = 4 * 1024 * 1024;

/// Lists the Claude models the key may use, through Anthropic's Models API.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelsLister;

#[async_trait]
impl ModelLister for ModelsLister {
    async fn list(&self, ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError> {
        let endpoints = endpoints(ctx)?;
        let key = ctx.credential.expose_secret();
        let mut models = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let url = format!(
                "{}?{}",
                endpoints.models_url(),
                page_query(after.as_deref())
            );
            let response = get(ctx, url, key).await?;
            let page = read_page(&response, key, Call::ModelList)?;
            models.extend(page.models);
            match page.next {
                None => return Ok(models),
                // Asking after the same model again would return the same page until the bound.
                Some(next) if after.as_deref() == Some(next.as_str()) => {
                    return Err(malformed(Call::ModelList, "points to the same page again"));
                }
                Some(next) => after = Some(next),
            }
        }
        Err(malformed(
            Call::ModelList,
            &format!("goes on for more than {MAX_PAGES} pages"),
        ))
    }
}

/// `limit=<PAGE_LIMIT>`, and `after_id=<id>` (encoded) for any page but the first.
fn page_query(after: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &PAGE_LIMIT.to_string());
    if let Some(after) = after {
        query.append_pair("after_id", after);
    }
    query.finish()
}

/// Checks an Anthropic key by listing one model with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelsCheck;

#[async_trait]
impl CredentialCheck for ModelsCheck {
    async fn check(&self, ctx: &ModelContext) -> Result<(), ModelError> {
        let endpoints = endpoints(ctx)?;
        let key = ctx.credential.expose_secret();
        let url = format!("{}?limit=1", endpoints.models_url());
        let response = get(ctx, url, key).await?;
        read_page(&response, key, Call::KeyCheck).map(|_| ())
    }
}

fn endpoints(ctx: &ModelContext) -> Result<Endpoints, ModelError> {
    Endpoints::from_host(&ctx.host).map_err(|e| ModelError::Config(e.to_string()))
}

/// A `GET` of `url` with the key and version headers, retried once where that is safe.
async fn get(ctx: &ModelContext, url: String, key: &str) -> Result<HttpResponse, ModelError> {
    let request = HttpRequest::get(url)
        .with_header("x-api-key", key)
        .with_header("anthropic-version", ANTHROPIC_VERSION)
        .with_max_response_bytes(MAX_MODELS_RESPONSE);
    send_with_retry(ctx.host.http_client.as_ref(), request)
        .await
        .map_err(|source| ModelError::Network {
            service: SERVICE.to_owned(),
            source,
        })
}

/// A page of the list as Anthropic documents it; other fields (`first_id`, capabilities,
/// `created_at`) are not needed.
#[derive(Deserialize)]
struct ModelList {
    data: Vec<Value>,
    has_more: bool,
    #[serde(default)]
    last_id: Option<String>,
}

/// One page: its models, and the `after_id` of the next page when there is one.
#[derive(Debug)]
struct Page {
    models: Vec<ModelInfo>,
    next: Option<String>,
}

/// Reads one answer to `call` (the model list, the key check).
fn read_page(response: &HttpResponse, key: &str, call: Call) -> Result<Page, ModelError> {
    if !response.is_success() {
        return Err(refusal(call, response, key));
    }
    let list: ModelList = serde_json::from_slice(&response.body)
        .map_err(|_| malformed(call, "is not the JSON it should be"))?;
    let models = list
        .data
        .iter()
        .map(model)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| malformed(call, "has an entry that is not a model"))?;
    let next = if list.has_more {
        // `has_more` without a cursor to go on from is not the documented shape.
        let last = list
            .last_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| malformed(call, "says there is more but not after which model"))?;
        Some(last)
    } else {
        None
    };
    Ok(Page { models, next })
}

/// One entry of `data`: an object of `type` `"model"` with a non-empty `id`, and its
/// `display_name` when it has one. Anthropic has no free models, so none is marked free.
fn model(entry: &Value) -> Option<ModelInfo> {
    if entry.get("type").and_then(Value::as_str) != Some("model") {
        return None;
    }
    let id = entry.get("id")?.as_str().filter(|id| !id.is_empty())?;
    let mut info = ModelInfo::new(id);
    if let Some(name) = entry.get("display_name").and_then(Value::as_str) {
        info = info.with_name(name);
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, HttpError, ModelErrorKind, shows_secret};
    use serde_json::json;

    use super::*;
    use crate::provider::BASE_URL_ENV;
    use crate::test_support::{KEY, Replies, context, reply};

    /// A page of the list as Anthropic shapes one.
    fn page(models: &[(&str, &str)], has_more: bool) -> Result<HttpResponse, HttpError> {
        let data: Vec<Value> = models
            .iter()
            .map(|(id, name)| {
                json!({"type": "model", "id": id, "display_name": name, "created_at": "2026-01-01T00:00:00Z"})
            })
            .collect();
        let body = json!({
            "data": data,
            "has_more": has_more,
            "first_id": models.first().map(|m| m.0),
            "last_id": models.last().map(|m| m.0),
        });
        reply(200, &body.to_string())
    }

    fn error(status: u16, kind: &str, message: &str) -> Result<HttpResponse, HttpError> {
        let body = json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"});
        reply(status, &body.to_string())
    }

    async fn list(replies: Replies) -> Result<Vec<ModelInfo>, ModelError> {
        let (ctx, _) = context(replies);
        ModelsLister.list(&ctx).await
    }

    fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
        request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[tokio::test]
    async fn the_list_is_asked_for_with_the_key_and_version_and_the_largest_page() {
        let (ctx, http) = context(vec![page(
            &[("claude-sonnet-5-5", "Claude Sonnet 5.5")],
            false,
        )]);
        let got = ModelsLister.list(&ctx).await.unwrap();
        assert_eq!(
            got,
            [ModelInfo::new("claude-sonnet-5-5").with_name("Claude Sonnet 5.5")]
        );
        let sent = &http.requests()[0];
        assert_eq!(sent.method.as_str(), "GET");
        assert_eq!(sent.url, "http://127.0.0.1:1/v1/models?limit=1000");
        assert_eq!(header(sent, "x-api-key"), Some(KEY));
        assert_eq!(header(sent, "anthropic-version"), Some("2023-06-01"));
        assert_eq!(sent.headers.len(), 2);
        assert_eq!(sent.max_response_bytes, MAX_MODELS_RESPONSE);
    }

    #[tokio::test]
    async fn has_more_is_followed_with_after_id_until_the_last_page() {
        let (ctx, http) = context(vec![
            page(
                &[
                    ("claude-sonnet-5-5", "Claude Sonnet 5.5"),
                    ("claude-sonnet-5", "Claude Sonnet 5"),
                ],
                true,
            ),
            // An id with a character a query must escape, so the cursor is seen encoded.
            page(&[("claude-opus-4-1+old", "Claude Opus 4.1")], true),
            page(&[("claude-haiku-4-5-20251001", "Claude Haiku 4.5")], false),
        ]);
        let got = ModelsLister.list(&ctx).await.unwrap();
        let ids: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "claude-sonnet-5-5",
                "claude-sonnet-5",
                "claude-opus-4-1+old",
                "claude-haiku-4-5-20251001",
            ]
        );
        assert!(got.iter().all(|m| !m.free));
        let urls: Vec<String> = http.requests().into_iter().map(|r| r.url).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:1/v1/models?limit=1000",
                "http://127.0.0.1:1/v1/models?limit=1000&after_id=claude-sonnet-5",
                "http://127.0.0.1:1/v1/models?limit=1000&after_id=claude-opus-4-1%2Bold",
            ]
        );
    }

    #[tokio::test]
    async fn paging_that_never_ends_is_a_bad_response_not_a_loop() {
        let err = list(vec![page(&[("a", "A")], true), page(&[("a", "A")], true)])
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Anthropic's answer to the model list points to the same page again: try again, and report it if it persists"
        );
        let pages: Replies = (0..=MAX_PAGES)
            .map(|n| {
                let id = format!("claude-{n}");
                page(&[(id.as_str(), "x")], true)
            })
            .collect();
        let (ctx, http) = context(pages);
        let err = ModelsLister.list(&ctx).await.unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::BadResponse);
        assert!(err.to_string().contains("more than 10 pages"), "{err}");
        assert_eq!(http.requests().len(), MAX_PAGES);
    }

    #[test]
    fn answers_not_in_the_documented_shape_are_bad_responses() {
        let cases = [
            ("<html>", "is not the JSON it should be"),
            ("{}", "is not the JSON it should be"),
            (r#"{"data":[]}"#, "is not the JSON it should be"),
            (
                r#"{"data":{},"has_more":false}"#,
                "is not the JSON it should be",
            ),
            (
                r#"{"data":[{"type":"model","display_name":"no id"}],"has_more":false}"#,
                "has an entry that is not a model",
            ),
            (
                r#"{"data":[{"type":"model","id":""}],"has_more":false}"#,
                "has an entry that is not a model",
            ),
            (
                r#"{"data":[{"id":"claude-x"}],"has_more":false}"#,
                "has an entry that is not a model",
            ),
            (
                r#"{"data":[{"type":"error","id":"claude-x"}],"has_more":false}"#,
                "has an entry that is not a model",
            ),
            (
                r#"{"data":[{"type":"model","id":"a"}],"has_more":true,"last_id":null}"#,
                "says there is more but not after which model",
            ),
            (
                r#"{"data":[],"has_more":true,"last_id":""}"#,
                "says there is more but not after which model",
            ),
        ];
        for (body, how) in cases {
            let err = read_page(&HttpResponse::new(200, body), KEY, Call::ModelList).unwrap_err();
            assert_eq!(err.kind(), ModelErrorKind::BadResponse, "{body}");
            assert_eq!(
                err.to_string(),
                format!(
                    "Anthropic's answer to the model list {how}: try again, and report it if it persists"
                ),
                "{body}"
            );
        }
        // No models is an answer in the documented shape, and a name is optional.
        let empty = r#"{"data":[],"has_more":false,"first_id":null,"last_id":null}"#;
        assert!(
            read_page(&HttpResponse::new(200, empty), KEY, Call::ModelList)
                .unwrap()
                .models
                .is_empty()
        );
        let unnamed = r#"{"data":[{"type":"model","id":"claude-x"}],"has_more":false}"#;
        assert_eq!(
            read_page(&HttpResponse::new(200, unnamed), KEY, Call::ModelList)
                .unwrap()
                .models,
            [ModelInfo::new("claude-x")]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_become_one_line_of_the_right_kind() {
        use ModelErrorKind as K;
        let cases: Vec<(Replies, K, &str)> = vec![
            (
                vec![error(401, "authentication_error", "invalid x-api-key")],
                K::CredentialRejected,
                "Anthropic rejected the key: HTTP 401 (authentication_error: invalid x-api-key)",
            ),
            (
                vec![error(403, "permission_error", "no")],
                K::InvalidRequest,
                "Anthropic answered HTTP 403 to the model list: the key may not list models: check the key's workspace in the Anthropic Console (Anthropic said: permission_error: no)",
            ),
            (
                vec![reply(404, "<html>")],
                K::InvalidRequest,
                "Anthropic answered HTTP 404 to the model list: no such endpoint: check the base URL points to Anthropic's API",
            ),
            (
                vec![error(429, "rate_limit_error", "slow down")],
                K::RateLimited,
                "Anthropic answered HTTP 429 to the model list: the account hit a rate limit: wait a minute and try again (Anthropic said: rate_limit_error: slow down)",
            ),
            (
                vec![error(529, "overloaded_error", "Overloaded")],
                K::Service,
                "Anthropic answered HTTP 529 to the model list: Anthropic's API is overloaded: try again in a minute (Anthropic said: overloaded_error: Overloaded)",
            ),
            (
                vec![reply(500, "")],
                K::Service,
                "Anthropic answered HTTP 500 to the model list: Anthropic failed to answer: try again in a minute",
            ),
            (
                vec![error(400, "invalid_request_error", "limit: too big")],
                K::InvalidRequest,
                "Anthropic answered HTTP 400 to the model list: the request was refused (Anthropic said: invalid_request_error: limit: too big)",
            ),
        ];
        for (replies, kind, want) in cases {
            let err = list(replies).await.unwrap_err();
            assert_eq!(err.kind(), kind, "{err}");
            assert_eq!(ErrorChain(&err).to_string(), want);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_503_is_asked_once_more_and_no_answer_is_a_network_failure() {
        let got = list(vec![reply(503, ""), page(&[("claude-x", "X")], false)])
            .await
            .unwrap();
        assert_eq!(got, [ModelInfo::new("claude-x").with_name("X")]);
        let refused = || {
            Err(HttpError::Connect {
                host: "127.0.0.1".to_owned(),
                reason: "connection refused".to_owned(),
            })
        };
        let err = list(vec![refused(), refused()]).await.unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::Network);
        assert_eq!(err.to_string(), "Anthropic could not be reached");
    }

    #[tokio::test]
    async fn the_check_lists_one_model_and_maps_answers_like_the_list() {
        let (ctx, http) = context(vec![page(
            &[("claude-sonnet-5-5", "Claude Sonnet 5.5")],
            true,
        )]);
        ModelsCheck.check(&ctx).await.unwrap();
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "http://127.0.0.1:1/v1/models?limit=1");
        assert_eq!(header(sent, "x-api-key"), Some(KEY));
        assert_eq!(header(sent, "anthropic-version"), Some("2023-06-01"));
        assert_eq!(http.requests().len(), 1, "the check reads one page only");

        let cases: Vec<(Replies, ModelErrorKind, &str)> = vec![
            (
                vec![error(401, "authentication_error", "invalid x-api-key")],
                ModelErrorKind::CredentialRejected,
                "Anthropic rejected the key: HTTP 401 (authentication_error: invalid x-api-key)",
            ),
            (
                vec![reply(200, r#"{"type":"message"}"#)],
                ModelErrorKind::BadResponse,
                "Anthropic's answer to the key check is not the JSON it should be: try again, and report it if it persists",
            ),
            (
                vec![error(500, "api_error", "boom")],
                ModelErrorKind::Service,
                "Anthropic answered HTTP 500 to the key check: Anthropic failed to answer: try again in a minute (Anthropic said: api_error: boom)",
            ),
        ];
        for (replies, kind, want) in cases {
            let (ctx, _) = context(replies);
            let err = ModelsCheck.check(&ctx).await.unwrap_err();
            assert_eq!(err.kind(), kind, "{err}");
            assert_eq!(ErrorChain(&err).to_string(), want);
        }
    }

    #[tokio::test]
    async fn the_key_never_shows_even_when_anthropic_echoes_it() {
        for status in [400, 401, 403, 500] {
            let message = format!("bad key {}", KEY.to_uppercase());
            let err = list(vec![error(status, "x_error", &message)])
                .await
                .unwrap_err();
            let shown = format!("{} {err:?}", ErrorChain(&err));
            assert!(!shows_secret(&shown, KEY), "{shown}");
        }
    }

    #[tokio::test]
    async fn an_unusable_base_url_is_a_config_error_and_nothing_is_sent() {
        let (mut ctx, http) = context(vec![]);
        ctx.host.env.insert(
            BASE_URL_ENV.to_owned(),
            "http://api.anthropic.com".to_owned(),
        );
        assert_eq!(
            ModelsLister.list(&ctx).await.unwrap_err().kind(),
            ModelErrorKind::Config
        );
        assert_eq!(
            ModelsCheck.check(&ctx).await.unwrap_err().kind(),
            ModelErrorKind::Config
        );
        assert!(http.requests().is_empty());
    }
}
