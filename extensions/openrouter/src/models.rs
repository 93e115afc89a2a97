//! The `model.list` capability: `GET <base>/models` with the resolved key as a Bearer token,
//! read as OpenRouter's Models API documents it (`{"data":[{"id","name","pricing",...}]}`,
//! <https://openrouter.ai/docs/api/api-reference/models/get-models>).
//!
//! The key is sent as OpenRouter's API reference declares for every endpoint, but this list is
//! public: OpenRouter answers it without a key and does not check one sent with it, so a
//! listing says nothing about the key (the key check, [`crate::KeyCheck`], does). A 401, should
//! OpenRouter ever answer one here, is still read as a rejected key.
//!
//! A model is marked free when its id is one of OpenRouter's `:free` variants, or when every
//! price OpenRouter lists for it is zero (a model offered free without a `:free` twin). A price
//! of `-1` (the `openrouter/auto` router: the price of whichever model it picks) is not zero.

use plugboard_core::{
    HttpRequest, HttpResponse, ModelContext, ModelError, ModelInfo, ModelLister, async_trait,
};
use plugboard_http::send_with_retry;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::endpoints::Endpoints;
use crate::refusal::{Call, malformed, refusal};
use crate::service_text::SERVICE;

/// OpenRouter lists several hundred models with descriptions and prices: a little over a MiB
/// today. 16 MiB leaves room for the catalogue to grow many times over while keeping a hostile
/// or broken answer from filling memory.
pub(crate) const MAX_MODELS_RESPONSE: usize = 16 * 1024 * 1024;

/// OpenRouter's client SDKs document an optional `links.next` for a list cut into pages; the
/// listing follows it, but never for more pages than this.
const MAX_PAGES: usize = 20;

/// The variant suffix OpenRouter gives a model's free-to-call twin.
const FREE_SUFFIX: &str = ":free";

/// Lists OpenRouter's models through its Models API.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelsLister;

#[async_trait]
impl ModelLister for ModelsLister {
    async fn list(&self, ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError> {
        let endpoints =
            Endpoints::from_host(&ctx.host).map_err(|e| ModelError::Config(e.to_string()))?;
        let key = ctx.credential.expose_secret();
        let base = endpoints.models_url();
        let mut models = Vec::new();
        let mut query: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let url = match &query {
                Some(query) => format!("{base}?{query}"),
                None => base.clone(),
            };
            let response = get(ctx, url, key, MAX_MODELS_RESPONSE).await?;
            let page = read_page(&response, key)?;
            models.extend(page.models);
            match page.next {
                None => return Ok(models),
                // The same page again would be asked for until the bound: say so at once.
                Some(next) if query.as_deref() == Some(next.as_str()) => {
                    return Err(malformed(Call::ModelList, "points to the same page again"));
                }
                Some(next) => query = Some(next),
            }
        }
        Err(malformed(
            Call::ModelList,
            &format!("goes on for more than {MAX_PAGES} pages"),
        ))
    }
}

/// A `GET` of `url` with `key` as a Bearer token, retried once where that is safe.
pub(crate) async fn get(
    ctx: &ModelContext,
    url: String,
    key: &str,
    max_response_bytes: usize,
) -> Result<HttpResponse, ModelError> {
    let request = HttpRequest::get(url)
        .with_header("authorization", format!("Bearer {key}"))
        .with_max_response_bytes(max_response_bytes);
    send_with_retry(ctx.host.http_client.as_ref(), request)
        .await
        .map_err(|source| ModelError::Network {
            service: SERVICE.to_owned(),
            source,
        })
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<Value>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

/// One page: its models, and the query of the next page when there is one.
#[derive(Debug)]
struct Page {
    models: Vec<ModelInfo>,
    next: Option<String>,
}

fn read_page(response: &HttpResponse, key: &str) -> Result<Page, ModelError> {
    if !response.is_success() {
        return Err(refusal(Call::ModelList, response, key));
    }
    let list: ModelList = serde_json::from_slice(&response.body)
        .map_err(|_| malformed(Call::ModelList, "is not the JSON it should be"))?;
    let models = list
        .data
        .iter()
        .map(model)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| malformed(Call::ModelList, "has a model without an id"))?;
    // Only the query of `next` is used, on this provider's own models URL: the link is a path
    // from OpenRouter's origin, which a base URL on another path (a proxy) does not share. A
    // `next` is there only when there is a next page, so one without a query cannot be taken
    // for the end: the list would show part of the catalogue as all of it.
    let next = match list.links.and_then(|links| links.next) {
        None => None,
        Some(next) if next.is_empty() => None,
        Some(next) => match next.split_once('?') {
            Some((_, query)) if !query.is_empty() => Some(query.to_owned()),
            _ => {
                return Err(malformed(
                    Call::ModelList,
                    "points to a next page without a query",
                ));
            }
        },
    };
    Ok(Page { models, next })
}

/// One entry of `data`: its id (required, a non-empty string), its display name, and whether
/// it is free.
fn model(entry: &Value) -> Option<ModelInfo> {
    let id = entry.get("id")?.as_str().filter(|id| !id.is_empty())?;
    let pricing = entry.get("pricing").and_then(Value::as_object);
    let mut info = ModelInfo::new(id).free(is_free(id, pricing));
    if let Some(name) = entry.get("name").and_then(Value::as_str) {
        info = info.with_name(name);
    }
    Some(info)
}

/// A `:free` variant, or a model all of whose listed prices are zero.
fn is_free(id: &str, pricing: Option<&Map<String, Value>>) -> bool {
    id.ends_with(FREE_SUFFIX)
        || pricing.is_some_and(|prices| !prices.is_empty() && prices.values().all(costs_nothing))
}

/// OpenRouter writes prices as decimal strings (`"0"`, `"0.000003"`); a number is read the
/// same way. Anything else (`"-1"`, text, null) is not a price of zero.
fn costs_nothing(price: &Value) -> bool {
    let amount = match price {
        Value::String(text) => text.trim().parse::<f64>().ok(),
        Value::Number(number) => number.as_f64(),
        _ => None,
    };
    amount == Some(0.0)
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, HttpError, ModelErrorKind, shows_secret};
    use serde_json::json;

    use super::*;
    use crate::provider::BASE_URL_ENV;
    use crate::test_support::{KEY, Replies, context, reply};

    async fn list(
        replies: Vec<Result<HttpResponse, HttpError>>,
    ) -> Result<Vec<ModelInfo>, ModelError> {
        let (ctx, _) = context(replies);
        ModelsLister.list(&ctx).await
    }

    #[tokio::test]
    async fn the_list_is_asked_for_with_the_key_as_bearer() {
        let body = json!({"data": [{"id": "openrouter/auto", "name": "Auto Router"}]});
        let (ctx, http) = context(vec![reply(200, &body.to_string())]);
        let got = ModelsLister.list(&ctx).await.unwrap();
        assert_eq!(
            got,
            [ModelInfo::new("openrouter/auto").with_name("Auto Router")]
        );
        let sent = &http.requests()[0];
        assert_eq!(sent.method.as_str(), "GET");
        assert_eq!(sent.url, "http://127.0.0.1:1/api/v1/models");
        assert_eq!(
            sent.headers,
            [("authorization".to_owned(), format!("Bearer {KEY}"))]
        );
        assert_eq!(sent.max_response_bytes, MAX_MODELS_RESPONSE);
        assert!(sent.body.is_none());
    }

    #[test]
    fn entries_become_models_in_order_with_names_and_free_marks() {
        let price =
            |prompt: Value, completion: Value| json!({"prompt": prompt, "completion": completion});
        // (entry, id, name, free)
        let cases = [
            (
                json!({"id": "liquid/lfm-2.5-1.2b-instruct:free", "name": "LFM (free)", "pricing": price(json!("0"), json!("0"))}),
                "liquid/lfm-2.5-1.2b-instruct:free",
                Some("LFM (free)"),
                true,
            ),
            // The suffix alone marks it, whatever the prices say.
            (
                json!({"id": "meta/llama:free"}),
                "meta/llama:free",
                None,
                true,
            ),
            // Every listed price zero, without the suffix.
            (
                json!({"id": "x/zero", "pricing": {"prompt": "0", "completion": "0.0", "request": "0", "image": 0}}),
                "x/zero",
                None,
                true,
            ),
            (
                json!({"id": "openai/gpt-5", "name": "GPT-5", "pricing": price(json!("0.00000125"), json!("0.00001"))}),
                "openai/gpt-5",
                Some("GPT-5"),
                false,
            ),
            // Free prompts but a priced completion is not free.
            (
                json!({"id": "x/half", "pricing": price(json!("0"), json!("0.000002"))}),
                "x/half",
                None,
                false,
            ),
            // A zero prompt and completion with a priced request is not free.
            (
                json!({"id": "x/per-request", "pricing": {"prompt": "0", "completion": "0", "request": "0.01"}}),
                "x/per-request",
                None,
                false,
            ),
            // The router's "-1": the price of whichever model it picks.
            (
                json!({"id": "openrouter/auto", "pricing": price(json!("-1"), json!("-1"))}),
                "openrouter/auto",
                None,
                false,
            ),
            (
                json!({"id": "x/odd", "pricing": price(json!("free"), json!(null))}),
                "x/odd",
                None,
                false,
            ),
            (
                json!({"id": "x/no-prices", "pricing": {}}),
                "x/no-prices",
                None,
                false,
            ),
            // ":free" only counts as the suffix.
            (
                json!({"id": "x/free:extended", "name": 7}),
                "x/free:extended",
                None,
                false,
            ),
        ];
        let body = json!({"data": cases.iter().map(|c| c.0.clone()).collect::<Vec<_>>()});
        let page = read_page(&HttpResponse::new(200, body.to_string()), KEY).unwrap();
        assert_eq!(page.next, None);
        assert_eq!(page.models.len(), cases.len());
        for (got, (entry, id, name, free)) in page.models.iter().zip(&cases) {
            assert_eq!(got.id, *id, "{entry}");
            assert_eq!(got.name.as_deref(), *name, "{entry}");
            assert_eq!(got.free, *free, "{entry}");
        }
    }

    #[test]
    fn an_answer_not_in_the_documented_shape_is_a_bad_response() {
        for body in [
            "<html>",
            "{}",
            "[]",
            r#"{"data":{}}"#,
            r#"{"data":[{"name":"no id"}]}"#,
            r#"{"data":[{"id":""}]}"#,
            r#"{"data":[{"id":7}]}"#,
            r#"{"data":["openai/gpt-5"]}"#,
        ] {
            let err = read_page(&HttpResponse::new(200, body), KEY).unwrap_err();
            assert_eq!(err.kind(), ModelErrorKind::BadResponse, "{body}: {err}");
        }
        assert_eq!(
            read_page(&HttpResponse::new(200, "{}"), KEY)
                .unwrap_err()
                .to_string(),
            "OpenRouter's model list is not the JSON it should be: try again, and report it if it persists"
        );
        // An empty list is an answer in the documented shape.
        let page = read_page(&HttpResponse::new(200, r#"{"data":[]}"#), KEY).unwrap();
        assert!(page.models.is_empty());
    }

    #[tokio::test]
    async fn links_next_is_followed_on_this_providers_models_url() {
        let first =
            json!({"data": [{"id": "a/1"}], "links": {"next": "/api/v1/models?offset=1&limit=1"}});
        let second = json!({"data": [{"id": "b/2:free"}], "links": {"next": null}});
        let (ctx, http) = context(vec![
            reply(200, &first.to_string()),
            reply(200, &second.to_string()),
        ]);
        let got = ModelsLister.list(&ctx).await.unwrap();
        assert_eq!(
            got,
            [ModelInfo::new("a/1"), ModelInfo::new("b/2:free").free(true)]
        );
        let urls: Vec<String> = http.requests().into_iter().map(|r| r.url).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:1/api/v1/models",
                "http://127.0.0.1:1/api/v1/models?offset=1&limit=1",
            ]
        );
    }

    #[test]
    fn a_next_link_without_a_query_is_a_bad_response_not_the_end() {
        for next in ["/api/v1/models/page/2", "/api/v1/models?"] {
            let body = json!({"data": [{"id": "a/1"}], "links": {"next": next}});
            let err = read_page(&HttpResponse::new(200, body.to_string()), KEY).unwrap_err();
            assert_eq!(
                err.to_string(),
                "OpenRouter's model list points to a next page without a query: try again, and report it if it persists",
                "{next}"
            );
        }
        // No link, a null one or an empty one: the last page.
        for links in [
            json!(null),
            json!({}),
            json!({"next": null}),
            json!({"next": ""}),
        ] {
            let body = json!({"data": [{"id": "a/1"}], "links": links});
            let page = read_page(&HttpResponse::new(200, body.to_string()), KEY).unwrap();
            assert_eq!(page.next, None, "{links}");
        }
    }

    #[tokio::test]
    async fn a_next_link_that_never_ends_is_a_bad_response_not_a_loop() {
        let same = json!({"data": [{"id": "a/1"}], "links": {"next": "/api/v1/models?offset=1"}});
        let err = list(vec![
            reply(200, &same.to_string()),
            reply(200, &same.to_string()),
        ])
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "OpenRouter's model list points to the same page again: try again, and report it if it persists"
        );
        let pages: Vec<_> = (0..=MAX_PAGES)
            .map(|n| {
                let body = json!({"data": [], "links": {"next": format!("/api/v1/models?offset={}", n + 1)}});
                reply(200, &body.to_string())
            })
            .collect();
        let err = list(pages).await.unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::BadResponse);
        assert!(err.to_string().contains("more than 20 pages"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_become_one_line_of_the_right_kind() {
        use ModelErrorKind as K;
        let cases: Vec<(Replies, K, &str)> = vec![
            (
                vec![reply(
                    401,
                    r#"{"error":{"code":401,"message":"User not found."}}"#,
                )],
                K::CredentialRejected,
                "OpenRouter rejected the key: HTTP 401 (User not found.)",
            ),
            (
                vec![reply(
                    402,
                    r#"{"error":{"code":402,"message":"Insufficient credits"}}"#,
                )],
                K::RateLimited,
                "OpenRouter answered HTTP 402 to the model list: the account is out of credits: add credits at https://openrouter.ai/settings/credits (OpenRouter said: Insufficient credits)",
            ),
            (
                vec![reply(429, "")],
                K::RateLimited,
                "OpenRouter answered HTTP 429 to the model list: too many requests: wait a minute and try again",
            ),
            (
                vec![reply(404, "<html>not here</html>")],
                K::InvalidRequest,
                "OpenRouter answered HTTP 404 to the model list: the request was refused: check the base URL points to OpenRouter's API",
            ),
            (
                vec![reply(500, "oops")],
                K::Service,
                "OpenRouter answered HTTP 500 to the model list: OpenRouter failed: try again in a minute",
            ),
        ];
        for (replies, kind, want) in cases {
            let err = list(replies).await.unwrap_err();
            assert_eq!(err.kind(), kind, "{err}");
            assert_eq!(ErrorChain(&err).to_string(), want);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_503_is_asked_once_more() {
        let got = list(vec![
            reply(503, ""),
            reply(200, r#"{"data":[{"id":"a/1"}]}"#),
        ])
        .await
        .unwrap();
        assert_eq!(got, [ModelInfo::new("a/1")]);
    }

    #[tokio::test(start_paused = true)]
    async fn no_answer_is_a_network_failure_naming_only_the_service() {
        let refused = || {
            Err(HttpError::Connect {
                host: "127.0.0.1".to_owned(),
                reason: "connection refused".to_owned(),
            })
        };
        let err = list(vec![refused(), refused()]).await.unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::Network);
        assert_eq!(err.to_string(), "OpenRouter could not be reached");
    }

    #[tokio::test]
    async fn the_key_never_shows_even_when_openrouter_echoes_it() {
        for status in [401, 402, 404, 500] {
            let body = json!({"error": {"code": status, "message": format!("bad key {}", KEY.to_uppercase())}});
            let err = list(vec![reply(status, &body.to_string())])
                .await
                .unwrap_err();
            let shown = format!("{} {err:?}", ErrorChain(&err));
            assert!(!shows_secret(&shown, KEY), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
    }

    #[tokio::test]
    async fn an_unusable_base_url_is_a_config_error_and_nothing_is_sent() {
        let (mut ctx, http) = context(vec![]);
        ctx.host.env.insert(
            BASE_URL_ENV.to_owned(),
            "http://openrouter.ai/api/v1".to_owned(),
        );
        let err = ModelsLister.list(&ctx).await.unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::Config);
        assert!(http.requests().is_empty());
    }
}
