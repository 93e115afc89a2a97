//! The plugin's stdout, kept for the protocol alone.
//!
//! A plugin's own code, or a library it uses, may print to stdout by mistake; one stray line
//! would break the protocol. So on Unix the session writes to a duplicate of the original
//! stdout and points file descriptor 1 at stderr: anything else printed lands on stderr, which
//! the host shows (sanitised) instead of choking on it.

use std::io;

/// Where protocol lines go.
#[cfg(unix)]
pub(crate) fn protocol_output() -> io::Result<tokio::fs::File> {
    use std::io::Write as _;
    use std::os::fd::AsFd as _;

    let stdout = io::stdout();
    // Whatever the program printed before serving goes out before the protocol starts.
    stdout.lock().flush()?;
    let protocol = stdout.as_fd().try_clone_to_owned()?;
    rustix::stdio::dup2_stdout(io::stderr())?;
    Ok(tokio::fs::File::from_std(std::fs::File::from(protocol)))
}

/// Where protocol lines go: stdout itself, where descriptors cannot be moved portably.
#[cfg(not(unix))]
pub(crate) fn protocol_output() -> io::Result<tokio::io::Stdout> {
    Ok(tokio::io::stdout())
}
