//! Writes a commit's tree into a directory: the build sees exactly what was
//! committed, never the work tree. Executable bits and symlinks are kept,
//! submodules are left as empty directories (as `git archive` does), and
//! names that could escape the directory are refused even though git itself
//! would not create them.

use std::path::Path;

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;

use super::{gix_err, GitError};

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Regular files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

pub(super) fn export(
    repo: &gix::Repository,
    tree: gix::ObjectId,
    dest: &Path,
) -> Result<ExportStats, GitError> {
    let mut stats = ExportStats::default();
    export_dir(repo, tree, dest, "", &mut stats)?;
    Ok(stats)
}

fn export_dir(
    repo: &gix::Repository,
    tree_id: gix::ObjectId,
    dir: &Path,
    prefix: &str,
    stats: &mut ExportStats,
) -> Result<(), GitError> {
    use std::os::unix::fs::PermissionsExt;
    let tree = repo
        .find_tree(tree_id)
        .map_err(gix_err(format!("read tree {prefix:?}")))?;
    let decoded = tree
        .decode()
        .map_err(gix_err(format!("decode tree {prefix:?}")))?;
    for entry in &decoded.entries {
        let name = entry.filename.to_str_lossy();
        let rel = format!("{prefix}{name}");
        if name.is_empty()
            || name == "."
            || name == ".."
            || name.contains('/')
            || name.eq_ignore_ascii_case(".git")
        {
            return Err(GitError::UnsafePath { path: rel });
        }
        let path = dir.join(name.as_ref());
        let write_err = |source| GitError::Write {
            path: path.clone(),
            source,
        };
        match entry.mode.kind() {
            EntryKind::Tree => {
                std::fs::create_dir(&path).map_err(write_err)?;
                export_dir(repo, entry.oid.to_owned(), &path, &format!("{rel}/"), stats)?;
            }
            EntryKind::Blob | EntryKind::BlobExecutable => {
                let blob = repo
                    .find_blob(entry.oid)
                    .map_err(gix_err(format!("read {rel}")))?;
                std::fs::write(&path, &blob.data).map_err(write_err)?;
                let mode = if entry.mode.kind() == EntryKind::BlobExecutable {
                    0o755
                } else {
                    0o644
                };
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(write_err)?;
                stats.files += 1;
                stats.bytes += blob.data.len() as u64;
            }
            EntryKind::Link => {
                let blob = repo
                    .find_blob(entry.oid)
                    .map_err(gix_err(format!("read {rel}")))?;
                let target = blob.data.to_str_lossy().into_owned();
                std::os::unix::fs::symlink(&target, &path).map_err(write_err)?;
            }
            EntryKind::Commit => std::fs::create_dir(&path).map_err(write_err)?,
        }
    }
    Ok(())
}
