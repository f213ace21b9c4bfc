//! The writer lock: `.buildkit/lock`, held exclusively by every change to
//! a repository, so that concurrent writers (several tags pushed at once)
//! publish one after the other.

use std::fs::File;
use std::path::Path;

use super::{check_foreign, AptRepo, PRIVATE};
use crate::apt::AptError;

/// An exclusive lock on the repository, released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl AptRepo {
    /// Waits for and takes the repository's writer lock.
    pub fn lock(&self) -> Result<Lock, AptError> {
        lock_file(&self.root.join(PRIVATE).join("lock"))
    }

    /// Takes the writer lock and reads the settings again under it: another
    /// writer may have changed them (added a suite, changed the retention)
    /// since this value was opened, and a publish from stale settings would
    /// drop that suite from `dists`.
    pub(crate) fn locked(&self) -> Result<(Lock, AptRepo), AptError> {
        let lock = self.lock()?;
        let fresh = AptRepo::open(&self.root)?;
        Ok((lock, fresh))
    }
}

/// The writer lock of a repository that may not exist yet: refuses a
/// foreign directory before creating anything in it, then creates
/// `<root>/.buildkit` and locks.
pub(super) fn lock_new(root: &Path) -> Result<Lock, AptError> {
    check_foreign(root)?;
    let private = root.join(PRIVATE);
    std::fs::create_dir_all(&private).map_err(|source| AptError::Io {
        path: private.clone(),
        source,
    })?;
    lock_file(&private.join("lock"))
}

/// Waits for and takes the lock of the file at `path` (created, never truncated).
fn lock_file(path: &Path) -> Result<Lock, AptError> {
    let io = |source| AptError::Io {
        path: path.to_owned(),
        source,
    };
    let file = crate::fsutil::open_lock_file(path).map_err(io)?;
    file.lock().map_err(io)?;
    Ok(Lock { _file: file })
}
