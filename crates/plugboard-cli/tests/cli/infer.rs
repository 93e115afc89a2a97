//! `plugboard infer model run` against the OpenRouter double: the stored key serves a real
//! HTTP model call, the credential is the one `models status` reports, `--json` keeps the peer
//! CLI's shape, and every failure is one clear line (or one JSON document) with a non-zero exit.

use std::time::Duration;

use plugboard_testkit::{Endpoint, Fault, OpenRouterDouble};
use serde_json::{Value, json};

use crate::support::{HandoffBrowser, KEY_ENV, Plugboard, Run, key, openrouter, profile};

const MODEL: &str = "openrouter/liquid/lfm-2.5-1.2b-instruct:free";
const CHAT: &str = "/api/v1/chat/completions";

/// `infer model run --model MODEL --prompt PROMPT` plus `extra`.
fn infer<'a>(prompt: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    [
        "infer", "model", "run", "--model", MODEL, "--prompt", prompt,
    ]
    .iter()
    .chain(extra)
    .copied()
    .collect()
}

/// Runs `args` with the double as the service, plus `env`.
fn run_against(
    pb: &Plugboard,
    double: &OpenRouterDouble,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let base = double.api_base();
    let mut all = vec![("OPENROUTER_BASE_URL", base.as_str())];
    all.extend_from_slice(env);
    pb.run(args, "", &all)
}

/// A key the double accepts, stored as `openrouter:default` (or the profile in `extra`).
fn store_valid_key(pb: &Plugboard, double: &OpenRouterDouble, extra: &[&str]) -> String {
    let key = double.issue_key();
    pb.login(&key, extra);
    key
}

#[test]
fn after_an_oauth_login_the_stored_key_runs_a_model_and_prints_the_peer_json() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let browser = HandoffBrowser::new();
    let login = pb.start_oauth_login(&double, &browser, &["--port", "0"]);
    plugboard_testkit::approve(&browser.wait_for_url()).unwrap();
    pb.wait_watched(login, "").success();
    pb.remember_issued_key(&double);

    let run = run_against(
        &pb,
        &double,
        &infer("Reply exactly: oauth-ok", &["--json"]),
        &[],
    )
    .success();
    assert_eq!(
        run.json(),
        json!({
            "ok": true,
            "capability": "model.run",
            "transport": "local",
            "provider": "openrouter",
            "model": "liquid/lfm-2.5-1.2b-instruct:free",
            "attempts": [],
            "outputs": [{"text": "oauth-ok", "mediaUrl": null}],
        })
    );
    assert_eq!(run.stderr, "", "{run:#?}");
    let calls = double.requests_to(CHAT);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, Some(200));
}

#[test]
fn without_json_the_reply_alone_goes_to_stdout() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    store_valid_key(&pb, &double, &[]);
    let run = run_against(&pb, &double, &infer("Reply exactly: hello there", &[]), &[]).success();
    assert_eq!(run.stdout, "hello there\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn the_key_used_is_the_one_status_reports_profile_then_env_then_default() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    store_valid_key(&pb, &double, &[]);
    store_valid_key(&pb, &double, &["--profile", "work"]);
    // A key the double never issued: whichever source holds it decides whether the call fails.
    let rejected = "sk-or-v1-ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0000";
    let prompt = "Reply exactly: ok";

    // The environment beats the default profile, so the rejected key is used...
    let run = run_against(&pb, &double, &infer(prompt, &[]), &[(KEY_ENV, rejected)]);
    let line = run.error_line(1);
    assert!(line.contains(&format!("${KEY_ENV}")), "{line}");
    // ...as status says it would be.
    let status = pb.status(&[], &[(KEY_ENV, rejected)]);
    assert_eq!(openrouter(&status)["effective"]["source"], "env");

    // --profile beats the environment.
    let run = run_against(
        &pb,
        &double,
        &infer(prompt, &["--profile", "work"]),
        &[(KEY_ENV, rejected)],
    );
    assert_eq!(run.success().stdout, "ok\n");

    // Without either, the default profile.
    assert_eq!(
        run_against(&pb, &double, &infer(prompt, &[]), &[])
            .success()
            .stdout,
        "ok\n"
    );
}

#[test]
fn a_rejected_stored_key_says_so_and_how_to_sign_in_again_and_stays_stored() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let key = store_valid_key(&pb, &double, &["--profile", "work"]);
    assert!(double.revoke_key(&key));
    let before = profile(&pb.openrouter_status(), "openrouter:work").clone();

    let run = run_against(
        &pb,
        &double,
        &infer("hi", &["--profile", "openrouter:work"]),
        &[],
    );
    assert_eq!(
        run.error_line(1),
        "error: OpenRouter rejected the key: HTTP 401 (User not found.): sign in again with \
         `plugboard models auth login --provider openrouter --profile work`"
    );

    let run = run_against(
        &pb,
        &double,
        &infer("hi", &["--profile", "work", "--json"]),
        &[],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "", "--json reports on stdout only: {run:#?}");
    let failure = run.json();
    assert_eq!(failure["ok"], false);
    assert_eq!(failure["error"]["type"], "credential_rejected");
    assert!(
        failure["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sign in again"),
        "{failure:#}"
    );
    assert_eq!(
        profile(&pb.openrouter_status(), "openrouter:work"),
        &before,
        "a rejected key is reported, not deleted"
    );
}

#[test]
fn no_credential_names_the_login_command() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let run = run_against(&pb, &double, &infer("hi", &[]), &[]);
    assert_eq!(
        run.error_line(1),
        "error: no OpenRouter credential: sign in with \
         `plugboard models auth login --provider openrouter`, or set OPENROUTER_API_KEY"
    );
    let run = run_against(&pb, &double, &infer("hi", &["--json"]), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["error"]["type"], "no_credential");
    let run = run_against(&pb, &double, &infer("hi", &["--profile", "nope"]), &[]);
    assert!(run.error_line(1).contains("--profile nope"), "{run:#?}");
    assert!(double.requests_to(CHAT).is_empty());
    assert!(!pb.home().exists(), "a failed run creates nothing");
}

#[test]
fn a_bad_model_ref_or_prompt_is_a_usage_error_before_anything_is_sent() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    store_valid_key(&pb, &double, &[]);
    // (arguments, what the error line says)
    let cases: [(&[&str], &str); 5] = [
        (
            &["--model", "nope/some-model", "--prompt", "hi"],
            "unknown provider \"nope\": valid providers are anthropic, github-copilot, ollama, openai-codex, openrouter",
        ),
        (
            &["--model", "openrouter", "--prompt", "hi"],
            "is not provider/model",
        ),
        (
            &["--model", "openrouter/", "--prompt", "hi"],
            "is not provider/model",
        ),
        (&["--model", MODEL, "--prompt", "  "], "--prompt is empty"),
        (
            &[
                "--model",
                MODEL,
                "--prompt",
                "hi",
                "--profile",
                "other:work",
            ],
            "a profile for openrouter looks like openrouter:work",
        ),
    ];
    for (args, says) in cases {
        let all: Vec<&str> = ["infer", "model", "run"]
            .iter()
            .chain(args)
            .copied()
            .collect();
        let run = run_against(&pb, &double, &all, &[]);
        let line = run.error_line(2);
        assert!(line.contains(says), "{args:?}: {line}");

        let with_json: Vec<&str> = all.iter().copied().chain(["--json"]).collect();
        let run = run_against(&pb, &double, &with_json, &[]);
        assert_eq!(run.code, 2, "{run:#?}");
        assert_eq!(run.json()["error"]["type"], "usage", "{args:?}");
    }
    assert!(double.requests_to(CHAT).is_empty());
}

#[test]
fn service_faults_are_one_clear_line_with_a_stable_type() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    store_valid_key(&pb, &double, &[]);
    // (fault, PLUGBOARD_HTTP_TIMEOUT, what the line says, `error.type`); only the slow case
    // gets a short timeout, so a busy machine cannot turn the others into timeouts.
    let cases = [
        (Fault::Status(500), "60", "HTTP 500", "service"),
        (
            Fault::Status(429),
            "60",
            "too many requests",
            "rate_limited",
        ),
        (Fault::Status(402), "60", "out of credits", "rate_limited"),
        (Fault::NotJson, "60", "not the JSON", "bad_response"),
        (Fault::MissingKey, "60", "has no choices", "bad_response"),
        (
            Fault::Oversized,
            "60",
            "larger than 1048576 bytes",
            "bad_response",
        ),
        (
            Fault::ConnectionReset,
            "60",
            "could not be reached",
            "network",
        ),
        (
            Fault::Slow(Duration::from_secs(4)),
            "1",
            "within 1 s",
            "network",
        ),
    ];
    for (fault, timeout, says, kind) in cases {
        double.set_fault_on(Endpoint::Chat, Some(fault));
        let env = [("PLUGBOARD_HTTP_TIMEOUT", timeout)];
        let run = run_against(&pb, &double, &infer("hi", &[]), &env);
        let line = run.error_line(1);
        assert!(line.contains(says), "{fault:?}: {line}");

        let run = run_against(&pb, &double, &infer("hi", &["--json"]), &env);
        assert_eq!(run.code, 1, "{fault:?}");
        let failure: Value = run.json();
        assert_eq!(failure["error"]["type"], kind, "{fault:?}: {failure:#}");
    }
    double.set_fault_on(Endpoint::Chat, None);
}

#[test]
fn a_refused_connection_is_one_line_that_says_its_cause_once() {
    let closed = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let pb = Plugboard::new();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let key = key(77);
    let env = [
        ("OPENROUTER_BASE_URL", base.as_str()),
        (KEY_ENV, key.as_str()),
    ];
    let said = format!(
        "OpenRouter could not be reached: cannot connect to 127.0.0.1:{port}: connection refused"
    );

    let run = pb.run(&infer("hi", &[]), "", &env);
    assert_eq!(run.error_line(1), format!("error: {said}"));

    let run = pb.run(&infer("hi", &["--json"]), "", &env);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        run.json(),
        json!({"ok": false, "error": {"type": "network", "message": said}})
    );
}

#[test]
fn a_503_is_retried_once_and_the_call_succeeds() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    store_valid_key(&pb, &double, &[]);
    double.set_fault_on(Endpoint::Chat, Some(Fault::ServiceUnavailableOnce));
    let run = run_against(&pb, &double, &infer("Reply exactly: second", &[]), &[]).success();
    assert_eq!(run.stdout, "second\n");
    let statuses: Vec<Option<u16>> = double.requests_to(CHAT).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(200)]);
}

#[test]
fn attribution_headers_are_sent_only_when_configured() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    store_valid_key(&pb, &double, &[]);
    run_against(&pb, &double, &infer("hi", &[]), &[]).success();

    std::fs::write(
        pb.home().join("config.json"),
        r#"{"providers":{"openrouter":{"app_url":"https://example.test/app","app_title":"Example"}}}"#,
    )
    .unwrap();
    run_against(&pb, &double, &infer("hi", &[]), &[]).success();

    let sent: Vec<(Option<String>, Option<String>)> = double
        .requests_to(CHAT)
        .into_iter()
        .map(|r| (r.http_referer, r.x_title))
        .collect();
    assert_eq!(
        sent,
        [
            (None, None),
            (
                Some("https://example.test/app".to_owned()),
                Some("Example".to_owned())
            ),
        ]
    );
}

#[test]
fn local_is_accepted_as_the_only_transport_and_gateway_is_a_one_line_usage_error() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    store_valid_key(&pb, &double, &[]);

    // The command the peer CLI documents.
    let run = run_against(
        &pb,
        &double,
        &infer("Reply exactly: local-ok", &["--local", "--json"]),
        &[],
    )
    .success();
    assert_eq!(run.json()["transport"], "local", "{run:#?}");
    assert_eq!(run.json()["outputs"][0]["text"], "local-ok", "{run:#?}");
    assert_eq!(double.requests_to(CHAT).len(), 1);

    for extra in [&["--gateway"][..], &["--local", "--gateway"]] {
        let run = run_against(&pb, &double, &infer("hi", extra), &[]);
        assert_eq!(
            run.error_line(2),
            "error: --gateway is not available: plugboard has no gateway and calls the model \
             from this process (leave it out, or pass --local)",
            "{extra:?}"
        );
    }
    let run = run_against(&pb, &double, &infer("hi", &["--gateway", "--json"]), &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(run.json()["ok"], false);
    assert_eq!(run.json()["error"]["type"], "usage");
    assert_eq!(double.requests_to(CHAT).len(), 1, "--gateway sent nothing");
}

#[test]
fn a_10000_character_model_is_echoed_cut_to_200_characters() {
    let pb = Plugboard::new();
    let double = OpenRouterDouble::start().unwrap();
    let long = "m".repeat(10_000);
    let run = run_against(
        &pb,
        &double,
        &["infer", "model", "run", "--model", &long, "--prompt", "hi"],
        &[],
    );
    let line = run.error_line(2);
    assert!(
        line.contains(&format!(
            "--model \"{}…\" is not provider/model",
            "m".repeat(200)
        )),
        "{line}"
    );
    assert!(!line.contains(&"m".repeat(201)), "{line}");
    assert!(line.chars().count() < 400, "{} chars", line.chars().count());
    assert!(double.requests().is_empty());
}
