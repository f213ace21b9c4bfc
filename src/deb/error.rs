//! The error type of the `deb` module.

use std::path::PathBuf;

use super::control::ControlError;

/// Everything that can go wrong while writing or reading a `.deb`.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    /// The control stanza is invalid.
    #[error("invalid control data")]
    Control(#[from] ControlError),
    /// A path inside the package is not a clean absolute path.
    #[error("unsafe path {path:?} in the package: {reason}")]
    UnsafePath { path: String, reason: &'static str },
    /// Two entries claim the same path with different kinds.
    #[error("{path:?} is both a directory and a file in the package")]
    PathConflict { path: String },
    /// A path expected to be a regular file of the package is not one.
    #[error("{path:?} is not a regular file in the package")]
    NotAFile { path: String },
    /// A conffile is not a regular file of the package.
    #[error("conffile {path:?} is not a regular file in the package")]
    BadConffile { path: String },
    /// A file that should go into the package could not be read.
    #[error("could not read {path}")]
    ReadSource {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing the package file failed.
    #[error("could not write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading the package file failed.
    #[error("could not read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `deb build` directory without `DEBIAN/control`.
    #[error("{dir} has no DEBIAN/control file")]
    NoControl { dir: PathBuf },
    /// A file of the DEBIAN directory is unacceptable.
    #[error("DEBIAN/{name} is unacceptable: {reason}")]
    BadControlMember { name: String, reason: &'static str },
    /// The file is not a Debian binary package, or is damaged.
    #[error("{path} is not a valid Debian package: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}
