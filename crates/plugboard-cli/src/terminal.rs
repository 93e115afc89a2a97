//! The real [`Prompter`]: dialoguer prompts and an indicatif spinner on a terminal; on anything
//! else, answers read line by line from stdin and no spinner. Everything is drawn on stderr so
//! stdout carries only results.

use std::io::{self, BufRead, IsTerminal, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{FuzzySelect, Password, Select};
use indicatif::{ProgressBar, ProgressStyle};
use plugboard_core::async_trait;
use plugboard_core::{Progress, PromptError, Prompter};
use secrecy::SecretString;

/// Longest line read from a pipe; far above any key, low enough that a runaway pipe cannot
/// exhaust memory.
const MAX_LINE: usize = 64 * 1024;

/// With more entries than this, a list becomes type-to-filter.
const FILTER_ABOVE: usize = 8;

/// How the session looks: decided once at start-up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terminal {
    /// stdin and stderr are both terminals: prompts can be drawn and answered.
    pub(crate) interactive: bool,
    /// Colours are allowed (`NO_COLOR` unset).
    pub(crate) color: bool,
}

impl Terminal {
    /// Looks at the real stdin, stderr and `NO_COLOR`.
    pub(crate) fn detect() -> Self {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self {
            interactive: io::stdin().is_terminal() && io::stderr().is_terminal(),
            color,
        }
    }
}

/// Prompts on the terminal, or reads answers from stdin when there is none.
pub(crate) struct TerminalPrompter {
    terminal: Terminal,
    /// A text prompt is drawn and waiting. A prompt can lose a race (the browser callback
    /// arrives while a paste prompt waits); the next line drawn then replaces the prompt's
    /// line instead of running on after it.
    prompt_open: Arc<AtomicBool>,
}

impl TerminalPrompter {
    pub(crate) fn new(terminal: Terminal) -> Arc<Self> {
        Arc::new(Self {
            terminal,
            prompt_open: Arc::default(),
        })
    }

    /// Clears a prompt that is still drawn but no longer wanted.
    fn close_abandoned_prompt(&self) {
        if self.prompt_open.swap(false, Ordering::SeqCst) {
            let _ = console::Term::stderr().clear_line();
        }
    }

    fn theme(color: bool) -> Box<dyn Theme + Send> {
        if color {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        }
    }

    /// Runs a blocking prompt off the async runtime.
    async fn blocking<T: Send + 'static>(
        f: impl FnOnce() -> Result<T, PromptError> + Send + 'static,
    ) -> Result<T, PromptError> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| PromptError::Io(e.to_string()))?
    }
}

#[async_trait]
impl Prompter for TerminalPrompter {
    async fn text(&self, prompt: &str) -> Result<String, PromptError> {
        if self.terminal.interactive {
            // The terminal's own line editing, not dialoguer's: this prompt (the pasted
            // redirect) usually loses its race to the browser callback and is still reading
            // when the process exits. dialoguer reads key by key in raw mode, and a raw-mode
            // read abandoned at exit would leave the user's terminal without echo.
            let term = console::Term::stderr();
            let shown = if self.terminal.color {
                format!(
                    "{} ",
                    console::style(format!("{prompt}:")).for_stderr().bold()
                )
            } else {
                format!("{prompt}: ")
            };
            term.write_str(&shown)
                .and_then(|()| term.flush())
                .map_err(|e| PromptError::Io(e.to_string()))?;
            let open = Arc::clone(&self.prompt_open);
            open.store(true, Ordering::SeqCst);
            Self::blocking(move || {
                let answer = read_line(&mut io::stdin().lock(), MAX_LINE);
                open.store(false, Ordering::SeqCst);
                answer
            })
            .await
        } else {
            Self::blocking(move || read_line(&mut io::stdin().lock(), MAX_LINE)).await
        }
    }

    async fn secret(&self, prompt: &str) -> Result<SecretString, PromptError> {
        let (prompt, color) = (prompt.to_owned(), self.terminal.color);
        let line = if self.terminal.interactive {
            Self::blocking(move || {
                Password::with_theme(&*Self::theme(color))
                    .with_prompt(prompt)
                    .allow_empty_password(true)
                    .interact_on(&console::Term::stderr())
                    .map_err(dialoguer_error)
            })
            .await?
        } else {
            Self::blocking(move || read_line(&mut io::stdin().lock(), MAX_LINE)).await?
        };
        Ok(line.into())
    }

    async fn select(&self, prompt: &str, items: &[String]) -> Result<usize, PromptError> {
        if !self.terminal.interactive {
            return Err(PromptError::NotInteractive {
                prompt: prompt.to_owned(),
            });
        }
        let (prompt, items, color) = (prompt.to_owned(), items.to_vec(), self.terminal.color);
        Self::blocking(move || {
            let theme = Self::theme(color);
            let term = console::Term::stderr();
            let picked = if items.len() > FILTER_ABOVE {
                FuzzySelect::with_theme(&*theme)
                    .with_prompt(format!("{prompt} (type to filter)"))
                    .items(&items)
                    .default(0)
                    .interact_on_opt(&term)
            } else {
                Select::with_theme(&*theme)
                    .with_prompt(prompt)
                    .items(&items)
                    .default(0)
                    .interact_on_opt(&term)
            };
            picked
                .map_err(dialoguer_error)?
                .ok_or(PromptError::Cancelled)
        })
        .await
    }

    fn progress(&self, message: &str) -> Box<dyn Progress> {
        self.close_abandoned_prompt();
        if self.terminal.interactive {
            let bar = ProgressBar::new_spinner().with_message(message.to_owned());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            Box::new(Spinner(bar))
        } else {
            Box::new(PlainProgress)
        }
    }

    fn note(&self, message: &str) {
        self.close_abandoned_prompt();
        crate::output::note(message);
    }
}

fn dialoguer_error(e: dialoguer::Error) -> PromptError {
    match e {
        dialoguer::Error::IO(e) if e.kind() == io::ErrorKind::Interrupted => PromptError::Cancelled,
        dialoguer::Error::IO(e) => PromptError::Io(e.to_string()),
    }
}

/// Reads one line (without its line ending) of at most `limit` bytes.
fn read_line(input: &mut impl BufRead, limit: usize) -> Result<String, PromptError> {
    let mut buf = Vec::new();
    let read = input
        .take(limit as u64 + 1)
        .read_until(b'\n', &mut buf)
        .map_err(|e| PromptError::Io(e.to_string()))?;
    if read == 0 {
        return Err(PromptError::EndOfInput);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    } else if buf.len() > limit {
        return Err(PromptError::TooLong { limit });
    }
    String::from_utf8(buf).map_err(|_| PromptError::Io("input is not valid UTF-8".into()))
}

struct Spinner(ProgressBar);

impl Progress for Spinner {
    fn set_message(&mut self, message: &str) {
        self.0.set_message(message.to_owned());
    }

    fn finish(self: Box<Self>, message: &str) {
        self.0.finish_and_clear();
        leave_behind(message);
    }
}

/// Without a terminal there is nothing to animate; only the final line is worth printing.
struct PlainProgress;

impl Progress for PlainProgress {
    fn set_message(&mut self, _message: &str) {}

    fn finish(self: Box<Self>, message: &str) {
        leave_behind(message);
    }
}

/// The line a finished progress leaves; an empty message leaves none.
fn leave_behind(message: &str) {
    if !message.is_empty() {
        crate::output::note(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_one_at_a_time_within_the_limit() {
        type Case = (&'static [u8], usize, Result<&'static str, PromptError>);
        let cases: [Case; 7] = [
            (b"key\nnext\n", 64, Ok("key")),
            (b"key\r\n", 64, Ok("key")),
            (
                b"last line without newline",
                64,
                Ok("last line without newline"),
            ),
            (b"\n", 64, Ok("")),
            (b"", 64, Err(PromptError::EndOfInput)),
            (b"0123456789\n", 5, Err(PromptError::TooLong { limit: 5 })),
            (
                b"\xff\n",
                64,
                Err(PromptError::Io("input is not valid UTF-8".into())),
            ),
        ];
        for (input, limit, want) in cases {
            let got = read_line(&mut &input[..], limit);
            assert_eq!(
                got.as_deref().map_err(Clone::clone),
                want.as_deref().map_err(Clone::clone),
                "{input:?}"
            );
        }
    }

    #[test]
    fn a_line_exactly_at_the_limit_is_accepted() {
        assert_eq!(read_line(&mut &b"12345\n"[..], 5).unwrap(), "12345");
        assert_eq!(read_line(&mut &b"12345"[..], 5).unwrap(), "12345");
    }
}
