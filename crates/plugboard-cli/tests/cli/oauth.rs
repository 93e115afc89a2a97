//! `plugboard models auth login --provider openrouter --method oauth` against the OpenRouter
//! double: loopback and pasted callbacks, strays, denials, ports and exchange faults. The
//! browser is the test itself: `$BROWSER` hands it the URL, and `plugboard_testkit` clicks
//! Authorize the way a person would.

use std::net::TcpListener;
use std::time::Duration;

use plugboard_testkit::{Fault, OpenRouterDouble};

use crate::support::{
    DEFAULT_PORT, HandoffBrowser, Plugboard, Run, callback_in, key, oauth_login, openrouter, probe,
    profile, profile_ids, redacted,
};

/// Asserts `openrouter:default` holds the key the double issued last; returns that profile from
/// `models status --json`.
#[track_caller]
fn stored_default_profile(pb: &Plugboard, double: &OpenRouterDouble) -> serde_json::Value {
    let key = pb.remember_issued_key(double);
    let status = pb.openrouter_status();
    let stored = profile(&status, "openrouter:default").clone();
    assert_eq!(stored["redacted"], redacted(&key), "{stored:#}");
    stored
}

#[test]
fn loopback_login_with_a_browser_stores_the_default_profile_with_oauth_provenance() {
    let _port = DEFAULT_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    // A proxy that does not exist: loopback traffic must never go through one.
    let dead_proxy = "http://127.0.0.1:9";
    let env = [
        ("OPENROUTER_BASE_URL", double.api_base()),
        ("BROWSER", browser.command()),
        ("HTTP_PROXY", dead_proxy.to_owned()),
        ("HTTPS_PROXY", dead_proxy.to_owned()),
        ("ALL_PROXY", dead_proxy.to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let login = pb.spawn_watched(&oauth_login(&[]), &env);

    let url = browser.wait_for_url();
    let callback = callback_in(&url);
    assert_eq!(callback.path(), "/openrouter-oauth/callback");
    assert_eq!(callback.host_str(), Some("localhost"));
    let followed = plugboard_testkit::approve(&url).unwrap();
    assert_eq!(followed.callback_status, 200, "{followed:?}");
    assert!(followed.callback_body.contains("terminal"), "{followed:?}");

    let run = pb.wait_watched(login, "").success();
    let key = pb.remember_issued_key(&double);
    assert!(!followed.callback_body.contains(&key));
    assert!(run.stdout.contains("openrouter:default"), "{run:#?}");
    assert!(run.stdout.contains(&redacted(&key)), "{run:#?}");
    assert!(
        run.stderr.contains(&url),
        "the URL is always printed: {run:#?}"
    );
    assert!(
        run.stderr.contains(
            "to use a key you manage instead: plugboard models auth login --provider openrouter --method api-key"
        ),
        "the host points at the API-key method: {run:#?}"
    );
    if callback.port() != Some(3000) {
        assert!(
            run.stderr.contains("port 3000"),
            "a fallback is said: {run:#?}"
        );
    }

    let status = pb.openrouter_status();
    assert_eq!(
        status["effective"]["profile_id"], "openrouter:default",
        "{status:#}"
    );
    let stored = profile(&status, "openrouter:default");
    assert_eq!(stored["kind"], "api_key");
    assert_eq!(stored["redacted"], redacted(&key));
    let provenance = &stored["provenance"];
    assert_eq!(provenance["auth_flow"], "oauth-pkce");
    assert_eq!(provenance["method"], "oauth");
    assert_eq!(provenance["callback"], "loopback");
    assert!(provenance["user_id"].is_string(), "{provenance:#}");
    assert!(provenance["obtained_at"].is_string(), "{provenance:#}");
}

#[test]
fn after_an_oauth_login_the_account_openrouter_names_is_shown() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let login = pb.start_oauth_login(&double, &browser, &["--port", "0"]);
    plugboard_testkit::approve(&browser.wait_for_url()).unwrap();
    let run = pb.wait_watched(login, "").success();
    pb.remember_issued_key(&double);
    let user = double.user_id();
    let note = format!(
        "signed in to OpenRouter as {user} (not your account? revoke the key at \
         https://openrouter.ai/settings/keys and sign in again)"
    );
    assert!(run.stderr.lines().any(|l| l == note), "{run:#?}");
    assert!(!run.stdout.contains(&user), "notes go to stderr: {run:#?}");
}

#[test]
fn without_a_terminal_an_opened_browser_leaves_stdin_unread() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let mut login = pb.start_oauth_login(&double, &browser, &["--port", "0"]);
    let url = browser.wait_for_url();
    // Were stdin read, this would fail the login as a forged paste.
    login.feed("state=forged&code=stolen\n");
    let followed = plugboard_testkit::approve(&url).unwrap();
    assert_eq!(followed.callback_status, 200, "{followed:?}");
    let run = pb.wait_watched(login, "").success();
    assert!(!run.stderr.contains("Paste the redirect URL"), "{run:#?}");
    let stored = stored_default_profile(&pb, &double);
    assert_eq!(stored["provenance"]["callback"], "loopback");
}

#[test]
fn paste_login_without_a_tty_reads_the_redirect_from_stdin() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let mut login = pb.start_oauth_login(&double, &browser, &["--no-browser", "--port", "0"]);

    let url = login.authorize_url();
    let redirect = plugboard_testkit::redirect_for(&url).unwrap();
    // As copied from an address bar: quoted, with spaces around it.
    let pasted = format!("  '{redirect}'  \n");
    login.feed(&pasted);
    let run = pb.wait_watched(login, &pasted).success();

    assert!(
        browser.opened().is_empty(),
        "--no-browser opened {:?}",
        browser.opened()
    );
    let stored = stored_default_profile(&pb, &double);
    assert_eq!(stored["provenance"]["callback"], "paste", "{run:#?}");
}

#[test]
fn end_of_stdin_does_not_end_a_paste_login_that_the_loopback_then_completes() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let mut login = pb.start_oauth_login(&double, &browser, &["--no-browser", "--port", "0"]);
    let url = login.authorize_url();
    login.feed("");
    // The user opened the URL on this machine after all: the loopback still listens.
    let followed = plugboard_testkit::approve(&url).unwrap();
    assert_eq!(followed.callback_status, 200, "{followed:?}");
    pb.wait_watched(login, "").success();
    let stored = stored_default_profile(&pb, &double);
    assert_eq!(stored["provenance"]["callback"], "loopback");
}

#[test]
fn a_pasted_redirect_with_a_wrong_state_or_no_code_is_one_clear_error() {
    let cases = [
        ("state=forged&code=abc", "state"),
        ("code=abc", "state"),
        ("abc123", "whole redirect URL"),
    ];
    for (paste, says) in cases {
        let pb = Plugboard::new();
        let double = OpenRouterDouble::start().unwrap();
        let browser = HandoffBrowser::new();
        let mut login = pb.start_oauth_login(&double, &browser, &["--no-browser", "--port", "0"]);
        login.authorize_url();
        let input = format!("{paste}\n");
        login.feed(&input);
        let run = pb.wait_watched(login, "");
        let line = last_error(&run, 1);
        assert!(line.contains(says), "{paste}: {line}");
        assert!(double.issued_keys().is_empty());
        assert!(profile_ids(&pb.openrouter_status()).is_empty());
    }
}

#[test]
fn strays_sent_before_the_real_callback_leave_the_login_running() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let login = pb.start_oauth_login(&double, &browser, &["--port", "0"]);
    let url = browser.wait_for_url();
    let callback = callback_in(&url);
    let with_query = |query: &str| {
        let mut u = callback.clone();
        u.set_query(Some(query));
        u.to_string()
    };

    let strays = [
        ("GET", with_query("state=wrong&code=stolen"), 400),
        ("GET", with_query("code=stolen"), 400),
        (
            "GET",
            with_query("state=wrong&error=access_denied&error_description=forged"),
            400,
        ),
        ("POST", callback.to_string(), 405),
        (
            "GET",
            {
                let mut u = callback.clone();
                u.set_path("/elsewhere");
                u.to_string()
            },
            404,
        ),
    ];
    for (method, target, want) in &strays {
        let (status, body) = probe(method, target);
        assert_eq!(status, *want, "{method} {target}: {body}");
    }

    let followed = plugboard_testkit::approve(&url).unwrap();
    assert_eq!(followed.callback_status, 200, "{followed:?}");
    pb.wait_watched(login, "").success();
    stored_default_profile(&pb, &double);
}

#[test]
fn a_denial_with_the_right_state_ends_the_login_and_the_page_escapes_what_it_echoes() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    double.set_deny_description("<script>alert(1)</script> user said no");
    let browser = HandoffBrowser::new();
    let login = pb.start_oauth_login(&double, &browser, &["--port", "0"]);
    let url = browser.wait_for_url();

    let followed = plugboard_testkit::deny(&url).unwrap();
    assert!(!followed.callback_body.contains("<script>"), "{followed:?}");
    assert!(
        followed.callback_body.contains("&lt;script&gt;"),
        "{followed:?}"
    );

    let run = pb.wait_watched(login, "");
    let line = last_error(&run, 1);
    assert!(line.contains("user said no"), "{line}");
    assert!(profile_ids(&pb.openrouter_status()).is_empty());
}

#[test]
fn a_taken_port_3000_moves_the_callback_to_a_free_port_and_says_so() {
    let _port = DEFAULT_PORT.lock().unwrap_or_else(|e| e.into_inner());
    // If something else already holds 3000, it is taken all the same.
    let _holder = TcpListener::bind(("127.0.0.1", 3000)).ok();
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let login = pb.start_oauth_login(&double, &browser, &[]);
    let url = browser.wait_for_url();
    let port = callback_in(&url).port();
    assert!(port.is_some_and(|p| p != 3000), "{url}");

    plugboard_testkit::approve(&url).unwrap();
    let run = pb.wait_watched(login, "").success();
    pb.remember_issued_key(&double);
    let moved = format!("port {}", port.unwrap_or_default());
    assert!(
        run.stderr.contains("port 3000") && run.stderr.contains(&moved),
        "{run:#?}"
    );
}

#[test]
fn a_pinned_port_that_is_taken_fails_clearly_and_opens_nothing() {
    let holder = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let login = pb.start_oauth_login(&double, &browser, &["--port", &port]);
    let run = pb.wait_watched(login, "");
    let line = last_error(&run, 1);
    assert!(
        line.contains(&format!("port {port} on localhost is in use"))
            && line.ends_with("pick another with --port"),
        "{line}"
    );
    assert!(browser.opened().is_empty());
}

#[test]
fn no_callback_within_the_timeout_ends_the_login_and_writes_nothing() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let login = pb.start_oauth_login(&double, &browser, &["--port", "0", "--timeout", "1"]);
    let run = pb.wait_watched(login, "");
    let line = last_error(&run, 1);
    assert!(line.contains("--timeout"), "{line}");
    assert_eq!(browser.opened().len(), 1);
    assert!(profile_ids(&pb.openrouter_status()).is_empty());
}

#[test]
fn every_exchange_fault_is_one_clear_line_and_the_earlier_key_stays() {
    // (fault, PLUGBOARD_HTTP_TIMEOUT, what the error line says); only the slow case gets a
    // short timeout, so a busy machine cannot turn the other cases into timeouts.
    let cases = [
        (Fault::Status(500), "30", "HTTP 500"),
        (Fault::NotJson, "30", "not the JSON"),
        (Fault::Oversized, "30", "larger than"),
        (Fault::ConnectionReset, "30", "cannot exchange the code"),
        (Fault::MissingKey, "30", "has no key"),
        (Fault::EmptyKey, "30", "has no key"),
        (Fault::ReusedCode, "30", "code already used"),
        (Fault::Slow(Duration::from_secs(4)), "1", "within 1 s"),
    ];
    let double = OpenRouterDouble::start().unwrap();
    for (fault, timeout, says) in cases {
        let pb = Plugboard::new();
        let earlier = key(40);
        pb.login(&earlier, &[]);
        let before = pb.openrouter_status();

        double.set_fault(Some(fault));
        let browser = HandoffBrowser::new();
        let env = [
            ("OPENROUTER_BASE_URL", double.api_base()),
            ("BROWSER", browser.command()),
            ("PLUGBOARD_HTTP_TIMEOUT", timeout.to_owned()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let login = pb.spawn_watched(&oauth_login(&["--port", "0"]), &env);
        plugboard_testkit::approve(&browser.wait_for_url()).unwrap();
        let run = pb.wait_watched(login, "");
        for issued in double.issued_keys() {
            pb.remember_secret(&issued);
        }
        let line = last_error(&run, 1);
        assert!(line.contains(says), "{fault:?}: {line}");
        assert!(line.contains("nothing was stored"), "{fault:?}: {line}");
        assert!(double.issued_keys().is_empty(), "{fault:?} issued a key");
        assert_eq!(
            profile(
                &openrouter(&pb.status(&[], &[])).clone(),
                "openrouter:default"
            ),
            profile(&before, "openrouter:default"),
            "{fault:?} changed the stored key"
        );
        double.set_fault(None);
    }
}

#[test]
fn a_503_from_the_exchange_is_retried_once_and_the_login_succeeds() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    double.set_fault(Some(Fault::ServiceUnavailableOnce));
    let browser = HandoffBrowser::new();
    let login = pb.start_oauth_login(&double, &browser, &["--port", "0"]);
    plugboard_testkit::approve(&browser.wait_for_url()).unwrap();
    pb.wait_watched(login, "").success();
    stored_default_profile(&pb, &double);
}

#[test]
fn an_insecure_base_url_is_refused_before_anything_is_opened() {
    let pb = Plugboard::new();
    let browser = HandoffBrowser::new();
    let env = [
        (
            "OPENROUTER_BASE_URL",
            "http://openrouter.example/api/v1".to_owned(),
        ),
        ("BROWSER", browser.command()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let run = pb.run(&oauth_login(&["--port", "0"]), "", &env);
    let line = last_error(&run, 1);
    assert!(line.contains("only https is allowed"), "{line}");
    assert!(browser.opened().is_empty());
}

/// The run failed with `code`, its stdout is empty, and its stderr ends with one `error:` line
/// (before it: the URL and progress the login printed); returns that line.
#[track_caller]
fn last_error(run: &Run, code: i32) -> &str {
    assert_eq!(run.code, code, "{run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{run:#?}");
    assert_eq!(run.stderr.lines().last(), Some(errors[0]), "{run:#?}");
    errors[0]
}

#[test]
fn a_provider_with_two_methods_and_no_terminal_asks_for_method_with_exit_2() {
    let pb = Plugboard::new();
    let run = pb.run(
        &["models", "auth", "login", "--provider", "openrouter"],
        "",
        &[],
    );
    let line = run.error_line(2);
    assert!(line.contains("--method (oauth, api-key)"), "{line}");
}
