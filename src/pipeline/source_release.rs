//! The source release of a tag: `<repo>/releases/NAME/VERSION/` holding
//! `NAME-VERSION.tar.gz`, `SHA256SUMS` (`sha256sum -c` reads it) and
//! `SHA256SUMS.asc`, its detached signature by the repository's key, so a
//! user can fetch the tagged tree beside the packages and check it with
//! `gpgv --keyring <repo>/key.gpg` (or `sqv`). The tag's packages are
//! attached beside the tarball (copies of the pool's files, in the same
//! checksum file), so a release page lists what to install by hand.
//!
//! The tar stream is `git archive --format=tar --prefix=NAME-VERSION/` of
//! the tag, through the one git runner, byte for byte: git's tar writer
//! (pax header with the commit id, the commit time as every mtime, modes
//! 0644/0755 after `tar.umask`) is the reference a user compares with, so
//! it is not imitated. What the user's configuration could change is pinned:
//! no system or global configuration, no global or system attributes file,
//! `tar.umask=0002` (git's default), no end-of-line conversion. The tree's own
//! `.gitattributes` (`export-ignore`, `export-subst`) applies, as it does for
//! anyone running `git archive` on the tag.
//!
//! The gzip layer is `gzip -9n`: no file name, mtime 0, best compression,
//! Unix as the OS byte, so two runs give the same bytes.
//!
//! A release is immutable: it is written into a hidden directory beside
//! its place and renamed into place; a release already there with the same
//! bytes is left alone ("unchanged"), one with other bytes is an error.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::run::Work;
use super::{Record, StepError};
use crate::apt::AptRepo;
use crate::config::Config;
use crate::fsutil;
use crate::git::{git, Repo};
use crate::process::ProcessError;
use crate::progress::Listener;
use crate::sign::{SignError, SigningKey};

/// The directory of the releases inside a repository (served with it).
pub const RELEASES_DIR: &str = "releases";

/// The checksum file of a release.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// The detached, ASCII-armored signature of [`SUMS_FILE`].
pub const SIGNATURE_FILE: &str = "SHA256SUMS.asc";

/// A source release, as recorded in the note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRelease {
    /// Its directory, `<repo>/releases/NAME/VERSION`.
    pub path: PathBuf,
    /// The file names in it: the tarball, the attached packages, the
    /// checksums, the signature.
    pub files: Vec<String>,
    /// SHA-256 of the tarball, lowercase hex.
    pub sha256: String,
    /// Whether this run wrote it (false: the same bytes were there already).
    pub written: bool,
}

impl SourceRelease {
    /// The tarball's file name (the first of [`SourceRelease::files`]).
    pub fn tarball(&self) -> Option<&str> {
        self.files.first().map(String::as_str)
    }
}

/// Why a source release could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SourceReleaseError {
    /// The name or the version cannot be one directory's name.
    #[error("the release {what} {value:?} is not usable as a directory name")]
    BadName { what: &'static str, value: String },
    /// `git archive` failed.
    #[error("could not archive {tag}")]
    Archive {
        tag: String,
        #[source]
        source: ProcessError,
    },
    /// A file of the release could not be written or read.
    #[error("could not write the release file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The checksums could not be signed.
    #[error("could not sign {path}")]
    Sign {
        path: PathBuf,
        #[source]
        source: SignError,
    },
    /// The release exists with other bytes: releases never change.
    #[error("the release {path} already exists and differs ({})", differing.join(", "))]
    Changed {
        path: PathBuf,
        differing: Vec<String>,
    },
    /// A package to attach is not the file the pipeline recorded.
    #[error("{path} has SHA-256 {found}, not the recorded {recorded}")]
    Attachment {
        path: PathBuf,
        recorded: String,
        found: String,
    },
}

impl SourceReleaseError {
    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            SourceReleaseError::Attachment { .. } => Some(
                "the repository's pool file changed after it was published: `git buildkit repo verify --repair`".into(),
            ),
            SourceReleaseError::Changed { .. } => Some(
                "a published release is immutable: tag a new version, or remove the directory \
                 by hand if it was never announced"
                    .into(),
            ),
            SourceReleaseError::BadName { .. } => Some(
                "names and versions are letters, digits and . + ~ _ -, starting with a letter or digit"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Checks that `value` can be one path component of a served directory:
/// not empty, not hidden, only `[A-Za-z0-9.+~_-]`, no `..`.
pub fn check_release_name(what: &'static str, value: &str) -> Result<(), SourceReleaseError> {
    let bad = || SourceReleaseError::BadName {
        what,
        value: value.to_owned(),
    };
    let first_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let chars_ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | '_' | '-'));
    if !first_ok || !chars_ok || value.contains("..") || value.len() > 200 {
        return Err(bad());
    }
    Ok(())
}

/// A package attached to a source release: a file of the repository's
/// pool, with the SHA-256 the pipeline recorded for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its file name in the release (the pool file's).
    pub name: String,
    /// The pool file.
    pub path: PathBuf,
    /// Its recorded SHA-256, checked on the copy.
    pub sha256: String,
}

/// Writes the source release of `tag` into
/// `<apt_root>/releases/<name>/<version>/`, with `attached` packages,
/// signed by `key`; returns it with `written` false when the same bytes
/// were already there.
pub fn write_source_release(
    repo: &Repo,
    tag: &str,
    name: &str,
    version: &str,
    apt_root: &Path,
    attached: &[Attachment],
    key: &SigningKey,
) -> Result<SourceRelease, SourceReleaseError> {
    check_release_name("name", name)?;
    check_release_name("version", version)?;
    let parent = apt_root.join(RELEASES_DIR).join(name);
    let dest = parent.join(version);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SourceReleaseError::Io { path, source }
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    // Hidden: the server never shows a release before it is complete.
    let aside = tempfile::Builder::new()
        .prefix(&format!(".{version}.tmp-"))
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    let files = write_files(repo, tag, name, version, attached, aside.path(), key)?;
    let sha256 = files.1;
    let release = |written| SourceRelease {
        path: dest.clone(),
        files: files.0.clone(),
        sha256: sha256.clone(),
        written,
    };
    for file in &files.0 {
        fsutil::sync_file(&aside.path().join(file)).map_err(io(&aside.path().join(file)))?;
    }
    fsutil::sync_dir(aside.path()).map_err(io(aside.path()))?;
    set_mode(aside.path(), 0o755).map_err(io(aside.path()))?;
    // rename(2) of a directory never replaces a non-empty one: a release
    // there already (or one written at this moment by another run) stays.
    match std::fs::rename(aside.path(), &dest) {
        Ok(()) => {
            fsutil::sync_dir(&parent).map_err(io(&parent))?;
            // The directory is in place: nothing is left to remove.
            let _ = aside.keep();
            Ok(release(true))
        }
        Err(_) if dest.is_dir() => {
            match existing_differs(aside.path(), &dest, &files.0, attached, key) {
                (differing, _) if !differing.is_empty() => Err(SourceReleaseError::Changed {
                    path: dest,
                    differing,
                }),
                (_, Some(old_files)) => Ok(SourceRelease {
                    files: old_files,
                    ..release(false)
                }),
                (_, None) => Ok(release(false)),
            }
        }
        Err(e) => Err(io(&dest)(e)),
    }
}

/// How the release already at `dest` differs from the one written in
/// `new` (`files`), and, when it is a release written before packages
/// were attached (the tarball, the checksums and the signature only), its
/// file list: such a release stays as it is, its tarball compared.
fn existing_differs(
    new: &Path,
    dest: &Path,
    files: &[String],
    attached: &[Attachment],
    key: &SigningKey,
) -> (Vec<String>, Option<Vec<String>>) {
    let old_form = !attached.is_empty() && attached.iter().all(|a| !dest.join(&a.name).exists());
    let compared = if old_form { &files[..1] } else { files };
    let mut differing = differing_files(new, dest, compared);
    if !signature_holds(dest, key) {
        differing.push(SIGNATURE_FILE.to_owned());
        differing.sort();
        differing.dedup();
    }
    let old_files = old_form.then(|| {
        vec![
            files[0].clone(),
            SUMS_FILE.to_owned(),
            SIGNATURE_FILE.to_owned(),
        ]
    });
    (differing, old_files)
}

/// Writes the tarball, the attached packages, the checksums and the
/// signature into `dir`; the file names in order and the tarball's SHA-256.
fn write_files(
    repo: &Repo,
    tag: &str,
    name: &str,
    version: &str,
    attached: &[Attachment],
    dir: &Path,
    key: &SigningKey,
) -> Result<(Vec<String>, String), SourceReleaseError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SourceReleaseError::Io { path, source }
    };
    let (tarball, sha256) = write_tarball(repo, tag, name, version, dir)?;
    let mut sums = sums_line(&sha256, &tarball);
    let mut files = vec![tarball];
    for package in attached {
        check_release_name("package file", &package.name)?;
        // A regular file of the pool (never a symlink or a device), hashed
        // before it is linked or copied: a file that is not the recorded
        // one costs no disk.
        let meta = std::fs::symlink_metadata(&package.path).map_err(io(&package.path))?;
        let found = if meta.is_file() {
            fsutil::sha256_file(&package.path)
                .map(|(_, sha256)| sha256)
                .map_err(io(&package.path))?
        } else {
            "not a regular file".to_owned()
        };
        if found != package.sha256 {
            return Err(SourceReleaseError::Attachment {
                path: package.path.clone(),
                recorded: package.sha256.clone(),
                found,
            });
        }
        let to = dir.join(&package.name);
        // A hard link where the pool is on the same file system: the pool's
        // files never change in place (a repair writes a new file).
        if std::fs::hard_link(&package.path, &to).is_err() {
            std::fs::copy(&package.path, &to).map_err(io(&package.path))?;
        }
        sums.push_str(&sums_line(&found, &package.name));
        files.push(package.name.clone());
    }
    let sums_path = dir.join(SUMS_FILE);
    std::fs::write(&sums_path, &sums).map_err(io(&sums_path))?;
    let signature =
        key.sign_detached(sums.as_bytes())
            .map_err(|source| SourceReleaseError::Sign {
                path: sums_path.clone(),
                source,
            })?;
    let sig_path = dir.join(SIGNATURE_FILE);
    std::fs::write(&sig_path, signature).map_err(io(&sig_path))?;
    files.extend([SUMS_FILE.to_owned(), SIGNATURE_FILE.to_owned()]);
    for file in &files {
        set_mode(&dir.join(file), 0o644).map_err(io(&dir.join(file)))?;
    }
    Ok((files, sha256))
}

/// The packages of `record` published in the repository at `root`, as
/// their source release attaches them.
pub(super) fn attachments(record: &Record, root: &Path) -> Vec<Attachment> {
    record
        .packages
        .iter()
        .filter_map(|package| {
            // The note may come from elsewhere: only a path of the pool.
            let filename = package
                .filename
                .as_ref()
                .filter(|f| crate::apt::is_pool_path(f))?;
            Some(Attachment {
                name: Path::new(filename).file_name()?.to_str()?.to_owned(),
                path: root.join(filename),
                sha256: package.sha256.clone(),
            })
        })
        .collect()
}

/// The line of `SHA256SUMS` for a file (what `sha256sum` prints).
pub(super) fn sums_line(sha256: &str, name: &str) -> String {
    format!("{sha256}  {name}\n")
}

/// Writes `NAME-VERSION.tar.gz` of `tag` into `dir`; its file name and SHA-256.
pub fn write_tarball(
    repo: &Repo,
    tag: &str,
    name: &str,
    version: &str,
    dir: &Path,
) -> Result<(String, String), SourceReleaseError> {
    let stem = format!("{name}-{version}");
    let tar_path = dir.join(format!(".{stem}.tar"));
    archive(repo, tag, &format!("{stem}/"), &tar_path)?;
    let tarball = format!("{stem}.tar.gz");
    let gz_path = dir.join(&tarball);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SourceReleaseError::Io { path, source }
    };
    let sha256 = gzip_file(&tar_path, &gz_path).map_err(io(&gz_path))?;
    std::fs::remove_file(&tar_path).map_err(io(&tar_path))?;
    Ok((tarball, sha256))
}

/// `git archive --format=tar --prefix=PREFIX refs/tags/TAG` into `out`,
/// with what the user's configuration could change pinned (see the module
/// documentation).
pub fn archive(repo: &Repo, tag: &str, prefix: &str, out: &Path) -> Result<(), SourceReleaseError> {
    git(repo.cwd())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_ATTR_NOSYSTEM", "1")
        // `git -c` settings a hook's caller passed down do not reach it.
        .env_remove("GIT_CONFIG_PARAMETERS")
        .env_remove("GIT_CONFIG_COUNT")
        .args([
            "-c",
            "tar.umask=0002",
            "-c",
            "core.attributesFile=/dev/null",
            "-c",
            "core.autocrlf=false",
            "-c",
            "core.eol=lf",
            "archive",
            "--format=tar",
        ])
        .arg(format!("--prefix={prefix}"))
        .arg("-o")
        .arg(out)
        // A full ref: a tag named like an option stays a name.
        .arg(format!("refs/tags/{tag}"))
        .output()
        .map(|_| ())
        .map_err(|source| SourceReleaseError::Archive {
            tag: tag.to_owned(),
            source,
        })
}

/// `gzip -9n < from > to`; the SHA-256 of what was written.
fn gzip_file(from: &Path, to: &Path) -> std::io::Result<String> {
    let mut input = BufReader::new(File::open(from)?);
    let mut hashing = HashingWriter {
        inner: BufWriter::new(File::create(to)?),
        hasher: Sha256::new(),
    };
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(3)
        .write(&mut hashing, flate2::Compression::best());
    std::io::copy(&mut input, &mut encoder)?;
    encoder.finish()?;
    hashing.inner.flush()?;
    Ok(hex::encode(hashing.hasher.finalize()))
}

/// A writer that hashes what goes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The files of `new` whose bytes the release at `old` does not have, the
/// signature aside: a signature is made anew each time (its creation time
/// differs) and any valid one of the same checksums is as good
/// ([`signature_holds`]). Files of `old` that are not in `files` count too.
fn differing_files(new: &Path, old: &Path, files: &[String]) -> Vec<String> {
    let mut differing: Vec<String> = files
        .iter()
        .filter(|f| f.as_str() != SIGNATURE_FILE)
        .filter(|f| !same_bytes(&new.join(f), &old.join(f)))
        .cloned()
        .collect();
    if let Ok(entries) = std::fs::read_dir(old) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !files.contains(&name) {
                differing.push(name);
            }
        }
    }
    differing.sort();
    differing
}

/// Whether the release at `dir` has a signature of its checksums by `key`
/// (the same checksums signed at another time are as good).
fn signature_holds(dir: &Path, key: &SigningKey) -> bool {
    let read = |name: &str| std::fs::read(dir.join(name)).ok();
    match (key.public_binary(), read(SUMS_FILE), read(SIGNATURE_FILE)) {
        (Ok(public), Some(sums), Some(signature)) => {
            crate::sign::verify_detached(&public, &sums, &signature).is_ok()
        }
        _ => false,
    }
}

/// Whether two files hold the same bytes (a missing or unreadable one does not).
fn same_bytes(a: &Path, b: &Path) -> bool {
    let digest = |path: &Path| -> Option<(u64, Vec<u8>)> {
        let mut file = File::open(path).ok()?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 << 10];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buf[..n]);
        }
        Some((size, hasher.finalize().to_vec()))
    };
    matches!((digest(a), digest(b)), (Some(x), Some(y)) if x == y)
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// The name of a project's source releases: its first `[[package]]`'s
/// name (packages carry no `Source:` field, so the first package names the
/// source, as dpkg does for a binary without one), else the project's.
pub fn release_name(config: &crate::config::Config, repo: &Repo) -> String {
    config
        .packages
        .first()
        .map(|p| p.name.get_ref().clone())
        .unwrap_or_else(|| super::project_name(repo))
}

impl Work<'_> {
    pub(super) fn source_release(
        &self,
        record: &mut Record,
        apt: &AptRepo,
        key: &SigningKey,
    ) -> Result<(), StepError> {
        release_source(
            self.repo,
            self.config,
            self.tag,
            record,
            apt,
            key,
            self.listener,
        )
    }
}

/// Writes the source release of `tag` beside `apt` (see
/// [`write_source_release`]), says so, and records it.
pub(super) fn release_source(
    repo: &Repo,
    config: &Config,
    tag: &str,
    record: &mut Record,
    apt: &AptRepo,
    key: &SigningKey,
    listener: &dyn Listener,
) -> Result<(), StepError> {
    let name = release_name(config, repo);
    let version = record.version.clone().unwrap_or_else(|| tag.to_owned());
    let attached = attachments(record, apt.root());
    let release = write_source_release(repo, tag, &name, &version, apt.root(), &attached, key)?;
    listener.status(
        if release.written {
            "Released"
        } else {
            "Unchanged"
        },
        &format!(
            "source {} in {}",
            release.tarball().unwrap_or_default(),
            release.path.display()
        ),
    );
    record.source_release = Some(release);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn release_names_stay_one_plain_directory() {
        for good in ["hello", "1.2.0", "1.2.0-rc.1", "2.0.0+build.5", "a~b_c"] {
            assert!(check_release_name("name", good).is_ok(), "{good}");
        }
        for bad in [
            "", ".", "..", "../x", "a/b", "a/../b", ".hidden", "-x", "1..2", "a b", "a\0b", "é",
        ] {
            assert_eq!(
                check_release_name("version", bad)
                    .map_err(|e| e.to_string())
                    .expect_err(bad),
                format!("the release version {bad:?} is not usable as a directory name")
            );
        }
    }

    #[test]
    fn gzip_has_no_name_and_no_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let from = dir.path().join("a.tar");
        std::fs::write(&from, b"payload").expect("write");
        let to = dir.path().join("a.tar.gz");
        let sha = gzip_file(&from, &to).expect("gzip");
        let bytes = std::fs::read(&to).expect("read");
        // magic, deflate, no flags, mtime 0, best (2), Unix (3)
        assert_eq!(&bytes[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
        assert_eq!(sha, hex::encode(Sha256::digest(&bytes)));
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        assert_eq!(out, b"payload");
    }
}
