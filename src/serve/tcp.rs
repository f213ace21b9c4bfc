//! Serving over TCP: one listening socket, one thread per connection, all
//! ended by a stop flag. Connection threads are scoped to the server call, so
//! when [`serve_tcp`] returns no thread of it is left running.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::access_log::AccessLogEntry;
use super::site::StaticSite;
use super::ServeError;

/// How often the accept loop looks at the stop flag.
const ACCEPT_POLL: Duration = Duration::from_millis(50);
/// How often a connection waiting for a request looks at the stop flag.
const READ_POLL: Duration = Duration::from_millis(100);
/// How long a connection may wait for the client — for its next request, or
/// to take more of a response — before it is closed, so that idle keep-alive
/// connections do not hold threads for ever.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a closing connection goes on reading (and dropping) what the
/// client still sends, so that closing with unread input — which makes TCP
/// send a reset — cannot destroy the last response (RFC 9112 §9.6).
const LINGER: Duration = Duration::from_secs(1);
/// Consecutive failed accepts (each followed by [`ACCEPT_POLL`] of rest)
/// after which the listener is deemed broken: about five seconds.
const MAX_ACCEPT_FAILURES: u32 = 100;

/// A TCP server: binds `bind`, calls `on_bound` with the address actually
/// bound (port 0 becomes the real port), then serves each connection on its
/// own thread until `stop` becomes true, and returns once every connection
/// has ended (within a fraction of a second for idle ones).
///
/// The address is the caller's explicit choice: nothing here refuses a
/// non-loopback one. The CLI binds 127.0.0.1 unless told otherwise, because
/// the repository is then readable by anyone who can reach the port.
///
/// `log` is called from the connection threads, possibly at the same time.
/// Errors of a single connection (a file failing to read mid-response) end
/// that connection only; its access log entry is still written.
pub fn serve_tcp(
    site: &StaticSite,
    bind: SocketAddr,
    stop: &AtomicBool,
    on_bound: &dyn Fn(SocketAddr),
    log: &(dyn Fn(&AccessLogEntry) + Sync),
) -> Result<(), ServeError> {
    let bind_error = |source| ServeError::Bind { addr: bind, source };
    let listener = TcpListener::bind(bind).map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    // Non-blocking so that the loop below notices `stop` while idle.
    listener.set_nonblocking(true).map_err(bind_error)?;
    on_bound(addr);
    // Set when the listener breaks, to end the connections as `stop` would.
    let broken = AtomicBool::new(false);
    let ending = || stop.load(Ordering::Relaxed) || broken.load(Ordering::Relaxed);
    thread::scope(|scope| {
        let mut failures = 0;
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _peer)) => {
                    failures = 0;
                    let ending = &ending;
                    let spawned = thread::Builder::new()
                        .name("serve-connection".to_owned())
                        .spawn_scoped(scope, move || serve_stream(site, stream, ending, log));
                    // Without a thread the stream is dropped, which closes
                    // that connection; the server goes on.
                    drop(spawned);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    thread::sleep(ACCEPT_POLL);
                }
                // The client gave up before it was accepted.
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::Interrupted
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) => {}
                // Out of file descriptors or memory passes once connections
                // end; a listener that keeps failing is broken.
                Err(source) => {
                    failures += 1;
                    if failures >= MAX_ACCEPT_FAILURES {
                        broken.store(true, Ordering::Relaxed);
                        return Err(ServeError::Accept { addr, source });
                    }
                    thread::sleep(ACCEPT_POLL);
                }
            }
        }
        Ok(())
    })
}

/// Serves one accepted connection until it ends.
fn serve_stream(
    site: &StaticSite,
    stream: TcpStream,
    ending: &(dyn Fn() -> bool + Sync),
    log: &(dyn Fn(&AccessLogEntry) + Sync),
) {
    // Accepted sockets inherit the listener's non-blocking mode on some
    // systems. No delay: each response is one buffered write, and pipelined
    // answers must not wait for the client's delayed ACK (Nagle).
    let ready = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(READ_POLL)))
        .and_then(|()| stream.set_write_timeout(Some(IDLE_TIMEOUT)))
        .and_then(|()| stream.set_nodelay(true));
    if ready.is_err() {
        return;
    }
    let reader = IdleReader {
        stream: &stream,
        ending,
        idle: IDLE_TIMEOUT,
    };
    // The error of one connection ends that connection only; there is no
    // one to tell but the access log, which already has the entry.
    let _ = site.handle_connection(reader, &stream, log);
    linger(&stream, ending);
}

/// Half-closes `stream`, then reads until the client closes its side too,
/// [`LINGER`] passes, or the server is stopping.
fn linger(stream: &TcpStream, ending: &(dyn Fn() -> bool + Sync)) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER;
    let mut stream = stream;
    let mut discard = [0; 4096];
    while Instant::now() < deadline && !ending() {
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

/// Reads from a connection, reporting end of stream once the server is
/// stopping or the client has sent nothing for `idle`.
struct IdleReader<'a> {
    stream: &'a TcpStream,
    ending: &'a (dyn Fn() -> bool + Sync),
    idle: Duration,
}

impl Read for IdleReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let since = Instant::now();
        loop {
            if (self.ending)() {
                return Ok(0);
            }
            let mut stream = self.stream;
            match stream.read(buf) {
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if since.elapsed() >= self.idle {
                        return Ok(0);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                result => return result,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn idle_reader_ends_a_silent_connection_and_reads_a_talking_one() {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        server
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let never = || false;
        let mut reader = IdleReader {
            stream: &server,
            ending: &never,
            idle: Duration::from_millis(300),
        };
        client.write_all(b"GET").expect("write");
        let mut buf = [0; 8];
        assert_eq!(reader.read(&mut buf).expect("read"), 3);
        let started = Instant::now();
        assert_eq!(reader.read(&mut buf).expect("read"), 0);
        assert!(started.elapsed() >= Duration::from_millis(300));

        let always = || true;
        reader.ending = &always;
        client.write_all(b"more").expect("write");
        assert_eq!(reader.read(&mut buf).expect("read"), 0, "stopping wins");
    }
}
