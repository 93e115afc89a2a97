//! The `github-copilot` provider through the real binary, against the GitHub double: a
//! device-code sign-in with no terminal (the code and the page on stderr, polls held to the
//! interval GitHub names), model runs that trade the stored GitHub token for a Copilot token
//! once and reuse it, renewal when the Copilot token expires, and refused sign-ins that store
//! nothing.

use std::time::{Duration, Instant};

use plugboard_testkit::{COPILOT_API_PATH, COPILOT_REPLY, GitHubDouble, GitHubFault};
use serde_json::Value;

use crate::support::{HandoffBrowser, Plugboard, Run, profile, provider_entry, tree};

/// The environment variable that moves GitHub and the token exchange to the double.
pub(crate) const BASE_URL_ENV: &str = "GITHUB_COPILOT_BASE_URL";

/// A device-code sign-in that opens no browser. Its time limit is far above the few seconds
/// any sign-in here takes, and far below the default five minutes a client that polls wrong
/// would otherwise spend before the test fails.
pub(crate) const LOGIN: &[&str] = &[
    "models",
    "auth",
    "login",
    "--provider",
    "github-copilot",
    "--no-browser",
    "--timeout",
    "60",
];

/// A model the double serves to every plan.
const INFER: &[&str] = &[
    "infer",
    "model",
    "run",
    "--model",
    "github-copilot/gpt-4.1",
    "--prompt",
    "hi",
];

/// A double that hands out the GitHub token at the first poll.
pub(crate) fn double() -> GitHubDouble {
    GitHubDouble::start_with(0, 0).expect("the GitHub double starts")
}

/// Remembers every token `double` has issued so far (GitHub and Copilot ones) as secrets of
/// `pb`: every later run asserts none of them shows.
pub(crate) fn remember_tokens(pb: &Plugboard, double: &GitHubDouble) {
    for token in double
        .issued_github_tokens()
        .into_iter()
        .chain(double.issued_copilot_tokens())
    {
        pb.remember_secret(&token);
    }
}

struct Copilot {
    pb: Plugboard,
    double: GitHubDouble,
}

impl Copilot {
    /// A fresh home and a double answering the device flow as scripted.
    fn with(double: GitHubDouble) -> Self {
        Self {
            pb: Plugboard::new(),
            double,
        }
    }

    /// A fresh home signed in to a double that confirms the code at once.
    fn signed_in() -> Self {
        let copilot = Self::with(double());
        copilot.sign_in().success();
        copilot
    }

    fn run(&self, args: &[&str]) -> Run {
        let origin = self.double.origin();
        let run = self.pb.run(args, "", &[(BASE_URL_ENV, origin.as_str())]);
        remember_tokens(&self.pb, &self.double);
        run
    }

    fn sign_in(&self) -> Run {
        self.run(LOGIN)
    }

    fn status(&self) -> Value {
        provider_entry(
            &self.run(&["models", "status", "--json"]).success().json(),
            "github-copilot",
        )
        .clone()
    }

    fn chat_requests(&self) -> usize {
        self.double
            .requests_to(&format!("{COPILOT_API_PATH}/chat/completions"))
            .len()
    }
}

#[test]
fn a_device_sign_in_without_a_terminal_waits_out_pending_and_slow_down_then_copilot_exchanges_once()
{
    // Two "not yet", one "slower", then the token: polls at 1, 2 and 3 s, then 6 s later.
    let copilot = Copilot::with(GitHubDouble::start_with(2, 1).expect("the GitHub double starts"));
    let started = Instant::now();
    let run = copilot.sign_in().success();
    let took = started.elapsed();

    let user_codes = copilot.double.user_codes();
    assert_eq!(user_codes.len(), 1, "one device code");
    let page = format!("{}/login/device", copilot.double.origin());
    assert!(
        run.stderr.contains(&format!(
            "To sign in to GitHub, open {page} and enter the code {}",
            user_codes[0]
        )),
        "{run:#?}"
    );
    assert!(!run.stdout.contains(&user_codes[0]), "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{run:#?}");
    assert!(
        lines[0].starts_with("signed in to GitHub Copilot: stored github-copilot:default ("),
        "{run:#?}"
    );
    assert_eq!(
        copilot.double.polls(),
        4,
        "two pending, one slow_down, one token"
    );
    assert_eq!(
        copilot.double.early_polls(),
        0,
        "every poll waited its interval"
    );
    assert!(took >= Duration::from_secs(9), "took {took:?}");
    assert_eq!(
        copilot.double.token_exchanges(),
        0,
        "the sign-in fetches no Copilot token"
    );

    let status = copilot.status();
    assert_eq!(status["effective"]["kind"], "oauth", "{status:#}");
    let stored = profile(&status, "github-copilot:default");
    assert_eq!(stored["kind"], "oauth", "{stored:#}");
    assert_eq!(stored["provenance"]["auth_flow"], "device-code");

    let first = copilot.run(INFER).success();
    assert_eq!(first.stdout, format!("{COPILOT_REPLY}\n"));
    assert_eq!(copilot.double.token_exchanges(), 1);
    let second = copilot.run(INFER).success();
    assert_eq!(second.stdout, format!("{COPILOT_REPLY}\n"));
    assert_eq!(
        copilot.double.token_exchanges(),
        1,
        "the cached Copilot token is reused"
    );
    assert_eq!(copilot.chat_requests(), 2);
}

#[test]
fn the_device_page_is_opened_in_the_browser_when_one_is_set() {
    let copilot = Copilot::with(double());
    let browser = HandoffBrowser::new();
    let origin = copilot.double.origin();
    let command = browser.command();
    let login: Vec<&str> = LOGIN
        .iter()
        .copied()
        .filter(|arg| *arg != "--no-browser")
        .collect();
    let env = [
        (BASE_URL_ENV, origin.as_str()),
        ("BROWSER", command.as_str()),
    ];
    copilot.pb.run(&login, "", &env).success();
    assert_eq!(browser.opened(), [format!("{origin}/login/device")]);
}

#[test]
fn a_copilot_token_the_api_calls_expired_is_renewed_once_and_the_call_resent() {
    let copilot = Copilot::signed_in();
    copilot.run(INFER).success();
    assert_eq!(copilot.double.token_exchanges(), 1);

    copilot.double.expire_copilot_tokens();
    let run = copilot.run(INFER).success();
    assert_eq!(run.stdout, format!("{COPILOT_REPLY}\n"));
    assert_eq!(copilot.double.token_exchanges(), 2, "renewed once");
    assert_eq!(
        copilot.chat_requests(),
        3,
        "one call, then one refused as expired and resent"
    );

    // The renewed token is cached: the next call exchanges nothing.
    copilot.run(INFER).success();
    assert_eq!(copilot.double.token_exchanges(), 2);
}

#[test]
fn a_copilot_token_about_to_expire_is_renewed_before_the_call() {
    let copilot = Copilot::signed_in();
    // Inside the host's 60 s margin from the moment it is issued.
    copilot
        .double
        .set_copilot_token_ttl(Duration::from_secs(30));
    copilot.run(INFER).success();
    assert_eq!(copilot.double.token_exchanges(), 1);
    copilot.run(INFER).success();
    assert_eq!(copilot.double.token_exchanges(), 2, "renewed before use");
    assert_eq!(
        copilot.chat_requests(),
        2,
        "no call was sent with the old token"
    );

    copilot
        .double
        .set_copilot_token_ttl(Duration::from_secs(1800));
    copilot.run(INFER).success();
    copilot.run(INFER).success();
    assert_eq!(copilot.double.token_exchanges(), 3);
}

#[test]
fn a_denied_or_expired_device_code_fails_the_sign_in_in_one_line_and_stores_nothing() {
    let cases = [
        (GitHubFault::AccessDenied, "the GitHub sign-in was denied"),
        (
            GitHubFault::ExpiredToken,
            "the GitHub code expired before the sign-in was confirmed",
        ),
    ];
    for (fault, says) in cases {
        let copilot = Copilot::with(
            GitHubDouble::builder()
                .fault(fault)
                .start()
                .expect("the GitHub double starts"),
        );
        let run = copilot.sign_in();
        assert_eq!(run.code, 1, "{fault:?}: {run:#?}");
        assert_eq!(run.stdout, "", "{fault:?}: {run:#?}");
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|line| line.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{fault:?}: {run:#?}");
        assert!(
            errors[0].starts_with(
                "error: GitHub Copilot sign-in with device failed, nothing was stored: "
            ),
            "{fault:?}: {run:#?}"
        );
        assert!(errors[0].contains(says), "{fault:?}: {run:#?}");
        assert_eq!(copilot.double.polls(), 1, "{fault:?}");
        assert!(
            copilot.double.issued_github_tokens().is_empty(),
            "{fault:?}"
        );
        assert!(
            !copilot.pb.home().join("credentials.sqlite").exists(),
            "{fault:?}: a store was written: {:?}",
            tree(copilot.pb.root())
        );
        let status = copilot.status();
        assert_eq!(status["profiles"], serde_json::json!([]), "{fault:?}");
    }
}

#[test]
fn a_github_token_revoked_at_github_keeps_the_profile_and_status_says_to_sign_in_again() {
    let copilot = Copilot::signed_in();
    let token = copilot.double.issued_github_tokens().remove(0);
    assert!(copilot.double.revoke_github_token(&token));
    let login = "plugboard models auth login --provider github-copilot";

    let run = copilot.run(INFER);
    let line = run.error_line(1);
    assert!(
        line.contains(&format!("sign in again with `{login}`")),
        "{line}"
    );
    assert_eq!(copilot.double.token_exchanges(), 1);
    assert_eq!(copilot.chat_requests(), 0);

    let stored = profile(&copilot.status(), "github-copilot:default").clone();
    let reason = stored["needs_signin"]
        .as_str()
        .expect("a reason")
        .to_owned();
    assert!(reason.starts_with("GitHub Copilot "), "{reason}");
    // The GitHub token renews a Copilot session; there is no refresh token to speak of.
    assert!(!reason.contains("refresh token"), "{reason}");
    assert_eq!(stored["login_command"], login);

    // Refused for good: the next run sends nothing to GitHub until a new sign-in.
    copilot.run(INFER).error_line(1);
    assert_eq!(copilot.double.token_exchanges(), 1);
    copilot.sign_in().success();
    copilot.run(INFER).success();
    assert_eq!(copilot.double.token_exchanges(), 2);
}
