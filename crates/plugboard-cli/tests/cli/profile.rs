//! `--profile` is read by one parser with one rule in every command that takes it: `name` is
//! that name at the provider the command is about, `provider:name` must belong to it.

use crate::support::{INFER, LOGIN, Plugboard, key, openrouter, profile_ids};

/// Each command that takes `--profile`, about the `openrouter` provider.
fn commands() -> [(&'static str, Vec<&'static str>); 4] {
    [
        ("login", LOGIN.to_vec()),
        (
            "logout",
            vec!["models", "auth", "logout", "--provider", "openrouter"],
        ),
        ("status", vec!["models", "status"]),
        ("infer", INFER.to_vec()),
    ]
}

#[test]
fn every_command_refuses_the_same_profiles_the_same_way() {
    let pb = Plugboard::new();
    pb.login(&key(120), &[]);
    // (--profile, what the one usage line says)
    let refused: [(&str, &[&str]); 4] = [
        ("other:work", &["other", "openrouter"]),
        ("Not Valid", &["--profile \"Not Valid\" is not a profile"]),
        (
            "openrouter:",
            &["--profile \"openrouter:\" is not a profile"],
        ),
        ("", &["--profile \"\" is not a profile"]),
    ];
    for (command, args) in commands() {
        for (profile, says) in refused {
            let all: Vec<&str> = args.iter().copied().chain(["--profile", profile]).collect();
            let run = pb.run(&all, format!("{}\n", key(121)), &[]);
            let line = run.error_line(2);
            for word in says {
                assert!(
                    line.contains(word),
                    "{command} --profile {profile:?}: {line}"
                );
            }
        }
    }
    assert_eq!(profile_ids(&pb.openrouter_status()), ["openrouter:default"]);
}

#[test]
fn a_bare_name_and_the_full_id_mean_the_same_profile_everywhere() {
    for form in ["work", "openrouter:work"] {
        let pb = Plugboard::new();
        pb.login(&key(130), &[]);
        pb.login(&key(131), &["--profile", form]);
        assert_eq!(
            profile_ids(&pb.openrouter_status()),
            ["openrouter:default", "openrouter:work"],
            "{form}"
        );
        let status = pb.status(&["--profile", form], &[]);
        assert_eq!(
            openrouter(&status)["effective"]["profile_id"],
            "openrouter:work",
            "{form}"
        );
        let args = ["models", "auth", "logout", "--provider", "openrouter"];
        let all: Vec<&str> = args.iter().copied().chain(["--profile", form]).collect();
        let run = pb.run(&all, "", &[]).success();
        assert_eq!(run.stdout, "removed openrouter:work\n", "{form}");
    }
}
