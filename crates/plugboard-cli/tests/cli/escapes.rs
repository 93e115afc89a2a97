//! Text from a service or the store never reaches the terminal as something a terminal would
//! obey: a model reply full of escapes prints clean, `--json` keeps it but escaped, media URLs
//! that are not web or inline-image URLs are dropped with a note, and values read back from the
//! store (user ids, redacted tails) print clean in `models status`.

use std::time::SystemTime;

use plugboard_core::{Credential, CredentialKind, ProfileId, Provenance};
use plugboard_store::{CredentialStore, Paths};
use plugboard_testkit::OpenRouterDouble;
use serde_json::{Value, json};

use crate::support::{Plugboard, Run, openrouter, profile};

const MODEL: &str = "openrouter/liquid/lfm-2.5-1.2b-instruct:free";

/// A reply with one of each attack between the letters A to L: OSC 52 (clipboard), OSC 0
/// (window title), CSI 2J (clear screen), an OSC 8 link, U+202E, the C1 CSI U+009B, BEL, DEL,
/// and a lone carriage return that would write over the line.
const ATTACK: &str = "A\u{1b}]52;c;cm0gLXJmIH4K\u{7}B\u{1b}]0;owned\u{7}C\u{1b}[2JD\
\u{1b}]8;;https://evil.test/\u{1b}\\E\u{1b}]8;;\u{1b}\\F\u{202e}G\u{9b}2JH\u{7}I\u{7f}J\nK\tL\rM";

/// What a terminal may be shown of [`ATTACK`].
const CLEAN: &str = "ABCDEFGHIJ\nK\tL\nM";

/// Asserts `text` holds nothing a terminal would obey: no C0 control but newline and tab, no
/// DEL, no C1 control, no direction control.
#[track_caller]
fn assert_clean(text: &str, what: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(bad.is_empty(), "{what} holds {bad:?}: {text:?}");
}

fn infer(pb: &Plugboard, double: &OpenRouterDouble, prompt: &str, json: bool) -> Run {
    let mut args = vec![
        "infer", "model", "run", "--model", MODEL, "--prompt", prompt,
    ];
    if json {
        args.push("--json");
    }
    let base = double.api_base();
    pb.run(&args, "", &[("OPENROUTER_BASE_URL", base.as_str())])
}

fn signed_in() -> (Plugboard, OpenRouterDouble) {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().expect("the double starts");
    pb.login(&double.issue_key(), &[]);
    (pb, double)
}

#[test]
fn a_model_reply_full_of_terminal_escapes_is_printed_clean() {
    let (pb, double) = signed_in();
    let run = infer(&pb, &double, &format!("Reply exactly: {ATTACK}"), false).success();
    assert_eq!(run.stdout, format!("{CLEAN}\n"));
    assert_clean(&run.stdout, "stdout");
    assert_clean(&run.stderr, "stderr");
}

#[test]
fn with_json_the_escapes_are_kept_escaped_and_the_document_parses() {
    let (pb, double) = signed_in();
    let run = infer(&pb, &double, &format!("Reply exactly: {ATTACK}"), true).success();
    assert_clean(&run.stdout, "stdout");
    // serde_json escapes C0 itself; DEL, C1 and direction controls need the CLI's writer.
    for escaped in [
        r"\u001b]52;c;",
        r"\u0007",
        r"\u001b[2J",
        r"\u202e",
        r"\u009b",
        r"\u007f",
        r"\r",
    ] {
        assert!(run.stdout.contains(escaped), "{escaped} in {}", run.stdout);
    }
    let outputs = &run.json()["outputs"];
    // The double trims the reply, so the text is the attack as sent, whole.
    assert_eq!(outputs, &json!([{"text": ATTACK, "mediaUrl": null}]));
}

#[test]
fn media_urls_other_than_web_and_inline_images_are_dropped_with_a_note() {
    let (pb, double) = signed_in();
    let inline = "data:image/png;base64,iVBORw0KGgo=";
    double.set_chat_images([
        "https://img.test/1.png",
        "javascript:alert(1)",
        inline,
        "https://img.test/\u{1b}]52;c;eA==\u{7}.png",
    ]);

    let run = infer(&pb, &double, "Reply exactly: here", false).success();
    assert_eq!(
        run.stdout,
        format!("here\nhttps://img.test/1.png\n{inline}\n")
    );
    let notes: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(notes.len(), 2, "{run:#?}");
    assert!(
        notes
            .iter()
            .all(|n| n.starts_with("dropped a media URL from ")),
        "{run:#?}"
    );
    assert_clean(&run.stderr, "stderr");

    let run = infer(&pb, &double, "Reply exactly: here", true).success();
    let reply = run.json();
    let urls: Vec<&Value> = reply["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["mediaUrl"])
        .collect();
    assert_eq!(
        urls,
        [
            &Value::Null,
            &json!("https://img.test/1.png"),
            &json!(inline)
        ]
    );
}

#[test]
fn values_read_back_from_the_store_print_clean_in_status() {
    let pb = Plugboard::new();
    let mut provenance = Provenance::new();
    provenance.insert(
        "user_id".into(),
        json!("u\u{1b}]0;owned\u{7}1\u{202e}\n    openrouter:forged  api_key"),
    );
    // A secret whose last four would reverse the line if shown as they are. (One holding
    // control characters is read back as a damaged row, and never shown at all.)
    let secret = "sk-or-v1-0123456789abcdef0123456789\u{202e}abc";
    let credential = Credential::new(CredentialKind::ApiKey, secret.into(), provenance);
    let id: ProfileId = "openrouter:default".parse().unwrap();
    let mut store = CredentialStore::open(Paths::under(pb.home()).store_file()).unwrap();
    store
        .write_profiles([(&id, &credential)], SystemTime::now())
        .unwrap();
    drop(store);

    let run = pb.run(&["models", "status"], "", &[]).success();
    assert_clean(&run.stdout, "stdout");
    assert!(!run.stdout.contains("forged  api_key\n"), "{}", run.stdout);
    let row = run
        .stdout
        .lines()
        .find(|l| l.contains("openrouter:default  api_key"))
        .unwrap_or_else(|| panic!("no profile row: {}", run.stdout));
    assert!(row.contains("sk-or-v1-...  "), "{row}");
    assert!(
        row.ends_with("user_id=u1 openrouter:forged api_key"),
        "{row}"
    );

    let run = pb.run(&["models", "status", "--json"], "", &[]).success();
    assert_clean(&run.stdout, "stdout");
    let status = run.json();
    let stored = profile(openrouter(&status), "openrouter:default");
    assert_eq!(stored["redacted"], "sk-or-v1-...");
    assert_eq!(
        stored["provenance"]["user_id"],
        "u\u{1b}]0;owned\u{7}1\u{202e}\n    openrouter:forged  api_key"
    );
}
