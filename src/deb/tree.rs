//! The data tree of a package: every path it installs, with its kind, mode
//! and where its bytes come from. Parents are implied and added on demand,
//! paths are checked once on the way in, and iteration is in the order dpkg
//! writes a data tarball (sorted by bytes, symlinks last).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::DebError;

/// Where a regular file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// A file on disk, read when the package is written.
    Path(PathBuf),
    /// Bytes generated in memory (copyright, changelog).
    Bytes(Vec<u8>),
}

/// The kind of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file with its size in bytes.
    File { source: FileSource, size: u64 },
    /// A symbolic link to `target`.
    Symlink { target: String },
}

/// One path of the data tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What the entry is.
    pub kind: EntryKind,
    /// Permission bits (0o7777 at most).
    pub mode: u32,
    /// Modification time in seconds; `None` means the package's timestamp.
    pub mtime: Option<u64>,
}

/// The files a package installs, keyed by absolute path without the leading `/`.
#[derive(Debug, Clone, Default)]
pub struct DataTree {
    entries: BTreeMap<String, Entry>,
}

impl DataTree {
    /// An empty tree (the root directory is always implied).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a regular file from disk at `dest` (absolute, e.g. `/usr/bin/hello`).
    pub fn add_file(
        &mut self,
        dest: &str,
        source: PathBuf,
        size: u64,
        mode: u32,
    ) -> Result<(), DebError> {
        let kind = EntryKind::File {
            source: FileSource::Path(source),
            size,
        };
        self.insert(dest, kind, mode, None)
    }

    /// Adds a regular file with the given bytes.
    pub fn add_bytes(&mut self, dest: &str, bytes: Vec<u8>, mode: u32) -> Result<(), DebError> {
        let size = bytes.len() as u64;
        let kind = EntryKind::File {
            source: FileSource::Bytes(bytes),
            size,
        };
        self.insert(dest, kind, mode, None)
    }

    /// Adds a symbolic link.
    pub fn add_symlink(&mut self, dest: &str, target: &str) -> Result<(), DebError> {
        let kind = EntryKind::Symlink {
            target: target.to_owned(),
        };
        self.insert(dest, kind, 0o777, None)
    }

    /// Adds a directory (parents are added anyway; this sets a mode or an empty dir).
    pub fn add_dir(&mut self, dest: &str, mode: u32) -> Result<(), DebError> {
        self.insert(dest, EntryKind::Dir, mode, None)
    }

    /// Adds an entry with every detail given (used by `deb build DIR`).
    pub fn insert(
        &mut self,
        dest: &str,
        kind: EntryKind,
        mode: u32,
        mtime: Option<u64>,
    ) -> Result<(), DebError> {
        let path = clean_path(dest)?;
        if path.is_empty() {
            // The root itself: only a directory mode makes sense, and it is fixed.
            return match kind {
                EntryKind::Dir => Ok(()),
                _ => Err(DebError::PathConflict { path: "/".into() }),
            };
        }
        let mut parent = String::new();
        for component in path.split('/').take(path.split('/').count() - 1) {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(component);
            match self.entries.get(&parent) {
                Some(Entry {
                    kind: EntryKind::Dir,
                    ..
                }) => {}
                Some(_) => {
                    return Err(DebError::PathConflict {
                        path: format!("/{parent}"),
                    })
                }
                None => {
                    let dir = Entry {
                        kind: EntryKind::Dir,
                        mode: 0o755,
                        mtime,
                    };
                    self.entries.insert(parent.clone(), dir);
                }
            }
        }
        match self.entries.get(&path) {
            Some(existing) if existing.kind == EntryKind::Dir && kind == EntryKind::Dir => {}
            Some(_) => {
                return Err(DebError::PathConflict {
                    path: format!("/{path}"),
                })
            }
            None => {}
        }
        self.entries.insert(
            path,
            Entry {
                kind,
                mode: mode & 0o7777,
                mtime,
            },
        );
        Ok(())
    }

    /// Whether `dest` is a regular file of the tree.
    pub fn is_file(&self, dest: &str) -> bool {
        let key = dest.trim_start_matches('/');
        matches!(
            self.entries.get(key),
            Some(Entry {
                kind: EntryKind::File { .. },
                ..
            })
        )
    }

    /// Regular files whose path starts with `prefix` (e.g. `etc/`), as absolute paths.
    pub fn files_under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = String> + 'a {
        self.entries.iter().filter_map(move |(path, entry)| {
            let is_file = matches!(entry.kind, EntryKind::File { .. });
            (is_file && path.starts_with(prefix)).then(|| format!("/{path}"))
        })
    }

    /// Every regular file as (absolute path, source, mode), in path order.
    pub fn files(&self) -> impl Iterator<Item = (String, &FileSource, u32)> + '_ {
        self.entries
            .iter()
            .filter_map(|(path, entry)| match &entry.kind {
                EntryKind::File { source, .. } => Some((format!("/{path}"), source, entry.mode)),
                _ => None,
            })
    }

    /// Replaces the bytes of the regular file `dest` (its mode and mtime
    /// stay): how a stripped copy takes the place of the built file.
    pub fn replace_source(
        &mut self,
        dest: &str,
        source: FileSource,
        size: u64,
    ) -> Result<(), DebError> {
        let key = clean_path(dest)?;
        match self.entries.get_mut(&key) {
            Some(Entry {
                kind: kind @ EntryKind::File { .. },
                ..
            }) => {
                *kind = EntryKind::File { source, size };
                Ok(())
            }
            _ => Err(DebError::NotAFile {
                path: format!("/{key}"),
            }),
        }
    }

    /// Entries in tarball order, as dpkg-deb writes them (its `treewalk.c`
    /// and `build.c`): a depth-first walk with siblings sorted by name
    /// bytes, then the symlinks, so a link never precedes its target.
    pub fn ordered(&self) -> Vec<(&str, &Entry)> {
        let mut entries: Vec<(&str, &Entry)> =
            self.entries.iter().map(|(p, e)| (p.as_str(), e)).collect();
        // Comparing component by component is the depth-first order:
        // `usr` < `usr/bin` < `usr-foo`, where a plain byte sort would put
        // `usr-foo` before `usr/bin`.
        entries.sort_by(|(a, ea), (b, eb)| {
            let link = |e: &Entry| matches!(e.kind, EntryKind::Symlink { .. });
            link(ea)
                .cmp(&link(eb))
                .then_with(|| a.split('/').cmp(b.split('/')))
        });
        entries
    }

    /// `Installed-Size` in KiB by dpkg-gencontrol's rule: `ceil(size/1024)`
    /// for each file and symlink (a symlink's size is its target's length),
    /// 1 for each directory, the root included.
    pub fn installed_size_kib(&self) -> u64 {
        1 + self
            .entries
            .values()
            .map(|entry| match &entry.kind {
                EntryKind::Dir => 1,
                EntryKind::File { size, .. } => size.div_ceil(1024),
                EntryKind::Symlink { target } => (target.len() as u64).div_ceil(1024),
            })
            .sum::<u64>()
    }
}

/// Turns `/usr/bin/hello` (or `usr/bin/hello/`) into `usr/bin/hello`, refusing
/// anything that could escape the root or is ambiguous.
fn clean_path(dest: &str) -> Result<String, DebError> {
    let unsafe_path = |reason| DebError::UnsafePath {
        path: dest.to_owned(),
        reason,
    };
    if !dest.starts_with('/') {
        return Err(unsafe_path("it must be absolute (start with /)"));
    }
    if dest.contains('\0') || dest.contains('\n') {
        return Err(unsafe_path("it contains a NUL or newline character"));
    }
    let mut parts = Vec::new();
    for part in dest.split('/') {
        match part {
            "" => {}
            "." | ".." => return Err(unsafe_path("it contains a . or .. component")),
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn parents_are_implied_and_links_come_last() {
        let mut tree = DataTree::new();
        tree.add_symlink("/usr/bin/hi", "hello").expect("link");
        tree.add_bytes("/usr/bin/hello", b"#!/bin/sh\n".to_vec(), 0o755)
            .expect("file");
        tree.add_bytes("/etc/hello.conf", vec![0; 2048], 0o644)
            .expect("file");
        tree.add_bytes("/usr-local/x", vec![], 0o644).expect("file");
        let order: Vec<_> = tree.ordered().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            order,
            [
                "etc",
                "etc/hello.conf",
                "usr",
                "usr/bin",
                "usr/bin/hello",
                "usr-local",
                "usr-local/x",
                "usr/bin/hi"
            ]
        );
        // root + 4 dirs + 2 KiB + 1 KiB + 1 KiB (link) + 0 (empty file)
        assert_eq!(tree.installed_size_kib(), 1 + 4 + 2 + 1 + 1);
        assert_eq!(
            tree.files_under("etc/").collect::<Vec<_>>(),
            ["/etc/hello.conf"]
        );
    }

    #[test]
    fn unsafe_and_conflicting_paths_are_refused() {
        let mut tree = DataTree::new();
        for bad in ["usr/bin/x", "/usr/../etc/x", "/./x"] {
            let err = tree.add_bytes(bad, vec![], 0o644).expect_err(bad);
            assert!(matches!(err, DebError::UnsafePath { .. }), "{bad}: {err}");
        }
        tree.add_bytes("/usr/x", vec![], 0o644).expect("file");
        let err = tree
            .add_bytes("/usr/x/y", vec![], 0o644)
            .expect_err("under a file");
        assert_eq!(
            err.to_string(),
            "\"/usr/x\" is both a directory and a file in the package"
        );
    }
}
