//! The `model.list` capability: `GET <endpoints.api>/models` with the cached Copilot token and
//! the editor identity headers, read as Zed's `request_models` and copilot-api's `getModels`
//! read it: `{"data": [{"id", "name", "vendor", "capabilities": {"type", ...}, "policy":
//! {"state"}, "billing": {"is_premium", "multiplier"}, ...}], "object": "list"}`.
//!
//! Listed: the chat models (`capabilities.type` `chat`; embeddings models cannot run a
//! prompt), without those whose `policy.state` is not `enabled` (Copilot refuses them until
//! the user enables them in their settings, which is why Zed leaves them out), once each in
//! the service's order. A model whose `billing.multiplier` is 0 uses none of the plan's
//! premium requests, so it is marked free.

use std::collections::HashSet;
use std::time::SystemTime;

use plugboard_core::{ModelContext, ModelError, ModelInfo, ModelLister, async_trait};
use serde::Deserialize;
use serde_json::Value;

use crate::copilot_api::{malformed, refusal, secrets, send, session_for_use};

/// Where the model list is, under the Copilot API.
pub(crate) const MODELS_PATH: &str = "/models";

/// The list describes every model at length (limits, policies, terms); 1 MiB is far above it.
const MAX_MODELS_RESPONSE: usize = 1024 * 1024;

/// How messages name this call.
const WHAT: &str = "the model list";

/// Lists the models of the account's Copilot plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelsLister;

#[async_trait]
impl ModelLister for ModelsLister {
    async fn list(&self, ctx: &ModelContext) -> Result<Vec<ModelInfo>, ModelError> {
        // As for a model call: no clock in the context, and the expiry is GitHub's wall time.
        let session = session_for_use(&ctx.credential, SystemTime::now())?;
        let request = session
            .get(MODELS_PATH)
            .with_max_response_bytes(MAX_MODELS_RESPONSE);
        let response = send(ctx, request).await?;
        if !response.is_success() {
            return Err(refusal(&response, &secrets(&ctx.credential), WHAT));
        }
        parse_models(&response.body)
    }
}

#[derive(Deserialize)]
struct ModelsReply {
    data: Vec<Value>,
}

#[derive(Deserialize)]
struct Model {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    capabilities: Option<Capabilities>,
    #[serde(default)]
    policy: Option<Policy>,
    #[serde(default)]
    billing: Option<Billing>,
}

#[derive(Deserialize)]
struct Capabilities {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Policy {
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct Billing {
    #[serde(default)]
    multiplier: Option<f64>,
}

/// The models a list answer names, or why it is not one.
pub(crate) fn parse_models(body: &[u8]) -> Result<Vec<ModelInfo>, ModelError> {
    let reply: ModelsReply = serde_json::from_slice(body).map_err(|_| {
        malformed(
            WHAT,
            "is not the JSON it should be (an object with a data list)",
        )
    })?;
    let mut seen = HashSet::new();
    let mut models = Vec::new();
    // One entry Copilot describes in a way this code does not know is skipped, not fatal: the
    // list changes shape as models are added (Zed skips such entries too).
    for model in reply
        .data
        .into_iter()
        .filter_map(|entry| serde_json::from_value::<Model>(entry).ok())
    {
        let id = model.id.trim();
        let chat = model
            .capabilities
            .as_ref()
            .and_then(|c| c.kind.as_deref())
            .is_none_or(|kind| kind == "chat");
        let enabled = model
            .policy
            .as_ref()
            .and_then(|p| p.state.as_deref())
            .is_none_or(|state| state == "enabled");
        if id.is_empty() || !chat || !enabled || !seen.insert(id.to_owned()) {
            continue;
        }
        let free = model
            .billing
            .as_ref()
            .and_then(|b| b.multiplier)
            .is_some_and(|m| m == 0.0);
        let mut info = ModelInfo::new(id).free(free);
        if let Some(name) = model
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
        {
            info = info.with_name(name);
        }
        models.push(info);
    }
    Ok(models)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use plugboard_core::{
        Credential, HostServices, HttpResponse, ModelErrorKind, OAuthTokens, Provenance,
        ScriptedHttp, SessionToken,
    };
    use serde_json::json;

    use super::*;

    fn entry(id: &str, name: &str, kind: &str, policy: Option<&str>, multiplier: f64) -> Value {
        let mut model = json!({
            "id": id, "name": name, "object": "model", "vendor": "OpenAI", "version": id,
            "preview": false, "model_picker_enabled": true,
            "is_chat_default": false, "is_chat_fallback": false,
            "capabilities": {"family": id, "object": "model_capabilities", "type": kind,
                             "tokenizer": "o200k_base",
                             "limits": {"max_context_window_tokens": 128_000,
                                        "max_output_tokens": 16_384},
                             "supports": {"streaming": true, "tool_calls": true}},
            "billing": {"is_premium": multiplier > 0.0, "multiplier": multiplier},
        });
        if let Some(state) = policy {
            model["policy"] = json!({"state": state, "terms": "Enable access (fixture)."});
        }
        model
    }

    #[test]
    fn the_list_keeps_enabled_chat_models_once_each_and_marks_the_included_ones_free() {
        // (data, ids, free ids)
        let cases: Vec<(Value, Vec<&str>, Vec<&str>)> = vec![
            (
                json!([
                    entry("gpt-4.1", "GPT-4.1", "chat", None, 0.0),
                    entry(
                        "claude-sonnet-4",
                        "Claude Sonnet 4",
                        "chat",
                        Some("enabled"),
                        1.0
                    ),
                    entry(
                        "text-embedding-3-small",
                        "Embedding V3 small",
                        "embeddings",
                        None,
                        0.0
                    ),
                    entry(
                        "claude-opus-4",
                        "Claude Opus 4",
                        "chat",
                        Some("requires_consent"),
                        10.0
                    ),
                    entry("gpt-4.1", "GPT-4.1 (again)", "chat", None, 0.0),
                ]),
                vec!["gpt-4.1", "claude-sonnet-4"],
                vec!["gpt-4.1"],
            ),
            (
                json!([{"id": "bare"}, {"some-unknown-field": 1}, {"id": "  "}, {"id": 5}]),
                vec!["bare"],
                vec![],
            ),
            (json!([]), vec![], vec![]),
        ];
        for (data, ids, free) in cases {
            let body = json!({"data": data, "object": "list"}).to_string();
            let models = parse_models(body.as_bytes()).unwrap();
            let got: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
            assert_eq!(got, ids, "{body}");
            let got: Vec<&str> = models
                .iter()
                .filter(|m| m.free)
                .map(|m| m.id.as_str())
                .collect();
            assert_eq!(got, free, "{body}");
        }
        let body = json!({"data": [entry("gpt-4.1", "GPT-4.1", "chat", None, 0.0)]}).to_string();
        assert_eq!(
            parse_models(body.as_bytes()).unwrap()[0].name.as_deref(),
            Some("GPT-4.1")
        );
    }

    #[test]
    fn an_answer_that_is_not_a_model_list_is_a_bad_response() {
        for body in ["<html>", r#"{"models": []}"#, r#"{"data": {}}"#, "[]"] {
            let err = parse_models(body.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), ModelErrorKind::BadResponse, "{body}");
        }
    }

    fn credential(expires_at: u64) -> Credential {
        let mut tokens = OAuthTokens::new("ghu_github".to_owned().into());
        tokens.session = Some(SessionToken {
            token: "cop-1".to_owned().into(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(expires_at),
            endpoint: Some("http://127.0.0.1:9/copilot-api".to_owned()),
        });
        Credential::oauth(tokens, Provenance::new())
    }

    #[tokio::test]
    async fn the_list_is_asked_of_the_sessions_api_and_an_expired_session_sends_nothing() {
        let body = json!({"data": [entry("gpt-4.1", "GPT-4.1", "chat", None, 0.0)]}).to_string();
        let http = Arc::new(ScriptedHttp::new([Ok(HttpResponse::new(
            200,
            body.clone(),
        ))]));
        let host = HostServices::default().with_http_client(http.clone());
        let models = ModelsLister
            .list(&ModelContext::new(credential(4_102_444_800), host.clone()))
            .await
            .unwrap();
        assert_eq!(models.len(), 1);
        assert_eq!(
            http.requests()[0].url,
            "http://127.0.0.1:9/copilot-api/models"
        );

        let http = Arc::new(ScriptedHttp::new([Ok(HttpResponse::new(200, body))]));
        let host = HostServices::default().with_http_client(http.clone());
        let err = ModelsLister
            .list(&ModelContext::new(credential(1_000), host))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ModelErrorKind::CredentialExpired);
        assert!(http.requests().is_empty());
    }
}
