//! A scripted browser that stands in for the human at the double's consent page: it loads the
//! page, submits the Authorize (or Deny) form with the page's own hidden fields, and follows
//! the redirect back to the client's callback.
//!
//! The blocking functions run a small runtime of their own, so they must be called from a plain
//! thread, never from inside a tokio runtime (they return [`FollowError::InsideRuntime`]
//! there); async code uses the `*_async` variants.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::redirect::Policy;
use reqwest::{Client, Response};
use thiserror::Error;
use url::Url;

use crate::html;

/// Largest page or callback body the browser reads.
const MAX_BODY_BYTES: usize = 1024 * 1024;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a scripted consent ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowOutcome {
    /// The consent page's status (200 when the browser got this far).
    pub consent_status: u16,
    /// The URL the consent form redirected to: the client's callback with `code` (or `error`)
    /// added.
    pub callback_url: String,
    /// What the callback answered.
    pub callback_status: u16,
    /// The callback's body, read up to 1 MiB.
    pub callback_body: String,
}

/// Which step of following the consent page went wrong.
#[derive(Debug, Error)]
pub enum FollowError {
    /// A blocking function was called from inside a tokio runtime, where it would deadlock or
    /// panic.
    #[error(
        "the scripted browser blocks: call it from a plain thread, or use its async variant inside a tokio runtime"
    )]
    InsideRuntime,
    /// The browser's own runtime could not be started.
    #[error("cannot start the scripted browser's runtime")]
    Runtime(#[source] std::io::Error),
    /// The browser's HTTP client could not be built.
    #[error("cannot build the scripted browser's HTTP client: {0}")]
    Client(String),
    /// A URL (given, in a form, or in a redirect) did not parse.
    #[error("{what} is not a usable URL ({url:?})")]
    BadUrl {
        /// Which URL it was.
        what: &'static str,
        /// The text that did not parse.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// A request failed without an HTTP answer (refused, reset, timed out).
    #[error("{step} failed")]
    Http {
        /// The step: loading the consent page, submitting the form, or calling back.
        step: &'static str,
        /// What the client said.
        #[source]
        source: reqwest::Error,
    },
    /// The consent page did not answer 200.
    #[error("the consent page answered {status}: {body}")]
    ConsentRefused {
        /// Its status.
        status: u16,
        /// Its body, for the message shown on the page.
        body: String,
    },
    /// The consent page lacks the button the browser was to press, or its form.
    #[error("the consent page has no form with a button id={0:?}")]
    NoButton(&'static str),
    /// Submitting the form did not answer with a redirect.
    #[error("submitting the consent form answered {status} instead of a redirect: {body}")]
    NoRedirect {
        /// Its status.
        status: u16,
        /// Its body.
        body: String,
    },
    /// A page or the callback answered with more than 1 MiB.
    #[error("{step} answered with more than {MAX_BODY_BYTES} bytes")]
    TooLarge {
        /// The step.
        step: &'static str,
    },
}

#[derive(Clone, Copy)]
enum Choice {
    Authorize,
    Deny,
}

impl Choice {
    fn button_id(self) -> &'static str {
        match self {
            Self::Authorize => "authorize",
            Self::Deny => "deny",
        }
    }
}

/// Presses Authorize on the consent page at `authorize_url` and follows the redirect to the
/// callback. Blocking; call it from a plain thread.
pub fn approve(authorize_url: &str) -> Result<FollowOutcome, FollowError> {
    block_on(approve_async(authorize_url))
}

/// Presses Deny on the consent page and follows the redirect to the callback. Blocking.
pub fn deny(authorize_url: &str) -> Result<FollowOutcome, FollowError> {
    block_on(deny_async(authorize_url))
}

/// Presses Authorize and returns the redirect URL without calling it: what a user on a headless
/// machine copies from the browser's address bar and pastes. Blocking.
pub fn redirect_for(authorize_url: &str) -> Result<String, FollowError> {
    block_on(redirect_for_async(authorize_url))
}

/// [`approve`] on a new thread, for use inside a callback (such as a URL opener) that must
/// return before the login it belongs to can receive the redirect.
pub fn approve_in_background(
    authorize_url: String,
) -> JoinHandle<Result<FollowOutcome, FollowError>> {
    std::thread::spawn(move || approve(&authorize_url))
}

/// [`approve`] for async code.
pub async fn approve_async(authorize_url: &str) -> Result<FollowOutcome, FollowError> {
    follow(authorize_url, Choice::Authorize).await
}

/// [`deny`] for async code.
pub async fn deny_async(authorize_url: &str) -> Result<FollowOutcome, FollowError> {
    follow(authorize_url, Choice::Deny).await
}

/// [`redirect_for`] for async code.
pub async fn redirect_for_async(authorize_url: &str) -> Result<String, FollowError> {
    let client = client()?;
    let (_, callback) = submit(&client, authorize_url, Choice::Authorize).await?;
    Ok(callback.into())
}

fn block_on<T>(work: impl Future<Output = Result<T, FollowError>>) -> Result<T, FollowError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(FollowError::InsideRuntime);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(FollowError::Runtime)?
        .block_on(work)
}

async fn follow(authorize_url: &str, choice: Choice) -> Result<FollowOutcome, FollowError> {
    const STEP: &str = "calling back";
    let client = client()?;
    let (consent_status, callback) = submit(&client, authorize_url, choice).await?;
    let response = client
        .get(callback.clone())
        .send()
        .await
        .map_err(|source| FollowError::Http { step: STEP, source })?;
    let callback_status = response.status().as_u16();
    let callback_body = read_text(response, STEP).await?;
    Ok(FollowOutcome {
        consent_status,
        callback_url: callback.into(),
        callback_status,
        callback_body,
    })
}

/// Loads the consent page and submits the chosen form; returns the page's status and where
/// the form redirected.
async fn submit(
    client: &Client,
    authorize_url: &str,
    choice: Choice,
) -> Result<(u16, Url), FollowError> {
    const LOAD: &str = "loading the consent page";
    const SUBMIT: &str = "submitting the consent form";
    let page_url = parse(None, authorize_url, "the authorize URL")?;
    let response = client
        .get(page_url.clone())
        .send()
        .await
        .map_err(|source| FollowError::Http { step: LOAD, source })?;
    let status = response.status().as_u16();
    let page = read_text(response, LOAD).await?;
    if status != 200 {
        return Err(FollowError::ConsentRefused { status, body: page });
    }
    let button = choice.button_id();
    let form = find_form(&page, button).ok_or(FollowError::NoButton(button))?;
    let action = parse(Some(&page_url), &form.action, "the form's action")?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form.fields)
        .finish();
    let response = client
        .post(action.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|source| FollowError::Http {
            step: SUBMIT,
            source,
        })?;
    let submit_status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match location {
        Some(location) if submit_status.is_redirection() => {
            let callback = parse(Some(&action), &location, "the redirect")?;
            Ok((status, callback))
        }
        _ => Err(FollowError::NoRedirect {
            status: submit_status.as_u16(),
            body: read_text(response, SUBMIT).await?,
        }),
    }
}

fn parse(base: Option<&Url>, text: &str, what: &'static str) -> Result<Url, FollowError> {
    let parsed = match base {
        Some(base) => base.join(text),
        None => Url::parse(text),
    };
    parsed.map_err(|source| FollowError::BadUrl {
        what,
        url: text.to_owned(),
        source,
    })
}

fn client() -> Result<Client, FollowError> {
    // reqwest with `rustls-no-provider` wants a crypto provider even for plain http; handing it
    // a finished config (ring, no trusted roots) avoids touching the process-wide default.
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| FollowError::Client(e.to_string()))?
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .redirect(Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| FollowError::Client(e.to_string()))
}

async fn read_text(mut response: Response, step: &'static str) -> Result<String, FollowError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| FollowError::Http { step, source })?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(FollowError::TooLarge { step });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

/// The form holding the button with this id: its action and its hidden fields. A plain scan,
/// not an HTML parser: it reads the double's own page, whose markup it knows.
fn find_form(page: &str, button_id: &str) -> Option<Form> {
    let marker = format!("id=\"{button_id}\"");
    let at = page.find(&marker)?;
    let start = page[..at].rfind("<form")?;
    let end = at + page[at..].find("</form>")?;
    let form = &page[start..end];
    let open_tag = &form[..form.find('>')?];
    let action = attribute(open_tag, "action").unwrap_or_default();
    let fields = form
        .split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            let name = attribute(tag, "name")?;
            let value = attribute(tag, "value").unwrap_or_default();
            Some((name, value))
        })
        .collect();
    Some(Form { action, fields })
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let len = tag[start..].find('"')?;
    Some(html::unescape(&tag[start..start + len]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{Consent, consent_page};

    #[test]
    fn an_error_names_its_step_and_leaves_the_cause_to_its_source() {
        let err = match Url::parse("not a url") {
            Err(source) => FollowError::BadUrl {
                what: "the authorize URL",
                url: "not a url".to_owned(),
                source,
            },
            Ok(url) => panic!("{url} parsed"),
        };
        assert_eq!(
            err.to_string(),
            "the authorize URL is not a usable URL (\"not a url\")"
        );
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("relative URL without a base"));
    }

    #[test]
    fn the_authorize_form_carries_the_pages_hidden_fields_unescaped() {
        let page = consent_page(&Consent {
            callback_url: "http://localhost:1/cb?state=a&b=\"c\"",
            code_challenge: "challenge",
            code_challenge_method: "S256",
        });
        let form = find_form(&page, "authorize").expect("an authorize form");
        assert_eq!(form.action, "/auth/approve");
        assert_eq!(
            form.fields,
            [
                (
                    "callback_url".into(),
                    "http://localhost:1/cb?state=a&b=\"c\"".into()
                ),
                ("code_challenge".into(), "challenge".into()),
                ("code_challenge_method".into(), "S256".into()),
            ]
        );
        let deny = find_form(&page, "deny").expect("a deny form");
        assert_eq!(deny.action, "/auth/deny");
        assert_eq!(deny.fields.len(), 1);
    }

    #[test]
    fn a_page_without_the_button_has_no_form_to_submit() {
        assert!(find_form("<html><form action=\"/x\"></form></html>", "authorize").is_none());
    }
}
