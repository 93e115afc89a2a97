use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll as TaskPoll;
use std::time::{Duration, SystemTime};

use plugboard_core::{
    AuthError, Clock, ErrorChain, FixedRandom, HostServices, HttpMethod, HttpResponse,
    OpenUrlError, ScriptedBrowser, ScriptedClock, ScriptedHttp, ScriptedPrompter, Session,
    async_trait, shows_secret,
};
use serde_json::{Value, json};

use super::*;

type Reply = Result<HttpResponse, HttpError>;

const DEVICE_CODE: &str = "3584d83530557fdd1f46af8289938c8ef79f9dc5";
const USER_CODE: &str = "WDJB-MJHT";
const VERIFY: &str = "https://example.test/login/device";
const TOKEN: &str = "gho_16C7e42F292c6912E7710c838347Ae178B4a";
const REFRESH: &str = "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169";

fn login() -> DeviceCodeLogin {
    DeviceCodeLogin {
        service: "Example".to_owned(),
        device_code_url: Url::parse("https://example.test/login/device/code").unwrap(),
        token_url: Url::parse("https://example.test/login/oauth/access_token").unwrap(),
        client_id: "client-1".to_owned(),
        scope: "read:user".to_owned(),
    }
}

fn reply(status: u16, body: Value) -> Reply {
    Ok(HttpResponse::new(status, body.to_string()))
}

fn text(status: u16, body: &str) -> Reply {
    Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
}

/// A device authorization answer like GitHub's.
fn device_answer() -> Value {
    json!({
        "device_code": DEVICE_CODE,
        "user_code": USER_CODE,
        "verification_uri": VERIFY,
        "expires_in": 900,
        "interval": 5,
    })
}

/// `answer` with `field` set to `value` (removed when `value` is null).
fn with(mut answer: Value, field: &str, value: Value) -> Value {
    let object = answer.as_object_mut().unwrap();
    if value.is_null() {
        object.remove(field);
    } else {
        object.insert(field.to_owned(), value);
    }
    answer
}

fn granted() -> Reply {
    reply(200, device_answer())
}

/// An `error` answer to a poll, with the status GitHub (200) or an RFC server (400) uses.
fn poll_error(status: u16, error: &str) -> Reply {
    reply(status, json!({"error": error}))
}

fn pending() -> Reply {
    poll_error(200, "authorization_pending")
}

fn slow_down(interval: Option<u64>) -> Reply {
    let mut body = json!({"error": "slow_down"});
    if let Some(interval) = interval {
        body["interval"] = json!(interval);
    }
    reply(200, body)
}

fn token() -> Reply {
    reply(
        200,
        json!({"access_token": TOKEN, "token_type": "bearer", "scope": "read:user"}),
    )
}

fn connect_error() -> HttpError {
    HttpError::Connect {
        host: "example.test".to_owned(),
        reason: "connection refused".to_owned(),
    }
}

fn secs(waits: &[u64]) -> Vec<Duration> {
    waits.iter().copied().map(Duration::from_secs).collect()
}

struct Harness {
    ctx: AuthContext,
    prompter: Arc<ScriptedPrompter>,
    browser: Arc<ScriptedBrowser>,
    clock: Arc<ScriptedClock>,
    http: Arc<ScriptedHttp>,
}

fn harness(replies: Vec<Reply>) -> Harness {
    harness_with(replies, ScriptedBrowser::new())
}

fn harness_with(replies: Vec<Reply>, browser: ScriptedBrowser) -> Harness {
    let prompter = Arc::new(ScriptedPrompter::new([]));
    let browser = Arc::new(browser);
    let clock = Arc::new(ScriptedClock::default());
    let http = Arc::new(ScriptedHttp::new(replies));
    let mut ctx = AuthContext::new(
        prompter.clone(),
        browser.clone(),
        clock.clone(),
        Arc::new(FixedRandom(0)),
        HostServices::default().with_http_client(http.clone()),
    );
    // Far beyond the codes' lifetimes, unless a test is about the limit.
    ctx.options.timeout = Duration::from_secs(3600);
    Harness {
        ctx,
        prompter,
        browser,
        clock,
        http,
    }
}

impl Harness {
    async fn run(&self) -> Result<DeviceTokens, DeviceCodeError> {
        login().run(&self.ctx).await
    }

    fn notes(&self) -> Vec<String> {
        self.prompter
            .transcript()
            .into_iter()
            .filter_map(|line| line.strip_prefix("note: ").map(str::to_owned))
            .collect()
    }

    /// Token requests sent (every request after the first).
    fn polls(&self) -> usize {
        self.http.requests().len().saturating_sub(1)
    }
}

fn form(body: Option<&Vec<u8>>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.unwrap())
        .into_owned()
        .collect()
}

fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn pending_twice_then_a_token_signs_in_after_waiting_the_interval_before_every_poll() {
    let h = harness(vec![granted(), pending(), pending(), token()]);
    let tokens = h.run().await.unwrap();
    assert_eq!(tokens.access_token.expose_secret(), TOKEN);
    assert_eq!(tokens.token_type.as_deref(), Some("bearer"));
    assert_eq!(tokens.scope.as_deref(), Some("read:user"));
    assert!(tokens.refresh_token.is_none());
    assert_eq!(tokens.expires_in, None);
    assert_eq!(h.clock.slept(), secs(&[5, 5, 5]));
    assert_eq!(h.polls(), 3);
}

#[tokio::test]
async fn a_token_answer_keeps_its_refresh_token_and_lifetime() {
    let h = harness(vec![
        granted(),
        reply(
            200,
            json!({"access_token": TOKEN, "refresh_token": REFRESH, "expires_in": 28800,
                   "token_type": "", "scope": ""}),
        ),
    ]);
    let tokens = h.run().await.unwrap();
    assert_eq!(tokens.refresh_token.unwrap().expose_secret(), REFRESH);
    assert_eq!(tokens.expires_in, Some(Duration::from_secs(28800)));
    // Blank fields say nothing.
    assert_eq!((tokens.token_type, tokens.scope), (None, None));
}

#[tokio::test]
async fn the_waits_follow_the_interval_and_every_slow_down() {
    let cases: Vec<(&str, Value, Vec<Reply>, Vec<Duration>)> = vec![
        (
            "slow_down adds 5 s to this and every later wait",
            device_answer(),
            vec![pending(), slow_down(None), pending(), token()],
            secs(&[5, 5, 10, 10]),
        ),
        (
            "two slow_downs add up",
            device_answer(),
            vec![slow_down(None), slow_down(None), token()],
            secs(&[5, 10, 15]),
        ),
        (
            "a longer interval named with slow_down is used",
            device_answer(),
            vec![slow_down(Some(20)), pending(), token()],
            secs(&[5, 20, 20]),
        ),
        (
            "a shorter interval named with slow_down never undoes the 5 s",
            device_answer(),
            vec![slow_down(Some(3)), token()],
            secs(&[5, 10]),
        ),
        (
            "RFC 8628 servers answer with HTTP 400",
            device_answer(),
            vec![
                poll_error(400, "authorization_pending"),
                poll_error(400, "slow_down"),
                token(),
            ],
            secs(&[5, 5, 10]),
        ),
        (
            "no interval means 5 s",
            with(device_answer(), "interval", Value::Null),
            vec![pending(), token()],
            secs(&[5, 5]),
        ),
        (
            "the service's interval is kept",
            with(device_answer(), "interval", json!(8)),
            vec![pending(), token()],
            secs(&[8, 8]),
        ),
        (
            "an interval of 0 is floored at 1 s",
            with(device_answer(), "interval", json!(0)),
            vec![pending(), token()],
            secs(&[1, 1]),
        ),
    ];
    for (name, answer, polls, waits) in cases {
        let replies = std::iter::once(reply(200, answer)).chain(polls).collect();
        let h = harness(replies);
        assert!(h.run().await.is_ok(), "{name}");
        assert_eq!(h.clock.slept(), waits, "{name}");
    }
}

#[tokio::test]
async fn answers_that_end_the_polling_become_one_clear_line() {
    let said = "Example answered the device sign-in with an error";
    let unreachable = "cannot reach Example for the device sign-in";
    let cases: Vec<(&str, Vec<Reply>, String)> = vec![
        (
            "denied, as GitHub says it",
            vec![pending(), poll_error(200, "access_denied")],
            "the Example sign-in was denied".to_owned(),
        ),
        (
            "denied, as RFC 8628 says it",
            vec![poll_error(400, "access_denied")],
            "the Example sign-in was denied".to_owned(),
        ),
        (
            "expired, as GitHub says it",
            vec![poll_error(200, "expired_token")],
            "the Example code expired before the sign-in was confirmed: run the login again"
                .to_owned(),
        ),
        (
            "expired, as RFC 8628 says it",
            vec![poll_error(400, "expired_token")],
            "the Example code expired before the sign-in was confirmed: run the login again"
                .to_owned(),
        ),
        (
            "an error code this flow does not wait through",
            vec![reply(
                200,
                json!({"error": "incorrect_device_code",
                       "error_description": "The device_code provided is not valid."}),
            )],
            format!("{said}: incorrect_device_code (The device_code provided is not valid.)"),
        ),
        (
            "an RFC error on a failure status",
            vec![poll_error(401, "invalid_client")],
            format!("{said}: invalid_client"),
        ),
        (
            "a failure status without JSON",
            vec![text(500, "<html>oops</html>")],
            format!("{said}: HTTP 500"),
        ),
        (
            "a gateway error twice in a row",
            vec![text(503, "busy"), text(503, "busy")],
            format!("{said}: HTTP 503"),
        ),
        (
            "a success that is not JSON",
            vec![text(200, "access_token=gho_x&token_type=bearer")],
            "Example's answer to the device sign-in is not the JSON RFC 8628 describes".to_owned(),
        ),
        (
            "a success without a token",
            vec![reply(200, json!({"token_type": "bearer"}))],
            "Example's answer to the device sign-in has no access token".to_owned(),
        ),
        (
            "a success with a blank token",
            vec![reply(200, json!({"access_token": " "}))],
            "Example's answer to the device sign-in has no access token".to_owned(),
        ),
        (
            "a connection that broke mid-answer",
            vec![Err(HttpError::Transport {
                host: "example.test".to_owned(),
                reason: "connection reset".to_owned(),
            })],
            format!("{unreachable}: the connection to example.test failed: connection reset"),
        ),
        (
            "no answer in time",
            vec![Err(HttpError::Timeout {
                host: "example.test".to_owned(),
                seconds: 30,
            })],
            format!("{unreachable}: no answer from example.test within 30 s"),
        ),
        (
            "no connection twice in a row",
            vec![Err(connect_error()), Err(connect_error())],
            format!("{unreachable}: cannot connect to example.test: connection refused"),
        ),
    ];
    for (name, polls, want) in cases {
        let count = polls.len();
        let replies = std::iter::once(granted()).chain(polls).collect();
        let h = harness(replies);
        let error = h.run().await.unwrap_err();
        assert_eq!(ErrorChain(&error).to_string(), want, "{name}");
        assert_eq!(h.polls(), count, "{name}: stops at the answer that ends it");
    }
}

#[tokio::test]
async fn one_poll_without_an_answer_is_tried_again_at_the_next_interval() {
    let cases: Vec<(&str, Vec<Reply>)> = vec![
        ("no connection", vec![Err(connect_error()), token()]),
        ("a gateway error", vec![text(502, ""), pending(), token()]),
        (
            "not twice in a row",
            vec![
                Err(connect_error()),
                pending(),
                text(504, ""),
                pending(),
                token(),
            ],
        ),
    ];
    for (name, polls) in cases {
        let count = polls.len();
        let replies = std::iter::once(granted()).chain(polls).collect();
        let h = harness(replies);
        assert!(h.run().await.is_ok(), "{name}");
        assert_eq!(
            h.clock.slept(),
            vec![Duration::from_secs(5); count],
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_device_answer_that_cannot_be_used_ends_the_sign_in_before_anything_is_shown() {
    let bad = "Example's answer to the device sign-in";
    let said = "Example answered the device sign-in with an error";
    let cases: Vec<(&str, Reply, String)> = vec![
        (
            "GitHub's error with HTTP 200",
            reply(200, json!({"error": "device_flow_disabled"})),
            format!("{said}: device_flow_disabled"),
        ),
        (
            "an RFC error with HTTP 400",
            reply(
                400,
                json!({"error": "invalid_client", "error_description": "unknown client"}),
            ),
            format!("{said}: invalid_client (unknown client)"),
        ),
        (
            "a failure status without JSON",
            text(404, "Not Found"),
            format!("{said}: HTTP 404"),
        ),
        (
            "not JSON",
            text(200, "device_code=x&user_code=y"),
            format!("{bad} is not the JSON RFC 8628 describes"),
        ),
        (
            "a field of the wrong type",
            reply(200, with(device_answer(), "interval", json!("5"))),
            format!("{bad} is not the JSON RFC 8628 describes"),
        ),
        (
            "no device code",
            reply(200, with(device_answer(), "device_code", Value::Null)),
            format!("{bad} has no device code"),
        ),
        (
            "no user code",
            reply(200, with(device_answer(), "user_code", json!("\u{1b}[2J"))),
            format!("{bad} has no user code"),
        ),
        (
            "a user code too long to show whole",
            reply(
                200,
                with(device_answer(), "user_code", json!("A".repeat(65))),
            ),
            format!("{bad} gives a user code that is too long"),
        ),
        (
            "no verification URL",
            reply(200, with(device_answer(), "verification_uri", Value::Null)),
            format!("{bad} has no verification URL"),
        ),
        (
            "no expires_in",
            reply(200, with(device_answer(), "expires_in", Value::Null)),
            format!("{bad} has no expires_in"),
        ),
        (
            "a negative expires_in",
            reply(200, with(device_answer(), "expires_in", json!(-1))),
            format!("{bad} gives a negative expires_in"),
        ),
        (
            "a negative interval",
            reply(200, with(device_answer(), "interval", json!(-5))),
            format!("{bad} gives a negative interval"),
        ),
        (
            "plain http to another machine",
            reply(
                200,
                with(
                    device_answer(),
                    "verification_uri",
                    json!("http://example.test/login/device"),
                ),
            ),
            format!("{bad} gives a verification URL that is not https"),
        ),
        (
            "a script URL",
            reply(
                200,
                with(
                    device_answer(),
                    "verification_uri",
                    json!("javascript:alert(1)"),
                ),
            ),
            format!("{bad} gives a verification URL that is not https"),
        ),
        (
            "not a URL",
            reply(
                200,
                with(device_answer(), "verification_uri", json!("/login/device")),
            ),
            format!("{bad} gives a verification URL that is not a URL"),
        ),
        (
            "a prefilled URL over plain http",
            reply(
                200,
                with(
                    device_answer(),
                    "verification_uri_complete",
                    json!("http://example.test/login/device?user_code=WDJB-MJHT"),
                ),
            ),
            format!("{bad} gives a verification URL that is not https"),
        ),
        (
            "a URL too long to show whole",
            reply(
                200,
                with(
                    device_answer(),
                    "verification_uri",
                    json!(format!("https://example.test/{}", "a".repeat(2100))),
                ),
            ),
            format!("{bad} gives a verification URL that is too long"),
        ),
    ];
    for (name, answer, want) in cases {
        let h = harness(vec![answer]);
        let error = h.run().await.unwrap_err();
        assert_eq!(ErrorChain(&error).to_string(), want, "{name}");
        assert_eq!(h.polls(), 0, "{name}");
        assert!(h.prompter.transcript().is_empty(), "{name}");
        assert!(h.browser.opened().is_empty(), "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_device_request_gets_the_one_safe_retry_and_no_more() {
    let h = harness(vec![Err(connect_error()), granted(), token()]);
    assert!(h.run().await.is_ok());

    let h = harness(vec![Err(connect_error()), Err(connect_error()), granted()]);
    let error = h.run().await.unwrap_err();
    assert_eq!(
        ErrorChain(&error).to_string(),
        "cannot reach Example for the device sign-in: cannot connect to example.test: \
         connection refused"
    );
    assert_eq!(h.http.requests().len(), 2);
}

#[tokio::test]
async fn verification_urls_on_this_machine_may_be_plain_http() {
    let cases = [
        ("verification_uri", "http://127.0.0.1:8080/device"),
        ("verification_uri", "http://localhost:1/device"),
        ("verification_uri", "http://[::1]:9/device"),
        // Some services spell the field this way.
        ("verification_url", "https://example.test/device"),
    ];
    for (field, url) in cases {
        let answer = with(device_answer(), "verification_uri", Value::Null);
        let h = harness(vec![reply(200, with(answer, field, json!(url))), token()]);
        assert!(h.run().await.is_ok(), "{url}");
        assert_eq!(
            h.notes(),
            [format!(
                "To sign in to Example, open {url} and enter the code {USER_CODE}"
            )],
            "{url}"
        );
        assert_eq!(h.browser.opened(), [url], "{url}");
    }
}

#[tokio::test]
async fn both_requests_are_form_posts_asking_for_json() {
    let h = harness(vec![granted(), pending(), token()]);
    h.run().await.unwrap();
    let sent = h.http.requests();
    let headers = pairs(&[
        ("content-type", "application/x-www-form-urlencoded"),
        ("accept", "application/json"),
    ]);
    for request in &sent {
        assert_eq!(request.method, HttpMethod::Post);
        assert_eq!(request.headers, headers);
    }
    assert_eq!(sent[0].url, "https://example.test/login/device/code");
    assert_eq!(
        form(sent[0].body.as_ref()),
        pairs(&[("client_id", "client-1"), ("scope", "read:user")])
    );
    for poll in &sent[1..] {
        assert_eq!(poll.url, "https://example.test/login/oauth/access_token");
        assert_eq!(
            form(poll.body.as_ref()),
            pairs(&[
                ("client_id", "client-1"),
                ("device_code", DEVICE_CODE),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ])
        );
    }
}

#[tokio::test]
async fn an_empty_scope_is_not_sent() {
    let h = harness(vec![granted(), token()]);
    let mut unscoped = login();
    unscoped.scope = String::new();
    unscoped.run(&h.ctx).await.unwrap();
    assert_eq!(
        form(h.http.requests()[0].body.as_ref()),
        pairs(&[("client_id", "client-1")])
    );
}

#[tokio::test]
async fn the_code_and_url_are_noted_the_url_opened_and_the_wait_shown() {
    let h = harness(vec![granted(), token()]);
    h.run().await.unwrap();
    assert_eq!(
        h.prompter.transcript(),
        [
            format!("note: To sign in to Example, open {VERIFY} and enter the code {USER_CODE}"),
            "progress: Waiting for the code to be entered at Example...".to_owned(),
        ]
    );
    assert_eq!(h.browser.opened(), [VERIFY]);
}

#[tokio::test]
async fn no_browser_is_opened_when_the_user_said_so_or_none_can_be_shown() {
    let cases = [
        ("--no-browser", true, Session::new(true, false)),
        ("a remote session", false, Session::new(true, true)),
    ];
    for (name, no_browser, session) in cases {
        let mut h = harness(vec![granted(), token()]);
        h.ctx.options.no_browser = no_browser;
        h.ctx.session = session;
        h.run().await.unwrap();
        assert!(h.browser.opened().is_empty(), "{name}");
        // The note is the whole way in: the user opens the page elsewhere.
        assert_eq!(
            h.notes(),
            [format!(
                "To sign in to Example, open {VERIFY} and enter the code {USER_CODE}"
            )],
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_prefilled_url_is_opened_while_the_note_names_the_plain_one() {
    let complete = "https://example.test/login/device?user_code=WDJB-MJHT";
    let answer = with(
        device_answer(),
        "verification_uri_complete",
        json!(complete),
    );
    let h = harness(vec![reply(200, answer), token()]);
    h.run().await.unwrap();
    assert_eq!(h.browser.opened(), [complete]);
    assert_eq!(
        h.notes(),
        [format!(
            "To sign in to Example, open {VERIFY} and enter the code {USER_CODE}"
        )]
    );
}

#[tokio::test]
async fn a_browser_that_fails_to_open_is_a_note_not_an_error() {
    let browser = ScriptedBrowser::following(Box::new(|_| {
        Err(OpenUrlError {
            reason: "no display".to_owned(),
        })
    }));
    let h = harness_with(vec![granted(), token()], browser);
    assert!(h.run().await.is_ok());
    assert_eq!(
        h.notes()[1],
        "cannot open a browser: no display: open the URL above yourself"
    );
}

#[tokio::test]
async fn a_user_code_carrying_terminal_escapes_is_shown_without_them() {
    let answer = with(
        device_answer(),
        "user_code",
        json!("\u{1b}]0;pwned\u{7}WDJB-\u{202e}MJHT\u{1b}[2J"),
    );
    let h = harness(vec![reply(200, answer), token()]);
    h.run().await.unwrap();
    assert_eq!(
        h.notes(),
        [format!(
            "To sign in to Example, open {VERIFY} and enter the code {USER_CODE}"
        )]
    );
}

#[tokio::test]
async fn polling_stops_at_the_earlier_of_the_codes_expiry_and_the_timeout() {
    struct Case {
        name: &'static str,
        expires_in: u64,
        timeout: u64,
        waits: &'static [u64],
        polls: usize,
        error: String,
    }
    let expired = || {
        "the Example code expired before the sign-in was confirmed: run the login again".to_owned()
    };
    let timed_out = |s: u64| format!("no sign-in was confirmed within {s} s");
    let cases = [
        Case {
            name: "the code expires first",
            expires_in: 12,
            timeout: 3600,
            waits: &[5, 5, 2],
            polls: 2,
            error: expired(),
        },
        Case {
            name: "the timeout comes first",
            expires_in: 900,
            timeout: 12,
            waits: &[5, 5, 2],
            polls: 2,
            error: timed_out(12),
        },
        Case {
            name: "a last poll exactly at the timeout",
            expires_in: 900,
            timeout: 15,
            waits: &[5, 5, 5],
            polls: 3,
            error: timed_out(15),
        },
        // A longer --timeout would not help, so the code's expiry is named.
        Case {
            name: "both at once",
            expires_in: 10,
            timeout: 10,
            waits: &[5, 5],
            polls: 2,
            error: expired(),
        },
        Case {
            name: "a code that lives less than one interval",
            expires_in: 3,
            timeout: 3600,
            waits: &[3],
            polls: 0,
            error: expired(),
        },
        Case {
            name: "a code already expired",
            expires_in: 0,
            timeout: 3600,
            waits: &[],
            polls: 0,
            error: expired(),
        },
    ];
    for case in cases {
        let name = case.name;
        let answer = with(device_answer(), "expires_in", json!(case.expires_in));
        let replies = std::iter::once(reply(200, answer))
            .chain(std::iter::repeat_with(pending).take(10))
            .collect();
        let mut h = harness(replies);
        h.ctx.options.timeout = Duration::from_secs(case.timeout);
        let error = h.run().await.unwrap_err();
        assert_eq!(ErrorChain(&error).to_string(), case.error, "{name}");
        assert_eq!(h.clock.slept(), secs(case.waits), "{name}");
        assert_eq!(h.polls(), case.polls, "{name}: no poll after the deadline");
        assert_eq!(
            h.prompter.transcript().len(),
            2,
            "{name}: the code was shown"
        );
    }
}

#[tokio::test]
async fn errors_never_show_the_codes_or_the_services_escapes() {
    let description = format!(
        "bad code {DEVICE_CODE} for {USER_CODE}\u{1b}]52;c;aGk=\u{7}\nsecond line \u{1b}[31mred"
    );
    let h = harness(vec![
        granted(),
        reply(
            400,
            json!({"error": "invalid_grant", "error_description": description}),
        ),
    ]);
    let shown = ErrorChain(&h.run().await.unwrap_err()).to_string();
    assert_eq!(
        shown,
        "Example answered the device sign-in with an error: invalid_grant (bad code \
         [redacted] for [redacted] second line red)"
    );
    assert!(!shows_secret(&shown, DEVICE_CODE), "{shown}");
}

#[tokio::test]
async fn tokens_debug_output_shows_no_token() {
    let h = harness(vec![
        granted(),
        reply(
            200,
            json!({"access_token": TOKEN, "refresh_token": REFRESH}),
        ),
    ]);
    let shown = format!("{:?}", h.run().await.unwrap());
    assert!(!shows_secret(&shown, TOKEN), "{shown}");
    assert!(!shows_secret(&shown, REFRESH), "{shown}");
}

#[test]
fn the_host_sees_refusals_as_service_errors_and_keeps_timeouts_and_network_failures_typed() {
    let service = |e: DeviceCodeError| match AuthError::from(e) {
        AuthError::Service(message) => message,
        other => panic!("not a service error: {other:?}"),
    };
    assert_eq!(
        service(DeviceCodeError::Denied {
            service: "GitHub".to_owned()
        }),
        "the GitHub sign-in was denied"
    );
    assert_eq!(
        service(DeviceCodeError::BadResponse {
            service: "GitHub".to_owned(),
            detail: "has no user code".to_owned(),
        }),
        "GitHub's answer to the device sign-in has no user code"
    );

    let AuthError::Other(timed_out) = AuthError::from(DeviceCodeError::TimedOut { seconds: 300 })
    else {
        panic!("a timeout is kept typed");
    };
    assert!(matches!(
        timed_out.downcast_ref::<DeviceCodeError>(),
        Some(DeviceCodeError::TimedOut { seconds: 300 })
    ));

    let network = AuthError::from(DeviceCodeError::Network {
        service: "GitHub".to_owned(),
        source: connect_error(),
    });
    assert_eq!(
        ErrorChain(&network).to_string(),
        "cannot reach GitHub for the device sign-in: cannot connect to example.test: \
         connection refused"
    );
}

/// A clock whose waits never end, as when the user has not confirmed yet.
struct WaitingClock;

#[async_trait]
impl Clock for WaitingClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH
    }

    async fn sleep(&self, _duration: Duration) {
        std::future::pending::<()>().await;
    }
}

#[tokio::test]
async fn dropping_the_sign_in_while_it_waits_sends_no_poll() {
    let mut h = harness(vec![granted(), token()]);
    h.ctx.clock = Arc::new(WaitingClock);
    let device = login();
    {
        let mut running = pin!(device.run(&h.ctx));
        // Step until the first wait begins: the code is requested (a scripted answer hands the
        // thread back once) and shown.
        std::future::poll_fn(|cx| {
            for _ in 0..10 {
                assert!(running.as_mut().poll(cx).is_pending());
                if !h.notes().is_empty() {
                    break;
                }
            }
            TaskPoll::Ready(())
        })
        .await;
    }
    assert_eq!(h.notes().len(), 1);
    // The wait comes before the first poll, and the dropped future polls no more.
    assert_eq!(h.http.requests().len(), 1);
}
