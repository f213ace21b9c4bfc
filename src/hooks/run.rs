//! `git-buildkit hooks run HOOK ARGS…`, what the installed scripts exec:
//! run the user's kept hook first, with the same arguments and input, then
//! queue a pipeline job for each new version tag and make sure a worker
//! runs the queue. Tags a `git fetch` brought are left alone unless
//! `[hooks] on-fetch = true` in the `.buildkit.toml` at HEAD.
//!
//! The exit status is the kept hook's (git acts on it where it matters:
//! a failing reference-transaction `prepared` aborts the update), or 0. Our
//! own errors never reach git: they are logged in `<git-dir>/buildkit/hooks.log`
//! and returned for the CLI to show.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use super::event::{
    has_config, new_version_tags, on_fetch, parse_updates, touches_tags, version_prefix,
};
use super::install::{chained_path, hooks_dir};
use super::invoker::RefSource;
use super::jobs::{Job, Jobs};
use super::{Hook, HookError};
use crate::git::Repo;
use crate::pipeline::{buildkit_dir, error_chain, is_running, read_note, Record, RunResult};
use crate::process::Cmd;
use crate::time::{signed, unix_now, ymd_hm};

/// One invocation of a hook.
#[derive(Debug, Clone)]
pub struct HookCall<'a> {
    /// Which hook git ran.
    pub hook: Hook,
    /// Its arguments (reference-transaction: the state).
    pub args: &'a [String],
    /// Its standard input, read in full.
    pub input: &'a [u8],
    /// The directory of the script git ran (where the kept hook is), when
    /// the script says; else git is asked.
    pub hooks_dir: Option<&'a Path>,
    /// The directory git ran the hook in (absolute).
    pub cwd: &'a Path,
    /// The program a job runs (this one).
    pub exe: &'a Path,
    /// False when `BUILDKIT_NO_PIPELINE=1`: tags are seen, no job starts.
    pub pipeline_enabled: bool,
    /// Whether the git command running the hook made the refs or fetched
    /// them (see [`super::invoker`]; only reference-transaction asks).
    pub source: RefSource,
}

/// The user's kept hook, run first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chained {
    /// Its path (`HOOK.pre-buildkit`).
    pub path: PathBuf,
    /// Its exit status (128 + N when killed by signal N).
    pub exit_code: u8,
}

/// What was done about one new tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A job was queued; `ahead` jobs were queued or running before it.
    Queued { job: Job, ahead: usize },
    /// Version tags arrived by `git fetch` and `[hooks] on-fetch` is off.
    Fetched { tags: Vec<String> },
    /// A run of the tag holds its lock.
    AlreadyRunning { tag: String },
    /// The tag's note says it succeeded.
    AlreadyPublished { tag: String },
    /// The tagged commit has no `.buildkit.toml`.
    NoConfig { tag: String },
    /// `BUILDKIT_NO_PIPELINE` is set.
    Disabled { tag: String },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Queued { job, ahead: 0 } => write!(
                f,
                "started the pipeline of {} in the background (log: {})",
                job.tag,
                job.log.display()
            ),
            Action::Queued { job, ahead } => write!(
                f,
                "queued the pipeline of {} behind {ahead} other job{} (log: {})",
                job.tag,
                if *ahead == 1 { "" } else { "s" },
                job.log.display()
            ),
            Action::Fetched { tags } => write!(
                f,
                "{} arrived by git fetch: no pipeline (`[hooks] on-fetch = true` in {} starts one; \
                 `git buildkit pipeline TAG` runs one now)",
                tags.join(", "),
                crate::config::FILE_NAME
            ),
            Action::AlreadyRunning { tag } => {
                write!(f, "the pipeline of {tag} is already running")
            }
            Action::AlreadyPublished { tag } => write!(
                f,
                "{tag} is already published; `git buildkit pipeline --force {tag}` runs it again"
            ),
            Action::NoConfig { tag } => {
                write!(f, "{tag} has no {}: no pipeline", crate::config::FILE_NAME)
            }
            Action::Disabled { tag } => {
                write!(f, "BUILDKIT_NO_PIPELINE is set: no pipeline for {tag}")
            }
        }
    }
}

/// What a hook invocation did.
#[derive(Debug, Default)]
pub struct HookReport {
    /// The status to exit with: the kept hook's, else 0.
    pub exit_code: u8,
    /// The kept hook, if one ran.
    pub chained: Option<Chained>,
    /// One entry per new version tag.
    pub actions: Vec<Action>,
    /// Our own failures (never in the exit status).
    pub errors: Vec<HookError>,
    /// The log they were appended to, when the repository was found.
    pub log: Option<PathBuf>,
}

/// Runs one hook invocation; never fails (see [`HookReport`]).
pub fn run(call: &HookCall<'_>) -> HookReport {
    let mut report = HookReport::default();
    match run_chained(call) {
        Ok(chained) => {
            report.exit_code = chained.as_ref().map_or(0, |c| c.exit_code);
            report.chained = chained;
        }
        Err(e) => {
            // An executable hook git could not start is a failed hook to git, too.
            report.exit_code = 1;
            report.errors.push(e);
        }
    }
    let updates = parse_updates(&String::from_utf8_lossy(call.input));
    if !touches_tags(call.hook, call.args, &updates) {
        return report;
    }
    let repo = match Repo::discover(call.cwd) {
        Ok(repo) => repo,
        Err(e) => {
            report.errors.push(e.into());
            return report;
        }
    };
    let prefix = version_prefix(&repo);
    let tags = new_version_tags(call.hook, call.args, &updates, &prefix);
    let fetched = call.hook == Hook::ReferenceTransaction && call.source == RefSource::Fetched;
    if fetched && !tags.is_empty() && !on_fetch(&repo) {
        report.actions.push(Action::Fetched { tags });
    } else {
        let mut queued = false;
        for tag in tags {
            match trigger(&repo, call, &tag) {
                Ok(action) => {
                    queued |= matches!(action, Action::Queued { .. });
                    report.actions.push(action);
                }
                Err(e) => report.errors.push(e),
            }
        }
        let dir = repo.cwd();
        if queued {
            if let Err(e) = Jobs::of(&repo).spawn_worker(call.exe, &call.cwd.join(dir)) {
                report.errors.push(e);
            }
        }
    }
    let log = buildkit_dir(&repo).join("hooks.log");
    if let Err(e) = append_log(&log, call.hook, &report) {
        report.errors.push(e);
    }
    report.log = Some(log);
    report
}

/// Starts a job for `tag` unless there is nothing to do.
fn trigger(repo: &Repo, call: &HookCall<'_>, tag: &str) -> Result<Action, HookError> {
    let tag_owned = || tag.to_owned();
    if !call.pipeline_enabled {
        return Ok(Action::Disabled { tag: tag_owned() });
    }
    let commit = repo.resolve(&format!("refs/tags/{tag}"))?;
    if !has_config(repo, &commit.id) {
        return Ok(Action::NoConfig { tag: tag_owned() });
    }
    if let Some(text) = read_note(repo, &commit.id)? {
        let published = Record::from_note(&text, &commit.id)
            .is_ok_and(|r| r.tag == tag && r.result == RunResult::Succeeded);
        if published {
            return Ok(Action::AlreadyPublished { tag: tag_owned() });
        }
    }
    if is_running(repo, tag)? {
        return Ok(Action::AlreadyRunning { tag: tag_owned() });
    }
    let jobs = Jobs::of(repo);
    let ahead = jobs
        .list(repo)?
        .iter()
        .filter(|j| j.tag != tag && !j.state.is_done())
        .count();
    let job = jobs.enqueue(tag, &commit.id, call.hook.name())?;
    Ok(Action::Queued { job, ahead })
}

/// Runs `HOOK.pre-buildkit` when it is there and executable (git ignores a
/// hook that is not executable, and so do we).
fn run_chained(call: &HookCall<'_>) -> Result<Option<Chained>, HookError> {
    let dir = match call.hooks_dir {
        Some(dir) => call.cwd.join(dir),
        None => match Repo::discover(call.cwd).map(|repo| hooks_dir(&repo)) {
            Ok(Ok(dir)) => dir,
            // Outside a repository there is no kept hook to run.
            _ => return Ok(None),
        },
    };
    let path = chained_path(&dir, call.hook);
    let executable =
        std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if !executable {
        return Ok(None);
    }
    // stdout and stderr are git's, as they would be without us.
    let status = Cmd::new(&path)
        .args(call.args)
        .cwd(call.cwd)
        .input(call.input)
        .status()
        .map_err(|source| HookError::Chained {
            path: path.clone(),
            source,
        })?;
    let exit_code = match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, signal) => u8::try_from(128 + signal.unwrap_or(0)).unwrap_or(1),
    };
    Ok(Some(Chained { path, exit_code }))
}

fn append_log(path: &Path, hook: Hook, report: &HookReport) -> Result<(), HookError> {
    if report.actions.is_empty() && report.errors.is_empty() {
        return Ok(());
    }
    let io = |source| HookError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = std::fs::File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    let when = ymd_hm(signed(unix_now()));
    let mut text = String::new();
    for action in &report.actions {
        text.push_str(&format!("{when} UTC {hook}: {action}\n"));
    }
    for error in &report.errors {
        text.push_str(&format!(
            "{when} UTC {hook}: error: {}\n",
            error_chain(error)
        ));
    }
    file.write_all(text.as_bytes()).map_err(io)
}
