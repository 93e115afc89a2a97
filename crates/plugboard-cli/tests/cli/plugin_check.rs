//! `plugboard plugins check` and `plugboard plugins install` on plugin folders: a passing
//! executable plugin (the exec crate's Python test plugin), the broken ones the issue names,
//! a manifest-only plugin, and what install does with each.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Plugboard, Run, mode, tree};

/// The test plugin of `plugboard-exec`, which reads its id from its manifest and behaves as
/// its first argument says (`good`, `exit`, `silent`, `garbage`, `foreign`, `env`, ...).
const SCRIPT: &str = include_str!("../../../plugboard-exec/tests/data/test_plugin.py");

/// What `plugins check` may take to report a broken plugin, in all.
const BUDGET: Duration = Duration::from_secs(30);

/// A private plugin folder `name` under the test's root: the test script run in `script_mode`,
/// with `extra` fields added to the runtime, beside its manifest.
fn exec_plugin(pb: &Plugboard, name: &str, script_mode: &str, extra: Value) -> PathBuf {
    let mut runtime = json!({"kind": "exec", "command": ["python3", "plugin.py", script_mode]});
    for (key, value) in extra.as_object().expect("an object") {
        runtime[key] = value.clone();
    }
    let manifest = json!({
        "manifest_version": 1,
        "id": "test-exec",
        "name": "Test Exec",
        "version": "0.1.0",
        "providers": [{"id": "test-exec", "label": "Test Exec", "capabilities": ["model.run", "model.list"]}],
        "auth_choices": [{
            "choice_id": "test-exec-api-key",
            "provider": "test-exec",
            "method": "api-key",
            "kind": "api_key",
            "label": "Test Exec API key",
            "group": {"id": "test-exec", "label": "Test Exec"}
        }],
        "runtime": runtime,
    });
    let dir = plugin_dir(pb, name, &manifest);
    write_private(&dir.join("plugin.py"), SCRIPT, 0o700);
    dir
}

/// A private folder `name` under the test's root holding `manifest` as its plugin.json.
fn plugin_dir(pb: &Plugboard, name: &str, manifest: &Value) -> PathBuf {
    let dir = pb.root().join(name);
    std::fs::create_dir(&dir).expect("the plugin folder");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let text = serde_json::to_string_pretty(manifest).expect("JSON");
    write_private(&dir.join("plugin.json"), &text, 0o600);
    dir
}

fn write_private(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).expect("a plugin file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `plugins <command> <dir>` (plus `extra`), timed.
fn plugins(
    pb: &Plugboard,
    command: &str,
    dir: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Run, Duration) {
    let dir = dir.to_str().expect("a UTF-8 path");
    let args: Vec<&str> = ["plugins", command]
        .into_iter()
        .chain(extra.iter().copied())
        .chain([dir])
        .collect();
    let started = Instant::now();
    let run = pb.run(&args, "", env);
    (run, started.elapsed())
}

/// Asserts `plugins check` failed within the budget, printing `line` among its report lines
/// and one error line naming the plugin.
#[track_caller]
fn assert_reported(run: &Run, took: Duration, line: &str) {
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(took < BUDGET, "took {took:?}: {run:#?}");
    assert!(
        run.stdout.lines().any(|l| l == line),
        "no line {line:?}: {run:#?}"
    );
    assert!(
        run.stderr
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("error: plugin test-exec fails ")),
        "{run:#?}"
    );
}

#[test]
fn a_plugin_that_keeps_the_contract_passes_the_check() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "good", "good", json!({}));
    let (run, _) = plugins(&pb, "check", &dir, &[], &[]);
    let run = run.success();
    let line = run.stdout.trim();
    assert!(
        line.starts_with("plugin test-exec 0.1.0 (exec): all ")
            && line.ends_with(" rules passed for test-exec"),
        "{run:#?}"
    );
    assert_eq!(run.stderr, "", "a passing plugin's check shows no stderr");
}

#[test]
fn a_manifest_with_an_unknown_field_is_reported_under_manifest_schema_without_running_the_plugin() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "unknown-field", "good", json!({}));
    let path = dir.join("plugin.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest["colour"] = json!("red");
    write_private(&path, &manifest.to_string(), 0o600);
    let (run, took) = plugins(&pb, "check", &dir, &[], &[]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(took < BUDGET);
    let line = run.stdout.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("[manifest-schema] ") && line.contains("'colour' was unexpected"),
        "{run:#?}"
    );
    assert!(!dir.join("pid").exists(), "the plugin was started");
}

#[test]
fn a_plugin_that_exits_at_once_fails_the_handshake_and_its_stderr_is_shown() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "exits", "exit", json!({}));
    let (run, took) = plugins(&pb, "check", &dir, &[], &[]);
    assert_reported(
        &run,
        took,
        "[plugin-handshake] test-exec: exited before answering (exit status 3)",
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l == "test-exec: test plugin: giving up"),
        "{run:#?}"
    );
}

#[test]
fn a_plugin_that_never_answers_fails_the_handshake_within_30_s() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "silent", "silent", json!({}));
    let (run, took) = plugins(&pb, "check", &dir, &[], &[]);
    assert_reported(
        &run,
        took,
        "[plugin-handshake] test-exec: did not say hello within 10 s",
    );
}

#[test]
fn a_plugin_writing_10_mb_of_garbage_fails_the_handshake() {
    let pb = Plugboard::new();
    for (name, script_mode, line) in [
        (
            "garbage",
            "garbage",
            "[plugin-handshake] test-exec: wrote something that is not a protocol message",
        ),
        (
            "flood",
            "flood",
            "[plugin-handshake] test-exec: wrote a line longer than 1048576 bytes",
        ),
    ] {
        let dir = exec_plugin(&pb, name, script_mode, json!({}));
        let (run, took) = plugins(&pb, "check", &dir, &[], &[]);
        assert_reported(&run, took, line);
    }
}

#[test]
fn a_plugin_returning_another_providers_profile_fails_its_sign_in_fixtures_naming_the_profile() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "foreign", "foreign", json!({}));
    let (run, took) = plugins(&pb, "check", &dir, &[], &[]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(took < BUDGET);
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("[fixture-outcome] test-exec: ")
            && first.contains(
                "plugin test-exec: returned profile openrouter:default, which provider test-exec does not own"
            ),
        "{run:#?}"
    );
}

#[test]
fn a_plugin_hanging_on_its_fixture_list_fails_plugin_fixtures_at_its_time_limit() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "hang", "hang", json!({"timeout_secs": 1}));
    let (run, took) = plugins(&pb, "check", &dir, &[], &[]);
    assert_reported(
        &run,
        took,
        "[plugin-fixtures] test-exec: did not answer within 1 s",
    );
}

#[test]
fn a_plugin_folder_others_can_write_is_reported_under_plugin_files() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "shared", "good", json!({}));
    std::fs::set_permissions(
        dir.join("plugin.py"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let (run, _) = plugins(&pb, "check", &dir, &[], &[]);
    assert_eq!(run.code, 1, "{run:#?}");
    let line = run.stdout.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("[plugin-files] ") && line.contains("plugin.py is not private"),
        "{run:#?}"
    );
    assert!(
        run.stderr.ends_with(" fails 1 check\n") && run.stderr.starts_with("error: the plugin in "),
        "{run:#?}"
    );
}

#[test]
fn a_manifest_only_plugin_is_held_to_the_manifest_rules_and_its_collisions_only() {
    let pb = Plugboard::new();
    let groq = |provider: &str, choice: &str| {
        json!({
            "manifest_version": 1,
            "id": "groq",
            "name": "Groq",
            "version": "0.1.0",
            "providers": [{"id": provider, "label": "Groq", "capabilities": ["model.run"]}],
            "auth_choices": [{
                "choice_id": choice, "provider": provider, "method": "api-key", "kind": "api_key",
                "label": "Groq API key", "group": {"id": "groq", "label": "Groq"}
            }],
            "runtime": {"kind": "openai-compatible", "base_url": "https://api.groq.com/openai/v1", "api_key_env": "GROQ_API_KEY"}
        })
    };
    let dir = plugin_dir(&pb, "groq", &groq("groq", "groq-api-key"));
    let (run, _) = plugins(&pb, "check", &dir, &[], &[]);
    let run = run.success();
    assert!(
        run.stdout
            .starts_with("plugin groq 0.1.0 (openai-compatible): all ")
            && run.stdout.contains("so no provider rule ran"),
        "{run:#?}"
    );

    let dir = plugin_dir(&pb, "collides", &groq("openrouter", "openrouter-api-key"));
    let (run, _) = plugins(&pb, "check", &dir, &[], &[]);
    assert_eq!(run.code, 1, "{run:#?}");
    let rules: BTreeSet<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix('[')?.split(']').next())
        .collect();
    assert_eq!(
        rules,
        BTreeSet::from(["choice-id-unique", "provider-id-unique"]),
        "{run:#?}"
    );
    assert!(
        run.stdout
            .contains("is already used by the built-in plugin manifests/openrouter.json"),
        "{run:#?}"
    );
}

#[test]
fn the_plugin_sees_only_path_home_the_locale_and_what_its_manifest_lists() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "env", "env", json!({"env": ["TEST_EXEC_REGION"]}));
    let key = crate::support::key(41);
    let env = [
        ("TEST_EXEC_REGION", "eu"),
        ("OPENROUTER_API_KEY", key.as_str()),
        ("SOME_OTHER_SETTING", "x"),
    ];
    let (run, _) = plugins(&pb, "check", &dir, &["--verbose"], &env);
    let run = run.success();
    let line = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("test-exec: env: "))
        .unwrap_or_else(|| panic!("--verbose shows the plugin's stderr: {run:#?}"));
    let names: BTreeSet<&str> = line.split(',').collect();
    let own = interpreter_own_variables(&dir);
    for name in &names {
        assert!(
            ["PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TEST_EXEC_REGION"].contains(name)
                || name.starts_with("LC_")
                || own.contains(*name),
            "the plugin sees {name}: {names:?}"
        );
    }
    for withheld in [
        "OPENROUTER_API_KEY",
        "SOME_OTHER_SETTING",
        "PLUGBOARD_HOME",
        "NO_COLOR",
    ] {
        assert!(!names.contains(withheld), "{withheld} leaked: {names:?}");
    }
    assert!(
        names.contains("TEST_EXEC_REGION") && names.contains("PATH"),
        "{names:?}"
    );
}

/// The variables `python3` has when started with nothing but `PATH` and `HOME`: those its
/// start-up (a version manager's shim, say) sets by itself.
fn interpreter_own_variables(dir: &Path) -> BTreeSet<String> {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, sys; sys.stdout.write(','.join(sorted(os.environ)))",
        ])
        .current_dir(dir)
        .env_clear()
        .envs(std::env::vars_os().filter(|(n, _)| n == "PATH" || n == "HOME"))
        .output()
        .expect("python3 runs");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .split(',')
        .map(str::to_owned)
        .collect()
}

#[test]
fn install_refuses_a_plugin_that_fails_the_check_and_writes_nothing() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "exits", "exit", json!({}));
    let (run, _) = plugins(&pb, "install", &dir, &[], &[]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        run.stdout.trim(),
        "[plugin-handshake] test-exec: exited before answering (exit status 3)"
    );
    assert!(
        run.stderr
            .ends_with("error: plugin test-exec was not installed: it fails 1 check\n"),
        "{run:#?}"
    );
    let plugins_dir = pb.home().join("plugins");
    assert!(
        !plugins_dir.exists() || tree(&plugins_dir).is_empty(),
        "{:?}",
        tree(&plugins_dir)
    );
}

#[test]
fn install_copies_a_passing_plugin_privately_and_refuses_it_a_second_time() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "good", "good", json!({}));
    std::fs::create_dir(dir.join("lib")).unwrap();
    std::fs::set_permissions(dir.join("lib"), std::fs::Permissions::from_mode(0o755)).unwrap();
    write_private(&dir.join("lib").join("data.txt"), "data", 0o644);

    let (run, _) = plugins(&pb, "install", &dir, &[], &[]);
    let run = run.success();
    let installed = pb.home().join("plugins").join("test-exec");
    assert!(
        run.stdout.ends_with(&format!(
            "installed plugin test-exec 0.1.0 in {}\n",
            installed.display()
        )),
        "{run:#?}"
    );
    assert_eq!(mode(&pb.home().join("plugins")), 0o700);
    assert_eq!(mode(&installed), 0o700);
    assert_eq!(mode(&installed.join("plugin.json")), 0o600);
    assert_eq!(mode(&installed.join("plugin.py")), 0o700, "executable kept");
    assert_eq!(mode(&installed.join("lib")), 0o700);
    assert_eq!(mode(&installed.join("lib").join("data.txt")), 0o600);
    assert_eq!(
        std::fs::read_to_string(installed.join("plugin.py")).unwrap(),
        SCRIPT
    );
    let hidden: Vec<_> = std::fs::read_dir(pb.home().join("plugins"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "the staging folder is gone");

    // The installed copy passes the check as it stands.
    plugins(&pb, "check", &installed, &[], &[]).0.success();

    let (again, _) = plugins(&pb, "install", &dir, &[], &[]);
    assert_eq!(
        again.error_line(1),
        format!(
            "error: plugin test-exec is already installed in {}: remove it first with `plugboard plugins remove test-exec`",
            installed.display()
        )
    );
}

#[test]
fn install_refuses_a_plugin_reusing_an_installed_plugins_provider_id_naming_both() {
    let pb = Plugboard::new();
    let compat = |id: &str| {
        json!({
            "manifest_version": 1,
            "id": id,
            "name": "Groq",
            "version": "0.1.0",
            "providers": [{"id": "groq", "label": "Groq", "capabilities": ["model.run"]}],
            "auth_choices": [{
                "choice_id": format!("{id}-api-key"), "provider": "groq", "method": "api-key",
                "kind": "api_key", "label": "Groq API key", "group": {"id": "groq", "label": "Groq"}
            }],
            "runtime": {"kind": "openai-compatible", "base_url": "https://api.groq.com/openai/v1"}
        })
    };
    let first = plugin_dir(&pb, "groq", &compat("groq"));
    plugins(&pb, "install", &first, &[], &[]).0.success();
    let installed = pb.home().join("plugins").join("groq").join("plugin.json");

    let second = plugin_dir(&pb, "groq-too", &compat("groq-too"));
    let (run, _) = plugins(&pb, "install", &second, &[], &[]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        run.stderr.trim_end(),
        format!(
            "error: [provider-id-unique] {}: /providers: provider id \"groq\" is already used by the installed plugin {}: pick another",
            second.join("plugin.json").display(),
            installed.display()
        )
    );
    assert!(!pb.home().join("plugins").join("groq-too").exists());
}

#[test]
fn install_refuses_an_id_naming_the_plugins_folder_or_its_parent_for_its_syntax() {
    for id in ["", ".."] {
        let pb = Plugboard::new();
        std::fs::create_dir_all(pb.home().join("plugins")).unwrap();
        let dir = exec_plugin(&pb, "dots", "good", json!({}));
        let path = dir.join("plugin.json");
        let mut manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        manifest["id"] = json!(id);
        write_private(&path, &manifest.to_string(), 0o600);
        let (run, _) = plugins(&pb, "install", &dir, &[], &[]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(
            run.stdout.starts_with("[manifest-schema] ")
                && run
                    .stdout
                    .contains(&format!("/id: plugin id {id:?} is invalid")),
            "{id:?}: {run:#?}"
        );
        assert!(
            run.stderr
                .ends_with(" was not installed: it fails 1 check\n"),
            "{id:?}: {run:#?}"
        );
        assert!(!dir.join("pid").exists(), "the plugin was started");
    }
}

#[test]
fn install_refuses_a_folder_with_a_symlink_inside() {
    let pb = Plugboard::new();
    let dir = exec_plugin(&pb, "linked", "good", json!({}));
    std::os::unix::fs::symlink("/etc/hostname", dir.join("link")).unwrap();
    let (run, _) = plugins(&pb, "install", &dir, &[], &[]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.starts_with("[plugin-files] ") && run.stdout.contains("link is a symlink"),
        "{run:#?}"
    );
    assert!(!pb.home().join("plugins").join("test-exec").exists());
}

#[test]
fn check_and_install_explain_themselves_with_examples() {
    let pb = Plugboard::new();
    for command in ["check", "install"] {
        let run = pb.run(&["plugins", command, "--help"], "", &[]).success();
        assert!(
            run.stdout.contains("Examples:")
                && run
                    .stdout
                    .contains(&format!("plugboard plugins {command} ./my-plugin")),
            "{run:#?}"
        );
    }
    assert!(!pb.home().exists());
}

/// A private copy of an example plugin's folder under the test's root (a checkout may leave
/// its files group-writable, which plugboard refuses), with `program` copied in as `bin/<name>`
/// when given.
fn example_copy(pb: &Plugboard, example: &Path, program: Option<&Path>) -> PathBuf {
    let dir = pb.root().join(example.file_name().expect("a folder name"));
    std::fs::create_dir(&dir).expect("the copy");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    for entry in std::fs::read_dir(example).expect("the example") {
        let source = entry.expect("an entry").path();
        if source.is_file() {
            let dest = dir.join(source.file_name().expect("a name"));
            std::fs::copy(&source, &dest).expect("a copy");
            let executable = mode(&source) & 0o100 != 0;
            let mode = if executable { 0o700 } else { 0o600 };
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
    }
    if let Some(program) = program {
        let bin = dir.join("bin");
        std::fs::create_dir(&bin).expect("bin");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let dest = bin.join(program.file_name().expect("a name"));
        std::fs::copy(program, &dest).expect("the program");
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    dir
}

#[test]
fn both_example_plugins_pass_the_check_install_sign_in_without_a_terminal_and_run_a_model() {
    let double = plugboard_testkit::OpenRouterDouble::start().expect("the double starts");
    let rust = plugboard_testkit::example_rust_plugin();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let pb = Plugboard::new();
    for (id, example, program) in [
        ("example-python", root.join("plugin-python"), None),
        (
            "example-rust",
            root.join("plugin-rust"),
            Some(rust.as_path()),
        ),
    ] {
        let dir = example_copy(&pb, &example, program);
        let (check, _) = plugins(&pb, "check", &dir, &[], &[]);
        let check = check.success();
        assert!(
            check
                .stdout
                .starts_with(&format!("plugin {id} 0.1.0 (exec): all ")),
            "{check:#?}"
        );
        plugins(&pb, "install", &dir, &[], &[]).0.success();

        let base_url = format!("{}_BASE_URL", id.to_uppercase().replace('-', "_"));
        let env = [(base_url.as_str(), double.api_base())];
        let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let key = double.issue_key();
        let choice = format!("{id}-api-key");
        let login = pb
            .run(
                &["models", "auth", "login", "--choice", &choice],
                format!("{key}\n"),
                &env,
            )
            .success();
        assert!(
            login.stdout.contains(&format!("stored {id}:default")),
            "{login:#?}"
        );
        let model = format!("{id}/openai/gpt-4o-mini");
        let run = pb
            .run(
                &[
                    "infer",
                    "model",
                    "run",
                    "--model",
                    &model,
                    "--prompt",
                    "Reply exactly: pong",
                ],
                "",
                &env,
            )
            .success();
        assert_eq!(run.stdout, "pong\n", "{run:#?}");
    }
}

#[test]
fn a_broken_executable_plugin_fails_its_own_command_naming_it_and_stops_nothing_else() {
    let double = plugboard_testkit::OpenRouterDouble::start().expect("the double starts");
    let openrouter_key = double.issue_key();
    let openrouter = [
        ("OPENROUTER_BASE_URL", double.api_base()),
        ("OPENROUTER_API_KEY", openrouter_key.clone()),
    ];
    let openrouter: Vec<(&str, &str)> = openrouter.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let cases = [
        (
            "exit",
            "plugin test-exec: exited before answering (exit status 3)",
        ),
        ("silent", "plugin test-exec: did not say hello within 10 s"),
        (
            "garbage",
            "plugin test-exec: wrote something that is not a protocol message",
        ),
        (
            "foreign",
            "plugin test-exec: returned profile openrouter:default, which provider test-exec does not own",
        ),
    ];
    for (script_mode, reason) in cases {
        let pb = Plugboard::new();
        let root = pb.root().join("path");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
        exec_plugin(&pb, "path/test-exec", script_mode, json!({}));
        let path = root.to_str().unwrap();
        let env = [("PLUGBOARD_PLUGIN_PATH", path)];

        let started = Instant::now();
        let login = pb.run(
            &["models", "auth", "login", "--choice", "test-exec-api-key"],
            "sk-test-0123456789\n",
            &env,
        );
        assert!(started.elapsed() < BUDGET, "{script_mode}: {login:#?}");
        assert_eq!(login.code, 1, "{script_mode}: {login:#?}");
        let error = login
            .stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{script_mode}: {login:#?}"));
        assert!(error.ends_with(reason), "{script_mode}: {login:#?}");

        let mut everything_else = env.to_vec();
        everything_else.extend(openrouter.iter().copied());
        let status = pb.status(&[], &everything_else);
        let stored = status.to_string();
        assert!(
            !stored.contains("test-exec:default"),
            "{script_mode}: {status:#}"
        );
        pb.run(&["plugins", "list"], "", &everything_else).success();
        let run = pb
            .run(
                &[
                    "infer",
                    "model",
                    "run",
                    "--model",
                    "openrouter/auto",
                    "--prompt",
                    "Reply exactly: fine",
                ],
                "",
                &everything_else,
            )
            .success();
        assert_eq!(run.stdout, "fine\n", "{script_mode}: {run:#?}");
    }
}
