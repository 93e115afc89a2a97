//! End-to-end tests of the `plugboard` binary: each test runs the real executable with
//! `PLUGBOARD_HOME` in a fresh temporary directory, stdin piped (never a terminal), no
//! credential in the environment unless the test sets one, and no network. The modules live in
//! `tests/cli/` and are all part of this one test binary.
#![expect(
    clippy::expect_used,
    reason = "test helpers outside #[test] functions fail the test loudly on setup errors"
)]

#[path = "cli/browser.rs"]
mod browser;
#[path = "cli/concurrency.rs"]
mod concurrency;
#[path = "cli/help.rs"]
mod help;
#[path = "cli/infer.rs"]
mod infer;
#[path = "cli/login.rs"]
mod login;
#[path = "cli/logout.rs"]
mod logout;
#[path = "cli/models_set.rs"]
mod models_set;
#[path = "cli/oauth.rs"]
mod oauth;
#[path = "cli/plugins.rs"]
mod plugins;
#[path = "cli/status.rs"]
mod status;
#[path = "cli/support.rs"]
mod support;
