//! `plugboard models auth choices`: the sign-in menu, listed.

use plugboard_core::AuthMenu;

use crate::app::App;
use crate::output::{print, print_json};

/// The menu, with providers that have a stored credential marked as signed in.
pub(crate) fn menu(app: &App) -> anyhow::Result<AuthMenu> {
    let signed_in = match app.existing_store()? {
        Some(store) => store.providers_with_credentials()?,
        None => Default::default(),
    };
    Ok(app.registry.menu(|p| signed_in.contains(p)))
}

pub(crate) fn list(app: &App, json: bool) -> anyhow::Result<()> {
    let menu = menu(app)?;
    if json {
        return print_json(&menu);
    }
    print(render(&menu).trim_end())
}

/// The menu as text: a heading per group, a line per choice.
pub(crate) fn render(menu: &AuthMenu) -> String {
    let width = menu.choices().map(|c| c.choice_id.len()).max().unwrap_or(0);
    let mut text = String::new();
    for group in &menu.groups {
        text.push_str(&group.label);
        if let Some(hint) = &group.hint {
            text.push_str(&format!(" — {hint}"));
        }
        if group.signed_in {
            text.push_str(" (signed in)");
        }
        text.push('\n');
        for c in &group.choices {
            text.push_str(&format!("  {:<width$}  {}", c.choice_id, c.label));
            if let Some(hint) = &c.hint {
                text.push_str(&format!(" — {hint}"));
            }
            text.push('\n');
        }
    }
    text
}
