//! File helpers every domain module shares; each maps the io error to its
//! own error type with the path.
//!
//! Durability is decided here, once: a write that must survive a power loss
//! (the key store, everything a repository publishes) asks for
//! [`Durability::Synced`], a cache asks for [`Durability::Unsynced`]. A
//! rename alone is atomic for readers, but without `fsync(2)` of the file
//! AND of the directory holding its name, a power loss can leave the old
//! name, no name, or the new name on an empty or truncated file (ext4's
//! delayed allocation makes the last one real).

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Whether a write must reach the disk before the call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The file's data, then its directory entry, are synced: once the call
    /// returns, a power loss cannot lose or truncate it.
    Synced,
    /// Atomic for readers only; for caches that are rebuilt when lost.
    Unsynced,
}

/// Writes `bytes` to a temporary file beside `path`, sets `mode` and renames
/// it over `path`: readers see the old file or the new one, never a part.
/// With [`Durability::Synced`] the data is synced before the rename and the
/// directory after it.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    durability: Durability,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = parent(path);
    let mut file = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    // The final mode before any byte: a secret is never readable more widely.
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    if durability == Durability::Synced {
        file.as_file().sync_all()?;
    }
    file.persist(path).map_err(|e| e.error)?;
    if durability == Durability::Synced {
        sync_dir(dir)?;
    }
    Ok(())
}

/// A file's size and SHA-256 (lowercase hex), read once.
pub fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut std::io::BufReader::new(File::open(path)?), &mut hasher)?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Syncs a file's data and metadata (`fsync(2)`; a read-only handle is enough on Linux).
pub fn sync_file(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()
}

/// Syncs a directory, which makes the creation, rename or removal of the
/// names in it durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    sync_file(dir)
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Opens (creating it and its directory) the file whose lock guards
/// something: never truncated, since another process may hold it open.
pub fn open_lock_file(path: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(parent(path))?;
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// Whether another process holds the lock of the file at `path` now (a
/// missing file is held by no one). The probe takes a shared lock for an
/// instant, which never blocks another probe; a taker of the exclusive lock
/// must wait out such an instant.
pub fn is_locked(path: &Path) -> std::io::Result<bool> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn writes_whole_files_with_their_mode_either_way() {
        let dir = tempfile::tempdir().expect("tmp");
        for (name, durability) in [("a", Durability::Synced), ("b", Durability::Unsynced)] {
            let path = dir.path().join(name);
            write_atomic(&path, b"one", 0o600, durability).expect("write");
            write_atomic(&path, b"second", 0o640, durability).expect("overwrite");
            assert_eq!(std::fs::read(&path).expect("read"), b"second");
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o640);
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a", "b"], "no temporary file is left");
        assert_eq!(parent(Path::new("x")), Path::new("."));
        assert_eq!(parent(Path::new("d/x")), Path::new("d"));
    }
}
