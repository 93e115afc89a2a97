//! `plugboard models auth login` with an API key piped on stdin.

use serde_json::json;

use crate::support::{KEY_ENV, LOGIN, Plugboard, key, openrouter, profile, profile_ids, redacted};

#[test]
fn a_key_piped_on_stdin_is_stored_as_the_default_profile_and_shown_only_redacted() {
    let pb = Plugboard::new();
    let key = key(1);

    let run = pb.login(&key, &[]);
    assert!(
        run.stdout.contains(&redacted(&key)),
        "the result names the redacted key: {run:#?}"
    );

    let status = pb.openrouter_status();
    assert_eq!(profile_ids(&status), ["openrouter:default"]);
    let stored = profile(&status, "openrouter:default");
    assert_eq!(stored["kind"], "api_key");
    assert_eq!(stored["redacted"], redacted(&key));
    assert_eq!(stored["provenance"]["auth_flow"], "api-key");
    // The human form hides the key as well (the helper checks every run for it).
    let human = pb.run(&["models", "status"], "", &[]).success();
    assert!(human.stdout.contains(&redacted(&key)), "{human:#?}");
}

#[test]
fn surrounding_spaces_and_line_endings_of_a_piped_key_are_trimmed() {
    let key = key(2);
    let inputs = [
        format!("{key}\n"),
        format!("{key}\r\n"),
        format!("  {key}  \n"),
        key.clone(),
        format!("{key}\nsecond line is not read\n"),
    ];
    for input in inputs {
        let pb = Plugboard::new();
        pb.run(LOGIN, &input, &[]).success();
        let status = pb.openrouter_status();
        assert_eq!(
            profile(&status, "openrouter:default")["redacted"],
            redacted(&key),
            "{input:?}"
        );
    }
}

#[test]
fn the_4096_byte_limit_applies_to_the_key_not_to_the_spaces_around_it() {
    let sized = |len: usize| {
        let base = key(3);
        let filler = base["sk-or-v1-".len()..].repeat(len / 64 + 1);
        format!("sk-or-v1-{}", &filler[..len - "sk-or-v1-".len()])
    };
    let (longest, too_long) = (sized(4096), sized(4097));
    // (stdin, exit code)
    let cases = [
        (format!("{longest}\n"), 0),
        (format!("{longest}\r\n"), 0),
        (format!("{too_long}\n"), 1),
        (format!("  {longest}  \n"), 0),
    ];
    for (input, code) in cases {
        let pb = Plugboard::new();
        let run = pb.run(LOGIN, &input, &[]);
        let shown = format!("{}...{:?}", &input[..12], &input[input.len() - 6..]);
        assert_eq!(run.code, code, "{shown} ({} bytes): {run:#?}", input.len());
        if code != 0 {
            run.error_line(code);
        }
    }
}

#[cfg(unix)]
#[test]
fn the_store_file_is_0600_and_the_directories_plugboard_creates_are_0700() {
    use crate::support::{mode, tree};

    let pb = Plugboard::new();
    let parent = pb.home().parent().unwrap().to_owned();
    assert!(!parent.exists());

    pb.login(&key(3), &[]);

    assert_eq!(mode(&parent), 0o700, "{}", parent.display());
    assert_eq!(mode(pb.home()), 0o700, "{}", pb.home().display());
    let store = pb.home().join("credentials.sqlite");
    assert_eq!(mode(&store), 0o600);
    // Whatever else sits beside it (SQLite's -wal/-shm, if left behind) is private too.
    for file in tree(pb.home()) {
        assert_eq!(mode(&pb.home().join(&file)), 0o600, "{}", file.display());
    }
}

#[test]
fn bad_input_is_refused_with_one_error_line_and_leaves_the_stored_profile_untouched() {
    let pb = Plugboard::new();
    let key_a = key(10);
    let key_b = key(11);
    assert_ne!(
        redacted(&key_a),
        redacted(&key_b),
        "keys must be told apart"
    );
    pb.login(&key_a, &[]);
    let before = pb.openrouter_status();

    let login_with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec!["models", "auth", "login"];
        args.extend_from_slice(extra);
        args
    };
    let plain = login_with(&["--provider", "openrouter", "--method", "api-key"]);
    let five_kib = format!("sk-or-v1-{}\n", "a".repeat(5 * 1024));
    let escape = format!("sk-or-v1-\x1b[31m{}\n", &key_b["sk-or-v1-".len()..]);
    let inner_space = format!("sk-or-v1- {}\n", &key_b["sk-or-v1-".len()..]);
    let valid_b = format!("{key_b}\n");
    // (what, arguments, stdin, exit code)
    let cases: Vec<(&str, Vec<&str>, Vec<u8>, i32)> = vec![
        ("an empty line", plain.clone(), b"\n".to_vec(), 1),
        (
            "a whitespace-only line",
            plain.clone(),
            b"     \n".to_vec(),
            1,
        ),
        ("a 5 KiB key", plain.clone(), five_kib.into_bytes(), 1),
        ("a key with ESC", plain.clone(), escape.into_bytes(), 1),
        (
            "a key with a space",
            plain.clone(),
            inner_space.into_bytes(),
            1,
        ),
        (
            "input that is not UTF-8",
            plain.clone(),
            b"sk-\xff\n".to_vec(),
            1,
        ),
        ("empty stdin", plain.clone(), Vec::new(), 1),
        (
            "an unknown provider",
            login_with(&["--provider", "nope", "--method", "api-key"]),
            valid_b.clone().into_bytes(),
            2,
        ),
        (
            "an unknown method",
            login_with(&["--provider", "openrouter", "--method", "nope"]),
            valid_b.clone().into_bytes(),
            2,
        ),
        (
            "an unknown choice",
            login_with(&["--choice", "nope"]),
            valid_b.clone().into_bytes(),
            2,
        ),
        (
            "a profile of another provider",
            login_with(&[
                "--provider",
                "openrouter",
                "--method",
                "api-key",
                "--profile",
                "other:x",
            ]),
            valid_b.clone().into_bytes(),
            2,
        ),
        (
            "a malformed profile name",
            login_with(&["--choice", "openrouter-api-key", "--profile", "Not Valid"]),
            valid_b.into_bytes(),
            2,
        ),
    ];
    for (what, args, stdin, code) in cases {
        let run = pb.run(&args, &stdin, &[]);
        assert_eq!(run.code, code, "{what}: {run:#?}");
        run.error_line(code);
        let after = pb.openrouter_status();
        assert_eq!(after["profiles"], before["profiles"], "{what}");
        assert_eq!(after["effective"], before["effective"], "{what}");
        let kept = profile(&after, "openrouter:default");
        assert_eq!(kept["redacted"], redacted(&key_a), "{what}");
        assert_eq!(
            kept["updated_at"],
            profile(&before, "openrouter:default")["updated_at"],
            "{what}"
        );
    }
}

#[test]
fn a_choice_with_a_profile_name_stores_a_named_profile_beside_the_default() {
    let pb = Plugboard::new();
    let (default_key, work_key, new_work_key) = (key(20), key(21), key(22));
    pb.login(&default_key, &[]);
    let default_before = profile(&pb.openrouter_status(), "openrouter:default").clone();

    let args = [
        "models",
        "auth",
        "login",
        "--choice",
        "openrouter-api-key",
        "--profile",
        "work",
    ];
    let run = pb.run(&args, format!("{work_key}\n"), &[]).success();
    assert!(run.stdout.contains("openrouter:work"), "{run:#?}");
    let status = pb.openrouter_status();
    assert_eq!(
        profile_ids(&status),
        ["openrouter:default", "openrouter:work"]
    );
    assert_eq!(
        profile(&status, "openrouter:work")["redacted"],
        redacted(&work_key)
    );

    // The full `provider:name` form names the same profile.
    pb.login(&new_work_key, &["--profile", "openrouter:work"]);
    let status = pb.openrouter_status();
    assert_eq!(
        profile_ids(&status),
        ["openrouter:default", "openrouter:work"]
    );
    assert_eq!(
        profile(&status, "openrouter:work")["redacted"],
        redacted(&new_work_key)
    );
    assert_eq!(profile(&status, "openrouter:default"), &default_before);
    assert_eq!(status["effective"]["source"], "default_profile");
    assert_eq!(status["effective"]["redacted"], redacted(&default_key));
}

#[test]
fn login_without_provider_or_choice_and_without_a_terminal_exits_2_listing_the_choices() {
    let pb = Plugboard::new();
    let run = pb.run(&["models", "auth", "login"], format!("{}\n", key(30)), &[]);
    let line = run.error_line(2);
    assert!(line.contains("openrouter-api-key"), "{line}");
    assert!(!pb.home().exists(), "nothing may be stored");
}

#[test]
fn a_successful_login_prints_only_its_result_on_stdout_and_notes_on_stderr() {
    let pb = Plugboard::new();
    let key = key(40);
    let run = pb.login(&key, &[]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{run:#?}");
    assert!(lines[0].starts_with("signed in to OpenRouter"), "{run:#?}");
    assert!(lines[0].contains("openrouter:default"), "{run:#?}");
    assert!(lines[0].contains(&redacted(&key)), "{run:#?}");
    assert!(!run.stderr.is_empty(), "notes go to stderr: {run:#?}");
    assert!(run.stderr.contains("--set-default"), "{run:#?}");
    assert!(!run.stderr.contains("signed in"), "{run:#?}");
    assert!(!run.stderr.contains("error"), "{run:#?}");

    // With --set-default the second result line is the new default model.
    let run = pb.login(&key, &["--set-default"]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    assert!(lines[0].starts_with("signed in to OpenRouter"), "{run:#?}");
    assert_eq!(lines[1], "default model set to openrouter/auto", "{run:#?}");
}

#[test]
fn a_login_while_the_key_variable_is_set_notes_it_on_stderr_without_printing_it() {
    let pb = Plugboard::new();
    let (stored, from_env) = (key(50), key(51));
    let run = pb
        .run(LOGIN, format!("{stored}\n"), &[(KEY_ENV, &from_env)])
        .success();
    assert!(
        run.stdout.starts_with("signed in to OpenRouter"),
        "{run:#?}"
    );
    assert!(!run.stdout.contains(KEY_ENV), "{run:#?}");
    assert!(run.stderr.contains(KEY_ENV), "{run:#?}");
    let status = pb.status(&[], &[]);
    assert_eq!(
        openrouter(&status)["effective"]["redacted"],
        json!(redacted(&stored))
    );
}
