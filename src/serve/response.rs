//! A response and how it goes on the wire: the status line, the header
//! fields (with a `Content-Length` that is always exact) and a body streamed
//! from the open file through a bounded buffer.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::time::{Duration, UNIX_EPOCH};

use super::confine::OpenedFile;

/// The status codes this server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    PartialContent,
    NotModified,
    BadRequest,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    UriTooLong,
    RangeNotSatisfiable,
    HeadersTooLarge,
    InternalError,
    NotImplemented,
    BadGateway,
    ServiceUnavailable,
    GatewayTimeout,
    VersionNotSupported,
}

impl Status {
    /// The numeric code.
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::PartialContent => 206,
            Status::NotModified => 304,
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::UriTooLong => 414,
            Status::RangeNotSatisfiable => 416,
            Status::HeadersTooLarge => 431,
            Status::InternalError => 500,
            Status::NotImplemented => 501,
            Status::BadGateway => 502,
            Status::ServiceUnavailable => 503,
            Status::GatewayTimeout => 504,
            Status::VersionNotSupported => 505,
        }
    }

    /// The reason phrase of RFC 9110 §15.
    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::PartialContent => "Partial Content",
            Status::NotModified => "Not Modified",
            Status::BadRequest => "Bad Request",
            Status::Forbidden => "Forbidden",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::UriTooLong => "URI Too Long",
            Status::RangeNotSatisfiable => "Range Not Satisfiable",
            Status::HeadersTooLarge => "Request Header Fields Too Large",
            Status::InternalError => "Internal Server Error",
            Status::NotImplemented => "Not Implemented",
            Status::BadGateway => "Bad Gateway",
            Status::ServiceUnavailable => "Service Unavailable",
            Status::GatewayTimeout => "Gateway Timeout",
            Status::VersionNotSupported => "HTTP Version Not Supported",
        }
    }
}

/// What follows the head.
#[derive(Debug)]
pub(crate) enum Body {
    /// Nothing, and no `Content-Length` either (304).
    None,
    /// A short text (error pages).
    Text(String),
    /// `len` bytes of an open file from `start`.
    File {
        opened: OpenedFile,
        start: u64,
        len: u64,
    },
    /// Bytes read as they come (the proxy's download from upstream).
    Stream(StreamBody),
}

/// A body read from a source whose length is known before the first byte:
/// `Content-Length` is sent as promised, and if the source fails or ends
/// early the connection is closed mid-body, never padded or cut short with
/// a shorter length (apt treats a wrong size as fatal, a closed connection
/// as transient and resumes).
pub(crate) struct StreamBody {
    /// Where the bytes come from.
    pub reader: Box<dyn Read>,
    /// Exactly how many bytes it will give.
    pub len: u64,
}

impl std::fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamBody")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// A response before it is sent.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: Status,
    /// Fields other than `Date`, `Content-Length` and `Connection`, which
    /// are added when sending.
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

impl Response {
    /// An error response with a one-line text body naming the status.
    pub fn error(status: Status) -> Self {
        Response {
            status,
            headers: vec![("Content-Type", "text/plain; charset=utf-8".to_owned())],
            body: Body::Text(format!("{} {}\n", status.code(), status.reason())),
        }
    }

    /// An error response whose text body also says why (one line).
    pub fn error_because(status: Status, reason: &str) -> Self {
        let mut response = Response::error(status);
        let line: String = reason.chars().filter(|c| !c.is_control()).collect();
        response.body = Body::Text(format!("{} {}: {line}\n", status.code(), status.reason()));
        response
    }

    /// Adds a header field.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The exact number of body bytes a GET would carry, if there is a body.
    fn content_length(&self) -> Option<u64> {
        match &self.body {
            Body::None => None,
            Body::Text(text) => Some(text.len() as u64),
            Body::File { len, .. } => Some(*len),
            Body::Stream(stream) => Some(stream.len),
        }
    }
}

/// Formats seconds since the epoch as an HTTP-date (IMF-fixdate; the
/// `httpdate` crate's format, not one of [`crate::time`]'s).
pub(crate) fn http_date(secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Why sending a response stopped early.
#[derive(Debug)]
pub(crate) enum SendFailure {
    /// Writing to the connection failed (often: the client went away).
    Connection(io::Error),
    /// Reading the file failed, or it ended before the promised length.
    File(io::Error),
    /// A streamed body failed or ended before its promised length; its
    /// source has recorded why (the proxy's fault log).
    Stream,
}

/// What of a response goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parts {
    /// The head and the body.
    Whole,
    /// Only the head (the answer to a HEAD request).
    HeadOnly,
}

/// Writes `response` to `out` and flushes it: the `parts` asked for. `connection` is the value of a
/// `Connection` field to add, if any. Returns the number of body bytes
/// written (for the access log, even when sending fails) and the outcome.
pub(crate) fn send(
    out: &mut impl Write,
    response: &mut Response,
    parts: Parts,
    connection: Option<&str>,
    buffer: &mut [u8],
) -> (u64, Result<(), SendFailure>) {
    let mut sent = 0;
    let result = send_inner(out, response, parts, connection, buffer, &mut sent);
    (sent, result)
}

fn send_inner(
    out: &mut impl Write,
    response: &mut Response,
    parts: Parts,
    connection: Option<&str>,
    buffer: &mut [u8],
    sent: &mut u64,
) -> Result<(), SendFailure> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nDate: {}\r\n",
        response.status.code(),
        response.status.reason(),
        http_date(crate::time::unix_now()),
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(len) = response.content_length() {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    }
    if let Some(connection) = connection {
        head.push_str(&format!("Connection: {connection}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())
        .map_err(SendFailure::Connection)?;
    if parts == Parts::Whole {
        match &mut response.body {
            Body::None => {}
            Body::Text(text) => {
                out.write_all(text.as_bytes())
                    .map_err(SendFailure::Connection)?;
                *sent = text.len() as u64;
            }
            Body::File { opened, start, len } => {
                copy_range(&mut opened.file, *start, *len, out, buffer, sent)?;
            }
            Body::Stream(stream) => {
                copy_stream(&mut stream.reader, stream.len, out, buffer, sent)?;
            }
        }
    }
    out.flush().map_err(SendFailure::Connection)
}

/// Copies `len` bytes of `file` from `start` to `out` through `buffer`.
fn copy_range(
    file: &mut (impl Read + Seek),
    start: u64,
    len: u64,
    out: &mut impl Write,
    buffer: &mut [u8],
    sent: &mut u64,
) -> Result<(), SendFailure> {
    if start > 0 {
        file.seek(SeekFrom::Start(start))
            .map_err(SendFailure::File)?;
    }
    let mut remaining = len;
    while remaining > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let read = match file.read(&mut buffer[..want]) {
            Ok(0) => {
                // Only a file truncated in place does this; the publisher
                // renames new files in, which leaves this handle intact.
                return Err(SendFailure::File(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file became shorter while it was being sent",
                )));
            }
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(SendFailure::File(error)),
        };
        out.write_all(&buffer[..read])
            .map_err(SendFailure::Connection)?;
        *sent += read as u64;
        remaining -= read as u64;
    }
    Ok(())
}

/// Copies exactly `len` bytes of `reader` to `out` through `buffer`.
fn copy_stream(
    reader: &mut dyn Read,
    len: u64,
    out: &mut impl Write,
    buffer: &mut [u8],
    sent: &mut u64,
) -> Result<(), SendFailure> {
    let mut remaining = len;
    while remaining > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let read = match reader.read(&mut buffer[..want]) {
            Ok(0) => return Err(SendFailure::Stream),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(SendFailure::Stream),
        };
        out.write_all(&buffer[..read])
            .map_err(SendFailure::Connection)?;
        *sent += read as u64;
        remaining -= read as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::io::Cursor;

    #[test]
    fn copies_a_range_in_small_pieces() {
        let mut file = Cursor::new(b"0123456789".to_vec());
        let mut out = Vec::new();
        let mut sent = 0;
        copy_range(&mut file, 2, 7, &mut out, &mut [0; 3], &mut sent).expect("copies");
        assert_eq!((out.as_slice(), sent), (&b"2345678"[..], 7));
    }

    #[test]
    fn a_file_shorter_than_promised_is_a_file_failure() {
        let mut file = Cursor::new(b"0123".to_vec());
        let mut out = Vec::new();
        let mut sent = 0;
        let result = copy_range(&mut file, 1, 5, &mut out, &mut [0; 2], &mut sent);
        assert!(
            matches!(&result, Err(SendFailure::File(e)) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{result:?}"
        );
        assert_eq!((out.as_slice(), sent), (&b"123"[..], 3));
    }

    #[test]
    fn http_dates_are_imf_fixdate() {
        assert_eq!(http_date(1_717_236_000), "Sat, 01 Jun 2024 10:00:00 GMT");
    }
}
