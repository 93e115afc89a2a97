//! A plugin's stderr: read as it comes (so a chatty plugin never blocks on a full pipe), each
//! line sanitised with every secret the host has sent the plugin scrubbed, kept in a bounded
//! buffer of the last lines, and shown prefixed with the plugin's id: as it arrives with
//! `--verbose`, otherwise only when a call fails.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use plugboard_protocol::HostMessage;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

use crate::relay::Secrets;

/// How much of a plugin's stderr is kept for showing when a call fails: the last lines, up to
/// this many bytes.
pub const STDERR_KEPT_BYTES: usize = 64 * 1024;

/// The longest stderr line kept, in bytes; the rest of a longer line is dropped.
const MAX_STDERR_LINE: usize = 4 * 1024;

/// The longest line shown, in characters, once sanitised.
const SHOWN_CHARS: usize = 1000;

/// Where a plugin's stderr lines go, and the lines waiting to be shown.
pub(crate) struct StderrLog {
    plugin: String,
    verbose: bool,
    sink: Arc<dyn Fn(&str) + Send + Sync>,
    kept: Mutex<Kept>,
    /// Every secret the host has sent the plugin. Each is added before it is written to the
    /// plugin, so it is known before any line that could echo it arrives.
    secrets: Mutex<Secrets>,
}

#[derive(Default)]
struct Kept {
    lines: VecDeque<String>,
    bytes: usize,
}

impl StderrLog {
    /// A log for `plugin`'s stderr, shown through `sink`, at once when `verbose`.
    pub(crate) fn new(plugin: &str, verbose: bool, sink: Arc<dyn Fn(&str) + Send + Sync>) -> Self {
        Self {
            plugin: plugin.to_owned(),
            verbose,
            sink,
            kept: Mutex::default(),
            secrets: Mutex::default(),
        }
    }

    /// Notes the secrets `message` hands the plugin (call it before sending the message), to
    /// scrub from every line the plugin writes afterwards.
    pub(crate) fn hide_secrets_of(&self, message: &HostMessage) {
        self.secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add_sent(message);
    }

    /// Takes one raw line: scrubbed of the secrets sent so far and sanitised, then shown
    /// (verbose) or kept, the oldest kept lines dropped beyond [`STDERR_KEPT_BYTES`].
    pub(crate) fn line(&self, raw: &[u8]) {
        let line = self
            .secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .line(&String::from_utf8_lossy(raw), SHOWN_CHARS);
        if line.is_empty() {
            return;
        }
        if self.verbose {
            self.show(&line);
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.bytes += line.len();
        kept.lines.push_back(line);
        while kept.bytes > STDERR_KEPT_BYTES {
            match kept.lines.pop_front() {
                Some(old) => kept.bytes -= old.len(),
                None => break,
            }
        }
    }

    /// Shows every kept line (a call failed), once: they are gone from the log afterwards.
    pub(crate) fn show_kept(&self) {
        let lines = {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            kept.bytes = 0;
            std::mem::take(&mut kept.lines)
        };
        for line in lines {
            self.show(&line);
        }
    }

    /// Forgets the kept lines: the call they came with succeeded.
    pub(crate) fn clear(&self) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.lines.clear();
        kept.bytes = 0;
    }

    fn show(&self, line: &str) {
        (self.sink)(&format!("{}: {line}", self.plugin));
    }
}

/// Reads `stream` line by line into `log` until it ends, in a task of its own.
pub(crate) fn capture(
    stream: impl AsyncRead + Unpin + Send + 'static,
    log: Arc<StderrLog>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        // Whether the rest of the current line is being dropped for length.
        let mut cut = false;
        loop {
            let chunk = match reader.fill_buf().await {
                Ok([]) | Err(_) => break,
                Ok(chunk) => chunk,
            };
            let (part, ends_line) = match chunk.iter().position(|&b| b == b'\n') {
                Some(end) => (&chunk[..end], true),
                None => (chunk, false),
            };
            if !cut {
                let room = MAX_STDERR_LINE.saturating_sub(line.len());
                line.extend_from_slice(&part[..part.len().min(room)]);
                cut = part.len() > room;
            }
            let used = part.len() + usize::from(ends_line);
            reader.consume(used);
            if ends_line {
                log.line(&line);
                line.clear();
                cut = false;
            }
        }
        if !line.is_empty() {
            log.line(&line);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(verbose: bool) -> (Arc<StderrLog>, Arc<Mutex<Vec<String>>>) {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&shown);
        let log = StderrLog::new(
            "acme",
            verbose,
            Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
        );
        (Arc::new(log), shown)
    }

    #[tokio::test]
    async fn lines_are_sanitised_prefixed_and_shown_only_when_a_call_fails() {
        let (log, shown) = recording(false);
        let input: &[u8] = b"first\n\x1b]52;c;eA==\x07second \x1b[2Jline\n\nno newline at end";
        capture(input, Arc::clone(&log)).await.unwrap();
        assert!(shown.lock().unwrap().is_empty());
        log.show_kept();
        assert_eq!(
            *shown.lock().unwrap(),
            [
                "acme: first",
                "acme: second line",
                "acme: no newline at end"
            ]
        );
        log.show_kept();
        assert_eq!(shown.lock().unwrap().len(), 3, "each line is shown once");
    }

    #[tokio::test]
    async fn verbose_shows_lines_as_they_come_and_keeps_none() {
        let (log, shown) = recording(true);
        capture(&b"one\ntwo\n"[..], Arc::clone(&log)).await.unwrap();
        assert_eq!(*shown.lock().unwrap(), ["acme: one", "acme: two"]);
        log.show_kept();
        assert_eq!(shown.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn only_the_last_64_kib_are_kept_and_long_lines_are_cut() {
        let (log, shown) = recording(false);
        let mut input = Vec::new();
        for n in 0..10_000 {
            input.extend_from_slice(format!("line {n:05} {}\n", "x".repeat(40)).as_bytes());
        }
        input.extend_from_slice(&vec![b'y'; 100_000]);
        input.extend_from_slice(b"\nlast\n");
        capture(std::io::Cursor::new(input), Arc::clone(&log))
            .await
            .unwrap();
        log.show_kept();
        let shown = shown.lock().unwrap();
        let bytes: usize = shown.iter().map(|l| l.len() - "acme: ".len()).sum();
        assert!(bytes <= STDERR_KEPT_BYTES, "{bytes}");
        assert_eq!(shown.last().map(String::as_str), Some("acme: last"));
        assert!(!shown.iter().any(|l| l.contains("line 00000")));
        assert!(shown.iter().all(|l| l.chars().count() <= SHOWN_CHARS + 10));
    }
}
