//! The record of one answered request, handed to the caller's callback: the
//! library never prints, and in `--stdio` mode standard output is the HTTP
//! connection itself, so only the caller knows where a log line may go.

/// One answered request, for an access log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogEntry {
    /// The request method (`GET`), or empty when the request line was unreadable.
    pub method: String,
    /// The request-target exactly as sent (visible ASCII only, so safe to
    /// print), or empty when the request line was unreadable.
    pub path: String,
    /// The status code sent.
    pub status: u16,
    /// Body bytes written: 0 for HEAD and 304, and fewer than the
    /// `Content-Length` when the connection broke during the body.
    pub bytes: u64,
}
