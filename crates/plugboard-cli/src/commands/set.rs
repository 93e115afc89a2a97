//! `plugboard models set <provider/model>`: the default model, kept in the config file.

use plugboard_core::ModelRef;

use crate::app::{App, DEFAULT_MODEL_KEY};
use crate::echo;
use crate::error::usage;
use crate::output::print;

pub(crate) fn run(app: &App, model: &str) -> anyhow::Result<()> {
    let model: ModelRef = match model.parse() {
        Ok(m) => m,
        Err(e) => return usage(echo::clip_in(&e.to_string(), model)),
    };
    app.provider(model.provider())?;
    let config = app.config();
    config.update(|c| set_default_model(c, &model))?;
    print(&format!(
        "default model set to {model} in {}",
        config.path().display()
    ))
}

/// Writes the default model into a config value.
pub(crate) fn set_default_model(config: &mut serde_json::Value, model: &ModelRef) {
    if let Some(map) = config.as_object_mut() {
        map.insert(DEFAULT_MODEL_KEY.to_owned(), model.to_string().into());
    }
}
