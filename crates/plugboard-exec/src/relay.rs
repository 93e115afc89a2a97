//! What the host does with a plugin's `prompt`, `open_url` and `note` messages. The plugin has
//! no terminal: during a sign-in the host asks its own prompter and opens URLs with its own
//! opener (only `https`, or `http` to this machine); during a model call, a listing or a
//! refresh nobody can be asked, so prompts are answered "not interactive" and URLs refused.
//! Everything a plugin says is sanitised to one line, with the secrets of the call scrubbed.

use plugboard_core::{AuthContext, PromptError, async_trait, sanitize_line, scrub_secret};
use plugboard_protocol::{
    Answer, AnswerError, AnswerFailure, HostMessage, PromptKind, WireCredential, WireSecret,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::session::Relay;

/// The longest prompt or note shown, in characters.
const SHOWN_CHARS: usize = 500;

/// The most items a `select` prompt may offer.
const MAX_ITEMS: usize = 100;

/// The longest URL the host opens for a plugin, in bytes.
const MAX_URL_BYTES: usize = 8 * 1024;

/// The secrets of one call (the credential sent, the secrets the user typed): scrubbed from
/// whatever the plugin says, however it disguises them.
#[derive(Default)]
pub(crate) struct Secrets(Vec<SecretString>);

impl Secrets {
    /// Adds a secret to scrub.
    pub(crate) fn add(&mut self, secret: &str) {
        if !secret.is_empty() && !self.0.iter().any(|known| known.expose_secret() == secret) {
            self.0.push(secret.to_owned().into());
        }
    }

    /// Adds every secret `message` hands the plugin: the credential of a request, the
    /// user's answer to a secret prompt.
    pub(crate) fn add_sent(&mut self, message: &HostMessage) {
        let credential = match message {
            HostMessage::Refresh { credential, .. }
            | HostMessage::RunModel { credential, .. }
            | HostMessage::ListModels { credential, .. } => credential,
            HostMessage::Answer {
                answer: Answer::Secret(secret),
                ..
            } => return self.add(&secret.0),
            _ => return,
        };
        match credential {
            WireCredential::ApiKey { key, .. } => self.add(&key.0),
            WireCredential::Token { token, .. } => self.add(&token.0),
            WireCredential::OAuth {
                access_token,
                refresh_token,
                session,
                ..
            } => {
                self.add(&access_token.0);
                if let Some(token) = refresh_token {
                    self.add(&token.0);
                }
                if let Some(session) = session {
                    self.add(&session.token.0);
                }
            }
            WireCredential::None { .. } => {}
        }
    }

    /// `text` with every secret scrubbed, its lines kept (a model's reply).
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.0 {
            text = scrub_secret(&text, secret.expose_secret());
        }
        text
    }

    /// `text` with every secret scrubbed, as one sanitised line of at most `max_chars`.
    pub(crate) fn line(&self, text: &str, max_chars: usize) -> String {
        sanitize_line(&self.scrub(text), max_chars)
    }
}

/// Relays a sign-in's messages to the user through the sign-in's context.
pub(crate) struct SignInRelay<'a> {
    pub(crate) ctx: &'a AuthContext,
    /// The secrets typed so far, scrubbed from notes and from the plugin's error.
    pub(crate) secrets: Secrets,
}

#[async_trait]
impl Relay for SignInRelay<'_> {
    async fn prompt(&mut self, kind: PromptKind, message: &str, items: &[String]) -> Answer {
        let message = self.secrets.line(message, SHOWN_CHARS);
        let prompter = &self.ctx.prompter;
        let answer = match kind {
            PromptKind::Text => prompter.text(&message).await.map(Answer::Text),
            PromptKind::Secret => prompter.secret(&message).await.map(|secret| {
                self.secrets.add(secret.expose_secret());
                Answer::Secret(WireSecret::from(&secret))
            }),
            PromptKind::Select => {
                if items.is_empty() || items.len() > MAX_ITEMS {
                    return failure(
                        AnswerFailure::Failed,
                        format!("a choice offers 1 to {MAX_ITEMS} items"),
                    );
                }
                let items: Vec<String> = items
                    .iter()
                    .map(|item| self.secrets.line(item, SHOWN_CHARS))
                    .collect();
                prompter.select(&message, &items).await.map(Answer::Index)
            }
        };
        answer.unwrap_or_else(|error| prompt_failure(&error))
    }

    fn open_url(&mut self, url: &str) -> Answer {
        let url = match openable(url) {
            Ok(url) => url,
            Err(reason) => return failure(AnswerFailure::Refused, reason),
        };
        if self.ctx.options.no_browser {
            return failure(
                AnswerFailure::NoBrowser,
                "the user asked for no browser: show the URL instead",
            );
        }
        match self.ctx.url_opener.open(url.as_str()) {
            Ok(()) => Answer::Opened,
            Err(error) => failure(AnswerFailure::NoBrowser, error.to_string()),
        }
    }

    fn note(&mut self, message: &str) {
        self.ctx
            .prompter
            .note(&self.secrets.line(message, SHOWN_CHARS));
    }
}

/// Relays the messages of a call nobody can be asked anything during (a model call, a listing,
/// a refresh, the fixture list): notes go to the plugin's stderr sink with `--verbose`.
pub(crate) struct QuietRelay<'a> {
    pub(crate) plugin: &'a str,
    pub(crate) verbose: bool,
    pub(crate) sink: &'a (dyn Fn(&str) + Send + Sync),
    pub(crate) secrets: &'a Secrets,
}

#[async_trait]
impl Relay for QuietRelay<'_> {
    async fn prompt(&mut self, _kind: PromptKind, _message: &str, _items: &[String]) -> Answer {
        failure(
            AnswerFailure::NotInteractive,
            "nobody can be asked anything during this request",
        )
    }

    fn open_url(&mut self, _url: &str) -> Answer {
        failure(
            AnswerFailure::Refused,
            "no URL is opened during this request",
        )
    }

    fn note(&mut self, message: &str) {
        if self.verbose {
            (self.sink)(&format!(
                "{}: {}",
                self.plugin,
                self.secrets.line(message, SHOWN_CHARS)
            ));
        }
    }
}

/// The URL, if the host may open it for a plugin: `https`, or `http` to this machine (a
/// plugin's own callback server).
fn openable(url: &str) -> Result<Url, String> {
    let refused = || "only https URLs, or http to this machine, are opened".to_owned();
    if url.len() > MAX_URL_BYTES {
        return Err(format!("the URL is longer than {MAX_URL_BYTES} bytes"));
    }
    let parsed = Url::parse(url).map_err(|_| refused())?;
    let allowed = match parsed.scheme() {
        "https" => parsed.host().is_some(),
        "http" => plugboard_http::is_loopback(&parsed),
        _ => false,
    };
    if allowed { Ok(parsed) } else { Err(refused()) }
}

fn failure(kind: AnswerFailure, message: impl Into<String>) -> Answer {
    Answer::Error(AnswerError {
        kind,
        message: message.into(),
    })
}

/// Why the user gave no answer, for the plugin.
fn prompt_failure(error: &PromptError) -> Answer {
    let kind = match error {
        PromptError::Cancelled => AnswerFailure::Cancelled,
        PromptError::EndOfInput => AnswerFailure::EndOfInput,
        PromptError::TooLong { .. } => AnswerFailure::TooLong,
        PromptError::NotInteractive { .. } => AnswerFailure::NotInteractive,
        _ => AnswerFailure::Failed,
    };
    failure(kind, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_and_loopback_http_urls_are_opened() {
        let cases = [
            ("https://accounts.example.com/authorize?x=1", true),
            ("http://127.0.0.1:8123/callback", true),
            ("http://localhost:8123/", true),
            ("http://[::1]/", true),
            ("http://example.com/", false),
            ("file:///etc/passwd", false),
            ("javascript:alert(1)", false),
            ("ftp://example.com/", false),
            ("not a url", false),
            ("https://", false),
        ];
        for (url, allowed) in cases {
            assert_eq!(openable(url).is_ok(), allowed, "{url}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert!(openable(&long).is_err());
    }

    #[test]
    fn secrets_are_scrubbed_and_text_made_one_safe_line() {
        let mut secrets = Secrets::default();
        secrets.add("sk-test-Zq7Wm3Xv9Kp2");
        secrets.add("");
        let line = secrets.line("key SK-TEST-ZQ7WM3XV9KP2 is\nbad \x1b[2J", 100);
        assert_eq!(line, "key [redacted] is bad");
    }
}
