//! What programs plugboard starts can see: a browser opener gets no provider's credential
//! variable, and inherits a core-file limit of 0 (soft and hard), which plugboard sets before
//! it reads any secret. The opener is a script that records its environment and limits.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use plugboard_testkit::OpenRouterDouble;
use tempfile::TempDir;

use crate::support::{KEY_ENV, Plugboard, key};

/// A stand-in for a browser: records its environment, its core-file limits and the URL.
struct RecordingOpener {
    dir: TempDir,
}

impl RecordingOpener {
    /// The script is named `name` (a `$BROWSER` command, or `xdg-open` found on `PATH`).
    fn new(name: &str) -> Self {
        let dir = TempDir::new().expect("a temporary directory");
        let out = dir.path();
        let script = format!(
            "#!/bin/sh\n\
             env > '{env}.tmp' && mv '{env}.tmp' '{env}'\n\
             printf '%s %s\\n' \"$(ulimit -c)\" \"$(ulimit -H -c)\" > '{limits}'\n\
             for last; do :; done\n\
             printf '%s\\n' \"$last\" > '{url}.tmp' && mv '{url}.tmp' '{url}'\n",
            env = out.join("env").display(),
            limits = out.join("limits").display(),
            url = out.join("url").display(),
        );
        let path = out.join(name);
        std::fs::write(&path, script).expect("the opener script is written");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("the opener script is executable");
        Self { dir }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn script(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(file))
            .unwrap_or_else(|e| panic!("the opener wrote no {file}: {e}"))
    }

    /// Polls until the opener has recorded the URL; panics after a minute.
    fn wait_for_url(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let path = self.dir.path().join("url");
        loop {
            if let Ok(url) = std::fs::read_to_string(&path) {
                return url.trim().to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no URL was opened within a minute"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Starts an OAuth login through `sh`, which first raises the core-file limit (so the test
/// shows plugboard lowering it, not an environment that had it at 0 already) and records what
/// it was before `exec`ing plugboard.
fn spawn_login(pb: &Plugboard, before: &Path, env: &[(&str, &str)]) -> std::process::Child {
    let raise = format!(
        "ulimit -c unlimited 2>/dev/null || ulimit -S -c \"$(ulimit -H -c)\"; \
         ulimit -c > '{}'; exec \"$0\" \"$@\"",
        before.display()
    );
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(raise)
        .arg(env!("CARGO_BIN_EXE_plugboard"))
        .args([
            "models",
            "auth",
            "login",
            "--provider",
            "openrouter",
            "--method",
            "oauth",
            "--port",
            "0",
        ])
        .current_dir(pb.root())
        .env("PLUGBOARD_HOME", pb.home())
        .env("NO_COLOR", "1")
        .env_remove("BROWSER")
        .env_remove("OPENROUTER_BASE_URL")
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_TTY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().expect("plugboard starts")
}

#[test]
fn an_opened_browser_sees_no_credential_variable_and_cannot_dump_core() {
    let secret_key = key(77);
    // (how the opener is found, the script's name)
    let mut cases = vec![("$BROWSER", "browser")];
    // Without $BROWSER, the platform's opener: on Linux xdg-open, found on PATH.
    if cfg!(target_os = "linux") {
        cases.push(("xdg-open on PATH", "xdg-open"));
    }
    for (how, name) in cases {
        let pb = Plugboard::new();
        pb.remember_secret(&secret_key);
        let double = OpenRouterDouble::start().unwrap();
        let opener = RecordingOpener::new(name);
        let before = opener.dir().join("before");
        let base = double.api_base();
        let script = opener.script(name).display().to_string();
        let path = format!(
            "{}:{}",
            opener.dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut env = vec![
            ("OPENROUTER_BASE_URL", base.as_str()),
            (KEY_ENV, secret_key.as_str()),
            ("PLUGBOARD_CHILD_PROBE", "visible"),
            ("PATH", path.as_str()),
        ];
        if how == "$BROWSER" {
            env.push(("BROWSER", script.as_str()));
        } else {
            env.push(("DISPLAY", ":0"));
        }
        let child = spawn_login(&pb, &before, &env);

        let url = opener.wait_for_url();
        let followed = plugboard_testkit::approve(&url).unwrap();
        assert_eq!(followed.callback_status, 200, "{how}: {followed:?}");
        let output = child.wait_with_output().expect("plugboard runs to the end");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{how}: {stderr}");
        for issued in double.issued_keys() {
            assert!(!stdout.contains(&issued) && !stderr.contains(&issued));
        }
        assert!(!stdout.contains(&secret_key) && !stderr.contains(&secret_key));

        let seen = opener.read("env");
        assert!(
            seen.contains("PLUGBOARD_CHILD_PROBE=visible"),
            "{how}: the opener's environment was recorded: {seen}"
        );
        assert!(
            !seen.contains(KEY_ENV) && !seen.contains(&secret_key),
            "{how}: the opener saw the key variable"
        );

        let raised = std::fs::read_to_string(&before).expect("the wrapper recorded its limit");
        assert_ne!(
            raised.trim(),
            "0",
            "{how}: the limit was raised before plugboard ran"
        );
        assert_eq!(
            opener.read("limits").trim(),
            "0 0",
            "{how}: soft and hard core limits"
        );
    }
}
