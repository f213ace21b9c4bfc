//! Reading one request head — the request line and the header fields — off a
//! connection, following RFC 9112 §2–§5, with limits so that a client can
//! never make the server hold more than a bounded amount of memory.

use std::io::{self, BufRead};

/// Longest request line or header line accepted, in bytes.
pub(crate) const MAX_LINE: usize = 8 * 1024;
/// Most header fields accepted in one request.
pub(crate) const MAX_HEADERS: usize = 100;
/// Empty lines skipped before a request line (RFC 9112 §2.2 asks servers to
/// tolerate at least one, left over from a client's previous request).
const MAX_LEADING_EMPTY_LINES: usize = 8;

/// The protocol version a request was sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// HTTP/1.0: the connection closes after the response unless asked otherwise.
    Http10,
    /// HTTP/1.1 (or a later 1.x minor version): persistent by default.
    Http11,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestHead {
    /// The method token, case-sensitive (`GET`).
    pub method: String,
    /// The request-target exactly as sent (visible ASCII only).
    pub target: String,
    /// The protocol version.
    pub version: Version,
    /// Header fields in the order received, names as sent.
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The values of every field called `name` (case-insensitive), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of a field that must appear once; `None` when it is absent
    /// or repeated (a repeated singleton field is ignored rather than guessed).
    pub fn single<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        let mut values = self.values(name);
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }

    /// Whether the comma-separated field `name` lists `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// Why a request head was rejected; each maps to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// Not valid HTTP/1.x syntax (400).
    Malformed(&'static str),
    /// The request line is longer than [`MAX_LINE`] (414).
    LineTooLong,
    /// A header line is longer than [`MAX_LINE`], or there are more than
    /// [`MAX_HEADERS`] fields (431).
    HeadersTooLarge,
    /// The major version is not 1 (505).
    Version,
}

/// What reading a request head produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadHead {
    /// A complete, well-formed head.
    Request(RequestHead),
    /// The client closed the connection (possibly in the middle of a head,
    /// in which case there is nobody left to answer).
    Closed,
    /// A head that must be answered with an error and the connection closed.
    Invalid(HeadError),
}

/// Reads the next request head from `reader`.
pub(crate) fn read_head(reader: &mut impl BufRead) -> io::Result<ReadHead> {
    let mut line = Vec::new();
    let mut empty_lines = 0;
    loop {
        match read_line(reader, &mut line)? {
            Line::Eof => return Ok(ReadHead::Closed),
            Line::TooLong => return Ok(ReadHead::Invalid(HeadError::LineTooLong)),
            Line::Complete if line.is_empty() => {
                empty_lines += 1;
                if empty_lines > MAX_LEADING_EMPTY_LINES {
                    return Ok(ReadHead::Invalid(HeadError::Malformed("empty lines")));
                }
            }
            Line::Complete => break,
        }
    }
    let (method, target, version) = match parse_request_line(&line) {
        Ok(parts) => parts,
        Err(error) => return Ok(ReadHead::Invalid(error)),
    };
    let mut headers = Vec::new();
    loop {
        match read_line(reader, &mut line)? {
            Line::Eof => return Ok(ReadHead::Closed),
            Line::TooLong => return Ok(ReadHead::Invalid(HeadError::HeadersTooLarge)),
            Line::Complete if line.is_empty() => break,
            Line::Complete if headers.len() == MAX_HEADERS => {
                return Ok(ReadHead::Invalid(HeadError::HeadersTooLarge))
            }
            Line::Complete => match parse_field(&line) {
                Ok(field) => headers.push(field),
                Err(error) => return Ok(ReadHead::Invalid(error)),
            },
        }
    }
    Ok(ReadHead::Request(RequestHead {
        method,
        target,
        version,
        headers,
    }))
}

/// The outcome of reading one line.
enum Line {
    /// A line, without its CRLF (or bare LF), is in the buffer.
    Complete,
    /// The stream ended before a line end.
    Eof,
    /// No line end within [`MAX_LINE`] bytes.
    TooLong,
}

/// Reads one line into `line` (cleared first) without ever buffering more
/// than [`MAX_LINE`] bytes of it.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<Line> {
    line.clear();
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(Line::Eof);
        }
        let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (&available[..end], true),
            None => (available, false),
        };
        if line.len() + chunk.len() > MAX_LINE {
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(chunk);
        let used = chunk.len() + usize::from(found);
        reader.consume(used);
        if found {
            // RFC 9112 §2.2: a bare LF may be accepted as a line terminator.
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Line::Complete);
        }
    }
}

/// Parses `method SP request-target SP HTTP-version` (RFC 9112 §3).
pub(crate) fn parse_request_line(line: &[u8]) -> Result<(String, String, Version), HeadError> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed("request line"));
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(HeadError::Malformed("method"));
    }
    if target.is_empty() || !target.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(HeadError::Malformed("request target"));
    }
    let version = match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major, minor) {
                (b'1', b'0') => Version::Http10,
                (b'1', _) => Version::Http11,
                _ => return Err(HeadError::Version),
            }
        }
        _ => return Err(HeadError::Malformed("protocol version")),
    };
    // Both parts were checked to be ASCII, so these conversions are lossless.
    Ok((
        String::from_utf8_lossy(method).into_owned(),
        String::from_utf8_lossy(target).into_owned(),
        version,
    ))
}

/// Parses `field-name ":" OWS field-value OWS` (RFC 9112 §5).
pub(crate) fn parse_field(line: &[u8]) -> Result<(String, String), HeadError> {
    if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        // Obsolete line folding (RFC 9112 §5.2) is refused, not unfolded.
        return Err(HeadError::Malformed("folded header line"));
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(HeadError::Malformed("header line without a colon"));
    };
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    // This also rejects whitespace between the name and the colon (§5.1).
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(HeadError::Malformed("header name"));
    }
    let value = trim_whitespace(value);
    if !value
        .iter()
        .all(|&b| b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80)
    {
        return Err(HeadError::Malformed("header value"));
    }
    Ok((
        String::from_utf8_lossy(name).into_owned(),
        String::from_utf8_lossy(value).into_owned(),
    ))
}

/// `bytes` without leading and trailing spaces and tabs (RFC 9110 §5.6.3 OWS).
fn trim_whitespace(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// A character of an RFC 9110 §5.6.2 token.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn read(bytes: &[u8]) -> ReadHead {
        read_head(&mut &bytes[..]).expect("reading from memory cannot fail")
    }

    fn head(method: &str, target: &str, version: Version, headers: &[(&str, &str)]) -> ReadHead {
        ReadHead::Request(RequestHead {
            method: method.to_owned(),
            target: target.to_owned(),
            version,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        })
    }

    #[test]
    fn parses_an_apt_request() {
        let request = b"GET /pool/main/h/hello/hello_1.0%7erc1-1_all.deb HTTP/1.1\r\n\
            Host: 10.0.2.100:80\r\n\
            Range: bytes=100-\r\n\
            If-Range: Sat, 01 Jun 2024 10:00:00 GMT\r\n\
            User-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\n\r\n";
        assert_eq!(
            read(request),
            head(
                "GET",
                "/pool/main/h/hello/hello_1.0%7erc1-1_all.deb",
                Version::Http11,
                &[
                    ("Host", "10.0.2.100:80"),
                    ("Range", "bytes=100-"),
                    ("If-Range", "Sat, 01 Jun 2024 10:00:00 GMT"),
                    ("User-Agent", "Debian APT-HTTP/1.3 (2.6.1)"),
                ],
            )
        );
    }

    #[test]
    fn accepts_bare_lf_leading_empty_lines_and_trims_values() {
        assert_eq!(
            read(b"\r\n\nHEAD http://h/x HTTP/1.0\nA: \t v \t\nB:\n\n"),
            head(
                "HEAD",
                "http://h/x",
                Version::Http10,
                &[("A", "v"), ("B", "")]
            )
        );
    }

    #[test]
    fn later_minor_versions_are_http_1_1_and_major_2_is_refused() {
        assert_eq!(
            parse_request_line(b"GET / HTTP/1.2"),
            Ok(("GET".to_owned(), "/".to_owned(), Version::Http11))
        );
        assert_eq!(
            parse_request_line(b"GET / HTTP/2.0"),
            Err(HeadError::Version)
        );
    }

    #[test]
    fn rejects_malformed_request_lines() {
        for (line, reason) in [
            (&b"GET /"[..], "request line"),
            (b"GET  / HTTP/1.1", "request line"),
            (b"GET / HTTP/1.1 ", "request line"),
            (b"GET / HTTP/1.1 extra", "request line"),
            (b"G(T / HTTP/1.1", "method"),
            (b"GET /a\x01b HTTP/1.1", "request target"),
            (b"GET /\xc3\xa9 HTTP/1.1", "request target"),
            (b"GET / HTTP/1.1\r", "protocol version"),
            (b"GET / http/1.1", "protocol version"),
            (b"GET / HTTP/11", "protocol version"),
        ] {
            assert_eq!(
                parse_request_line(line),
                Err(HeadError::Malformed(reason)),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn rejects_malformed_header_lines() {
        for (line, reason) in [
            (&b" folded"[..], "folded header line"),
            (b"NoColon", "header line without a colon"),
            (b"Host : x", "header name"),
            (b": x", "header name"),
            (b"A: x\x00y", "header value"),
            (b"A: x\ry", "header value"),
            (b"A: x\r", "header value"),
        ] {
            assert_eq!(parse_field(line), Err(HeadError::Malformed(reason)));
        }
    }

    #[test]
    fn limits_line_length_and_header_count() {
        let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_LINE));
        assert_eq!(
            read(long_target.as_bytes()),
            ReadHead::Invalid(HeadError::LineTooLong)
        );
        let long_header = format!("GET / HTTP/1.1\r\nA: {}\r\n\r\n", "a".repeat(MAX_LINE));
        assert_eq!(
            read(long_header.as_bytes()),
            ReadHead::Invalid(HeadError::HeadersTooLarge)
        );
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(
            read(many.as_bytes()),
            ReadHead::Invalid(HeadError::HeadersTooLarge)
        );
        let enough = format!("GET / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(MAX_HEADERS));
        assert!(matches!(read(enough.as_bytes()), ReadHead::Request(_)));
    }

    #[test]
    fn end_of_stream_before_or_inside_a_head_is_a_close() {
        assert_eq!(read(b""), ReadHead::Closed);
        assert_eq!(read(b"GET / HT"), ReadHead::Closed);
        assert_eq!(read(b"GET / HTTP/1.1\r\nHost: x\r\n"), ReadHead::Closed);
    }

    #[test]
    fn field_lookups_are_case_insensitive() {
        let ReadHead::Request(head) = read(
            b"GET / HTTP/1.1\r\nconnection: Keep-Alive, Upgrade\r\nA: 1\r\na: 2\r\nB: 3\r\n\r\n",
        ) else {
            panic!("not a request");
        };
        assert!(head.has_token("Connection", "keep-alive"));
        assert!(!head.has_token("Connection", "close"));
        assert_eq!(head.values("A").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(head.single("a"), None);
        assert_eq!(head.single("b"), Some("3"));
        assert_eq!(head.single("c"), None);
    }
}
