//! Small filesystem helpers shared by the repository code.

use std::path::Path;

use super::AptError;

/// Writes `bytes` to a temporary file beside `path` and renames it over
/// `path` (mode 0644; see [`crate::fsutil::write_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AptError> {
    crate::fsutil::write_atomic(path, bytes, 0o644).map_err(|source| AptError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes a new file (its directory is created).
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), AptError> {
    let err = |source| AptError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, bytes).map_err(err)
}

/// Sets permission bits.
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Hard-links `from` to `to` (creating parents), copying when a link is impossible.
pub fn link_or_copy(from: &Path, to: &Path) -> Result<(), AptError> {
    let err = |source| AptError::Io {
        path: to.to_owned(),
        source,
    };
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(_) => {
            let tmp = to.with_extension("tmp-copy");
            std::fs::copy(from, &tmp).map_err(err)?;
            std::fs::rename(&tmp, to).map_err(err)
        }
    }
}
