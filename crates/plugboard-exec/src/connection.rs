//! The protocol's framing over a plugin's stdin and stdout: one JSON message per line, each
//! line at most [`MAX_LINE_BYTES`], read without ever holding more than one line's worth.

use plugboard_protocol::{HostMessage, MAX_LINE_BYTES, encode};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// What reading the next line gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A complete line, newline removed.
    Text(String),
    /// The plugin's output ended.
    End,
    /// A line longer than [`MAX_LINE_BYTES`] (reading stopped there).
    TooLong,
    /// A line that is not UTF-8.
    NotText,
}

/// The host's end of the plugin's stdin and stdout.
pub(crate) struct Connection<W, R> {
    writer: W,
    reader: BufReader<R>,
}

impl<W: AsyncWrite + Unpin, R: AsyncRead + Unpin> Connection<W, R> {
    /// A connection writing to `writer` (the plugin's stdin) and reading `reader` (its stdout).
    pub(crate) fn new(writer: W, reader: R) -> Self {
        Self {
            writer,
            reader: BufReader::new(reader),
        }
    }

    /// Sends one message as a line.
    pub(crate) async fn send(&mut self, message: &HostMessage) -> std::io::Result<()> {
        self.writer.write_all(encode(message).as_bytes()).await?;
        self.writer.flush().await
    }

    /// Reads the next line. Not cancel-safe: a line cut short by a timeout is lost, which is
    /// fine because a plugin that timed out is not read again.
    pub(crate) async fn next_line(&mut self) -> Line {
        let mut line = Vec::new();
        loop {
            let chunk = match self.reader.fill_buf().await {
                // Output that ends, even in the middle of a line (a plugin that died writing
                // it), is the end of the plugin.
                Ok([]) | Err(_) => return Line::End,
                Ok(chunk) => chunk,
            };
            let (part, ends_line) = match chunk.iter().position(|&b| b == b'\n') {
                Some(end) => (&chunk[..end], true),
                None => (chunk, false),
            };
            // A `\r` before the newline is allowed by `decode`, so it may make one byte more.
            if line.len() + part.len() > MAX_LINE_BYTES + 1 {
                return Line::TooLong;
            }
            line.extend_from_slice(part);
            let used = part.len() + usize::from(ends_line);
            self.reader.consume(used);
            if ends_line {
                return match String::from_utf8(line) {
                    Ok(text) => Line::Text(text),
                    Err(_) => Line::NotText,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    async fn lines(input: Vec<u8>) -> Vec<Line> {
        let mut connection = Connection::new(Vec::new(), Cursor::new(input));
        let mut lines = Vec::new();
        loop {
            let line = connection.next_line().await;
            let last = !matches!(line, Line::Text(_));
            lines.push(line);
            if last {
                return lines;
            }
        }
    }

    #[tokio::test]
    async fn lines_are_split_on_newlines_and_bounded() {
        assert_eq!(
            lines(b"{\"a\":1}\n{}\r\n".to_vec()).await,
            [
                Line::Text("{\"a\":1}".into()),
                Line::Text("{}\r".into()),
                Line::End
            ]
        );
        assert_eq!(lines(b"half a line".to_vec()).await, [Line::End]);
        assert_eq!(lines(vec![0xff, b'\n']).await, [Line::NotText]);
        let mut exact = vec![b'x'; MAX_LINE_BYTES];
        exact.push(b'\n');
        assert!(matches!(lines(exact).await[0], Line::Text(_)));
        assert_eq!(
            lines(vec![b'x'; 10 * 1024 * 1024]).await,
            [Line::TooLong],
            "10 MB without a newline stops at the limit"
        );
    }

    #[tokio::test]
    async fn messages_go_out_one_per_line() {
        let mut connection = Connection::new(Vec::new(), Cursor::new(Vec::new()));
        connection
            .send(&HostMessage::Start { version: 1 })
            .await
            .unwrap();
        connection
            .send(&HostMessage::ListFixtures { id: 7 })
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8(connection.writer).unwrap(),
            "{\"type\":\"start\",\"version\":1}\n{\"type\":\"list_fixtures\",\"id\":7}\n"
        );
    }
}
