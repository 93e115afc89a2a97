//! The rule catalogue: every rule the harness enforces, under an id that never changes, so
//! reports, docs and tests can name rules without depending on message wording.

/// One contract rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable kebab-case id, shown in reports (`[kind-agrees] ...`).
    pub id: &'static str,
    /// One line on what the rule requires.
    pub summary: &'static str,
}

pub(crate) const MANIFEST_SCHEMA: &str = "manifest-schema";
pub(crate) const PLUGIN_ID_UNIQUE: &str = "plugin-id-unique";
pub(crate) const PROVIDER_ID_SYNTAX: &str = "provider-id-syntax";
pub(crate) const PROVIDER_ID_UNIQUE: &str = "provider-id-unique";
pub(crate) const METHOD_ID_SYNTAX: &str = "method-id-syntax";
pub(crate) const METHOD_ID_UNIQUE: &str = "method-id-unique";
pub(crate) const CHOICE_ID_SYNTAX: &str = "choice-id-syntax";
pub(crate) const CHOICE_ID_UNIQUE: &str = "choice-id-unique";
pub(crate) const PROVIDER_DECLARED: &str = "provider-declared";
pub(crate) const PROVIDER_REGISTERED: &str = "provider-registered";
pub(crate) const CHOICE_HAS_METHOD: &str = "choice-has-method";
pub(crate) const METHOD_HAS_CHOICE: &str = "method-has-choice";
pub(crate) const KIND_AGREES: &str = "kind-agrees";
pub(crate) const CAPABILITY_DECLARED: &str = "capability-declared";
pub(crate) const TEXT_NONBLANK: &str = "text-nonblank";
pub(crate) const DOCS_PATH: &str = "docs-path";
pub(crate) const DEFAULT_MODEL: &str = "default-model";
pub(crate) const ENV_VARS: &str = "env-vars";
pub(crate) const FIXTURES_PRESENT: &str = "fixtures-present";
pub(crate) const FIXTURE_OUTCOME: &str = "fixture-outcome";
pub(crate) const PROFILE_OWNERSHIP: &str = "profile-ownership";
pub(crate) const MODEL_FIXTURES_PRESENT: &str = "model-fixtures-present";
pub(crate) const MODEL_FIXTURE_OUTCOME: &str = "model-fixture-outcome";
pub(crate) const MODEL_KEY_REJECTED: &str = "model-key-rejected";
pub(crate) const MODEL_SECRET_HIDDEN: &str = "model-secret-hidden";
pub(crate) const MODEL_TOKEN_EXPIRED: &str = "model-token-expired";
pub(crate) const REFRESH_FIXTURES_PRESENT: &str = "refresh-fixtures-present";
pub(crate) const REFRESH_FIXTURE_OUTCOME: &str = "refresh-fixture-outcome";
pub(crate) const REFRESH_PROFILE_OWNERSHIP: &str = "refresh-profile-ownership";
pub(crate) const OAUTH_STATE_FORGED: &str = "oauth-state-forged";
pub(crate) const LOCAL_WRITES_NO_SECRET: &str = "local-writes-no-secret";
pub(crate) const DEVICE_FIXTURES_PRESENT: &str = "device-fixtures-present";
pub(crate) const DEVICE_CODE_POLLING: &str = "device-code-polling";
pub(crate) const LIST_FIXTURES_PRESENT: &str = "list-fixtures-present";
pub(crate) const LIST_FIXTURE_OUTCOME: &str = "list-fixture-outcome";
pub(crate) const LIST_KEY_REJECTED: &str = "list-key-rejected";
pub(crate) const LIST_BAD_SHAPE: &str = "list-bad-shape";
pub(crate) const CHECK_KEY_REJECTED: &str = "check-key-rejected";

/// Rules that need every subject at once: [`check_provider`](crate::check_provider) cannot
/// run them, [`check_registry`](crate::check_registry) does. (`choice-id-unique` runs in both:
/// within a manifest per provider, across manifests in the registry.)
pub(crate) const REGISTRY_ONLY: &[&str] =
    &[PLUGIN_ID_UNIQUE, PROVIDER_ID_UNIQUE, PROVIDER_REGISTERED];

/// Every rule, in the order the docs list them. Each has a deliberately broken provider in
/// `tests/rules.rs` that fails it and nothing else.
pub const RULES: &[Rule] = &[
    Rule {
        id: MANIFEST_SCHEMA,
        summary: "the manifest is JSON that validates against the manifest schema and loads",
    },
    Rule {
        id: PLUGIN_ID_UNIQUE,
        summary: "no two manifests share a plugin id",
    },
    Rule {
        id: PROVIDER_ID_SYNTAX,
        summary: "provider ids, runtime and declared, match ^[a-z0-9][a-z0-9-]*$",
    },
    Rule {
        id: PROVIDER_ID_UNIQUE,
        summary: "no two registered providers share an id",
    },
    Rule {
        id: METHOD_ID_SYNTAX,
        summary: "method ids, runtime and in manifest choices, match ^[a-z0-9][a-z0-9-]*$",
    },
    Rule {
        id: METHOD_ID_UNIQUE,
        summary: "no two methods of one provider share an id",
    },
    Rule {
        id: CHOICE_ID_SYNTAX,
        summary: "choice ids and deprecated choice ids match ^[a-z0-9][a-z0-9-]*$",
    },
    Rule {
        id: CHOICE_ID_UNIQUE,
        summary: "choice ids, deprecated ones included, are unique within and across manifests",
    },
    Rule {
        id: PROVIDER_DECLARED,
        summary: "the runtime provider is declared in its manifest's providers",
    },
    Rule {
        id: PROVIDER_REGISTERED,
        summary: "every provider a manifest declares is registered with that manifest",
    },
    Rule {
        id: CHOICE_HAS_METHOD,
        summary: "every manifest choice for the provider names one of its runtime methods",
    },
    Rule {
        id: METHOD_HAS_CHOICE,
        summary: "every runtime method is offered by a manifest choice",
    },
    Rule {
        id: KIND_AGREES,
        summary: "a choice's kind equals its runtime method's kind",
    },
    Rule {
        id: CAPABILITY_DECLARED,
        summary: "the manifest declares model.run exactly when the provider has a model runner, model.list exactly when it has a model lister, and no unknown capability",
    },
    Rule {
        id: TEXT_NONBLANK,
        summary: "labels are not blank, and hints, where given, are not blank",
    },
    Rule {
        id: DOCS_PATH,
        summary: "the provider's docs path starts with /",
    },
    Rule {
        id: DEFAULT_MODEL,
        summary: "the default model, if any, is a provider/model ref of this provider",
    },
    Rule {
        id: ENV_VARS,
        summary: "environment variable names are UPPER_SNAKE and not repeated",
    },
    Rule {
        id: FIXTURES_PRESENT,
        summary: "every method has a success fixture; every fixture names this provider and one of its methods",
    },
    Rule {
        id: FIXTURE_OUTCOME,
        summary: "every fixture prepares, and its run succeeds with a profile or fails, as expected, within the time limit",
    },
    Rule {
        id: PROFILE_OWNERSHIP,
        summary: "a successful run writes only this provider's profiles, and the --profile it was given",
    },
    Rule {
        id: LOCAL_WRITES_NO_SECRET,
        summary: "a successful sign-in writes a credential of kind none exactly when its method is local",
    },
    Rule {
        id: OAUTH_STATE_FORGED,
        summary: "an oauth method refuses a pasted redirect whose state it never issued, and sends no request",
    },
    Rule {
        id: DEVICE_FIXTURES_PRESENT,
        summary: "every device-code method has a well-formed device fixture for each case, and every device fixture names a device-code method",
    },
    Rule {
        id: DEVICE_CODE_POLLING,
        summary: "a device-code sign-in shows the user code and URL, waits the interval (5 s more after slow_down) before every poll, and ends as its case says with a one-line error that shows no code or token",
    },
    Rule {
        id: MODEL_FIXTURES_PRESENT,
        summary: "a model runner has a model fixture under which it must reply and its service's error answers; a provider without one registers no model fixtures",
    },
    Rule {
        id: MODEL_FIXTURE_OUTCOME,
        summary: "every model fixture's call replies with the expected text, or fails with the expected kind, within the time limit",
    },
    Rule {
        id: MODEL_KEY_REJECTED,
        summary: "a model call the service answers with HTTP 401 fails as a rejected credential",
    },
    Rule {
        id: MODEL_SECRET_HIDDEN,
        summary: "a model call's error never shows the credential, even when the service echoes it",
    },
    Rule {
        id: MODEL_TOKEN_EXPIRED,
        summary: "a provider with a refresher gives its service's expired-token answer, and a model call answered with it fails as an expired credential",
    },
    Rule {
        id: LIST_FIXTURES_PRESENT,
        summary: "a model lister has a list fixture under which it lists models; a provider without one registers no list fixtures",
    },
    Rule {
        id: LIST_FIXTURE_OUTCOME,
        summary: "every list fixture's listing gives exactly the expected ids and free models, or fails with the expected kind, within the time limit, never showing the credential",
    },
    Rule {
        id: LIST_KEY_REJECTED,
        summary: "a listing the service answers with its rejected answer fails as a rejected credential (a lister that asks nothing lists models)",
    },
    Rule {
        id: LIST_BAD_SHAPE,
        summary: "a listing the service answers with JSON that is not a model list, or with what is not JSON, fails as a bad response",
    },
    Rule {
        id: CHECK_KEY_REJECTED,
        summary: "a credential check the service answers with its rejected answer fails as a rejected credential, within the time limit",
    },
    Rule {
        id: REFRESH_FIXTURES_PRESENT,
        summary: "a refresher has refresh fixtures that keep, rotate and lose the refresh token (or renew a session and lose the stored token), each of a credential it can refresh; a provider without one registers none",
    },
    Rule {
        id: REFRESH_FIXTURE_OUTCOME,
        summary: "every refresh fixture ends with the expected tokens or as sign-in required, within the time limit, and no refresh error shows a token",
    },
    Rule {
        id: REFRESH_PROFILE_OWNERSHIP,
        summary: "a refresh returns exactly the profile it was given",
    },
];
