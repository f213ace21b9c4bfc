//! The one runner for the `git` program, and the questions only porcelain
//! answers well: is the work tree dirty, and is this git new enough.
//!
//! Every `git` child of git-buildkit starts here (as jj's `git_subprocess`
//! does it): an explicit directory (`-C`), messages in English (`LC_ALL=C`,
//! `LC_MESSAGES=C`) so that they can be matched, no terminal prompt, no
//! editor for a merge message, and stdin closed unless given
//! ([`Cmd::input`]).

use std::path::Path;
use std::sync::OnceLock;

use super::GitError;
use crate::process::{Cmd, ProcessError};

/// The oldest git git-buildkit works with: `git merge-tree --write-tree`,
/// which predicts a finish's conflicts, came with 2.38 (older git fails it,
/// and a finish would predict nothing).
pub const MIN_VERSION: GitVersion = GitVersion {
    major: 2,
    minor: 38,
    patch: 0,
};

/// The runner for the `git` program, in `dir`, with messages in English.
pub fn git(dir: &Path) -> Cmd {
    Cmd::new("git")
        .arg("-C")
        .arg(dir)
        .env("LC_ALL", "C")
        .env("LC_MESSAGES", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        // stdin is closed: a merge must never wait for an editor.
        .env("GIT_MERGE_AUTOEDIT", "no")
}

/// Runs `git ARGS` in `dir` and returns its stdout as text, without the
/// trailing newline(s).
pub fn text(dir: &Path, args: &[&str]) -> Result<String, ProcessError> {
    let out = git(dir).args(args).output()?;
    Ok(String::from_utf8_lossy(&out).trim_end().to_owned())
}

/// The text of `path` in `rev` (`git show REV:PATH`), byte for byte (lossy
/// UTF-8), trailing newline included.
pub fn show_file(dir: &Path, rev: &str, path: &str) -> Result<String, ProcessError> {
    let out = git(dir).arg("show").arg(format!("{rev}:{path}")).output()?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Whether untracked files make a work tree dirty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untracked {
    /// Only changes to tracked files (staged or not) count. For commands
    /// that merge, check out and commit: an untracked file is not in any
    /// commit they make and they leave it alone (git refuses a checkout
    /// that would overwrite one), as gitflow-avh's
    /// `require_clean_working_tree` ignores them.
    Ignored,
    /// Untracked (not ignored) files count too. For `package` of the work
    /// tree's HEAD: a file the user forgot to add would be missing from
    /// the package, so the version gets a dirty mark.
    Included,
}

/// The paths with uncommitted changes in the work tree `dir` (`git status
/// --porcelain`), sorted, each once; for a rename, the new path.
pub fn changed_paths(dir: &Path, untracked: Untracked) -> Result<Vec<String>, ProcessError> {
    let mode = match untracked {
        Untracked::Ignored => "--untracked-files=no",
        Untracked::Included => "--untracked-files=normal",
    };
    let out = git(dir)
        .args(["status", "--porcelain=v1", "-z", mode])
        .output()?;
    Ok(parse_porcelain_z(&String::from_utf8_lossy(&out)))
}

/// Whether the work tree `dir` has uncommitted changes.
pub fn is_dirty(dir: &Path, untracked: Untracked) -> Result<bool, ProcessError> {
    Ok(!changed_paths(dir, untracked)?.is_empty())
}

/// The paths of `git status --porcelain=v1 -z`: entries `XY PATH`, and
/// after a rename or copy its source as an entry of its own.
fn parse_porcelain_z(status: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut entries = status.split('\0').filter(|e| e.len() > 3);
    while let Some(entry) = entries.next() {
        paths.push(entry[3..].to_owned());
        if matches!(entry.as_bytes()[0], b'R' | b'C') {
            entries.next();
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// A git version (`git --version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GitVersion {
    /// The major number.
    pub major: u32,
    /// The minor number.
    pub minor: u32,
    /// The patch number.
    pub patch: u32,
}

impl GitVersion {
    /// Reads `git version 2.39.2` (also `2.39.2 (Apple Git-143)` and
    /// `2.45.1.windows.1`); a missing part is 0.
    pub fn parse(output: &str) -> Option<Self> {
        let number = output.trim().strip_prefix("git version ")?;
        let number = number.split_whitespace().next()?;
        let mut parts = number.split('.').map(|p| p.parse::<u32>());
        let major = parts.next()?.ok()?;
        let minor = parts.next().unwrap_or(Ok(0)).ok()?;
        let patch = parts.next().and_then(Result::ok).unwrap_or(0);
        Some(Self {
            major,
            minor,
            patch,
        })
    }
}

impl std::fmt::Display for GitVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Refuses a `git` older than [`MIN_VERSION`]. Asks `git --version` once
/// per process (a failure to ask is not remembered, and asked again).
pub fn require_min_version() -> Result<GitVersion, GitError> {
    static FOUND: OnceLock<GitVersion> = OnceLock::new();
    let found = match FOUND.get() {
        Some(found) => *found,
        None => {
            let out = Cmd::new("git")
                .arg("--version")
                .env("LC_ALL", "C")
                .output()?;
            let text = String::from_utf8_lossy(&out).trim().to_owned();
            let found =
                GitVersion::parse(&text).ok_or(GitError::UnknownVersion { output: text })?;
            *FOUND.get_or_init(|| found)
        }
    };
    check_version(found)
}

/// `found`, or the error naming it and [`MIN_VERSION`].
fn check_version(found: GitVersion) -> Result<GitVersion, GitError> {
    if found < MIN_VERSION {
        return Err(GitError::TooOld {
            found,
            needed: MIN_VERSION,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn versions_parse_and_compare() {
        let v = |major, minor, patch| GitVersion {
            major,
            minor,
            patch,
        };
        let cases = [
            ("git version 2.47.3\n", Some(v(2, 47, 3))),
            ("git version 2.39.2 (Apple Git-143)", Some(v(2, 39, 2))),
            ("git version 2.45.1.windows.1", Some(v(2, 45, 1))),
            ("git version 2.38.0.rc1", Some(v(2, 38, 0))),
            ("git version 3.0", Some(v(3, 0, 0))),
            ("git version 2.30.2-1~bpo", Some(v(2, 30, 0))),
            ("hub version 2.14", None),
            ("git version x.y", None),
        ];
        for (text, expected) in cases {
            assert_eq!(GitVersion::parse(text), expected, "{text}");
        }
        assert!(v(2, 38, 0) == MIN_VERSION && v(2, 37, 9) < MIN_VERSION);
        assert!(v(2, 38, 1) > MIN_VERSION && v(3, 0, 0) > MIN_VERSION);
        assert_eq!(check_version(v(2, 47, 3)).expect("new enough"), v(2, 47, 3));
        let err = check_version(v(2, 30, 2)).expect_err("too old");
        assert_eq!(
            err.to_string(),
            "git 2.30.2 is too old: git-buildkit needs git 2.38.0 or newer"
        );
    }

    #[test]
    fn porcelain_paths_skip_rename_sources() {
        let status = " M src/a.rs\0R  new.rs\0old.rs\0?? notes.txt\0M  b.rs\0MM b.rs\0";
        assert_eq!(
            parse_porcelain_z(status),
            ["b.rs", "new.rs", "notes.txt", "src/a.rs"]
        );
        assert_eq!(parse_porcelain_z(""), Vec::<String>::new());
    }

    #[test]
    fn dirty_with_and_without_untracked_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let dir = dir.path();
        let run = |args: &[&str]| {
            git(dir)
                .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
                .args(args)
                .output()
                .expect("git")
        };
        run(&["init", "-q"]);
        std::fs::write(dir.join("tracked"), "a\n").expect("write");
        run(&["add", "tracked"]);
        run(&["commit", "-q", "-m", "a"]);
        std::fs::write(dir.join("untracked"), "b\n").expect("write");
        assert!(!is_dirty(dir, Untracked::Ignored).expect("status"));
        assert!(is_dirty(dir, Untracked::Included).expect("status"));
        std::fs::write(dir.join("tracked"), "changed\n").expect("write");
        assert_eq!(
            changed_paths(dir, Untracked::Ignored).expect("status"),
            ["tracked"]
        );
        assert_eq!(
            changed_paths(dir, Untracked::Included).expect("status"),
            ["tracked", "untracked"]
        );
    }
}
