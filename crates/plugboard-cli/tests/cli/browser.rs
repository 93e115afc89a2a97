//! The OpenRouter OAuth login with a real browser: headless Chromium, driven over WebDriver
//! (`chromedriver` + `fantoccini`), against the OpenRouter double.
//!
//! The other OAuth tests play the browser with `plugboard_testkit`'s scripted HTTP client. This
//! one proves what those cannot: that a real browser renders the double's consent page, submits
//! its form, follows the 302 to the `localhost` callback plugboard listens on (whichever of
//! 127.0.0.1 and ::1 the browser picks), and shows the callback's "Signed in" page under its
//! content security policy; and that the key the login stored then serves a model call through
//! `plugboard infer`. Screenshots of both pages are left in `target/browser-test/` for a person
//! to look at.
//!
//! It needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them it
//! says it is skipped and passes, except under CI (`CI` set non-empty), where it fails: a
//! browser test that silently skips in CI proves nothing.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use plugboard_testkit::{CONSENT_TITLE, OpenRouterDouble};
use serde_json::json;
use tempfile::TempDir;
use url::Url;

use crate::support::{HandoffBrowser, Plugboard, callback_in, profile, redacted};

/// Extra login arguments: a free port, so the login never waits for `support::DEFAULT_PORT`.
const FREE_PORT: &[&str] = &["--port", "0"];

/// The free model the call goes to, as `provider/model`.
const MODEL: &str = "openrouter/liquid/lfm-2.5-1.2b-instruct:free";

/// How long any one step may take. Each takes well under a second here; this is generous
/// because CI has two cores, shared with whatever else it runs.
const STEP: Duration = Duration::from_secs(120);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// Flags that make Chromium run headless on a server and talk to nothing but loopback: no
/// sandbox (Chromium refuses one as root, and CI runs as root), no GPU, no QUIC, no first-run
/// UI, and none of the background traffic (updates, sync) it would otherwise start.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // A proxy from the environment must not carry the loopback callback anywhere.
    "--no-proxy-server",
    // Big enough that the screenshots show the whole page.
    "--window-size=1024,640",
];

#[test]
fn oauth_login_in_a_real_browser_stores_a_key_that_serves_a_model_call() {
    let tools = match BrowserTools::find() {
        Ok(tools) => tools,
        Err(missing) => {
            assert!(
                !in_ci(),
                "CI is set, so the real-browser test must run, but {missing}: install Debian's \
                 chromium and chromium-driver (.ci/run does)"
            );
            eprintln!(
                "SKIPPED oauth_login_in_a_real_browser_stores_a_key_that_serves_a_model_call: \
                 {missing}; install Debian's chromium and chromium-driver to run it"
            );
            return;
        }
    };
    let started = Instant::now();
    let shots = screenshot_dir();
    let double = OpenRouterDouble::start().unwrap();
    let driver = Chromedriver::start(&tools.chromedriver);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The browser starts before the login, so its start-up does not eat into the login's own
    // timeout.
    let client = runtime
        .block_on(driver.session(&tools.chromium))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", driver.log()));
    let browser_ready = started.elapsed();

    let pb = Plugboard::new();
    let handoff = HandoffBrowser::new();
    let mut login = pb.start_oauth_login(&double, &handoff, FREE_PORT);
    let url = handoff.wait_for_url();
    let callback = callback_in(&url);
    assert_eq!(callback.host_str(), Some("localhost"), "{url}");

    let signed_in = runtime.block_on(async {
        let outcome = sign_in(&client, &url, &callback, &shots).await;
        // Ending the session quits Chromium; chromedriver itself is shut down on drop.
        let closed = client.close().await;
        outcome.and_then(|page| {
            closed
                .map(|()| page)
                .context("ending the WebDriver session")
        })
    });
    let page = match signed_in {
        Ok(page) => page,
        Err(e) => {
            // Do not leave the login waiting for a callback that will never come.
            let _ = login.child.kill();
            panic!(
                "the browser did not complete the sign-in: {e:#}\n{}",
                driver.log()
            );
        }
    };
    assert_eq!(page.title, "Signed in", "{page:#?}");
    assert!(
        page.text
            .contains("You are signed in to OpenRouter. You can close this tab"),
        "{page:#?}"
    );

    // The login exits on its own once it has exchanged the code and stored the key.
    exit_within(&mut login.child, STEP);
    // From here on, every run (the login's own output included) is checked for the key.
    let key = pb.remember_issued_key(&double);
    assert!(!page.source.contains(&key), "the page shows the key");
    let run = pb.wait_watched(login, "").success();
    assert!(run.stdout.contains("openrouter:default"), "{run:#?}");
    assert!(run.stdout.contains(&redacted(&key)), "{run:#?}");
    // It was the browser that pressed Authorize and followed the redirect.
    let approvals = double.requests_to("/auth/approve");
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    assert_eq!(approvals[0].status, Some(302), "{approvals:?}");
    let signed_in_at = started.elapsed();

    let status = pb.openrouter_status();
    assert_eq!(
        status["effective"]["profile_id"], "openrouter:default",
        "{status:#}"
    );
    let stored = profile(&status, "openrouter:default");
    assert_eq!(stored["kind"], "api_key", "{stored:#}");
    assert_eq!(stored["redacted"], redacted(&key), "{stored:#}");
    let provenance = &stored["provenance"];
    assert_eq!(provenance["auth_flow"], "oauth-pkce", "{provenance:#}");
    assert_eq!(provenance["method"], "oauth", "{provenance:#}");
    assert_eq!(provenance["callback"], "loopback", "{provenance:#}");

    // The stored key, and nothing from the environment (support removes OPENROUTER_API_KEY),
    // serves a model call.
    let call = pb
        .run(
            &[
                "infer",
                "model",
                "run",
                "--model",
                MODEL,
                "--prompt",
                "Reply exactly: oauth-ok",
                "--json",
            ],
            "",
            &[("OPENROUTER_BASE_URL", double.api_base().as_str())],
        )
        .success()
        .json();
    assert_eq!(call["ok"], true, "{call:#}");
    assert_eq!(call["provider"], "openrouter", "{call:#}");
    assert_eq!(
        call["model"], "liquid/lfm-2.5-1.2b-instruct:free",
        "{call:#}"
    );
    assert_eq!(call["outputs"][0]["text"], "oauth-ok", "{call:#}");
    let chats = double.requests_to("/api/v1/chat/completions");
    assert_eq!(chats.len(), 1, "{chats:?}");
    assert_eq!(chats[0].status, Some(200), "{chats:?}");

    eprintln!(
        "browser test: Chromium ready after {browser_ready:.1?}, signed in after \
         {signed_in_at:.1?}, done after {:.1?}; screenshots in {}",
        started.elapsed(),
        shots.display()
    );
}

/// What the browser showed once the login's callback had answered.
#[derive(Debug)]
struct SignedInPage {
    title: String,
    /// The visible text of the body.
    text: String,
    /// The whole HTML.
    source: String,
}

/// Does what a person does: opens the URL plugboard handed to `$BROWSER`, looks at the consent
/// page, presses Authorize, and waits for the page the callback answers with. Screenshots both
/// pages into `shots`.
async fn sign_in(
    client: &Client,
    url: &str,
    callback: &Url,
    shots: &Path,
) -> anyhow::Result<SignedInPage> {
    client
        .goto(url)
        .await
        .context("opening the authorize URL")?;
    let authorize = client
        .wait()
        .at_most(STEP)
        .every(POLL)
        .for_element(Locator::Css("#authorize"))
        .await
        .context("waiting for the consent page's Authorize button")?;
    let title = client.title().await?;
    ensure!(title == CONSENT_TITLE, "not the consent page: {title:?}");
    save(shots, "consent.png", &client.screenshot().await?)?;

    authorize.click().await.context("pressing Authorize")?;

    // The form posts to the double, whose 302 sends the browser to the loopback callback.
    let deadline = Instant::now() + STEP;
    let here = loop {
        let here = client.current_url().await?;
        let arrived = here.origin() == callback.origin() && here.path() == callback.path();
        if arrived && ready(client).await? {
            break here;
        }
        if Instant::now() >= deadline {
            // Origin and path only: the query could hold the code.
            bail!(
                "the browser did not reach the callback within {STEP:?}; it is at {}{}",
                here.origin().ascii_serialization(),
                here.path()
            );
        }
        tokio::time::sleep(POLL).await;
    };
    let page = SignedInPage {
        title: client.title().await?,
        text: client.find(Locator::Css("body")).await?.text().await?,
        source: client.source().await?,
    };
    save(shots, "success.png", &client.screenshot().await?)?;

    let code = here
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .context("the callback URL carries no code")?;
    ensure!(!page.source.contains(&code), "the page shows the code");
    Ok(page)
}

/// Whether the current document has finished loading.
async fn ready(client: &Client) -> anyhow::Result<bool> {
    let state = client
        .execute("return document.readyState", Vec::new())
        .await?;
    Ok(state == "complete")
}

fn save(dir: &Path, name: &str, png: &[u8]) -> anyhow::Result<()> {
    ensure!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    let path = dir.join(name);
    std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))
}

/// Polls until `child` has exited, so that a login that hangs fails the test after `within`
/// instead of stalling it; kills it then.
#[track_caller]
fn exit_within(child: &mut Child, within: Duration) {
    let deadline = Instant::now() + within;
    while child.try_wait().expect("the login's status").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the login did not exit within {within:?} of the browser's callback");
        }
        thread::sleep(POLL);
    }
}

/// Where Chromium and chromedriver are.
struct BrowserTools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

impl BrowserTools {
    /// Both tools from `PATH`, or what is missing.
    fn find() -> Result<Self, String> {
        match (on_path("chromium"), on_path("chromedriver")) {
            (Some(chromium), Some(chromedriver)) => Ok(Self {
                chromium,
                chromedriver,
            }),
            (chromium, chromedriver) => {
                let missing: Vec<&str> = [("chromium", chromium), ("chromedriver", chromedriver)]
                    .into_iter()
                    .filter(|(_, found)| found.is_none())
                    .map(|(name, _)| name)
                    .collect();
                Err(format!("{} not found on PATH", missing.join(" and ")))
            }
        }
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// CI runs `.ci/run` with `CI=true`; any non-empty value counts.
fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|value| !value.is_empty())
}

/// `target/browser-test/`, created: the target directory is where cargo put the `plugboard`
/// binary (the ancestor holding cargo's `CACHEDIR.TAG`), which follows `CARGO_TARGET_DIR` and
/// any configured `build.target-dir`; failing that, `CARGO_TARGET_DIR` or the workspace's
/// `target/`.
fn screenshot_dir() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_plugboard"));
    let target = binary
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_owned)
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("browser-test");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// A chromedriver on a free loopback port, with a fresh Chromium profile and its log in a
/// temporary directory. Shut down on drop, so a failing test leaves no driver or browser
/// behind.
struct Chromedriver {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Chromedriver {
    /// Starts chromedriver and polls its `/status` until it says it is ready. A port found free
    /// can be taken before chromedriver binds it; then chromedriver exits and another is tried.
    fn start(path: &Path) -> Self {
        let dir = TempDir::new().expect("a temporary directory");
        let log = dir.path().join("chromedriver.log");
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(path)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
            match wait_until_ready(&mut child, port) {
                Readiness::Ready => return Self { child, port, dir },
                Readiness::Exited => {}
                Readiness::TimedOut => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "chromedriver not ready within {STEP:?}; its log:\n{}",
                        read(&log)
                    );
                }
            }
        }
        panic!(
            "chromedriver exited on three free ports; its log:\n{}",
            read(&log)
        );
    }

    /// A WebDriver session with headless Chromium on a fresh profile.
    async fn session(&self, chromium: &Path) -> anyhow::Result<Client> {
        let profile = self.dir.path().join("profile");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|&f| f.to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": chromium, "args": args }),
        );
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let webdriver = format!("http://127.0.0.1:{}", self.port);
        tokio::time::timeout(STEP, builder.connect(&webdriver))
            .await
            .context("Chromium did not start in time")?
            .context("starting a Chromium session")
    }

    /// chromedriver's log so far, for failure messages.
    fn log(&self) -> String {
        format!(
            "chromedriver log:\n{}",
            read(&self.dir.path().join("chromedriver.log"))
        )
    }
}

impl Drop for Chromedriver {
    /// Asks chromedriver to shut down, which quits any Chromium still open (a test that failed
    /// before ending its session): killed outright, chromedriver would leave Chromium running.
    /// Killed all the same if it has not exited within [`STEP`].
    fn drop(&mut self) {
        let _ = get(self.port, "/shutdown");
        let deadline = Instant::now() + STEP;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Readiness {
    Ready,
    Exited,
    TimedOut,
}

/// Polls chromedriver's `/status` until it says it is ready, it exits, or [`STEP`] passes.
fn wait_until_ready(child: &mut Child, port: u16) -> Readiness {
    let deadline = Instant::now() + STEP;
    loop {
        if answers_ready(port) {
            return Readiness::Ready;
        }
        if child.try_wait().expect("chromedriver's status").is_some() {
            return Readiness::Exited;
        }
        if Instant::now() >= deadline {
            return Readiness::TimedOut;
        }
        thread::sleep(POLL);
    }
}

/// Whether chromedriver's `GET /status` on `port` answers `"ready": true`.
fn answers_ready(port: u16) -> bool {
    get(port, "/status").is_some_and(|response| {
        let compact: String = response.split_whitespace().collect();
        compact.contains("\"ready\":true")
    })
}

/// One plain HTTP/1.1 `GET` to chromedriver on `port`: the whole response, or `None` if it
/// could not be sent. Bounded in time, so a driver that accepts and then hangs cannot stall
/// a poll.
fn get(port: u16, path: &str) -> Option<String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    // chromedriver keeps the connection open despite `Connection: close`, so the response ends
    // where its Content-Length says, not at end of stream.
    let mut response = Vec::new();
    let mut chunk = [0; 4096];
    while !complete(&response) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
        }
    }
    Some(String::from_utf8_lossy(&response).into_owned())
}

/// Whether `response` holds its headers and as many body bytes as they announce.
fn complete(response: &[u8]) -> bool {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .is_some_and(|length| body.len() >= length)
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The last 8 KiB of a log file: enough to see why, short enough to read.
fn read(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(8 * 1024);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}
