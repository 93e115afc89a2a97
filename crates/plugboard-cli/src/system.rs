//! The real clock and randomness handed to sign-in methods.

use std::time::SystemTime;

use plugboard_core::{Clock, Random};
use rand::Rng;

/// The system clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A CSPRNG seeded from the operating system.
pub(crate) struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        rand::rng().fill_bytes(dest);
    }
}
