//! A repository fixture and an HTTP response reader shared by the tests.

use std::fs::{self, File};
use std::io::BufRead;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The modification time of every fixture file: 2024-06-01T10:00:00Z.
pub const MTIME: u64 = 1_717_236_000;
/// [`MTIME`] as an HTTP-date.
pub const LAST_MODIFIED: &str = "Sat, 01 Jun 2024 10:00:00 GMT";
/// The package's URL as apt asks for it (`~` escaped as `%7e`).
pub const DEB_URL: &str = "/pool/main/h/hello/hello_1.0%7erc1-1_all.deb";
/// The package's contents.
pub const DEB_BODY: &[u8] = b"0123456789";
/// The `Release` file's contents.
pub const RELEASE_BODY: &[u8] = b"Origin: test\nSuite: stable\n";
/// The Content-Type of a .deb.
pub const DEB_TYPE: &str = "application/vnd.debian.binary-package";
/// The Content-Type of an error body.
pub const TEXT_TYPE: &str = "text/plain; charset=utf-8";

/// A repository directory inside a temporary directory:
///
/// ```text
/// repo/pool/main/h/hello/hello_1.0~rc1-1_all.deb   "0123456789"
/// repo/dists/stable/Release
/// repo/big.bin                                     8 MiB, with_big_file only
/// repo/.buildkit/secret
/// repo/escape -> ../outside                        (leaves the root)
/// outside
/// ```
pub struct Repo {
    _dir: tempfile::TempDir,
    /// The served directory.
    pub root: PathBuf,
}

/// Size of `big.bin`, larger than any socket buffer.
pub const BIG_LEN: usize = 8 * 1024 * 1024;

impl Repo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo");
        write(
            &root.join("pool/main/h/hello/hello_1.0~rc1-1_all.deb"),
            DEB_BODY,
        );
        write(&root.join("dists/stable/Release"), RELEASE_BODY);
        write(&root.join(".buildkit/secret"), b"secret");
        write(&dir.path().join("outside"), b"outside");
        symlink("../outside", root.join("escape")).expect("symlink");
        Repo { _dir: dir, root }
    }

    /// The repository with `big.bin` too.
    pub fn with_big_file() -> Self {
        let repo = Repo::new();
        write(&repo.root.join("big.bin"), &big_body());
        repo
    }
}

/// The contents of `big.bin`: a pattern that shows misplaced bytes.
pub fn big_body() -> Vec<u8> {
    // Built by copying, which is fast even in a debug build.
    let unit: Vec<u8> = (0..=250).collect();
    let mut body = Vec::with_capacity(BIG_LEN + unit.len());
    while body.len() < BIG_LEN {
        body.extend_from_slice(&unit);
    }
    body.truncate(BIG_LEN);
    body
}

/// Writes `bytes` to `path` (creating parents) with [`MTIME`].
pub fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, bytes).expect("write");
    File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(UNIX_EPOCH + Duration::from_secs(MTIME))
        .expect("set mtime");
}

/// One response as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `HTTP/1.1 200 OK`.
    pub status_line: String,
    /// Every header field but `Date`, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A reply as expected: `headers` exclude `Date`.
    pub fn new(status_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Self {
        Reply {
            status_line: status_line.to_owned(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_vec(),
        }
    }

    /// The same reply with `Connection: close` added.
    pub fn with_connection_close(mut self) -> Self {
        self.headers
            .push(("Connection".to_owned(), "close".to_owned()));
        self
    }

    /// The expected error reply for `status_line` (`HTTP/1.1 404 Not Found`),
    /// with `extra` fields after Content-Type and before Content-Length.
    pub fn error(status_line: &str, extra: &[(&str, &str)], close: bool, head_only: bool) -> Self {
        let body = format!("{}\n", status_line.trim_start_matches("HTTP/1.1 "));
        let length = body.len().to_string();
        let mut headers = vec![("Content-Type", TEXT_TYPE)];
        headers.extend_from_slice(extra);
        headers.push(("Content-Length", &length));
        if close {
            headers.push(("Connection", "close"));
        }
        let body = if head_only { "" } else { body.as_str() };
        Reply::new(status_line, &headers, body.as_bytes())
    }
}

/// Reads one response; `head_only` when it answers a HEAD request. Asserts
/// that exactly one `Date` field is present, valid and current.
pub fn read_reply(reader: &mut impl BufRead, head_only: bool) -> Reply {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status_line = status_line
        .strip_suffix("\r\n")
        .unwrap_or_else(|| panic!("status line {status_line:?} without CRLF"))
        .to_owned();
    let mut headers = Vec::new();
    let mut dates = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        let line = line
            .strip_suffix("\r\n")
            .unwrap_or_else(|| panic!("header line {line:?} without CRLF"));
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(": ").expect("name: value");
        if name == "Date" {
            dates.push(value.to_owned());
        } else {
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    assert_eq!(dates.len(), 1, "one Date field in {status_line}: {dates:?}");
    let date = httpdate::parse_http_date(&dates[0]).expect("Date is an HTTP-date");
    let age = SystemTime::now().duration_since(date).unwrap_or_default();
    assert!(
        age < Duration::from_secs(60),
        "Date {} is current",
        dates[0]
    );
    let length = headers
        .iter()
        .find(|(n, _)| n == "Content-Length")
        .map(|(_, v)| v.parse::<usize>().expect("Content-Length is a number"));
    let mut body = vec![0; if head_only { 0 } else { length.unwrap_or(0) }];
    reader.read_exact(&mut body).expect("body");
    Reply {
        status_line,
        headers,
        body,
    }
}

/// Reads every response in `bytes`; `head_only[i]` tells whether the i-th
/// answers a HEAD request (missing entries: false).
pub fn read_replies(bytes: &[u8], head_only: &[bool]) -> Vec<Reply> {
    let mut reader = bytes;
    let mut replies = Vec::new();
    while !reader.is_empty() {
        let head = head_only.get(replies.len()).copied().unwrap_or(false);
        replies.push(read_reply(&mut reader, head));
    }
    replies
}
