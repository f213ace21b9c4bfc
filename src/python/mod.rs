//! Python applications with their dependency closure as `.deb` files
//! (issue 13).
//!
//! pip resolves and fetches (the package stage runs it, see
//! `package::python`); this module only reads what pip produced and turns
//! it into packages: wheel files ([`wheel`], [`filename`], [`metadata`],
//! [`record`], [`entry_points`]), PEP 440 versions as Debian ones
//! ([`version`]), PEP 508 markers for the target Python ([`markers`]), lock
//! files ([`lock`]), the closure of a project's wheel over a wheelhouse
//! ([`closure`]) and the packages it becomes ([`layout`], [`control`],
//! [`scripts`], [`copyright`]). Package names follow [`names`].
//!
//! Nothing here runs a process: every input is a file or bytes that came
//! from outside and is checked as such.
pub mod closure;
pub mod control;
pub mod copyright;
pub mod entry_points;
pub mod filename;
pub mod layout;
pub mod lock;
pub mod markers;
pub mod metadata;
pub mod names;
pub mod record;
pub mod scripts;
pub mod version;
pub mod wheel;

use std::path::PathBuf;

/// Everything that can go wrong reading wheels and making packages of them.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A wheel's file name is not `{dist}-{version}(-{build})?-{py}-{abi}-{platform}.whl`.
    #[error("{name:?} is not a wheel file name: {reason}")]
    WheelName { name: String, reason: String },
    /// A wheel is not a readable zip archive, or breaks the wheel format.
    #[error("{}: not a valid wheel: {reason}", path.display())]
    BadWheel { path: PathBuf, reason: String },
    /// A metadata file lacks a field or has a malformed one.
    #[error("{origin}: {reason}")]
    Metadata { origin: String, reason: String },
    /// A version or a requirement that PEP 440/508 does not accept.
    #[error("{origin}: {reason}")]
    Pep { origin: String, reason: String },
    /// A lock file line that is not an exact pin, or a malformed lock.
    #[error("{origin}:{line}: {reason}")]
    Lock {
        origin: String,
        line: usize,
        reason: String,
    },
    /// A requirement no wheel of the wheelhouse satisfies.
    #[error("{dist} requires {requirement}, but {found}")]
    Unsatisfiable {
        dist: String,
        requirement: String,
        found: String,
    },
    /// The lock (or wheelhouse) holds a distribution the project does not need.
    #[error("{dist} {version} is in the lock file but nothing in the project requires it")]
    Unused { dist: String, version: String },
    /// Two wheels of one distribution.
    #[error("two wheels for {dist}: {a} and {b}")]
    Duplicate { dist: String, a: String, b: String },
    /// A wheel's `Requires-Python` excludes the target Python.
    #[error("{dist} {version} requires Python {requires}, the target is {target}")]
    RequiresPython {
        dist: String,
        version: String,
        requires: String,
        target: String,
    },
    /// A binary wheel cannot run on the target (platform, ABI, glibc).
    #[error("{wheel} cannot run on the target: {reason}")]
    Incompatible { wheel: String, reason: String },
    /// Two wheels install the same path.
    #[error("{path} is installed by both {a} and {b}")]
    Clash { path: String, a: String, b: String },
    /// A generated package name is not valid or is taken.
    #[error("package name {name:?}: {reason}")]
    Name { name: String, reason: String },
    /// Building a package's files failed.
    #[error("{package}: {source}")]
    Deb {
        package: String,
        #[source]
        source: crate::deb::DebError,
    },
}
