//! Help, version and unknown commands.

use crate::support::Plugboard;

#[test]
fn help_of_plugboard_and_of_login_shows_examples() {
    let pb = Plugboard::new();
    let cases: [&[&str]; 6] = [
        &["--help"],
        &["models", "auth", "login", "--help"],
        &["help", "models", "auth", "login"],
        &["models", "auth", "login", "-h"],
        &["infer", "model", "run", "--help"],
        &["completions", "--help"],
    ];
    for args in cases {
        let run = pb.run(args, "", &[]).success();
        assert!(run.stdout.contains("Examples:"), "{args:?}: {run:#?}");
        assert!(run.stdout.contains("plugboard "), "{args:?}: {run:#?}");
    }
}

#[test]
fn unknown_subcommands_and_flags_exit_2() {
    let pb = Plugboard::new();
    let cases: [&[&str]; 8] = [
        &["completions", "tcsh"],
        &["completions"],
        &["infer", "model", "run", "--prompt", "hi"],
        &["frobnicate"],
        &["models", "frobnicate"],
        &["models", "auth", "frobnicate"],
        &["plugins", "list", "--frobnicate"],
        &[],
    ];
    for args in cases {
        let run = pb.run(args, "", &[]);
        assert_eq!(run.code, 2, "{args:?}: {run:#?}");
        assert_eq!(run.stdout, "", "{args:?}: {run:#?}");
        assert!(!run.stderr.is_empty(), "{args:?}: {run:#?}");
    }
    assert!(!pb.home().exists());
}

#[test]
fn version_exits_0_and_names_the_version() {
    let pb = Plugboard::new();
    for flag in ["--version", "-V"] {
        let run = pb.run(&[flag], "", &[]).success();
        assert_eq!(
            run.stdout.trim_end(),
            format!("plugboard {}", env!("CARGO_PKG_VERSION")),
            "{run:#?}"
        );
    }
}

#[test]
fn completions_cover_every_command_and_touch_nothing() {
    let pb = Plugboard::new();
    // (shell, a line only that shell's script has)
    let cases = [
        ("bash", "complete -F _plugboard"),
        ("zsh", "#compdef plugboard"),
        ("fish", "complete -c plugboard"),
    ];
    for (shell, marker) in cases {
        let run = pb.run(&["completions", shell], "", &[]).success();
        assert!(run.stdout.contains(marker), "{shell}: {run:#?}");
        for command in ["infer", "models", "plugins", "completions", "prompt"] {
            assert!(run.stdout.contains(command), "{shell} lacks {command}");
        }
        assert_eq!(run.stderr, "");
    }
    assert!(!pb.home().exists(), "completions need no home");
}
