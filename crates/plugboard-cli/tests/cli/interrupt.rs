//! Ctrl-C while a sign-in waits for the user (a browser callback, a pasted URL, a device code
//! being confirmed): plugboard installs no handler for SIGINT, so the process ends at once, by
//! the signal, and since only a finished sign-in writes, nothing is stored.
#![cfg(unix)]

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use plugboard_testkit::GitHubDouble;

use crate::copilot;
use crate::support::{Plugboard, oauth_login, tree};

#[test]
fn ctrl_c_while_a_sign_in_waits_ends_the_process_and_stores_nothing() {
    let pb = Plugboard::new();
    let mut watched = pb.spawn_watched(&oauth_login(&["--no-browser", "--port", "0"]), &[]);
    // The sign-in URL is printed once the callback server listens; from then on it waits.
    watched.authorize_url();
    let pid = watched.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -INT {pid}: {sent:?}");
    let status = watched.child.wait().expect("plugboard ends");
    assert_eq!(status.signal(), Some(2), "ended by SIGINT: {status:?}");
    assert!(
        !pb.home().join("credentials.sqlite").exists(),
        "a store was written: {:?}",
        tree(pb.root())
    );
}

#[test]
fn ctrl_c_while_a_device_code_waits_to_be_confirmed_ends_the_process_and_stores_nothing() {
    let pb = Plugboard::new();
    // The code is never confirmed: every poll is answered "not yet".
    let double = GitHubDouble::start_with(1000, 0).expect("the GitHub double starts");
    let origin = double.origin();
    let mut watched = pb.spawn_watched(copilot::LOGIN, &[(copilot::BASE_URL_ENV, &origin)]);
    watched.line_containing("enter the code");
    // Interrupted while polling, not before.
    let deadline = Instant::now() + Duration::from_secs(60);
    while double.polls() == 0 {
        assert!(Instant::now() < deadline, "plugboard never polled");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = watched.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -INT {pid}: {sent:?}");
    let status = watched.child.wait().expect("plugboard ends");
    assert_eq!(status.signal(), Some(2), "ended by SIGINT: {status:?}");
    assert!(double.issued_github_tokens().is_empty());
    assert!(
        !pb.home().join("credentials.sqlite").exists(),
        "a store was written: {:?}",
        tree(pb.root())
    );
}
