//! The real clock and randomness a plugin's sign-in methods and refreshers get.

use std::time::{Duration, SystemTime};

use plugboard_core::{Clock, Random, async_trait};
use rand::Rng;

/// The system clock; waits on tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A CSPRNG seeded from the operating system (PKCE verifiers, OAuth state).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        rand::rng().fill_bytes(dest);
    }
}
