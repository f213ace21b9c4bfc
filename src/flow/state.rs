//! A finish is a list of steps recorded in `<git-dir>/buildkit/flow-state.json`
//! before the first one runs: the refs as they were, the steps, how many are
//! done, where it stopped, and the refs as the finish last left them.
//! `flow continue` resumes after the step the user concluded; `flow abort`
//! puts every ref back, unless that would lose work made since the stop.
//! No step runs twice.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::avh::Action;
use super::{BranchType, FlowError};
use crate::fsutil::{write_atomic, Durability};

/// One step of a finish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// Merge `from` into `into`.
    Merge {
        from: String,
        into: String,
        ff: FastForward,
    },
    /// Squash `from` into one commit on `into` (`git merge --squash`, then
    /// `git commit`), with git's message or, given `info`, avh's
    /// `--squash-info` message starting with that line.
    Squash {
        from: String,
        into: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        info: Option<String>,
    },
    /// Rebase `branch` onto `onto` (a finish with `--rebase`).
    Rebase {
        branch: String,
        onto: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rebase_merges: bool,
    },
    /// Create the annotated (optionally signed) tag on `at`.
    Tag {
        tag: String,
        at: String,
        message: String,
        sign: TagKind,
        #[serde(rename = "no_pipeline")]
        pipeline: TagPipeline,
        /// `git tag -u KEY` (avh's `--signingkey`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signing_key: Option<String>,
    },
    /// Delete the finished branch: `git branch -d`, or `-D` when `force`
    /// (`--force-delete`, or a squashed branch, which git never sees merged).
    DeleteBranch {
        branch: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        force: bool,
    },
    /// Push branches and the one tag.
    Push { remote: String, refs: Vec<String> },
    /// Delete the branch on the remote (after the push, so that a pull
    /// request for it is closed as merged).
    DeleteRemoteBranch { remote: String, branch: String },
    /// Forget avh's record of the branch's base (`gitflow.branch.<branch>`).
    ForgetBase { branch: String },
    /// Run `post-flow-<kind>-<action>`.
    PostHook {
        kind: BranchType,
        action: Action,
        args: Vec<String>,
    },
    /// Check out this branch at the end.
    Checkout { branch: String },
}

/// Whether a merge may fast-forward (avh does it for one-commit
/// features). A bool in the state file (`"ff": true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "bool", into = "bool")]
pub enum FastForward {
    /// `git merge --ff`.
    Allowed,
    /// `git merge --no-ff`: always a merge commit.
    Never,
}

impl From<bool> for FastForward {
    fn from(ff: bool) -> Self {
        if ff {
            FastForward::Allowed
        } else {
            FastForward::Never
        }
    }
}

impl From<FastForward> for bool {
    fn from(ff: FastForward) -> Self {
        ff == FastForward::Allowed
    }
}

/// An annotated or a signed tag. A bool in the state file (`"sign": true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "bool", into = "bool")]
pub enum TagKind {
    /// `git tag -a`.
    Annotated,
    /// `git tag -s`.
    Signed,
}

impl From<bool> for TagKind {
    fn from(sign: bool) -> Self {
        if sign {
            TagKind::Signed
        } else {
            TagKind::Annotated
        }
    }
}

impl From<TagKind> for bool {
    fn from(kind: TagKind) -> Self {
        kind == TagKind::Signed
    }
}

/// Whether the tag hook starts the pipeline of the new tag. A bool in the
/// state file (`"no_pipeline": true` for [`TagPipeline::Skip`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "bool", into = "bool")]
pub enum TagPipeline {
    /// The hook queues the pipeline, as for any version tag.
    Start,
    /// `BUILDKIT_NO_PIPELINE=1`: the hook sees the tag and starts nothing.
    Skip,
}

impl From<bool> for TagPipeline {
    fn from(no_pipeline: bool) -> Self {
        if no_pipeline {
            TagPipeline::Skip
        } else {
            TagPipeline::Start
        }
    }
}

impl From<TagPipeline> for bool {
    fn from(pipeline: TagPipeline) -> Self {
        pipeline == TagPipeline::Skip
    }
}

impl Step {
    /// A line for `flow status`.
    pub fn describe(&self) -> String {
        match self {
            Step::Merge { from, into, .. } => format!("merge {from} into {into}"),
            Step::Squash { from, into, .. } => format!("squash {from} into {into}"),
            Step::Rebase { branch, onto, .. } => format!("rebase {branch} onto {onto}"),
            Step::Tag { tag, at, .. } => format!("tag {at} as {tag}"),
            Step::DeleteBranch { branch, .. } => format!("delete branch {branch}"),
            Step::Push { remote, refs } => format!("push {} to {remote}", refs.join(" ")),
            Step::DeleteRemoteBranch { remote, branch } => {
                format!("delete branch {branch} on {remote}")
            }
            Step::ForgetBase { branch } => format!("forget the base of {branch}"),
            Step::PostHook { kind, action, .. } => {
                format!("run post-flow-{}-{}", kind.name(), action.name())
            }
            Step::Checkout { branch } => format!("check out {branch}"),
        }
    }
}

/// A finish in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishState {
    /// Branch type.
    pub kind: BranchType,
    /// The branch being finished.
    pub branch: String,
    /// The tag it makes, if any.
    pub tag: Option<String>,
    /// What HEAD was (a branch name).
    pub original_head: String,
    /// Every ref the finish may touch, with its value before (None: absent).
    pub original_refs: BTreeMap<String, Option<String>>,
    /// The plan.
    pub steps: Vec<Step>,
    /// Steps completed.
    pub done: usize,
    /// The step waiting for the user (a conflicted merge).
    pub stopped_at: Option<usize>,
    /// The refs of `original_refs` as the finish last left them (its own
    /// merges and tag included; the commit they point at): a ref that is
    /// elsewhere now was moved by someone else since, and `flow abort`
    /// would lose that. Absent in state files of older versions.
    #[serde(default)]
    pub refs_at_stop: BTreeMap<String, Option<String>>,
}

impl FinishState {
    /// Reads the state file, if there is one.
    pub fn load(path: &Path) -> Result<Option<Self>, FlowError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| FlowError::Io {
                    path: path.to_owned(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(FlowError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the state file atomically and synced: after a crash or a
    /// power loss, `flow continue` and `flow abort` still find the refs to
    /// put back.
    pub fn save(&self, path: &Path) -> Result<(), FlowError> {
        let io = |source| FlowError::Io {
            path: path.to_owned(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let text = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        write_atomic(path, &text, 0o644, Durability::Synced).map_err(io)
    }

    /// Removes the state file.
    pub fn clear(path: &Path) -> Result<(), FlowError> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(FlowError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// The state file of a finish stopped by an older version still loads:
    /// the enums are written as the bools and strings they replaced.
    #[test]
    fn steps_keep_the_state_file_format() {
        let steps = vec![
            Step::Merge {
                from: "feature/x".into(),
                into: "develop".into(),
                ff: FastForward::Allowed,
            },
            Step::Tag {
                tag: "v1.0.0".into(),
                at: "main".into(),
                message: "m".into(),
                sign: TagKind::Annotated,
                pipeline: TagPipeline::Skip,
                signing_key: None,
            },
            Step::DeleteBranch {
                branch: "feature/x".into(),
                force: false,
            },
            Step::PostHook {
                kind: BranchType::Release,
                action: Action::Finish,
                args: vec!["v1.0.0".into()],
            },
        ];
        let json = concat!(
            r#"[{"step":"merge","from":"feature/x","into":"develop","ff":true},"#,
            r#"{"step":"tag","tag":"v1.0.0","at":"main","message":"m","sign":false,"no_pipeline":true},"#,
            r#"{"step":"delete-branch","branch":"feature/x"},"#,
            r#"{"step":"post-hook","kind":"release","action":"finish","args":["v1.0.0"]}]"#
        );
        assert_eq!(serde_json::to_string(&steps).expect("serialise"), json);
        let read: Vec<Step> = serde_json::from_str(json).expect("parse");
        assert_eq!(read, steps);
    }
}
