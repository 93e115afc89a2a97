//! Response bodies: whole ones, and the streamed oversized one; and the response around a body
//! that the Anthropic, GitHub and Ollama doubles start every answer from.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

/// The body type of every response the double sends.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// How much the `Oversized` fault sends: well past the 1 MiB a careful client reads.
pub const OVERSIZED_BYTES: usize = 2 * 1024 * 1024;

const CHUNK: usize = 64 * 1024;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// A response of `status` carrying `body` as `content_type`; a double adds any header of its
/// own (a request id, `retry-after`) to it. Generic over the body, as the Anthropic double's
/// may fail mid-way and the others' may not.
pub(crate) fn response<B>(status: StatusCode, content_type: &'static str, body: B) -> Response<B> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON document of at least [`OVERSIZED_BYTES`], starting with `prefix` (an object opened
/// but not closed) and padded inside a string, streamed in chunks with no size announced.
pub(crate) fn oversized_json(prefix: String) -> Body {
    Oversized {
        head: Some(Bytes::from(prefix + "\"padding\":\"")),
        padding_left: OVERSIZED_BYTES,
        tail: Some(Bytes::from_static(b"\"}")),
    }
    .boxed()
}

struct Oversized {
    head: Option<Bytes>,
    padding_left: usize,
    tail: Option<Bytes>,
}

impl HttpBody for Oversized {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if this.padding_left > 0 {
            let n = this.padding_left.min(CHUNK);
            this.padding_left -= n;
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; n])))));
        }
        Poll::Ready(this.tail.take().map(|tail| Ok(Frame::data(tail))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.padding_left == 0 && self.tail.is_none()
    }

    // No exact size: hyper then sends the body chunked, with no Content-Length to check first.
    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
