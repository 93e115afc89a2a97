//! The one safe retry every provider uses: once more after a short pause, and only when the
//! first try cannot have been acted on.

use std::time::Duration;

use plugboard_core::{HttpClient, HttpError, HttpRequest, HttpResponse};

// Long enough for a load balancer to swap a backend or a restarting service to come back,
// short enough that a person at the prompt hardly notices.
const RETRY_DELAY: Duration = Duration::from_millis(200);

/// Sends `request`, and once more after a short pause when no connection could be made or the
/// answer was 502, 503 or 504.
///
/// Nothing else is retried: a 4xx or 500 will not change, and a timed-out request may already
/// have been processed (a code exchange is single-use).
///
/// # Errors
///
/// The last attempt's [`HttpError`].
pub async fn send_with_retry(
    client: &dyn HttpClient,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let first = client.send(request.clone()).await;
    let worth_another = match &first {
        Ok(response) => matches!(response.status, 502..=504),
        Err(error) => error.is_connect(),
    };
    if !worth_another {
        return first;
    }
    tokio::time::sleep(RETRY_DELAY).await;
    client.send(request).await
}

#[cfg(test)]
mod tests {
    use plugboard_core::ScriptedHttp;

    use super::*;

    fn connect_error() -> HttpError {
        HttpError::Connect {
            host: "auth.test".to_owned(),
            reason: "connection refused".to_owned(),
        }
    }

    fn timeout_error() -> HttpError {
        HttpError::Timeout {
            host: "auth.test".to_owned(),
            seconds: 30,
        }
    }

    fn reply(status: u16) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, format!("{status}")))
    }

    #[tokio::test(start_paused = true)]
    async fn retries_once_only_when_no_connection_or_a_gateway_error() {
        struct Case {
            name: &'static str,
            replies: Vec<Result<HttpResponse, HttpError>>,
            sent: usize,
            outcome: Result<u16, HttpError>,
        }
        let cases = [
            Case {
                name: "503 then 200",
                replies: vec![reply(503), reply(200)],
                sent: 2,
                outcome: Ok(200),
            },
            Case {
                name: "502 then 200",
                replies: vec![reply(502), reply(200)],
                sent: 2,
                outcome: Ok(200),
            },
            Case {
                name: "504 then 200",
                replies: vec![reply(504), reply(200)],
                sent: 2,
                outcome: Ok(200),
            },
            Case {
                name: "connect error then 200",
                replies: vec![Err(connect_error()), reply(200)],
                sent: 2,
                outcome: Ok(200),
            },
            Case {
                name: "503 twice",
                replies: vec![reply(503), reply(503), reply(200)],
                sent: 2,
                outcome: Ok(503),
            },
            Case {
                name: "connect error twice",
                replies: vec![Err(connect_error()), Err(connect_error()), reply(200)],
                sent: 2,
                outcome: Err(connect_error()),
            },
            Case {
                name: "200",
                replies: vec![reply(200), reply(200)],
                sent: 1,
                outcome: Ok(200),
            },
            Case {
                name: "400",
                replies: vec![reply(400), reply(200)],
                sent: 1,
                outcome: Ok(400),
            },
            Case {
                name: "401",
                replies: vec![reply(401), reply(200)],
                sent: 1,
                outcome: Ok(401),
            },
            Case {
                name: "500",
                replies: vec![reply(500), reply(200)],
                sent: 1,
                outcome: Ok(500),
            },
            Case {
                name: "timeout",
                replies: vec![Err(timeout_error()), reply(200)],
                sent: 1,
                outcome: Err(timeout_error()),
            },
        ];
        for case in cases {
            let http = ScriptedHttp::new(case.replies);
            let request = HttpRequest::get("https://auth.test/token");
            let started = tokio::time::Instant::now();
            let outcome = send_with_retry(&http, request.clone())
                .await
                .map(|response| response.status);
            let waited = started.elapsed();
            assert_eq!(outcome, case.outcome, "{}", case.name);
            let sent = http.requests();
            assert_eq!(sent.len(), case.sent, "{}", case.name);
            assert!(sent.iter().all(|r| *r == request), "{}", case.name);
            let expected_wait = if case.sent == 2 {
                RETRY_DELAY
            } else {
                Duration::ZERO
            };
            assert_eq!(waited, expected_wait, "{}", case.name);
        }
    }
}
