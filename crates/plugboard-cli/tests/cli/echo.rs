//! Arguments repeated in errors are cut to 200 characters: a pasted blob or a runaway script
//! must not turn one error line into thousands of characters.

use crate::support::{INFER, LOGIN, Plugboard};

/// Arguments, environment, and what the error line still says.
type Case<'a> = (Vec<String>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn every_error_that_repeats_an_argument_cuts_it_to_200_characters() {
    let long = "z".repeat(10_000);
    let l = long.as_str();
    let login = |extra: &[&'static str]| -> Vec<String> {
        LOGIN.iter().chain(extra).map(|s| (*s).to_owned()).collect()
    };
    let owned = |args: &[&str]| -> Vec<String> { args.iter().map(|s| (*s).to_owned()).collect() };
    // (arguments, environment, what the line still says)
    let cases: Vec<Case<'_>> = vec![
        (
            owned(&["models", "auth", "login", "--provider", l]),
            vec![],
            "unknown provider",
        ),
        (
            owned(&["models", "auth", "login", "--choice", l]),
            vec![],
            "unknown choice",
        ),
        (
            owned(&[
                "models",
                "auth",
                "login",
                "--provider",
                "openrouter",
                "--method",
                l,
            ]),
            vec![],
            "has no sign-in method",
        ),
        (
            [login(&[]), owned(&["--profile", l])].concat(),
            vec![],
            "is not a profile",
        ),
        (
            owned(&["models", "status", "--profile", l]),
            vec![],
            "is not a profile",
        ),
        (
            owned(&[
                "models",
                "auth",
                "logout",
                "--provider",
                "openrouter",
                "--profile",
                l,
            ]),
            vec![],
            "is not a profile",
        ),
        (owned(&["models", "set", l]), vec![], "invalid model"),
        (
            owned(&[INFER, &["--profile", l]].concat()),
            vec![],
            "is not a profile",
        ),
        (
            login(&[]),
            vec![("PLUGBOARD_HTTP_TIMEOUT", l)],
            "PLUGBOARD_HTTP_TIMEOUT must be",
        ),
    ];
    for (args, env, says) in cases {
        let pb = Plugboard::new();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = pb.run(&args, "", &env);
        let line = run.error_line(2);
        assert!(line.contains(says), "{args:?}: {line}");
        assert!(
            line.contains(&format!("{}…", "z".repeat(200))),
            "{says}: {line}"
        );
        assert!(!line.contains(&"z".repeat(201)), "{says}: {line}");
        assert!(
            line.chars().count() < 600,
            "{says}: {} chars",
            line.chars().count()
        );
    }
}
