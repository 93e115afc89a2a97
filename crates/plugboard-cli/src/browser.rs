//! Opening URLs for the user: `$BROWSER` when set (how custom openers and tests hook in), the
//! system's default browser otherwise.

use std::process::{Command, Stdio};

use plugboard_core::{OpenUrlError, UrlOpener};

/// Opens URLs the way the user's environment asks.
pub(crate) struct SystemBrowser {
    browser_env: Option<String>,
}

impl SystemBrowser {
    /// Reads `$BROWSER` once, at start-up.
    pub(crate) fn from_env() -> Self {
        Self {
            browser_env: std::env::var("BROWSER")
                .ok()
                .filter(|v| !v.trim().is_empty()),
        }
    }
}

impl UrlOpener for SystemBrowser {
    fn open(&self, url: &str) -> Result<(), OpenUrlError> {
        match &self.browser_env {
            Some(list) => open_with_browser_env(list, url),
            None => webbrowser::open(url).map_err(|e| OpenUrlError {
                reason: e.to_string(),
            }),
        }
    }
}

/// Whether this session cannot show a local browser: an SSH session, or Linux without a
/// display server. A `$BROWSER` the user set wins over both: it may be a text browser, a script
/// that hands the URL elsewhere, or a test's scripted browser, none of which need a display.
pub(crate) fn remote_session() -> bool {
    is_remote(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

fn is_remote(set: impl Fn(&str) -> bool) -> bool {
    if set("BROWSER") {
        return false;
    }
    let ssh = set("SSH_CONNECTION") || set("SSH_TTY");
    let no_display = cfg!(target_os = "linux") && !set("DISPLAY") && !set("WAYLAND_DISPLAY");
    ssh || no_display
}

/// `$BROWSER` is a `:`-separated list of commands, tried in order; `%s` in a command stands for
/// the URL, otherwise the URL is its last argument. The browser is started, not waited for.
fn open_with_browser_env(list: &str, url: &str) -> Result<(), OpenUrlError> {
    let mut last_error = String::from("$BROWSER names no command");
    for entry in list.split(':').filter(|e| !e.trim().is_empty()) {
        let mut words: Vec<String> = entry.split_whitespace().map(str::to_owned).collect();
        if words.iter().any(|w| w.contains("%s")) {
            for w in &mut words {
                *w = w.replace("%s", url);
            }
        } else {
            words.push(url.to_owned());
        }
        let Some((program, args)) = words.split_first() else {
            continue;
        };
        let spawned = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                // Reap the opener when it exits, without making the login wait for it.
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Err(e) => last_error = format!("cannot run {program:?} from $BROWSER: {e}"),
        }
    }
    Err(OpenUrlError { reason: last_error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_env_wins_then_ssh_then_a_missing_display_means_remote() {
        let cases: &[(&[&str], bool)] = &[
            (&["BROWSER", "SSH_CONNECTION"], false),
            (&["BROWSER"], false),
            (&["SSH_CONNECTION", "DISPLAY"], true),
            (&["SSH_TTY", "WAYLAND_DISPLAY"], true),
            (&["DISPLAY"], false),
            (&["WAYLAND_DISPLAY"], false),
            (&[], cfg!(target_os = "linux")),
        ];
        for (set, want) in cases {
            assert_eq!(is_remote(|name| set.contains(&name)), *want, "{set:?}");
        }
    }

    #[test]
    fn browser_env_falls_through_to_a_command_that_runs() {
        let opened = open_with_browser_env("/nonexistent/browser:true %s", "http://127.0.0.1/");
        assert_eq!(opened, Ok(()));
        let failed =
            open_with_browser_env("/nonexistent/browser", "http://127.0.0.1/").unwrap_err();
        assert!(failed.reason.contains("/nonexistent/browser"), "{failed}");
    }
}
