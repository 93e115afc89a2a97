//! The request log and the fault slot the Anthropic and Ollama doubles keep alike: every request
//! answered, in order, and one fault a test has set, either until cleared or for the next request
//! it applies to only. Each double has its own journal of its own record and fault types; none
//! is shared between doubles.
//!
//! One mutex guards a journal; it is never held across an await. A double with more to remember
//! (the Anthropic double's keys) keeps that beside the journal: no request reads or changes both
//! at once, so they need no common lock.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A fault and whether it fires once.
#[derive(Clone, Copy)]
struct FaultSlot<F> {
    fault: F,
    once: bool,
}

struct Entries<R, F> {
    requests: Vec<R>,
    fault: Option<FaultSlot<F>>,
}

/// A double's request log of `R` records and its fault slot of `F` faults.
pub(crate) struct Journal<R, F> {
    entries: Mutex<Entries<R, F>>,
}

impl<R: Clone, F: Copy> Journal<R, F> {
    /// An empty log, and no fault set.
    pub(crate) fn new() -> Self {
        Self {
            entries: Mutex::new(Entries {
                requests: Vec::new(),
                fault: None,
            }),
        }
    }

    // A test that panicked while holding the lock must not make every later request panic
    // too; no update spans a panic point, so the journal stays consistent.
    fn lock(&self) -> MutexGuard<'_, Entries<R, F>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets `fault` on every request it applies to until cleared; `None` clears it.
    pub(crate) fn set_fault(&self, fault: Option<F>) {
        self.lock().fault = fault.map(|fault| FaultSlot { fault, once: false });
    }

    /// Sets `fault` on the next request it applies to only, replacing any fault set.
    pub(crate) fn fail_next(&self, fault: F) {
        self.lock().fault = Some(FaultSlot { fault, once: true });
    }

    /// The fault currently set, if any.
    pub(crate) fn fault(&self) -> Option<F> {
        self.lock().fault.map(|slot| slot.fault)
    }

    /// The fault to apply to this request, clearing it if it fires only once. `applies` says
    /// whether the fault set is one this request is subject to; one that is not stays set.
    pub(crate) fn take_fault(&self, applies: impl Fn(F) -> bool) -> Option<F> {
        let mut entries = self.lock();
        let slot = entries.fault.filter(|slot| applies(slot.fault))?;
        if slot.once {
            entries.fault = None;
        }
        Some(slot.fault)
    }

    /// Adds an answered request to the log.
    pub(crate) fn record(&self, record: R) {
        self.lock().requests.push(record);
    }

    /// Every request answered so far, oldest first.
    pub(crate) fn requests(&self) -> Vec<R> {
        self.lock().requests.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_once_fault_fires_on_the_first_request_it_applies_to_and_a_set_one_stays() {
        let journal: Journal<(), u8> = Journal::new();
        journal.fail_next(1);
        assert_eq!(journal.take_fault(|f| f != 1), None, "not subject: stays");
        assert_eq!(journal.fault(), Some(1));
        assert_eq!(journal.take_fault(|_| true), Some(1));
        assert_eq!(journal.take_fault(|_| true), None, "fired once");
        journal.set_fault(Some(2));
        assert_eq!(journal.take_fault(|_| true), Some(2));
        assert_eq!(journal.take_fault(|_| true), Some(2), "until cleared");
        journal.set_fault(None);
        assert_eq!(journal.fault(), None);
    }

    #[test]
    fn requests_are_kept_in_order() {
        let journal: Journal<&str, ()> = Journal::new();
        journal.record("a");
        journal.record("b");
        assert_eq!(journal.requests(), ["a", "b"]);
    }
}
