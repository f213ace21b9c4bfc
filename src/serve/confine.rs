//! Opening the file a decoded URL path names, confined to the served root.
//!
//! Nothing outside the root is ever opened, and nothing hidden inside it:
//! the repository keeps private state (signing configuration, locks) in a
//! `.buildkit/` directory next to the published files. The rules, checked on
//! the decoded path and again on the fully resolved one, are: no component
//! that starts with `.` (which covers `..`; a lone `.` is merely skipped), no
//! NUL byte, the resolved path (symlinks followed) must stay under the
//! canonical root, and only regular files are served — no directory
//! listings, devices or FIFOs.

use std::ffi::OsStr;
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// A file opened for serving.
#[derive(Debug)]
pub(crate) struct OpenedFile {
    /// The resolved path, under the root.
    pub path: PathBuf,
    /// The open handle, from which the whole response is sent.
    pub file: File,
    /// The metadata of that same handle (not of the path, which may since
    /// have been replaced by a newer file).
    pub metadata: Metadata,
}

/// Why a path is not served.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Absent, hidden, outside the root or not a regular file (404).
    NotFound,
    /// The server may not read it (403).
    Forbidden,
    /// Resolving or opening it failed otherwise (500): a symlink loop, an
    /// I/O error of the disk.
    Io,
}

/// Opens the regular file that `decoded` (a percent-decoded URL path) names
/// under `root`, which must be canonical.
pub(crate) fn open_confined(root: &Path, decoded: &[u8]) -> Result<OpenedFile, Refusal> {
    if decoded.ends_with(b"/") {
        // A directory URL: there are no listings.
        return Err(Refusal::NotFound);
    }
    let mut joined = root.to_path_buf();
    // `.` is skipped: apt asks for `/./InRelease` when a sources.list entry
    // names a flat repository (`deb http://host/ ./`).
    let components = decoded.split(|&b| b == b'/');
    for component in components.filter(|&c| !c.is_empty() && c != b".") {
        if component.starts_with(b".") || component.contains(&0) {
            return Err(Refusal::NotFound);
        }
        joined.push(OsStr::from_bytes(component));
    }
    let path = fs::canonicalize(&joined).map_err(refusal)?;
    // Symlinks inside the root may point anywhere; judge where they lead.
    let relative = path.strip_prefix(root).map_err(|_| Refusal::NotFound)?;
    if !relative.components().all(|c| match c {
        Component::Normal(name) => !name.as_bytes().starts_with(b"."),
        _ => false,
    }) {
        return Err(Refusal::NotFound);
    }
    // Checked before opening: opening a FIFO for reading would block.
    if !fs::metadata(&path).map_err(refusal)?.is_file() {
        return Err(Refusal::NotFound);
    }
    let file = File::open(&path).map_err(refusal)?;
    let metadata = file.metadata().map_err(|_| Refusal::Io)?;
    if !metadata.is_file() {
        return Err(Refusal::NotFound);
    }
    Ok(OpenedFile {
        path,
        file,
        metadata,
    })
}

fn refusal(error: io::Error) -> Refusal {
    match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => Refusal::NotFound,
        io::ErrorKind::PermissionDenied => Refusal::Forbidden,
        _ => Refusal::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A root with `pool/a.deb`, `.buildkit/secret`, a file outside the root,
    /// and symlinks to each; returns (tempdir, canonical root).
    fn fixture() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo");
        fs::create_dir_all(root.join("pool")).expect("mkdir");
        fs::create_dir_all(root.join(".buildkit")).expect("mkdir");
        fs::write(root.join("pool/a.deb"), b"deb").expect("write");
        fs::write(root.join(".buildkit/secret"), b"secret").expect("write");
        fs::write(dir.path().join("outside"), b"outside").expect("write");
        symlink("../../outside", root.join("pool/escape")).expect("symlink");
        symlink("../.buildkit/secret", root.join("pool/hidden")).expect("symlink");
        symlink("a.deb", root.join("pool/alias.deb")).expect("symlink");
        let root = fs::canonicalize(root).expect("canonicalize");
        (dir, root)
    }

    fn served(root: &Path, decoded: &[u8]) -> Option<Vec<u8>> {
        match open_confined(root, decoded) {
            Ok(opened) => Some(fs::read(opened.path).expect("read")),
            Err(Refusal::NotFound) => None,
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }

    #[test]
    fn serves_regular_files_and_symlinks_within_the_root() {
        let (_dir, root) = fixture();
        assert_eq!(served(&root, b"/pool/a.deb"), Some(b"deb".to_vec()));
        assert_eq!(served(&root, b"//pool///a.deb"), Some(b"deb".to_vec()));
        assert_eq!(served(&root, b"/pool/alias.deb"), Some(b"deb".to_vec()));
        assert_eq!(served(&root, b"/./pool/./a.deb"), Some(b"deb".to_vec()));
    }

    #[test]
    fn refuses_dot_components_hidden_files_and_nul() {
        let (_dir, root) = fixture();
        for path in [
            &b"/../outside"[..],
            b"/pool/../pool/a.deb",
            b"/.../pool/a.deb",
            b"/.buildkit/secret",
            b"/pool/a.deb\0",
            b"/pool/\0/a.deb",
        ] {
            assert_eq!(
                served(&root, path),
                None,
                "{}",
                String::from_utf8_lossy(path)
            );
        }
    }

    #[test]
    fn refuses_symlinks_that_leave_the_root_or_lead_to_hidden_files() {
        let (_dir, root) = fixture();
        assert_eq!(served(&root, b"/pool/escape"), None);
        assert_eq!(served(&root, b"/pool/hidden"), None);
    }

    #[test]
    fn refuses_directories_and_missing_files() {
        let (_dir, root) = fixture();
        for path in [
            &b"/"[..],
            b"/pool",
            b"/pool/",
            b"/pool/a.deb/",
            b"/nope",
            b"/pool/a.deb/x",
        ] {
            assert_eq!(
                served(&root, path),
                None,
                "{}",
                String::from_utf8_lossy(path)
            );
        }
    }
}
