//! Reusable parts of a sign-in, with no knowledge of any one provider: for a browser sign-in
//! (OAuth 2.0 authorization code with PKCE), PKCE and state, the loopback callback server,
//! pasted-redirect parsing, and the login flow that races them; and the device-code sign-in
//! (RFC 8628), which shows a code to enter elsewhere and polls until it is confirmed. (The HTTP
//! client for the code exchange is `plugboard-http`.)
//!
//! A provider supplies its authorize URL and its exchange, or its device-code endpoints;
//! everything between lives here, so a second provider with either kind of login reuses it
//! unchanged.

mod callback;
mod device;
mod flow;
mod paste;
mod pkce;
mod state;
#[cfg(test)]
mod testing;

pub use callback::{CallbackConfig, CallbackError, CallbackOutcome, CallbackServer, PortChoice};
pub use device::{DeviceCodeError, DeviceCodeLogin, DeviceTokens};
pub use flow::{Authorization, AuthorizeRequest, BrowserLogin, CodeVia, OAuthError};
pub use paste::{PasteError, parse_pasted_redirect};
pub use pkce::{CHALLENGE_METHOD, Pkce, PkceError};
pub use state::{LoginSecrets, State};
