//! The plugboard plugin SDK: serves any [`Provider`](plugboard_core::Provider) over the plugin
//! protocol ([`plugboard_protocol`]), so an extension can ship linked into `plugboard` or as an
//! executable of its own with a few lines of `main`:
//!
//! ```no_run
//! # fn provider() -> Box<dyn plugboard_core::Provider> { unimplemented!() }
//! fn main() -> std::process::ExitCode {
//!     let plugin = plugboard_plugin::Plugin::new("acme", env!("CARGO_PKG_VERSION"))
//!         .provider(provider());
//!     plugboard_plugin::run(plugin)
//! }
//! ```
//!
//! The plugin writes `hello`, waits for the host's `start`, then answers the host's requests one
//! at a time until its stdin closes. A sign-in gets an [`AuthContext`](plugboard_core::AuthContext)
//! whose prompts, notes and browser are relayed to the host (the plugin has no terminal); every
//! call gets [`HostServices`](plugboard_core::HostServices) with a real HTTP client, the
//! provider's settings the host sent, and the provider's declared environment variables, plus
//! `<PROVIDER>_BASE_URL` set to the base URL the host sent, so a provider that resolves its
//! service through `plugboard_http::ServiceLocation` goes where the host says (the contract
//! harness's loopback server, say).
//!
//! Invariants:
//! - Nothing but protocol lines goes to stdout. [`serve`] keeps the real stdout for the
//!   protocol and points file descriptor 1 at stderr, so a stray `println!` in plugin code lands
//!   on stderr instead of breaking the protocol (on Unix; elsewhere, log to stderr only).
//!   Plugin code logs to stderr, which the host shows sanitised, on failure or with `--verbose`.
//! - A request never kills the plugin: a panic in provider code becomes `failed` with kind
//!   `internal`, and a request for a provider, method or capability the plugin lacks becomes
//!   `failed` with kind `unsupported`.
//! - Input is bounded: a line from the host longer than
//!   [`MAX_LINE_BYTES`](plugboard_protocol::MAX_LINE_BYTES) ends the session with an error, and
//!   a result too long for one line is answered as a failure instead.
//! - Secrets stay out of the SDK's own messages: a line from the host that cannot be read is
//!   reported by position and kind, never quoted.

mod dispatch;
mod error;
mod lines;
mod plugin;
mod relay;
mod session;
mod stdio;
mod system;

pub use error::ServeError;
pub use plugin::Plugin;
pub use session::serve_io;
pub use system::{OsRandom, SystemClock};

use std::io::Write as _;
use std::process::ExitCode;

use plugboard_core::ErrorChain;

/// Serves `plugin` on this process's stdin and stdout until the host closes stdin.
///
/// Call it once per process: it takes stdout for the protocol and, on Unix, points file
/// descriptor 1 at stderr for the rest of the process. Prefer [`run`], which also builds the
/// runtime and reports a failure on stderr.
pub async fn serve(plugin: Plugin) -> Result<(), ServeError> {
    let output = stdio::protocol_output().map_err(ServeError::Stdio)?;
    serve_io(plugin, tokio::io::stdin(), output).await
}

/// Serves `plugin` on stdin and stdout on a runtime of its own: the whole `main` of an
/// executable plugin. A session that ends in an error is reported on stderr, one line naming
/// the plugin, and exits with failure; a host that closes stdin ends it with success.
pub fn run(plugin: Plugin) -> ExitCode {
    let id = plugin.id().to_owned();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            report(&id, &e);
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(serve(plugin));
    // A read of stdin may still be in flight after an error; waiting for it could wait forever.
    runtime.shutdown_background();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&id, &e);
            ExitCode::FAILURE
        }
    }
}

fn report(id: &str, error: &(dyn std::error::Error + 'static)) {
    // Nothing more can be done if stderr is gone too.
    let _ = writeln!(std::io::stderr(), "{id}: {}", ErrorChain(error));
}
