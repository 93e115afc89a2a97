//! Writing results to stdout. Only results go there (prompts, progress and notes go to
//! stderr), and a closed pipe (`plugboard ... | head`) ends the output quietly.
//!
//! Everything written here passes the core's sanitiser, and every JSON document goes through
//! [`print_json`], so no text from a service or the store (a model's reply, an error, an id)
//! can reach the terminal as an escape sequence, a C1 control or a direction override.

use std::io::{self, Write};

use plugboard_core::{escape_json_for_terminal, sanitize_text};
use serde::Serialize;

/// Writes `text` (plus a newline) to stdout, with terminal escapes and controls other than
/// newline and tab removed.
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    write_stdout(&sanitize_text(text))
}

/// Writes `value` as pretty JSON to stdout: the one JSON writer of the CLI. Strings keep their
/// content, with the characters a terminal would obey written as `\uXXXX` escapes (serde_json
/// itself leaves DEL, C1 and direction controls raw).
pub(crate) fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    write_stdout(&json_text(value)?)
}

/// What [`print_json`] writes, without the final newline.
fn json_text(value: &impl Serialize) -> serde_json::Result<String> {
    Ok(escape_json_for_terminal(&serde_json::to_string_pretty(
        value,
    )?))
}

/// Writes a line to stderr, for notes and confirmations that are not results; cleaned like
/// [`print`].
pub(crate) fn note(text: &str) {
    let mut err = io::stderr().lock();
    // Nothing useful can be done if stderr itself is gone.
    let _ = writeln!(err, "{}", sanitize_text(text));
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    ignore_broken_pipe(writeln!(out, "{text}").and_then(|()| out.flush()))
}

fn ignore_broken_pipe(result: io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_output_escapes_what_a_terminal_would_obey_and_still_parses() {
        let value = serde_json::json!({
            "text": "\u{1b}]52;c;eA==\u{7}\u{1b}[2J\u{9b}2J\u{202e}\u{2067}ok\u{7f}",
        });
        let text = json_text(&value).unwrap();
        assert!(
            text.chars()
                .all(|c| c == '\n' || c == ' ' || c.is_ascii_graphic()),
            "{text:?}"
        );
        for escaped in [
            r"\u001b]52",
            r"\u0007",
            r"\u001b[2J",
            r"\u009b",
            r"\u202e",
            r"\u2067",
            r"\u007f",
        ] {
            assert!(text.contains(escaped), "{escaped} in {text}");
        }
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
