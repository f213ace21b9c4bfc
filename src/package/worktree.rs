//! `package --worktree`: the work tree as it is now, for trying out a
//! change (of `.buildkit.toml` above all) without committing it.
//!
//! The files are those of `git ls-files -co --exclude-standard`: the
//! tracked files with their uncommitted changes (a deleted one is left
//! out), and the untracked files that are not ignored — what `git add -A`
//! would commit. They are copied into the same clean export directory a
//! tag's build uses, so the build never writes into the user's work tree;
//! the package's own output is not copied (untracked files under `-o`
//! inside the tree; with `-o .`, untracked `.deb` files at the top). The
//! copy keeps what a commit keeps: the executable bit (0755, else 0644),
//! symlinks as symlinks, a submodule or nested repository as an empty
//! directory (as `git archive` leaves one).
//!
//! The copy is hashed (each path, kind and content) so that the version
//! can name it: two builds of the same files have the same version.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::resolve::WORKTREE_HASH_LEN;
use super::PackageError;
use crate::config::{Config, FILE_NAME};

/// Reads and checks the work tree's `.buildkit.toml`; its errors name the
/// file on disk with line and column.
pub(super) fn load_config(workdir: &Path) -> Result<(Config, String), PackageError> {
    let path = workdir.join(FILE_NAME);
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PackageError::NoWorktreeConfig { path });
        }
        Err(source) => return Err(PackageError::Io { path, source }),
    };
    let origin = path.display().to_string();
    Ok((Config::parse(&text, &origin)?, origin))
}

/// Copies the work tree's files (see the module doc) from `workdir` into
/// `dest`, leaving out the package's own output, and returns the short
/// hash of what it copied.
pub(super) fn export(workdir: &Path, out_dir: &Path, dest: &Path) -> Result<String, PackageError> {
    let root = workdir
        .canonicalize()
        .unwrap_or_else(|_| workdir.to_owned());
    let out = std::path::absolute(out_dir).unwrap_or_else(|_| out_dir.to_owned());
    let out = out.canonicalize().unwrap_or(out);
    let mut paths = list(workdir, "--cached")?;
    let untracked = list(workdir, "--others")?;
    paths.extend(
        untracked
            .into_iter()
            .filter(|rel| !is_output(&root, &out, rel)),
    );
    let mut hasher = Sha256::new();
    for path in &paths {
        let rel = path.trim_end_matches('/');
        if rel.is_empty() || beyond_symlink(&root, rel) {
            continue;
        }
        if let Some(entry) = copy_entry(&root.join(rel), &dest.join(rel))? {
            hasher.update(format!("{} {} {rel}\0", entry.kind, entry.data.len()));
            hasher.update(&entry.data);
        }
    }
    let digest = hex::encode(hasher.finalize());
    Ok(digest[..WORKTREE_HASH_LEN].to_owned())
}

/// The paths `git ls-files WHICH --exclude-standard` lists, sorted.
fn list(workdir: &Path, which: &str) -> Result<BTreeSet<String>, PackageError> {
    let listing = crate::git::git(workdir)
        .args(["ls-files", "-z", which, "--exclude-standard"])
        .output()
        .map_err(crate::git::GitError::from)?;
    Ok(String::from_utf8_lossy(&listing)
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Whether an untracked path is the package's own output: under `-o`
/// when that is a directory inside the tree; a `.deb` or `.ddeb` right in
/// it when it is the tree itself (`-o .`), whose other files are the
/// project's.
fn is_output(root: &Path, out: &Path, rel: &str) -> bool {
    let path = root.join(rel.trim_end_matches('/'));
    if !root.starts_with(out) {
        return path.starts_with(out);
    }
    path.parent() == Some(out) && path.extension().is_some_and(|e| e == "deb" || e == "ddeb")
}

/// Whether a directory above `rel` is a symlink (or no directory) in the
/// work tree: git counts such an index entry as deleted, and following it
/// would read a file outside the tree (and write outside the export).
fn beyond_symlink(root: &Path, rel: &str) -> bool {
    let mut dir = root.to_owned();
    let parents: Vec<&str> = rel.split('/').collect();
    parents[..parents.len() - 1].iter().any(|part| {
        dir.push(part);
        !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_dir())
    })
}

/// What was copied of one path, for the hash.
struct Entry {
    /// `file`, `exec`, `link` or `dir`.
    kind: &'static str,
    /// The file's bytes or the link's target.
    data: Vec<u8>,
}

/// Copies one listed path; `None` when there is nothing to copy (a tracked
/// file deleted in the work tree, or a special file git cannot hold).
fn copy_entry(from: &Path, to: &Path) -> Result<Option<Entry>, PackageError> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let read_err = |source| PackageError::Io {
        path: from.to_owned(),
        source,
    };
    let write_err = |source| PackageError::Io {
        path: to.to_owned(),
        source,
    };
    let meta = match std::fs::symlink_metadata(from) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_err(source)),
    };
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|source| PackageError::Io {
            path: PathBuf::from(parent),
            source,
        })?;
    }
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = std::fs::read_link(from).map_err(read_err)?;
        std::os::unix::fs::symlink(&target, to).map_err(write_err)?;
        let data = target.as_os_str().as_bytes().to_vec();
        return Ok(Some(Entry { kind: "link", data }));
    }
    if kind.is_dir() {
        std::fs::create_dir_all(to).map_err(write_err)?;
        return Ok(Some(Entry {
            kind: "dir",
            data: Vec::new(),
        }));
    }
    if !kind.is_file() {
        return Ok(None);
    }
    let data = std::fs::read(from).map_err(read_err)?;
    std::fs::write(to, &data).map_err(write_err)?;
    let exec = meta.permissions().mode() & 0o111 != 0;
    let mode = if exec { 0o755 } else { 0o644 };
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode)).map_err(write_err)?;
    let kind = if exec { "exec" } else { "file" };
    Ok(Some(Entry { kind, data }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_output_is_what_lies_under_o_or_a_deb_in_the_tree_itself() {
        let root = Path::new("/w");
        let cases = [
            ("/w/dist", "dist/a_1_all.deb", true),
            ("/w/dist", "dist/", true),
            ("/w/dist", "dist2/x", false),
            ("/w/dist", "src/a.deb", false),
            ("/w", "a_1_all.deb", true),
            ("/w", "a-dbgsym_1_amd64.ddeb", true),
            ("/w", "sub/a_1_all.deb", false),
            ("/w", "notes.txt", false),
            ("/", "a.deb", false),
            ("/tmp/out", "a.deb", false),
        ];
        for (out, rel, want) in cases {
            assert_eq!(is_output(root, Path::new(out), rel), want, "{out} {rel}");
        }
    }

    #[test]
    fn a_path_below_a_symlink_or_a_missing_directory_is_beyond_the_tree() {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(root.path().join("real/sub")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).expect("symlink");
        std::os::unix::fs::symlink(outside.path(), root.path().join("real/sub/link"))
            .expect("symlink");
        let cases = [
            ("top.txt", false),
            ("real/file", false),
            ("real/sub/file", false),
            ("link", false),
            ("real/sub/link", false),
            ("link/passwd", true),
            ("real/sub/link/passwd", true),
            ("gone/file", true),
        ];
        for (rel, want) in cases {
            assert_eq!(beyond_symlink(root.path(), rel), want, "{rel}");
        }
    }
}
