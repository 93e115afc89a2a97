//! On a real terminal (a pseudo-terminal from util-linux `script`), the paste prompt offered
//! after the browser opened usually loses its race to the callback and is still reading when
//! plugboard exits; the terminal must be left as it was, in line mode with echo.
#![cfg(target_os = "linux")]

use std::io::Read;
use std::process::{Command, Stdio};

use plugboard_testkit::OpenRouterDouble;

use crate::support::{HandoffBrowser, KEY_ENV, Plugboard, callback_in, probe};

#[test]
fn an_abandoned_paste_prompt_leaves_the_terminal_in_line_mode_with_echo() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let stty = pb.root().join("stty");
    let inner = format!(
        "'{}' models auth login --provider openrouter --method oauth --port 0; stty -a > '{}'",
        env!("CARGO_BIN_EXE_plugboard"),
        stty.display()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &inner, "/dev/null"])
        .current_dir(pb.root())
        .env("PLUGBOARD_HOME", pb.home())
        .env("NO_COLOR", "1")
        .env("OPENROUTER_BASE_URL", double.api_base())
        .env("BROWSER", browser.command())
        .env_remove(KEY_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("util-linux script runs");
    let url = browser.wait_for_url();

    // Wait until the prompt is drawn and reading.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("Paste the redirect URL") {
        let read = stdout.read(&mut byte).expect("the terminal's output");
        assert!(
            read > 0,
            "no paste prompt: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.push(byte[0]);
    }

    // The browser comes back (with a refusal, so no key is issued) while the prompt waits.
    let mut callback = callback_in(&url);
    let query = format!(
        "{}&error=access_denied",
        callback.query().unwrap_or_default()
    );
    callback.set_query(Some(&query));
    let (status, _) = probe("GET", callback.as_str());
    assert_eq!(status, 200);

    let mut rest = String::new();
    let _ = stdout.read_to_string(&mut rest);
    child.wait().expect("script ends");
    assert!(rest.contains("OpenRouter refused the sign-in"), "{rest}");
    let modes = std::fs::read_to_string(&stty).expect("stty ran after plugboard");
    let flags: Vec<&str> = modes.split_whitespace().collect();
    for flag in ["echo", "icanon"] {
        assert!(
            flags.contains(&flag),
            "{flag} is off after plugboard: {modes}"
        );
    }
}
