//! The error type of the `proxy` module.

use std::path::PathBuf;

use crate::process::ProcessError;
use crate::serve::ServeError;

/// What can stop the proxy or a cache command. A request that fails
/// upstream is no error here: it is answered (502, 504, 404) and logged.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The cache directory could not be created.
    #[error("could not create the cache directory {path}")]
    OpenCache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A directory of the cache could not be read.
    #[error("could not read the cache directory {path}")]
    ReadCache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A cached file could not be removed.
    #[error("could not remove {path} from the cache")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `apt-config dump` failed, so the host's mirrors are unknown.
    #[error("could not ask apt-config which mirrors this host uses")]
    AptConfig {
        #[source]
        source: ProcessError,
    },
    /// The HTTP client for the mirrors could not be built (TLS setup).
    #[error("could not set up the HTTP client for the mirrors")]
    Client {
        #[source]
        source: reqwest::Error,
    },
    /// Standard input and output could not be used as the connection.
    #[error("could not use standard input and output as the proxy connection")]
    Stdio {
        #[source]
        source: std::io::Error,
    },
    /// The proxy's server failed (binding its port, its connection).
    #[error("the apt proxy's server failed")]
    Serve {
        #[source]
        source: ServeError,
    },
    /// The loopback server's thread could not be started.
    #[error("could not start the apt proxy's thread")]
    Thread {
        #[source]
        source: std::io::Error,
    },
}
