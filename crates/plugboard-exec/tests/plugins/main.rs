//! Executable plugins run for real: the test script (`tests/data/test_plugin.py`, Python's
//! standard library only) in a plugin folder of its own, good and broken.
#![cfg(target_os = "linux")]
#![expect(
    clippy::expect_used,
    reason = "test helpers outside #[test] functions fail the test loudly on setup errors"
)]

mod broken;
mod good;
mod refresh;
mod support;
