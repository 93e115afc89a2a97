//! One module per command; each takes the [`App`](crate::app::App) and its parsed arguments.

pub(crate) mod choices;
pub(crate) mod completions;
pub(crate) mod infer;
pub(crate) mod list;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod plugins;
pub(crate) mod set;
pub(crate) mod status;
