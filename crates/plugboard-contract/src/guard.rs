//! Running third-party code under guard: every run of a provider's method or model runner is
//! bounded in time, and a panic in it becomes a failure, so a bad provider fails its rules
//! instead of hanging or crashing the suite.

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Poll;
use std::time::Duration;

/// Longest a fixture may take to prepare, and a method or model call to run. A scripted run
/// needs milliseconds; this only has to catch code that waits for something that never comes.
pub(crate) const TIME_LIMIT: Duration = Duration::from_secs(30);

/// Why a guarded future produced nothing.
pub(crate) enum Trouble {
    TimedOut,
    Panicked(String),
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TimedOut => write!(f, "did not finish within {} s", TIME_LIMIT.as_secs()),
            Self::Panicked(message) => write!(f, "panicked ({message})"),
        }
    }
}

/// Runs `work` with [`TIME_LIMIT`], turning a panic while polling it into [`Trouble`]. The
/// timer is created inside the guard too: on a runtime without a time driver, creating it
/// panics, and that must be a failure rather than a crash.
pub(crate) async fn guarded<T>(work: impl Future<Output = T>) -> Result<T, Trouble> {
    let mut timed = std::pin::pin!(async { tokio::time::timeout(TIME_LIMIT, work).await });
    poll_fn(
        move |cx| match catch_unwind(AssertUnwindSafe(|| timed.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(value))) => Poll::Ready(Ok(value)),
            Ok(Poll::Ready(Err(_elapsed))) => Poll::Ready(Err(Trouble::TimedOut)),
            Err(payload) => Poll::Ready(Err(Trouble::Panicked(panic_message(payload.as_ref())))),
        },
    )
    .await
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}
