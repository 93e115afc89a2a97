//! A service that gives one scripted answer to every request, on loopback: what the contract
//! harness serves a plugin's probes from, small enough to hold here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// The answer every request gets: a status and a body.
type Answer = Arc<Mutex<(u16, String)>>;

/// A loopback service with one answer for every request.
pub struct Service {
    base_url: String,
    answer: Answer,
}

impl Service {
    /// Listening when this returns; serves until the test process ends.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/api/v1", listener.local_addr().unwrap());
        let answer: Answer = Arc::new(Mutex::new((500, String::new())));
        let serving = Arc::clone(&answer);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (status, body) = serving.lock().unwrap().clone();
                // A client that hangs up early is its own business.
                let _ = respond(stream, status, &body);
            }
        });
        Self { base_url, answer }
    }

    /// Its API base, `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// From now on every request gets `status` and `body`.
    pub fn answer(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap() = (status, body.to_owned());
    }
}

/// Reads one request (headers and its `Content-Length` body) and answers it, then closes.
fn respond(stream: TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut request_body = vec![0; length];
    reader.read_exact(&mut request_body)?;
    let kind = if serde_json::from_str::<serde_json::Value>(body).is_ok() {
        "application/json"
    } else {
        "text/html"
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} Scripted\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}
