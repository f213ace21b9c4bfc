//! `serve_tcp` over real sockets on 127.0.0.1 (port 0: the system picks a
//! free one), spoken to with std's `TcpStream` and, if installed, `curl`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use super::support::*;
use crate::serve::{serve_tcp, AccessLogEntry, Limits, LoadNotice, ServeError, StaticSite};

/// A server running on its own thread, stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), ServeError>>>,
    log: Arc<Mutex<Vec<AccessLogEntry>>>,
    notices: Arc<Mutex<Vec<LoadNotice>>>,
}

impl Server {
    fn start(root: &Path) -> Self {
        Self::with_limits(root, Limits::default())
    }

    fn with_limits(root: &Path, limits: Limits) -> Self {
        let site = StaticSite::new(root).expect("site");
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let notices = Arc::new(Mutex::new(Vec::new()));
        let (bound, addr) = mpsc::channel();
        let thread = thread::spawn({
            let stop = Arc::clone(&stop);
            let log = Arc::clone(&log);
            let notices = Arc::clone(&notices);
            move || {
                let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
                serve_tcp(
                    &site,
                    any_port,
                    &limits,
                    &stop,
                    &|addr| bound.send(addr).expect("test alive"),
                    &|entry| log.lock().expect("log").push(entry.clone()),
                    &|notice| {
                        let copy = LoadNotice {
                            last_error: None,
                            ..*notice
                        };
                        notices.lock().expect("notices").push(copy);
                    },
                )
            }
        });
        let addr = addr
            .recv_timeout(Duration::from_secs(10))
            .expect("the server reports its address");
        assert_eq!(addr.ip().to_string(), "127.0.0.1");
        assert_ne!(addr.port(), 0);
        Server {
            addr,
            stop,
            thread: Some(thread),
            log,
            notices,
        }
    }

    /// A new connection, and a buffered reader on it; reads time out so
    /// that a server bug fails the test instead of hanging it.
    fn connect(&self) -> (TcpStream, BufReader<TcpStream>) {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        (stream, reader)
    }

    /// Stops the server, checks that `serve_tcp` returned `Ok`, and returns
    /// the access log (complete: every connection thread has ended).
    fn shutdown(mut self) -> Vec<AccessLogEntry> {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("running");
        thread
            .join()
            .expect("the server thread does not panic")
            .expect("serve_tcp stops cleanly");
        self.log.lock().expect("log").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn entry(method: &str, path: &str, status: u16, bytes: u64) -> AccessLogEntry {
    AccessLogEntry {
        method: method.to_owned(),
        path: path.to_owned(),
        status,
        bytes,
    }
}

fn request(method: &str, target: &str, extra: &str) -> String {
    format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n")
}

fn deb_reply(status_line: &str, extra: &[(&str, &str)], length: &str, body: &[u8]) -> Reply {
    let mut headers = vec![
        ("Content-Type", DEB_TYPE),
        ("Last-Modified", LAST_MODIFIED),
        ("Accept-Ranges", "bytes"),
    ];
    headers.extend_from_slice(extra);
    headers.push(("Content-Length", length));
    Reply::new(status_line, &headers, body)
}

/// Asserts that the server closed the connection (end of stream).
fn assert_closed(reader: &mut BufReader<TcpStream>) {
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).expect("read to end");
    assert_eq!(String::from_utf8_lossy(&rest), "");
}

#[test]
fn tcp_get_head_404_405_reuse_one_keep_alive_connection() {
    let repo = Repo::new();
    let server = Server::start(&repo.root);
    let (mut stream, mut reader) = server.connect();
    let exchanges = [
        (
            request("GET", DEB_URL, ""),
            false,
            deb_reply("HTTP/1.1 200 OK", &[], "10", DEB_BODY),
        ),
        (
            request("HEAD", DEB_URL, ""),
            true,
            deb_reply("HTTP/1.1 200 OK", &[], "10", b""),
        ),
        (
            request("GET", "/pool/missing.deb", ""),
            false,
            Reply::error("HTTP/1.1 404 Not Found", &[], false, false),
        ),
        (
            request("HEAD", "/.buildkit/secret", ""),
            true,
            Reply::error("HTTP/1.1 404 Not Found", &[], false, true),
        ),
        (
            request("PUT", DEB_URL, "Content-Length: 3\r\n") + "abc",
            false,
            Reply::error(
                "HTTP/1.1 405 Method Not Allowed",
                &[("Allow", "GET, HEAD")],
                false,
                false,
            ),
        ),
    ];
    // One request at a time, each sent only after the previous answer was
    // read: the connection is reused, not reopened.
    for (request, head_only, expected) in exchanges {
        stream.write_all(request.as_bytes()).expect("send");
        assert_eq!(read_reply(&mut reader, head_only), expected, "{request}");
    }
    drop((stream, reader));
    assert_eq!(
        server.shutdown(),
        [
            entry("GET", DEB_URL, 200, 10),
            entry("HEAD", DEB_URL, 200, 0),
            entry("GET", "/pool/missing.deb", 404, 14),
            entry("HEAD", "/.buildkit/secret", 404, 0),
            entry("PUT", DEB_URL, 405, 23),
        ]
    );
}

#[test]
fn tcp_range_206_and_416() {
    let repo = Repo::new();
    let server = Server::start(&repo.root);
    let (mut stream, mut reader) = server.connect();
    stream
        .write_all(request("GET", DEB_URL, "Range: bytes=2-5\r\n").as_bytes())
        .expect("send");
    assert_eq!(
        read_reply(&mut reader, false),
        deb_reply(
            "HTTP/1.1 206 Partial Content",
            &[("Content-Range", "bytes 2-5/10")],
            "4",
            b"2345"
        )
    );
    // apt resuming a download it already has completely.
    stream
        .write_all(request("GET", DEB_URL, "Range: bytes=10-\r\n").as_bytes())
        .expect("send");
    assert_eq!(
        read_reply(&mut reader, false),
        Reply::error(
            "HTTP/1.1 416 Range Not Satisfiable",
            &[("Content-Range", "bytes */10")],
            false,
            false
        )
    );
}

#[test]
fn tcp_if_modified_since_304() {
    let repo = Repo::new();
    let server = Server::start(&repo.root);
    let (mut stream, mut reader) = server.connect();
    let since = format!("If-Modified-Since: {LAST_MODIFIED}\r\n");
    stream
        .write_all(request("GET", DEB_URL, &since).as_bytes())
        .expect("send");
    assert_eq!(
        read_reply(&mut reader, false),
        Reply::new(
            "HTTP/1.1 304 Not Modified",
            &[("Last-Modified", LAST_MODIFIED)],
            b""
        )
    );
    let earlier = "If-Modified-Since: Sat, 01 Jun 2024 09:59:59 GMT\r\n";
    stream
        .write_all(request("GET", DEB_URL, earlier).as_bytes())
        .expect("send");
    assert_eq!(read_reply(&mut reader, false).body, DEB_BODY);
}

#[test]
fn tcp_a_file_a_publish_replaces_is_never_304_nor_partial() {
    // Two publishes within one second give Release the same date: only
    // the bytes tell the versions apart, so they are always sent whole.
    let repo = Repo::new();
    let server = Server::start(&repo.root);
    let (mut stream, mut reader) = server.connect();
    for path in [
        "/dists/stable/Release",
        "//dists/stable/Release",
        "/./dists/stable/Release",
    ] {
        for extra in [
            format!("If-Modified-Since: {LAST_MODIFIED}\r\n"),
            format!("Range: bytes=0-3\r\nIf-Range: {LAST_MODIFIED}\r\n"),
            "Range: bytes=0-3\r\n".to_owned(),
        ] {
            stream
                .write_all(request("GET", path, &extra).as_bytes())
                .expect("send");
            let reply = read_reply(&mut reader, false);
            assert_eq!(reply.status_line, "HTTP/1.1 200 OK", "{path} {extra}");
            assert_eq!(reply.body, RELEASE_BODY, "{path} {extra}");
        }
    }
    // A by-hash object never changes: its date still answers 304.
    let by_hash = repo
        .root
        .join("dists/stable/main/binary-amd64/by-hash/SHA256/abc");
    write(&by_hash, b"index");
    let since = format!("If-Modified-Since: {LAST_MODIFIED}\r\n");
    stream
        .write_all(
            request(
                "GET",
                "/dists/stable/main/binary-amd64/by-hash/SHA256/abc",
                &since,
            )
            .as_bytes(),
        )
        .expect("send");
    assert_eq!(
        read_reply(&mut reader, false).status_line,
        "HTTP/1.1 304 Not Modified"
    );
}

#[test]
fn tcp_pipelined_requests_in_one_write() {
    let repo = Repo::new();
    let server = Server::start(&repo.root);
    let (mut stream, mut reader) = server.connect();
    let both = request("GET", "/dists/stable/Release", "") + &request("GET", DEB_URL, "");
    stream.write_all(both.as_bytes()).expect("send");
    assert_eq!(read_reply(&mut reader, false).body, RELEASE_BODY);
    assert_eq!(
        read_reply(&mut reader, false),
        deb_reply("HTTP/1.1 200 OK", &[], "10", DEB_BODY)
    );
    drop((stream, reader));
    assert_eq!(
        server.shutdown(),
        [
            entry("GET", "/dists/stable/Release", 200, 27),
            entry("GET", DEB_URL, 200, 10),
        ]
    );
}

#[test]
fn tcp_connection_close_is_honoured() {
    let repo = Repo::new();
    let server = Server::start(&repo.root);
    let (mut stream, mut reader) = server.connect();
    let closing = request("GET", DEB_URL, "Connection: close\r\n");
    // The second request must not be answered.
    stream
        .write_all((closing + &request("GET", DEB_URL, "")).as_bytes())
        .expect("send");
    assert_eq!(
        read_reply(&mut reader, false),
        deb_reply("HTTP/1.1 200 OK", &[], "10", DEB_BODY).with_connection_close()
    );
    assert_closed(&mut reader);
    assert_eq!(server.shutdown(), [entry("GET", DEB_URL, 200, 10)]);
}

#[test]
fn tcp_an_error_answer_survives_unread_input() {
    // Closing a socket with unread input makes TCP reset the connection,
    // which can destroy the answer before the client reads it; the server
    // lingers, reading, until the client has closed too.
    let repo = Repo::new();
    let server = Server::start(&repo.root);
    let (mut stream, mut reader) = server.connect();
    let mut request = b"GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_vec();
    request.resize(request.len() + 512 * 1024, b'x');
    stream.write_all(&request).expect("send");
    assert_eq!(
        read_reply(&mut reader, false),
        Reply::error("HTTP/1.1 400 Bad Request", &[], true, false)
    );
    assert_closed(&mut reader);
    drop((stream, reader));
    assert_eq!(server.shutdown(), [entry("", "", 400, 16)]);
}

#[test]
fn tcp_a_client_leaving_mid_response_does_not_stop_the_server() {
    let repo = Repo::with_big_file();
    let server = Server::start(&repo.root);
    {
        let (mut stream, mut reader) = server.connect();
        stream
            .write_all(request("GET", "/big.bin", "").as_bytes())
            .expect("send");
        let mut status_line = String::new();
        reader.read_line(&mut status_line).expect("status line");
        assert_eq!(status_line, "HTTP/1.1 200 OK\r\n");
        // Leave with megabytes still to come.
    }
    let (mut stream, mut reader) = server.connect();
    stream
        .write_all(request("GET", "/big.bin", "Connection: close\r\n").as_bytes())
        .expect("send");
    let reply = read_reply(&mut reader, false);
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert!(reply.body == big_body(), "big.bin arrives intact");
    assert_closed(&mut reader);
    // The first connection's entry may come last, and how much of big.bin
    // it got depends on socket buffer sizes: only its status is certain.
    let mut log = server.shutdown();
    log.sort_by_key(|e| e.bytes);
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].status, 200);
    assert_eq!(log[1], entry("GET", "/big.bin", 200, BIG_LEN as u64));
}

#[test]
fn tcp_stop_ends_idle_connections_promptly() {
    let repo = Repo::new();
    let server = Server::start(&repo.root);
    let (mut stream, mut reader) = server.connect();
    stream
        .write_all(request("GET", DEB_URL, "").as_bytes())
        .expect("send");
    read_reply(&mut reader, false);
    // The connection now idles in keep-alive; stopping must not wait for
    // the 30 s idle timeout.
    let started = Instant::now();
    server.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_closed(&mut reader);
}

#[test]
fn tcp_bind_failure_names_the_address() {
    let taken = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
    let addr = taken.local_addr().expect("addr");
    let repo = Repo::new();
    let site = StaticSite::new(&repo.root).expect("site");
    let stop = AtomicBool::new(false);
    let error = serve_tcp(
        &site,
        addr,
        &Limits::default(),
        &stop,
        &|_| panic!("not bound"),
        &|_| {},
        &|_| {},
    )
    .expect_err("the port is taken");
    assert_eq!(error.to_string(), format!("could not listen on {addr}"));
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "a skipped test must say so where the test runner shows it"
)]
fn tcp_curl_fetches_a_range() {
    let Ok(found) = Command::new("which").arg("curl").output() else {
        eprintln!("SKIPPED tcp_curl_fetches_a_range: `which` could not run");
        return;
    };
    if !found.status.success() {
        eprintln!("SKIPPED tcp_curl_fetches_a_range: curl is not installed");
        return;
    }
    let repo = Repo::new();
    let server = Server::start(&repo.root);
    let url = format!("http://{}{DEB_URL}", server.addr);
    let output = Command::new("curl")
        .args(["-s", "--http1.1", "-r", "0-4", "--max-time", "10", &url])
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "curl failed: {output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "01234");
    // curl sends the path as given; the log keeps it verbatim.
    assert_eq!(server.shutdown(), [entry("GET", DEB_URL, 206, 5)]);
}

/// Limits small enough for a test to reach in a second or two.
fn tight(max_connections: usize) -> Limits {
    Limits {
        max_connections,
        keep_alive: Duration::from_millis(600),
        request_deadline: Duration::from_millis(1200),
        send_timeout: Duration::from_secs(10),
    }
}

/// Reads until the server closes the connection; how long that took, and
/// what came before the end.
fn wait_for_close(reader: &mut BufReader<TcpStream>) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).expect("read to end");
    (started.elapsed(), rest)
}

#[test]
fn tcp_a_trickled_request_gets_no_more_than_the_request_deadline() {
    // A slow loris: one byte every 100 ms, never finishing the head. Each
    // byte would reset a per-read timeout; the deadline counts from the first.
    let repo = Repo::new();
    let server = Server::with_limits(&repo.root, tight(8));
    let (stream, mut reader) = server.connect();
    let trickle = thread::spawn(move || {
        let started = Instant::now();
        let mut stream = stream;
        for byte in b"GET / HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain([b'x'; 100].iter())
        {
            if stream.write_all(&[*byte]).is_err() {
                return started.elapsed();
            }
            thread::sleep(Duration::from_millis(100));
        }
        started.elapsed()
    });
    let (closed_after, answer) = wait_for_close(&mut reader);
    assert_eq!(String::from_utf8_lossy(&answer), "");
    assert!(
        closed_after >= Duration::from_millis(1100) && closed_after < Duration::from_millis(2500),
        "closed after {closed_after:?}"
    );
    let writing_for = trickle.join().expect("trickle");
    assert!(writing_for < Duration::from_secs(5), "{writing_for:?}");
    assert_eq!(server.shutdown(), []);
}

#[test]
fn tcp_an_idle_connection_is_closed_after_keep_alive_before_and_after_a_request() {
    let repo = Repo::new();
    let server = Server::with_limits(&repo.root, tight(8));
    // Never a byte.
    let (_silent, mut silent_reader) = server.connect();
    let (closed_after, answer) = wait_for_close(&mut silent_reader);
    assert_eq!(answer, b"");
    assert!(
        closed_after >= Duration::from_millis(500) && closed_after < Duration::from_millis(1500),
        "closed after {closed_after:?}"
    );
    // One request, then silence: the wait counts from the answer.
    let (mut stream, mut reader) = server.connect();
    thread::sleep(Duration::from_millis(400));
    stream
        .write_all(request("GET", DEB_URL, "").as_bytes())
        .expect("send");
    assert_eq!(
        read_reply(&mut reader, false),
        deb_reply("HTTP/1.1 200 OK", &[], "10", DEB_BODY)
    );
    let (closed_after, answer) = wait_for_close(&mut reader);
    assert_eq!(answer, b"");
    assert!(
        closed_after >= Duration::from_millis(500) && closed_after < Duration::from_millis(1500),
        "closed after {closed_after:?}"
    );
    assert_eq!(server.shutdown(), [entry("GET", DEB_URL, 200, 10)]);
}

#[test]
fn tcp_at_the_cap_the_longest_waiting_connection_makes_room() {
    let repo = Repo::new();
    let server = Server::with_limits(
        &repo.root,
        Limits {
            keep_alive: Duration::from_secs(60),
            request_deadline: Duration::from_secs(60),
            ..tight(2)
        },
    );
    let (_first, mut first_reader) = server.connect();
    thread::sleep(Duration::from_millis(200));
    let (mut second, mut second_reader) = server.connect();
    thread::sleep(Duration::from_millis(200));
    // Both slots are taken by idle clients; a third, working one is served.
    let (mut third, mut third_reader) = server.connect();
    third
        .write_all(request("GET", DEB_URL, "").as_bytes())
        .expect("send");
    assert_eq!(
        read_reply(&mut third_reader, false),
        deb_reply("HTTP/1.1 200 OK", &[], "10", DEB_BODY)
    );
    // The oldest idle connection paid for it; the younger one still works.
    let (closed_after, answer) = wait_for_close(&mut first_reader);
    assert_eq!(
        (answer, closed_after < Duration::from_secs(1)),
        (Vec::new(), true)
    );
    second
        .write_all(request("GET", DEB_URL, "Connection: close\r\n").as_bytes())
        .expect("send");
    assert_eq!(
        read_reply(&mut second_reader, false),
        deb_reply("HTTP/1.1 200 OK", &[], "10", DEB_BODY).with_connection_close()
    );
    drop((third, third_reader));
    // Read after shutdown: the accept loop tells what is left when it stops.
    let notices = Arc::clone(&server.notices);
    let log = server.shutdown();
    let notices = notices.lock().expect("notices").len();
    assert_eq!(
        log,
        [
            entry("GET", DEB_URL, 200, 10),
            entry("GET", DEB_URL, 200, 10)
        ]
    );
    assert!(notices >= 1, "the eviction was reported");
}

#[test]
fn tcp_at_the_cap_with_every_connection_busy_a_new_one_gets_503() {
    let repo = Repo::with_big_file();
    let server = Server::with_limits(&repo.root, tight(1));
    // A client that asks for 8 MiB and does not read it keeps its slot busy.
    let (mut busy, mut busy_reader) = server.connect();
    busy.write_all(request("GET", "/big.bin", "").as_bytes())
        .expect("send");
    let mut status_line = String::new();
    busy_reader
        .read_line(&mut status_line)
        .expect("status line");
    assert_eq!(status_line, "HTTP/1.1 200 OK\r\n");
    let (_refused, mut refused_reader) = server.connect();
    assert_eq!(
        read_reply(&mut refused_reader, false),
        Reply::error(
            "HTTP/1.1 503 Service Unavailable",
            &[("Retry-After", "1")],
            true,
            false
        )
    );
    assert_closed(&mut refused_reader);
    drop((busy, busy_reader));
    // Read after shutdown: the accept loop tells what is left when it stops.
    let notices = Arc::clone(&server.notices);
    server.shutdown();
    let refused: u64 = notices
        .lock()
        .expect("notices")
        .iter()
        .map(|n| n.refused)
        .sum();
    assert_eq!(refused, 1);
}
