//! Installing and removing our hook scripts without losing the user's.
//!
//! A hook the user already has is renamed to `HOOK.pre-buildkit` (a rename
//! keeps its bytes, mode and, for a symlink, the link itself) and our script
//! runs it first; `uninstall` renames it back, so the directory ends exactly
//! as it was. The directory is git's own answer
//! (`git rev-parse --git-path hooks`), so `core.hooksPath` is respected.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::script::{is_ours, render};
use super::{Hook, HookError};
use crate::git::{git, Repo};

/// Appended to a user's hook name when ours takes its place.
pub const CHAINED_SUFFIX: &str = ".pre-buildkit";

/// What `install` did for one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// There was no hook; ours is the only one.
    New,
    /// Ours was there; it was rewritten (a new program path, a new script).
    Updated,
    /// The user's hook was kept at `kept`; ours runs it first.
    Chained { kept: PathBuf },
}

/// What `uninstall` did for one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uninstalled {
    /// Ours was removed; there was nothing to restore.
    Removed,
    /// Ours was removed (or already gone) and the user's hook is back at `restored`.
    Restored { restored: PathBuf },
    /// Neither ours nor a kept hook was there.
    NotInstalled,
    /// The file at the hook's place is not ours: left alone, as is `kept`, if any.
    Foreign { kept: Option<PathBuf> },
}

/// The hooks directory git uses for this repository (`core.hooksPath` when set).
pub fn hooks_dir(repo: &Repo) -> Result<PathBuf, HookError> {
    let cwd = repo.cwd();
    let out = git(cwd)
        .args(["rev-parse", "--path-format=absolute", "--git-path", "hooks"])
        .output()
        .map_err(|source| HookError::HooksDir { source })?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out).trim_end()))
}

/// The hooks that see new tags here: `reference-transaction` where tags are
/// made (a work tree), `post-receive` where they arrive (a bare repository,
/// where a pushed tag also passes reference-transaction: one is enough).
pub fn default_hooks(repo: &Repo) -> Vec<Hook> {
    if repo.workdir().is_some() {
        vec![Hook::ReferenceTransaction]
    } else {
        vec![Hook::PostReceive]
    }
}

/// Installs our `hook` into `dir`, running the program at `exe`.
pub fn install(dir: &Path, hook: Hook, exe: &Path) -> Result<Installed, HookError> {
    let path = dir.join(hook.name());
    let kept = chained_path(dir, hook);
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let outcome = match read_hook(&path)? {
        Some(contents) if is_ours(&contents) => Installed::Updated,
        Some(_) => {
            if exists(&kept)? {
                return Err(HookError::ChainTaken {
                    path,
                    chained: kept,
                });
            }
            std::fs::rename(&path, &kept).map_err(io(&path))?;
            Installed::Chained { kept }
        }
        // A hook kept by an earlier install whose script was deleted: ours runs it again.
        None if exists(&kept)? => Installed::Chained { kept },
        None => Installed::New,
    };
    write_script(dir, &path, &render(hook, exe))?;
    Ok(outcome)
}

/// Removes our `hook` from `dir` and puts back the hook it kept.
pub fn uninstall(dir: &Path, hook: Hook) -> Result<Uninstalled, HookError> {
    let path = dir.join(hook.name());
    let kept = chained_path(dir, hook);
    let kept_exists = exists(&kept)?;
    match read_hook(&path)? {
        Some(contents) if !is_ours(&contents) => {
            return Ok(Uninstalled::Foreign {
                kept: kept_exists.then_some(kept),
            })
        }
        Some(_) => std::fs::remove_file(&path).map_err(io(&path))?,
        None if !kept_exists => return Ok(Uninstalled::NotInstalled),
        None => {}
    }
    if kept_exists {
        std::fs::rename(&kept, &path).map_err(io(&kept))?;
        Ok(Uninstalled::Restored { restored: path })
    } else {
        Ok(Uninstalled::Removed)
    }
}

/// Where the user's `hook` is kept while ours is installed.
pub fn chained_path(dir: &Path, hook: Hook) -> PathBuf {
    dir.join(format!("{}{CHAINED_SUFFIX}", hook.name()))
}

/// The hook's contents (through a symlink), `None` when there is no file;
/// a dangling symlink reads as empty, so it counts as the user's.
fn read_hook(path: &Path) -> Result<Option<Vec<u8>>, HookError> {
    if !exists(path)? {
        return Ok(None);
    }
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Some(Vec::new())),
        Err(source) => Err(HookError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Whether anything (a file, a symlink, even a dangling one) is at `path`.
fn exists(path: &Path) -> Result<bool, HookError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(HookError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes an executable script beside `path` and renames it into place, so
/// git never runs half a hook.
fn write_script(dir: &Path, path: &Path, text: &str) -> Result<(), HookError> {
    let mut temp = tempfile::Builder::new()
        .prefix(".buildkit-hook-")
        .tempfile_in(dir)
        .map_err(io(dir))?;
    std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(io(temp.path()))?;
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(io(temp.path()))?;
    temp.persist(path).map_err(|e| HookError::Io {
        path: path.to_owned(),
        source: e.error,
    })?;
    Ok(())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HookError {
    let path = path.to_owned();
    move |source| HookError::Io { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const EXE: &str = "/usr/bin/git-buildkit";

    fn write(path: &Path, text: &str, mode: u32) {
        std::fs::write(path, text).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    fn snapshot(dir: &Path) -> Vec<(String, u32, Vec<u8>, Option<PathBuf>)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| {
                let path = e.expect("entry").path();
                let meta = std::fs::symlink_metadata(&path).expect("meta");
                let link = std::fs::read_link(&path).ok();
                let bytes = if link.is_some() {
                    Vec::new()
                } else {
                    std::fs::read(&path).expect("read")
                };
                (
                    path.file_name()
                        .expect("name")
                        .to_string_lossy()
                        .into_owned(),
                    meta.permissions().mode() & 0o7777,
                    bytes,
                    link,
                )
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn a_fresh_install_and_uninstall() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hooks = dir.path().join("hooks");
        assert_eq!(
            install(&hooks, Hook::ReferenceTransaction, Path::new(EXE)).expect("install"),
            Installed::New
        );
        let path = hooks.join("reference-transaction");
        let meta = std::fs::metadata(&path).expect("installed");
        assert_eq!(meta.permissions().mode() & 0o777, 0o755);
        assert_eq!(
            install(
                &hooks,
                Hook::ReferenceTransaction,
                Path::new("/elsewhere/git-buildkit")
            )
            .expect("again"),
            Installed::Updated
        );
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("\nbk='/elsewhere/git-buildkit'\n"), "{text}");
        assert_eq!(
            uninstall(&hooks, Hook::ReferenceTransaction).expect("uninstall"),
            Uninstalled::Removed
        );
        assert_eq!(snapshot(&hooks), vec![]);
        assert_eq!(
            uninstall(&hooks, Hook::ReferenceTransaction).expect("again"),
            Uninstalled::NotInstalled
        );
    }

    #[test]
    fn a_user_hook_is_chained_and_restored_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hooks = dir.path();
        write(
            &hooks.join("reference-transaction"),
            "#!/bin/sh\ncat >> log\n",
            0o750,
        );
        std::os::unix::fs::symlink("../scripts/post", hooks.join("post-receive")).expect("link");
        let before = snapshot(hooks);
        for hook in Hook::ALL {
            assert_eq!(
                install(hooks, hook, Path::new(EXE)).expect("install"),
                Installed::Chained {
                    kept: chained_path(hooks, hook)
                }
            );
        }
        // Installing twice keeps the one kept hook.
        assert_eq!(
            install(hooks, Hook::ReferenceTransaction, Path::new(EXE)).expect("again"),
            Installed::Updated
        );
        assert_eq!(
            std::fs::read_to_string(hooks.join("reference-transaction.pre-buildkit"))
                .expect("kept"),
            "#!/bin/sh\ncat >> log\n"
        );
        for hook in Hook::ALL {
            assert_eq!(
                uninstall(hooks, hook).expect("uninstall"),
                Uninstalled::Restored {
                    restored: hooks.join(hook.name())
                }
            );
        }
        assert_eq!(snapshot(hooks), before);
    }

    #[test]
    fn nothing_is_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hooks = dir.path();
        write(&hooks.join("post-receive"), "#!/bin/sh\necho mine\n", 0o755);
        write(
            &hooks.join("post-receive.pre-buildkit"),
            "#!/bin/sh\necho older\n",
            0o755,
        );
        let before = snapshot(hooks);
        let error = install(hooks, Hook::PostReceive, Path::new(EXE)).expect_err("taken");
        assert_eq!(
            error.to_string(),
            format!(
                "{0}/post-receive is not a git-buildkit hook, and {0}/post-receive.pre-buildkit exists: there is no place to keep it",
                hooks.display()
            )
        );
        assert_eq!(
            uninstall(hooks, Hook::PostReceive).expect("foreign"),
            Uninstalled::Foreign {
                kept: Some(hooks.join("post-receive.pre-buildkit"))
            }
        );
        assert_eq!(snapshot(hooks), before);
    }
}
