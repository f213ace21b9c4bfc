//! The apt repository: a directory that stock apt can install from, which
//! git-buildkit manages, signs and serves.
//!
//! ```text
//! <repo>/pool/<component>/<prefix>/<source>/<name>_<version>_<arch>.deb
//! <repo>/dists -> generations/<N>/dists          (one rename publishes)
//! <repo>/generations/<N>/index/<suite>/<comp>    (the index cache: stanzas)
//! <repo>/generations/<N>/superseded.json         (when by-hash files stopped being current)
//! <repo>/by-hash/<suite>/<comp>/binary-<arch>/   (by-hash files of every generation)
//! <repo>/key.gpg, key.asc, packages_public.key   (the signing key, public)
//! <repo>/.buildkit/repo.toml                     (settings; never served)
//! <repo>/.buildkit/lock                          (serialises writers)
//! ```
//!
//! A publish writes a complete new generation aside — index cache, Packages
//! (+ .gz, .xz), Release, InRelease, Release.gpg, by-hash — and switches
//! the `dists` symlink to it with one `rename(2)`, so a reader sees the old
//! generation or the new one, never a mix. By-hash files of earlier
//! generations are carried into the new one for a grace period, so a client
//! in the middle of `apt-get update` never meets a hash mismatch; the grace
//! period is counted from the publish that superseded a file. The index
//! cache lives inside the generation, so it switches with it.
//!
//! Durability: pool files, the generation's files and directories and the
//! by-hash names are synced before the switch, and the switch before the
//! command returns, so a power loss cannot lose what `repo add` reported.
//! A repository is created under its lock, with `repo.toml` written last.

mod entry;
mod fsutil;
mod grace;
pub mod mirror;
mod parallel;
mod release;
mod repo;
pub mod segments;
pub mod serving;
mod settings;
pub(crate) mod verify;

use std::path::PathBuf;

pub use entry::{is_pool_path, Entry, Incoming};
pub use release::{IndexFile, Release};
#[cfg(test)]
pub(crate) use repo::pool_path;
pub use repo::{AddOutcome, AptRepo, CopyOutcome, ExactFile, InitOptions, ListItem, State};
pub use settings::{check_name, Settings, Suite};
pub use verify::{verify, Finding};

/// Everything that can go wrong with a repository.
#[derive(Debug, thiserror::Error)]
pub enum AptError {
    /// The path holds no repository.
    #[error("{path} is not a git-buildkit repository (no .buildkit/repo.toml)")]
    NotARepo { path: PathBuf },
    /// `repo init` on a directory that already has content.
    #[error("{path} already exists and is not empty")]
    NotEmpty { path: PathBuf },
    /// A file operation failed.
    #[error("could not access {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The settings file is damaged.
    #[error("invalid repository settings in {path}: {message}")]
    BadSettings { path: PathBuf, message: String },
    /// A name is not usable.
    #[error("invalid {kind} name {name:?}")]
    BadName { kind: &'static str, name: String },
    /// A .deb given to `add` is unusable.
    #[error("{path} cannot be added")]
    BadDeb {
        path: PathBuf,
        #[source]
        source: crate::deb::DebError,
    },
    /// The package's architecture is not carried.
    #[error("{package} is for architecture {architecture}, which this repository does not carry (it carries: {carried})")]
    WrongArchitecture {
        package: String,
        architecture: String,
        carried: String,
    },
    /// The same file name with other bytes is already in the pool.
    #[error("{filename} is already in the pool with different contents; apt clients would see a hash mismatch")]
    DifferentBytes { filename: String },
    /// No such suite.
    #[error("no suite {suite:?} in this repository (it has: {known})")]
    UnknownSuite { suite: String, known: String },
    /// No such component.
    #[error("no component {component:?} in this repository (it has: {known})")]
    UnknownComponent { component: String, known: String },
    /// A package spec matched nothing.
    #[error("no package matches {spec:?} in suite {suite}")]
    NoMatch { spec: String, suite: String },
    /// The index cache or a Packages file cannot be parsed.
    #[error("damaged package index: {reason}")]
    BadIndex { reason: &'static str },
    /// A Packages file or the index cache is not deb822.
    #[error("damaged package index")]
    IndexSyntax {
        #[source]
        source: crate::deb822::Deb822Error,
    },
    /// Signing failed.
    #[error("could not sign the Release file")]
    Sign(#[from] crate::sign::SignError),
    /// The repository was never published or its dists link is broken.
    #[error("{path} has no published generation")]
    NoGeneration { path: PathBuf },
}

impl AptError {
    /// Advice for the user.
    pub fn hint(&self) -> Option<String> {
        match self {
            AptError::NotARepo { .. } => Some("create one with `git buildkit repo init PATH`".into()),
            AptError::DifferentBytes { .. } => Some("a released version is immutable: bump the version (or the Debian revision) and build again".into()),
            AptError::NoGeneration { .. }
            | AptError::BadIndex { .. }
            | AptError::IndexSyntax { .. } => Some("`git buildkit repo verify --repair` rebuilds the index from the pool".into()),
            AptError::Sign(e) => e.hint(),
            _ => None,
        }
    }
}
