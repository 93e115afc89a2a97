//! Many plugboard processes writing one store at once.

use crate::support::{LOGIN, Plugboard, key, profile, profile_ids, redacted};

#[test]
fn twenty_concurrent_logins_into_one_fresh_home_all_land() {
    const PROCESSES: u64 = 20;
    let pb = Plugboard::new();
    let names: Vec<String> = (0..PROCESSES).map(|i| format!("p{i}")).collect();
    let keys: Vec<String> = (0..PROCESSES).map(|i| key(1_000 + i)).collect();

    // Start all of them before waiting for any.
    let children: Vec<_> = names
        .iter()
        .zip(&keys)
        .map(|(name, key)| {
            let args: Vec<&str> = LOGIN.iter().copied().chain(["--profile", name]).collect();
            let mut child = pb.spawn(&args, &[]);
            Plugboard::feed(&mut child, &format!("{key}\n"));
            child
        })
        .collect();
    let runs: Vec<_> = children
        .into_iter()
        .zip(&keys)
        .map(|(child, key)| pb.wait(child, &format!("{key}\n"), &[]))
        .collect();

    for (name, run) in names.iter().zip(&runs) {
        assert_eq!(run.code, 0, "{name}: {run:#?}");
    }
    let status = pb.openrouter_status();
    let mut want: Vec<String> = names.iter().map(|n| format!("openrouter:{n}")).collect();
    want.sort();
    assert_eq!(profile_ids(&status), want);
    for (name, key) in names.iter().zip(&keys) {
        let stored = profile(&status, &format!("openrouter:{name}"));
        assert_eq!(stored["redacted"], redacted(key), "{name}");
    }
}
