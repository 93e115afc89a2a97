//! Reading a request body, bounded in size and in time.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Largest request body the double reads; past it the answer is 413.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How much of an oversized request is read and thrown away before answering 413, so the
/// client (which is still sending) gets the answer rather than a reset from unread data.
const DRAIN_LIMIT: usize = 4 * 1024 * 1024;

const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) enum BodyError {
    TooLarge,
    Unreadable,
    /// Too large even to drain; the connection is dropped.
    Overwhelming,
}

pub(super) async fn read_body(mut body: Incoming) -> Result<Bytes, BodyError> {
    let read = async {
        let mut kept = Vec::new();
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| BodyError::Unreadable)?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            seen += data.len();
            if seen > DRAIN_LIMIT {
                return Err(BodyError::Overwhelming);
            }
            if seen <= MAX_REQUEST_BYTES {
                kept.extend_from_slice(&data);
            }
        }
        if seen > MAX_REQUEST_BYTES {
            Err(BodyError::TooLarge)
        } else {
            Ok(Bytes::from(kept))
        }
    };
    tokio::time::timeout(BODY_READ_TIMEOUT, read)
        .await
        .unwrap_or(Err(BodyError::Unreadable))
}
