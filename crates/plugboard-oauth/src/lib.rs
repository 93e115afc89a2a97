//! Reusable parts of a browser sign-in (OAuth 2.0 authorization code with PKCE), with no
//! knowledge of any one provider: PKCE and state, the loopback callback server, pasted-redirect
//! parsing, and the login flow that races them. (The HTTP client for the code exchange is
//! `plugboard-http`.)
//!
//! A provider supplies its authorize URL and its exchange; everything between the two lives
//! here, so a second provider with a browser login reuses it unchanged.

mod callback;
mod flow;
mod paste;
mod pkce;
mod state;
#[cfg(test)]
mod testing;

pub use callback::{CallbackConfig, CallbackError, CallbackOutcome, CallbackServer, PortChoice};
pub use flow::{Authorization, AuthorizeRequest, BrowserLogin, CodeVia, OAuthError};
pub use paste::{PasteError, parse_pasted_redirect};
pub use pkce::{CHALLENGE_METHOD, Pkce, PkceError};
pub use state::{LoginSecrets, State};
