//! The git hooks that start the pipeline when a version tag appears.
//!
//! `reference-transaction` (git ≥ 2.28) sees every ref git changes in this
//! repository: `git tag`, `git tag -a`, a release finish, any tool that uses
//! git. On a bare server, `post-receive` sees the pushed refs. Both do the
//! same: pick the new `refs/tags/<prefix><digit>…` refs ([`event`]), and
//! queue `git buildkit pipeline TAG` as a job that a detached worker runs,
//! one at a time per repository ([`jobs`]), so the git command returns at
//! once; the job's output goes to a log under the git dir. Tags that
//! arrive by `git fetch` start nothing unless `[hooks] on-fetch = true`
//! ([`invoker`] tells a fetch from the rest).
//!
//! The installed scripts (the top-level `hooks/` directory, embedded) only
//! find the program and exec `git-buildkit hooks run HOOK ARGS…`; the logic
//! is here, where it is tested. A hook the user had is never overwritten: it
//! is kept as `HOOK.pre-buildkit`, run first with the same arguments and
//! input, and its exit status is the hook's ([`mod@install`], [`mod@run`]).
//! Our own part never fails git: its errors are logged and shown, not
//! returned.

pub mod event;
pub mod install;
pub mod invoker;
pub mod jobs;
pub mod run;
mod script;

use std::fmt;
use std::path::PathBuf;

use crate::git::GitError;
use crate::pipeline::PipelineError;
use crate::process::ProcessError;

pub use event::{new_version_tags, parse_updates, version_prefix, RefUpdate};
pub use install::{
    default_hooks, hooks_dir, install, uninstall, Installed, Uninstalled, CHAINED_SUFFIX,
};
pub use invoker::RefSource;
pub use jobs::{Job, JobState, Jobs};
pub use run::{run, Action, Chained, HookCall, HookReport};

/// A hook git-buildkit installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Every ref update of this repository (`committed` is the one we act on).
    ReferenceTransaction,
    /// The refs a push updated, on the receiving side.
    PostReceive,
}

impl Hook {
    /// Both hooks.
    pub const ALL: [Hook; 2] = [Hook::ReferenceTransaction, Hook::PostReceive];

    /// The hook's file name, as githooks(5) names it.
    pub fn name(self) -> &'static str {
        match self {
            Hook::ReferenceTransaction => "reference-transaction",
            Hook::PostReceive => "post-receive",
        }
    }

    /// The hook called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.name() == name)
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong installing or running the hooks.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// `git rev-parse --git-path hooks` failed.
    #[error("could not find the hooks directory")]
    HooksDir {
        #[source]
        source: ProcessError,
    },
    /// A file could not be read, written or renamed.
    #[error("could not access {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A foreign hook exists and so does the file it would be kept as.
    #[error(
        "{path} is not a git-buildkit hook, and {chained} exists: there is no place to keep it"
    )]
    ChainTaken { path: PathBuf, chained: PathBuf },
    /// The chained user hook could not be started.
    #[error("could not run the chained hook {path}")]
    Chained {
        path: PathBuf,
        #[source]
        source: ProcessError,
    },
    /// The detached worker of the job queue could not be started.
    #[error("could not start the worker of the job queue")]
    SpawnWorker {
        #[source]
        source: ProcessError,
    },
    /// A job state file cannot be parsed.
    #[error("the job state {path} is damaged")]
    BadJob {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Reading the repository failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// Locks or notes of the pipeline failed (boxed: it is large).
    #[error(transparent)]
    Pipeline(Box<PipelineError>),
}

impl From<PipelineError> for HookError {
    fn from(e: PipelineError) -> Self {
        HookError::Pipeline(Box::new(e))
    }
}

impl HookError {
    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            HookError::ChainTaken { .. } => {
                Some("merge the two scripts into one (or move one away), then install again".into())
            }
            HookError::BadJob { path, .. } => Some(format!(
                "delete {} and its job is forgotten",
                path.display()
            )),
            HookError::Pipeline(e) => e.hint(),
            _ => None,
        }
    }
}
