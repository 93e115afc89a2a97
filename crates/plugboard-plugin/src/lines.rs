//! Reading the host's lines without ever holding more than one line's worth of the protocol's
//! limit: a host (or something posing as one) that sends an endless line cannot fill memory.

use std::io;

use plugboard_protocol::MAX_LINE_BYTES;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Why a line could not be read.
#[derive(Debug)]
pub(crate) enum LineError {
    /// Reading failed.
    Read(io::Error),
    /// The line is longer than [`MAX_LINE_BYTES`] (newline and a carriage return before it
    /// excluded); reading stopped there.
    TooLong,
}

/// The next line, without its `\n` (or `\r\n`), into `line`; `false` at the end of input with
/// nothing read. A last line without a newline counts as a line.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> Result<bool, LineError> {
    line.clear();
    loop {
        let available = reader.fill_buf().await.map_err(LineError::Read)?;
        if available.is_empty() {
            return Ok(!line.is_empty());
        }
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (available.len(), false),
        };
        // One byte of slack for a `\r` before the newline.
        if line.len() + taken > MAX_LINE_BYTES + 1 {
            return Err(LineError::TooLong);
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(if done { taken + 1 } else { taken });
        if done {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.len() > MAX_LINE_BYTES {
                return Err(LineError::TooLong);
            }
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::BufReader;

    use super::*;

    /// A line read, or why reading stopped.
    type Read = Result<String, &'static str>;

    async fn lines(input: Vec<u8>) -> Vec<Read> {
        let mut reader = BufReader::with_capacity(7, input.as_slice());
        let mut line = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line(&mut reader, &mut line).await {
                Ok(true) => out.push(Ok(String::from_utf8_lossy(&line).into_owned())),
                Ok(false) => return out,
                Err(LineError::TooLong) => {
                    out.push(Err("too long"));
                    return out;
                }
                Err(LineError::Read(e)) => panic!("{e}"),
            }
        }
    }

    #[tokio::test]
    async fn lines_are_split_on_newlines_and_bounded_by_the_protocol_limit() {
        let exact = "x".repeat(MAX_LINE_BYTES);
        let cases: Vec<(Vec<u8>, Vec<Read>)> = vec![
            (b"".to_vec(), vec![]),
            (
                b"one\ntwo\r\n\nlast".to_vec(),
                vec![
                    Ok("one".into()),
                    Ok("two".into()),
                    Ok(String::new()),
                    Ok("last".into()),
                ],
            ),
            (
                format!("{exact}\r\nnext\n").into_bytes(),
                vec![Ok(exact.clone()), Ok("next".into())],
            ),
            (format!("{exact}x\n").into_bytes(), vec![Err("too long")]),
            (format!("{exact}xx").into_bytes(), vec![Err("too long")]),
        ];
        for (input, want) in cases {
            let got = lines(input.clone()).await;
            assert_eq!(got, want, "input of {} bytes", input.len());
        }
    }
}
