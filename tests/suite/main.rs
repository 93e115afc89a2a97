//! Suites that span crates. Linking `plugboard_cli` brings in exactly the extensions the
//! `plugboard` binary names in its `extensions.rs`, so what is checked here is what ships.

use plugboard_cli as _;

mod contract;
mod shipped_binary;
