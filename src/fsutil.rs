//! File helpers every domain module shares; each maps the io error to its
//! own error type with the path.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to a temporary file beside `path`, sets `mode` and renames
/// it over `path`: readers see the old file or the new one, never a part.
/// (Not synced: the key store, which must survive a power loss, syncs.)
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
