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
use crate::serve::{serve_tcp, AccessLogEntry, ServeError, StaticSite};

/// A server running on its own thread, stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), ServeError>>>,
    log: Arc<Mutex<Vec<AccessLogEntry>>>,
}

impl Server {
    fn start(root: &Path) -> Self {
        let site = StaticSite::new(root).expect("site");
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (bound, addr) = mpsc::channel();
        let thread = thread::spawn({
            let stop = Arc::clone(&stop);
            let log = Arc::clone(&log);
            move || {
                let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
                serve_tcp(
                    &site,
                    any_port,
                    &stop,
                    &|addr| bound.send(addr).expect("test alive"),
                    &|entry| log.lock().expect("log").push(entry.clone()),
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
        .write_all(request("GET", "/dists/stable/Release", &since).as_bytes())
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
        .write_all(request("GET", "/dists/stable/Release", earlier).as_bytes())
        .expect("send");
    assert_eq!(read_reply(&mut reader, false).body, RELEASE_BODY);
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
    let error = serve_tcp(&site, addr, &stop, &|_| panic!("not bound"), &|_| {})
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
