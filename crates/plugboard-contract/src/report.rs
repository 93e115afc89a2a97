//! What a check found: failures tagged with their rule, and which rules and providers were
//! checked, so a passing report can say what it vouches for.

use std::collections::BTreeSet;
use std::fmt;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The rule's stable id (see [`RULES`](crate::RULES)).
    pub rule: &'static str,
    /// What is at fault: a provider id, or a manifest path.
    pub subject: String,
    /// What is wrong and what to do, as a lowercase fragment.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.rule, self.subject, self.message)
    }
}

/// The outcome of a check. `Display` prints one line per failure, or one line saying which
/// rules passed for which providers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    failures: Vec<Failure>,
    rules_run: BTreeSet<&'static str>,
    providers: BTreeSet<String>,
}

impl Report {
    /// Every failure, in the order found.
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// Whether no rule failed.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The ids of the rules that failed.
    pub fn failed_rules(&self) -> BTreeSet<&'static str> {
        self.failures.iter().map(|f| f.rule).collect()
    }

    /// Adds another report's findings to this one.
    pub fn merge(&mut self, other: Report) {
        self.rules_run.extend(other.rules_run);
        self.providers.extend(other.providers);
        for failure in other.failures {
            self.push(failure);
        }
    }

    pub(crate) fn ran(&mut self, rules: impl IntoIterator<Item = &'static str>) {
        self.rules_run.extend(rules);
    }

    pub(crate) fn checked_provider(&mut self, id: &str) {
        self.providers.insert(id.to_owned());
    }

    pub(crate) fn fail(
        &mut self,
        rule: &'static str,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(Failure {
            rule,
            subject: subject.into(),
            message: message.into(),
        });
    }

    // Providers sharing a manifest each check it; its faults are reported once.
    fn push(&mut self, failure: Failure) {
        if !self.failures.contains(&failure) {
            self.failures.push(failure);
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            let providers = if self.providers.is_empty() {
                "no providers".to_owned()
            } else {
                self.providers
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return write!(
                f,
                "all {} rules passed for {providers}",
                self.rules_run.len()
            );
        }
        for (i, failure) in self.failures.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{failure}")?;
        }
        Ok(())
    }
}
