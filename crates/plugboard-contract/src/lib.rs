//! The plugboard contract harness: the same rules, run against every registered provider, so a
//! new provider is held to the contract without new harness code.
//!
//! Use [`check_provider`] in an extension's own tests, and [`check_registry`] or
//! [`check_linked`] to check providers together. `docs/contract.md` lists the rules.
//!
//! Invariants this crate keeps:
//! - Every rule has a stable id in [`RULES`]; reports, docs and tests name rules by it.
//! - Every rule has a deliberately broken provider in `tests/rules.rs` that fails it and no
//!   other rule, and a test fails if a rule lacks one.
//! - The harness never writes anything: it runs methods only against the contexts their
//!   fixtures prepare, and a method's result is inspected, never stored.
//! - The harness never reaches a network or sends a real secret: a model runner, a model lister
//!   and a credential check only ever get a fixed test credential and a scripted service, a
//!   refresher a fixture's credential and a scripted service, a device-code sign-in a scripted
//!   service and a clock whose waits pass at once.
//! - A bad provider fails rules; it does not hang or crash the harness (each fixture run,
//!   device-code run, model call, listing, check and refresh has a time limit and a panic in it
//!   becomes a failure; a device-code run is also stopped after a number of requests and
//!   waits). Code that blocks its thread without yielding cannot be interrupted, though.

mod check;
mod check_probe;
mod device;
mod device_context;
mod fixtures;
mod forged_state;
mod guard;
mod list;
mod list_probes;
mod local;
mod manifest_rules;
mod model_call;
mod model_fixtures;
mod model_probes;
mod refresh;
mod registry_rules;
mod report;
mod rules;
mod static_rules;
mod subject;
mod tokens;

pub use check::{check_linked, check_manifest, check_provider, check_registry};
pub use report::{Failure, Report};
pub use rules::{RULES, Rule};
pub use subject::{ManifestText, Subject};
