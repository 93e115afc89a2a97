//! Where requests may go: only a true loopback base URL may use plain http, a base URL with a
//! user name or password is refused without repeating it, and a broken proxy variable stops a
//! command before anything is sent, even a request that would not have used the proxy.

use plugboard_testkit::OpenRouterDouble;

use crate::support::{HandoffBrowser, INFER, KEY_ENV, Plugboard, oauth_login};

/// A password that must never be printed.
const PASSWORD: &str = "base-url-password-4711";

#[test]
fn a_base_url_that_is_not_truly_loopback_or_carries_a_password_is_refused_in_one_line() {
    let double = OpenRouterDouble::start().unwrap();
    let port = double.addr().port();
    // (base URL, what the error line says)
    let cases = [
        (
            format!("http://localhost.:{port}/api/v1"),
            "uses http:// for localhost.: only https is allowed, except for a loopback host",
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/api/v1"),
            "only https is allowed, except for a loopback host",
        ),
        (
            format!("https://user:{PASSWORD}@openrouter.ai/api/v1"),
            "OPENROUTER_BASE_URL carries a user name or password",
        ),
        (
            format!("http://user:{PASSWORD}@127.0.0.1:{port}/api/v1"),
            "OPENROUTER_BASE_URL carries a user name or password",
        ),
    ];
    for (base, says) in &cases {
        let pb = Plugboard::new();
        pb.remember_secret(PASSWORD);
        let key = double.issue_key();

        // A model call, with a key to send.
        let env = [
            ("OPENROUTER_BASE_URL", base.as_str()),
            (KEY_ENV, key.as_str()),
        ];
        let run = pb.run(INFER, "", &env);
        let line = run.error_line(1);
        assert!(line.contains(says), "{base}: {line}");

        // A browser sign-in: refused before a port is bound or a URL shown or opened.
        let browser = HandoffBrowser::new();
        let command = browser.command();
        let env = [
            ("OPENROUTER_BASE_URL", base.as_str()),
            ("BROWSER", command.as_str()),
        ];
        let run = pb.run(&oauth_login(&["--port", "0"]), "", &env);
        let line = run.error_line(1);
        assert!(line.contains(says), "{base}: {line}");
        assert!(line.contains("nothing was stored"), "{line}");
        assert!(browser.opened().is_empty(), "{base}");
    }
    assert!(
        double.requests().is_empty(),
        "nothing reached the double: {:?}",
        double.requests()
    );
}

#[test]
fn a_malformed_proxy_variable_stops_a_command_even_when_its_request_would_bypass_the_proxy() {
    let double = OpenRouterDouble::start().unwrap();
    let base = double.api_base();
    for variable in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"] {
        let pb = Plugboard::new();
        pb.remember_secret(PASSWORD);
        let key = double.issue_key();
        let proxy = format!("http://user:{PASSWORD}@[not-an-address");
        // The double is on loopback, which is never proxied: the variable is still checked.
        let env = [
            ("OPENROUTER_BASE_URL", base.as_str()),
            (KEY_ENV, key.as_str()),
            (variable, proxy.as_str()),
        ];
        let run = pb.run(INFER, "", &env);
        let line = run.error_line(1);
        assert!(
            line.contains(&format!("{variable} is not a usable proxy")),
            "{line}"
        );
    }
    assert!(double.requests().is_empty(), "{:?}", double.requests());
}
