//! Resolving a path of the built tree without ever leaving it.
//!
//! The export keeps the committed symlinks, and the build may make more, so
//! `tree.join("dir/passwd")` can name `/etc/passwd` when `dir` links to
//! `/etc`. Reading such a path would put a file of the build host into a
//! package. So every path git-buildkit reads from the tree (assets, the
//! copyright file, maintainer scripts, the README) is resolved here, one
//! component at a time like the kernel's path walk, and a symlink that
//! leads outside the tree (an absolute target, or `..` past the top) is an
//! [`Outside`] naming that symlink. A symlink that stays inside is followed
//! for a parent directory, and for the last component only when asked:
//! an asset that is itself an in-tree symlink is packaged as a symlink, as
//! dpkg-deb would.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// At most this many symlinks are followed in one path (Linux's limit).
const MAX_LINKS: usize = 40;

/// Whether the last component is followed when it is a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Last {
    /// Follow it (reading a file's contents).
    Follow,
    /// Keep it (packaging a symlink as a symlink).
    Keep,
}

/// A path that leads outside the tree: the symlink that does it, relative to
/// the tree, and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Outside {
    /// The symlink, relative to the tree.
    pub(super) link: String,
    /// Where it points.
    pub(super) target: String,
}

/// Resolves `rel` under `root`; returns the real path inside the tree. A
/// missing component ends the walk there (the caller reports it missing).
pub(super) fn resolve(root: &Path, rel: &str, last: Last) -> Result<PathBuf, Outside> {
    let mut queue: VecDeque<OsString> = components(Path::new(rel));
    let mut current: Vec<OsString> = Vec::new();
    let mut followed = 0;
    // The symlink whose target the queue is walking now, for the error.
    let mut via: Option<Outside> = None;
    while let Some(part) = queue.pop_front() {
        if part == ".." {
            if current.pop().is_none() {
                return Err(via.unwrap_or(Outside {
                    link: rel.to_owned(),
                    target: rel.to_owned(),
                }));
            }
            continue;
        }
        let here: PathBuf = current.iter().collect();
        let path = root.join(&here).join(&part);
        let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        let follow = !queue.is_empty() || last == Last::Follow;
        if !(is_link && follow) {
            current.push(part);
            continue;
        }
        let target = std::fs::read_link(&path).unwrap_or_default();
        let outside = Outside {
            link: here.join(&part).display().to_string(),
            target: target.display().to_string(),
        };
        followed += 1;
        if target.is_absolute() || followed > MAX_LINKS {
            return Err(outside);
        }
        for part in components(&target).into_iter().rev() {
            queue.push_front(part);
        }
        via = Some(outside);
    }
    Ok(current.iter().fold(root.to_owned(), |p, c| p.join(c)))
}

/// The components of a relative path, `.` dropped and `..` kept.
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::os::unix::fs::symlink;

    fn outside(link: &str, target: &str) -> Outside {
        Outside {
            link: link.into(),
            target: target.into(),
        }
    }

    #[test]
    fn symlinks_inside_resolve_and_outside_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("real/sub")).expect("mkdir");
        std::fs::write(root.join("real/sub/file"), "x").expect("write");
        symlink("real", root.join("inside")).expect("link");
        symlink("../real/sub/file", root.join("real/up")).expect("link");
        symlink("/etc", root.join("abs")).expect("link");
        symlink("../../..", root.join("real/sub/escape")).expect("link");
        symlink("loop", root.join("loop")).expect("link");
        symlink("real/sub/escape/etc", root.join("chain")).expect("link");

        assert_eq!(
            resolve(root, "inside/sub/file", Last::Follow),
            Ok(root.join("real/sub/file"))
        );
        assert_eq!(
            resolve(root, "real/up", Last::Follow),
            Ok(root.join("real/sub/file"))
        );
        assert_eq!(
            resolve(root, "real/up", Last::Keep),
            Ok(root.join("real/up"))
        );
        assert_eq!(
            resolve(root, "abs/passwd", Last::Keep),
            Err(outside("abs", "/etc"))
        );
        assert_eq!(
            resolve(root, "abs", Last::Follow),
            Err(outside("abs", "/etc"))
        );
        assert_eq!(resolve(root, "abs", Last::Keep), Ok(root.join("abs")));
        assert_eq!(
            resolve(root, "inside/sub/escape/etc/passwd", Last::Follow),
            Err(outside("real/sub/escape", "../../.."))
        );
        assert_eq!(
            resolve(root, "chain", Last::Follow),
            Err(outside("real/sub/escape", "../../.."))
        );
        assert_eq!(
            resolve(root, "loop", Last::Follow),
            Err(outside("loop", "loop"))
        );
        assert_eq!(
            resolve(root, "missing/file", Last::Follow),
            Ok(root.join("missing/file"))
        );
    }
}
