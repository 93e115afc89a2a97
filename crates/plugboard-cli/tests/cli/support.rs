//! Running the real `plugboard` binary in a private, throw-away home.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use plugboard_testkit::OpenRouterDouble;
use serde_json::Value;
use tempfile::TempDir;

/// The credential environment variable of the OpenRouter provider.
pub(crate) const KEY_ENV: &str = "OPENROUTER_API_KEY";

/// Every provider's credential and location variables, removed from each run's environment.
const PROVIDER_ENV: [&str; 7] = [
    KEY_ENV,
    "OPENROUTER_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_CODEX_BASE_URL",
    "GITHUB_COPILOT_BASE_URL",
    "OLLAMA_HOST",
];

/// The arguments of a model call to OpenRouter with a one-word prompt.
pub(crate) const INFER: &[&str] = &[
    "infer",
    "model",
    "run",
    "--model",
    "openrouter/auto",
    "--prompt",
    "hi",
];

/// The arguments of a plain API-key login to OpenRouter.
pub(crate) const LOGIN: &[&str] = &[
    "models",
    "auth",
    "login",
    "--provider",
    "openrouter",
    "--method",
    "api-key",
];

/// The arguments of an OAuth (browser) login to OpenRouter.
pub(crate) const OAUTH_LOGIN: &[&str] = &[
    "models",
    "auth",
    "login",
    "--provider",
    "openrouter",
    "--method",
    "oauth",
];

/// [`OAUTH_LOGIN`] plus `extra` arguments.
pub(crate) fn oauth_login<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    OAUTH_LOGIN.iter().chain(extra).copied().collect()
}

/// A key shaped like a real OpenRouter key: `sk-or-v1-` and 64 hex digits, different per seed.
pub(crate) fn key(seed: u64) -> String {
    let mut state = seed;
    let body: String = (0..4)
        .map(|_| {
            state = splitmix64(state);
            format!("{state:016x}")
        })
        .collect();
    format!("sk-or-v1-{body}")
}

/// How plugboard shows `key`: its vendor prefix, `...`, and its last four characters.
pub(crate) fn redacted(key: &str) -> String {
    format!("sk-or-v1-...{}", &key[key.len() - 4..])
}

fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What one run of plugboard did.
#[derive(Debug)]
pub(crate) struct Run {
    /// The exit code.
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts the run exited 0 and returns it.
    #[track_caller]
    pub(crate) fn success(self) -> Self {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    /// Asserts the run exited with `code` and said why in exactly one `error: ` line on stderr
    /// (and nothing on stdout); returns that line.
    #[track_caller]
    pub(crate) fn error_line(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "exit code: {self:#?}");
        assert_eq!(self.stdout, "", "stdout of a failure: {self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr is not one line: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        lines[0]
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// The `plugboard` binary with `PLUGBOARD_HOME` in a fresh temporary directory. The home is a
/// nested directory that does not exist yet, so plugboard has to create it.
///
/// Every key piped on stdin or passed in `OPENROUTER_API_KEY` is remembered as a secret, and
/// every run (of this one and all later commands) asserts that no secret appears in its stdout
/// or stderr.
pub(crate) struct Plugboard {
    tmp: TempDir,
    home: PathBuf,
    secrets: RefCell<Vec<String>>,
}

impl Plugboard {
    pub(crate) fn new() -> Self {
        let tmp = TempDir::new().expect("a temporary directory");
        let home = tmp.path().join("nested").join("home");
        Self {
            tmp,
            home,
            secrets: RefCell::new(Vec::new()),
        }
    }

    /// `PLUGBOARD_HOME`.
    pub(crate) fn home(&self) -> &Path {
        &self.home
    }

    /// The temporary directory holding the home (and the working directory of every run).
    pub(crate) fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// Runs plugboard with `args`, `stdin` piped in, and `env` added to a clean environment.
    pub(crate) fn run(&self, args: &[&str], stdin: impl AsRef<[u8]>, env: &[(&str, &str)]) -> Run {
        let stdin = stdin.as_ref();
        let mut child = self.spawn(args, env);
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let input = stdin.to_vec();
        // From a thread, so a plugboard that exits without reading cannot block the test; a
        // broken pipe then is expected and harmless.
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
        let output = child.wait_with_output().expect("plugboard runs to the end");
        writer.join().expect("the stdin writer does not panic");
        self.finish(stdin, env, &output)
    }

    /// Starts plugboard with piped stdin, stdout and stderr, without waiting for it. Pass the
    /// child to [`Plugboard::wait`] with the same `stdin` and `env` to check its output.
    pub(crate) fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut command = Command::new(env!("CARGO_BIN_EXE_plugboard"));
        command
            .args(args)
            .current_dir(self.tmp.path())
            .env("PLUGBOARD_HOME", &self.home)
            .env("NO_COLOR", "1")
            .env_remove("BROWSER")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Whatever the developer's shell points a provider at (a real Ollama, a key) stays out
        // of every run: a test names each setting it wants.
        for name in PROVIDER_ENV {
            command.env_remove(name);
        }
        // Likewise plugins the developer has installed elsewhere.
        command.env_remove("PLUGBOARD_PLUGIN_PATH");
        for (name, value) in env {
            command.env(name, value);
        }
        command.spawn().expect("plugboard starts")
    }

    /// Feeds `stdin` to a child from [`Plugboard::spawn`] and closes it, without waiting.
    pub(crate) fn feed(child: &mut Child, stdin: &str) {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        // Far below a pipe's buffer, so this never blocks.
        let _ = pipe.write_all(stdin.as_bytes());
    }

    /// Waits for a child from [`Plugboard::spawn`] fed `stdin`, checking its output like
    /// [`Plugboard::run`] does.
    pub(crate) fn wait(&self, child: Child, stdin: &str, env: &[(&str, &str)]) -> Run {
        let output = child.wait_with_output().expect("plugboard runs to the end");
        self.finish(stdin.as_bytes(), env, &output)
    }

    fn finish(&self, stdin: &[u8], env: &[(&str, &str)], output: &Output) -> Run {
        {
            let mut secrets = self.secrets.borrow_mut();
            // Anything plugboard reads from stdin here is a key (or an attempt at one).
            if let Ok(text) = std::str::from_utf8(stdin) {
                remember(&mut secrets, text);
            }
            for (name, value) in env {
                if *name == KEY_ENV {
                    remember(&mut secrets, value);
                }
            }
        }
        let run = Run {
            code: output
                .status
                .code()
                .unwrap_or_else(|| panic!("plugboard was killed: {output:?}")),
            stdout: String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8"),
        };
        for secret in self.secrets.borrow().iter() {
            for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
                assert!(
                    !text.contains(secret.as_str()),
                    "a secret leaked on {stream}: {run:#?}"
                );
            }
        }
        assert_causes_said_once(&run);
        run
    }

    /// Logs in to `openrouter` with `key` on stdin plus `extra` arguments; asserts success.
    pub(crate) fn login(&self, key: &str, extra: &[&str]) -> Run {
        let args: Vec<&str> = LOGIN.iter().chain(extra).copied().collect();
        self.run(&args, format!("{key}\n"), &[]).success()
    }

    /// `models status --json` plus `extra` arguments, asserted to succeed, parsed.
    pub(crate) fn status(&self, extra: &[&str], env: &[(&str, &str)]) -> Value {
        let args: Vec<&str> = ["models", "status", "--json"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        self.run(&args, "", env).success().json()
    }

    /// The `openrouter` entry of `models status --json`, with no extra arguments.
    pub(crate) fn openrouter_status(&self) -> Value {
        openrouter(&self.status(&[], &[])).clone()
    }
}

/// The first ": "-separated part of `line` that appeared earlier in it, if any. An error whose
/// message repeats its source shows that cause twice once the chain is printed, which is how
/// `error: OpenRouter could not be reached: cannot connect to h: refused: cannot connect to h:
/// refused` happens.
pub(crate) fn repeated_segment(line: &str) -> Option<&str> {
    let segments: Vec<&str> = line
        .split(": ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    segments
        .iter()
        .enumerate()
        .find(|(i, segment)| segments[..*i].contains(segment))
        .map(|(_, segment)| *segment)
}

/// Fails the test, naming the line, when an `error: ` line on stderr, or the message of a
/// `{"ok":false,...}` document on stdout, says one of its parts twice. Every run is checked.
#[track_caller]
pub(crate) fn assert_causes_said_once(run: &Run) {
    let mut lines: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("error: "))
        .collect();
    let failure: Option<Value> = serde_json::from_str(&run.stdout)
        .ok()
        .filter(|doc: &Value| doc["ok"] == Value::Bool(false));
    if let Some(message) = failure
        .as_ref()
        .and_then(|doc| doc["error"]["message"].as_str())
    {
        lines.push(message);
    }
    for line in lines {
        if let Some(segment) = repeated_segment(line) {
            panic!("an error line says {segment:?} twice: {line:?}\n{run:#?}");
        }
    }
}

/// Remembers `text` as a secret when it could be one; keys also have their body (after the
/// `sk-or-v1-` prefix) remembered, since printing that alone would leak as much.
fn remember(secrets: &mut Vec<String>, text: &str) {
    let text = text.trim();
    if text.len() < 16 {
        return;
    }
    secrets.push(text.to_owned());
    if let Some(body) = text.strip_prefix("sk-or-v1-").filter(|b| b.len() >= 16) {
        secrets.push(body.to_owned());
    }
}

/// The `openrouter` entry of a `models status --json` document.
#[track_caller]
pub(crate) fn openrouter(status: &Value) -> &Value {
    provider_entry(status, "openrouter")
}

/// The entry of provider `id` in a `models status --json` document.
#[track_caller]
pub(crate) fn provider_entry<'a>(status: &'a Value, id: &str) -> &'a Value {
    status["providers"]
        .as_array()
        .and_then(|providers| providers.iter().find(|p| p["id"] == id))
        .unwrap_or_else(|| panic!("no {id} provider in {status:#}"))
}

/// The profile ids of a provider entry of `models status --json`.
pub(crate) fn profile_ids(provider: &Value) -> Vec<String> {
    provider["profiles"]
        .as_array()
        .map(|profiles| {
            profiles
                .iter()
                .filter_map(|p| p["profile_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The stored profile `id` of a provider entry of `models status --json`.
#[track_caller]
pub(crate) fn profile<'a>(provider: &'a Value, id: &str) -> &'a Value {
    provider["profiles"]
        .as_array()
        .and_then(|profiles| profiles.iter().find(|p| p["profile_id"] == id))
        .unwrap_or_else(|| panic!("no profile {id} in {provider:#}"))
}

/// Every file and directory under `dir`, relative to it, sorted; empty if `dir` is missing.
pub(crate) fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                pending.push(path.clone());
            }
            found.push(
                path.strip_prefix(dir)
                    .expect("entries are under the directory")
                    .to_owned(),
            );
        }
    }
    found.sort();
    found
}

/// The permission bits of a file or directory.
#[cfg(unix)]
pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

impl Plugboard {
    /// Remembers `secret` (a key a double issued, say) so every later run asserts it never
    /// appears in output.
    pub(crate) fn remember_secret(&self, secret: &str) {
        remember(&mut self.secrets.borrow_mut(), secret);
    }

    /// Starts an OAuth login against `double` whose `$BROWSER` hands the URL to the test.
    pub(crate) fn start_oauth_login(
        &self,
        double: &OpenRouterDouble,
        browser: &HandoffBrowser,
        extra: &[&str],
    ) -> Watched {
        let env = [
            ("OPENROUTER_BASE_URL", double.api_base()),
            ("BROWSER", browser.command()),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.spawn_watched(&oauth_login(extra), &env)
    }

    /// The last key `double` issued, remembered as a secret: every run from now on is checked
    /// for it.
    pub(crate) fn remember_issued_key(&self, double: &OpenRouterDouble) -> String {
        let key = double
            .issued_keys()
            .last()
            .cloned()
            .expect("the double issued a key");
        self.remember_secret(&key);
        key
    }

    /// Starts plugboard like [`Plugboard::spawn`], with stderr read as it arrives, so a test
    /// can act on what plugboard says (the URL it prints) while it runs.
    pub(crate) fn spawn_watched(&self, args: &[&str], env: &[(&str, &str)]) -> Watched {
        let mut child = self.spawn(args, env);
        let stderr = child.stderr.take().expect("stderr is piped");
        let (lines, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
                let Ok(line) = line else { break };
                all.push_str(&line);
                all.push('\n');
                let _ = lines.send(line);
            }
            all
        });
        Watched {
            child,
            lines: rx,
            reader,
            env: env
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// Waits for a [`Watched`] run fed `stdin` and checks its output like [`Plugboard::run`].
    pub(crate) fn wait_watched(&self, watched: Watched, stdin: &str) -> Run {
        let Watched {
            child, reader, env, ..
        } = watched;
        let output = child.wait_with_output().expect("plugboard runs to the end");
        let stderr = reader.join().expect("the stderr reader does not panic");
        let output = Output {
            stderr: stderr.into_bytes(),
            ..output
        };
        let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        self.finish(stdin.as_bytes(), &env, &output)
    }
}

/// A running plugboard whose stderr lines a test can wait for.
pub(crate) struct Watched {
    pub(crate) child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<String>,
    env: Vec<(String, String)>,
}

impl Watched {
    /// The first stderr line from now on that contains `needle`; panics if plugboard closes
    /// stderr (exits) first or nothing arrives within a minute.
    #[track_caller]
    pub(crate) fn line_containing(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(std::time::Duration::from_secs(60)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no stderr line containing {needle:?}: {e}"),
            }
        }
    }

    /// The authorize URL plugboard printed (the line that has `/auth?`).
    #[track_caller]
    pub(crate) fn authorize_url(&self) -> String {
        let line = self.line_containing("/auth?");
        line.split_whitespace()
            .find(|word| word.contains("/auth?"))
            .expect("the line has the URL")
            .to_owned()
    }

    /// Feeds `stdin` and closes it.
    pub(crate) fn feed(&mut self, stdin: &str) {
        Plugboard::feed(&mut self.child, stdin);
    }
}

/// A `$BROWSER` that hands each URL to the test: a shell script appending it to a file the test
/// polls. The test then plays the browser (see `plugboard_testkit`).
pub(crate) struct HandoffBrowser {
    dir: TempDir,
}

impl HandoffBrowser {
    pub(crate) fn new() -> Self {
        let dir = TempDir::new().expect("a temporary directory");
        let script = dir.path().join("browser");
        let opened = dir.path().join("opened");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
                opened.display()
            ),
        )
        .expect("the browser script is written");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .expect("the browser script is executable");
        }
        Self { dir }
    }

    /// The value for `$BROWSER`.
    pub(crate) fn command(&self) -> String {
        self.dir.path().join("browser").display().to_string()
    }

    /// The URLs opened so far.
    pub(crate) fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("opened"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Polls until plugboard has opened a URL, and returns it; panics after a minute.
    #[track_caller]
    pub(crate) fn wait_for_url(&self) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(url) = self.opened().into_iter().next() {
                return url;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "plugboard opened no URL within a minute"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// Tests that let plugboard pick its default callback port (3000) hold this, so they do not
/// take the port from each other; the others pass `--port 0`.
pub(crate) static DEFAULT_PORT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One raw HTTP/1.1 request to `url` with `method`, for probing the callback server the way a
/// stray or hostile client would; returns the status code and the body.
pub(crate) fn probe(method: &str, url: &str) -> (u16, String) {
    let url = url::Url::parse(url).expect("an absolute URL");
    let port = url.port_or_known_default().expect("a port");
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("the callback server listens");
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("the request is sent");
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).expect("a response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The loopback callback URL (with its state) inside an authorize URL.
pub(crate) fn callback_in(authorize_url: &str) -> url::Url {
    let url = url::Url::parse(authorize_url).expect("an absolute URL");
    let callback = url
        .query_pairs()
        .find(|(k, _)| k == "callback_url")
        .map(|(_, v)| v.into_owned())
        .expect("the authorize URL has a callback_url");
    url::Url::parse(&callback).expect("the callback is a URL")
}

#[test]
fn a_line_saying_a_cause_twice_is_caught_and_a_line_saying_each_once_passes() {
    let cases = [
        (
            "OpenRouter could not be reached: cannot connect to 127.0.0.1:9: connection refused: cannot connect to 127.0.0.1:9: connection refused",
            Some("cannot connect to 127.0.0.1:9"),
        ),
        (
            "OpenRouter could not be reached: cannot connect to 127.0.0.1:9: connection refused",
            None,
        ),
        ("cannot save: disk full: disk full", Some("disk full")),
        ("profile openrouter:work is not stored", None),
    ];
    for (line, want) in cases {
        assert_eq!(repeated_segment(line), want, "{line}");
    }
}

#[test]
fn every_run_is_checked_for_error_lines_that_repeat_a_cause() {
    let run = |stdout: &str, stderr: &str| Run {
        code: 1,
        stdout: stdout.to_owned(),
        stderr: stderr.to_owned(),
    };
    let fine = [
        run(
            "",
            "error: sign-in failed: port 3000 on localhost is in use\n",
        ),
        run("", "note: a: a\n"),
        run(r#"{"ok":true,"outputs":[]}"#, ""),
        run(
            r#"{"ok":false,"error":{"type":"network","message":"x: y"}}"#,
            "",
        ),
    ];
    for run in &fine {
        assert_causes_said_once(run);
    }
    let repeating = [
        run("", "note: fine\nerror: cannot save: disk full: disk full\n"),
        run(
            r#"{"ok":false,"error":{"type":"network","message":"x: y: x"}}"#,
            "",
        ),
    ];
    for bad in &repeating {
        let caught = std::panic::catch_unwind(|| assert_causes_said_once(bad));
        assert!(caught.is_err(), "not caught: {bad:#?}");
    }
}
