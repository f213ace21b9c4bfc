//! The error type of the flow module.

use std::path::PathBuf;

/// Why a flow command refused or stopped.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// A git command failed.
    #[error("git failed")]
    Git(#[from] crate::process::ProcessError),
    /// The repository has not been set up for the flow.
    #[error("this repository is not initialised for git-flow: {missing}")]
    NotInitialized { missing: String },
    /// The work tree has uncommitted changes.
    #[error("the work tree has uncommitted changes")]
    Dirty,
    /// A branch that must exist does not.
    #[error("branch {branch:?} does not exist")]
    NoBranch { branch: String },
    /// A branch that must not exist does.
    #[error("branch {branch:?} already exists")]
    BranchExists { branch: String },
    /// Another branch of a kind that allows only one is open.
    #[error("a {kind} branch is already open: {branch}")]
    AlreadyOpen { kind: &'static str, branch: String },
    /// A branch is behind (or diverged from) the remote.
    #[error("branch {branch:?} is {state} {remote}")]
    NotUpToDate {
        branch: String,
        state: &'static str,
        remote: String,
    },
    /// The tag exists already.
    #[error("tag {tag:?} already exists")]
    TagExists { tag: String },
    /// The version is not semver.
    #[error("{version:?} is not a semantic version (like 1.4.0 or 1.4.0-rc.1)")]
    NotSemver { version: String },
    /// The version does not move forward.
    #[error("version {version} is not greater than the latest version tag {latest}")]
    NotGreater { version: String, latest: String },
    /// The command was run from a branch it cannot finish.
    #[error("{branch:?} is not a {kind} branch (they start with {prefix:?})")]
    WrongBranch {
        branch: String,
        kind: &'static str,
        prefix: String,
    },
    /// A name is not usable in a branch.
    #[error("{name:?} is not a valid branch name")]
    BadName { name: String },
    /// A finish is stopped and waiting.
    #[error("a {kind} finish of {branch} is in progress")]
    FinishInProgress { kind: &'static str, branch: String },
    /// `flow abort` would lose commits or changes made since the stop.
    #[error("flow abort of the finish of {branch} would lose {}", lost.join(", and "))]
    AbortWouldLose { branch: String, lost: Vec<String> },
    /// A ref changed between the checks and the update; nothing changed.
    #[error("a ref changed while it was being put back, so nothing was: {detail}")]
    RefsChanged { detail: String },
    /// `flow continue`/`abort` without a stopped finish.
    #[error("no finish is in progress")]
    NothingInProgress,
    /// The merge has not been concluded yet.
    #[error("the merge into {into} is not concluded: {detail}")]
    MergeUnresolved { into: String, detail: String },
    /// A merge stopped on conflicts; the state is saved.
    #[error("the merge of {from} into {into} stopped with conflicts in: {files}")]
    Conflict {
        from: String,
        into: String,
        files: String,
    },
    /// A pre-hook refused.
    #[error("hook {hook} refused (exit status {code})")]
    HookRefused {
        hook: String,
        code: i32,
        output: String,
    },
    /// A filter aborted with exit status 127.
    #[error("filter {filter} aborted: {message}")]
    FilterAborted { filter: String, message: String },
    /// A version file does not carry the version.
    #[error("{path}: {problem}")]
    VersionFile { path: String, problem: String },
    /// A version-file regex is invalid.
    #[error("invalid regex for {path}")]
    BadRegex {
        path: String,
        #[source]
        source: regex::Error,
    },
    /// Reading or writing a file failed.
    #[error("could not access {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A squash merge would conflict (or did, and was undone).
    #[error("squashing {from} into {into} conflicts in: {files}")]
    SquashConflict {
        from: String,
        into: String,
        files: String,
    },
    /// The rebase before a finish stopped; it was aborted.
    #[error("rebasing {branch} onto {onto} failed ({detail}); the rebase was aborted and nothing changed")]
    RebaseConflict {
        branch: String,
        onto: String,
        detail: String,
    },
    /// A release or hotfix started from another base than avh's usual one.
    #[error("{branch} was started from {base}; finishing a release or hotfix into another base than avh's usual one is not supported")]
    UnusualBase { branch: String, base: String },
    /// Both a tag message and a message file.
    #[error("use either -m/--message or -f/--messagefile, not both")]
    MessageTwice,
    /// A `gitflow.<kind>.<command>.<flag>` default is not a boolean.
    #[error("git config {key} is {value:?}, not a boolean")]
    BadFlagConfig { key: String, value: String },
    /// The branch does not exist, but one of another kind has the name.
    #[error("branch {branch:?} does not exist ({found} is a {kind} branch)")]
    OtherKind {
        branch: String,
        found: String,
        kind: &'static str,
    },
    /// The remote a command reads or pushes to is not configured.
    #[error("remote {remote:?} does not exist")]
    NoRemote { remote: String },
    /// The remote has no such branch (after a fetch).
    #[error("{remote} has no branch {branch:?}")]
    NoRemoteBranch { remote: String, branch: String },
    /// `publish` of a branch the remote has already; `relation` says how
    /// it stands to the local branch ("is 2 commits behind yours", ...).
    #[error("{remote} already has a branch {branch:?}: it {relation}")]
    RemoteBranchExists {
        remote: String,
        branch: String,
        relation: String,
    },
    /// No name given and the current branch is not of the kind.
    #[error("the current branch {current:?} is not a {kind} branch (they start with {prefix:?})")]
    NotOnKind {
        current: String,
        kind: &'static str,
        prefix: String,
    },
    /// `pull` of one branch while another of the kind is checked out.
    #[error(
        "refusing to pull {branch} while on {current}: that would merge one branch into another"
    )]
    CrossBranch { branch: String, current: String },
    /// `delete` of a branch whose commits are not all in its targets.
    #[error("branch {branch:?} is not merged into {into}")]
    NotMerged { branch: String, into: String },
    /// `checkout` of a name prefix no branch has.
    #[error("no branch matches {pattern:?}")]
    NoMatch { pattern: String },
    /// `checkout` of a name prefix several branches have.
    #[error("several branches match {pattern:?}: {}", matches.join(", "))]
    Ambiguous {
        pattern: String,
        matches: Vec<String>,
    },
    /// `rebase -p`: git no longer has `--preserve-merges`.
    #[error("rebase --preserve-merges{from} is not possible: git removed it in 2.34")]
    PreserveMergesGone { from: String },
    /// A rebase or pull that git stopped (conflicts, or divergent branches).
    #[error("git {action} of {branch} stopped")]
    Stopped {
        action: &'static str,
        branch: String,
        output: String,
    },
    /// `flow config set` of an option avh does not have.
    #[error("unknown option {option:?}")]
    UnknownOption { option: String },
    /// `flow config set` with a value avh refuses.
    #[error("{option} cannot be {value:?}: {reason}")]
    BadOptionValue {
        option: String,
        value: String,
        reason: String,
    },
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Reading the repository failed.
    #[error(transparent)]
    Repo(#[from] crate::git::GitError),
}

impl FlowError {
    /// Advice for the user.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            FlowError::NotInitialized { .. } => "run `git buildkit init` (or `git buildkit init --defaults`)".into(),
            FlowError::Dirty => "commit or stash your changes first (`git status` shows them)".into(),
            FlowError::Conflict { .. } => "resolve the conflicts, `git add` the files and `git commit`, then run `git buildkit flow continue` (or `git buildkit flow abort` to undo the whole finish)".into(),
            FlowError::MergeUnresolved { .. } => "finish the merge with `git commit` (after resolving and adding the files), then run `git buildkit flow continue`".into(),
            FlowError::AbortWouldLose { .. } => "keep what you want first (a branch: `git branch NAME COMMIT`; changes: `git stash`), or drop it with `git buildkit flow abort --force`".into(),
            FlowError::RefsChanged { .. } => "someone else changed the repository meanwhile; look, then run `git buildkit flow abort` again".into(),
            FlowError::FinishInProgress { .. } => "see `git buildkit flow status`; then `git buildkit flow continue` or `git buildkit flow abort`".into(),
            FlowError::NotGreater { latest, .. } => format!("choose a version above {latest}, e.g. with --bump minor"),
            FlowError::WrongBranch { .. } => "check out the branch to finish, or name it".into(),
            FlowError::SquashConflict { from, into, .. } => format!("a squash cannot be continued after a conflict: merge {into} into {from} and resolve there, then finish again (or finish without --squash)"),
            FlowError::RebaseConflict { branch, onto, .. } => format!("rebase by hand (`git rebase {onto} {branch}`), then finish again; or finish without --rebase"),
            FlowError::NotUpToDate { branch, remote, .. } => format!("bring {branch} up to date first, e.g. `git checkout {branch} && git merge {remote}`"),
            FlowError::UnusualBase { branch, .. } => format!("finish it with gitflow-avh (`git flow {} finish`), or merge it by hand", branch.split('/').next().unwrap_or("release")),
            FlowError::NoRemote { remote } => format!("add it (`git remote add {remote} URL`) or name the remote to use: `git config gitflow.origin NAME`"),
            FlowError::NoRemoteBranch { .. } => "publish it from the clone that has it, or check the name (`git branch -r` lists the remote's branches)".into(),
            FlowError::RemoteBranchExists { branch, remote, relation } => {
                let name = branch.rsplit('/').next().unwrap_or(branch);
                if relation.contains("diverged") {
                    format!("bring the two together first: `git pull --rebase {remote} {branch}` (or the flow's `pull -r {remote} {name}`), then `git push`")
                } else if relation.contains("ahead") {
                    format!("take its commits first: `git pull {remote} {branch}`")
                } else {
                    format!("it is published already: `git push` updates it; to replace it, delete it first (`git push {remote} :{branch}`)")
                }
            }
            FlowError::OtherKind { kind, .. } => format!("use `git buildkit {kind} ...` for it"),
            FlowError::NotOnKind { .. } => "name the branch, or check out one of the kind".into(),
            FlowError::CrossBranch { branch, .. } => format!("check out {branch} first (or name the current branch)"),
            FlowError::NotMerged { .. } => "use -f (--force) to delete it anyway".into(),
            FlowError::NoMatch { .. } => "`git branch --list` shows the local branches".into(),
            FlowError::Ambiguous { .. } => "give more of the name".into(),
            FlowError::PreserveMergesGone { .. } => "rebase without -p, or keep the merges with `git rebase --rebase-merges BASE` on the branch".into(),
            FlowError::Stopped { action: "rebase", .. } => "resolve the conflicts, `git add` the files and `git rebase --continue` (or `git rebase --abort` to go back)".into(),
            FlowError::Stopped { .. } => "see git's message above; with divergent branches, `pull -r` rebases instead of merging".into(),
            FlowError::UnknownOption { .. } => "options: master, develop, feature, bugfix, release, hotfix, support, versiontagprefix, allowmultihotfix".into(),
            _ => return None,
        })
    }
}
