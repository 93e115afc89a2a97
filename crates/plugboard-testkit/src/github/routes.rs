//! The GitHub double's endpoints, answered the way GitHub and the Copilot API answer them:
//!
//! - `POST /login/device/code` and `POST /login/oauth/access_token`: GitHub's device flow
//!   ("Authorizing OAuth apps", section "Device flow"). Form or JSON bodies; JSON answers only
//!   to `Accept: application/json`, form-encoded ones otherwise; every state of a poll is HTTP
//!   200 with `error`, `error_description` and `error_uri`.
//! - `GET /copilot_internal/v2/token`: the Copilot token exchange (`Authorization: Bearer` or
//!   `token` with the GitHub token), answering `token`, `expires_at`, `refresh_in` and
//!   `endpoints`, or GitHub's REST errors (`{"message", "documentation_url"}`).
//! - `POST <api>/chat/completions` and `GET <api>/models` under [`COPILOT_API_PATH`]: the
//!   Copilot API, with the Copilot token as a Bearer token and the editor identity headers it
//!   requires. Its authentication failures are lines of plain text (`unauthorized: token
//!   expired`, `bad request: missing Editor-Version header for IDE auth`), its other errors
//!   OpenAI's `{"error": {"message", "code"}}`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::state::{CopilotTokenState, GitHubFault, GitHubRecord, PollAnswer, Shared};
use crate::body::{Body, full, response};
use crate::state::random_hex;

/// The client id of GitHub's Copilot editor integrations, the only one the double serves.
pub const GITHUB_COPILOT_CLIENT_ID: &str = "Iv1.b507a08c87ecfe98";
/// Where the token exchange's `endpoints.api` points, under the double's origin: a path of its
/// own, so a client that sends Copilot calls to the base URL instead of `endpoints.api` is
/// caught.
pub const COPILOT_API_PATH: &str = "/copilot-api";
/// What every chat completion says unless the prompt asks for something else with
/// `Reply exactly: <text>`.
pub const COPILOT_REPLY: &str = "copilot-ok";
/// The models the double serves: `(id, name, type, policy state, premium multiplier)`. The
/// list answers all of them; a chat completion accepts the chat models whose policy is
/// `enabled`.
pub const COPILOT_MODELS: [(&str, &str, &str, &str, f64); 5] = [
    ("gpt-4.1", "GPT-4.1", "chat", "enabled", 0.0),
    ("gpt-5-mini", "GPT-5 mini", "chat", "enabled", 0.0),
    ("claude-sonnet-4", "Claude Sonnet 4", "chat", "enabled", 1.0),
    (
        "claude-opus-4",
        "Claude Opus 4",
        "chat",
        "requires_consent",
        10.0,
    ),
    (
        "text-embedding-3-small",
        "Embedding V3 small",
        "embeddings",
        "enabled",
        0.0,
    ),
];
/// The answer (401, plain text) to a Copilot token that has expired.
pub const TOKEN_EXPIRED: &str = "unauthorized: token expired";
/// The answer (401, plain text) to a Copilot token the API does not know.
pub const TOKEN_UNKNOWN: &str = "unauthorized: AuthenticateToken authentication failed";
/// The answer (400, plain text) to a Copilot API call without `Editor-Version`.
pub const MISSING_EDITOR_VERSION: &str = "bad request: missing Editor-Version header for IDE auth";

const DEVICE_CODE: &str = "/login/device/code";
const ACCESS_TOKEN: &str = "/login/oauth/access_token";
const COPILOT_TOKEN: &str = "/copilot_internal/v2/token";
const DEVICE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const DEVICE_ERRORS_URI: &str = "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow";
const REST_DOCS: &str = "https://docs.github.com/rest";
/// Request bodies past this are refused: the sign-in sends a few fields, a test prompt little.
const MAX_BODY_BYTES: usize = 1024 * 1024;
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers one request and records it in the request log.
pub(super) async fn handle(
    shared: &Shared,
    origin: &str,
    request: Request<Incoming>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let mut record = GitHubRecord {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        status: 0,
        auth_scheme: header(headers, "authorization")
            .and_then(|a| a.split_whitespace().next().map(str::to_owned)),
        accept: header(headers, "accept"),
        content_type: header(headers, "content-type"),
        editor_version: header(headers, "editor-version"),
        editor_plugin_version: header(headers, "editor-plugin-version"),
        integration_id: header(headers, "copilot-integration-id"),
        model: None,
        stream: None,
    };
    let answer = route(shared, origin, &parts.method, headers, body, &mut record).await;
    let response = answer.into_response();
    record.status = response.status().as_u16();
    shared.record(record);
    response
}

/// An answer in one of the three shapes GitHub's endpoints use.
enum Answer {
    Json(StatusCode, Value),
    /// Form-encoded, what GitHub's OAuth endpoints send without `Accept: application/json`.
    Form(StatusCode, Vec<(String, String)>),
    /// A line of plain text, what the Copilot API sends for authentication failures.
    Text(StatusCode, String),
}

impl Answer {
    fn into_response(self) -> Response<Body> {
        let (status, content_type, body) = match self {
            Self::Json(status, value) => {
                (status, "application/json; charset=utf-8", value.to_string())
            }
            Self::Form(status, fields) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in &fields {
                    form.append_pair(name, value);
                }
                (
                    status,
                    "application/x-www-form-urlencoded; charset=utf-8",
                    form.finish(),
                )
            }
            Self::Text(status, line) => (status, "text/plain; charset=utf-8", format!("{line}\n")),
        };
        response(status, content_type, full(body))
    }
}

async fn route(
    shared: &Shared,
    origin: &str,
    method: &Method,
    headers: &HeaderMap,
    body: Incoming,
    record: &mut GitHubRecord,
) -> Answer {
    let path = record.path.clone();
    let chat = format!("{COPILOT_API_PATH}/chat/completions");
    let models = format!("{COPILOT_API_PATH}/models");
    let expected = match path.as_str() {
        DEVICE_CODE | ACCESS_TOKEN => Method::POST,
        COPILOT_TOKEN => Method::GET,
        p if p == chat => Method::POST,
        p if p == models => Method::GET,
        _ => return rest_error(StatusCode::NOT_FOUND, "Not Found"),
    };
    if *method != expected {
        return rest_error(StatusCode::NOT_FOUND, "Not Found");
    }
    match path.as_str() {
        DEVICE_CODE => match read_fields(headers, body).await {
            Ok(fields) => device_code(shared, origin, headers, &fields),
            Err(answer) => answer,
        },
        ACCESS_TOKEN => match read_fields(headers, body).await {
            Ok(fields) => access_token(shared, headers, &fields),
            Err(answer) => answer,
        },
        COPILOT_TOKEN => copilot_token(shared, origin, headers),
        p if p == models => copilot_call(shared, headers).unwrap_or_else(model_list),
        _ => match copilot_call(shared, headers) {
            Some(refused) => refused,
            None => match read_body(body).await {
                Ok(body) => chat_completion(&body, record),
                Err(answer) => answer,
            },
        },
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn read_body(body: Incoming) -> Result<Bytes, Answer> {
    let read = Limited::new(body, MAX_BODY_BYTES).collect();
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(Answer::Json(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"message": "Payload Too Large"}),
        )),
        _ => Err(Answer::Json(
            StatusCode::BAD_REQUEST,
            json!({"message": "Problems parsing request body"}),
        )),
    }
}

/// The fields of a form-encoded or JSON body, as GitHub's OAuth endpoints take either.
async fn read_fields(headers: &HeaderMap, body: Incoming) -> Result<Map<String, Value>, Answer> {
    let body = read_body(body).await?;
    let json = header(headers, "content-type").is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if json {
        return match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(fields)) => Ok(fields),
            _ => Err(Answer::Json(
                StatusCode::BAD_REQUEST,
                json!({"message": "Problems parsing JSON"}),
            )),
        };
    }
    Ok(url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect())
}

fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str)
}

/// An OAuth answer: JSON when the client asked for it, form-encoded otherwise, as GitHub does.
fn oauth_answer(headers: &HeaderMap, fields: Vec<(&str, Value)>) -> Answer {
    let wants_json = header(headers, "accept").is_some_and(|a| a.contains("application/json"));
    if wants_json {
        let object: Map<String, Value> =
            fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        return Answer::Json(StatusCode::OK, Value::Object(object));
    }
    let pairs = fields
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k.to_owned(), value)
        })
        .collect();
    Answer::Form(StatusCode::OK, pairs)
}

/// A device-flow error, as GitHub sends it: HTTP 200 with the code, a description and the
/// link to the docs' error table.
fn device_error(headers: &HeaderMap, error: &str, description: &str) -> Answer {
    oauth_answer(
        headers,
        vec![
            ("error", json!(error)),
            ("error_description", json!(description)),
            ("error_uri", json!(DEVICE_ERRORS_URI)),
        ],
    )
}

fn wrong_client(headers: &HeaderMap) -> Answer {
    device_error(
        headers,
        "incorrect_client_credentials",
        "The client_id and/or client_secret passed are incorrect.",
    )
}

fn device_code(
    shared: &Shared,
    origin: &str,
    headers: &HeaderMap,
    fields: &Map<String, Value>,
) -> Answer {
    if field(fields, "client_id") != Some(GITHUB_COPILOT_CLIENT_ID) {
        return wrong_client(headers);
    }
    let (device_code, user_code, settings) = shared.grant();
    oauth_answer(
        headers,
        vec![
            ("device_code", json!(device_code)),
            ("user_code", json!(user_code)),
            ("verification_uri", json!(format!("{origin}/login/device"))),
            ("expires_in", json!(settings.device_code_ttl.as_secs())),
            ("interval", json!(settings.interval.as_secs())),
        ],
    )
}

fn access_token(shared: &Shared, headers: &HeaderMap, fields: &Map<String, Value>) -> Answer {
    if field(fields, "client_id") != Some(GITHUB_COPILOT_CLIENT_ID) {
        return wrong_client(headers);
    }
    if field(fields, "grant_type") != Some(DEVICE_GRANT_TYPE) {
        return device_error(
            headers,
            "unsupported_grant_type",
            "The grant type is not supported.",
        );
    }
    let Some(code) = field(fields, "device_code") else {
        return device_error(
            headers,
            "incorrect_device_code",
            "The device_code provided is not valid.",
        );
    };
    match shared.poll(code) {
        PollAnswer::Pending => device_error(
            headers,
            "authorization_pending",
            "The authorization request is still pending.",
        ),
        PollAnswer::SlowDown(interval) => oauth_answer(
            headers,
            vec![
                ("error", json!("slow_down")),
                (
                    "error_description",
                    json!("Too many requests have been made in the same timeframe."),
                ),
                ("error_uri", json!(DEVICE_ERRORS_URI)),
                ("interval", json!(interval.as_secs())),
            ],
        ),
        PollAnswer::Expired => {
            device_error(headers, "expired_token", "The device_code has expired.")
        }
        PollAnswer::Denied => device_error(
            headers,
            "access_denied",
            "The authorization request was denied.",
        ),
        PollAnswer::UnknownCode => device_error(
            headers,
            "incorrect_device_code",
            "The device_code provided is not valid.",
        ),
        PollAnswer::Granted(token) => oauth_answer(
            headers,
            vec![
                ("access_token", json!(token)),
                ("token_type", json!("bearer")),
                // GitHub Apps grant permissions, not scopes: the scope comes back empty.
                ("scope", json!("")),
            ],
        ),
    }
}

/// A GitHub REST API error.
fn rest_error(status: StatusCode, message: &str) -> Answer {
    Answer::Json(
        status,
        json!({"message": message, "documentation_url": REST_DOCS}),
    )
}

/// The credential of an `Authorization` header with `scheme` (compared as GitHub does,
/// ignoring case).
fn credential(headers: &HeaderMap, schemes: &[&str]) -> Option<String> {
    let value = header(headers, "authorization")?;
    let (scheme, credential) = value.trim().split_once(' ')?;
    schemes
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
        .then(|| credential.trim().to_owned())
}

fn copilot_token(shared: &Shared, origin: &str, headers: &HeaderMap) -> Answer {
    shared.count_exchange();
    // GitHub's REST API takes a token with either scheme.
    let Some(github_token) = credential(headers, &["Bearer", "token"]) else {
        return rest_error(StatusCode::UNAUTHORIZED, "Requires authentication");
    };
    match shared.fault() {
        Some(GitHubFault::RevokedGitHubTokens) => {
            return rest_error(StatusCode::UNAUTHORIZED, "Bad credentials");
        }
        Some(GitHubFault::NoCopilotAccess) => {
            let message = "No access to GitHub Copilot found. You are currently logged in as copilot-double-user.";
            return Answer::Json(
                StatusCode::FORBIDDEN,
                json!({
                    "error_details": {
                        "url": "https://github.com/features/copilot/plans",
                        "message": message,
                        "title": "Get started with GitHub Copilot",
                        "notification_id": "no_copilot_access",
                    },
                    "message": message,
                }),
            );
        }
        _ => {}
    }
    if !shared.github_token_is_valid(&github_token) {
        return rest_error(StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    let host = origin.trim_start_matches("http://");
    let (token, expires_at, ttl) = shared.issue_copilot_token(host);
    let api = format!("{origin}{COPILOT_API_PATH}");
    Answer::Json(
        StatusCode::OK,
        json!({
            "token": token,
            "expires_at": expires_at,
            // VS Code renews this long after the answer, five minutes before the expiry.
            "refresh_in": ttl.as_secs().saturating_sub(300),
            "endpoints": {
                "api": api,
                "origin-tracker": format!("{origin}/origin-tracker"),
                "proxy": format!("{origin}/proxy"),
                "telemetry": format!("{origin}/telemetry"),
            },
            "chat_enabled": true,
            "annotations_enabled": true,
            "individual": true,
            "sku": "copilot_for_individual",
            "tracking_id": random_hex(16),
        }),
    )
}

/// The Copilot API's checks on every call, in order: a Copilot token it knows and that has not
/// expired, then the editor identity headers. `None` when the call may go on.
fn copilot_call(shared: &Shared, headers: &HeaderMap) -> Option<Answer> {
    let unauthorized = |line: &str| Some(Answer::Text(StatusCode::UNAUTHORIZED, line.to_owned()));
    let Some(token) = credential(headers, &["Bearer"]) else {
        return unauthorized("unauthorized: missing authorization header");
    };
    match shared.copilot_token_state(&token) {
        CopilotTokenState::Live => {}
        CopilotTokenState::Expired => return unauthorized(TOKEN_EXPIRED),
        CopilotTokenState::Unknown => return unauthorized(TOKEN_UNKNOWN),
    }
    if header(headers, "editor-version").is_none() {
        return Some(Answer::Text(
            StatusCode::BAD_REQUEST,
            MISSING_EDITOR_VERSION.to_owned(),
        ));
    }
    if header(headers, "copilot-integration-id").is_none() {
        // The API's words as reported against hermes-agent (pull request #6806).
        return Some(Answer::Text(
            StatusCode::BAD_REQUEST,
            "bad request: missing required Copilot-Integration-Id header".to_owned(),
        ));
    }
    None
}

fn api_error(status: StatusCode, message: &str, code: &str) -> Answer {
    Answer::Json(
        status,
        json!({"error": {"message": message, "code": code, "param": null,
                         "type": "invalid_request_error"}}),
    )
}

fn chat_completion(body: &[u8], record: &mut GitHubRecord) -> Answer {
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "Invalid JSON body",
            "invalid_request_body",
        );
    };
    let Some(model) = request
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "model is required",
            "invalid_request_body",
        );
    };
    record.model = Some(model.clone());
    record.stream = request.get("stream").and_then(Value::as_bool);
    if record.stream == Some(true) {
        // A limit of the double, not Copilot's: it answers whole completions only.
        return api_error(
            StatusCode::BAD_REQUEST,
            "the Copilot double answers stream: false only",
            "invalid_request_body",
        );
    }
    let served = COPILOT_MODELS
        .iter()
        .any(|(id, _, kind, policy, _)| *id == model && *kind == "chat" && *policy == "enabled");
    if !served {
        return api_error(
            StatusCode::BAD_REQUEST,
            "The requested model is not supported.",
            "model_not_supported",
        );
    }
    let prompt = request
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|messages| {
            messages
                .iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
        .and_then(|m| m.get("content").and_then(Value::as_str));
    let Some(prompt) = prompt else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "messages: a user message is required",
            "invalid_request_body",
        );
    };
    let text = prompt
        .split_once("Reply exactly:")
        .map_or(COPILOT_REPLY, |(_, wanted)| wanted.trim());
    Answer::Json(
        StatusCode::OK,
        json!({
            "id": format!("chatcmpl-{}", random_hex(12)),
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt.split_whitespace().count(),
                      "completion_tokens": text.split_whitespace().count().max(1),
                      "total_tokens": prompt.split_whitespace().count()
                          + text.split_whitespace().count().max(1)},
        }),
    )
}

fn model_list() -> Answer {
    let data: Vec<Value> = COPILOT_MODELS
        .iter()
        .map(|(id, name, kind, policy, multiplier)| {
            json!({
                "id": id, "name": name, "object": "model", "vendor": "Azure OpenAI",
                "version": id, "preview": false, "model_picker_enabled": *kind == "chat",
                "is_chat_default": *id == "gpt-4.1", "is_chat_fallback": *id == "gpt-4.1",
                "billing": {"is_premium": *multiplier > 0.0, "multiplier": multiplier},
                "capabilities": {"family": id, "object": "model_capabilities", "type": kind,
                                 "tokenizer": "o200k_base",
                                 "limits": {"max_context_window_tokens": 128_000,
                                            "max_output_tokens": 16_384,
                                            "max_prompt_tokens": 128_000},
                                 "supports": {"streaming": true, "tool_calls": *kind == "chat"}},
                "policy": {"state": policy, "terms": "Enable access to this model (Copilot double)."},
            })
        })
        .collect();
    Answer::Json(StatusCode::OK, json!({"data": data, "object": "list"}))
}
