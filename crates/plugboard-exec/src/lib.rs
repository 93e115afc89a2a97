//! The host side of executable plugins: a plugin whose `plugin.json` says
//! `"runtime": {"kind": "exec", "command": [...]}` is a program speaking the plugin protocol
//! (`plugboard-protocol`) over its stdin and stdout. [`providers`] turns its manifest into
//! providers the registry holds like any other; the first call starts the plugin, which all its
//! providers share for the rest of the command. [`subjects`] does the same for the contract
//! harness (`plugboard plugins check`), with the plugin's own fixtures.
//!
//! Invariants this crate keeps:
//! - Building providers starts nothing; one process per plugin per command, started on the
//!   first call, its stdin closed and the process killed when the providers are dropped.
//! - The plugin gets a minimal environment (`PATH`, `HOME`, the locale, `TZ`, and only the
//!   variables its manifest lists), runs in its own folder, and never sees the store, its path,
//!   or another provider's credential: each request carries only its provider's credential.
//! - A plugin cannot hang or flood the host: `hello` within 10 s, every request within its time
//!   limit (time spent waiting for the user excluded), writing to it included (a plugin that
//!   stops reading its stdin is given up on), within the options' total limit if any (that
//!   of `plugins check`), lines within the protocol's bound, a
//!   bounded number of messages per request, stderr kept to its last 64 KiB. A plugin that
//!   breaks any of this fails the call with one line naming it ([`ExecError`]), is killed, and
//!   fails every later call of the command the same way.
//! - Nothing it returns is written unchecked: every profile of a sign-in must be the requested
//!   provider's, a refresh must return the profile it was given, and what it says is sanitised
//!   with the call's secrets scrubbed.
//! - What it prints on stderr is shown sanitised, with every secret the host sent it scrubbed,
//!   and prefixed with its id, only when a call fails or with `verbose`.

mod bridge;
mod calls;
mod connection;
mod error;
mod fixtures;
mod model;
mod options;
mod plugin;
mod process;
mod provider;
mod refresh;
mod relay;
mod session;
mod sign_in;
mod stderr;

use std::path::Path;

use plugboard_core::{Manifest, ManifestError, Provider};

pub use error::ExecError;
pub use fixtures::{SubjectsError, subjects};
pub use options::{
    CHECK_REQUEST_TIMEOUT, CHECK_TOTAL_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, ExecOptions, HELLO_TIMEOUT,
};
pub use session::MAX_MESSAGES_PER_REQUEST;
pub use stderr::STDERR_KEPT_BYTES;

/// The providers of the executable plugin in `dir` whose manifest (read from `path`) is
/// `manifest`, one per provider it declares, sharing one plugin process; starts no process.
/// Fails when the manifest's runtime is not `exec`.
pub fn providers(
    dir: &Path,
    path: &str,
    manifest: &Manifest,
    options: &ExecOptions,
) -> Result<Vec<Box<dyn Provider>>, ManifestError> {
    let plugin = provider::plugin(dir, path, manifest, options)?;
    Ok(provider::proxies(&plugin, manifest))
}
