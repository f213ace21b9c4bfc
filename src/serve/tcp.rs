//! Serving over TCP: one listening socket, a thread per admitted connection,
//! all ended by a stop flag. Connection threads are scoped to the server
//! call, so when [`serve_tcp`] returns no thread of it is left running.
//!
//! The server stays up whatever clients do ([`Limits`]): connections are
//! capped, so threads and descriptors are too; a connection waiting for a
//! request is timed from when it began waiting, and a request from its first
//! byte, so trickling bytes buys no time; and no accept error ends the
//! server — running out of descriptors closes the longest-idle connection,
//! waits a moment and goes on.
//!
//! Threads rather than an event loop: apt opens one or two connections per
//! host, each busy for its whole life, and a blocking thread per connection
//! keeps the code straight-line std; the cap is what bounds the threads.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::access_log::AccessLogEntry;
use super::connection::{serve_connection, Answer};
use super::limits::Limits;
use super::notice::{LoadNotice, Tally};
use super::response::{send, Parts, Response, Status};
use super::site::StaticSite;
use super::slots::{Admission, Connections, Slot, Wait};
use super::ServeError;

/// How often the accept loop looks at the stop flag while no client comes.
const ACCEPT_POLL: Duration = Duration::from_millis(50);
/// The first and the longest wait after a failed accept.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));
/// How long a closing connection goes on reading (and dropping) what the
/// client still sends, so that closing with unread input — which makes TCP
/// send a reset — cannot destroy the last response (RFC 9112 §9.6).
const LINGER: Duration = Duration::from_secs(1);
/// Stack of a connection thread: it parses a head and copies a file through
/// heap buffers, far from std's 2 MiB default.
const CONNECTION_STACK: usize = 256 * 1024;

/// A TCP server: binds `bind`, calls `on_bound` with the address actually
/// bound (port 0 becomes the real port), then serves each connection on its
/// own thread, within `limits`, until `stop` becomes true, and returns once
/// every connection has ended (at once: they are shut down).
///
/// The address is the caller's explicit choice: nothing here refuses a
/// non-loopback one. The CLI binds 127.0.0.1 unless told otherwise, because
/// the repository is then readable by anyone who can reach the port.
///
/// `log` is called from the connection threads, possibly at the same time;
/// `notice` from the accept loop, at most once a second, when connections
/// were closed or refused to stay within the limits or accepting failed.
/// Errors of a single connection (a file failing to read mid-response) end
/// that connection only; its access log entry is still written. Only a
/// failure to bind is an error: nothing after that stops the server.
pub fn serve_tcp(
    site: &StaticSite,
    bind: SocketAddr,
    limits: &Limits,
    stop: &AtomicBool,
    on_bound: &dyn Fn(SocketAddr),
    log: &(dyn Fn(&AccessLogEntry) + Sync),
    notice: &dyn Fn(&LoadNotice),
) -> Result<(), ServeError> {
    serve_tcp_with(site, bind, limits, stop, on_bound, log, notice)
}

/// [`serve_tcp`] for any [`Answer`]: the proxy's loopback server.
pub(crate) fn serve_tcp_with(
    site: &(dyn Answer + Sync),
    bind: SocketAddr,
    limits: &Limits,
    stop: &AtomicBool,
    on_bound: &dyn Fn(SocketAddr),
    log: &(dyn Fn(&AccessLogEntry) + Sync),
    notice: &dyn Fn(&LoadNotice),
) -> Result<(), ServeError> {
    let bind_error = |source| ServeError::Bind { addr: bind, source };
    let listener = TcpListener::bind(bind).map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    // Non-blocking so that the loop below notices `stop` while idle.
    listener.set_nonblocking(true).map_err(bind_error)?;
    on_bound(addr);
    let connections = Connections::new(limits.max_connections);
    thread::scope(|scope| {
        let mut tally = Tally::default();
        let mut backoff = BACKOFF.0;
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _peer)) => {
                    backoff = BACKOFF.0;
                    match connections.admit(stream) {
                        Admission::Admitted { slot, evicted } => {
                            if evicted {
                                tally.evicted();
                            }
                            spawn_connection(scope, &connections, slot, move |slot| {
                                serve_slot(site, slot, limits, log)
                            });
                        }
                        Admission::Full(stream) => {
                            tally.refused();
                            refuse(&stream);
                        }
                    }
                }
                Err(error) => backoff = accept_failed(error, &connections, &mut tally, backoff),
            }
            if let Some(load) = tally.notice(connections.len(), connections.max(), false) {
                notice(&load);
            }
        }
        if let Some(load) = tally.notice(connections.len(), connections.max(), true) {
            notice(&load);
        }
        connections.close_all();
    });
    Ok(())
}

/// Runs `serve` for an admitted connection on its own scoped thread, which
/// gives the slot back when it ends. Without a thread the connection closes
/// and the server goes on.
fn spawn_connection<'scope>(
    scope: &'scope thread::Scope<'scope, '_>,
    connections: &'scope Connections,
    slot: Arc<Slot>,
    serve: impl FnOnce(&Slot) + Send + 'scope,
) {
    let spawned = thread::Builder::new()
        .name("serve-connection".to_owned())
        .stack_size(CONNECTION_STACK)
        .spawn_scoped(scope, {
            let slot = Arc::clone(&slot);
            move || {
                serve(&slot);
                connections.release(&slot);
            }
        });
    if spawned.is_err() {
        connections.release(&slot);
    }
}

/// Waits out a failed `accept`, returning the next backoff. No client
/// waiting polls again soon; a client that gave up before it was accepted
/// is nothing; any other failure waits, doubling each time up to
/// [`BACKOFF`]'s longest. Out of descriptors or memory passes as connections
/// end, so the longest-idle one is ended now. A server that exits leaves apt
/// with nothing, one that waits recovers when the cause does.
fn accept_failed(
    error: io::Error,
    connections: &Connections,
    tally: &mut Tally,
    backoff: Duration,
) -> Duration {
    match error.kind() {
        io::ErrorKind::WouldBlock => {
            thread::sleep(ACCEPT_POLL);
            backoff
        }
        io::ErrorKind::Interrupted
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset => backoff,
        _ => {
            if runs_out_of_resources(&error) && connections.evict_oldest() {
                tally.evicted();
            }
            tally.accept_failed(error);
            thread::sleep(backoff);
            (backoff * 2).min(BACKOFF.1)
        }
    }
}

/// Whether an accept failed for want of descriptors or memory (EMFILE,
/// ENFILE, ENOBUFS, ENOMEM), which closing a connection relieves.
fn runs_out_of_resources(error: &io::Error) -> bool {
    error.raw_os_error().is_some_and(|code| {
        matches!(
            Errno::from_raw(code),
            Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM
        )
    })
}

/// Answers a connection there is no room for with 503, without waiting: the
/// short answer fits in the socket's buffer, or is dropped.
fn refuse(stream: &TcpStream) {
    let mut response = Response::error(Status::ServiceUnavailable).with("Retry-After", "1");
    let mut bytes = Vec::new();
    let _ = send(
        &mut bytes,
        &mut response,
        Parts::Whole,
        Some("close"),
        &mut [],
    );
    if stream.set_nonblocking(true).is_ok() {
        let mut stream = stream;
        let _ = stream.write_all(&bytes);
    }
    let _ = stream.shutdown(Shutdown::Write);
}

/// Serves one admitted connection until it ends.
fn serve_slot(
    site: &(dyn Answer + Sync),
    slot: &Slot,
    limits: &Limits,
    log: &(dyn Fn(&AccessLogEntry) + Sync),
) {
    let stream = &slot.stream;
    // No delay: each response is one buffered write, and pipelined answers
    // must not wait for the client's delayed ACK (Nagle).
    let ready = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_write_timeout(Some(limits.send_timeout)))
        .and_then(|()| stream.set_nodelay(true));
    if ready.is_err() {
        return;
    }
    let reader = PacedReader { slot, limits };
    // The error of one connection ends that connection only; there is no
    // one to tell but the access log, which already has the entry.
    let _ = serve_connection(site, reader, stream, slot, log);
    linger(stream);
}

/// Half-closes `stream`, then reads until the client closes its side too,
/// or [`LINGER`] passes (or the server shuts the socket down).
fn linger(stream: &TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER;
    let mut stream = stream;
    let mut discard = [0; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut discard) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

/// Reads from a connection within the time its [`Slot`] allows, reporting
/// the end of the stream once that time is up or the slot is closed.
struct PacedReader<'a> {
    slot: &'a Slot,
    limits: &'a Limits,
}

impl Read for PacedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let (timeout, per_read) = match self.slot.wait(self.limits) {
                Wait::Closed => return Ok(0),
                Wait::Each(timeout) => (timeout, true),
                Wait::Until(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => (left, false),
                    _ => return Ok(0),
                },
            };
            self.slot.stream.set_read_timeout(Some(timeout))?;
            let mut stream = &self.slot.stream;
            match stream.read(buf) {
                Ok(0) => return Ok(0),
                Ok(n) => {
                    self.slot.bytes_arrived();
                    return Ok(n);
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if per_read {
                        return Ok(0);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
}
