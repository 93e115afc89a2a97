//! One session with the host: `hello`, the host's `start`, then its requests one at a time
//! until it closes the plugin's input.
//!
//! Three parts run at once. A writer sends the plugin's messages in the order they were
//! queued. A reader reads the host's lines: answers go straight to the prompt that waits for
//! them (a request is still running then), requests are queued for the loop. The loop runs
//! each request on a thread of its own (see [`run_request`]) and queues its result.

use std::io;
use std::sync::Arc;

use plugboard_core::sanitize_line;
use plugboard_protocol::{
    DecodeError, ErrorKind, HostMessage, PROTOCOL_VERSIONS, PluginMessage, WireError, decode,
};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::dispatch::{REQUEST_TYPES, Served, handle, request_id, type_name};
use crate::error::ServeError;
use crate::lines::{LineError, read_line};
use crate::plugin::Plugin;
use crate::relay::{Outgoing, Relay};

/// Longest request type quoted back to the host.
const MAX_TYPE_CHARS: usize = 40;

/// What the reader hands the loop.
enum Event {
    /// A request to answer.
    Request(HostMessage),
    /// A request this plugin cannot read: the answer is ready.
    Refuse(PluginMessage),
    /// The session cannot go on.
    Fatal(ServeError),
}

/// Serves `plugin` on `reader` (what the host writes) and `writer` (what it reads) until the
/// host closes `reader`: the protocol without the process around it, for tests and for hosts
/// that embed a plugin. Needs a tokio runtime with its timer and I/O drivers enabled.
///
/// Requests run on tokio's blocking threads (each driven on the runtime), so a provider's
/// synchronous `UrlOpener::open` can wait for the host's answer without stopping the reader.
pub async fn serve_io<R, W>(plugin: Plugin, reader: R, writer: W) -> Result<(), ServeError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (outbox, queue) = mpsc::unbounded_channel();
    let writing = tokio::spawn(write_all(writer, queue));
    let served = session(plugin, reader, outbox.clone()).await;
    // Everything queued before this is written; anything a stray task queues later is not.
    let _ = outbox.send(None);
    let written = match writing.await {
        Ok(written) => written,
        Err(e) => Err(io::Error::other(e.to_string())),
    };
    served?;
    written.map_err(ServeError::Write)
}

async fn write_all<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) -> io::Result<()> {
    while let Some(Some(message)) = queue.recv().await {
        writer
            .write_all(plugboard_protocol::encode(&message).as_bytes())
            .await?;
        // The host reads line by line and may be waiting for this one.
        writer.flush().await?;
    }
    writer.shutdown().await
}

async fn session<R>(
    plugin: Plugin,
    reader: R,
    outbox: mpsc::UnboundedSender<Outgoing>,
) -> Result<(), ServeError>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let relay = Arc::new(Relay::new(outbox));
    relay.send(PluginMessage::Hello {
        plugin: plugin.id().to_owned(),
        version: plugin.version().to_owned(),
        versions: PROTOCOL_VERSIONS.to_vec(),
    });
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    match read_line(&mut reader, &mut line).await {
        // A host that closes before starting has nothing to ask.
        Ok(false) => return Ok(()),
        Ok(true) => start(&line)?,
        Err(e) => return Err(line_error(e, 1)),
    }

    let (events_tx, mut events) = mpsc::unbounded_channel();
    let reading = tokio::spawn(read_requests(reader, Arc::clone(&relay), events_tx));
    let served = Arc::new(Served::new(plugin));
    let mut outcome = Ok(());
    while let Some(event) = events.recv().await {
        match event {
            Event::Request(request) => {
                let answer = run_request(&served, &relay, request).await;
                relay.send(answer);
            }
            Event::Refuse(answer) => relay.send(answer),
            Event::Fatal(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    reading.abort();
    relay.close();
    outcome
}

/// Checks the host's first line is `start` with a version this plugin speaks.
fn start(line: &[u8]) -> Result<(), ServeError> {
    match decode_line(line, 1)? {
        HostMessage::Start { version } if PROTOCOL_VERSIONS.contains(&version) => Ok(()),
        HostMessage::Start { version } => Err(ServeError::UnsupportedVersion {
            version,
            supported: PROTOCOL_VERSIONS,
        }),
        other => Err(ServeError::NotStarted {
            found: type_name(&other),
        }),
    }
}

/// Runs one request on a blocking thread of tokio's, driven there on the session's runtime,
/// and turns a panic in provider code into a failure of that request alone.
///
/// A thread of its own lets a provider's synchronous `UrlOpener::open` block while it waits
/// for the host's answer, which the reader, on the runtime, keeps reading.
async fn run_request(
    served: &Arc<Served>,
    relay: &Arc<Relay>,
    request: HostMessage,
) -> PluginMessage {
    let id = request_id(&request).unwrap_or(0);
    let what = type_name(&request);
    let runtime = tokio::runtime::Handle::current();
    let (served, relay) = (Arc::clone(served), Arc::clone(relay));
    let running =
        tokio::task::spawn_blocking(move || runtime.block_on(handle(&served, &relay, request)));
    match running.await {
        Ok(answer) => answer,
        // The panic's own message stays on stderr, where the default hook wrote it: provider
        // code may have put a secret in it.
        Err(e) if e.is_panic() => PluginMessage::Failed {
            id,
            error: WireError::new(
                ErrorKind::Internal,
                format!("the plugin panicked while handling {what}: its stderr says where"),
            ),
        },
        Err(_) => PluginMessage::Failed {
            id,
            error: WireError::new(ErrorKind::Internal, format!("{what} was cancelled")),
        },
    }
}

/// Reads the host's lines after `start` until its input ends or cannot be read, then tells
/// every waiting prompt that no answer will come.
async fn read_requests<R: AsyncRead + Unpin>(
    mut reader: BufReader<R>,
    relay: Arc<Relay>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut line = Vec::new();
    // Line 1 was `start`.
    let mut number = 1;
    loop {
        number += 1;
        match read_line(&mut reader, &mut line).await {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let _ = events.send(Event::Fatal(line_error(e, number)));
                break;
            }
        }
        let event = match decode_line(&line, number) {
            Ok(HostMessage::Answer { id, answer }) => {
                if !relay.answer(id, answer) {
                    warn(&format!("ignored an answer to {id}, which nothing asked"));
                }
                continue;
            }
            Ok(HostMessage::Start { .. }) => {
                warn("ignored a second start");
                continue;
            }
            Ok(request) => Event::Request(request),
            Err(fatal) => match unknown_request(&line) {
                Some(refusal) => Event::Refuse(refusal),
                None => Event::Fatal(fatal),
            },
        };
        let fatal = matches!(event, Event::Fatal(_));
        if events.send(event).is_err() || fatal {
            break;
        }
    }
    relay.close();
}

/// One of the host's lines as a message.
fn decode_line(line: &[u8], number: u64) -> Result<HostMessage, ServeError> {
    let text = std::str::from_utf8(line).map_err(|_| ServeError::Garbage {
        line: number,
        problem: "it is not UTF-8",
    })?;
    decode(text).map_err(|e| match e {
        DecodeError::TooLong { .. } => ServeError::LineTooLong {
            line: number,
            limit: plugboard_protocol::MAX_LINE_BYTES,
        },
        DecodeError::NotAMessage => ServeError::Garbage {
            line: number,
            problem: "it is JSON, but no message this protocol version knows",
        },
        _ => ServeError::Garbage {
            line: number,
            problem: "it is not JSON",
        },
    })
}

/// The answer to a line that is a request this plugin cannot read (a type it does not know,
/// or fields it does not expect) but that carries an id: the host gets `failed` for it and the
/// session goes on. `None` for any other line.
fn unknown_request(line: &[u8]) -> Option<PluginMessage> {
    let value: Value = serde_json::from_slice(line).ok()?;
    let id = value.get("id")?.as_u64()?;
    let kind = value.get("type")?.as_str()?;
    if kind == "answer" || kind == "start" {
        return None;
    }
    let message = if REQUEST_TYPES.contains(&kind) {
        format!("cannot read this {kind} request: it does not match the protocol version agreed")
    } else {
        format!(
            "this plugin does not handle {:?} requests",
            sanitize_line(kind, MAX_TYPE_CHARS)
        )
    };
    Some(PluginMessage::Failed {
        id,
        error: WireError::new(ErrorKind::Unsupported, message),
    })
}

fn line_error(error: LineError, number: u64) -> ServeError {
    match error {
        LineError::Read(e) => ServeError::Read(e),
        LineError::TooLong => ServeError::LineTooLong {
            line: number,
            limit: plugboard_protocol::MAX_LINE_BYTES,
        },
    }
}

/// A line for whoever reads the plugin's stderr (the host shows it on failure or with
/// `--verbose`).
fn warn(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(io::stderr(), "plugboard-plugin: {message}");
}
