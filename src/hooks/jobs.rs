//! Pipeline jobs: `git buildkit pipeline TAG` started by a hook, one at a
//! time per repository.
//!
//! Each job has three files in `<git-dir>/buildkit/jobs/`, named after the
//! tag ([`job_id`]): `TAG.json`, its state; `TAG.log`, its output (appended
//! to by each run, with a header line); and `TAG.lock`, held by the running
//! pipeline (see [`crate::pipeline::lock`]). The hook writes the state
//! `queued` and makes sure a worker runs: `git-buildkit jobs --work`,
//! detached, holding `.worker.lock`. The worker runs the queued jobs oldest
//! first, each as `pipeline --job TAG`, and ends when the queue is empty:
//! ten tags pushed at once are ten queued jobs and one build at a time, not
//! ten builds fighting for two cores. A worker that finds another holding
//! the lock ends at once; the holder looks at the queue once more after
//! letting the lock go, so a job queued at that instant is never stranded.
//! The job writes `running` once it holds its tag's lock, and `succeeded` or
//! `failed` with its exit code before it lets the lock go. A job that died
//! without saying so (kill -9, a reboot) is told by its lock being free:
//! [`reconcile`] reports it as failed.

use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};

use super::HookError;
use crate::fsutil::{is_locked, open_lock_file};
use crate::git::Repo;
use crate::pipeline::{is_running, job_id, jobs_dir, tag_of_job_id};
use crate::process::Cmd;
use crate::time::{unix_nanos, unix_now, ymd_hm};

/// How long a queued job may wait without a worker before it counts as lost.
const START_GRACE_SECS: u64 = 10;

/// The worker's lock, beside the jobs.
const WORKER_LOCK: &str = ".worker.lock";

/// The worker's own output (a job's goes to its log).
const WORKER_LOG: &str = ".worker.log";

/// Environment git gives a hook about the repository it runs in. The job
/// finds the repository from its directory instead: left in place, these
/// would follow the build into its export directory.
const HOOK_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_PREFIX",
    "GIT_QUARANTINE_PATH",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
];

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Started by the hook, not yet holding the lock.
    Queued,
    /// The pipeline runs.
    Running,
    /// The pipeline succeeded (or the tag was already published).
    Succeeded,
    /// The pipeline failed, or the job died.
    Failed,
}

impl JobState {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    /// Whether the job has ended.
    pub fn is_done(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed)
    }
}

/// One job, as `TAG.json` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The tag.
    pub tag: String,
    /// The commit it pointed at when the job was queued.
    pub commit: String,
    /// Where the job is.
    pub state: JobState,
    /// What started it: a hook name, or `pipeline`.
    pub trigger: String,
    /// The job's process.
    pub pid: Option<u32>,
    /// The pipeline's exit code, once it ended.
    pub exit_code: Option<i32>,
    /// When it was queued (seconds since the Unix epoch).
    pub queued: u64,
    /// Its place in the queue: nanoseconds since the epoch when it was
    /// queued (several tags of one push share a second).
    #[serde(default)]
    pub order: u64,
    /// When the pipeline took the lock.
    pub started: Option<u64>,
    /// When it ended.
    pub finished: Option<u64>,
    /// Its output.
    pub log: PathBuf,
    /// Why the state is not what the file says (a job that died).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The job files of a repository.
#[derive(Debug, Clone)]
pub struct Jobs {
    dir: PathBuf,
}

impl Jobs {
    /// The jobs of `repo`.
    pub fn of(repo: &Repo) -> Self {
        Self {
            dir: jobs_dir(repo),
        }
    }

    /// `<git-dir>/buildkit/jobs`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `TAG.json`.
    pub fn state_path(&self, tag: &str) -> PathBuf {
        self.dir.join(format!("{}.json", job_id(tag)))
    }

    /// `TAG.log`.
    pub fn log_path(&self, tag: &str) -> PathBuf {
        self.dir.join(format!("{}.log", job_id(tag)))
    }

    /// The recorded state of `tag`'s job, as written.
    pub fn load(&self, tag: &str) -> Result<Option<Job>, HookError> {
        let path = self.state_path(tag);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(HookError::Io { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| HookError::BadJob { path, source })
    }

    fn save(&self, job: &Job) -> Result<(), HookError> {
        let path = self.state_path(&job.tag);
        let io = |source| HookError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let text = serde_json::to_string_pretty(job).expect("a job is plain data") + "\n";
        let mut temp = tempfile::Builder::new()
            .prefix(".job-")
            .tempfile_in(&self.dir)
            .map_err(io)?;
        temp.write_all(text.as_bytes()).map_err(io)?;
        temp.persist(&path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Writes `tag`'s job as queued, with a header line in its log.
    pub fn enqueue(&self, tag: &str, commit: &str, trigger: &str) -> Result<Job, HookError> {
        let log_path = self.log_path(tag);
        let io = |source| HookError::Io {
            path: log_path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let mut log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io)?;
        let now = unix_now();
        writeln!(
            log,
            "==> {} UTC: {trigger} queued `git buildkit pipeline {tag}` ({commit})",
            ymd_hm(i64::try_from(now).unwrap_or(i64::MAX))
        )
        .map_err(io)?;
        let job = Job {
            tag: tag.to_owned(),
            commit: commit.to_owned(),
            state: JobState::Queued,
            trigger: trigger.to_owned(),
            pid: None,
            exit_code: None,
            queued: now,
            order: unix_nanos(),
            started: None,
            finished: None,
            log: log_path.clone(),
            detail: None,
        };
        self.save(&job)?;
        Ok(job)
    }

    /// Starts `exe jobs --work` in `cwd`, detached: its own process group,
    /// no terminal input, output to `.worker.log`. It ends at once when
    /// another worker runs.
    pub fn spawn_worker(&self, exe: &Path, cwd: &Path) -> Result<(), HookError> {
        let (log, stderr) = open_log(&self.dir.join(WORKER_LOG))?;
        let command = HOOK_ENV
            .iter()
            .fold(Cmd::new(exe), |command, name| command.env_remove(name))
            .args(["jobs", "--work"])
            .cwd(cwd)
            // Out of git's process group: Ctrl-C on the terminal stops git, not the job.
            .own_process_group();
        // Detached: the worker must outlive the hook.
        command
            .spawn_detached(Stdio::from(log), Stdio::from(stderr))
            .map(drop)
            .map_err(|source| HookError::SpawnWorker { source })
    }

    /// The worker: while it holds `.worker.lock`, runs the queued jobs
    /// oldest first, each as `exe pipeline --job TAG` in `cwd` with its
    /// output in the job's log. Returns the jobs it ran, as they ended;
    /// none when another worker holds the lock.
    pub fn work(&self, exe: &Path, cwd: &Path) -> Result<Vec<Job>, HookError> {
        let mut ran = Vec::new();
        loop {
            let Some(lock) = self.worker_lock()? else {
                return Ok(ran);
            };
            while let Some(job) = self.next_queued()? {
                ran.push(self.run_job(&job, exe, cwd)?);
            }
            drop(lock);
            // A job queued after the last look and before the unlock found
            // the lock held, and its worker ended: look once more.
            if self.next_queued()?.is_none() {
                return Ok(ran);
            }
        }
    }

    /// Whether a worker holds the lock now.
    pub fn worker_running(&self) -> Result<bool, HookError> {
        let path = self.dir.join(WORKER_LOCK);
        is_locked(&path).map_err(|source| HookError::Io { path, source })
    }

    fn worker_lock(&self) -> Result<Option<File>, HookError> {
        let path = self.dir.join(WORKER_LOCK);
        let io = |source| HookError::Io {
            path: path.clone(),
            source,
        };
        let file = open_lock_file(&path).map_err(io)?;
        // A probe by `worker_running` holds a shared lock for an instant.
        for _ in 0..20 {
            match file.try_lock() {
                Ok(()) => return Ok(Some(file)),
                Err(TryLockError::WouldBlock) => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                Err(TryLockError::Error(source)) => return Err(io(source)),
            }
        }
        Ok(None)
    }

    /// The oldest job whose file says queued.
    fn next_queued(&self) -> Result<Option<Job>, HookError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|j| j.state == JobState::Queued)
            .min_by(|a, b| (a.queued, a.order, &a.tag).cmp(&(b.queued, b.order, &b.tag))))
    }

    /// Runs one queued job to its end and returns it as recorded then.
    fn run_job(&self, job: &Job, exe: &Path, cwd: &Path) -> Result<Job, HookError> {
        let (log, stderr) = open_log(&self.log_path(&job.tag))?;
        let spawned = Cmd::new(exe)
            .args(["pipeline", "--job", "--", &job.tag])
            .cwd(cwd)
            .spawn(Stdio::null(), Stdio::from(log), Stdio::from(stderr))
            .and_then(|mut child| child.wait());
        let failure = match spawned {
            Ok(_) => None,
            Err(e) => Some(crate::pipeline::error_chain(&e)),
        };
        // A pipeline that never said it ran (it could not start, or died
        // first) must not stay queued: the worker would pick it again.
        let mut now = self.load(&job.tag)?.unwrap_or_else(|| job.clone());
        if now.state == JobState::Queued && now.order == job.order {
            let when = unix_now();
            now.state = JobState::Failed;
            now.started = Some(when);
            now.finished = Some(when);
            now.detail = Some(failure.unwrap_or_else(|| {
                "the job ended before the pipeline started; see its log".into()
            }));
            self.save(&now)?;
        }
        Ok(now)
    }

    /// Every job file, as written, in no particular order.
    fn all(&self) -> Result<Vec<Job>, HookError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(HookError::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut jobs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| HookError::Io {
                path: self.dir.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json").filter(|id| !id.starts_with('.')) else {
                continue;
            };
            if let Some(job) = self.load(&tag_of_job_id(id))? {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    /// Records that this process runs `tag`'s pipeline (it holds the lock).
    pub fn mark_running(&self, tag: &str, commit: &str) -> Result<Job, HookError> {
        let now = unix_now();
        let mut job = self.load(tag)?.unwrap_or_else(|| Job {
            tag: tag.to_owned(),
            commit: commit.to_owned(),
            state: JobState::Queued,
            trigger: "pipeline".to_owned(),
            pid: None,
            exit_code: None,
            queued: now,
            order: unix_nanos(),
            started: None,
            finished: None,
            log: self.log_path(tag),
            detail: None,
        });
        job.commit = commit.to_owned();
        job.state = JobState::Running;
        job.pid = Some(std::process::id());
        job.exit_code = None;
        job.started = Some(now);
        job.finished = None;
        self.save(&job)?;
        Ok(job)
    }

    /// Records how `tag`'s pipeline ended.
    pub fn mark_finished(&self, tag: &str, commit: &str, exit_code: u8) -> Result<Job, HookError> {
        let mut job = match self.load(tag)? {
            Some(job) => job,
            None => self.mark_running(tag, commit)?,
        };
        let now = unix_now();
        job.state = if exit_code == 0 {
            JobState::Succeeded
        } else {
            JobState::Failed
        };
        job.pid = Some(std::process::id());
        job.exit_code = Some(i32::from(exit_code));
        job.started.get_or_insert(now);
        job.finished = Some(now);
        self.save(&job)?;
        Ok(job)
    }

    /// Settles the queued job of this process when another run of the tag
    /// holds the lock: it ends at once, and says why. A job file another
    /// job already took over is left to that job.
    pub fn mark_superseded(&self, tag: &str) -> Result<Option<Job>, HookError> {
        let me = std::process::id();
        let Some(mut job) = self.load(tag)? else {
            return Ok(None);
        };
        if job.state != JobState::Queued || job.pid.is_some_and(|pid| pid != me) {
            return Ok(None);
        }
        let now = unix_now();
        job.state = JobState::Succeeded;
        job.pid = Some(me);
        job.exit_code = Some(0);
        job.started = Some(now);
        job.finished = Some(now);
        job.detail = Some("another run of the tag was in progress; this job did nothing".into());
        self.save(&job)?;
        Ok(Some(job))
    }

    /// Every job, oldest first, with its state as it is now (see [`reconcile`]).
    pub fn list(&self, repo: &Repo) -> Result<Vec<Job>, HookError> {
        let now = unix_now();
        let worker = self.worker_running()?;
        let mut jobs = Vec::new();
        for job in self.all()? {
            let held = is_running(repo, &job.tag)?;
            let alive = job.pid.is_some_and(pid_alive);
            jobs.push(reconcile(job, held, alive || worker, now));
        }
        jobs.sort_by(|a, b| (a.queued, a.order, &a.tag).cmp(&(b.queued, b.order, &b.tag)));
        Ok(jobs)
    }
}

/// A job's state as it is now: the file's, unless the lock or the process
/// says otherwise. A job holding the lock runs; a queued job waits while a
/// worker (or its own process) is alive; an unfinished job whose lock is
/// free and whose process is gone has died.
pub fn reconcile(mut job: Job, lock_held: bool, pid_alive: bool, now: u64) -> Job {
    let starting = job.pid.is_none() && now.saturating_sub(job.queued) < START_GRACE_SECS;
    match job.state {
        JobState::Succeeded | JobState::Failed => {}
        _ if lock_held => job.state = JobState::Running,
        JobState::Queued if pid_alive || starting => {}
        JobState::Queued => {
            job.state = JobState::Failed;
            job.detail = Some(
                "no worker runs the queue (it was killed?); the next new tag starts one".into(),
            );
        }
        JobState::Running => {
            job.state = JobState::Failed;
            job.detail = Some("the job ended without recording a result; see its log".into());
        }
    }
    job
}

/// Opens the log at `path` for appending, twice: a child's stdout and its stderr.
fn open_log(path: &Path) -> Result<(File, File), HookError> {
    let io = |source| HookError::Io {
        path: path.to_owned(),
        source,
    };
    let log = File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    let stderr = log.try_clone().map_err(io)?;
    Ok((log, stderr))
}

/// Whether process `pid` exists (Linux: `/proc/PID`).
fn pid_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn job(state: JobState, pid: Option<u32>) -> Job {
        Job {
            tag: "v1.0.0".into(),
            commit: "abc".into(),
            state,
            trigger: "reference-transaction".into(),
            pid,
            exit_code: None,
            queued: 1000,
            order: 7,
            started: None,
            finished: None,
            log: PathBuf::from("/r/.git/buildkit/jobs/v1.0.0.log"),
            detail: None,
        }
    }

    #[test]
    fn reconcile_trusts_the_lock_then_the_process() {
        use JobState::*;
        let cases = [
            // (state in the file, pid, lock held, pid alive, now) → state, detail?
            (Succeeded, Some(1), false, false, 2000, Succeeded, false),
            (Failed, Some(1), true, true, 2000, Failed, false),
            (Queued, Some(1), true, true, 2000, Running, false),
            (Queued, Some(1), false, true, 2000, Queued, false),
            (Queued, Some(1), false, false, 2000, Failed, true),
            (Queued, None, false, false, 1005, Queued, false),
            (Queued, None, false, false, 1010, Failed, true),
            (Running, Some(1), true, true, 2000, Running, false),
            (Running, Some(1), false, true, 2000, Failed, true),
        ];
        for (state, pid, held, alive, now, want, detail) in cases {
            let got = reconcile(job(state, pid), held, alive, now);
            assert_eq!(
                (got.state, got.detail.is_some()),
                (want, detail),
                "{state:?} {pid:?} held={held} alive={alive} now={now}"
            );
        }
    }

    #[test]
    fn job_state_json() {
        let text = serde_json::to_string(&job(JobState::Queued, Some(42))).expect("json");
        assert_eq!(
            text,
            r#"{"tag":"v1.0.0","commit":"abc","state":"queued","trigger":"reference-transaction","pid":42,"exit_code":null,"queued":1000,"order":7,"started":null,"finished":null,"log":"/r/.git/buildkit/jobs/v1.0.0.log"}"#
        );
    }
}
