//! The model list (`GET /api/v1/models`) in OpenRouter's shape: `{"data":[{"id",
//! "canonical_slug","name","created","context_length","pricing":{...}},...]}`, prices as
//! decimal strings per token.
//!
//! OpenRouter publishes its list without a key and does not check one sent with it: a key it
//! never issued, or one revoked, gets the same 200 and the same list (clients that tried to
//! validate a key this way found so, e.g. charmbracelet/crush#997, accomplish-ai/coworker#208).
//! The double does the same, so only the key endpoint tells a client what OpenRouter thinks of
//! a key.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::Reply;
use super::faults::{apply_fault, generic_fault, oversized};
use super::keys::UNKNOWN_KEY;
use super::response::{error, ok_json};
use crate::fault::{Endpoint, Fault};
use crate::state::Shared;

/// One model the double lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenRouterModel {
    /// What a chat completion's `model` takes (`liquid/lfm-2.5-1.2b-instruct:free`).
    pub id: &'static str,
    /// The display name.
    pub name: &'static str,
    /// USD per prompt token, as OpenRouter writes it (`"0"`, `"0.00000125"`; `"-1"` for the
    /// router, whose price is the chosen model's).
    pub prompt_price: &'static str,
    /// USD per completion token, written the same way.
    pub completion_price: &'static str,
}

/// The models `GET /api/v1/models` lists, in this order: the router, two `:free` variants, a
/// priced model and a model whose every price is zero without the `:free` suffix.
pub const MODELS: [OpenRouterModel; 5] = [
    OpenRouterModel {
        id: "openrouter/auto",
        name: "Auto Router",
        prompt_price: "-1",
        completion_price: "-1",
    },
    OpenRouterModel {
        id: "liquid/lfm-2.5-1.2b-instruct:free",
        name: "LiquidAI: LFM2.5-1.2B-Instruct (free)",
        prompt_price: "0",
        completion_price: "0",
    },
    OpenRouterModel {
        id: "meta-llama/llama-3.3-70b-instruct:free",
        name: "Meta: Llama 3.3 70B Instruct (free)",
        prompt_price: "0",
        completion_price: "0",
    },
    OpenRouterModel {
        id: "openai/gpt-5",
        name: "OpenAI: GPT-5",
        prompt_price: "0.00000125",
        completion_price: "0.00001",
    },
    OpenRouterModel {
        id: "openrouter/free-preview",
        name: "Free preview",
        prompt_price: "0",
        completion_price: "0",
    },
];

pub(super) async fn list(shared: &Shared) -> Reply {
    match apply_fault(shared, Endpoint::Models).await {
        Some(Fault::MissingKey) => return ok_json(&json!({})),
        Some(Fault::EmptyKey) => return ok_json(&json!({ "data": [] })),
        Some(Fault::ReusedCode) => return error(StatusCode::UNAUTHORIZED, UNKNOWN_KEY),
        Some(Fault::Oversized) => return oversized(r#"{"data":[{"id":"openai/gpt-5","#.into()),
        Some(fault) => return generic_fault(fault),
        None => {}
    }
    let data: Vec<Value> = MODELS.iter().map(entry).collect();
    ok_json(&json!({ "data": data }))
}

fn entry(model: &OpenRouterModel) -> Value {
    let slug = model.id.split(':').next().unwrap_or(model.id);
    json!({
        "id": model.id,
        "canonical_slug": slug,
        "name": model.name,
        "created": 1_767_225_600,
        "description": format!("{} (listed by the OpenRouter double)", model.name),
        "context_length": 131_072,
        "architecture": {
            "modality": "text->text",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": null,
        },
        "pricing": {
            "prompt": model.prompt_price,
            "completion": model.completion_price,
            "request": "0",
            "image": "0",
        },
        "top_provider": {
            "context_length": 131_072,
            "max_completion_tokens": 8192,
            "is_moderated": false,
        },
        "per_request_limits": null,
        "supported_parameters": ["max_tokens", "temperature"],
    })
}
