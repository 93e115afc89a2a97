//! A store holding rows that do not decode: `models status` lists them apart, with the command
//! that removes each; that command works; and commands that do not need those rows do not
//! notice them.

use std::path::Path;
use std::process::Command;

use plugboard_testkit::OpenRouterDouble;
use rusqlite::{Connection, params};
use serde_json::Value;

use crate::support::{KEY_ENV, Plugboard, key, openrouter, profile_ids, redacted};

/// A damaged row: raw id, kind, secret, provenance, and what status must say is wrong.
type Row = (
    &'static [u8],
    &'static str,
    &'static [u8],
    &'static str,
    &'static str,
);

/// One of each kind of damage. Every secret is long enough for the harness to watch for it.
const DAMAGED: [Row; 5] = [
    (
        b"openrouter:bad name",
        "api_key",
        b"sk-or-v1-damaged-secret-000001",
        "{}",
        "invalid profile id",
    ),
    (
        b"openrouter:kind",
        "magic",
        b"sk-or-v1-damaged-secret-000002",
        "{}",
        "unknown credential kind",
    ),
    (
        b"openrouter:secret",
        "api_key",
        b"sk-or-v1-damaged-secret-000003\xff",
        "{}",
        "secret is not valid UTF-8",
    ),
    (
        b"openrouter:provenance",
        "api_key",
        b"sk-or-v1-damaged-secret-000004",
        "not json",
        "provenance is not a JSON object",
    ),
    (
        b"openrouter:\x1b[31mred",
        "api_key",
        b"sk-or-v1-damaged-secret-000005",
        "{}",
        "invalid profile id",
    ),
];

fn store_file(pb: &Plugboard) -> std::path::PathBuf {
    pb.home().join("credentials.sqlite")
}

/// Writes a row straight into the store, past every check, as damage would.
fn insert(pb: &Plugboard, (raw_id, kind, secret, provenance, _): Row) {
    let name = raw_id
        .iter()
        .position(|b| *b == b':')
        .map_or(raw_id, |i| &raw_id[i + 1..]);
    if let Ok(text) = std::str::from_utf8(secret) {
        pb.remember_secret(text);
    } else if let Ok(text) = std::str::from_utf8(&secret[..secret.len() - 1]) {
        pb.remember_secret(text);
    }
    Connection::open(store_file(pb))
        .expect("the store opens")
        .execute(
            "INSERT INTO profiles
                 (profile_id, provider, name, kind, secret, provenance, created_at, updated_at)
             VALUES (CAST(?1 AS TEXT), 'openrouter', CAST(?2 AS TEXT), ?3,
                 CAST(?4 AS TEXT), ?5, 0, 0)",
            params![raw_id, name, kind, secret, provenance],
        )
        .expect("the row is inserted");
}

/// A store with a good default profile (a key `double` accepts) and every damaged row.
fn damaged_store(pb: &Plugboard, double: &OpenRouterDouble) -> String {
    let good = double.issue_key();
    pb.login(&good, &[]);
    for row in DAMAGED {
        insert(pb, row);
    }
    good
}

fn damaged(status: &Value) -> &Vec<Value> {
    status["damaged"]
        .as_array()
        .expect("status lists damaged rows")
}

/// Runs `command` (as status printed it) in bash, with this build's plugboard first on PATH.
fn run_in_shell(pb: &Plugboard, command: &str) -> (i32, String, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_plugboard"));
    let path = format!(
        "{}:{}",
        bin.parent()
            .expect("the binary is in a directory")
            .display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-c", command])
        .current_dir(pb.root())
        .env("PATH", path)
        .env("PLUGBOARD_HOME", pb.home())
        .env("NO_COLOR", "1")
        .env_remove(KEY_ENV)
        .output()
        .expect("bash runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("output is UTF-8");
    (
        output.status.code().expect("bash exited"),
        text(output.stdout),
        text(output.stderr),
    )
}

#[test]
fn status_lists_damaged_rows_apart_with_the_command_that_removes_each() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let good = damaged_store(&pb, &double);

    let status = pb.status(&[], &[]);
    let provider = openrouter(&status);
    assert_eq!(profile_ids(provider), ["openrouter:default"], "{status:#}");
    assert_eq!(provider["effective"]["redacted"], redacted(&good));
    let rows = damaged(&status);
    assert_eq!(rows.len(), DAMAGED.len(), "{status:#}");
    for (raw_id, _, _, _, problem) in DAMAGED {
        let raw_id = String::from_utf8_lossy(raw_id);
        let row = rows
            .iter()
            .find(|r| r["raw_id"] == raw_id.as_ref())
            .unwrap_or_else(|| panic!("no damaged row {raw_id:?} in {status:#}"));
        assert_eq!(row["provider"], "openrouter");
        assert!(
            row["problem"].as_str().unwrap().contains(problem),
            "{row:#}"
        );
        assert!(
            row["remove_command"]
                .as_str()
                .unwrap()
                .starts_with("plugboard models auth logout --damaged "),
            "{row:#}"
        );
    }

    let text = pb.run(&["models", "status"], "", &[]).success();
    assert!(text.stdout.contains("damaged rows"), "{text:#?}");
    assert!(text.stdout.contains("openrouter:bad name"), "{text:#?}");
    assert!(
        text.stdout
            .contains("plugboard models auth logout --damaged 'openrouter:bad name'"),
        "{text:#?}"
    );
    assert!(
        text.stdout
            .contains(r"plugboard models auth logout --damaged $'openrouter:\x1b[31mred'"),
        "{text:#?}"
    );
    assert!(
        !text.stdout.contains('\u{1b}'),
        "an escape reached the terminal: {text:#?}"
    );
    assert!(text.stdout.contains(&redacted(&good)), "{text:#?}");
}

#[test]
fn each_printed_removal_command_removes_exactly_its_row() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let good = damaged_store(&pb, &double);
    let commands: Vec<(String, String)> = damaged(&pb.status(&[], &[]))
        .iter()
        .map(|r| {
            (
                r["raw_id"].as_str().unwrap().to_owned(),
                r["remove_command"].as_str().unwrap().to_owned(),
            )
        })
        .collect();

    let mut left: Vec<String> = commands.iter().map(|(id, _)| id.clone()).collect();
    for (raw_id, command) in &commands {
        let (code, stdout, stderr) = run_in_shell(&pb, command);
        assert_eq!(code, 0, "{command}: {stdout} {stderr}");
        assert!(stdout.starts_with("removed damaged row "), "{stdout}");
        assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
        left.retain(|id| id != raw_id);

        let status = pb.status(&[], &[]);
        let mut now: Vec<String> = damaged(&status)
            .iter()
            .map(|r| r["raw_id"].as_str().unwrap().to_owned())
            .collect();
        now.sort();
        let mut want = left.clone();
        want.sort();
        assert_eq!(now, want, "after {command}");
        let provider = openrouter(&status);
        assert_eq!(profile_ids(provider), ["openrouter:default"]);
        assert_eq!(provider["effective"]["redacted"], redacted(&good));
    }
    assert!(left.is_empty());

    // Gone is gone, and a good profile is not a damaged row.
    let logout = ["models", "auth", "logout", "--damaged"];
    let again: Vec<&str> = logout.iter().copied().chain(["openrouter:kind"]).collect();
    let line = pb.run(&again, "", &[]).error_line(1).to_owned();
    assert!(line.contains("no row with id openrouter:kind"), "{line}");
    let good_row: Vec<&str> = logout
        .iter()
        .copied()
        .chain(["openrouter:default"])
        .collect();
    let line = pb.run(&good_row, "", &[]).error_line(2).to_owned();
    assert!(
        line.contains("--provider openrouter --profile default"),
        "{line}"
    );
    assert_eq!(profile_ids(&pb.openrouter_status()), ["openrouter:default"]);
}

#[test]
fn commands_that_do_not_need_a_damaged_row_still_work() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    damaged_store(&pb, &double);
    let base = double.api_base();
    let infer = [
        "infer",
        "model",
        "run",
        "--model",
        "openrouter/liquid/lfm-2.5-1.2b-instruct:free",
        "--prompt",
        "Reply exactly: ok",
    ];

    // With the stored default profile, and with the key from the environment.
    pb.run(&infer, "", &[("OPENROUTER_BASE_URL", &base)])
        .success();
    let env_key = double.issue_key();
    pb.run(
        &infer,
        "",
        &[("OPENROUTER_BASE_URL", &base), (KEY_ENV, &env_key)],
    )
    .success();
    pb.run(&["models", "auth", "choices"], "", &[]).success();

    let run = pb
        .run(
            &["models", "auth", "logout", "--provider", "openrouter"],
            "",
            &[],
        )
        .success();
    assert_eq!(run.stdout, "removed openrouter:default\n");
    assert!(run.stderr.contains("also has 5 damaged row(s)"), "{run:#?}");
    assert_eq!(damaged(&pb.status(&[], &[])).len(), DAMAGED.len());

    // Only damaged rows left: nothing to log out, and the message says where to look.
    let run = pb.run(
        &["models", "auth", "logout", "--provider", "openrouter"],
        "",
        &[],
    );
    let line = run.error_line(1);
    assert!(line.contains("only damaged rows"), "{line}");
}

#[test]
fn a_damaged_default_profile_gives_way_to_the_environment_and_to_a_new_sign_in() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    pb.login(&key(600), &["--profile", "work"]);
    insert(
        &pb,
        (
            b"openrouter:default",
            "magic",
            b"sk-or-v1-damaged-secret-000006",
            "{}",
            "",
        ),
    );

    let env_key = double.issue_key();
    let status = pb.status(&[], &[(KEY_ENV, &env_key)]);
    assert_eq!(openrouter(&status)["effective"]["source"], "env");
    assert_eq!(damaged(&status).len(), 1);
    pb.run(
        &[
            "infer",
            "model",
            "run",
            "--model",
            "openrouter/liquid/lfm-2.5-1.2b-instruct:free",
            "--prompt",
            "hi",
        ],
        "",
        &[
            ("OPENROUTER_BASE_URL", &double.api_base()),
            (KEY_ENV, &env_key),
        ],
    )
    .success();

    // Its id is valid, so signing in again replaces it, and says so.
    let fresh = key(601);
    let run = pb.login(&fresh, &[]);
    assert!(
        run.stderr.contains(
            "replaced the unreadable credential stored on 1970-01-01 in openrouter:default"
        ),
        "{run:#?}"
    );
    let status = pb.status(&[], &[]);
    assert!(damaged(&status).is_empty(), "{status:#}");
    assert_eq!(
        profile_ids(openrouter(&status)),
        ["openrouter:default", "openrouter:work"]
    );
}
