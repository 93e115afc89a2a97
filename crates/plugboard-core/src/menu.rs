//! The sign-in menu, built from manifests alone: groups of choices, each mapping to a provider
//! and one of its methods.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::Serialize;

use crate::auth::AuthKind;
use crate::manifest::Manifest;

/// The whole sign-in menu: groups in display order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthMenu {
    /// Groups, featured first, then by their best `order`, then by label.
    pub groups: Vec<MenuGroup>,
}

/// One group of the menu, usually one provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MenuGroup {
    /// Group id.
    pub id: String,
    /// Group label.
    pub label: String,
    /// One line under the label.
    pub hint: Option<String>,
    /// Providers whose choices are in this group.
    pub providers: Vec<String>,
    /// Whether any of those providers already has a stored credential.
    pub signed_in: bool,
    /// Choices, featured first, then by `order`, then by label.
    pub choices: Vec<MenuChoice>,
}

/// One entry of the menu.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MenuChoice {
    /// What `--choice` takes.
    pub choice_id: String,
    /// Provider id.
    pub provider: String,
    /// The provider's method id.
    pub method: String,
    /// How the method works.
    pub kind: AuthKind,
    /// Label.
    pub label: String,
    /// One line saying when to pick it.
    pub hint: Option<String>,
    /// Shown first.
    pub featured: bool,
    /// Position within the group.
    pub order: i32,
    /// Earlier ids still accepted by `--choice`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deprecated_choice_ids: Vec<String>,
}

impl AuthMenu {
    /// Builds the menu from manifests; `signed_in(provider_id)` says whether a provider already
    /// has a stored credential.
    pub fn build<'a>(
        manifests: impl IntoIterator<Item = &'a Manifest>,
        signed_in: impl Fn(&str) -> bool,
    ) -> Self {
        let mut groups: Vec<MenuGroup> = Vec::new();
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for manifest in manifests {
            for c in &manifest.auth_choices {
                let choice = MenuChoice {
                    choice_id: c.choice_id.clone(),
                    provider: c.provider.clone(),
                    method: c.method.clone(),
                    kind: c.kind,
                    label: c.label.clone(),
                    hint: c.hint.clone(),
                    featured: c.featured,
                    order: c.order,
                    deprecated_choice_ids: c.deprecated_choice_ids.clone(),
                };
                // Indexed by id: with a thousand plugins a linear search per choice dominates.
                let index = *by_id.entry(c.group.id.as_str()).or_insert_with(|| {
                    groups.push(MenuGroup {
                        id: c.group.id.clone(),
                        label: c.group.label.clone(),
                        hint: None,
                        providers: Vec::new(),
                        signed_in: false,
                        choices: Vec::new(),
                    });
                    groups.len() - 1
                });
                let group = &mut groups[index];
                if group.hint.is_none() {
                    group.hint.clone_from(&c.group.hint);
                }
                if !group.providers.contains(&c.provider) {
                    group.providers.push(c.provider.clone());
                }
                group.choices.push(choice);
            }
        }
        for group in &mut groups {
            group.choices.sort_by(choice_order);
            group.signed_in = group.providers.iter().any(|p| signed_in(p));
        }
        // Choices are sorted, so a group's first choice is its best one.
        let rank = |g: &MenuGroup| g.choices.first().map(|c| (!c.featured, c.order));
        groups.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.label.cmp(&b.label)));
        Self { groups }
    }

    /// Every choice, in menu order.
    pub fn choices(&self) -> impl Iterator<Item = &MenuChoice> {
        self.groups.iter().flat_map(|g| g.choices.iter())
    }

    /// The choice with this id, or whose deprecated ids include it.
    pub fn choice(&self, id: &str) -> Option<&MenuChoice> {
        self.choices().find(|c| c.choice_id == id).or_else(|| {
            self.choices()
                .find(|c| c.deprecated_choice_ids.iter().any(|d| d == id))
        })
    }

    /// The choice that signs in to `provider` with `method`.
    pub fn choice_for(&self, provider: &str, method: &str) -> Option<&MenuChoice> {
        self.choices()
            .find(|c| c.provider == provider && c.method == method)
    }
}

fn choice_order(a: &MenuChoice, b: &MenuChoice) -> Ordering {
    b.featured
        .cmp(&a.featured)
        .then(a.order.cmp(&b.order))
        .then_with(|| a.label.cmp(&b.label))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(provider: &str, choices: &[(&str, &str, bool, i32)]) -> Manifest {
        let choices: Vec<_> = choices
            .iter()
            .map(|(id, label, featured, order)| {
                serde_json::json!({
                    "choice_id": id, "provider": provider, "method": id, "kind": "api_key",
                    "label": label, "featured": featured, "order": order,
                    "group": {"id": provider, "label": provider.to_uppercase()},
                    "deprecated_choice_ids": [format!("old-{id}")]
                })
            })
            .collect();
        let json = serde_json::json!({
            "manifest_version": 1, "id": provider, "name": provider, "version": "1",
            "providers": [{"id": provider, "label": provider}], "auth_choices": choices
        });
        Manifest::load("m.json", &json.to_string()).unwrap()
    }

    #[test]
    fn featured_first_then_order_then_label() {
        let a = manifest(
            "alpha",
            &[
                ("a-z", "Zed", false, 0),
                ("a-b", "Bee", false, 0),
                ("a-c", "Cee", false, -1),
            ],
        );
        let b = manifest("beta", &[("b-x", "Ex", true, 9), ("b-y", "Why", false, 0)]);
        let menu = AuthMenu::build([&a, &b], |p| p == "alpha");
        let order: Vec<Vec<&str>> = menu
            .groups
            .iter()
            .map(|g| g.choices.iter().map(|c| c.choice_id.as_str()).collect())
            .collect();
        assert_eq!(order, [vec!["b-x", "b-y"], vec!["a-c", "a-b", "a-z"]]);
        assert_eq!(
            menu.groups
                .iter()
                .map(|g| (g.id.as_str(), g.signed_in))
                .collect::<Vec<_>>(),
            [("beta", false), ("alpha", true)]
        );
    }

    #[test]
    fn deprecated_choice_ids_still_resolve() {
        let a = manifest("alpha", &[("a-key", "Key", false, 0)]);
        let menu = AuthMenu::build([&a], |_| false);
        assert_eq!(
            menu.choice("old-a-key").map(|c| c.choice_id.as_str()),
            Some("a-key")
        );
        assert_eq!(
            menu.choice("a-key").map(|c| c.method.as_str()),
            Some("a-key")
        );
        assert!(menu.choice("nope").is_none());
        assert!(menu.choice_for("alpha", "a-key").is_some());
    }
}
