//! The two example plugins run as the host runs them: a process whose stdin and stdout speak
//! the protocol, started in its plugin directory with a minimal environment.

use std::path::{Path, PathBuf};

use plugboard_core::{Manifest, Runtime, shows_secret};
use plugboard_protocol::{
    Answer, AnswerError, AnswerFailure, ErrorKind, HostMessage, ModelExpectation, PluginMessage,
    PromptKind, SignInExpectation, WireCredential, WireSecret,
};
use plugboard_testkit::{OpenRouterDouble, example_python_plugin_dir, example_rust_plugin};

use crate::host::api_key;
use crate::process::Plugin;
use crate::service::Service;

/// One example plugin: its id (plugin and provider alike), its directory (with
/// `plugin.json`), and how to start it there.
struct Example {
    id: &'static str,
    dir: PathBuf,
    program: PathBuf,
    args: &'static [&'static str],
}

impl Example {
    fn spawn(&self) -> Plugin {
        Plugin::spawn(&self.dir, &self.program, self.args)
    }

    /// A started session: hello checked, version 1 agreed.
    fn start(&self) -> Plugin {
        let mut plugin = self.spawn();
        match plugin.recv() {
            PluginMessage::Hello {
                plugin: id,
                versions,
                ..
            } => {
                assert_eq!(id, self.id);
                assert!(versions.contains(&1), "{versions:?}");
            }
            other => panic!("{}: expected hello, got {other:?}", self.id),
        }
        plugin.send(&HostMessage::Start { version: 1 });
        plugin
    }

    fn manifest(&self) -> Manifest {
        let path = self.dir.join("plugin.json");
        let json = std::fs::read_to_string(&path).unwrap();
        Manifest::load(&path.display().to_string(), &json).unwrap()
    }
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Both examples. The Rust one runs from where the manifest's command expects it
/// (`./bin/example-rust-plugin`, here the built binary itself).
fn examples() -> [Example; 2] {
    let rust = example_rust_plugin();
    [
        Example {
            id: "example-rust",
            dir: repo("examples/plugin-rust"),
            program: rust,
            args: &[],
        },
        Example {
            id: "example-python",
            dir: example_python_plugin_dir(),
            program: PathBuf::from("python3"),
            args: &["plugin.py"],
        },
    ]
}

fn sign_in(id: u64, provider: &str, profile: &str) -> HostMessage {
    HostMessage::SignIn {
        id,
        provider: provider.into(),
        method: "api-key".into(),
        profile: format!("{provider}:{profile}"),
        base_url: Some("https://openrouter.ai/api/v1".into()),
        settings: serde_json::Value::Null,
        interactive: false,
        no_browser: true,
        timeout_secs: 300,
    }
}

fn run_model(id: u64, provider: &str, base_url: &str, key: &str, prompt: &str) -> HostMessage {
    HostMessage::RunModel {
        id,
        provider: provider.into(),
        credential: api_key(key),
        base_url: Some(base_url.into()),
        settings: serde_json::Value::Null,
        model: "openai/gpt-4o-mini".into(),
        prompt: prompt.into(),
    }
}

/// Answers the plugin's secret prompt with `answer`.
fn answer_secret_prompt(plugin: &mut Plugin, example: &str, answer: Answer) {
    match plugin.recv() {
        PluginMessage::Prompt {
            id,
            kind: PromptKind::Secret,
            ..
        } => plugin.answer(id, answer),
        other => panic!("{example}: expected a secret prompt, got {other:?}"),
    }
}

fn failure(example: &str, message: PluginMessage) -> (u64, ErrorKind, String) {
    match message {
        PluginMessage::Failed { id, error } => (id, error.kind, error.message),
        other => panic!("{example}: expected failed, got {other:?}"),
    }
}

#[test]
fn each_example_declares_an_exec_runtime_and_fixtures_the_contract_can_run() {
    for example in examples() {
        let manifest = example.manifest();
        assert_eq!(manifest.id, example.id);
        assert_eq!(manifest.providers[0].id, example.id);
        let Some(Runtime::Exec(runtime)) = &manifest.runtime else {
            panic!("{}: {:?}", example.id, manifest.runtime)
        };
        assert_eq!(
            runtime.base_url.as_deref(),
            Some("https://openrouter.ai/api/v1")
        );

        let mut plugin = example.start();
        plugin.send(&HostMessage::ListFixtures { id: 1 });
        let fixtures = match plugin.recv() {
            PluginMessage::Fixtures { id: 1, fixtures } => fixtures,
            other => panic!("{}: {other:?}", example.id),
        };
        let id = example.id;
        assert!(
            fixtures
                .sign_in
                .iter()
                .all(|f| f.provider == id && f.method == "api-key")
        );
        for expect in [SignInExpectation::Succeeds, SignInExpectation::Fails] {
            assert!(fixtures.sign_in.iter().any(|f| f.expect == expect), "{id}");
        }
        assert!(fixtures.model.iter().all(|f| f.provider == id));
        assert!(
            fixtures
                .model
                .iter()
                .any(|f| matches!(f.expect, ModelExpectation::Replies(_)))
        );
        assert!(fixtures.model.iter().any(|f| f.expect
            == ModelExpectation::Fails(ErrorKind::CredentialRejected)
            && f.replies[0].status == 401));
        let [errors] = fixtures.service_errors.as_slice() else {
            panic!("{id}: {:?}", fixtures.service_errors)
        };
        assert_eq!(errors.provider, id);
        assert_eq!(errors.rejected.status, 401);
        assert!(errors.error_with_message.body.contains("{message}"));
        assert!(plugin.close().success(), "{id}");
    }
}

#[test]
fn each_example_signs_in_with_the_key_the_host_relays() {
    for example in examples() {
        let id = example.id;
        let mut plugin = example.start();
        plugin.send(&sign_in(1, id, "work"));
        answer_secret_prompt(
            &mut plugin,
            id,
            Answer::Secret(WireSecret("  sk-or-v1-relayed-0123456789\n".into())),
        );
        match plugin.recv() {
            PluginMessage::SignedIn {
                id: 1, profiles, ..
            } => {
                assert_eq!(profiles.len(), 1, "{id}");
                assert_eq!(profiles[0].profile_id, format!("{id}:work"));
                let WireCredential::ApiKey { key, .. } = &profiles[0].credential else {
                    panic!("{id}: {profiles:?}")
                };
                assert_eq!(key.0, "sk-or-v1-relayed-0123456789");
            }
            other => panic!("{id}: {other:?}"),
        }

        let cancelled = Answer::Error(AnswerError {
            kind: AnswerFailure::Cancelled,
            message: String::new(),
        });
        let cases = [
            (cancelled, ErrorKind::Cancelled),
            (
                Answer::Secret(WireSecret(" ".into())),
                ErrorKind::InvalidInput,
            ),
            (
                Answer::Secret(WireSecret("sk with spaces".into())),
                ErrorKind::InvalidInput,
            ),
            // 2049 characters, but 4098 bytes: over the limit, which counts bytes.
            (
                Answer::Secret(WireSecret("é".repeat(2049))),
                ErrorKind::InvalidInput,
            ),
        ];
        for (n, (answer, kind)) in (2..).zip(cases) {
            plugin.send(&sign_in(n, id, "default"));
            answer_secret_prompt(&mut plugin, id, answer);
            let (got, got_kind, message) = failure(id, plugin.recv());
            assert_eq!((got, got_kind), (n, kind), "{id}: {message}");
            assert!(!message.contains("sk with"), "{id}: {message}");
        }
        assert!(plugin.close().success(), "{id}");
    }
}

#[test]
fn each_example_runs_a_model_against_the_openrouter_double() {
    let double = OpenRouterDouble::start().unwrap();
    let key = double.issue_key();
    let base = double.api_base();
    for example in examples() {
        let id = example.id;
        let before = double.requests_to("/api/v1/chat/completions").len();
        let mut plugin = example.start();
        plugin.send(&run_model(1, id, &base, &key, "Reply exactly: pong"));
        match plugin.recv() {
            PluginMessage::ModelReply { id: 1, outputs } => {
                assert_eq!(outputs[0].text, "pong", "{id}");
            }
            other => panic!("{id}: {other:?}"),
        }
        let sent = double.requests_to("/api/v1/chat/completions");
        assert_eq!(sent.len(), before + 1, "{id}");

        let unknown = "sk-or-v1-ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        plugin.send(&run_model(2, id, &base, unknown, "hi"));
        let (n, kind, message) = failure(id, plugin.recv());
        assert_eq!(
            (n, kind),
            (2, ErrorKind::CredentialRejected),
            "{id}: {message}"
        );
        assert!(message.contains("HTTP 401"), "{id}: {message}");
        assert!(!message.contains("ffffffff"), "{id}: {message}");

        // Plain http is for this machine only: the key is never sent elsewhere unencrypted.
        plugin.send(&run_model(3, id, "http://openrouter.ai/api/v1", &key, "hi"));
        let (n, kind, message) = failure(id, plugin.recv());
        assert_eq!((n, kind), (3, ErrorKind::Config), "{id}: {message}");

        plugin.send(&run_model(4, "elsewhere", &base, &key, "hi"));
        let (n, kind, _) = failure(id, plugin.recv());
        assert_eq!((n, kind), (4, ErrorKind::Unsupported), "{id}");
        assert!(plugin.close().success(), "{id}");
    }
}

#[test]
fn each_example_refuses_a_protocol_version_it_does_not_speak() {
    for example in examples() {
        let mut plugin = example.spawn();
        assert!(matches!(plugin.recv(), PluginMessage::Hello { .. }));
        plugin.send(&HostMessage::Start { version: 999 });
        let status = plugin.close();
        assert!(!status.success(), "{}: {status}", example.id);
    }
}

/// The key the probes send, and how a service might echo it back: as sent, and in the
/// disguises that defeat a scrubber looking for the exact key (as the contract's probes do).
fn disguised(key: &str) -> Vec<(&'static str, String)> {
    let inside = |c: char| {
        let middle = key.len() / 2;
        format!("{}{c}{}", &key[..middle], &key[middle..])
    };
    let zero_width: String = key
        .chars()
        .enumerate()
        .flat_map(|(i, c)| std::iter::once(c).chain((i % 4 == 3).then_some('\u{200b}')))
        .collect();
    vec![
        ("as sent", key.to_owned()),
        ("in upper case", key.to_uppercase()),
        ("with zero-width spaces inside", zero_width),
        ("with a soft hyphen inside", inside('\u{ad}')),
        ("with a control character inside", inside('\u{7}')),
    ]
}

#[test]
fn each_example_keeps_the_key_out_of_its_errors_however_the_service_echoes_it() {
    let service = Service::start();
    let key = "sk-pbct-Zq7Wm3Xv9Kp2Rt5Yn8Lb4Hd6";
    for example in examples() {
        let id = example.id;
        let mut plugin = example.start();
        let mut n = 0;
        let mut call = |plugin: &mut Plugin| {
            n += 1;
            plugin.send(&run_model(n, id, service.base_url(), key, "Say hello."));
            failure(id, plugin.recv())
        };

        // The service's own error shapes, as the example declares them.
        service.answer(401, r#"{"error":{"code":401,"message":"User not found."}}"#);
        let (_, kind, message) = call(&mut plugin);
        assert_eq!(kind, ErrorKind::CredentialRejected, "{id}: {message}");
        service.answer(200, "<html>maintenance</html>");
        let (_, kind, message) = call(&mut plugin);
        assert_eq!(kind, ErrorKind::BadResponse, "{id}: {message}");

        for (disguise, echo) in disguised(key) {
            let quoted = |message: &str| {
                serde_json::json!({"error": {"code": 400, "message": message}}).to_string()
            };
            let answers = [
                (401, quoted(&format!("Invalid key {echo}"))),
                (
                    500,
                    quoted(&format!("Internal error while handling key {echo}")),
                ),
                (400, quoted(&format!("Bad request sent with key {echo}"))),
                (
                    200,
                    format!("<html><body>Signed in with {echo}</body></html>"),
                ),
            ];
            for (status, body) in answers {
                service.answer(status, &body);
                let (_, kind, message) = call(&mut plugin);
                assert!(
                    !shows_secret(&message, key),
                    "{id}: a {status} echoing the key {disguise} shows it: {message}"
                );
                let want = match status {
                    401 => ErrorKind::CredentialRejected,
                    500 => ErrorKind::Service,
                    400 => ErrorKind::InvalidRequest,
                    _ => ErrorKind::BadResponse,
                };
                assert_eq!(kind, want, "{id}: {status} {disguise}: {message}");
            }
        }
        assert!(plugin.close().success(), "{id}");
    }
}

/// How one model call ended: the outputs' texts, or the failure's kind and message.
type Outcome = Result<Vec<String>, (ErrorKind, String)>;

/// A port nothing listens on (one just freed).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn both_examples_end_each_answer_of_the_service_the_same_way() {
    let service = Service::start();
    let key = "sk-or-v1-same-way-0123456789";
    let error = |code: u16, message: &str| {
        serde_json::json!({"error": {"code": code, "message": message}}).to_string()
    };
    let parts = r#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":5},{"type":"text","text":"b"}]}}]}"#;
    let too_large = format!(
        r#"{{"choices":[{{"message":{{"content":"{}"}}}}]}}"#,
        "x".repeat(1024 * 1024)
    );
    use ErrorKind as K;
    let cases: Vec<(u16, String, Result<&str, ErrorKind>)> = vec![
        (200, parts.to_owned(), Ok("ab")),
        (200, error(502, "upstream failed"), Err(K::Service)),
        (
            200,
            "<html>maintenance</html>".to_owned(),
            Err(K::BadResponse),
        ),
        (200, r#"{"choices":[]}"#.to_owned(), Err(K::BadResponse)),
        (200, r#"{"choices":[1]}"#.to_owned(), Err(K::BadResponse)),
        (200, too_large, Err(K::BadResponse)),
        (302, String::new(), Err(K::Service)),
        (
            400,
            error(400, "x is not a valid model ID"),
            Err(K::InvalidRequest),
        ),
        (
            401,
            error(401, "User not found."),
            Err(K::CredentialRejected),
        ),
        (402, error(402, "Insufficient credits"), Err(K::RateLimited)),
        (403, error(403, "Input flagged"), Err(K::InvalidRequest)),
        (404, String::new(), Err(K::InvalidRequest)),
        (408, String::new(), Err(K::Service)),
        (429, error(429, "Rate limit exceeded"), Err(K::RateLimited)),
        (500, "<html>".to_owned(), Err(K::Service)),
    ];
    let mut plugins: Vec<(&str, Plugin)> = examples()
        .iter()
        .map(|example| (example.id, example.start()))
        .collect();
    let mut call = |base_url: &str| -> Vec<Outcome> {
        plugins
            .iter_mut()
            .map(|(id, plugin)| {
                plugin.send(&run_model(1, id, base_url, key, "Say hello."));
                match plugin.recv() {
                    PluginMessage::ModelReply { outputs, .. } => {
                        Ok(outputs.into_iter().map(|o| o.text).collect())
                    }
                    other => {
                        let (_, kind, message) = failure(id, other);
                        Err((kind, message))
                    }
                }
            })
            .collect()
    };
    for (status, body, want) in &cases {
        service.answer(*status, body);
        let [rust, python] = <[Outcome; 2]>::try_from(call(service.base_url())).unwrap();
        assert_eq!(rust, python, "a {status} answered {body:.60}");
        match (want, rust) {
            (Ok(text), Ok(outputs)) => assert_eq!(outputs, [*text], "{status}"),
            (Err(kind), Err((got, _))) => assert_eq!(got, *kind, "{status} {body:.60}"),
            (want, got) => panic!("a {status}: expected {want:?}, got {got:?}"),
        }
    }
    // A service that cannot be reached, named as plugboard's own client names it.
    let port = closed_port();
    let [rust, python] =
        <[Outcome; 2]>::try_from(call(&format!("http://127.0.0.1:{port}/api/v1"))).unwrap();
    assert_eq!(rust, python);
    assert_eq!(
        rust,
        Err((
            K::Network,
            format!("cannot connect to 127.0.0.1:{port}: connection refused")
        ))
    );
    for (id, mut plugin) in plugins {
        assert!(plugin.close().success(), "{id}");
    }
}

#[test]
fn nothing_but_protocol_lines_reach_the_python_examples_stdout() {
    // The example loaded as a module (its session not started), then code in it writing to
    // stdout every way it can: print(), the file descriptor itself, a child process.
    let script = "import os, subprocess, sys\n\
                  import plugin\n\
                  print('a stray print')\n\
                  os.write(1, b'a stray write\\n')\n\
                  subprocess.run([sys.executable, '-c', 'print(\"a child\")'], check=True)\n\
                  plugin.send({'type': 'note', 'message': 'a protocol line'})\n";
    let output = std::process::Command::new("python3")
        // -B: no __pycache__ left in the example's folder.
        .args(["-B", "-c", script])
        .current_dir(example_python_plugin_dir())
        .env_clear()
        .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"type\":\"note\",\"message\":\"a protocol line\"}\n",
        "stderr: {stderr}"
    );
    for stray in ["a stray print", "a stray write", "a child"] {
        assert!(stderr.contains(stray), "{stray}: {stderr}");
    }
}
