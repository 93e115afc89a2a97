//! How a session with the host can end badly.

use std::io;

use thiserror::Error;

/// Why a plugin stopped serving before the host closed its stdin. Every one means the host and
/// the plugin can no longer understand each other, so the plugin exits; a failed request is
/// never one of them (it is answered with `failed`).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Standard input or output could not be set up.
    #[error("cannot set up standard output for the protocol")]
    Stdio(#[source] io::Error),
    /// Reading from the host failed.
    #[error("cannot read from the host")]
    Read(#[source] io::Error),
    /// Writing to the host failed (it closed the plugin's stdout, say).
    #[error("cannot write to the host")]
    Write(#[source] io::Error),
    /// The host's first message was not `start`.
    #[error("the host sent {found} before start")]
    NotStarted {
        /// The message's type.
        found: &'static str,
    },
    /// The host chose a protocol version this plugin does not speak.
    #[error(
        "the host chose protocol version {version}, which this plugin does not speak (it speaks {supported:?})"
    )]
    UnsupportedVersion {
        /// The version the host chose.
        version: u32,
        /// The versions this plugin speaks.
        supported: &'static [u32],
    },
    /// A line from the host was longer than the protocol allows.
    #[error("line {line} from the host is longer than the protocol's {limit} bytes")]
    LineTooLong {
        /// Its number, counting from 1.
        line: u64,
        /// The limit in bytes.
        limit: usize,
    },
    /// A line from the host was not a message of the protocol. The line is not quoted: it may
    /// hold a secret (an answer to a hidden prompt).
    #[error("line {line} from the host is not a protocol message: {problem}")]
    Garbage {
        /// Its number, counting from 1.
        line: u64,
        /// What is wrong with it, in a few words.
        problem: &'static str,
    },
}
