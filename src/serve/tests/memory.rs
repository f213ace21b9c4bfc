//! `handle_connection` over in-memory streams: a request stream in a
//! `Vec<u8>` in, the response stream out — what `serve_stdio` does with fds.

use std::cell::RefCell;
use std::fs;
use std::io;

use pretty_assertions::assert_eq;

use super::support::*;
use crate::serve::connection::Answer;
use crate::serve::request::{RequestHead, Version};
use crate::serve::response::{send, Parts};
use crate::serve::{AccessLogEntry, ServeError, StaticSite};

/// What one in-memory connection produced.
struct Outcome {
    output: Vec<u8>,
    log: Vec<AccessLogEntry>,
    answered: u64,
}

fn run(repo: &Repo, requests: &[u8]) -> Outcome {
    let site = StaticSite::new(&repo.root).expect("site");
    let log = RefCell::new(Vec::new());
    let mut output = Vec::new();
    let answered = site
        .handle_connection(requests, &mut output, &|entry| {
            log.borrow_mut().push(entry.clone())
        })
        .expect("in-memory connections do not fail");
    Outcome {
        output,
        log: log.into_inner(),
        answered,
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

fn get(target: &str, extra: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: repo\r\n{extra}\r\n")
}

fn deb_reply(body: &[u8]) -> Reply {
    Reply::new(
        "HTTP/1.1 200 OK",
        &[
            ("Content-Type", DEB_TYPE),
            ("Last-Modified", LAST_MODIFIED),
            ("Accept-Ranges", "bytes"),
            ("Content-Length", "10"),
        ],
        body,
    )
}

#[test]
fn memory_answers_a_pipelined_stream_in_order() {
    let repo = Repo::new();
    let requests = [
        get(DEB_URL, "User-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\n"),
        format!("HEAD {DEB_URL} HTTP/1.1\r\nHost: repo\r\n\r\n"),
        get("http://10.0.2.100:80/dists/stable/Release?x=1", ""),
    ]
    .concat();
    let outcome = run(&repo, requests.as_bytes());
    assert_eq!(
        read_replies(&outcome.output, &[false, true, false]),
        [
            deb_reply(DEB_BODY),
            deb_reply(b""),
            Reply::new(
                "HTTP/1.1 200 OK",
                &[
                    ("Content-Type", TEXT_TYPE),
                    ("Last-Modified", LAST_MODIFIED),
                    ("Accept-Ranges", "bytes"),
                    ("Content-Length", "27"),
                ],
                RELEASE_BODY,
            ),
        ]
    );
    assert_eq!(
        outcome.log,
        [
            entry("GET", DEB_URL, 200, 10),
            entry("HEAD", DEB_URL, 200, 0),
            entry(
                "GET",
                "http://10.0.2.100:80/dists/stable/Release?x=1",
                200,
                27
            ),
        ]
    );
    assert_eq!(outcome.answered, 3);
}

#[test]
fn memory_serves_the_dot_segments_apt_sends_for_a_flat_repository() {
    // `deb http://host/ ./` makes apt ask for `/./InRelease`, `/./Packages.gz`…
    let repo = Repo::new();
    let outcome = run(&repo, get("/./dists/./stable/Release", "").as_bytes());
    assert_eq!(read_replies(&outcome.output, &[])[0].body, RELEASE_BODY);
}

#[test]
fn memory_never_serves_hidden_escaping_or_directory_paths() {
    let repo = Repo::new();
    let targets = [
        "/.buildkit/secret",
        "/%2ebuildkit/secret",
        "/pool/%2e%2e/.buildkit/secret",
        "/%2e%2e/outside",
        "/pool/..%2f..%2foutside",
        "/escape",
        "/pool/main/h/hello/hello_1.0~rc1-1_all.deb%00",
        "/pool/",
        "/pool",
        "/",
    ];
    let requests: String = targets.iter().map(|t| get(t, "")).collect();
    let outcome = run(&repo, requests.as_bytes());
    let not_found = Reply::error("HTTP/1.1 404 Not Found", &[], false, false);
    assert_eq!(
        read_replies(&outcome.output, &[]),
        targets
            .iter()
            .map(|_| not_found.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(outcome.answered, targets.len() as u64);
}

#[test]
fn memory_http_1_0_closes_unless_asked_to_keep_alive() {
    let repo = Repo::new();
    let close = format!("GET {DEB_URL} HTTP/1.0\r\n\r\n{}", get(DEB_URL, ""));
    let outcome = run(&repo, close.as_bytes());
    let closing = deb_reply(DEB_BODY).with_connection_close();
    assert_eq!(
        read_replies(&outcome.output, &[]),
        std::slice::from_ref(&closing)
    );
    assert_eq!(outcome.answered, 1);

    let keep = format!(
        "GET {DEB_URL} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET {DEB_URL} HTTP/1.0\r\n\r\n{}",
        get(DEB_URL, "")
    );
    let outcome = run(&repo, keep.as_bytes());
    let mut kept = deb_reply(DEB_BODY);
    kept.headers
        .push(("Connection".into(), "keep-alive".into()));
    assert_eq!(read_replies(&outcome.output, &[]), [kept, closing]);
    assert_eq!(outcome.answered, 2);
}

#[test]
fn memory_unreadable_requests_get_an_error_then_the_connection_closes() {
    let repo = Repo::new();
    let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(9000));
    let many_fields = format!("GET / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(101));
    let cases = [
        ("HELLO\r\n\r\n", "HTTP/1.1 400 Bad Request", ("", "")),
        (
            "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
            ("", ""),
        ),
        (long_target.as_str(), "HTTP/1.1 414 URI Too Long", ("", "")),
        (
            many_fields.as_str(),
            "HTTP/1.1 431 Request Header Fields Too Large",
            ("", ""),
        ),
        (
            "GET / HTTP/2.0\r\n\r\n",
            "HTTP/1.1 505 HTTP Version Not Supported",
            ("", ""),
        ),
        (
            "GET /x HTTP/1.1\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
            ("GET", "/x"),
        ),
        (
            "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
            ("GET", "/x"),
        ),
        (
            "GET /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 501 Not Implemented",
            ("GET", "/x"),
        ),
        (
            "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
            ("GET", "/x"),
        ),
    ];
    for (request, status_line, (method, path)) in cases {
        // The GET that follows must not be answered.
        let outcome = run(&repo, format!("{request}{}", get(DEB_URL, "")).as_bytes());
        let reply = Reply::error(status_line, &[], true, false);
        let bytes = reply.body.len() as u64;
        let code = status_line[9..12].parse().expect("code");
        assert_eq!(read_replies(&outcome.output, &[]), [reply], "{request:?}");
        assert_eq!(
            outcome.log,
            [entry(method, path, code, bytes)],
            "{request:?}"
        );
        assert_eq!(outcome.answered, 1);
    }
}

#[test]
fn memory_a_bad_escape_is_400_but_keeps_the_connection() {
    let repo = Repo::new();
    let outcome = run(
        &repo,
        format!("{}{}", get("/a%zz", ""), get(DEB_URL, "")).as_bytes(),
    );
    assert_eq!(
        read_replies(&outcome.output, &[]),
        [
            Reply::error("HTTP/1.1 400 Bad Request", &[], false, false),
            deb_reply(DEB_BODY)
        ]
    );
}

#[test]
fn memory_other_methods_get_405_and_their_bodies_are_skipped() {
    let repo = Repo::new();
    let requests = [
        "POST /upload HTTP/1.1\r\nHost: repo\r\nContent-Length: 5\r\n\r\nhello".to_owned(),
        get(DEB_URL, "Content-Length: 0\r\n"),
        format!("DELETE {DEB_URL} HTTP/1.1\r\nHost: repo\r\n\r\n"),
    ]
    .concat();
    let outcome = run(&repo, requests.as_bytes());
    let not_allowed = Reply::error(
        "HTTP/1.1 405 Method Not Allowed",
        &[("Allow", "GET, HEAD")],
        false,
        false,
    );
    assert_eq!(
        read_replies(&outcome.output, &[]),
        [not_allowed.clone(), deb_reply(DEB_BODY), not_allowed]
    );
    assert!(repo
        .root
        .join("pool/main/h/hello/hello_1.0~rc1-1_all.deb")
        .exists());

    // A body too long to skip is not read: answer, then close.
    let requests = format!(
        "{}{}",
        get(DEB_URL, "Content-Length: 1000000\r\n"),
        get(DEB_URL, "")
    );
    let outcome = run(&repo, requests.as_bytes());
    assert_eq!(
        read_replies(&outcome.output, &[]),
        [deb_reply(DEB_BODY).with_connection_close()]
    );
}

#[test]
fn memory_range_variants() {
    let repo = Repo::new();
    let partial = |range: &str, body: &[u8]| {
        let length = body.len().to_string();
        Reply::new(
            "HTTP/1.1 206 Partial Content",
            &[
                ("Content-Type", DEB_TYPE),
                ("Last-Modified", LAST_MODIFIED),
                ("Accept-Ranges", "bytes"),
                ("Content-Range", range),
                ("Content-Length", &length),
            ],
            body,
        )
    };
    let requests = [
        get(DEB_URL, "Range: bytes=-3\r\n"),
        get(DEB_URL, "Range: bytes=0-1,4-5\r\n"),
        get(
            DEB_URL,
            &format!("Range: bytes=4-\r\nIf-Range: {LAST_MODIFIED}\r\n"),
        ),
        get(
            DEB_URL,
            "Range: bytes=4-\r\nIf-Range: Sat, 01 Jun 2024 09:00:00 GMT\r\n",
        ),
        format!("HEAD {DEB_URL} HTTP/1.1\r\nHost: repo\r\nRange: bytes=0-1\r\n\r\n"),
    ]
    .concat();
    let outcome = run(&repo, requests.as_bytes());
    assert_eq!(
        read_replies(&outcome.output, &[false, false, false, false, true]),
        [
            partial("bytes 7-9/10", b"789"),
            deb_reply(DEB_BODY),
            partial("bytes 4-9/10", b"456789"),
            deb_reply(DEB_BODY),
            deb_reply(b""),
        ]
    );
}

/// A writer that takes `left` bytes, then fails with `kind`.
struct FailsAfter {
    left: usize,
    kind: io::ErrorKind,
}

impl io::Write for FailsAfter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(self.kind.into());
        }
        let taken = buf.len().min(self.left);
        self.left -= taken;
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn memory_a_client_leaving_mid_body_ends_the_connection_quietly() {
    let repo = Repo::with_big_file();
    let site = StaticSite::new(&repo.root).expect("site");
    let log = RefCell::new(Vec::new());
    let requests = get("/big.bin", "");
    let writer = FailsAfter {
        left: 100_000,
        kind: io::ErrorKind::BrokenPipe,
    };
    let answered = site
        .handle_connection(requests.as_bytes(), writer, &|e| {
            log.borrow_mut().push(e.clone())
        })
        .expect("a client leaving is no error");
    assert_eq!(answered, 0);
    let log = log.into_inner();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].status, log[0].bytes < BIG_LEN as u64), (200, true));

    // Any other write failure is an error of this connection.
    let writer = FailsAfter {
        left: 0,
        kind: io::ErrorKind::PermissionDenied,
    };
    let result = site.handle_connection(requests.as_bytes(), writer, &|_| {});
    assert!(
        matches!(result, Err(ServeError::WriteResponse { .. })),
        "{result:?}"
    );
}

#[test]
fn memory_a_file_replaced_while_served_is_sent_as_it_was_opened() {
    let repo = Repo::new();
    let site = StaticSite::new(&repo.root).expect("site");
    let head = RequestHead {
        method: "GET".to_owned(),
        target: "/dists/stable/Release".to_owned(),
        version: Version::Http11,
        headers: vec![("Host".to_owned(), "repo".to_owned())],
    };
    let mut response = site.answer(&head);
    // The publisher renames a new, longer file into place meanwhile.
    let release = repo.root.join("dists/stable/Release");
    let new = repo.root.join("dists/stable/.Release.new");
    fs::write(&new, b"Origin: test\nSuite: stable\nCodename: next\n").expect("write");
    fs::rename(&new, &release).expect("rename");
    let mut output = Vec::new();
    let (bytes, result) = send(&mut output, &mut response, Parts::Whole, None, &mut [0; 4]);
    result.expect("sent");
    assert_eq!(bytes, RELEASE_BODY.len() as u64);
    let reply = read_replies(&output, &[]).remove(0);
    assert_eq!(
        (reply.headers[3].clone(), reply.body),
        (
            ("Content-Length".to_owned(), "27".to_owned()),
            RELEASE_BODY.to_vec()
        )
    );
}
