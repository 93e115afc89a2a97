//! `plugboard models list`: which providers it asks, and what it refuses before asking any.
//! (Listings against each provider's double are in the providers' own modules.)

use crate::support::Plugboard;

#[test]
fn an_unknown_provider_is_a_usage_error_that_names_who_can_list() {
    let pb = Plugboard::new();
    for json in [false, true] {
        let mut args = vec!["models", "list", "--provider", "nope"];
        if json {
            args.push("--json");
        }
        let run = pb.run(&args, "", &[]);
        let line = run.error_line(2);
        assert!(
            line.starts_with("error: unknown provider \"nope\": "),
            "{line}"
        );
        assert!(line.ends_with("list models"), "{line}");
    }
}

#[test]
fn the_help_says_what_a_line_is_and_when_the_command_fails() {
    let pb = Plugboard::new();
    let run = pb.run(&["models", "list", "--help"], "", &[]).success();
    for said in [
        "--provider <P>",
        "--json",
        "(free)",
        "fails only when no provider",
    ] {
        assert!(run.stdout.contains(said), "{said}: {run:#?}");
    }
}
