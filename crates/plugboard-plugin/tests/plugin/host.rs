//! The host's side of an in-process session: the test writes what the host would and reads
//! what the plugin answers, never waiting forever.

use std::time::Duration;

use plugboard_plugin::{Plugin, ServeError, serve_io};
use plugboard_protocol::{
    Answer, HostMessage, PROTOCOL_VERSIONS, PluginMessage, WireCredential, WireSecret, decode,
    encode,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::task::JoinHandle;

/// Longest wait for one message; far longer than any answer takes, so a hang fails the test.
const PATIENCE: Duration = Duration::from_secs(20);

/// A plugin served in-process, and the host's ends of its stdin and stdout.
pub struct Host {
    to_plugin: Option<DuplexStream>,
    from_plugin: BufReader<DuplexStream>,
    serving: JoinHandle<Result<(), ServeError>>,
}

impl Host {
    /// Starts serving `plugin`; nothing is read yet.
    pub fn start(plugin: Plugin) -> Self {
        // Two pipes, so closing the host's writing end is the plugin's end of input.
        let (to_plugin, plugin_stdin) = tokio::io::duplex(1 << 16);
        let (plugin_stdout, from_plugin) = tokio::io::duplex(1 << 16);
        let serving = tokio::spawn(serve_io(plugin, plugin_stdin, plugin_stdout));
        Self {
            to_plugin: Some(to_plugin),
            from_plugin: BufReader::new(from_plugin),
            serving,
        }
    }

    /// Starts serving `plugin` and agrees on version 1, as the host does.
    pub async fn started(plugin: Plugin) -> Self {
        let mut host = Self::start(plugin);
        match host.recv().await {
            PluginMessage::Hello { versions, .. } => assert_eq!(versions, PROTOCOL_VERSIONS),
            other => panic!("expected hello, got {other:?}"),
        }
        host.send(&HostMessage::Start { version: 1 }).await;
        host
    }

    /// Writes one message.
    pub async fn send(&mut self, message: &HostMessage) {
        self.send_line(&encode(message)).await;
    }

    /// Writes raw bytes, as a broken host might.
    pub async fn send_line(&mut self, line: &str) {
        self.send_bytes(line.as_bytes()).await;
    }

    /// Writes raw bytes.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        let pipe = self.to_plugin.as_mut().expect("the host's input is open");
        pipe.write_all(bytes).await.unwrap();
        pipe.flush().await.unwrap();
    }

    /// Answers the plugin's prompt or `open_url` of `id`.
    pub async fn answer(&mut self, id: u64, answer: Answer) {
        self.send(&HostMessage::Answer { id, answer }).await;
    }

    /// The plugin's next line, or `None` when its output ended.
    pub async fn recv_line(&mut self) -> Option<String> {
        let mut line = String::new();
        let read = tokio::time::timeout(PATIENCE, self.from_plugin.read_line(&mut line))
            .await
            .expect("the plugin answered in time")
            .unwrap();
        (read > 0).then_some(line)
    }

    /// The plugin's next message.
    pub async fn recv(&mut self) -> PluginMessage {
        let line = self.recv_line().await.expect("the plugin wrote a message");
        decode(&line).unwrap_or_else(|e| panic!("not a plugin message: {e}: {line}"))
    }

    /// Closes the plugin's input, then returns what it wrote after the messages read so far and
    /// how its session ended.
    pub async fn close(mut self) -> (Vec<PluginMessage>, Result<(), ServeError>) {
        self.to_plugin = None;
        self.finish().await
    }

    /// Goes away at once, both pipes closed, as a host that was killed; returns how the
    /// session ended.
    pub async fn vanish(self) -> Result<(), ServeError> {
        let Self {
            to_plugin,
            from_plugin,
            serving,
        } = self;
        drop((to_plugin, from_plugin));
        tokio::time::timeout(PATIENCE, serving)
            .await
            .expect("the session ended in time")
            .unwrap()
    }

    /// Waits for the session to end by itself (after an error), returning what it wrote.
    pub async fn finish(mut self) -> (Vec<PluginMessage>, Result<(), ServeError>) {
        let mut rest = Vec::new();
        while let Some(line) = self.recv_line().await {
            rest.push(decode(&line).unwrap());
        }
        let ended = tokio::time::timeout(PATIENCE, self.serving)
            .await
            .expect("the session ended in time")
            .unwrap();
        (rest, ended)
    }
}

/// An API-key credential on the wire.
pub fn api_key(key: &str) -> WireCredential {
    WireCredential::ApiKey {
        key: WireSecret(key.to_owned()),
        provenance: Default::default(),
    }
}
