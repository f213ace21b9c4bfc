//! How much of the server a client may hold, and for how long. A repository
//! server on a shared host is reachable by anything that can reach the port;
//! these limits keep it answering apt whatever other clients do: thousands
//! of idle connections, a head trickled one byte at a time ("slow loris"),
//! a client that stops reading.

use std::time::Duration;

/// The limits of the TCP server ([`serve_tcp`](super::serve_tcp)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once, each on its own thread. When all are open,
    /// a new connection closes the one that has waited longest for a
    /// request (nginx does the same with idle keep-alive connections), so
    /// that idle clients cannot lock out a working one; when none is
    /// waiting — all are being answered — the new one gets 503.
    pub max_connections: usize,
    /// How long a connection may wait for the first byte of a request (its
    /// first, or the next on a persistent connection) before it is closed.
    pub keep_alive: Duration,
    /// How long a request — its head and any body — may take to arrive in
    /// full, counted from its first byte. Unlike a per-read timeout, a
    /// client sending one byte at a time cannot extend it.
    pub request_deadline: Duration,
    /// How long one write of a response may wait for the client to take it.
    pub send_timeout: Duration,
}

impl Limits {
    /// The default `max_connections`: with two descriptors per connection at
    /// most (the socket and the file being sent), 256 fit well within the
    /// usual open-file limit of 1024.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            // apt reuses a connection within milliseconds or not at all.
            keep_alive: Duration::from_secs(15),
            // apt sends each head in one write; even a guest over a slow
            // link sends a few hundred bytes in well under a second.
            request_deadline: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
        }
    }
}
