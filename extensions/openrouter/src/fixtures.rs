//! Contract fixtures for OpenRouter's sign-in methods: the scripted runs under which each must
//! succeed, and the inputs it must refuse without returning anything.

use plugboard_core::{Answer, ContractFixture, LoginOptions, ProfileId, ScriptedFixture};

use crate::provider::PROVIDER_ID;

const KEY: &str = "sk-or-v1-0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) fn contract_fixtures() -> Vec<Box<dyn ContractFixture>> {
    let secret = |s: &str| vec![Answer::Secret(s.to_owned())];
    let mut named_profile = LoginOptions::default();
    named_profile.profile = ProfileId::new(PROVIDER_ID, "work").ok();
    let api_key = |name, answers| ScriptedFixture::fails(name, PROVIDER_ID, "api-key", answers);
    vec![
        Box::new(ScriptedFixture::succeeds(
            "pasted key is stored",
            PROVIDER_ID,
            "api-key",
            secret(KEY),
        )),
        Box::new(
            ScriptedFixture::succeeds(
                "--profile names the profile",
                PROVIDER_ID,
                "api-key",
                secret(KEY),
            )
            .with_options(named_profile),
        ),
        Box::new(api_key("empty key is refused", secret(""))),
        Box::new(api_key("whitespace key is refused", secret(" \t "))),
        Box::new(api_key(
            "key with control characters is refused",
            secret("sk-or-v1-\x1b[2J"),
        )),
        Box::new(api_key(
            "key over 4 KiB is refused",
            secret(&"k".repeat(5 * 1024)),
        )),
        Box::new(api_key(
            "cancelled prompt writes nothing",
            vec![Answer::Cancel],
        )),
        Box::new(api_key("no input writes nothing", vec![])),
    ]
}
