//! The browser sign-in: start the loopback callback server, show (and maybe open) the authorize
//! URL, then take whichever arrives first, the loopback callback or a pasted redirect, within
//! the login's timeout. The provider supplies only its authorize URL and, afterwards, its code
//! exchange.

use std::time::Duration;

use plugboard_core::{AuthContext, AuthError, PromptError};
use secrecy::SecretString;
use thiserror::Error;
use url::Url;

use crate::callback::{
    CallbackConfig, CallbackError, CallbackOutcome, CallbackServer, PortChoice, checked_path,
};
use crate::paste::{PasteError, parse_pasted_redirect};
use crate::pkce::Pkce;
use crate::state::{LoginSecrets, State};

/// What the paste prompt asks.
const PASTE_PROMPT: &str = "Paste the redirect URL from your browser";

/// One provider's browser sign-in: where its callback listens. Reusable across logins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserLogin {
    /// The service's name, for messages and the browser pages ("OpenRouter").
    pub service_name: String,
    /// The callback path, such as `/openrouter-oauth/callback`.
    pub callback_path: String,
    /// The port tried first when the user did not pin one; another free port if it is taken.
    /// [`BrowserLogin::run_on_registered_ports`] does not use it.
    pub default_port: u16,
}

/// What the provider needs to build its authorize URL.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRequest<'a> {
    /// Where the service must send the browser back (`http://localhost:PORT/<path>`).
    pub redirect_uri: &'a Url,
    /// The state the callback must carry.
    pub state: &'a State,
    /// The PKCE pair; only its challenge and method belong in the URL.
    pub pkce: &'a Pkce,
}

/// Which way the authorization code arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeVia {
    /// The browser reached the loopback callback server.
    Loopback,
    /// The user pasted the redirect URL.
    Paste,
}

impl CodeVia {
    /// `"loopback"` or `"paste"`, as recorded in a credential's provenance.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Paste => "paste",
        }
    }
}

/// A granted sign-in, ready for the provider's code exchange.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The authorization code.
    pub code: SecretString,
    /// The PKCE pair whose challenge the authorize URL carried; the exchange sends its verifier.
    pub pkce: Pkce,
    /// The redirect URI the authorize URL named, for exchanges that must repeat it.
    pub redirect_uri: Url,
    /// Which way the code arrived.
    pub via: CodeVia,
}

/// Why a browser sign-in did not produce a code.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The callback server could not start.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// Neither a callback nor a paste arrived in time. The host says how to wait longer.
    #[error("no sign-in arrived within {}", human_duration(*after))]
    TimedOut {
        /// How long the login waited.
        after: Duration,
    },
    /// The service (or the user, on its page) refused.
    #[error("{service} refused the sign-in: {}", denial_reason(error, description.as_deref()))]
    Denied {
        /// The service's name.
        service: String,
        /// The OAuth error code, such as `access_denied`.
        error: String,
        /// The service's explanation, if it gave one.
        description: Option<String>,
    },
    /// A pasted redirect was refused and this session cannot ask again.
    #[error(transparent)]
    Paste(#[from] PasteError),
    /// The paste prompt failed.
    #[error(transparent)]
    Prompt(PromptError),
    /// The user cancelled at the paste prompt.
    #[error("sign-in cancelled")]
    Cancelled,
}

impl From<OAuthError> for AuthError {
    fn from(error: OAuthError) -> Self {
        match error {
            OAuthError::Cancelled | OAuthError::Prompt(PromptError::Cancelled) => Self::Cancelled,
            OAuthError::Prompt(e) => Self::Prompt(e),
            OAuthError::Paste(e) => Self::InvalidInput(e.to_string()),
            e @ OAuthError::Denied { .. } => Self::Service(e.to_string()),
            // Kept typed, so the host can recognise them and say which of its own options
            // helps (a longer wait, another port).
            e @ (OAuthError::TimedOut { .. } | OAuthError::Callback(_)) => Self::other(e),
        }
    }
}

fn denial_reason<'a>(error: &'a str, description: Option<&'a str>) -> &'a str {
    description.filter(|d| !d.is_empty()).unwrap_or(error)
}

/// `5m`, `1m30s`, `50ms`: short enough for a one-line error.
fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs == 0 {
        return format!("{}ms", duration.as_millis());
    }
    let mut out = String::new();
    for (value, unit) in [(secs / 3600, "h"), (secs / 60 % 60, "m"), (secs % 60, "s")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    out
}

impl BrowserLogin {
    /// Runs the sign-in up to the authorization code. `authorize_url` builds the service's
    /// authorize URL once the callback server listens; it must carry the state and the PKCE
    /// challenge, and nothing secret, because it is always shown to the user.
    ///
    /// The browser is opened unless the user said `--no-browser` or the session is remote.
    /// A pasted redirect is accepted too, while the loopback server keeps listening, whenever no
    /// browser was opened (or opening failed), and on a terminal also after one was: the
    /// browser may be unable to reach this machine's loopback. Without a terminal, once a
    /// browser was opened only the callback counts and stdin is not read. The server is stopped
    /// before this returns.
    pub async fn run(
        &self,
        ctx: &AuthContext,
        authorize_url: impl FnOnce(&AuthorizeRequest<'_>) -> Url,
    ) -> Result<Authorization, OAuthError> {
        self.run_listening(ctx, Ports::Preferred(self.default_port), authorize_url)
            .await
    }

    /// Runs the sign-in like [`BrowserLogin::run`], for a service that accepts only the
    /// redirect ports registered with it (OpenAI's Codex client: 1455, then 1457). The callback
    /// listens on the first of `ports` that is free, saying so when it is not the first; when
    /// all are taken, no server is started and the sign-in finishes by pasting the redirect
    /// URL, whose redirect URI still names the first port (the one the service expects).
    /// `default_port` is not used. A port pinned with `--port` (`ctx.options.callback_port`)
    /// still wins, so tests can point the login at a double.
    pub async fn run_on_registered_ports(
        &self,
        ctx: &AuthContext,
        ports: &[u16],
        authorize_url: impl FnOnce(&AuthorizeRequest<'_>) -> Url,
    ) -> Result<Authorization, OAuthError> {
        self.run_listening(ctx, Ports::Registered(ports), authorize_url)
            .await
    }

    async fn run_listening(
        &self,
        ctx: &AuthContext,
        ports: Ports<'_>,
        authorize_url: impl FnOnce(&AuthorizeRequest<'_>) -> Url,
    ) -> Result<Authorization, OAuthError> {
        let LoginSecrets { pkce, state } = LoginSecrets::generate(&*ctx.random);
        let ports = match ctx.options.callback_port {
            Some(port) => Ports::Pinned(port),
            None => ports,
        };
        let (mut server, redirect_uri) = self.listen(ctx, ports, &state).await?;
        let waited = self
            .await_code(
                ctx,
                server.as_mut(),
                &redirect_uri,
                &state,
                &pkce,
                authorize_url,
            )
            .await;
        if let Some(server) = server {
            server.shutdown().await;
        }
        match waited? {
            (CallbackOutcome::Code(code), via) => Ok(Authorization {
                code,
                pkce,
                redirect_uri,
                via,
            }),
            (CallbackOutcome::Denied { error, description }, _) => Err(OAuthError::Denied {
                service: self.service_name.clone(),
                error,
                description,
            }),
        }
    }

    /// Starts the callback server as `ports` asks, and says where it listens when that is not
    /// where the user would expect. `None` (with the redirect URI the service expects) when
    /// every registered port is taken: the sign-in then finishes by paste alone.
    async fn listen(
        &self,
        ctx: &AuthContext,
        ports: Ports<'_>,
        state: &State,
    ) -> Result<(Option<CallbackServer>, Url), OAuthError> {
        let config = |port| CallbackConfig {
            path: self.callback_path.clone(),
            port,
            state: state.clone(),
            service_name: self.service_name.clone(),
        };
        let registered = match ports {
            Ports::Pinned(port) => {
                let server = CallbackServer::start(config(PortChoice::Pinned(port))).await?;
                let redirect_uri = server.redirect_uri();
                return Ok((Some(server), redirect_uri));
            }
            Ports::Preferred(port) => {
                let server = CallbackServer::start(config(PortChoice::Preferred(port))).await?;
                if server.fell_back() {
                    ctx.prompter.note(&format!(
                        "{} in use, so the sign-in callback listens on port {} instead",
                        ports_phrase(&[port]),
                        server.port()
                    ));
                }
                let redirect_uri = server.redirect_uri();
                return Ok((Some(server), redirect_uri));
            }
            Ports::Registered(registered) => registered,
        };
        let Some(&expected) = registered.first() else {
            return Err(CallbackError::NoRegisteredPort.into());
        };
        for (tried, &port) in registered.iter().enumerate() {
            match CallbackServer::start(config(PortChoice::Pinned(port))).await {
                Ok(server) => {
                    if tried > 0 {
                        ctx.prompter.note(&format!(
                            "{} in use, so the sign-in callback listens on port {port} instead",
                            ports_phrase(&registered[..tried])
                        ));
                    }
                    let redirect_uri = server.redirect_uri();
                    return Ok((Some(server), redirect_uri));
                }
                Err(CallbackError::PortInUse { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        ctx.prompter.note(&format!(
            "{} in use, so nothing can listen for the browser: after signing in, paste the \
             redirect URL from the browser's address bar",
            ports_phrase(registered)
        ));
        // The service accepts only its registered redirect URIs, so the authorize URL names the
        // first one even though nothing listens there; the pasted redirect carries the code.
        let path = checked_path(&self.callback_path)?;
        let redirect_uri =
            Url::parse(&format!("http://localhost:{expected}{path}")).map_err(|_| {
                CallbackError::InvalidPath {
                    path: self.callback_path.clone(),
                }
            })?;
        Ok((None, redirect_uri))
    }

    async fn await_code(
        &self,
        ctx: &AuthContext,
        server: Option<&mut CallbackServer>,
        redirect_uri: &Url,
        state: &State,
        pkce: &Pkce,
        authorize_url: impl FnOnce(&AuthorizeRequest<'_>) -> Url,
    ) -> Result<(CallbackOutcome, CodeVia), OAuthError> {
        let url = authorize_url(&AuthorizeRequest {
            redirect_uri,
            state,
            pkce,
        });
        ctx.prompter.note(&format!(
            "Open this URL to sign in to {}:\n  {url}",
            self.service_name
        ));
        let timeout = ctx.options.timeout;
        let timed_out = OAuthError::TimedOut { after: timeout };

        let opened = self.open_browser(ctx, &url);
        let Some(server) = server else {
            // Nothing listens, so only a paste can finish the sign-in, with or without a
            // terminal; the note before the URL said what to paste.
            return tokio::select! {
                pasted = paste_loop(ctx, state, false) => {
                    pasted.map(|outcome| (outcome, CodeVia::Paste))
                }
                () = tokio::time::sleep(timeout) => Err(timed_out),
            };
        };
        if opened && !ctx.session.interactive {
            // Nobody can answer a prompt: stdin is left alone and only the callback counts.
            let progress = ctx.prompter.progress("Waiting for the browser sign-in...");
            let waited = tokio::select! {
                outcome = server.wait() => Ok((outcome, CodeVia::Loopback)),
                () = tokio::time::sleep(timeout) => Err(timed_out),
            };
            progress.finish(match &waited {
                Ok((CallbackOutcome::Code(_), _)) => "browser sign-in received",
                Ok((CallbackOutcome::Denied { .. }, _)) => "browser sign-in refused",
                Err(_) => "no browser sign-in arrived",
            });
            return waited;
        }

        if opened {
            // The browser may not be able to reach this machine's loopback (WSL, a container, a
            // browser elsewhere), so on a terminal the paste prompt is offered at once rather
            // than after the whole timeout.
            ctx.prompter.note(&format!(
                "Waiting for the browser to return to {redirect_uri}; if it cannot (the page \
                 does not load), copy the whole address from the browser's address bar and \
                 paste it here"
            ));
        } else {
            ctx.prompter.note(&format!(
                "After signing in, the browser goes to {redirect_uri}; if that page does not load, \
                 copy the whole address from the browser's address bar and paste it here"
            ));
        }
        let waited = tokio::select! {
            biased;
            outcome = server.wait() => Ok((outcome, CodeVia::Loopback)),
            pasted = paste_loop(ctx, state, true) => pasted.map(|outcome| (outcome, CodeVia::Paste)),
            () = tokio::time::sleep(timeout) => Err(timed_out),
        };
        // The paste prompt may still be showing: say why it no longer matters.
        if let Ok((_, CodeVia::Loopback)) = &waited {
            ctx.prompter
                .note("the browser reached the loopback callback; nothing to paste");
        }
        waited
    }

    /// Opens `url` if this session may; says why not when opening fails.
    fn open_browser(&self, ctx: &AuthContext, url: &Url) -> bool {
        if ctx.options.no_browser || ctx.session.remote {
            return false;
        }
        match ctx.url_opener.open(url.as_str()) {
            Ok(()) => true,
            Err(e) => {
                ctx.prompter
                    .note(&format!("{e}: open the URL above yourself"));
                false
            }
        }
    }
}

/// Where the callback may listen.
#[derive(Debug, Clone, Copy)]
enum Ports<'a> {
    /// Exactly this port (`--port`).
    Pinned(u16),
    /// This port, else any free one.
    Preferred(u16),
    /// The first free one of these, else none (paste only).
    Registered(&'a [u16]),
}

/// `port 1455 is` / `ports 1455 and 1457 are` / `ports 1, 2 and 3 are`.
fn ports_phrase(ports: &[u16]) -> String {
    let names: Vec<String> = ports.iter().map(u16::to_string).collect();
    match names.as_slice() {
        [one] => format!("port {one} is"),
        [init @ .., last] => format!("ports {} and {last} are", init.join(", ")),
        [] => "no port is".to_owned(),
    }
}

/// Asks for the pasted redirect until one is accepted. End of input only silences this side
/// while the loopback callback can still complete the login (`listening`); without a server it
/// ends the login, since nothing else could.
async fn paste_loop(
    ctx: &AuthContext,
    state: &State,
    listening: bool,
) -> Result<CallbackOutcome, OAuthError> {
    loop {
        let line = match ctx.prompter.text(PASTE_PROMPT).await {
            Ok(line) => line,
            Err(PromptError::EndOfInput) if listening => return std::future::pending().await,
            Err(PromptError::Cancelled) => return Err(OAuthError::Cancelled),
            Err(e) => return Err(OAuthError::Prompt(e)),
        };
        if line.trim().is_empty() {
            continue;
        }
        match parse_pasted_redirect(&line, state) {
            Ok(outcome) => return Ok(outcome),
            Err(e) if ctx.session.interactive => ctx.prompter.note(&e.to_string()),
            Err(e) => return Err(OAuthError::Paste(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpListener as StdListener};
    use std::sync::Arc;

    use plugboard_core::{
        Answer, FixedRandom, OpenUrlError, ScriptedBrowser, ScriptedPrompter, Session,
    };
    use secrecy::ExposeSecret;
    use tokio::sync::oneshot;

    use super::*;
    use crate::testing::get_url;

    const SEED: u8 = 21;

    fn login() -> BrowserLogin {
        BrowserLogin {
            service_name: "Example".to_owned(),
            callback_path: "/example/callback".to_owned(),
            // Any free port, so parallel tests never collide.
            default_port: 0,
        }
    }

    struct Harness {
        ctx: AuthContext,
        prompter: Arc<ScriptedPrompter>,
        browser: Arc<ScriptedBrowser>,
    }

    fn harness(answers: Vec<Answer>, browser: ScriptedBrowser) -> Harness {
        let prompter = Arc::new(ScriptedPrompter::new(answers));
        let browser = Arc::new(browser);
        let mut ctx = AuthContext::scripted([]);
        ctx.prompter = prompter.clone();
        ctx.url_opener = browser.clone();
        ctx.random = Arc::new(FixedRandom(SEED));
        Harness {
            ctx,
            prompter,
            browser,
        }
    }

    /// The state the login will draw from `FixedRandom(SEED)`.
    fn predicted_state() -> String {
        LoginSecrets::generate(&FixedRandom(SEED))
            .state
            .as_str()
            .to_owned()
    }

    /// An authorize URL like OpenRouter's: the callback, with the state, as a parameter.
    fn authorize(request: &AuthorizeRequest<'_>) -> Url {
        let mut callback = request.redirect_uri.clone();
        callback
            .query_pairs_mut()
            .append_pair("state", request.state.as_str());
        let mut url = Url::parse("https://auth.example/authorize").unwrap();
        url.query_pairs_mut()
            .append_pair("callback_url", callback.as_str())
            .append_pair("code_challenge", request.pkce.challenge())
            .append_pair("code_challenge_method", request.pkce.method());
        url
    }

    /// The callback URL an authorize URL names, with `extra` appended as the service would.
    fn service_redirect(authorize_url: &str, extra: &str) -> Url {
        let url = Url::parse(authorize_url).unwrap();
        let (_, callback) = url
            .query_pairs()
            .find(|(name, _)| name == "callback_url")
            .unwrap();
        Url::parse(&format!("{callback}&{extra}")).unwrap()
    }

    /// A browser that, like a real one after the user approves, requests the callback. The GET
    /// runs as a task so `open` returns at once, as a real browser launch does.
    fn browser_approving(extra: &'static str) -> ScriptedBrowser {
        ScriptedBrowser::following(Box::new(move |url| {
            let target = service_redirect(url, extra);
            tokio::spawn(async move { get_url(&target).await });
            Ok(())
        }))
    }

    fn paste_url(query: &str) -> Answer {
        Answer::Text(format!(
            "http://localhost:1/example/callback?state={}&{query}",
            predicted_state()
        ))
    }

    fn prompts(prompter: &ScriptedPrompter) -> usize {
        prompter
            .transcript()
            .iter()
            .filter(|line| line.starts_with("text: "))
            .count()
    }

    #[tokio::test]
    async fn an_opened_browser_completes_the_login_through_loopback() {
        let h = harness(vec![], browser_approving("code=loop-code"));
        let auth = login().run(&h.ctx, authorize).await.unwrap();
        assert_eq!(auth.code.expose_secret(), "loop-code");
        assert_eq!(auth.via, CodeVia::Loopback);
        assert_eq!(auth.via.as_str(), "loopback");
        assert_eq!(auth.pkce, LoginSecrets::generate(&FixedRandom(SEED)).pkce);
        assert_eq!(auth.redirect_uri.path(), "/example/callback");
        let opened = h.browser.opened();
        assert_eq!(opened.len(), 1);
        let transcript = h.prompter.transcript();
        assert!(
            transcript.contains(&format!(
                "note: Open this URL to sign in to Example:\n  {}",
                opened[0]
            )),
            "{transcript:?}"
        );
        assert!(transcript.contains(&"progress: Waiting for the browser sign-in...".to_owned()));
        assert_eq!(prompts(&h.prompter), 0, "{transcript:?}");
        // FixedRandom restarts at every draw, so here the verifier and state are the same
        // text: only the challenge can be checked for.
        assert!(opened[0].contains(auth.pkce.challenge()));
    }

    #[tokio::test]
    async fn on_a_terminal_a_pasted_redirect_wins_after_the_browser_was_opened() {
        // The browser opens but never reaches the loopback (WSL, a container, another machine).
        let mut h = harness(vec![paste_url("code=pasted-late")], ScriptedBrowser::new());
        h.ctx.session = Session::new(true, false);
        let auth = login().run(&h.ctx, authorize).await.unwrap();
        assert_eq!(auth.code.expose_secret(), "pasted-late");
        assert_eq!(auth.via, CodeVia::Paste);
        assert_eq!(h.browser.opened().len(), 1);
        let transcript = h.prompter.transcript();
        assert_eq!(prompts(&h.prompter), 1, "{transcript:?}");
        assert!(
            transcript
                .iter()
                .any(|l| l.starts_with("note: Waiting for the browser to return to http://")),
            "{transcript:?}"
        );
        // No spinner: it would draw over the prompt.
        assert!(
            !transcript.iter().any(|l| l.starts_with("progress: ")),
            "{transcript:?}"
        );
    }

    #[tokio::test]
    async fn on_a_terminal_the_callback_wins_after_the_browser_was_opened_and_the_prompt_is_abandoned()
     {
        // No answer ever comes: the prompt stays open while the browser completes the login.
        let mut h = harness(vec![], browser_approving("code=loop-code"));
        h.ctx.session = Session::new(true, false);
        let auth = login().run(&h.ctx, authorize).await.unwrap();
        assert_eq!(auth.code.expose_secret(), "loop-code");
        assert_eq!(auth.via, CodeVia::Loopback);
        let transcript = h.prompter.transcript();
        assert_eq!(prompts(&h.prompter), 1, "{transcript:?}");
        assert_eq!(
            transcript.last().map(String::as_str),
            Some("note: the browser reached the loopback callback; nothing to paste"),
            "{transcript:?}"
        );
    }

    #[tokio::test]
    async fn on_a_terminal_a_browser_that_never_returns_and_no_paste_still_times_out() {
        let mut h = harness(vec![], ScriptedBrowser::new());
        h.ctx.session = Session::new(true, false);
        h.ctx.options.timeout = Duration::from_millis(50);
        let err = login().run(&h.ctx, authorize).await.unwrap_err();
        assert!(matches!(err, OAuthError::TimedOut { .. }), "{err:?}");
        assert_eq!(prompts(&h.prompter), 1);
    }

    #[tokio::test]
    async fn without_a_terminal_an_opened_browser_leaves_stdin_unread() {
        let h = harness(
            vec![paste_url("code=never-read")],
            browser_approving("code=loop"),
        );
        let auth = login().run(&h.ctx, authorize).await.unwrap();
        assert_eq!(auth.via, CodeVia::Loopback);
        assert_eq!(prompts(&h.prompter), 0, "{:?}", h.prompter.transcript());
    }

    #[tokio::test]
    async fn the_server_is_stopped_once_the_login_returns() {
        let h = harness(vec![], browser_approving("code=c"));
        let auth = login().run(&h.ctx, authorize).await.unwrap();
        let port = auth.redirect_uri.port().unwrap();
        let connected = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await;
        assert!(connected.is_err(), "port {port} still listens");
    }

    #[tokio::test]
    async fn no_browser_accepts_a_pasted_redirect_and_opens_nothing() {
        let mut h = harness(vec![paste_url("code=pasted")], ScriptedBrowser::new());
        h.ctx.options.no_browser = true;
        let auth = login().run(&h.ctx, authorize).await.unwrap();
        assert_eq!(auth.code.expose_secret(), "pasted");
        assert_eq!(auth.via, CodeVia::Paste);
        assert_eq!(auth.via.as_str(), "paste");
        assert!(h.browser.opened().is_empty());
        let transcript = h.prompter.transcript();
        assert!(
            transcript
                .iter()
                .any(|l| l.starts_with("note: Open this URL to sign in to Example:")),
            "{transcript:?}"
        );
        assert!(transcript.contains(&format!("text: {PASTE_PROMPT}")));
    }

    #[tokio::test]
    async fn a_remote_session_pastes_instead_of_opening_a_browser() {
        let mut h = harness(vec![paste_url("code=remote")], ScriptedBrowser::new());
        h.ctx.session = Session::new(true, true);
        let auth = login().run(&h.ctx, authorize).await.unwrap();
        assert_eq!(auth.code.expose_secret(), "remote");
        assert_eq!(auth.via, CodeVia::Paste);
        assert!(h.browser.opened().is_empty());
    }

    #[tokio::test]
    async fn empty_lines_are_asked_again() {
        let answers = vec![
            Answer::Text(String::new()),
            Answer::Text("  ".to_owned()),
            paste_url("code=third"),
        ];
        let mut h = harness(answers, ScriptedBrowser::new());
        h.ctx.options.no_browser = true;
        let auth = login().run(&h.ctx, authorize).await.unwrap();
        assert_eq!(auth.code.expose_secret(), "third");
        assert_eq!(prompts(&h.prompter), 3);
    }

    #[tokio::test]
    async fn a_wrong_state_paste_without_a_terminal_fails_the_login() {
        let wrong = LoginSecrets::generate(&FixedRandom(SEED + 1)).state;
        let answers = vec![Answer::Text(format!("state={}&code=x", wrong.as_str()))];
        let mut h = harness(answers, ScriptedBrowser::new());
        h.ctx.options.no_browser = true;
        let err = login().run(&h.ctx, authorize).await.unwrap_err();
        assert!(
            matches!(err, OAuthError::Paste(PasteError::WrongState)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_wrong_state_paste_on_a_terminal_is_explained_and_asked_again() {
        let wrong = LoginSecrets::generate(&FixedRandom(SEED + 1)).state;
        let answers = vec![
            Answer::Text(format!("state={}&code=x", wrong.as_str())),
            paste_url("code=right"),
        ];
        let mut h = harness(answers, ScriptedBrowser::new());
        h.ctx.options.no_browser = true;
        h.ctx.session = Session::new(true, false);
        let auth = login().run(&h.ctx, authorize).await.unwrap();
        assert_eq!(auth.code.expose_secret(), "right");
        assert_eq!(prompts(&h.prompter), 2);
        assert!(
            h.prompter
                .transcript()
                .contains(&format!("note: {}", PasteError::WrongState))
        );
    }

    #[tokio::test]
    async fn end_of_input_leaves_the_loopback_callback_to_complete_the_login() {
        let mut h = harness(vec![], ScriptedBrowser::new());
        h.ctx.options.no_browser = true;
        let (tx, rx) = oneshot::channel();
        let browser = tokio::spawn(async move {
            let authorize_url: Url = rx.await.unwrap();
            get_url(&service_redirect(authorize_url.as_str(), "code=late")).await
        });
        let auth = login()
            .run(&h.ctx, move |request| {
                let url = authorize(request);
                tx.send(url.clone()).unwrap();
                url
            })
            .await
            .unwrap();
        assert_eq!(auth.code.expose_secret(), "late");
        assert_eq!(auth.via, CodeVia::Loopback);
        assert_eq!(prompts(&h.prompter), 1, "{:?}", h.prompter.transcript());
        assert_eq!(browser.await.unwrap().status.as_u16(), 200);
    }

    #[tokio::test]
    async fn nothing_arriving_in_time_is_a_timeout_naming_how_long_it_waited() {
        let mut h = harness(vec![], ScriptedBrowser::new());
        h.ctx.options.timeout = Duration::from_millis(50);
        let err = login().run(&h.ctx, authorize).await.unwrap_err();
        assert!(matches!(err, OAuthError::TimedOut { .. }), "{err:?}");
        assert_eq!(err.to_string(), "no sign-in arrived within 50ms");
        assert_eq!(h.browser.opened().len(), 1);
    }

    #[tokio::test]
    async fn a_paste_session_times_out_too() {
        let mut h = harness(vec![], ScriptedBrowser::new());
        h.ctx.options.no_browser = true;
        h.ctx.options.timeout = Duration::from_millis(50);
        let err = login().run(&h.ctx, authorize).await.unwrap_err();
        assert!(matches!(err, OAuthError::TimedOut { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_refusal_carrying_the_right_state_is_a_denial() {
        let h = harness(
            vec![],
            browser_approving("error=access_denied&error_description=User+declined"),
        );
        let err = login().run(&h.ctx, authorize).await.unwrap_err();
        match &err {
            OAuthError::Denied {
                service,
                error,
                description,
            } => {
                assert_eq!(service, "Example");
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("User declined"));
            }
            other => panic!("expected a denial, got {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "Example refused the sign-in: User declined"
        );
    }

    #[tokio::test]
    async fn a_pasted_refusal_is_a_denial() {
        let mut h = harness(
            vec![paste_url("error=access_denied")],
            ScriptedBrowser::new(),
        );
        h.ctx.options.no_browser = true;
        let err = login().run(&h.ctx, authorize).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "Example refused the sign-in: access_denied"
        );
    }

    #[tokio::test]
    async fn a_pinned_port_in_use_fails_before_anything_is_shown_or_opened() {
        let holder = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = holder.local_addr().unwrap().port();
        let mut h = harness(vec![], ScriptedBrowser::new());
        h.ctx.options.callback_port = Some(taken);
        let err = login()
            .run(&h.ctx, |_| panic!("the authorize URL must not be built"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, OAuthError::Callback(CallbackError::PortInUse { port }) if *port == taken),
            "{err:?}"
        );
        assert!(h.browser.opened().is_empty());
        assert!(h.prompter.transcript().is_empty());
    }

    #[tokio::test]
    async fn an_occupied_default_port_is_noted_and_the_login_still_succeeds() {
        let holder = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = holder.local_addr().unwrap().port();
        let h = harness(vec![], browser_approving("code=moved"));
        let login = BrowserLogin {
            default_port: taken,
            ..login()
        };
        let auth = login.run(&h.ctx, authorize).await.unwrap();
        let port = auth.redirect_uri.port().unwrap();
        assert_ne!(port, taken);
        assert_eq!(
            h.prompter.transcript()[0],
            format!(
                "note: port {taken} is in use, so the sign-in callback listens on port {port} instead"
            )
        );
    }

    /// A loopback port that was free a moment ago (bound, then released).
    fn free_port() -> u16 {
        let probe = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        probe.local_addr().unwrap().port()
    }

    /// A port held by this test until the listener is dropped.
    fn held_port() -> (StdListener, u16) {
        let holder = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = holder.local_addr().unwrap().port();
        (holder, port)
    }

    #[tokio::test]
    async fn the_first_free_registered_port_is_used_without_a_note() {
        let (first, second) = (free_port(), free_port());
        let h = harness(vec![], browser_approving("code=registered"));
        let auth = login()
            .run_on_registered_ports(&h.ctx, &[first, second], authorize)
            .await
            .unwrap();
        assert_eq!(auth.code.expose_secret(), "registered");
        assert_eq!(auth.via, CodeVia::Loopback);
        assert_eq!(
            auth.redirect_uri.as_str(),
            format!("http://localhost:{first}/example/callback"),
            "port {first} was taken by someone else"
        );
        let transcript = h.prompter.transcript();
        assert!(
            !transcript.iter().any(|l| l.contains("in use")),
            "{transcript:?}"
        );
    }

    #[tokio::test]
    async fn a_taken_registered_port_moves_the_callback_to_the_next_with_a_note() {
        let (_holder, taken) = held_port();
        let next = free_port();
        let h = harness(vec![], browser_approving("code=next"));
        let auth = login()
            .run_on_registered_ports(&h.ctx, &[taken, next], authorize)
            .await
            .unwrap();
        assert_eq!(auth.code.expose_secret(), "next");
        assert_eq!(auth.via, CodeVia::Loopback);
        assert_eq!(
            auth.redirect_uri.port(),
            Some(next),
            "port {next} was taken"
        );
        assert_eq!(
            h.prompter.transcript()[0],
            format!(
                "note: port {taken} is in use, so the sign-in callback listens on port {next} instead"
            )
        );
    }

    #[tokio::test]
    async fn when_every_registered_port_is_taken_the_redirect_is_pasted_without_a_server() {
        let (_a, first) = held_port();
        let (_b, second) = held_port();
        let mut h = harness(vec![paste_url("code=pasted-only")], ScriptedBrowser::new());
        // Without a terminal and with a browser opened, a listening login would leave stdin
        // alone; with nothing listening, the paste is the only way in.
        h.ctx.session = Session::new(false, false);
        let mut named = None;
        let auth = login()
            .run_on_registered_ports(&h.ctx, &[first, second], |request| {
                named = Some(request.redirect_uri.clone());
                authorize(request)
            })
            .await
            .unwrap();
        assert_eq!(auth.code.expose_secret(), "pasted-only");
        assert_eq!(auth.via, CodeVia::Paste);
        let expected = format!("http://localhost:{first}/example/callback");
        assert_eq!(auth.redirect_uri.as_str(), expected);
        assert_eq!(named.map(String::from).as_deref(), Some(expected.as_str()));
        assert_eq!(h.browser.opened().len(), 1);
        let transcript = h.prompter.transcript();
        assert_eq!(
            transcript[0],
            format!(
                "note: ports {first} and {second} are in use, so nothing can listen for the browser: after signing in, paste the redirect URL from the browser's address bar"
            )
        );
        assert_eq!(prompts(&h.prompter), 1, "{transcript:?}");
    }

    #[tokio::test]
    async fn with_every_registered_port_taken_the_end_of_input_ends_the_login_at_once() {
        let (_a, first) = held_port();
        let mut h = harness(vec![], ScriptedBrowser::new());
        h.ctx.options.no_browser = true;
        let err = login()
            .run_on_registered_ports(&h.ctx, &[first], authorize)
            .await
            .unwrap_err();
        assert!(
            matches!(err, OAuthError::Prompt(PromptError::EndOfInput)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_pinned_port_wins_over_the_registered_ones() {
        let (_a, first) = held_port();
        let (_b, second) = held_port();
        let mut h = harness(vec![], browser_approving("code=pinned"));
        h.ctx.options.callback_port = Some(0);
        let auth = login()
            .run_on_registered_ports(&h.ctx, &[first, second], authorize)
            .await
            .unwrap();
        assert_eq!(auth.via, CodeVia::Loopback);
        let port = auth.redirect_uri.port().unwrap();
        assert!(port != first && port != second, "{port}");
        assert!(
            !h.prompter.transcript().iter().any(|l| l.contains("in use")),
            "{:?}",
            h.prompter.transcript()
        );
    }

    #[tokio::test]
    async fn an_empty_registered_list_is_refused_before_anything_is_shown() {
        let h = harness(vec![], ScriptedBrowser::new());
        let err = login()
            .run_on_registered_ports(&h.ctx, &[], |_| panic!("no URL without a port"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, OAuthError::Callback(CallbackError::NoRegisteredPort)),
            "{err:?}"
        );
        assert!(h.prompter.transcript().is_empty());
    }

    #[test]
    fn taken_ports_are_listed_in_plain_words() {
        let cases: [(&[u16], &str); 3] = [
            (&[1455], "port 1455 is"),
            (&[1455, 1457], "ports 1455 and 1457 are"),
            (&[1, 2, 3], "ports 1, 2 and 3 are"),
        ];
        for (ports, want) in cases {
            assert_eq!(ports_phrase(ports), want);
        }
    }

    #[tokio::test]
    async fn a_browser_that_fails_to_open_falls_back_to_paste() {
        let browser = ScriptedBrowser::following(Box::new(|_| {
            Err(OpenUrlError {
                reason: "no display".to_owned(),
            })
        }));
        let h = harness(vec![paste_url("code=fallback")], browser);
        let auth = login().run(&h.ctx, authorize).await.unwrap();
        assert_eq!(auth.code.expose_secret(), "fallback");
        assert_eq!(auth.via, CodeVia::Paste);
        assert_eq!(h.browser.opened().len(), 1);
        assert!(
            h.prompter.transcript().contains(
                &"note: cannot open a browser: no display: open the URL above yourself".to_owned()
            ),
            "{:?}",
            h.prompter.transcript()
        );
    }

    #[tokio::test]
    async fn cancelling_the_paste_prompt_cancels_the_login() {
        let mut h = harness(vec![Answer::Cancel], ScriptedBrowser::new());
        h.ctx.options.no_browser = true;
        let err = login().run(&h.ctx, authorize).await.unwrap_err();
        assert!(matches!(err, OAuthError::Cancelled), "{err:?}");
    }

    #[test]
    fn oauth_errors_map_to_auth_errors_by_what_the_user_can_do() {
        let cases: Vec<(OAuthError, &str, &str)> = vec![
            (OAuthError::Cancelled, "Cancelled", "sign-in cancelled"),
            (
                OAuthError::Prompt(PromptError::Cancelled),
                "Cancelled",
                "sign-in cancelled",
            ),
            (
                OAuthError::Prompt(PromptError::Io("broken".to_owned())),
                "Prompt",
                "cannot read input: broken",
            ),
            (
                OAuthError::Paste(PasteError::BareCode),
                "InvalidInput",
                "that looks like a bare code",
            ),
            (
                OAuthError::Callback(CallbackError::PortInUse { port: 3000 }),
                "Other",
                "port 3000 on localhost is in use",
            ),
            (
                OAuthError::Callback(CallbackError::NoFreePort),
                "Other",
                "cannot find a port",
            ),
            (
                OAuthError::Callback(CallbackError::Bind {
                    addr: (Ipv4Addr::LOCALHOST, 80).into(),
                    source: std::io::ErrorKind::PermissionDenied.into(),
                }),
                "Other",
                "cannot listen on 127.0.0.1:80",
            ),
            (
                OAuthError::TimedOut {
                    after: Duration::from_secs(300),
                },
                "Other",
                "no sign-in arrived within 5m",
            ),
            (
                OAuthError::Denied {
                    service: "OpenRouter".to_owned(),
                    error: "access_denied".to_owned(),
                    description: None,
                },
                "Service",
                "OpenRouter refused the sign-in: access_denied",
            ),
        ];
        for (error, kind, message) in cases {
            let mapped = AuthError::from(error);
            let got_kind = match &mapped {
                AuthError::Cancelled => "Cancelled",
                AuthError::Prompt(_) => "Prompt",
                AuthError::InvalidInput(_) => "InvalidInput",
                AuthError::Unavailable(_) => "Unavailable",
                AuthError::Service(_) => "Service",
                AuthError::Other(_) => "Other",
                _ => "unknown",
            };
            assert_eq!(got_kind, kind, "{mapped}");
            assert!(mapped.to_string().starts_with(message), "{mapped}");
        }
    }

    #[test]
    fn durations_read_short() {
        let cases = [
            (Duration::from_millis(50), "50ms"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(3725), "1h2m5s"),
        ];
        for (duration, want) in cases {
            assert_eq!(human_duration(duration), want, "{duration:?}");
        }
    }

    #[test]
    fn the_login_future_can_cross_threads() {
        fn assert_send<T: Send>(_: &T) {}
        let ctx = AuthContext::scripted([]);
        let login = login();
        let future = login.run(&ctx, authorize);
        assert_send(&future);
    }
}
