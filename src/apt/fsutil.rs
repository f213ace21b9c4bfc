//! Small filesystem helpers shared by the repository code, and the batch
//! that makes a publish durable.
//!
//! Everything a repository publishes is synced before the `dists` switch
//! makes it visible (see [`SyncBatch`]), so once `repo add` returns a power
//! loss cannot lose or truncate what it reported. The one-file writes go
//! through [`crate::fsutil::write_atomic`] with [`Durability::Synced`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::AptError;
use crate::fsutil::{parent, sync_dir, sync_file, Durability};

/// Writes `bytes` to a temporary file beside `path` and renames it over
/// `path`, mode 0644 (see [`crate::fsutil::write_atomic`], which this
/// only calls, mapping its error to [`AptError::Io`] with the path). The
/// repository's one way to replace a single file; `durability` is
/// [`Durability::Synced`] for everything it publishes.
pub fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> Result<(), AptError> {
    crate::fsutil::write_atomic(path, bytes, 0o644, durability).map_err(|source| AptError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes a new file (its directory is created), recording both in `batch`.
pub fn write_new(path: &Path, bytes: &[u8], batch: &mut SyncBatch) -> Result<(), AptError> {
    create_dirs(parent(path), batch)?;
    std::fs::write(path, bytes).map_err(|source| AptError::Io {
        path: path.to_owned(),
        source,
    })?;
    batch.file(path);
    Ok(())
}

/// Creates `dir` and its missing ancestors; every directory whose entries
/// changed (the parent of each one created) is recorded in `batch`.
pub fn create_dirs(dir: &Path, batch: &mut SyncBatch) -> Result<(), AptError> {
    let mut missing = Vec::new();
    let mut current = dir;
    while !current.is_dir() {
        missing.push(current.to_owned());
        match current.parent() {
            Some(up) if !up.as_os_str().is_empty() => current = up,
            _ => break,
        }
    }
    for created in missing.iter().rev() {
        match std::fs::create_dir(created) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(AptError::Io {
                    path: created.clone(),
                    source,
                })
            }
        }
        batch.dir(parent(created));
    }
    Ok(())
}

/// Sets permission bits.
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Hard-links `from` to `to` (creating parents), copying when a link is
/// impossible; the new name (and a copy's data) is recorded in `batch`.
pub fn link_or_copy(from: &Path, to: &Path, batch: &mut SyncBatch) -> Result<(), AptError> {
    let err = |source| AptError::Io {
        path: to.to_owned(),
        source,
    };
    create_dirs(parent(to), batch)?;
    match std::fs::hard_link(from, to) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(_) => {
            let tmp = to.with_extension("tmp-copy");
            std::fs::copy(from, &tmp).map_err(err)?;
            sync_file(&tmp).map_err(err)?;
            std::fs::rename(&tmp, to).map_err(err)?;
        }
    }
    batch.dir(parent(to));
    Ok(())
}

/// Files and directories written by one operation, synced together before
/// anything refers to them: the data of every file first, then every
/// directory holding a new name. Syncing a batch on several threads lets
/// the file system commit many files in one journal transaction, which is
/// what makes syncing a thousand pool files affordable.
#[derive(Debug, Default)]
pub struct SyncBatch {
    files: Vec<PathBuf>,
    dirs: BTreeSet<PathBuf>,
}

impl SyncBatch {
    /// A file whose data must be synced, and its directory.
    pub fn file(&mut self, path: &Path) {
        self.files.push(path.to_owned());
        self.dirs.insert(parent(path).to_owned());
    }

    /// A file whose data must be synced (its name is synced separately).
    pub fn data(&mut self, path: &Path) {
        self.files.push(path.to_owned());
    }

    /// A directory whose entries changed.
    pub fn dir(&mut self, path: &Path) {
        self.dirs.insert(path.to_owned());
    }

    /// Syncs the files, then the directories, and empties the batch.
    pub fn commit(&mut self) -> Result<(), AptError> {
        sync_all(&std::mem::take(&mut self.files), sync_file)?;
        let dirs: Vec<PathBuf> = std::mem::take(&mut self.dirs).into_iter().collect();
        sync_all(&dirs, sync_dir)
    }
}

/// Runs `sync` on every path, on up to eight threads (it waits on the disk,
/// not the CPU).
fn sync_all(paths: &[PathBuf], sync: fn(&Path) -> std::io::Result<()>) -> Result<(), AptError> {
    super::parallel::map(paths, 8, "a sync thread panicked", |path| {
        sync(path).map_err(|source| AptError::Io {
            path: path.clone(),
            source,
        })
    })?;
    Ok(())
}
