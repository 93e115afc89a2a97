//! Response bodies of the Anthropic double: whole ones, and one that is cut mid-way.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// The body type of every response this double sends; it may fail, for the cut-body fault.
pub(super) type Body = BoxBody<Bytes, io::Error>;

pub(super) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Announces `whole.len()` bytes, sends the first half, then fails: hyper abandons the
/// connection, so the client sees a body that ends before its `Content-Length`.
pub(super) fn cut(whole: Bytes) -> Body {
    let total = whole.len() as u64;
    let half = whole.slice(..whole.len() / 2);
    Cut {
        first: Some(half),
        total,
        failed: false,
    }
    .boxed()
}

struct Cut {
    first: Option<Bytes>,
    total: u64,
    failed: bool,
}

impl HttpBody for Cut {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if this.failed {
            return Poll::Ready(None);
        }
        this.failed = true;
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "body cut on purpose",
        ))))
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    // The whole length is announced, so the client knows the body ended early.
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.total)
    }
}
