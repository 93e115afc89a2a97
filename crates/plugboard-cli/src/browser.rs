//! Opening URLs for the user: `$BROWSER` when set (how custom openers and tests hook in), the
//! platform's opener otherwise (`xdg-open` and friends, `open`, `rundll32`).
//!
//! plugboard starts these programs itself, rather than through a browser-opening library,
//! because a library passes on the whole environment: a browser (or a script standing in for
//! one) would inherit `OPENROUTER_API_KEY` and every other provider's key variable.

use std::process::{Command, Stdio};

use plugboard_core::{OpenUrlError, Registry, UrlOpener};

/// Opens URLs the way the user's environment asks, with no provider's credential variables in
/// the opener's environment.
pub(crate) struct SystemBrowser {
    browser_env: Option<String>,
    /// Removed from the environment of every program started to open a URL.
    hidden_vars: Vec<String>,
}

impl SystemBrowser {
    /// Reads `$BROWSER` once, at start-up; the credential variables of every provider in
    /// `registry` are kept from the programs it starts.
    pub(crate) fn from_env(registry: &Registry) -> Self {
        Self {
            browser_env: std::env::var("BROWSER")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            hidden_vars: credential_vars(registry),
        }
    }
}

impl UrlOpener for SystemBrowser {
    fn open(&self, url: &str) -> Result<(), OpenUrlError> {
        match &self.browser_env {
            Some(list) => open_with_browser_env(list, url, &self.hidden_vars),
            None => open_with_system_opener(url, &self.hidden_vars),
        }
    }
}

/// The credential variables of every registered provider: whichever provider a command is
/// about, no program plugboard starts may see any of them.
pub(crate) fn credential_vars(registry: &Registry) -> Vec<String> {
    let mut names: Vec<String> = registry
        .providers()
        .flat_map(|p| p.credential_env_vars())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The platform's URL openers, each a program and its leading arguments, tried in order until
/// one starts.
fn system_openers() -> &'static [&'static [&'static str]] {
    if cfg!(target_os = "macos") {
        &[&["open"]]
    } else if cfg!(windows) {
        // Not `cmd /c start`, which would re-parse the URL's `&` as a command separator.
        &[&["rundll32", "url.dll,FileProtocolHandler"]]
    } else {
        // xdg-open follows the desktop's choice; the others cover desktops without it and WSL.
        &[
            &["xdg-open"],
            &["gio", "open"],
            &["wslview"],
            &["x-www-browser"],
        ]
    }
}

fn open_with_system_opener(url: &str, hidden_vars: &[String]) -> Result<(), OpenUrlError> {
    let mut tried = Vec::new();
    for opener in system_openers() {
        let Some((program, args)) = opener.split_first() else {
            continue;
        };
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.push(url.to_owned());
        if start(program, &args, hidden_vars).is_ok() {
            return Ok(());
        }
        tried.push(*program);
    }
    Err(OpenUrlError {
        reason: format!(
            "none of {} could be started (set $BROWSER to choose one)",
            tried.join(", ")
        ),
    })
}

/// Starts `program` with `args` and without `hidden_vars`, detached from the terminal; it is
/// not waited for.
fn start(program: &str, args: &[String], hidden_vars: &[String]) -> std::io::Result<()> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for name in hidden_vars {
        command.env_remove(name);
    }
    let mut child = command.spawn()?;
    // Reap the opener when it exits, without making the login wait for it.
    std::thread::spawn(move || child.wait());
    Ok(())
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
fn open_with_browser_env(
    list: &str,
    url: &str,
    hidden_vars: &[String],
) -> Result<(), OpenUrlError> {
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
        match start(program, args, hidden_vars) {
            Ok(()) => return Ok(()),
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
        let opened =
            open_with_browser_env("/nonexistent/browser:true %s", "http://127.0.0.1/", &[]);
        assert_eq!(opened, Ok(()));
        let failed =
            open_with_browser_env("/nonexistent/browser", "http://127.0.0.1/", &[]).unwrap_err();
        assert!(failed.reason.contains("/nonexistent/browser"), "{failed}");
    }

    #[test]
    fn every_registered_providers_credential_variable_is_hidden() {
        let registry = Registry::load().unwrap();
        let hidden = credential_vars(&registry);
        let expected: Vec<String> = registry
            .providers()
            .flat_map(|p| p.credential_env_vars())
            .map(str::to_owned)
            .collect();
        assert!(!expected.is_empty());
        for name in &expected {
            assert!(hidden.contains(name), "{name} in {hidden:?}");
        }
        assert!(
            hidden.contains(&"OPENROUTER_API_KEY".to_owned()),
            "{hidden:?}"
        );
    }
}
