//! The plugin SDK driven as the host drives it: in-process over pipes (`serve`), and the two
//! example plugins as processes speaking the protocol on their stdin and stdout (`examples`).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] functions fail the test loudly on setup errors"
)]

mod examples;
mod host;
mod process;
mod providers;
mod serve;
mod service;
