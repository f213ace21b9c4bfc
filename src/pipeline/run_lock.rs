//! Where runs keep their state (`<git-common-dir>/buildkit`) and the lock
//! of one tag's run (`jobs/<tag>.lock`), so that a hook firing twice, or a
//! user running `pipeline` while the hook's job runs, never builds and
//! publishes the same tag twice at once. Tags become file names through
//! [`job_id`]. A second lock, the repository's (`jobs/.pipeline.lock`,
//! [`lock_repository`]), is held by every run after its tag's lock, so the
//! pipelines of one repository run one at a time whoever starts them: the
//! hooks' queue (see [`crate::hooks::jobs`]) and a user's `pipeline TAG`.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::PipelineError;
use crate::fsutil::{is_locked, open_lock_file};
use crate::git::Repo;
use crate::progress::Listener;

/// How long [`lock`] retries before reporting "already running": a probe by
/// [`is_running`] holds the lock for microseconds, a run for its whole length.
const LOCK_PATIENCE: Duration = Duration::from_millis(500);

/// The lock of one tag's run, held until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    tag: String,
    path: PathBuf,
}

impl RunLock {
    /// The tag it locks.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `<git-common-dir>/buildkit`: where runs keep their state. Linked work
/// trees share it, as they share the tags.
pub fn buildkit_dir(repo: &Repo) -> PathBuf {
    let git_dir = repo.git_dir();
    // gitrepository-layout(5): a linked work tree's git dir names the common one in `commondir`.
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|text| git_dir.join(text.trim_end_matches(['\n', '\r'])))
        .unwrap_or_else(|| git_dir.to_owned());
    common.join("buildkit")
}

/// `<git-dir>/buildkit/jobs`: locks, job states and logs.
pub fn jobs_dir(repo: &Repo) -> PathBuf {
    buildkit_dir(repo).join("jobs")
}

/// `<git-dir>/buildkit/dist/<tag>`: the packages of the tag's last run.
pub fn dist_dir(repo: &Repo, tag: &str) -> PathBuf {
    buildkit_dir(repo).join("dist").join(tag)
}

/// A tag as a file name: `/` (allowed in tags) and `%` percent-encoded.
pub fn job_id(tag: &str) -> String {
    tag.replace('%', "%25").replace('/', "%2F")
}

/// The tag of a [`job_id`].
pub fn tag_of_job_id(id: &str) -> String {
    id.replace("%2F", "/").replace("%25", "%")
}

/// Takes the lock of `tag`'s run, or reports [`PipelineError::AlreadyRunning`].
pub fn lock(repo: &Repo, tag: &str) -> Result<RunLock, PipelineError> {
    let path = jobs_dir(repo).join(format!("{}.lock", job_id(tag)));
    let io = |source| PipelineError::Io {
        path: path.clone(),
        source,
    };
    let file = open_lock_file(&path).map_err(io)?;
    let deadline = Instant::now() + LOCK_PATIENCE;
    loop {
        match file.try_lock() {
            Ok(()) => {
                return Ok(RunLock {
                    _file: file,
                    tag: tag.to_owned(),
                    path,
                })
            }
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(PipelineError::AlreadyRunning {
                    tag: tag.to_owned(),
                    lock: path,
                })
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
    }
}

/// The repository's pipeline lock, held until dropped.
#[derive(Debug)]
pub struct RepositoryLock {
    _file: File,
}

/// Takes the repository's pipeline lock, waiting as long as another run
/// holds it (and saying so through `listener` once). Taken after the tag's
/// [`lock`], never before: a second run of the same tag is refused at once
/// rather than made to wait.
pub fn lock_repository(
    repo: &Repo,
    listener: &dyn Listener,
) -> Result<RepositoryLock, PipelineError> {
    let path = jobs_dir(repo).join(".pipeline.lock");
    let io = |source| PipelineError::Io {
        path: path.clone(),
        source,
    };
    let file = open_lock_file(&path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            listener.note(
                "another pipeline of this repository is running; this one waits for it to end",
            );
            file.lock().map_err(io)?;
        }
        Err(TryLockError::Error(source)) => return Err(io(source)),
    }
    Ok(RepositoryLock { _file: file })
}

/// Whether a run of `tag` holds its lock now. The probe takes a shared lock
/// for an instant, which never blocks another probe; [`lock`] waits out
/// such an instant.
pub fn is_running(repo: &Repo, tag: &str) -> Result<bool, PipelineError> {
    let path = jobs_dir(repo).join(format!("{}.lock", job_id(tag)));
    is_locked(&path).map_err(|source| PipelineError::Io { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn job_ids_are_file_names() {
        for (tag, id) in [
            ("v1.2.0", "v1.2.0"),
            ("release/1.2.0", "release%2F1.2.0"),
            ("odd%2Fname", "odd%252Fname"),
        ] {
            assert_eq!(job_id(tag), id);
            assert_eq!(tag_of_job_id(id), tag);
        }
    }
}
