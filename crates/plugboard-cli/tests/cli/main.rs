//! End-to-end tests of the `plugboard` binary: each test runs the real executable with
//! `PLUGBOARD_HOME` in a fresh temporary directory, stdin piped (never a terminal), no
//! credential in the environment unless the test sets one, and no network. The modules live in
//! `tests/cli/` and are all part of this one test binary.
#![expect(
    clippy::expect_used,
    reason = "test helpers outside #[test] functions fail the test loudly on setup errors"
)]

mod anthropic;
mod browser;
mod check;
mod children;
mod codex;
mod concurrency;
mod copilot;
mod damaged;
mod echo;
mod escapes;
mod five_providers;
mod help;
mod home;
mod infer;
mod installed;
mod interrupt;
mod login;
mod logout;
mod models_list;
mod models_set;
mod network;
mod oauth;
mod ollama;
mod plugin_check;
mod plugins;
mod profile;
mod replaced;
mod status;
mod support;
mod terminal;
