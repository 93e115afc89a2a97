//! A well-behaved plugin: its sign-in relays a secret prompt, its model calls and listings reach
//! the service at its base URL, one process serves every call, it sees only the environment it
//! may, and it passes the contract through the bridge.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use plugboard_contract::check_registry;
use plugboard_core::{
    Answer, AuthContext, Credential, CredentialKind, HostServices, ModelContext, ModelRequest,
    ProfileId, Progress, PromptError, Prompter, Provenance, ScriptedPrompter, async_trait,
};
use plugboard_exec::ExecOptions;
use plugboard_testkit::{OPENROUTER_MODELS, OpenRouterDouble};
use secrecy::SecretString;
use serde_json::json;

use crate::support::{ID, TestPlugin, ended, options, running};

fn api_key(key: &str) -> Credential {
    Credential::new(
        CredentialKind::ApiKey,
        key.to_owned().into(),
        Provenance::new(),
    )
}

#[tokio::test]
async fn a_sign_in_relays_the_secret_prompt_and_returns_a_profile_of_its_provider() {
    let plugin = TestPlugin::new("good");
    let (options, shown) = options(false);
    let providers = plugin.providers(&options);
    let method = providers[0]
        .auth_method("api-key")
        .expect("the manifest's method");

    for (profile, want) in [
        (None, "test-exec:default"),
        (Some("work"), "test-exec:work"),
    ] {
        let prompter = Arc::new(ScriptedPrompter::new([Answer::Secret(
            "sk-test-0123456789".into(),
        )]));
        let mut ctx = AuthContext::scripted([]);
        ctx.prompter = prompter.clone();
        ctx.options.profile = profile.map(|name| ProfileId::new(ID, name).unwrap());
        let result = method.run(&mut ctx).await.expect("the sign-in succeeds");
        assert_eq!(result.profiles.len(), 1);
        assert_eq!(result.profiles[0].profile_id.to_string(), want);
        assert_eq!(
            result.profiles[0].credential.expose_secret(),
            "sk-test-0123456789"
        );
        assert_eq!(result.notes, ["signed in to test-exec"]);
        assert_eq!(
            prompter.transcript(),
            ["note: signing in to test-exec", "secret: test-exec API key"]
        );
    }
    assert!(shown.lock().unwrap().is_empty(), "no stderr on success");
}

#[tokio::test]
async fn a_key_the_service_minted_is_marked_so_and_only_an_https_revoke_page_is_kept() {
    let cases = [
        ("good", false, None),
        ("minted", true, Some("https://keys.example.test/revoke")),
        ("minted-plain", true, None),
    ];
    for (mode, issued, revoke_url) in cases {
        let plugin = TestPlugin::new(mode);
        let (options, _) = options(false);
        let providers = plugin.providers(&options);
        let method = providers[0].auth_method("api-key").expect("the method");
        let mut ctx = AuthContext::scripted([]);
        ctx.prompter = Arc::new(ScriptedPrompter::new([Answer::Secret(
            "sk-test-0123456789".into(),
        )]));
        let result = method.run(&mut ctx).await.expect("the sign-in succeeds");
        assert_eq!(result.issued_remotely, issued, "{mode}");
        assert_eq!(result.revoke_url.as_deref(), revoke_url, "{mode}");
    }
}

#[tokio::test]
async fn a_model_call_and_a_listing_reach_the_openrouter_double_at_the_base_url_variable() {
    let double = OpenRouterDouble::start().expect("the double starts");
    let key = double.issue_key();
    let plugin = TestPlugin::new("good");
    let (options, _) = options(false);
    let providers = plugin.providers(&options);
    let provider = &providers[0];
    let host = HostServices::default().with_env("TEST_EXEC_BASE_URL", &double.api_base());
    assert_eq!(provider.service_url(&host), Some(double.api_base()));
    let ctx = ModelContext::new(api_key(&key), host);

    let reply = provider
        .model_runner()
        .expect("model.run is declared")
        .run(
            &ctx,
            &ModelRequest::new("openrouter/auto", "Reply exactly: pong"),
        )
        .await
        .expect("the call succeeds");
    assert_eq!(reply.outputs[0].text, "pong");
    let chat = double.requests_to("/api/v1/chat/completions");
    assert_eq!(chat.len(), 1);

    let models = provider
        .model_lister()
        .expect("model.list is declared")
        .list(&ctx)
        .await
        .expect("the listing succeeds");
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    let want: Vec<&str> = OPENROUTER_MODELS.iter().map(|m| m.id).collect();
    assert_eq!(ids, want);

    let rejected = provider
        .model_runner()
        .expect("model.run is declared")
        .run(
            &ModelContext::new(
                api_key("sk-or-v1-not-issued-by-the-double"),
                ctx.host.clone(),
            ),
            &ModelRequest::new("openrouter/auto", "Hi"),
        )
        .await
        .expect_err("an unknown key is refused");
    assert_eq!(rejected.to_string(), "Test Exec rejected the key: HTTP 401");
}

#[tokio::test]
async fn a_call_carries_its_providers_settings_from_the_config_and_null_without_any() {
    let plugin = TestPlugin::new("settings");
    let (options, _) = options(false);
    let providers = plugin.providers(&options);
    let runner = providers[0].model_runner().expect("model.run is declared");
    for (config, sent) in [
        (json!({}), "null"),
        (
            json!({"providers": {"openrouter": {"region": "us"}}}),
            "null",
        ),
        (
            json!({"providers": {ID: {"region": "eu"}}}),
            r#"{"region": "eu"}"#,
        ),
    ] {
        let host = HostServices::default().with_config(config);
        let ctx = ModelContext::new(api_key("sk-test-0123456789"), host);
        let reply = runner
            .run(&ctx, &ModelRequest::new("m", "Hi"))
            .await
            .expect("the call succeeds");
        assert_eq!(reply.outputs[0].text, sent);
    }
}

#[tokio::test]
async fn one_process_serves_every_call_and_is_gone_once_the_providers_are_dropped() {
    let double = OpenRouterDouble::start().expect("the double starts");
    let plugin = TestPlugin::new("good");
    let (options, _) = options(false);
    let providers = plugin.providers(&options);
    assert_eq!(plugin.pid(), None, "building providers starts nothing");

    let mut ctx = AuthContext::scripted([Answer::Secret("sk-test-0123456789".into())]);
    providers[0]
        .auth_method("api-key")
        .unwrap()
        .run(&mut ctx)
        .await
        .unwrap();
    let pid = plugin.pid().expect("the first call started the plugin");
    let host = HostServices::default().with_env("TEST_EXEC_BASE_URL", &double.api_base());
    let ctx = ModelContext::new(api_key(&double.issue_key()), host);
    for _ in 0..3 {
        providers[0]
            .model_runner()
            .unwrap()
            .run(&ctx, &ModelRequest::new("m", "Hi"))
            .await
            .unwrap();
    }
    assert_eq!(plugin.pid(), Some(pid), "no second process was started");
    assert!(running(pid), "the plugin runs while its providers live");

    drop(providers);
    assert!(ended(pid).await, "the plugin outlived its providers");
}

/// A prompter whose user takes `delay` to answer each prompt.
struct SlowUser {
    delay: Duration,
    key: &'static str,
}

#[async_trait]
impl Prompter for SlowUser {
    async fn text(&self, _prompt: &str) -> Result<String, PromptError> {
        Err(PromptError::EndOfInput)
    }

    async fn secret(&self, _prompt: &str) -> Result<SecretString, PromptError> {
        tokio::time::sleep(self.delay).await;
        Ok(self.key.to_owned().into())
    }

    async fn select(&self, _prompt: &str, _items: &[String]) -> Result<usize, PromptError> {
        Err(PromptError::EndOfInput)
    }

    fn progress(&self, _message: &str) -> Box<dyn Progress> {
        Box::new(plugboard_core::SilentProgress)
    }

    fn note(&self, _message: &str) {}
}

#[tokio::test]
async fn time_the_user_takes_to_answer_does_not_count_against_the_plugin() {
    let plugin = TestPlugin::with_runtime("good", json!({"timeout_secs": 1}));
    let (options, _) = options(false);
    let providers = plugin.providers(&options);
    let mut ctx = AuthContext::scripted([]);
    ctx.prompter = Arc::new(SlowUser {
        delay: Duration::from_millis(2500),
        key: "sk-test-0123456789",
    });
    let result = providers[0]
        .auth_method("api-key")
        .unwrap()
        .run(&mut ctx)
        .await
        .expect("the user's 2.5 s do not count against the 1 s limit");
    assert_eq!(
        result.profiles[0].profile_id.to_string(),
        "test-exec:default"
    );
}

#[tokio::test]
async fn the_plugin_sees_path_home_the_locale_and_only_the_variables_it_declared() {
    // Cargo runs tests with its own variables set; the plugin declares one of them.
    let declared = "CARGO_MANIFEST_DIR";
    let host_vars: BTreeSet<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    assert!(host_vars.contains(declared), "cargo sets {declared}");
    let withheld: Vec<&String> = host_vars
        .iter()
        .filter(|n| n.starts_with("CARGO_") && n.as_str() != declared)
        .collect();
    assert!(!withheld.is_empty(), "cargo sets more CARGO_ variables");

    let plugin = TestPlugin::with_runtime("env", json!({"env": [declared]}));
    let (quiet, quiet_shown) = options(false);
    let mut ctx = AuthContext::scripted([Answer::Secret("sk-test-0123456789".into())]);
    plugin.providers(&quiet)[0]
        .auth_method("api-key")
        .unwrap()
        .run(&mut ctx)
        .await
        .unwrap();
    assert!(
        quiet_shown.lock().unwrap().is_empty(),
        "stderr is shown only on failure without verbose"
    );

    let (verbose, shown) = options(true);
    let mut ctx = AuthContext::scripted([Answer::Secret("sk-test-0123456789".into())]);
    plugin.providers(&verbose)[0]
        .auth_method("api-key")
        .unwrap()
        .run(&mut ctx)
        .await
        .unwrap();
    let shown = shown.lock().unwrap().clone();
    let line = shown
        .iter()
        .find_map(|l| l.strip_prefix("test-exec: env: "))
        .unwrap_or_else(|| panic!("no env line in {shown:?}"));
    let names: BTreeSet<&str> = line.split(',').collect();
    let allowed = ["PATH", "HOME", "LANG", "LANGUAGE", "TZ", declared];
    // What the interpreter (or a version manager's shim in front of it) sets by itself.
    let own = interpreter_own_variables(plugin.dir());
    for name in &names {
        assert!(
            allowed.contains(name) || name.starts_with("LC_") || own.contains(*name),
            "the plugin sees {name}: {names:?}"
        );
    }
    assert!(names.contains(declared), "{names:?}");
    assert!(names.contains("PATH"), "{names:?}");
    for name in withheld {
        assert!(!names.contains(name.as_str()), "{name} leaked: {names:?}");
    }
}

#[tokio::test]
async fn the_good_plugin_passes_the_contract_through_the_bridge() {
    let plugin = TestPlugin::new("good");
    let (_, shown) = options(false);
    let sink = Arc::clone(&shown);
    let options = ExecOptions::for_check(
        false,
        Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
    );
    let subjects = plugboard_exec::subjects(plugin.dir(), &plugin.path(), plugin.json(), &options)
        .await
        .expect("the plugin lists its fixtures");
    assert_eq!(subjects.len(), 1);
    let report = check_registry(&subjects).await;
    assert!(report.is_ok(), "{report}");
    let pid = plugin.pid().expect("the check started the plugin");
    drop(subjects);
    assert!(ended(pid).await);
}

/// The variables `python3` has when started with nothing but `PATH` and `HOME`: those its
/// start-up (a shim's shell, say) sets by itself, which no host can withhold.
fn interpreter_own_variables(dir: &std::path::Path) -> BTreeSet<String> {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, sys; sys.stdout.write(','.join(sorted(os.environ)))",
        ])
        .current_dir(dir)
        .env_clear()
        .envs(std::env::vars_os().filter(|(n, _)| n == "PATH" || n == "HOME"))
        .output()
        .expect("python3 runs");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .split(',')
        .map(str::to_owned)
        .collect()
}
