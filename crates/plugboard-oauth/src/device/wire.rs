//! The two requests of RFC 8628 and what their answers mean: the device authorization request
//! (§3.1, §3.2) and the polled token request (§3.4, §3.5), both form-encoded POSTs asking for
//! JSON.

use std::time::Duration;

use plugboard_core::{HttpMethod, HttpRequest, HttpResponse, sanitize_line, scrub_secret};
use plugboard_http::is_loopback;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::{DeviceCodeError, DeviceTokens};

/// The grant type of a token request for a device code (RFC 8628 §3.4).
pub(super) const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The wait between polls when the service names none (RFC 8628 §3.2).
pub(super) const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The shortest wait between polls, whatever the service says: an interval of 0 would turn
/// polling into a flood.
pub(super) const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// What `slow_down` adds to the interval, for that poll and every later one (RFC 8628 §3.5).
pub(super) const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Longest user code accepted; real ones are around ten characters (GitHub's are 9).
const MAX_USER_CODE_CHARS: usize = 64;

/// Longest verification URL accepted: anything longer would be cut when shown, and a cut URL
/// leads nowhere.
pub(super) const MAX_URL_CHARS: usize = 2048;

/// Longest piece of a service's words kept in an error.
const MAX_DETAIL_CHARS: usize = 200;

/// A form-encoded `POST` of `fields` to `url`, asking for JSON: GitHub answers JSON only when
/// asked (`Accept: application/json`), and RFC 8628 servers answer JSON anyway.
pub(super) fn form_post(url: &Url, fields: &[(&str, &str)]) -> HttpRequest {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        form.append_pair(name, value);
    }
    let mut request = HttpRequest::get(url.as_str())
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("accept", "application/json");
    request.method = HttpMethod::Post;
    request.body = Some(form.finish().into_bytes());
    request
}

/// A device authorization the service granted (RFC 8628 §3.2), checked and ready to show.
pub(super) struct Grant {
    /// What the polls send; never shown.
    pub(super) device_code: SecretString,
    /// What the user types, sanitised for the terminal.
    pub(super) user_code: String,
    /// Where the user types it: https, or plain http to this machine.
    pub(super) verification_uri: Url,
    /// The same page with the code filled in, if the service offers one (same rule).
    pub(super) verification_uri_complete: Option<Url>,
    /// How long the device code lives.
    pub(super) expires_in: Duration,
    /// The wait before each poll, at least [`MIN_INTERVAL`].
    pub(super) interval: Duration,
}

/// The device authorization answer as sent; every field optional here, so that what is
/// missing can be named.
#[derive(Deserialize)]
struct DeviceAnswer {
    #[serde(default)]
    device_code: Option<String>,
    #[serde(default)]
    user_code: Option<String>,
    #[serde(default)]
    verification_uri: Option<String>,
    /// Some services (Google's, early drafts of the RFC) spell it this way.
    #[serde(default)]
    verification_url: Option<String>,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default)]
    expires_in: Option<f64>,
    #[serde(default)]
    interval: Option<f64>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Reads the device authorization answer.
pub(super) fn read_grant(service: &str, response: &HttpResponse) -> Result<Grant, DeviceCodeError> {
    let bad = |detail: &str| DeviceCodeError::BadResponse {
        service: service.to_owned(),
        detail: detail.to_owned(),
    };
    let Ok(answer) = serde_json::from_slice::<DeviceAnswer>(&response.body) else {
        return Err(if response.is_success() {
            bad("is not the JSON RFC 8628 describes")
        } else {
            status_error(service, response.status)
        });
    };
    if let Some(error) = answer.error.as_deref().filter(|e| !e.trim().is_empty()) {
        return Err(service_error(
            service,
            error,
            answer.error_description.as_deref(),
            &[],
        ));
    }
    if !response.is_success() {
        return Err(status_error(service, response.status));
    }
    let device_code = answer
        .device_code
        .filter(|c| !c.trim().is_empty())
        .map(SecretString::from)
        .ok_or_else(|| bad("has no device code"))?;
    let user_code = answer
        .user_code
        .map(|c| sanitize_line(&c, usize::MAX))
        .filter(|c| !c.is_empty())
        .ok_or_else(|| bad("has no user code"))?;
    if user_code.chars().count() > MAX_USER_CODE_CHARS {
        // Shown cut, it could not be entered.
        return Err(bad("gives a user code that is too long"));
    }
    let verification_uri = answer
        .verification_uri
        .or(answer.verification_url)
        .ok_or_else(|| bad("has no verification URL"))?;
    let verification_uri = checked_url(&verification_uri).map_err(bad)?;
    let verification_uri_complete = answer
        .verification_uri_complete
        .map(|u| checked_url(&u))
        .transpose()
        .map_err(bad)?;
    let expires_in = answer
        .expires_in
        .ok_or_else(|| bad("has no expires_in"))
        .and_then(|s| seconds(s).ok_or_else(|| bad("gives a negative expires_in")))?;
    let interval = match answer.interval {
        None => DEFAULT_INTERVAL,
        Some(s) => seconds(s).ok_or_else(|| bad("gives a negative interval"))?,
    };
    Ok(Grant {
        device_code,
        user_code,
        verification_uri,
        verification_uri_complete,
        expires_in,
        interval: interval.max(MIN_INTERVAL),
    })
}

/// A verification URL the user may be sent to: https, or plain http to this machine (a test
/// double). Anything else could be read or rewritten on the way, and the user would type a
/// live code into it.
fn checked_url(raw: &str) -> Result<Url, &'static str> {
    if raw.chars().count() > MAX_URL_CHARS {
        return Err("gives a verification URL that is too long");
    }
    let url = Url::parse(raw).map_err(|_| "gives a verification URL that is not a URL")?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err("gives a verification URL that is not https"),
    }
}

/// What one poll learned.
pub(super) enum Poll {
    /// The user confirmed: the tokens.
    Granted(DeviceTokens),
    /// `authorization_pending`: keep waiting.
    Pending,
    /// `slow_down`: keep waiting, longer; the service may name the new interval.
    SlowDown {
        /// The interval the answer names, if any.
        interval: Option<Duration>,
    },
    /// No answer worth reading (a gateway error): worth one more poll at the next interval.
    Unanswered(DeviceCodeError),
}

/// The token answer as sent: a success or an error (RFC 8628 §3.5, RFC 6749 §5.1, §5.2).
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<f64>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    /// GitHub names the new interval with `slow_down`.
    #[serde(default)]
    interval: Option<f64>,
}

/// Reads one poll's answer. GitHub reports `authorization_pending`, `slow_down` and
/// `access_denied` with HTTP 200 and an `error` field; RFC 8628 servers with HTTP 400 and the
/// same JSON: the `error` field decides, whatever the status. `scrub` lists what must never
/// appear in an error (the device and user codes).
pub(super) fn read_poll(
    service: &str,
    response: &HttpResponse,
    scrub: &[&str],
) -> Result<Poll, DeviceCodeError> {
    let mut answer = serde_json::from_slice::<TokenAnswer>(&response.body).ok();
    let error = answer
        .as_mut()
        .and_then(|a| a.error.take())
        .filter(|e| !e.trim().is_empty());
    match error.as_deref() {
        Some("authorization_pending") => return Ok(Poll::Pending),
        Some("slow_down") => {
            return Ok(Poll::SlowDown {
                interval: answer.and_then(|a| a.interval).and_then(seconds),
            });
        }
        Some("access_denied") => {
            return Err(DeviceCodeError::Denied {
                service: service.to_owned(),
            });
        }
        Some("expired_token") => {
            return Err(DeviceCodeError::Expired {
                service: service.to_owned(),
            });
        }
        _ => {}
    }
    if matches!(response.status, 502..=504) {
        // A gateway between here and the service failed; the service itself may be fine.
        return Ok(Poll::Unanswered(status_error(service, response.status)));
    }
    let Some(answer) = answer else {
        return Err(if response.is_success() {
            DeviceCodeError::BadResponse {
                service: service.to_owned(),
                detail: "is not the JSON RFC 8628 describes".to_owned(),
            }
        } else {
            status_error(service, response.status)
        });
    };
    if let Some(error) = error {
        return Err(service_error(
            service,
            &error,
            answer.error_description.as_deref(),
            scrub,
        ));
    }
    if !response.is_success() {
        return Err(status_error(service, response.status));
    }
    let access_token = answer
        .access_token
        .filter(|t| !t.trim().is_empty())
        .map(SecretString::from)
        .ok_or_else(|| DeviceCodeError::BadResponse {
            service: service.to_owned(),
            detail: "has no access token".to_owned(),
        })?;
    Ok(Poll::Granted(DeviceTokens {
        access_token,
        token_type: present(answer.token_type),
        scope: present(answer.scope),
        refresh_token: present(answer.refresh_token).map(SecretString::from),
        // Only a hint for the caller; a nonsensical one is dropped rather than refusing a
        // token the user just granted.
        expires_in: answer.expires_in.and_then(seconds),
    }))
}

/// A non-blank string.
fn present(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// `seconds` as a duration; `None` if negative (JSON has no NaN). Absurdly large values
/// saturate: the deadline bounds every wait anyway.
fn seconds(seconds: f64) -> Option<Duration> {
    (seconds >= 0.0).then(|| Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
}

/// An error code and description from the service, made safe to show.
fn service_error(
    service: &str,
    error: &str,
    description: Option<&str>,
    scrub: &[&str],
) -> DeviceCodeError {
    let mut detail = match description.filter(|d| !d.trim().is_empty()) {
        Some(description) => format!("{error} ({description})"),
        None => error.to_owned(),
    };
    for secret in scrub {
        detail = scrub_secret(&detail, secret);
    }
    DeviceCodeError::Service {
        service: service.to_owned(),
        detail: sanitize_line(&detail, MAX_DETAIL_CHARS),
    }
}

/// A failure status with nothing readable.
fn status_error(service: &str, status: u16) -> DeviceCodeError {
    DeviceCodeError::Service {
        service: service.to_owned(),
        detail: format!("HTTP {status}"),
    }
}
