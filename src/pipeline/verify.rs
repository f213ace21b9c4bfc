//! `verify TAG`: rebuild the tag from scratch and compare, byte for byte,
//! with what its note says was built (the sha256 of each package) and with
//! what the repository serves (each pool file, and the source release).
//!
//! The rebuild goes into a temporary directory: the tag's dist directory
//! and the repository are never written. A served file is hostile (anyone
//! with write access to the web root, a bad disk): it is copied once, with
//! a size limit, into the temporary directory and everything after reads
//! the copy; it is checked with the bounded [`crate::deb::read_deb`] before
//! its members are compared ([`super::deb_diff`]).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::deb_diff::{diff_debs, DebDiff};
use super::{
    check_release_name, record_of, release_name, write_tarball, PipelineError, Record,
    SourceReleaseError,
};
use crate::apt::{AptError, AptRepo};
use crate::deb::WrittenDeb;
use crate::debhelper::foreign::ForeignLibraries;
use crate::fsutil;
use crate::git::Repo;
use crate::package::{self, PackageError, PackageRequest};
use crate::progress::Listener;

/// What `verify` needs besides the tag.
#[derive(Clone, Default)]
pub struct VerifyOptions {
    /// The repository to compare with, instead of the one in the note.
    pub repo: Option<PathBuf>,
    /// Where another architecture's library information comes from.
    pub foreign: Option<std::sync::Arc<dyn ForeignLibraries>>,
}

impl std::fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("repo", &self.repo)
            .finish_non_exhaustive()
    }
}

/// Why `verify` could not give a verdict.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The tag, its note or the repository could not be read.
    #[error(transparent)]
    Pipeline(Box<PipelineError>),
    /// The tag has no record: it was never run, so nothing says what was published.
    #[error(
        "{tag} has no {} note: nothing says what was published",
        super::NOTES_REF
    )]
    NoRecord { tag: String },
    /// The record says nothing was published.
    #[error("the pipeline of {tag} published nothing (its record has no repository)")]
    NotPublished { tag: String },
    /// The rebuild failed.
    #[error("could not rebuild {tag}")]
    Rebuild {
        tag: String,
        #[source]
        source: Box<PackageError>,
    },
    /// The source tarball could not be rebuilt.
    #[error(transparent)]
    Source(Box<SourceReleaseError>),
    /// The repository could not be read.
    #[error(transparent)]
    Apt(#[from] AptError),
    /// The scratch directory could not be used.
    #[error("could not use {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<PipelineError> for VerifyError {
    fn from(e: PipelineError) -> Self {
        VerifyError::Pipeline(Box::new(e))
    }
}

impl From<SourceReleaseError> for VerifyError {
    fn from(e: SourceReleaseError) -> Self {
        VerifyError::Source(Box::new(e))
    }
}

impl VerifyError {
    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            VerifyError::NoRecord { .. } | VerifyError::NotPublished { .. } => Some(
                "`git buildkit pipeline TAG` publishes it; `git buildkit show TAG` has its record"
                    .into(),
            ),
            VerifyError::Pipeline(e) => e.hint(),
            VerifyError::Rebuild { source, .. } => source.hint(),
            VerifyError::Apt(e) => e.hint(),
            _ => None,
        }
    }
}

/// One difference found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Difference {
    /// The note's sha256 is not the rebuilt package's.
    Note { note: String, rebuilt: String },
    /// The note lists a package the rebuild did not make.
    NotRebuilt,
    /// The rebuild made a package the note does not list.
    NotInNote,
    /// The repository does not have the package.
    NotPublished { repo: PathBuf },
    /// The served file is missing.
    Missing { path: PathBuf },
    /// The served file is larger than anything the rebuild explains.
    TooLarge { path: PathBuf, limit: u64 },
    /// The served file is not a readable package.
    Unreadable { path: PathBuf, reason: String },
    /// A file of the served source release is wrong (its checksums, its signature).
    BadReleaseFile { path: PathBuf, reason: String },
    /// The served file differs: how, member by member.
    Served {
        path: PathBuf,
        sha256: String,
        members: Vec<DebDiff>,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Note { note, rebuilt } => {
                write!(f, "the note says sha256 {note}, the rebuild is {rebuilt}")
            }
            Difference::NotRebuilt => write!(f, "in the note, but the rebuild did not make it"),
            Difference::NotInNote => write!(f, "rebuilt, but not in the note"),
            Difference::NotPublished { repo } => {
                write!(f, "not published in {}", repo.display())
            }
            Difference::Missing { path } => write!(f, "{} is missing", path.display()),
            Difference::TooLarge { path, limit } => write!(
                f,
                "{} is larger than {limit} bytes; not examined",
                path.display()
            ),
            Difference::Unreadable { path, reason } => {
                write!(f, "{} is not a valid package: {reason}", path.display())
            }
            Difference::BadReleaseFile { path, reason } => {
                write!(f, "{}: {reason}", path.display())
            }
            Difference::Served {
                path,
                sha256,
                members,
            } => {
                write!(f, "{} differs (sha256 {sha256})", path.display())?;
                for member in members {
                    for line in member.to_string().lines() {
                        write!(f, "\n  {line}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The check of one package (or the source tarball).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Package name, or the tarball's file name.
    pub name: String,
    /// Debian version (the upstream version for the tarball).
    pub version: String,
    /// Architecture (`source` for the tarball).
    pub architecture: String,
    /// SHA-256 of the rebuilt file.
    pub rebuilt_sha256: Option<String>,
    /// The served file compared.
    pub served: Option<PathBuf>,
    /// What differs; empty when identical.
    pub differences: Vec<Difference>,
}

/// The verdict of `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The tag.
    pub tag: String,
    /// Whether everything is identical.
    pub identical: bool,
    /// Each package, then the source release (when one was published).
    pub checks: Vec<Check>,
}

/// Rebuilds `tag` in a scratch directory and compares it with its note and
/// with the files the repository serves.
pub fn verify(
    repo: &Repo,
    tag: &str,
    options: &VerifyOptions,
    listener: &dyn Listener,
) -> Result<VerifyReport, VerifyError> {
    let (record, _) = record_of(repo, tag)?.ok_or_else(|| VerifyError::NoRecord {
        tag: tag.to_owned(),
    })?;
    let published = record
        .repo
        .as_ref()
        .ok_or_else(|| VerifyError::NotPublished {
            tag: tag.to_owned(),
        })?;
    let root = options
        .repo
        .clone()
        .unwrap_or_else(|| published.path.clone());
    let scratch = tempfile::Builder::new()
        .prefix("buildkit-verify-")
        .tempdir()
        .map_err(|source| VerifyError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| VerifyError::Io { path, source }
    };
    let out_dir = scratch.path().join("dist");
    let request = PackageRequest {
        rev: Some(tag.to_owned()),
        out_dir,
        compression: None,
        allow_unresolved: false,
        foreign: options.foreign.clone(),
    };
    listener.status("Rebuilding", &format!("{tag} from scratch"));
    let outcome =
        package::package(repo, &request, listener).map_err(|source| VerifyError::Rebuild {
            tag: tag.to_owned(),
            source: Box::new(source),
        })?;
    let served_dir = scratch.path().join("served");
    std::fs::create_dir_all(&served_dir).map_err(io(&served_dir))?;
    let mut checks = Vec::new();
    for deb in &outcome.debs {
        checks.push(check_package(
            &record,
            deb,
            &root,
            &published.suite,
            &served_dir,
        )?);
    }
    checks.extend(not_rebuilt(&record, &outcome.debs));
    if let Some(release) = &record.source_release {
        checks.push(check_source(
            repo,
            &record,
            release,
            &outcome.debs,
            &root,
            scratch.path(),
        )?);
    }
    Ok(VerifyReport {
        tag: tag.to_owned(),
        identical: checks.iter().all(|c| c.differences.is_empty()),
        checks,
    })
}

/// The packages of the note the rebuild did not make.
fn not_rebuilt(record: &Record, debs: &[WrittenDeb]) -> Vec<Check> {
    record
        .packages
        .iter()
        .filter(|package| {
            !debs.iter().any(|d| {
                d.name == package.name
                    && d.version == package.version
                    && d.architecture == package.architecture
            })
        })
        .map(|package| Check {
            name: package.name.clone(),
            version: package.version.clone(),
            architecture: package.architecture.clone(),
            rebuilt_sha256: None,
            served: None,
            differences: vec![Difference::NotRebuilt],
        })
        .collect()
}

/// Compares one rebuilt package with the note and the served file.
fn check_package(
    record: &Record,
    deb: &WrittenDeb,
    root: &Path,
    suite: &str,
    served_dir: &Path,
) -> Result<Check, VerifyError> {
    let mut differences = Vec::new();
    let noted = record.packages.iter().find(|p| {
        p.name == deb.name && p.version == deb.version && p.architecture == deb.architecture
    });
    match noted {
        None => differences.push(Difference::NotInNote),
        Some(p) if p.sha256 != deb.sha256 => differences.push(Difference::Note {
            note: p.sha256.clone(),
            rebuilt: deb.sha256.clone(),
        }),
        Some(_) => {}
    }
    // The note may come from elsewhere (git fetch): only a pool path is read.
    let filename = match noted
        .and_then(|p| p.filename.clone())
        .filter(|f| crate::apt::is_pool_path(f))
    {
        Some(name) => Some(name),
        None => find_in_repository(root, suite, deb)?,
    };
    let served = filename.map(|f| root.join(f));
    match &served {
        None => differences.push(Difference::NotPublished {
            repo: root.to_owned(),
        }),
        Some(path) => {
            let copy = served_dir.join(format!("{}_{}.deb", deb.name, deb.architecture));
            if let Some(d) = compare_served(&deb.path, deb.size, &deb.sha256, path, &copy)? {
                differences.push(d);
            }
        }
    }
    Ok(Check {
        name: deb.name.clone(),
        version: deb.version.clone(),
        architecture: deb.architecture.clone(),
        rebuilt_sha256: Some(deb.sha256.clone()),
        served,
        differences,
    })
}

/// The pool path of `deb`'s name, version and architecture in the
/// repository at `root` (the suite of the record first, then any), if it
/// has it.
fn find_in_repository(
    root: &Path,
    suite: &str,
    deb: &WrittenDeb,
) -> Result<Option<String>, VerifyError> {
    let apt = match AptRepo::open(root) {
        Ok(apt) => apt,
        Err(AptError::NotARepo { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut items = apt.list(None)?;
    items.sort_by_key(|i| i.suite != suite);
    Ok(items
        .into_iter()
        .find(|i| {
            i.package == deb.name && i.version == deb.version && i.architecture == deb.architecture
        })
        .map(|i| i.filename))
}

/// Compares the served `path` with the rebuilt `rebuilt` (`size` bytes,
/// `sha256`): `None` when identical. The served file is copied to `copy`
/// first, at most 4 × the rebuilt size (and at least 64 MiB).
fn compare_served(
    rebuilt: &Path,
    size: u64,
    sha256: &str,
    path: &Path,
    copy: &Path,
) -> Result<Option<Difference>, VerifyError> {
    let limit = size.saturating_mul(4).max(64 << 20);
    let file = match open_served(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Some(Difference::Missing {
                path: path.to_owned(),
            }))
        }
        Err(e) => {
            return Ok(Some(Difference::Unreadable {
                path: path.to_owned(),
                reason: e.to_string(),
            }))
        }
    };
    let copied = match copy_hashed(file, copy, limit) {
        Ok(copied) => copied,
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            return Ok(Some(Difference::TooLarge {
                path: path.to_owned(),
                limit,
            }))
        }
        Err(e) => {
            return Ok(Some(Difference::Unreadable {
                path: path.to_owned(),
                reason: e.to_string(),
            }))
        }
    };
    if copied == sha256 {
        return Ok(None);
    }
    if let Err(e) = crate::deb::read_deb(copy) {
        // The reason alone: the path in the error is the private copy's.
        let reason = match e {
            crate::deb::DebError::Corrupt { reason, .. } => reason,
            other => super::error_chain(&other),
        };
        return Ok(Some(Difference::Unreadable {
            path: path.to_owned(),
            reason,
        }));
    }
    let members = match diff_debs(rebuilt, copy) {
        Ok(members) => members,
        Err(reason) => {
            return Ok(Some(Difference::Unreadable {
                path: path.to_owned(),
                reason,
            }))
        }
    };
    Ok(Some(Difference::Served {
        path: path.to_owned(),
        sha256: copied,
        members,
    }))
}

/// Copies `from` to `to` (at most `limit` bytes: more is `FileTooLarge`)
/// and returns the SHA-256 of the bytes.
fn copy_hashed(from: File, to: &Path, limit: u64) -> std::io::Result<String> {
    let mut input = from.take(limit + 1);
    let mut out = std::io::BufWriter::new(File::create(to)?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > limit {
            return Err(std::io::Error::from(std::io::ErrorKind::FileTooLarge));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
    }
    out.flush()?;
    Ok(hex::encode(hasher.finalize()))
}

/// Rebuilds the source tarball and compares it with the note and the served file.
fn check_source(
    repo: &Repo,
    record: &Record,
    release: &super::SourceRelease,
    rebuilt_debs: &[WrittenDeb],
    root: &Path,
    scratch: &Path,
) -> Result<Check, VerifyError> {
    let dir = scratch.join("source");
    std::fs::create_dir_all(&dir).map_err(|source| VerifyError::Io {
        path: dir.clone(),
        source,
    })?;
    // The name and version the release was made with, from its path in
    // the note; checked like any name a release is made with, since the
    // note may come from elsewhere. The tarball's name follows from them.
    let version = release
        .path
        .file_name()
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| check_release_name("version", v).is_ok())
        .or_else(|| record.version.clone())
        .unwrap_or_default();
    let name = release
        .path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| check_release_name("name", n).is_ok())
        .unwrap_or_else(|| release_name_fallback(repo, &record.tag));
    let tarball = format!("{name}-{version}.tar.gz");
    let (_, rebuilt) = write_tarball(repo, &record.tag, &name, &version, &dir)?;
    let mut differences = Vec::new();
    if release.sha256 != rebuilt {
        differences.push(Difference::Note {
            note: release.sha256.clone(),
            rebuilt: rebuilt.clone(),
        });
    }
    let served = root
        .join(super::RELEASES_DIR)
        .join(&name)
        .join(&version)
        .join(&tarball);
    let size = std::fs::metadata(dir.join(&tarball)).map_or(0, |m| m.len());
    differences.extend(compare_served_tarball(&served, &rebuilt, size, &dir));
    // The tarball's line, then those of the packages the release attached
    // (a release made before packages were attached has none), each with
    // the rebuild's SHA-256: a package that differs is reported on its own.
    let mut sums = super::source_release::sums_line(&rebuilt, &tarball);
    for package in super::source_release::attachments(record, root) {
        if release.files.contains(&package.name) {
            let sha256 = rebuilt_debs
                .iter()
                .find(|d| d.path.file_name().and_then(|n| n.to_str()) == Some(&package.name))
                .map_or(package.sha256, |d| d.sha256.clone());
            sums.push_str(&super::source_release::sums_line(&sha256, &package.name));
        }
    }
    differences.extend(check_signed_sums(root, fsutil::parent(&served), &sums));
    Ok(Check {
        name: tarball,
        version,
        architecture: "source".into(),
        rebuilt_sha256: Some(rebuilt),
        served: Some(served),
        differences,
    })
}

/// The served `SHA256SUMS` of the release in `dir` must be exactly
/// `expected` (the rebuilt tarball's line and the attached packages'), and
/// its signature must hold under the repository's public key
/// (`<root>/key.gpg`).
fn check_signed_sums(root: &Path, dir: &Path, expected: &str) -> Vec<Difference> {
    // Both files are small; more than this is not a release's.
    let read = |path: &Path| -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        File::open(path)?.take(64 << 10).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let sums_path = dir.join(super::SUMS_FILE);
    let sig_path = dir.join(super::SIGNATURE_FILE);
    let (sums, signature) = match (read(&sums_path), read(&sig_path)) {
        (Ok(sums), Ok(signature)) => (sums, signature),
        (Err(_), _) => return vec![Difference::Missing { path: sums_path }],
        (_, Err(_)) => return vec![Difference::Missing { path: sig_path }],
    };
    let mut differences = Vec::new();
    if sums != expected.as_bytes() {
        let lines: Vec<&str> = expected.lines().collect();
        differences.push(Difference::BadReleaseFile {
            path: sums_path.clone(),
            reason: match lines.as_slice() {
                [line] => format!("it is not the line \"{line}\""),
                _ => format!("it is not the lines \"{}\"", lines.join("\", \"")),
            },
        });
    }
    let key = root.join("key.gpg");
    let verdict = read(&key).map_err(|e| e.to_string()).and_then(|public| {
        crate::sign::verify_detached(&public, &sums, &signature).map_err(|e| super::error_chain(&e))
    });
    if let Err(reason) = verdict {
        differences.push(Difference::BadReleaseFile {
            path: sig_path,
            reason: format!(
                "its signature does not hold under {}: {reason}",
                key.display()
            ),
        });
    }
    differences
}

/// Compares the served tarball with the rebuilt one (`size` bytes,
/// `sha256`), through a bounded copy in `dir`.
fn compare_served_tarball(
    served: &Path,
    sha256: &str,
    size: u64,
    dir: &Path,
) -> Option<Difference> {
    let file = match open_served(served) {
        Ok(file) => file,
        Err(_) => {
            return Some(Difference::Missing {
                path: served.to_owned(),
            })
        }
    };
    let limit = size.saturating_mul(4).max(64 << 20);
    match copy_hashed(file, &dir.join("served.tar.gz"), limit) {
        Ok(sha) if sha == sha256 => None,
        Ok(sha) => Some(Difference::Served {
            path: served.to_owned(),
            sha256: sha,
            members: Vec::new(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => Some(Difference::TooLarge {
            path: served.to_owned(),
            limit,
        }),
        Err(e) => Some(Difference::Unreadable {
            path: served.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// The release name when the record's path does not say it: the tag's configuration's.
/// A served file, opened without following a symlink and without
/// blocking on a FIFO; only a regular file is read.
fn open_served(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK;
    let file = File::options()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

fn release_name_fallback(repo: &Repo, tag: &str) -> String {
    repo.resolve(tag)
        .ok()
        .and_then(|commit| package::load_config(repo, &commit, tag).ok())
        .map_or_else(|| super::project_name(repo), |c| release_name(&c, repo))
}
