//! One HTTP/1.1 connection: requests are read and answered strictly in order
//! until the client closes, asks to close, or sends something that cannot be
//! answered safely. Persistent connections and pipelining (several requests
//! sent before the first answer, as apt does) follow from reading every
//! request from one buffered stream and answering in order (RFC 9112 §9).

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use super::access_log::AccessLogEntry;
use super::request::{read_head, HeadError, ReadHead, RequestHead, Version};
use super::response::{send, Body, Parts, Response, SendFailure, Status};
use super::ServeError;

/// Bytes of the request stream buffered at once.
const READ_BUFFER: usize = 16 * 1024;
/// Bytes of response gathered before a write to the connection.
const WRITE_BUFFER: usize = 64 * 1024;
/// Bytes of a file read at once.
const COPY_BUFFER: usize = 32 * 1024;
/// The longest request body read and dropped to keep a connection in step;
/// after a longer one the connection is closed instead.
const MAX_DISCARDED_BODY: u64 = 64 * 1024;

/// What a transport is told of a connection's progress, so that it can time
/// it: the TCP server gives a client waiting time while no request is under
/// way, a deadline for the whole of one that is arriving, and closes the
/// longest-waiting connection first when it is full — none of which the
/// reader below the buffered stream could tell apart on its own.
pub(crate) trait Pacing {
    /// The connection waits for its next request; `begun` when bytes of it
    /// have already arrived (pipelined behind the previous one).
    fn awaiting_request(&self, begun: bool);
    /// The request (head and any body) has arrived: it is being answered.
    fn answering(&self);
}

/// No pacing: for `--stdio`, where QEMU owns the connection and its end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unpaced;

impl Pacing for Unpaced {
    fn awaiting_request(&self, _begun: bool) {}
    fn answering(&self) {}
}

/// What answers the requests of a connection: the static site, or the
/// caching apt proxy. The loop below owns everything else (framing,
/// keep-alive, pipelining, sending), so both speak the same HTTP.
pub(crate) trait Answer {
    /// The response to a well-framed request.
    fn answer(&self, head: &RequestHead) -> Response;

    /// Called once when a connection ends, however it ended: the proxy
    /// saves its counters there.
    fn connection_closed(&self) {}
}

/// Answers the requests of one connection; see
/// [`StaticSite::handle_connection`](super::StaticSite::handle_connection).
pub(crate) fn serve_connection(
    site: &dyn Answer,
    reader: impl Read,
    writer: impl Write,
    pacing: &dyn Pacing,
    log: &dyn Fn(&AccessLogEntry),
) -> Result<u64, ServeError> {
    let result = answer_requests(site, reader, writer, pacing, log);
    site.connection_closed();
    result
}

/// The loop of [`serve_connection`].
fn answer_requests(
    site: &dyn Answer,
    reader: impl Read,
    writer: impl Write,
    pacing: &dyn Pacing,
    log: &dyn Fn(&AccessLogEntry),
) -> Result<u64, ServeError> {
    let mut reader = BufReader::with_capacity(READ_BUFFER, reader);
    let mut writer = BufWriter::with_capacity(WRITE_BUFFER, writer);
    // Allocated by the first file sent: a connection that never asks for
    // one (an idle one, say) costs its buffers' address space only.
    let mut buffer = Vec::new();
    let mut answered = 0;
    loop {
        pacing.awaiting_request(!reader.buffer().is_empty());
        let head = match read_head(&mut reader) {
            Ok(ReadHead::Request(head)) => head,
            Ok(ReadHead::Closed) => return Ok(answered),
            Ok(ReadHead::Invalid(error)) => {
                pacing.answering();
                // The stream can no longer be trusted to be in step with
                // requests: answer, then close.
                let mut response = Response::error(head_error_status(error));
                let sent = send_and_log(
                    &mut writer,
                    &mut response,
                    Exchange::unreadable(),
                    &mut buffer,
                    log,
                )?;
                return Ok(answered + u64::from(sent == Sent::Complete));
            }
            Err(error) if is_disconnect(&error) => return Ok(answered),
            Err(source) => return Err(ServeError::ReadRequest { source }),
        };
        let mut keep_alive = wants_keep_alive(&head);
        let Some(mut response) = answer_framed(site, &head, &mut reader, &mut keep_alive)? else {
            return Ok(answered);
        };
        pacing.answering();
        if matches!(response.body, Body::File { .. } | Body::Stream(_)) && buffer.is_empty() {
            buffer.resize(COPY_BUFFER, 0);
        }
        let exchange = Exchange {
            parts: if head.method == "HEAD" {
                Parts::HeadOnly
            } else {
                Parts::Whole
            },
            connection: connection_field(keep_alive, head.version),
            method: head.method,
            path: head.target,
        };
        let sent = send_and_log(&mut writer, &mut response, exchange, &mut buffer, log)?;
        if sent != Sent::Complete {
            // After a cut body, what arrived is passed on (apt resumes from
            // there with Range); the close tells the client it is short.
            let _ = writer.flush();
            return Ok(answered);
        }
        answered += 1;
        if !keep_alive {
            return Ok(answered);
        }
    }
}

/// Reads and drops the request's body as [`framing`] says, and answers
/// it; clears `keep_alive` when the connection cannot stay in step.
/// `None` when the client went away meanwhile.
fn answer_framed(
    site: &dyn Answer,
    head: &RequestHead,
    reader: &mut impl Read,
    keep_alive: &mut bool,
) -> Result<Option<Response>, ServeError> {
    Ok(Some(match framing(head) {
        Err(status) => {
            *keep_alive = false;
            Response::error(status)
        }
        Ok(RequestBody::None) => site.answer(head),
        Ok(RequestBody::Discard(len)) => {
            match io::copy(&mut reader.take(len), &mut io::sink()) {
                Ok(copied) if copied == len => {}
                Ok(_) => return Ok(None),
                Err(error) if is_disconnect(&error) => return Ok(None),
                Err(source) => return Err(ServeError::ReadRequest { source }),
            }
            site.answer(head)
        }
        Ok(RequestBody::TooLong) => {
            *keep_alive = false;
            site.answer(head)
        }
    }))
}

/// What a response answers, and how.
struct Exchange {
    /// The request method, for the log.
    method: String,
    /// The request-target, for the log.
    path: String,
    /// What of the response to send (only the head for HEAD).
    parts: Parts,
    /// The value of the `Connection` field to send, if any.
    connection: Option<&'static str>,
}

impl Exchange {
    /// The answer to a request whose head could not be parsed.
    fn unreadable() -> Self {
        Exchange {
            method: String::new(),
            path: String::new(),
            parts: Parts::Whole,
            connection: Some("close"),
        }
    }
}

/// How far a response got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// All of it was written and flushed.
    Complete,
    /// The client went away: the end of the connection, but no error.
    ClientGone,
    /// A streamed body failed before its length: the connection must close
    /// so that the client sees the body is short. The body's source has
    /// already recorded why (the proxy's fault log); no error here.
    BodyCut,
}

/// Sends `response` and logs it, whatever became of it.
fn send_and_log(
    writer: &mut impl Write,
    response: &mut Response,
    exchange: Exchange,
    buffer: &mut [u8],
    log: &dyn Fn(&AccessLogEntry),
) -> Result<Sent, ServeError> {
    let (bytes, result) = send(
        writer,
        response,
        exchange.parts,
        exchange.connection,
        buffer,
    );
    log(&AccessLogEntry {
        method: exchange.method,
        path: exchange.path,
        status: response.status.code(),
        bytes,
    });
    match result {
        Ok(()) => Ok(Sent::Complete),
        Err(SendFailure::Connection(error)) if is_disconnect(&error) => Ok(Sent::ClientGone),
        Err(SendFailure::Connection(source)) => Err(ServeError::WriteResponse { source }),
        Err(SendFailure::Stream) => Ok(Sent::BodyCut),
        Err(SendFailure::File(source)) => Err(ServeError::ReadFile {
            path: match &response.body {
                Body::File { opened, .. } => opened.path.clone(),
                Body::None | Body::Text(_) | Body::Stream(_) => PathBuf::new(),
            },
            source,
        }),
    }
}

/// The status answering a head that could not be read.
fn head_error_status(error: HeadError) -> Status {
    match error {
        HeadError::Malformed(_) => Status::BadRequest,
        HeadError::LineTooLong => Status::UriTooLong,
        HeadError::HeadersTooLarge => Status::HeadersTooLarge,
        HeadError::Version => Status::VersionNotSupported,
    }
}

/// Whether the client wants the connection kept open (RFC 9112 §9.3):
/// HTTP/1.1 unless it says `close`, HTTP/1.0 only if it says `keep-alive`.
fn wants_keep_alive(head: &RequestHead) -> bool {
    if head.has_token("connection", "close") {
        return false;
    }
    match head.version {
        Version::Http11 => true,
        Version::Http10 => head.has_token("connection", "keep-alive"),
    }
}

/// The `Connection` field that tells the client what happens next: `close`
/// when closing, `keep-alive` to an HTTP/1.0 client that asked for it.
fn connection_field(keep_alive: bool, version: Version) -> Option<&'static str> {
    match (keep_alive, version) {
        (false, _) => Some("close"),
        (true, Version::Http10) => Some("keep-alive"),
        (true, Version::Http11) => None,
    }
}

/// What to do with the body a request carries (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestBody {
    /// There is none.
    None,
    /// Read and drop this many bytes before the next request.
    Discard(u64),
    /// Too long to bother: answer, then close.
    TooLong,
}

/// Checks what HTTP/1.1 demands of every request, and how its body is
/// framed; `Err` is the status to answer before closing.
fn framing(head: &RequestHead) -> Result<RequestBody, Status> {
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in 1.0.
    let hosts = head.values("host").count();
    if hosts > 1 || (hosts == 0 && head.version == Version::Http11) {
        return Err(Status::BadRequest);
    }
    if head.values("transfer-encoding").next().is_some() {
        // A chunked request body is never needed for GET or HEAD.
        return Err(Status::NotImplemented);
    }
    // §6.3: repeated or listed Content-Length values must all agree.
    let mut lengths = head
        .values("content-length")
        .flat_map(|v| v.split(','))
        .map(str::trim);
    let Some(first) = lengths.next() else {
        return Ok(RequestBody::None);
    };
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) || lengths.any(|l| l != first)
    {
        return Err(Status::BadRequest);
    }
    Ok(match first.parse::<u64>() {
        Ok(0) => RequestBody::None,
        Ok(len) if len <= MAX_DISCARDED_BODY => RequestBody::Discard(len),
        _ => RequestBody::TooLong,
    })
}

/// Whether an I/O error means the peer is gone or silent, which ends a
/// connection normally rather than being a server error.
pub(crate) fn is_disconnect(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::WriteZero
            | io::ErrorKind::TimedOut
            | io::ErrorKind::WouldBlock
    )
}
