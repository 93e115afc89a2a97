//! Writing results to stdout. Only results go there (prompts, progress and notes go to
//! stderr), and a closed pipe (`plugboard ... | head`) ends the output quietly.

use std::io::{self, Write};

use serde::Serialize;

/// Writes `text` (plus a newline) to stdout.
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    ignore_broken_pipe(writeln!(out, "{text}").and_then(|()| out.flush()))
}

/// Writes `value` as pretty JSON to stdout.
pub(crate) fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    print(&serde_json::to_string_pretty(value)?)
}

/// Writes a line to stderr, for notes and confirmations that are not results.
pub(crate) fn note(text: &str) {
    let mut err = io::stderr().lock();
    // Nothing useful can be done if stderr itself is gone.
    let _ = writeln!(err, "{text}");
}

fn ignore_broken_pipe(result: io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
