//! Plugins installed at run time, through the real binary: a manifest-only provider dropped
//! into `$PLUGBOARD_HOME/plugins/` (or a `PLUGBOARD_PLUGIN_PATH` folder) pointing at the
//! OpenRouter double joins the menu, signs in, runs a model and lists models; broken plugins
//! are listed with their reason and stop nothing; listing starts no plugin; `plugins remove`
//! takes away only what it may.

use std::path::{Path, PathBuf};

use plugboard_testkit::{OPENROUTER_MODELS, OpenRouterDouble};
use serde_json::{Value, json};

use crate::support::{Plugboard, provider_entry};

/// The provider the test manifests declare.
const PROVIDER: &str = "acme-cloud";
/// Its key variable.
const KEY_ENV: &str = "ACME_CLOUD_API_KEY";

/// Creates `dir` (with its parents) and makes it private, as plugin folders must be.
#[cfg(unix)]
fn private_dir(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).expect("the directory is created");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .expect("the directory is made private");
    dir.to_owned()
}

/// `root/name/plugin.json` holding `json`, folder and file private.
#[cfg(unix)]
fn plugin(root: &Path, name: &str, json: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = private_dir(&root.join(name));
    let manifest = dir.join("plugin.json");
    std::fs::write(&manifest, json).expect("the manifest is written");
    std::fs::set_permissions(&manifest, std::fs::Permissions::from_mode(0o600))
        .expect("the manifest is made private");
    dir
}

/// The plugins directory of `pb`'s home, created private along with the home.
#[cfg(unix)]
fn plugins_dir(pb: &Plugboard) -> PathBuf {
    private_dir(pb.home());
    private_dir(&pb.home().join("plugins"))
}

/// A manifest-only plugin `plugin_id` whose provider `provider` is an OpenAI-compatible
/// service at `base_url`, with a key in [`KEY_ENV`].
fn compat_manifest(plugin_id: &str, provider: &str, base_url: &str) -> String {
    json!({
        "manifest_version": 1,
        "id": plugin_id,
        "name": "Acme Cloud",
        "version": "1.2.3",
        "description": "Acme's models through its OpenAI-compatible API",
        "providers": [{"id": provider, "label": "Acme Cloud", "capabilities": ["model.run", "model.list"]}],
        "auth_choices": [{
            "choice_id": format!("{plugin_id}-api-key"),
            "provider": provider,
            "method": "api-key",
            "kind": "api_key",
            "label": "Acme Cloud API key",
            "hint": "Paste a key from the Acme console",
            "group": {"id": plugin_id, "label": "Acme Cloud", "hint": "API key"},
            "order": 70,
        }],
        "runtime": {
            "kind": "openai-compatible",
            "base_url": base_url,
            "api_key_env": KEY_ENV,
            "default_model": "openrouter/auto",
        },
    })
    .to_string()
}

/// `plugins list --json`, asserted to succeed, parsed.
fn plugins_list(pb: &Plugboard, env: &[(&str, &str)]) -> Value {
    pb.run(&["plugins", "list", "--json"], "", env)
        .success()
        .json()
}

/// The plugin ids of a `plugins list --json` document (`null` for a broken plugin without).
fn plugin_ids(list: &Value) -> Vec<Value> {
    list["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .map(|p| p["id"].clone())
        .collect()
}

/// The entry of plugin `id` in a `plugins list --json` document.
#[track_caller]
fn listed<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["plugins"]
        .as_array()
        .and_then(|plugins| plugins.iter().find(|p| p["id"] == id))
        .unwrap_or_else(|| panic!("no plugin {id} in {list:#}"))
}

/// The broken entries of a `plugins list --json` document, as (path, reason).
fn broken(list: &Value) -> Vec<(String, String)> {
    list["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter(|p| p["state"] == "broken")
        .map(|p| {
            (
                p["path"].as_str().expect("a path").to_owned(),
                p["reason"].as_str().expect("a reason").to_owned(),
            )
        })
        .collect()
}

/// Every choice id of a `models auth choices --json` document.
fn choice_ids(menu: &Value) -> Vec<String> {
    menu["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["choices"].as_array().expect("choices"))
        .map(|c| c["choice_id"].as_str().expect("a choice id").to_owned())
        .collect()
}

fn infer<'a>(model: &'a str, prompt: &'a str) -> [&'a str; 7] {
    [
        "infer", "model", "run", "--model", model, "--prompt", prompt,
    ]
}

#[cfg(unix)]
#[test]
fn a_manifest_only_provider_dropped_into_the_plugins_directory_signs_in_runs_and_lists() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().expect("the OpenRouter double starts");
    let dir = plugin(
        &plugins_dir(&pb),
        "acme",
        &compat_manifest("acme", PROVIDER, &double.api_base()),
    );

    let list = plugins_list(&pb, &[]);
    let acme = listed(&list, "acme");
    assert_eq!(
        (
            &acme["source"],
            &acme["state"],
            &acme["reason"],
            &acme["version"]
        ),
        (
            &json!("manifest"),
            &json!("ok"),
            &Value::Null,
            &json!("1.2.3")
        ),
        "{acme:#}"
    );
    assert_eq!(acme["path"], dir.display().to_string());
    assert_eq!(
        acme["manifest"],
        dir.join("plugin.json").display().to_string()
    );
    let provider = &acme["providers"][0];
    assert_eq!(provider["id"], PROVIDER);
    assert_eq!(provider["docs_path"], "/providers/openai-compatible");
    assert_eq!(provider["default_model"], "acme-cloud/openrouter/auto");
    assert_eq!(
        provider["env_vars"],
        json!([
            {"name": KEY_ENV, "role": "credential"},
            {"name": "ACME_CLOUD_BASE_URL", "role": "setting"},
        ])
    );
    assert_eq!(provider["auth_methods"][0]["id"], "api-key");
    assert_eq!(provider["auth_methods"][0]["label"], "Acme Cloud API key");
    let openrouter = listed(&list, "openrouter");
    assert_eq!(
        (
            &openrouter["source"],
            &openrouter["path"],
            &openrouter["state"]
        ),
        (&json!("built-in"), &Value::Null, &json!("ok"))
    );
    let text = pb.run(&["plugins", "list"], "", &[]).success();
    assert!(
        text.stdout
            .contains(&format!("  source   manifest  {}\n", dir.display())),
        "{text:#?}"
    );
    assert!(
        text.stdout.contains("  provider acme-cloud  Acme Cloud"),
        "{text:#?}"
    );

    let menu = pb
        .run(&["models", "auth", "choices", "--json"], "", &[])
        .success()
        .json();
    assert!(
        choice_ids(&menu).contains(&"acme-api-key".to_owned()),
        "{menu:#}"
    );

    let key = double.issue_key();
    let login = pb
        .run(
            &[
                "models",
                "auth",
                "login",
                "--provider",
                PROVIDER,
                "--method",
                "api-key",
            ],
            format!("{key}\n"),
            &[],
        )
        .success();
    assert!(login.stdout.contains("acme-cloud:default"), "{login:#?}");

    let reply = pb
        .run(
            &infer(
                "acme-cloud/liquid/lfm-2.5-1.2b-instruct:free",
                "Reply exactly: pong",
            ),
            "",
            &[],
        )
        .success();
    assert_eq!(reply.stdout.trim_end(), "pong", "{reply:#?}");
    assert_eq!(double.requests_to("/api/v1/chat/completions").len(), 1);

    let models = pb
        .run(
            &["models", "list", "--provider", PROVIDER, "--json"],
            "",
            &[],
        )
        .success()
        .json();
    let entry = &models["providers"][0];
    assert_eq!(
        (&entry["provider"], &entry["ok"]),
        (&json!(PROVIDER), &json!(true))
    );
    let ids: Vec<&str> = entry["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| m["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, OPENROUTER_MODELS.map(|m| m.id), "{models:#}");

    let status = pb.status(&[], &[]);
    let acme = provider_entry(&status, PROVIDER);
    assert_eq!(acme["label"], "Acme Cloud");
    assert_eq!(acme["service_url"], double.api_base());
    assert_eq!(acme["effective"]["source"], "default_profile", "{acme:#}");
    assert_eq!(acme["profiles"][0]["profile_id"], "acme-cloud:default");

    // A key refused by the service is reported as for any provider, naming it.
    assert!(double.revoke_key(&key));
    let refused = pb.run(&infer("acme-cloud/openrouter/auto", "hi"), "", &[]);
    let line = refused.error_line(1);
    assert!(
        line.contains("Acme Cloud rejected the key: HTTP 401"),
        "{line}"
    );
}

#[cfg(unix)]
#[test]
fn a_plugin_in_a_plugboard_plugin_path_folder_is_loaded_after_the_plugins_directory() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().expect("the OpenRouter double starts");
    let extra = private_dir(&pb.root().join("extra-plugins"));
    let dir = plugin(
        &extra,
        "acme",
        &compat_manifest("acme", PROVIDER, &double.api_base()),
    );
    let path = extra.display().to_string();
    let env = [("PLUGBOARD_PLUGIN_PATH", path.as_str())];

    let list = plugins_list(&pb, &env);
    let acme = listed(&list, "acme");
    assert_eq!(acme["path"], dir.display().to_string());
    assert_eq!(acme["state"], "ok");
    let menu = pb
        .run(&["models", "auth", "choices", "--json"], "", &env)
        .success()
        .json();
    assert!(
        choice_ids(&menu).contains(&"acme-api-key".to_owned()),
        "{menu:#}"
    );

    // Without the variable it is not there.
    let list = plugins_list(&pb, &[]);
    assert!(!plugin_ids(&list).contains(&json!("acme")), "{list:#}");
}

#[cfg(unix)]
#[test]
fn an_id_taken_by_a_plugin_read_earlier_is_refused_naming_both_in_the_fixed_order() {
    let pb = Plugboard::new();
    let base = "http://127.0.0.1:9/v1";
    let home = plugin(
        &plugins_dir(&pb),
        "zz-last-by-name",
        &compat_manifest("acme", PROVIDER, base),
    );
    let first = private_dir(&pb.root().join("first"));
    let second = private_dir(&pb.root().join("second"));
    // Each reads a key variable of its own, so that only the id it reuses is at fault.
    let reusing = |plugin_id: &str, provider: &str| {
        compat_manifest(plugin_id, provider, base).replace(
            KEY_ENV,
            &format!("{}_API_KEY", provider.to_uppercase().replace('-', "_")),
        )
    };
    // In the first path entry "a" is read before "b", and both after the plugins directory.
    let same_id = plugin(&first, "b", &reusing("acme", "acme-b"));
    let same_provider = plugin(&first, "a", &compat_manifest("acme-a", PROVIDER, base));
    let same_choice = plugin(
        &second,
        "a",
        &reusing("acme-c", "acme-c").replace("acme-c-api-key", "acme-api-key"),
    );
    let path = std::env::join_paths([&first, &second])
        .expect("the path joins")
        .into_string()
        .expect("the path is UTF-8");
    let list = plugins_list(&pb, &[("PLUGBOARD_PLUGIN_PATH", path.as_str())]);
    let manifest = |dir: &Path| dir.join("plugin.json").display().to_string();
    let at = |dir: &Path| dir.display().to_string();
    assert_eq!(
        broken(&list),
        [
            (
                at(&same_provider),
                format!(
                    "provider \"acme-cloud\" is registered by both {} and {}",
                    manifest(&home),
                    manifest(&same_provider)
                )
            ),
            (
                at(&same_id),
                format!(
                    "plugin id \"acme\" is used by both {} and {}",
                    manifest(&home),
                    manifest(&same_id)
                )
            ),
            (
                at(&same_choice),
                format!(
                    "choice id \"acme-api-key\" is used by both {} and {}",
                    manifest(&home),
                    manifest(&same_choice)
                )
            ),
        ],
        "{list:#}"
    );
    assert_eq!(listed(&list, "acme")["path"], at(&home));
}

#[cfg(unix)]
#[test]
fn broken_plugins_are_listed_with_their_reason_and_every_other_command_works() {
    use std::os::unix::fs::PermissionsExt;
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().expect("the OpenRouter double starts");
    let root = plugins_dir(&pb);
    let good = compat_manifest("acme", PROVIDER, &double.api_base());
    let unknown_field = plugin(
        &root,
        "a-unknown-field",
        &good.replacen('{', r#"{"colour":"red","#, 1),
    );
    let reusing = plugin(
        &root,
        "b-reuses-openrouter",
        &compat_manifest("acme-router", "openrouter", &double.api_base()),
    );
    let open = plugin(
        &root,
        "c-group-writable",
        &compat_manifest("acme-open", "acme-open", &double.api_base()),
    );
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o770))
        .expect("the folder is opened to the group");
    let dangling = root.join("d-dangling");
    std::os::unix::fs::symlink(pb.root().join("gone"), &dangling).expect("a dangling link");

    let list = plugins_list(&pb, &[]);
    let broken = broken(&list);
    let at = |dir: &Path| dir.display().to_string();
    assert_eq!(
        broken
            .iter()
            .map(|(path, _)| path.clone())
            .collect::<Vec<_>>(),
        [at(&unknown_field), at(&reusing), at(&open), at(&dangling)],
        "{list:#}"
    );
    assert_eq!(
        broken[3].1,
        format!(
            "cannot read {}: No such file or directory (os error 2)",
            dangling.display()
        )
    );
    assert!(
        broken[0].1.starts_with(&format!(
            "{}: /colour: unknown field `colour`",
            unknown_field.join("plugin.json").display()
        )),
        "{}",
        broken[0].1
    );
    assert_eq!(
        broken[1].1,
        format!(
            "provider \"openrouter\" is registered by both manifests/openrouter.json and {}",
            reusing.join("plugin.json").display()
        )
    );
    assert!(
        broken[2]
            .1
            .starts_with(&format!("{} is not private (mode 0770", open.display())),
        "{}",
        broken[2].1
    );
    let reusing_entry = listed(&list, "acme-router");
    assert_eq!(
        (&reusing_entry["source"], &reusing_entry["providers"]),
        (&json!("manifest"), &json!([]))
    );
    let text = pb.run(&["plugins", "list"], "", &[]).success();
    assert!(text.stdout.contains("acme-router  (broken)"), "{text:#?}");
    assert!(
        text.stdout
            .contains("  broken   provider \"openrouter\" is registered by both"),
        "{text:#?}"
    );

    let menu = pb
        .run(&["models", "auth", "choices", "--json"], "", &[])
        .success()
        .json();
    let choices = choice_ids(&menu);
    for absent in ["acme-api-key", "acme-router-api-key", "acme-open-api-key"] {
        assert!(!choices.contains(&absent.to_owned()), "{absent}: {menu:#}");
    }
    assert!(choices.contains(&"openrouter-api-key".to_owned()));

    let status = pb.status(&[], &[]);
    let ids: Vec<&str> = status["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .map(|p| p["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, crate::five_providers::PROVIDERS, "{status:#}");

    let key = double.issue_key();
    pb.login(&key, &[]);
    let api = double.api_base();
    let reply = pb
        .run(
            &infer("openrouter/auto", "Reply exactly: still here"),
            "",
            &[("OPENROUTER_BASE_URL", api.as_str())],
        )
        .success();
    assert_eq!(reply.stdout.trim_end(), "still here");
    let models = pb
        .run(
            &["models", "list", "--json"],
            "",
            &[("OPENROUTER_BASE_URL", api.as_str())],
        )
        .success()
        .json();
    let listed: Vec<&str> = models["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .filter(|p| p["ok"] == true)
        .map(|p| p["provider"].as_str().expect("a provider"))
        .collect();
    assert_eq!(listed, ["openrouter"], "{models:#}");
}

#[cfg(unix)]
#[test]
fn listing_the_menu_and_status_start_no_plugin_process() {
    use std::os::unix::fs::PermissionsExt;
    let pb = Plugboard::new();
    let root = plugins_dir(&pb);
    let marker = pb.root().join("the-plugin-ran");
    let manifest = json!({
        "manifest_version": 1,
        "id": "marker",
        "name": "Marker",
        "version": "0.1.0",
        "providers": [{"id": "marker", "label": "Marker"}],
        "auth_choices": [{
            "choice_id": "marker-api-key",
            "provider": "marker",
            "method": "api-key",
            "kind": "api_key",
            "label": "Marker key",
            "group": {"id": "marker", "label": "Marker"},
        }],
        "runtime": {"kind": "exec", "command": ["./bin/plugin"]},
    });
    let dir = plugin(&root, "marker", &manifest.to_string());
    let bin = private_dir(&dir.join("bin"));
    let program = bin.join("plugin");
    std::fs::write(
        &program,
        format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
    )
    .expect("the program is written");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o700))
        .expect("the program is executable");

    let list = plugins_list(&pb, &[]);
    let entry = listed(&list, "marker");
    assert_eq!(entry["source"], "exec", "{entry:#}");
    pb.run(&["plugins", "list"], "", &[]).success();
    pb.run(&["models", "auth", "choices"], "", &[]).success();
    pb.run(&["models", "auth", "choices", "--json"], "", &[])
        .success();
    pb.run(&["models", "status"], "", &[]).success();
    pb.run(&["models", "status", "--json", "--verbose"], "", &[])
        .success();
    assert!(!marker.exists(), "a read-only command started the plugin");
}

#[cfg(unix)]
#[test]
fn plugins_remove_takes_an_installed_plugin_away_and_says_its_credentials_stay() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().expect("the OpenRouter double starts");
    let root = plugins_dir(&pb);
    let dir = plugin(
        &root,
        "acme",
        &compat_manifest("acme", PROVIDER, &double.api_base()),
    );
    let key = double.issue_key();
    pb.run(
        &["models", "auth", "login", "--provider", PROVIDER],
        format!("{key}\n"),
        &[],
    )
    .success();

    let run = pb.run(&["plugins", "remove", "acme"], "", &[]).success();
    assert_eq!(
        run.stdout.trim_end(),
        format!("removed plugin acme ({})", dir.display())
    );
    assert!(
        run.stderr.contains(
            "the credentials stored for acme-cloud stay in the store, unused (acme-cloud:default)"
        ),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains("plugboard models auth logout --provider acme-cloud --all"),
        "{run:#?}"
    );
    assert!(!dir.exists());
    let left: Vec<String> = std::fs::read_dir(&root)
        .expect("the plugins directory stays")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let list = plugins_list(&pb, &[]);
    assert!(!plugin_ids(&list).contains(&json!("acme")), "{list:#}");
}

#[cfg(unix)]
#[test]
fn plugins_remove_refuses_what_is_not_an_installed_plugin_and_names_what_is() {
    use std::os::unix::fs::PermissionsExt;

    let pb = Plugboard::new();
    let root = plugins_dir(&pb);
    let base = "http://127.0.0.1:9/v1";
    plugin(&root, "acme", &compat_manifest("acme", PROVIDER, base));
    let extra = private_dir(&pb.root().join("extra"));
    let elsewhere = plugin(&extra, "other", &compat_manifest("other", "other", base));
    let path = extra.display().to_string();
    let env = [("PLUGBOARD_PLUGIN_PATH", path.as_str())];

    let run = pb.run(&["plugins", "remove", "openrouter"], "", &env);
    assert_eq!(
        run.error_line(2),
        "error: plugin \"openrouter\" is built into plugboard and cannot be removed"
    );

    let run = pb.run(&["plugins", "remove", "other"], "", &env);
    assert_eq!(
        run.error_line(2),
        format!(
            "error: plugin \"other\" is in {}, found through PLUGBOARD_PLUGIN_PATH; plugboard removes only plugins in {}: remove that folder yourself, or take {} out of PLUGBOARD_PLUGIN_PATH",
            elsewhere.display(),
            root.display(),
            extra.display()
        )
    );
    assert!(elsewhere.join("plugin.json").exists());

    let run = pb.run(&["plugins", "remove", "nope"], "", &env);
    assert_eq!(
        run.error_line(2),
        "error: no installed plugin \"nope\": installed plugins are acme"
    );
    assert!(root.join("acme").exists());

    // A plugins directory others can write is why nothing in it can be removed, and says so.
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = pb.run(&["plugins", "remove", "acme"], "", &env);
    let line = run.error_line(2);
    assert!(
        line.starts_with("error: no installed plugin \"acme\" can be read: ")
            && line.contains(&format!("{} is not private", root.display())),
        "{line}"
    );
    assert!(root.join("acme").exists());
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();

    let help = pb.run(&["plugins", "remove", "--help"], "", &[]).success();
    for said in [
        "Examples:",
        ".removing-<id>",
        "PLUGBOARD_PLUGIN_PATH",
        "logout --provider",
    ] {
        assert!(help.stdout.contains(said), "{said}: {help:#?}");
    }
}

#[cfg(unix)]
#[test]
fn plugins_remove_takes_only_the_link_to_a_linked_plugin_and_no_name_reaches_outside() {
    let pb = Plugboard::new();
    let root = plugins_dir(&pb);
    let elsewhere = private_dir(&pb.root().join("dev"));
    let target = plugin(
        &elsewhere,
        "acme",
        &compat_manifest("acme", PROVIDER, "http://127.0.0.1:9/v1"),
    );
    let link = root.join("acme");
    std::os::unix::fs::symlink(&target, &link).expect("the link is made");
    let list = plugins_list(&pb, &[]);
    assert_eq!(listed(&list, "acme")["state"], "ok", "{list:#}");

    // Names are ids or folder names, never paths.
    for name in ["../dev/acme", "..", ".", "acme/..", "acme/plugin.json"] {
        let run = pb.run(&["plugins", "remove", name], "", &[]);
        assert_eq!(
            run.error_line(2),
            format!("error: no installed plugin {name:?}: installed plugins are acme")
        );
    }
    assert!(target.join("plugin.json").exists());

    pb.run(&["plugins", "remove", "acme"], "", &[]).success();
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the link is gone"
    );
    assert!(
        target.join("plugin.json").exists(),
        "what it pointed to stays"
    );
    let left = std::fs::read_dir(&root)
        .expect("the plugins directory stays")
        .count();
    assert_eq!(left, 0);
}

#[cfg(unix)]
#[test]
fn a_broken_plugin_is_removed_by_its_folder_name_and_a_half_removed_one_never_loads() {
    let pb = Plugboard::new();
    let root = plugins_dir(&pb);
    let unreadable = plugin(&root, "garbled", "{ not json");
    // What a removal cut short between its rename and its delete leaves.
    plugin(
        &root,
        ".removing-acme",
        &compat_manifest("acme", PROVIDER, "http://127.0.0.1:9/v1"),
    );

    let list = plugins_list(&pb, &[]);
    assert!(!plugin_ids(&list).contains(&json!("acme")), "{list:#}");
    let plugins = list["plugins"].as_array().expect("plugins");
    let garbled = plugins
        .iter()
        .find(|p| p["path"] == unreadable.display().to_string())
        .unwrap_or_else(|| panic!("the garbled plugin is listed: {list:#}"));
    assert_eq!(
        (&garbled["state"], &garbled["id"], &garbled["source"]),
        (&json!("broken"), &Value::Null, &Value::Null)
    );

    pb.run(&["plugins", "remove", "garbled"], "", &[]).success();
    assert!(!unreadable.exists());
    assert!(!root.join(".removing-garbled").exists());
    let run = pb.run(&["plugins", "remove", "garbled"], "", &[]);
    assert_eq!(
        run.error_line(2),
        format!(
            "error: no installed plugin \"garbled\": no plugins are installed in {}",
            root.display()
        )
    );
}
