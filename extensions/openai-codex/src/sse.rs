//! Reading the Responses API's server-sent events from a whole body: the text of
//! `response.output_text.delta` events, the end at `response.completed`, the errors of
//! `response.failed` and `error` events (the events codex-rs's `codex-api/src/sse/responses.rs`
//! acts on). Events with data that is not JSON are skipped, as codex-rs skips them.

use serde_json::Value;

/// How a stream ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Streamed {
    /// `response.completed` arrived: the text of its deltas (or, when no delta came, of the
    /// completed response's `output_text` parts).
    Completed(String),
    /// `response.failed` or `error`: the error object the service sent.
    Failed(Value),
    /// `response.incomplete`: the reason the service gave, if any.
    Incomplete(Option<String>),
    /// The body ended before any of those: the stream was cut.
    Cut {
        /// Whether any event was read at all (a body with none is not an event stream).
        saw_events: bool,
    },
}

/// One event's data, joined from its `data:` lines.
fn events(body: &str) -> impl Iterator<Item = String> + '_ {
    let mut data: Vec<&str> = Vec::new();
    let mut lines = body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    std::iter::from_fn(move || {
        loop {
            match lines.next() {
                Some("") | None if !data.is_empty() => {
                    let joined = data.join("\n");
                    data.clear();
                    return Some(joined);
                }
                None => return None,
                Some(line) => {
                    if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.strip_prefix(' ').unwrap_or(value));
                    }
                    // `event:`, `id:`, `retry:` and comments add nothing: the JSON names its type.
                }
            }
        }
    })
}

/// Reads `body` up to the first event that ends the response.
pub(crate) fn read(body: &str) -> Streamed {
    let mut text = String::new();
    let mut saw_events = false;
    for data in events(body) {
        let Ok(event) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        let Some(kind) = event.get("type").and_then(Value::as_str) else {
            continue;
        };
        saw_events = true;
        match kind {
            "response.output_text.delta" => {
                if let Some(delta) = event.get("delta").and_then(Value::as_str) {
                    text.push_str(delta);
                }
            }
            "response.completed" => {
                if text.is_empty() {
                    text = output_text(event.get("response"));
                }
                return Streamed::Completed(text);
            }
            "response.failed" => {
                let error = event
                    .pointer("/response/error")
                    .cloned()
                    .unwrap_or(Value::Null);
                return Streamed::Failed(error);
            }
            "error" => {
                // Either `{"type":"error","code":..,"message":..}` or the error nested.
                let error = event.get("error").cloned().unwrap_or(event);
                return Streamed::Failed(error);
            }
            "response.incomplete" => {
                let reason = event
                    .pointer("/response/incomplete_details/reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                return Streamed::Incomplete(reason);
            }
            _ => {}
        }
    }
    Streamed::Cut { saw_events }
}

/// The `output_text` parts of a completed response's message items.
fn output_text(response: Option<&Value>) -> String {
    response
        .and_then(|r| r.get("output"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|item| item.get("type").and_then(Value::as_str) == Some("message"))
        .filter_map(|item| item.get("content").and_then(Value::as_array))
        .flatten()
        .filter(|part| part.get("type").and_then(Value::as_str) == Some("output_text"))
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stream(events: &[Value]) -> String {
        events
            .iter()
            .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
            .collect()
    }

    #[test]
    fn streams_end_as_the_service_said() {
        let delta = |d: &str| json!({"type": "response.output_text.delta", "delta": d});
        let completed = json!({"type": "response.completed", "response": {"id": "resp_1"}});
        let cases: Vec<(String, Streamed)> = vec![
            (
                stream(&[
                    json!({"type": "response.created", "response": {}}),
                    delta("Hel"),
                    delta("lo"),
                    completed.clone(),
                    delta("after the end"),
                ]),
                Streamed::Completed("Hello".into()),
            ),
            (
                stream(&[
                    json!({"type": "response.completed", "response": {"output": [
                        {"type": "reasoning", "summary": []},
                        {"type": "message", "content": [{"type": "output_text", "text": "whole"}]},
                    ]}}),
                ]),
                Streamed::Completed("whole".into()),
            ),
            (
                stream(&[
                    delta("x"),
                    json!({"type": "response.failed", "response": {"error": {"code": "server_error", "message": "boom"}}}),
                ]),
                Streamed::Failed(json!({"code": "server_error", "message": "boom"})),
            ),
            (
                stream(&[
                    json!({"type": "error", "code": "rate_limit_exceeded", "message": "slow down"}),
                ]),
                Streamed::Failed(
                    json!({"type": "error", "code": "rate_limit_exceeded", "message": "slow down"}),
                ),
            ),
            (
                stream(&[
                    json!({"type": "response.incomplete", "response": {"incomplete_details": {"reason": "max_output_tokens"}}}),
                ]),
                Streamed::Incomplete(Some("max_output_tokens".into())),
            ),
            (stream(&[delta("half")]), Streamed::Cut { saw_events: true }),
            (
                "<html>hello</html>".to_owned(),
                Streamed::Cut { saw_events: false },
            ),
            (String::new(), Streamed::Cut { saw_events: false }),
        ];
        for (body, want) in cases {
            assert_eq!(read(&body), want, "{body}");
        }
    }

    #[test]
    fn crlf_multi_line_data_comments_and_junk_are_read_like_a_browser_would() {
        let body = ": keep-alive\r\n\r\ndata: not json\r\n\r\nevent: response.output_text.delta\r\ndata: {\"type\":\"response.output_text.delta\",\r\ndata: \"delta\":\"a\\nb\"}\r\n\r\ndata: {\"type\":\"response.completed\",\"response\":{}}";
        assert_eq!(read(body), Streamed::Completed("a\nb".into()));
    }
}
