//! `plugboard plugins ...`: what plugins there are (`list`), holding a plugin folder to the
//! contract (`check`), adding one (`install`), taking an installed one away (`remove`), and the
//! schemas plugins are written against (`schema`).

pub(crate) mod check;
pub(crate) mod install;
pub(crate) mod list;
pub(crate) mod remove;

use plugboard_core::manifest_schema_text;
use plugboard_protocol::{host_schema, plugin_schema, schema_text};

use crate::cli::ProtocolSide;
use crate::output::print;

pub(crate) fn schema(protocol: Option<ProtocolSide>) -> anyhow::Result<()> {
    let text = match protocol {
        None => manifest_schema_text(),
        Some(ProtocolSide::Host) => schema_text(&host_schema()),
        Some(ProtocolSide::Plugin) => schema_text(&plugin_schema()),
    };
    print(text.trim_end())
}
