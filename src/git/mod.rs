//! Repository access. gix reads (refs, commits, trees, blobs) because it is
//! fast and needs no work tree; the few questions only porcelain answers
//! well (`status`, `describe`), and every command that changes refs or the
//! work tree, go through [`git`], the one runner for the `git` program
//! (`program.rs`).

mod export;
mod program;

use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;

pub use export::ExportStats;
pub use program::{
    changed_paths, git, is_dirty, require_min_version, show_file, text, GitVersion, Untracked,
    MIN_VERSION,
};

use crate::process::ProcessError;

/// A boxed gix error (gix has one error type per call; we keep the message and chain).
pub type GixError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong reading a repository.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No repository at or above the directory.
    #[error("{path} is not inside a git repository")]
    NotARepo {
        path: PathBuf,
        #[source]
        source: GixError,
    },
    /// A revision does not resolve to a commit.
    #[error("unknown revision {rev:?}")]
    UnknownRev {
        rev: String,
        #[source]
        source: GixError,
    },
    /// A gix operation failed.
    #[error("could not {action}")]
    Gix {
        action: String,
        #[source]
        source: GixError,
    },
    /// Writing the exported tree failed.
    #[error("could not write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A tree entry has a name that would escape the export directory.
    #[error("refusing to export the unsafe path {path:?}")]
    UnsafePath { path: String },
    /// The `git` program failed.
    #[error("git failed")]
    Command(#[from] ProcessError),
    /// `git --version` printed something that is not a version.
    #[error("could not read the version of git from {output:?}")]
    UnknownVersion { output: String },
    /// The `git` program is older than git-buildkit needs.
    #[error("git {found} is too old: git-buildkit needs git {needed} or newer")]
    TooOld {
        found: GitVersion,
        needed: GitVersion,
    },
}

fn gix_err<E: std::error::Error + Send + Sync + 'static>(
    action: impl Into<String>,
) -> impl FnOnce(E) -> GitError {
    let action = action.into();
    move |e| GitError::Gix {
        action,
        source: Box::new(e),
    }
}

/// A commit with the facts packaging needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The full hex id.
    pub id: String,
    /// Committer time, seconds since the epoch (the build's `SOURCE_DATE_EPOCH`).
    pub time: i64,
}

/// One commit of a changelog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The first line of the message.
    pub subject: String,
}

/// A tag pointing (possibly through an annotated tag object) at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    /// The short name (`v1.2.0`).
    pub name: String,
    /// The commit it peels to.
    pub commit: CommitInfo,
}

/// An open repository.
#[derive(Debug)]
pub struct Repo {
    repo: gix::Repository,
}

impl Repo {
    /// Finds the repository containing `dir`.
    pub fn discover(dir: &Path) -> Result<Self, GitError> {
        let repo = gix::discover(dir).map_err(|e| GitError::NotARepo {
            path: dir.to_owned(),
            source: Box::new(e),
        })?;
        Ok(Self { repo })
    }

    /// The work tree, if the repository has one.
    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The git directory.
    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// Where git commands about this repository run: the work tree, or the
    /// git directory of a bare repository.
    pub fn cwd(&self) -> &Path {
        self.workdir().unwrap_or(self.git_dir())
    }

    /// Resolves a revision (`HEAD`, `v1.2.0`, a hash) to its commit.
    pub fn resolve(&self, rev: &str) -> Result<CommitInfo, GitError> {
        let unknown = |source: GixError| GitError::UnknownRev {
            rev: rev.to_owned(),
            source,
        };
        let id = self
            .repo
            .rev_parse_single(rev)
            .map_err(|e| unknown(Box::new(e)))?;
        let commit = id
            .object()
            .map_err(|e| unknown(Box::new(e)))?
            .peel_to_commit()
            .map_err(|e| unknown(Box::new(e)))?;
        let time = commit
            .time()
            .map_err(gix_err(format!("read the time of commit {}", commit.id)))?;
        Ok(CommitInfo {
            id: commit.id.to_string(),
            time: time.seconds,
        })
    }

    /// Every tag of the repository that peels to a commit.
    pub fn tags(&self) -> Result<Vec<TagInfo>, GitError> {
        let platform = self.repo.references().map_err(gix_err("list references"))?;
        let mut tags = Vec::new();
        for reference in platform.tags().map_err(gix_err("list tags"))? {
            let mut reference = reference.map_err(|e| GitError::Gix {
                action: "read a tag".into(),
                source: Box::new(e),
            })?;
            let name = reference.name().shorten().to_str_lossy().into_owned();
            // Tags of trees or blobs are not versions; skip them.
            let Ok(commit) = reference.peel_to_commit() else {
                continue;
            };
            let time = commit
                .time()
                .map_err(gix_err(format!("read the time of tag {name}")))?;
            tags.push(TagInfo {
                name,
                commit: CommitInfo {
                    id: commit.id.to_string(),
                    time: time.seconds,
                },
            });
        }
        Ok(tags)
    }

    /// The text of `path` in commit `commit`, or `None` when it has no such file.
    pub fn read_file(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        let tree = self.tree_of(commit)?;
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(gix_err(format!("look up {path}")))?;
        let Some(entry) = entry.filter(|e| e.mode().is_blob()) else {
            return Ok(None);
        };
        let blob = self
            .repo
            .find_blob(entry.object_id())
            .map_err(gix_err(format!("read {path}")))?;
        Ok(Some(blob.data.clone()))
    }

    /// Writes the tree of `commit` into `dest` (which must exist and be empty).
    pub fn export_tree(&self, commit: &str, dest: &Path) -> Result<ExportStats, GitError> {
        let tree = self.tree_of(commit)?;
        export::export(&self.repo, tree.id, dest)
    }

    /// Commit subjects reachable from `tip` but not from `hide` (newest first, merges skipped).
    pub fn log(&self, tip: &str, hide: Option<&str>) -> Result<Vec<LogEntry>, GitError> {
        let parse = |hex: &str| {
            gix::ObjectId::from_hex(hex.as_bytes()).map_err(gix_err(format!("parse id {hex}")))
        };
        let walk = self
            .repo
            .rev_walk([parse(tip)?])
            .with_hidden(hide.map(parse).transpose()?);
        let mut entries = Vec::new();
        for info in walk.all().map_err(gix_err("walk the history"))? {
            let info = info.map_err(gix_err("walk the history"))?;
            let commit = info.object().map_err(gix_err("read a commit"))?;
            if commit.parent_ids().count() > 1 {
                continue;
            }
            let message = commit.message().map_err(gix_err("read a commit message"))?;
            entries.push(LogEntry {
                subject: message.summary().to_str_lossy().into_owned(),
            });
        }
        Ok(entries)
    }

    /// `git describe --tags --long --match PREFIX*`: the nearest version tag
    /// below `commit`, the number of commits since it, and the abbreviated id.
    pub fn describe(
        &self,
        commit: &str,
        prefix: &str,
    ) -> Result<Option<(String, u32, String)>, GitError> {
        let Some(dir) = self.workdir().or(Some(self.git_dir())) else {
            return Ok(None);
        };
        let pattern = format!("{prefix}[0-9]*");
        let result = git(dir)
            .args([
                "describe",
                "--tags",
                "--long",
                "--abbrev=7",
                "--match",
                &pattern,
                commit,
            ])
            .output();
        let out = match result {
            Ok(out) => out,
            // "No names found" / "No tags can describe": no version tag below.
            Err(ProcessError::Exit { code: 128, .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8_lossy(&out).trim().to_owned();
        let mut parts = text.rsplitn(3, '-');
        let (Some(hash), Some(count), Some(tag)) = (parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let count = count.parse().unwrap_or(0);
        Ok(Some((
            tag.to_owned(),
            count,
            hash.trim_start_matches('g').to_owned(),
        )))
    }

    fn tree_of(&self, commit: &str) -> Result<gix::Tree<'_>, GitError> {
        let id = gix::ObjectId::from_hex(commit.as_bytes())
            .map_err(gix_err(format!("parse id {commit}")))?;
        let commit = self
            .repo
            .find_commit(id)
            .map_err(gix_err(format!("find commit {id}")))?;
        commit
            .tree()
            .map_err(gix_err(format!("read the tree of {id}")))
    }
}
