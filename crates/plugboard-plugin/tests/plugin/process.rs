//! The host's side of a session with a plugin process: its stdin and stdout piped, each message
//! read with a deadline, so a plugin that hangs fails the test instead of stalling it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

use plugboard_protocol::{Answer, HostMessage, PluginMessage, decode, encode};

/// Longest wait for one message or for the process to exit.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running plugin process.
pub struct Plugin {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Receiver<String>,
}

impl Plugin {
    /// Starts `program args...` in `dir` with only `PATH` and `HOME` from this environment, as
    /// the host starts a plugin.
    pub fn spawn(dir: &Path, program: &Path, args: &[&str]) -> Self {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(dir)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        let mut child = command.spawn().unwrap();
        let stdin = child.stdin.take();
        let lines = forward(BufReader::new(child.stdout.take().unwrap()));
        let stderr = forward(BufReader::new(child.stderr.take().unwrap()));
        Self {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    /// Writes one message to the plugin's stdin.
    pub fn send(&mut self, message: &HostMessage) {
        let stdin = self.stdin.as_mut().expect("the plugin's stdin is open");
        stdin.write_all(encode(message).as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Answers the plugin's prompt or `open_url` of `id`.
    pub fn answer(&mut self, id: u64, answer: Answer) {
        self.send(&HostMessage::Answer { id, answer });
    }

    /// The plugin's next message; its stderr is shown if none comes.
    pub fn recv(&mut self) -> PluginMessage {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => decode(&line)
                .unwrap_or_else(|e| panic!("not a plugin message: {e}: {line}{}", self.stderr())),
            Err(RecvTimeoutError::Timeout) => panic!("the plugin did not answer{}", self.stderr()),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the plugin's output ended{}", self.stderr())
            }
        }
    }

    /// Closes the plugin's stdin and waits for it to exit; its output must have ended with
    /// nothing more.
    pub fn close(&mut self) -> ExitStatus {
        self.stdin = None;
        match self.lines.recv_timeout(PATIENCE) {
            Err(RecvTimeoutError::Disconnected) => {}
            other => panic!("expected the end of output, got {other:?}{}", self.stderr()),
        }
        // Its output has ended, so it is exiting: poll for that, with a deadline.
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the plugin did not exit");
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// What the plugin wrote on stderr so far, for a failure message.
    fn stderr(&self) -> String {
        let lines: Vec<String> = self.stderr.try_iter().collect();
        if lines.is_empty() {
            String::new()
        } else {
            format!("\nits stderr:\n{}", lines.join("\n"))
        }
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        // Only a test that failed midway gets here with the process still running.
        let _ = self.child.kill();
    }
}

/// Each line of `reader`, on a channel that closes when the reader ends.
fn forward(reader: impl BufRead + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
