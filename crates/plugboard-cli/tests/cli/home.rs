//! Where plugboard keeps its files, as the binary defends them: a home directory, config file
//! or store that another user owns or can write is refused before anything is read, asked or
//! sent, with one line naming the path, its mode and owner, and the fix; the config and the
//! store are never followed through a symlink; read-only commands create and chmod nothing.
#![cfg(unix)]

use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use plugboard_testkit::OpenRouterDouble;

use crate::support::{Plugboard, Run, key, mode, openrouter, profile, redacted, tree};

const MODEL: &str = "openrouter/liquid/lfm-2.5-1.2b-instruct:free";
const CHAT: &str = "/api/v1/chat/completions";

/// A uid that is not the one the tests run as (they run as root, as CI does).
const OTHER_UID: u32 = 12345;

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), None)
        .unwrap_or_else(|e| panic!("chown {} (needs root): {e}", path.display()));
}

/// The uid plugboard runs as: the owner of what it creates.
fn my_uid(pb: &Plugboard) -> u32 {
    std::fs::metadata(pb.root()).expect("the test root").uid()
}

/// Makes the home directory with mode 0700, as plugboard would.
fn private_home(pb: &Plugboard) {
    std::fs::create_dir_all(pb.home()).expect("the home is created");
    set_mode(pb.home(), 0o700);
}

/// `infer model run` of `prompt` against the stored key.
fn infer(prompt: &str) -> Vec<&str> {
    vec![
        "infer", "model", "run", "--model", MODEL, "--prompt", prompt,
    ]
}

/// Every command that reads the config or the store, with what it needs on stdin.
fn readers(new_key: &str) -> Vec<(Vec<&'static str>, String)> {
    let login = crate::support::LOGIN.to_vec();
    vec![
        (vec!["models", "status"], String::new()),
        (vec!["models", "status", "--json"], String::new()),
        (login, format!("{new_key}\n")),
        (
            vec!["models", "auth", "logout", "--provider", "openrouter"],
            String::new(),
        ),
        (vec!["models", "set", "openrouter/auto"], String::new()),
        (vec!["models", "auth", "choices"], String::new()),
        (infer("Reply exactly: hi"), String::new()),
    ]
}

/// Every file under the home with its mode and contents, to show a refused command changed
/// nothing.
fn snapshot(pb: &Plugboard) -> Vec<(String, u32, Vec<u8>)> {
    tree(pb.home())
        .into_iter()
        .map(|file| {
            let path = pb.home().join(&file);
            let meta = std::fs::symlink_metadata(&path).expect("a listed file");
            let contents = if meta.is_file() {
                std::fs::read(&path).expect("a readable file")
            } else {
                Vec::new()
            };
            (file.display().to_string(), meta.mode(), contents)
        })
        .collect()
}

/// Asserts `run` failed with exit 1 and one line containing each of `needles`.
#[track_caller]
fn refused(run: &Run, needles: &[&str]) {
    let line = run.error_line(1);
    for needle in needles {
        assert!(line.contains(needle), "{needle:?} not in {line:?}");
    }
}

#[test]
fn a_home_others_can_write_is_refused_by_every_command_and_nothing_is_sent() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().expect("the double starts");
    let stored = double.issue_key();
    pb.login(&stored, &[]);
    set_mode(pb.home(), 0o777);
    let before = snapshot(&pb);
    let base = double.api_base();
    let env = [("OPENROUTER_BASE_URL", base.as_str())];

    let home = pb.home().display().to_string();
    let owner = format!("mode 0777, owner uid {}", my_uid(&pb));
    let fix = format!("run `chmod 700 {home}`");
    let new_key = key(90);
    let mut commands = readers(&new_key);
    commands.push((vec!["plugins", "list"], String::new()));
    for (args, stdin) in commands {
        let run = pb.run(&args, &stdin, &env);
        refused(&run, &[&format!("directory {home} "), &owner, &fix]);
        assert_eq!(snapshot(&pb), before, "{args:?} changed the home");
    }
    assert!(double.requests().is_empty(), "{:?}", double.requests());

    // Following the advice is all it takes; what was stored is still there.
    set_mode(pb.home(), 0o700);
    let status = pb.openrouter_status();
    assert_eq!(
        profile(&status, "openrouter:default")["redacted"],
        redacted(&stored)
    );
}

#[test]
fn a_config_planted_by_another_user_is_not_read_and_the_key_goes_nowhere() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().expect("the double starts");
    let stored = double.issue_key();
    pb.login(&stored, &[]);
    // Another user's config pointing OpenRouter at their own server.
    let config = pb.home().join("config.json");
    let planted = serde_json::json!({"providers": {"openrouter": {"base_url": double.api_base()}}});
    std::fs::write(&config, planted.to_string()).expect("the config is written");
    set_mode(&config, 0o644);
    chown(&config, OTHER_UID);

    let path = config.display().to_string();
    let me = my_uid(&pb);
    let owner = format!("mode 0644, owner uid {OTHER_UID}");
    let fix = format!("if it is yours, run `chown {me} {path}`; if not, remove it");
    for (args, stdin) in readers(&key(91)) {
        // No OPENROUTER_BASE_URL: only the planted config could send the call to the double.
        let run = pb.run(&args, &stdin, &[]);
        refused(
            &run,
            &[&format!("file {path} "), &owner, "another user", &fix],
        );
    }
    assert!(double.requests().is_empty(), "{:?}", double.requests());

    // The same file, owned by the user, is trusted: proof the refusal is what kept the call
    // from the double.
    chown(&config, me);
    let run = pb.run(&infer("Reply exactly: mine"), "", &[]).success();
    assert_eq!(run.stdout, "mine\n");
    assert_eq!(double.requests_to(CHAT).len(), 1);
}

#[test]
fn a_store_the_group_can_write_is_refused_and_left_as_it_is() {
    let pb = Plugboard::new();
    let stored = key(92);
    pb.login(&stored, &[]);
    let store = pb.home().join("credentials.sqlite");
    set_mode(&store, 0o660);
    let before = snapshot(&pb);

    let path = store.display().to_string();
    let owner = format!("mode 0660, owner uid {}", my_uid(&pb));
    let fix = format!("run `chmod 600 {path}`");
    for (args, stdin) in readers(&key(93)) {
        let run = pb.run(&args, &stdin, &[]);
        refused(&run, &[&format!("file {path} "), &owner, &fix]);
        assert_eq!(snapshot(&pb), before, "{args:?} changed the home");
    }

    set_mode(&store, 0o600);
    let status = pb.openrouter_status();
    assert_eq!(
        profile(&status, "openrouter:default")["redacted"],
        redacted(&stored)
    );
}

#[test]
fn read_only_commands_leave_a_store_readable_by_others_as_it_is_and_login_tightens_it() {
    let pb = Plugboard::new();
    pb.login(&key(94), &[]);
    let store = pb.home().join("credentials.sqlite");
    set_mode(&store, 0o644);
    set_mode(pb.home(), 0o755);

    pb.openrouter_status();
    pb.run(&["models", "auth", "choices"], "", &[]).success();
    assert_eq!(mode(&store), 0o644);
    assert_eq!(mode(pb.home()), 0o755);

    pb.login(&key(95), &["--profile", "work"]);
    assert_eq!(mode(&store), 0o600);
}

#[test]
fn a_dangling_store_symlink_stays_dangling() {
    let pb = Plugboard::new();
    private_home(&pb);
    let link = pb.home().join("credentials.sqlite");
    let target = pb.root().join("elsewhere.sqlite");
    symlink(&target, &link).expect("the link is made");

    let named = format!("{} is a symlink", link.display());
    for (args, stdin) in readers(&key(96)) {
        let run = pb.run(&args, &stdin, &[]);
        refused(&run, &[&named, "remove the link"]);
        assert!(!target.exists(), "{args:?} created the link's target");
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("the link is still there")
            .file_type()
            .is_symlink()
    );
}

#[test]
fn a_store_or_config_symlink_to_a_readable_file_is_refused_and_the_file_keeps_its_mode() {
    for name in ["credentials.sqlite", "config.json"] {
        let pb = Plugboard::new();
        private_home(&pb);
        let target = pb.root().join("notes.txt");
        std::fs::write(&target, "{}").expect("the target is written");
        set_mode(&target, 0o644);
        let link = pb.home().join(name);
        symlink(&target, &link).expect("the link is made");

        let named = format!("{} is a symlink", link.display());
        for (args, stdin) in readers(&key(97)) {
            let run = pb.run(&args, &stdin, &[]);
            refused(&run, &[&named]);
            assert_eq!(mode(&target), 0o644, "{name}: {args:?}");
            assert_eq!(std::fs::read_to_string(&target).expect("the target"), "{}");
        }
    }
}

#[test]
fn a_dangling_config_symlink_stays_dangling() {
    let pb = Plugboard::new();
    private_home(&pb);
    let link = pb.home().join("config.json");
    let target = pb.root().join("elsewhere.json");
    symlink(&target, &link).expect("the link is made");

    for (args, stdin) in readers(&key(98)) {
        let run = pb.run(&args, &stdin, &[]);
        refused(&run, &[&format!("{} is a symlink", link.display())]);
        assert!(!target.exists(), "{args:?} created the link's target");
    }
    // Nothing else was created beside it either: no store from the refused login.
    assert_eq!(tree(pb.home()), [Path::new("config.json")]);
}

/// Without `PLUGBOARD_HOME`, plugboard's own directories inside the platform's config and data
/// directories are its home: they are checked, the platform directories above them are not.
#[cfg(target_os = "linux")]
#[test]
fn plugboards_platform_directories_are_checked_but_not_their_parents() {
    let pb = Plugboard::new();
    let config_home = pb.root().join("xdg-config");
    let data_home = pb.root().join("xdg-data");
    let (config_home_s, data_home_s) = (
        config_home.display().to_string(),
        data_home.display().to_string(),
    );
    let root = pb.root().display().to_string();
    let env = [
        ("PLUGBOARD_HOME", ""),
        ("HOME", root.as_str()),
        ("XDG_CONFIG_HOME", config_home_s.as_str()),
        ("XDG_DATA_HOME", data_home_s.as_str()),
    ];
    let login: Vec<&str> = crate::support::LOGIN.to_vec();
    pb.run(&login, format!("{}\n", key(99)), &env).success();
    pb.run(&["models", "set", "openrouter/auto"], "", &env)
        .success();
    let (config_dir, data_dir) = (config_home.join("plugboard"), data_home.join("plugboard"));
    assert!(config_dir.join("config.json").is_file());
    assert!(data_dir.join("credentials.sqlite").is_file());

    // Shared parents are the user's business.
    set_mode(&config_home, 0o777);
    set_mode(&data_home, 0o777);
    let status = pb.run(&["models", "status", "--json"], "", &env).success();
    assert_eq!(
        openrouter(&status.json())["effective"]["source"],
        "default_profile"
    );

    for dir in [&config_dir, &data_dir] {
        set_mode(dir, 0o777);
        let run = pb.run(&["models", "status"], "", &env);
        refused(
            &run,
            &[
                &format!("directory {} ", dir.display()),
                &format!("run `chmod 700 {}`", dir.display()),
            ],
        );
        set_mode(dir, 0o700);
    }
}
