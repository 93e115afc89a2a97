//! The device-code sign-in (OAuth 2.0 Device Authorization Grant, RFC 8628), with no knowledge
//! of any one provider: ask the service for a device code, show the user the code and where to
//! enter it, then poll the token endpoint until the user confirms, refuses, or time runs out.
//! The provider supplies its endpoints, client id and scope, and turns the tokens into a
//! credential.
//!
//! The wire format follows RFC 8628 §3.1–3.5 (<https://www.rfc-editor.org/rfc/rfc8628>) and
//! GitHub's "Authorizing OAuth apps", section "Device flow"
//! (<https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#device-flow>):
//!
//! - Both requests are form-encoded POSTs with `Accept: application/json`; GitHub answers
//!   form-encoded text unless asked for JSON. The device request sends `client_id` and `scope`
//!   (left out when empty); each poll sends `client_id`, `device_code` and `grant_type=`
//!   `urn:ietf:params:oauth:grant-type:device_code`.
//! - The device answer carries `device_code`, `user_code`, `verification_uri` (accepted as
//!   `verification_url` too), optionally `verification_uri_complete`, `expires_in`, and
//!   optionally `interval` (5 s when absent).
//! - Polls wait `interval` before each request. `authorization_pending` keeps waiting;
//!   `slow_down` adds 5 s to this and every later wait (GitHub's answer names the new interval,
//!   used when larger); `access_denied` and `expired_token` end the sign-in; any other `error`
//!   (GitHub's `incorrect_device_code`, `device_flow_disabled`, ...) ends it too. GitHub sends
//!   these with HTTP 200, RFC 8628 servers with HTTP 400: the `error` field decides.
//!
//! Every wait goes through [`Clock::sleep`](plugboard_core::Clock::sleep), so tests and the
//! contract harness pass the time at once and see each wait. The future is cancel-safe:
//! dropping it stops polling, and nothing was written, since a method never writes.

mod error;
mod wire;

#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime};

use plugboard_core::{AuthContext, HttpError, sanitize_line};
use plugboard_http::send_with_retry;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use error::DeviceCodeError;
use wire::{DEVICE_CODE_GRANT_TYPE, Grant, MAX_URL_CHARS, Poll, SLOW_DOWN_STEP};

/// One service's device-code sign-in: where to ask for a code and where to poll for the
/// token. Reusable across logins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodeLogin {
    /// The service's name, for messages ("GitHub").
    pub service: String,
    /// The device authorization endpoint, such as `https://github.com/login/device/code`.
    pub device_code_url: Url,
    /// The token endpoint polled, such as `https://github.com/login/oauth/access_token`.
    pub token_url: Url,
    /// The client id the service issued to the app.
    pub client_id: String,
    /// The scope asked for, space-separated; when empty no `scope` field is sent.
    pub scope: String,
}

/// The tokens a confirmed device-code sign-in returns (RFC 6749 §5.1). `Debug` never shows a
/// token.
#[derive(Debug, Clone)]
pub struct DeviceTokens {
    /// The access token.
    pub access_token: SecretString,
    /// The token type, such as `bearer`, if the service said.
    pub token_type: Option<String>,
    /// The scope granted, if the service said (it may differ from the one asked for).
    pub scope: Option<String>,
    /// A refresh token, if the service issues them.
    pub refresh_token: Option<SecretString>,
    /// How long the access token lives, if the service said.
    pub expires_in: Option<Duration>,
}

impl DeviceCodeLogin {
    /// Signs in: asks for a device code, shows the user code and verification URL through
    /// `ctx.prompter.note` (and opens the URL in a browser unless `--no-browser` or a remote
    /// session), then polls until the user confirms. Stops when the device code expires or
    /// `ctx.options.timeout` passes, whichever comes first, without polling past it.
    ///
    /// # Errors
    ///
    /// [`DeviceCodeError`]: the user refused, the code expired, the time ran out, the service
    /// failed or answered something unreadable, or it could not be reached.
    pub async fn run(&self, ctx: &AuthContext) -> Result<DeviceTokens, DeviceCodeError> {
        let started = ctx.clock.now();
        let grant = self.request_grant(ctx).await?;
        let deadline = Deadline {
            issued: ctx.clock.now(),
            expires_in: grant.expires_in,
            started,
            timeout: ctx.options.timeout,
        };
        self.show(ctx, &grant);
        let progress = ctx.prompter.progress(&format!(
            "Waiting for the code to be entered at {}...",
            self.service
        ));
        let polled = self.poll(ctx, &grant, &deadline).await;
        progress.finish(&match &polled {
            Ok(_) => format!("{} sign-in confirmed", self.service),
            Err(_) => format!("{} sign-in not confirmed", self.service),
        });
        polled
    }

    /// The device authorization request (RFC 8628 §3.1). Retried once where no connection was
    /// made or a gateway failed, like every first request in plugboard: no code exists yet.
    async fn request_grant(&self, ctx: &AuthContext) -> Result<Grant, DeviceCodeError> {
        let mut fields = vec![("client_id", self.client_id.as_str())];
        if !self.scope.is_empty() {
            fields.push(("scope", self.scope.as_str()));
        }
        let request = wire::form_post(&self.device_code_url, &fields);
        let response = send_with_retry(ctx.host.http_client.as_ref(), request)
            .await
            .map_err(|source| self.network(source))?;
        wire::read_grant(&self.service, &response)
    }

    /// Shows the code and where to enter it, and opens the page if this session may.
    fn show(&self, ctx: &AuthContext, grant: &Grant) {
        let url = sanitize_line(grant.verification_uri.as_str(), MAX_URL_CHARS);
        ctx.prompter.note(&format!(
            "To sign in to {}, open {url} and enter the code {}",
            self.service, grant.user_code
        ));
        // The same rule as the browser login: no browser when the user said so, or when none
        // could be shown here (SSH, no display).
        if ctx.options.no_browser || ctx.session.remote {
            return;
        }
        // The page with the code filled in saves typing; the user still compares the code
        // shown there with the one above.
        let target = grant
            .verification_uri_complete
            .as_ref()
            .unwrap_or(&grant.verification_uri);
        if let Err(e) = ctx.url_opener.open(target.as_str()) {
            ctx.prompter
                .note(&format!("{e}: open the URL above yourself"));
        }
    }

    /// Polls the token endpoint (RFC 8628 §3.4, §3.5) until an answer ends the sign-in or the
    /// deadline comes.
    async fn poll(
        &self,
        ctx: &AuthContext,
        grant: &Grant,
        deadline: &Deadline,
    ) -> Result<DeviceTokens, DeviceCodeError> {
        let request = wire::form_post(
            &self.token_url,
            &[
                ("client_id", self.client_id.as_str()),
                ("device_code", grant.device_code.expose_secret()),
                ("grant_type", DEVICE_CODE_GRANT_TYPE),
            ],
        );
        let scrub = [grant.device_code.expose_secret(), grant.user_code.as_str()];
        let mut interval = grant.interval;
        let mut unanswered_last_time = false;
        loop {
            let (left, limit) = deadline.left(ctx.clock.now());
            if left < interval {
                // The next poll would come after the deadline. Waiting out the rest keeps the
                // promise of the limit (the user had all of it to confirm) without a poll the
                // service would refuse anyway.
                if !left.is_zero() {
                    ctx.clock.sleep(left).await;
                }
                return Err(self.past(limit, ctx.options.timeout));
            }
            ctx.clock.sleep(interval).await;
            let polled = match ctx.host.http_client.send(request.clone()).await {
                Ok(response) => wire::read_poll(&self.service, &response, &scrub)?,
                // The request never reached the service, so it was not acted on: the next
                // poll may simply try again.
                Err(source) if source.is_connect() => Poll::Unanswered(self.network(source)),
                // It may have been acted on (a token issued and lost): polling again would
                // only meet a spent code.
                Err(source) => return Err(self.network(source)),
            };
            match polled {
                Poll::Granted(tokens) => return Ok(tokens),
                Poll::Pending => {}
                Poll::SlowDown { interval: named } => {
                    interval = interval
                        .saturating_add(SLOW_DOWN_STEP)
                        .max(named.unwrap_or_default());
                }
                // One poll without an answer is tried again at the next interval, as every
                // request in plugboard gets one safe retry; two in a row end the sign-in.
                Poll::Unanswered(error) if unanswered_last_time => return Err(error),
                Poll::Unanswered(_) => {
                    unanswered_last_time = true;
                    continue;
                }
            }
            unanswered_last_time = false;
        }
    }

    /// The error for a deadline that came.
    fn past(&self, limit: Limit, timeout: Duration) -> DeviceCodeError {
        match limit {
            Limit::CodeExpiry => DeviceCodeError::Expired {
                service: self.service.clone(),
            },
            Limit::Timeout => DeviceCodeError::TimedOut {
                seconds: timeout.as_secs(),
            },
        }
    }

    fn network(&self, source: HttpError) -> DeviceCodeError {
        DeviceCodeError::Network {
            service: self.service.clone(),
            source,
        }
    }
}

/// Which limit ends the polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    /// The device code's `expires_in`.
    CodeExpiry,
    /// The login's `--timeout`.
    Timeout,
}

/// The two limits on polling, kept as durations from their starts so that no absurd value can
/// overflow a `SystemTime`.
struct Deadline {
    /// When the device code arrived.
    issued: SystemTime,
    /// How long it lives from then.
    expires_in: Duration,
    /// When the login started.
    started: SystemTime,
    /// How long the login may take.
    timeout: Duration,
}

impl Deadline {
    /// The time left at `now` before the earlier limit, and which limit that is. When both
    /// come together the code's expiry is named: a longer `--timeout` would not help.
    fn left(&self, now: SystemTime) -> (Duration, Limit) {
        let elapsed = |since: SystemTime| now.duration_since(since).unwrap_or_default();
        let code = self.expires_in.saturating_sub(elapsed(self.issued));
        let login = self.timeout.saturating_sub(elapsed(self.started));
        if code <= login {
            (code, Limit::CodeExpiry)
        } else {
            (login, Limit::Timeout)
        }
    }
}
