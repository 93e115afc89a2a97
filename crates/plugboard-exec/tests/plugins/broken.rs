//! Broken plugins, each the way the issue names: one that exits at once, never answers,
//! writes 10 MB of garbage, returns another provider's profile, dies in the middle of a
//! request, or speaks an unknown version. Each fails its call within 30 s with one line naming
//! the plugin; the process is gone afterwards; the sign-in returns no result, so nothing can be
//! written; and every later call fails at once the same way.

use std::time::{Duration, Instant};

use plugboard_core::{
    Answer, AuthContext, Credential, CredentialKind, ErrorChain, HostServices, ModelContext,
    ModelErrorKind, ModelRequest, Provenance, ScriptedPrompter,
};
use serde_json::{Value, json};

use crate::support::{TestPlugin, ended, options};

/// How long a broken plugin may take to fail a call.
const BUDGET: Duration = Duration::from_secs(30);

/// A short `hello` limit, so the plugin that never says hello costs 2 s, not 10.
const HELLO: Duration = Duration::from_secs(2);

struct Failed {
    line: String,
    stderr: Vec<String>,
    transcript: Vec<String>,
}

/// Signs in to the plugin in `mode` (with `runtime` added), asserting the sign-in fails within
/// the budget, the plugin's process has ended, and a second call fails at once the same way.
async fn sign_in_fails(mode: &str, runtime: Value) -> Failed {
    let plugin = TestPlugin::with_runtime(mode, runtime);
    let (options, shown) = options(false);
    let providers = plugin.providers(&options.with_hello_timeout(HELLO));
    let method = providers[0].auth_method("api-key").expect("the method");
    let prompter = std::sync::Arc::new(ScriptedPrompter::new([Answer::Secret(
        "sk-test-0123456789".into(),
    )]));
    let mut ctx = AuthContext::scripted([]);
    ctx.prompter = prompter.clone();

    let started = Instant::now();
    let error = method
        .run(&mut ctx)
        .await
        .expect_err("a broken plugin's sign-in fails, and returns nothing to write");
    assert!(started.elapsed() < BUDGET, "{:?}", started.elapsed());
    let line = ErrorChain(&error).to_string();
    assert!(!line.contains('\n'), "{line}");
    if let Some(pid) = plugin.pid() {
        assert!(ended(pid).await, "the plugin still runs after: {line}");
    }

    let again = Instant::now();
    let mut ctx = AuthContext::scripted([Answer::Secret("sk-test-0123456789".into())]);
    let second = method.run(&mut ctx).await.expect_err("still broken");
    assert!(again.elapsed() < Duration::from_secs(1), "asked again");
    assert_eq!(ErrorChain(&second).to_string(), line);

    let stderr = shown.lock().expect("the sink").clone();
    Failed {
        line,
        stderr,
        transcript: prompter.transcript(),
    }
}

#[tokio::test]
async fn a_plugin_that_exits_at_once_fails_naming_its_exit_status_and_its_stderr_is_shown() {
    let failed = sign_in_fails("exit", json!({})).await;
    assert_eq!(
        failed.line,
        "plugin test-exec: exited before answering (exit status 3)"
    );
    assert_eq!(failed.stderr, ["test-exec: test plugin: giving up"]);
}

#[tokio::test]
async fn a_plugin_that_never_says_hello_fails_when_the_hello_limit_runs_out() {
    let failed = sign_in_fails("silent", json!({})).await;
    assert_eq!(
        failed.line,
        "plugin test-exec: did not say hello within 2 s"
    );
}

#[tokio::test]
async fn a_plugin_speaking_an_unknown_version_fails_naming_both_sides_versions() {
    let failed = sign_in_fails("version", json!({})).await;
    assert_eq!(
        failed.line,
        "plugin test-exec: speaks protocol versions [99], this host speaks [1]"
    );
}

#[tokio::test]
async fn a_plugin_writing_10_mb_on_one_line_fails_at_the_line_limit() {
    let failed = sign_in_fails("flood", json!({})).await;
    assert_eq!(
        failed.line,
        "plugin test-exec: wrote a line longer than 1048576 bytes"
    );
}

#[tokio::test]
async fn a_plugin_writing_10_mb_of_garbage_lines_fails_at_the_first() {
    let failed = sign_in_fails("garbage", json!({})).await;
    assert_eq!(
        failed.line,
        "plugin test-exec: wrote something that is not a protocol message"
    );
}

#[tokio::test]
async fn a_plugin_that_never_answers_a_request_fails_when_its_time_limit_runs_out() {
    let failed = sign_in_fails("hang", json!({"timeout_secs": 1})).await;
    assert_eq!(failed.line, "plugin test-exec: did not answer within 1 s");
}

#[tokio::test]
async fn a_plugin_dying_in_the_middle_of_a_sign_in_fails_and_its_last_words_are_shown() {
    let failed = sign_in_fails("crash", json!({})).await;
    assert_eq!(
        failed.line,
        "plugin test-exec: exited before answering (exit status 1)"
    );
    assert_eq!(
        failed.stderr,
        ["test-exec: Traceback (most recent call last): boom"]
    );
    assert_eq!(failed.transcript, ["note: signing in to test-exec"]);
}

#[tokio::test]
async fn a_plugin_returning_another_providers_profile_fails_naming_it_and_is_stopped() {
    let failed = sign_in_fails("foreign", json!({})).await;
    assert_eq!(
        failed.line,
        "plugin test-exec: returned profile openrouter:default, which provider test-exec does not own"
    );
    // The host refused an answer the plugin gave: a failed call, so its stderr is shown.
    assert_eq!(
        failed.stderr,
        ["test-exec: test plugin: signing in to openrouter instead"]
    );
}

#[tokio::test]
async fn a_plugin_sending_messages_for_ever_fails_at_the_message_limit() {
    let failed = sign_in_fails("chatty", json!({})).await;
    assert_eq!(
        failed.line,
        "plugin test-exec: sent more than 1000 messages for one request"
    );
}

#[tokio::test]
async fn a_plugin_answering_another_request_fails_naming_both_ids() {
    let failed = sign_in_fails("wrong-id", json!({})).await;
    assert_eq!(
        failed.line,
        "plugin test-exec: answered request 1001 while request 1 was open"
    );
}

#[tokio::test]
async fn a_program_that_is_missing_or_not_on_path_fails_naming_it() {
    let cases = [
        (
            json!(["./bin/missing"]),
            "plugin test-exec: cannot start ./bin/missing: No such file or directory (os error 2)",
        ),
        (
            json!(["no-such-program-for-plugboard"]),
            "plugin test-exec: cannot start no-such-program-for-plugboard: it is not on PATH",
        ),
    ];
    for (command, line) in cases {
        let failed = sign_in_fails("good", json!({"command": command})).await;
        assert_eq!(failed.line, line);
    }
}

#[tokio::test]
async fn a_plugin_that_stops_reading_its_input_fails_at_its_time_limit_instead_of_blocking_the_host()
 {
    // Both fill the pipe to a plugin that never reads: a request larger than a pipe holds, and
    // the host's answers to the prompts it sent. A write blocked on a full pipe is a hang too.
    for prompt in ["Hi".to_owned(), "x".repeat(1024 * 1024)] {
        let plugin = TestPlugin::with_runtime("deaf", json!({"timeout_secs": 1}));
        let (options, _) = options(false);
        let providers = plugin.providers(&options);
        let ctx = ModelContext::new(
            Credential::new(
                CredentialKind::ApiKey,
                "sk-test-0123456789".to_owned().into(),
                Provenance::new(),
            ),
            HostServices::default(),
        );
        let runner = providers[0].model_runner().expect("model.run");
        let request = ModelRequest::new("m", prompt.clone());
        let error = tokio::time::timeout(BUDGET, runner.run(&ctx, &request))
            .await
            .expect("the host gives up on a plugin that does not read")
            .expect_err("the plugin never answers");
        assert_eq!(
            error.to_string(),
            "plugin test-exec: did not read its input within 1 s",
            "a prompt of {} bytes",
            prompt.len()
        );
        assert_eq!(error.kind(), ModelErrorKind::Service);
        let pid = plugin.pid().expect("the plugin started");
        assert!(ended(pid).await, "the plugin still runs");
    }
}

#[tokio::test]
async fn a_model_call_to_a_crashed_plugin_is_a_service_failure_naming_it() {
    let plugin = TestPlugin::with_runtime("exit", json!({}));
    let (options, _) = options(false);
    let providers = plugin.providers(&options);
    let ctx = ModelContext::new(
        Credential::new(
            CredentialKind::ApiKey,
            "sk-test-0123456789".to_owned().into(),
            Provenance::new(),
        ),
        HostServices::default(),
    );
    let error = providers[0]
        .model_runner()
        .expect("model.run")
        .run(&ctx, &ModelRequest::new("m", "Hi"))
        .await
        .expect_err("the plugin exits");
    assert_eq!(error.kind(), ModelErrorKind::Service);
    assert_eq!(
        error.to_string(),
        "plugin test-exec: exited before answering (exit status 3)"
    );
}

#[tokio::test]
async fn a_check_tells_a_failed_handshake_from_a_failed_fixture_list() {
    let check = |mode: &'static str, runtime: Value| async move {
        let plugin = TestPlugin::with_runtime(mode, runtime);
        let (options, _) = options(false);
        let options =
            plugboard_exec::ExecOptions::for_check(false, options.stderr).with_hello_timeout(HELLO);
        let started = Instant::now();
        let result =
            plugboard_exec::subjects(plugin.dir(), &plugin.path(), plugin.json(), &options).await;
        assert!(started.elapsed() < BUDGET);
        match result {
            Ok(_) => panic!("the {mode} plugin has subjects"),
            Err(error) => error,
        }
    };
    let version = check("version", json!({})).await;
    assert!(
        matches!(version, plugboard_exec::SubjectsError::Handshake(_)),
        "{version}"
    );
    let hang = check("hang", json!({"timeout_secs": 1})).await;
    assert!(
        matches!(hang, plugboard_exec::SubjectsError::Fixtures(_)),
        "{hang}"
    );
    assert_eq!(
        hang.to_string(),
        "plugin test-exec: did not answer within 1 s"
    );
}

#[tokio::test]
async fn a_key_sent_to_a_plugin_never_reaches_an_error_line_its_debug_or_the_stderr_shown() {
    const KEY: &str = "sk-test-0123456789";
    let no_key = |text: &str| !text.to_lowercase().contains(KEY);

    // A sign-in answer quoting the typed key where the host names what it refuses.
    for (mode, line) in [
        (
            "leaky-profile",
            "plugin test-exec: returned profile [redacted], which provider test-exec does not own",
        ),
        (
            "leaky-model",
            "plugin test-exec: suggested model [redacted], which is not provider/model of provider test-exec",
        ),
    ] {
        let plugin = TestPlugin::new(mode);
        let (quiet, _) = options(false);
        let providers = plugin.providers(&quiet);
        let method = providers[0].auth_method("api-key").expect("the method");
        let mut ctx = AuthContext::scripted([Answer::Secret(KEY.into())]);
        let error = method
            .run(&mut ctx)
            .await
            .expect_err("the answer is refused");
        assert_eq!(ErrorChain(&error).to_string(), line);
        assert!(no_key(&format!("{error:?}")), "{error:?}");
    }

    // The stderr of a plugin that failed a call, quoting the key typed at its prompt, or the
    // one a model call sent it.
    let plugin = TestPlugin::new("leaky");
    let (quiet, shown) = options(false);
    let providers = plugin.providers(&quiet);
    let method = providers[0].auth_method("api-key").expect("the method");
    let mut ctx = AuthContext::scripted([Answer::Secret(KEY.into())]);
    let error = method.run(&mut ctx).await.expect_err("the plugin dies");
    assert!(no_key(&format!("{error:?}")), "{error:?}");
    assert_eq!(
        *shown.lock().expect("the sink"),
        ["test-exec: debug: signing in with [redacted]"]
    );

    let plugin = TestPlugin::new("leaky");
    let (quiet, shown) = options(false);
    let providers = plugin.providers(&quiet);
    let ctx = ModelContext::new(
        Credential::new(
            CredentialKind::ApiKey,
            KEY.to_owned().into(),
            Provenance::new(),
        ),
        HostServices::default(),
    );
    let error = providers[0]
        .model_runner()
        .expect("model.run")
        .run(&ctx, &ModelRequest::new("m", "Hi"))
        .await
        .expect_err("the plugin dies");
    assert!(no_key(&format!("{error:?}")), "{error:?}");
    assert_eq!(
        *shown.lock().expect("the sink"),
        ["test-exec: debug: calling the service with [redacted]"]
    );
}

#[tokio::test]
async fn a_plugin_answering_each_request_slowly_cannot_stretch_a_check_past_its_total_limit() {
    // Every answer comes within the request limit, but a check makes dozens of requests.
    let plugin = TestPlugin::new("slow");
    let (quiet, _) = options(false);
    let total = Duration::from_secs(3);
    let options =
        plugboard_exec::ExecOptions::for_check(false, quiet.stderr).with_total_limit(total);
    let started = Instant::now();
    let subjects = plugboard_exec::subjects(plugin.dir(), &plugin.path(), plugin.json(), &options)
        .await
        .expect("the fixtures come within the limits");
    let report = plugboard_contract::check_registry(&subjects).await;
    let took = started.elapsed();
    assert!(
        took < total + Duration::from_secs(3),
        "took {took:?}: {report}"
    );
    let out_of_time = "plugin test-exec: took more than the 3 s it is allowed in all";
    assert!(
        report
            .failures()
            .iter()
            .any(|f| f.message.contains(out_of_time)),
        "{report}"
    );
    let pid = plugin.pid().expect("the check started the plugin");
    assert!(ended(pid).await, "the plugin still runs");
}
