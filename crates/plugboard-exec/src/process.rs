//! Starting a plugin's program: which program, in which folder, with which environment; and
//! making sure it is gone when the host is done with it.
//!
//! The plugin gets a minimal environment: `PATH`, `HOME`, the locale (`LANG`, `LANGUAGE`,
//! `LC_*`), `TZ`, and the variables its manifest lists in `runtime.env`, nothing else (no key
//! variable of any provider, no proxy setting it did not ask for). It runs in the plugin's
//! folder, and is killed when dropped.
//!
//! It stays in the host's process group: the CLI installs no handler for Ctrl-C and ends by the
//! signal, running no destructor, so the terminal's SIGINT reaching the plugin too is what
//! stops a plugin the user gave up on together with the host.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use plugboard_core::EXEC_BASE_ENV;
use plugboard_protocol::HostMessage;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use crate::error::ExecError;
use crate::options::ExecOptions;
use crate::stderr::{self, StderrLog};

/// How long the host waits, once a plugin's output has ended, for the process to say how it
/// ended and for the last of its stderr.
const WAIT_FOR_END: Duration = Duration::from_millis(500);

/// What to start: a plugin's id, folder and `runtime.command` / `runtime.env`.
pub(crate) struct Launch<'a> {
    pub(crate) plugin: &'a str,
    pub(crate) dir: &'a Path,
    pub(crate) command: &'a [String],
    pub(crate) env: &'a [String],
}

/// A started plugin. Dropping it closes its stdin and kills it.
pub(crate) struct PluginProcess {
    child: Child,
    stderr: Arc<StderrLog>,
    stderr_task: JoinHandle<()>,
}

impl PluginProcess {
    /// Starts the plugin with piped stdin, stdout and stderr; returns it with its stdin and
    /// stdout for the protocol.
    pub(crate) fn spawn(
        launch: &Launch<'_>,
        options: &ExecOptions,
    ) -> Result<(Self, ChildStdin, ChildStdout), ExecError> {
        let Some((program, args)) = launch.command.split_first() else {
            return Err(ExecError::NotOnPath {
                plugin: launch.plugin.to_owned(),
                program: String::new(),
            });
        };
        let env = plugin_env(launch.env, std::env::vars_os());
        let path_var = env
            .iter()
            .find(|(name, _)| name == "PATH")
            .map(|(_, value)| value.as_os_str());
        let resolved =
            resolve_program(launch.dir, program, path_var).ok_or_else(|| ExecError::NotOnPath {
                plugin: launch.plugin.to_owned(),
                program: program.clone(),
            })?;
        let mut command = Command::new(&resolved);
        command
            .args(args)
            .current_dir(launch.dir)
            .env_clear()
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| ExecError::Spawn {
            plugin: launch.plugin.to_owned(),
            program: program.clone(),
            source: Arc::new(source),
        })?;
        let (Some(stdin), Some(stdout), Some(stderr_pipe)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            // Every stream was asked to be piped, so spawn hands all three back.
            return Err(ExecError::Exited {
                plugin: launch.plugin.to_owned(),
                status: "its pipes could not be opened".to_owned(),
            });
        };
        let stderr = Arc::new(StderrLog::new(
            launch.plugin,
            options.verbose,
            Arc::clone(&options.stderr),
        ));
        let stderr_task = stderr::capture(stderr_pipe, Arc::clone(&stderr));
        Ok((
            Self {
                child,
                stderr,
                stderr_task,
            },
            stdin,
            stdout,
        ))
    }

    /// How the process ended, in words, once its output has ended: waits briefly for it to
    /// exit, and says so if it is still running (it closed its output without exiting).
    pub(crate) async fn ending(&mut self) -> String {
        match tokio::time::timeout(WAIT_FOR_END, self.child.wait()).await {
            Ok(Ok(status)) => describe(status),
            Ok(Err(_)) => "its status could not be read".to_owned(),
            Err(_) => "it closed its output".to_owned(),
        }
    }

    /// Shows the stderr kept since the last call (the call failed). When the process has ended,
    /// waits briefly for the rest of its stderr first, so a crash's last words are shown.
    pub(crate) async fn show_stderr(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = tokio::time::timeout(WAIT_FOR_END, &mut self.stderr_task).await;
        }
        self.stderr.show_kept();
    }

    /// Notes the secrets `message` hands the plugin, never to be shown from its stderr.
    pub(crate) fn hide_secrets_of(&self, message: &HostMessage) {
        self.stderr.hide_secrets_of(message);
    }

    /// Stops the plugin and shows the stderr kept since the last call (whose answer the host
    /// refused), the rest of it included: the plugin wrote it before answering.
    pub(crate) async fn stop(&mut self) {
        // A plugin already gone cannot be killed; either way it is waited for just below.
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(WAIT_FOR_END, self.child.wait()).await;
        self.show_stderr().await;
    }

    /// Forgets the stderr kept so far: it belongs to calls that are over.
    pub(crate) fn forget_stderr(&self) {
        self.stderr.clear();
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        // The child is killed by `kill_on_drop`, its stdin closed with the connection.
        self.stderr_task.abort();
    }
}

/// `status` in words: `exit status 1`, `killed by signal 9`.
fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    "it ended".to_owned()
}

/// The plugin's environment, from the host's `vars`: `PATH`, `HOME`, the locale (`LANG`,
/// `LANGUAGE`, `LC_*`), `TZ`, and the names the manifest `declared`; nothing else.
pub(crate) fn plugin_env(
    declared: &[String],
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    vars.into_iter()
        .filter(|(name, _)| {
            name.to_str().is_some_and(|name| {
                EXEC_BASE_ENV.contains(&name)
                    || name.starts_with("LC_")
                    || declared.iter().any(|d| d == name)
            })
        })
        .collect()
}

/// The program to run: a path with a `/` is taken relative to the plugin's folder `dir`; a bare
/// name is the first executable file of that name in a `PATH` entry.
pub(crate) fn resolve_program(dir: &Path, program: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(dir.join(program));
    }
    std::env::split_paths(path?)
        .filter(|entry| entry.is_absolute())
        .map(|entry| entry.join(program))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_gets_path_home_the_locale_and_only_what_it_declared() {
        let host = [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/u"),
            ("LANG", "C.UTF-8"),
            ("LANGUAGE", "en"),
            ("LC_ALL", "C"),
            ("LC_MESSAGES", "C"),
            ("TZ", "UTC"),
            ("ACME_REGION", "eu"),
            ("OPENROUTER_API_KEY", "sk-or-v1-secret"),
            ("HTTPS_PROXY", "http://proxy"),
            ("PLUGBOARD_HOME", "/home/u/.plugboard"),
            ("LCX", "not the locale"),
        ]
        .map(|(n, v)| (OsString::from(n), OsString::from(v)));
        let env = plugin_env(&["ACME_REGION".to_owned()], host);
        let names: Vec<&str> = env.iter().filter_map(|(n, _)| n.to_str()).collect();
        assert_eq!(
            names,
            [
                "PATH",
                "HOME",
                "LANG",
                "LANGUAGE",
                "LC_ALL",
                "LC_MESSAGES",
                "TZ",
                "ACME_REGION"
            ]
        );
    }

    #[test]
    fn a_program_with_a_slash_is_in_the_plugin_folder_and_a_bare_name_on_path() {
        let dir = Path::new("/plugins/acme");
        assert_eq!(
            resolve_program(dir, "./bin/acme", None),
            Some(PathBuf::from("/plugins/acme/./bin/acme"))
        );
        assert_eq!(
            resolve_program(dir, "bin/acme", None),
            Some(PathBuf::from("/plugins/acme/bin/acme"))
        );
        let path = std::env::var_os("PATH");
        let sh = resolve_program(dir, "sh", path.as_deref()).expect("sh is on PATH");
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{sh:?}");
        assert_eq!(
            resolve_program(dir, "no-such-program-here", path.as_deref()),
            None
        );
        assert_eq!(resolve_program(dir, "sh", None), None);
        // A relative PATH entry would depend on the plugin's folder: never searched.
        assert_eq!(resolve_program(dir, "sh", Some(OsStr::new("bin:."))), None);
    }
}
