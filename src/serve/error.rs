//! The error type of the `serve` module.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can stop the server or end a connection abnormally.
///
/// A client going away (closed connection, reset, broken pipe, idle timeout)
/// is not an error: it is the normal end of a connection.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The directory to serve could not be resolved.
    #[error("could not open the directory to serve {path}")]
    Root {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The path to serve exists but is not a directory.
    #[error("{path} is not a directory")]
    NotADirectory { path: PathBuf },
    /// The listening socket could not be created.
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// Standard input or output could not be used as the connection.
    #[error("could not use standard input and output as the HTTP connection")]
    Stdio {
        #[source]
        source: std::io::Error,
    },
    /// Reading a request from the connection failed.
    #[error("could not read a request from the connection")]
    ReadRequest {
        #[source]
        source: std::io::Error,
    },
    /// Writing a response to the connection failed.
    #[error("could not send a response on the connection")]
    WriteResponse {
        #[source]
        source: std::io::Error,
    },
    /// A served file could not be read while its body was being sent; the
    /// connection was closed because the promised length could not be kept.
    #[error("could not read {path} while sending it")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
