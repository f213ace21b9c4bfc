//! A fake mirror on 127.0.0.1 that counts what it is asked and can
//! misbehave, and a client that talks to the proxy over an in-memory
//! connection.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::proxy::upstream::EnvProxy;
use crate::proxy::{Cache, Mirrors, Proxy, ProxyOptions};

/// Upstream's `Last-Modified` for every file.
pub const LAST_MODIFIED: &str = "Sat, 01 Jun 2024 10:00:00 GMT";

/// How the fake mirror answers one path.
#[derive(Debug, Clone)]
pub enum Serve {
    /// 200 with the body (304 to a matching If-Modified-Since).
    File(Vec<u8>),
    /// A Content-Length for the whole body, then only `sent` bytes and a close.
    Truncated(Vec<u8>, usize),
    /// The status alone.
    Status(u16),
    /// The body after a pause.
    Slow(Vec<u8>, Duration),
    /// 301 to this URL.
    Redirect(String),
    /// 200 with the body and this Last-Modified (304 to a matching IMS).
    Dated(Vec<u8>, String),
    /// 200 with no Content-Length: the body ends when the connection does.
    Unsized(Vec<u8>),
    /// The head and `sent` bytes, then silence for the pause.
    Stall(Vec<u8>, usize, Duration),
}

/// A request the fake mirror received: its target and If-Modified-Since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub target: String,
    pub if_modified_since: Option<String>,
}

/// The fake mirror, serving `/debian/...` until dropped.
pub struct FakeMirror {
    pub addr: SocketAddr,
    pub files: Arc<Mutex<HashMap<String, Serve>>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeMirror {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let files: Arc<Mutex<HashMap<String, Serve>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (files, seen, stop) = (files.clone(), seen.clone(), stop.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (files, seen) = (files.clone(), seen.clone());
                            std::thread::spawn(move || answer(stream, &files, &seen));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            }
        });
        FakeMirror {
            addr,
            files,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// The mirror's URL as the allow-list holds it.
    pub fn url(&self) -> String {
        format!("http://{}/debian", self.addr)
    }

    /// The path-mode target for `path` below the mirror.
    pub fn target(&self, path: &str) -> String {
        format!("/{}/debian/{path}", self.addr)
    }

    pub fn put(&self, path: &str, serve: Serve) {
        self.files
            .lock()
            .expect("lock")
            .insert(format!("/debian/{path}"), serve);
    }

    pub fn requests(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }
}

impl Drop for FakeMirror {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(stream: TcpStream, files: &Mutex<HashMap<String, Serve>>, seen: &Mutex<Vec<Seen>>) {
    stream.set_nonblocking(false).expect("blocking");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split(' ').nth(1).unwrap_or("").to_owned();
    let mut ims = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("if-modified-since") {
                ims = Some(value.trim().to_owned());
            }
        }
    }
    seen.lock().expect("lock").push(Seen {
        target: target.clone(),
        if_modified_since: ims.clone(),
    });
    let serve = files.lock().expect("lock").get(&target).cloned();
    let mut out = stream;
    let head = |status: &str, len: usize| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {len}\r\nLast-Modified: {LAST_MODIFIED}\r\n\
             Connection: close\r\n\r\n"
        )
    };
    let _ = match serve {
        None => out.write_all(head("404 Not Found", 0).as_bytes()),
        Some(Serve::Status(code)) => out.write_all(head(&format!("{code} X"), 0).as_bytes()),
        Some(Serve::File(_)) if ims.as_deref() == Some(LAST_MODIFIED) => {
            out.write_all(b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n")
        }
        Some(Serve::Dated(_, date)) if ims.as_deref() == Some(date.as_str()) => {
            out.write_all(b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n")
        }
        Some(Serve::Dated(body, date)) => out
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: {date}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .and_then(|()| out.write_all(&body)),
        Some(Serve::File(body)) => out
            .write_all(head("200 OK", body.len()).as_bytes())
            .and_then(|()| out.write_all(&body)),
        Some(Serve::Truncated(body, sent)) => out
            .write_all(head("200 OK", body.len()).as_bytes())
            .and_then(|()| out.write_all(&body[..sent])),
        Some(Serve::Stall(body, sent, pause)) => {
            let written = out
                .write_all(head("200 OK", body.len()).as_bytes())
                .and_then(|()| out.write_all(&body[..sent]))
                .and_then(|()| out.flush());
            std::thread::sleep(pause);
            written
        }
        Some(Serve::Unsized(body)) => out
            .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            .and_then(|()| out.write_all(&body)),
        Some(Serve::Redirect(to)) => out.write_all(
            format!(
                "HTTP/1.1 301 Moved\r\nLocation: {to}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            )
            .as_bytes(),
        ),
        Some(Serve::Slow(body, pause)) => {
            std::thread::sleep(pause);
            out.write_all(head("200 OK", body.len()).as_bytes())
                .and_then(|()| out.write_all(&body))
        }
    };
    let _ = out.flush();
}

/// A proxy for `mirror` with its cache in `dir`.
pub fn proxy(dir: &Path, mirror: &FakeMirror, limit: u64, options: ProxyOptions) -> Proxy {
    let cache = Cache::open(dir, limit).expect("cache");
    Proxy::with_env_proxy(
        cache,
        Mirrors::new([mirror.url()]),
        options,
        EnvProxy::Ignored,
    )
    .expect("proxy")
}

/// What the proxy answered on one connection.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the body had all the bytes its Content-Length promised.
    pub complete: bool,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `requests` (whole request heads) on one connection; the raw answer.
pub fn exchange(proxy: &Proxy, requests: &str) -> Vec<u8> {
    let mut output = Vec::new();
    proxy
        .serve_connection(requests.as_bytes(), &mut output)
        .expect("in-memory connection");
    output
}

/// Sends one GET for `target` with `headers` and reads the answer.
pub fn get(proxy: &Proxy, target: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut output = Vec::new();
    proxy
        .serve_connection(request.as_bytes(), &mut output)
        .expect("in-memory connection");
    parse(&output)
}

/// Parses one response.
pub fn parse(output: &[u8]) -> Answer {
    let end = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&output[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().expect("status line")[9..12]
        .parse()
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let body = output[end + 4..].to_vec();
    let len = headers
        .iter()
        .find(|(n, _)| n == "Content-Length")
        .map(|(_, v)| v.parse::<usize>().expect("length"));
    Answer {
        status,
        complete: len.is_none_or(|len| len == body.len()),
        headers,
        body,
    }
}
