//! Finishing a branch: check, plan ([`super::plan`], pure), then run the
//! steps one function each, stopping cleanly at a conflict so that
//! `flow continue` and `flow abort` can pick up.
//!
//! Before anything changes, the plan's merges are tried in memory (`git
//! merge-tree --write-tree`, hence [`crate::git::MIN_VERSION`]) and
//! predicted conflicts are reported.

use std::collections::BTreeMap;
use std::path::Path;

use super::avh::{self, Action};
use super::plan::{plan, Found};
use super::settings::FlowSettings;
use super::state::{FastForward, FinishState, Step, TagKind, TagPipeline};
use super::{rev, BranchType, FlowError};
use crate::git::{self, Untracked};
use crate::progress::Listener;

/// How a finish should behave.
#[derive(Debug, Clone, Default)]
pub struct FinishOptions {
    /// The tag message (default: `<type> <version>`).
    pub message: Option<String>,
    /// Sign the tag (`git tag -s`).
    pub sign: bool,
    /// Push main, develop and the new tag to the remote.
    pub push: bool,
    /// Keep the branch after finishing.
    pub keep: bool,
    /// Tell the tag hook not to start the pipeline.
    pub no_pipeline: bool,
    /// Always create a merge commit (features fast-forward one commit otherwise).
    pub no_ff: bool,
    /// Fetch the remote first and refuse when a branch is behind it.
    pub fetch: bool,
}

/// What a finish (or continue) did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Outcome {
    /// The branch finished.
    pub branch: String,
    /// The tag made.
    pub tag: Option<String>,
    /// Steps run by this invocation.
    pub steps: Vec<String>,
    /// Conflicts predicted before starting (the finish still ran).
    pub predicted_conflicts: Vec<String>,
}

fn require_clean(settings: &FlowSettings) -> Result<(), FlowError> {
    // Tracked files only: see `Untracked::Ignored`.
    if git::is_dirty(&settings.workdir, Untracked::Ignored)? {
        Err(FlowError::Dirty)
    } else {
        Ok(())
    }
}

fn current_branch(settings: &FlowSettings) -> Result<String, FlowError> {
    git::text(
        &settings.workdir,
        &["symbolic-ref", "--quiet", "--short", "HEAD"],
    )
    .map_err(|_| FlowError::WrongBranch {
        branch: "(detached HEAD)".into(),
        kind: "flow",
        prefix: String::new(),
    })
}

fn require_branch(settings: &FlowSettings, branch: &str) -> Result<String, FlowError> {
    rev(&settings.workdir, &format!("refs/heads/{branch}")).ok_or_else(|| FlowError::NoBranch {
        branch: branch.to_owned(),
    })
}

/// Whether commit `a` is an ancestor of (or is) `b`.
fn is_ancestor(dir: &Path, a: &str, b: &str) -> bool {
    git::git(dir)
        .args(["merge-base", "--is-ancestor", a, b])
        .output()
        .is_ok()
}

/// `git fetch` the remote, then refuse when a local branch is behind its
/// remote-tracking branch or has diverged from it (avh's `require_branches_equal`).
fn require_up_to_date(settings: &FlowSettings, branches: &[&str]) -> Result<(), FlowError> {
    let dir = &settings.workdir;
    git::text(dir, &["fetch", "--quiet", &settings.origin])?;
    for branch in branches {
        let Some(remote) = rev(dir, &format!("refs/remotes/{}/{branch}", settings.origin)) else {
            continue;
        };
        let Some(local) = rev(dir, &format!("refs/heads/{branch}")) else {
            continue;
        };
        if local == remote || is_ancestor(dir, &remote, &local) {
            continue;
        }
        let state = if is_ancestor(dir, &local, &remote) {
            "behind"
        } else {
            "diverged from"
        };
        return Err(FlowError::NotUpToDate {
            branch: (*branch).to_owned(),
            state,
            remote: format!("{}/{branch}", settings.origin),
        });
    }
    Ok(())
}

/// Files a merge of `from` into `into` would conflict on, computed in memory.
fn predict_conflicts(settings: &FlowSettings, into: &str, from: &str) -> Vec<String> {
    let Ok((code, stdout, _)) = git::git(&settings.workdir)
        .args([
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            into,
            from,
        ])
        .output_with_code()
    else {
        return Vec::new();
    };
    if code != 1 {
        return Vec::new();
    }
    String::from_utf8_lossy(&stdout)
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{from} into {into}: {l}"))
        .collect()
}

/// What the checks established before anything changes.
struct Checked {
    /// The branch to finish, with its prefix.
    branch: String,
    /// The branch checked out now.
    head: String,
    /// What the plan needs to know about the branch.
    found: Found,
}

/// Finishes the flow branch `name` of `kind` (the current branch when `name`
/// is None): checks, a plan ([`plan`]), the pre-hook, then the steps, each
/// recorded in the state file before the next one runs.
pub fn finish(
    settings: &FlowSettings,
    kind: BranchType,
    name: Option<&str>,
    options: &FinishOptions,
    listener: &dyn Listener,
) -> Result<Outcome, FlowError> {
    let checked = check(settings, kind, name, options)?;
    let plan = plan(settings, kind, &checked.branch, &checked.found, options);
    let predicted: Vec<String> = plan
        .predict
        .iter()
        .flat_map(|(into, from)| predict_conflicts(settings, into, from))
        .collect();
    let original_refs = plan
        .refs
        .iter()
        .map(|name| (name.clone(), rev(&settings.workdir, name)))
        .collect();
    let args: Vec<&str> = plan.hook_args.iter().map(String::as_str).collect();
    avh::pre(settings, kind, Action::Finish, &args)?;
    let state = FinishState {
        kind,
        branch: checked.branch.clone(),
        tag: plan.tag.clone(),
        original_head: checked.head,
        original_refs,
        steps: plan.steps,
        done: 0,
        stopped_at: None,
        refs_at_stop: BTreeMap::new(),
    };
    state.save(&settings.state_path())?;
    for conflict in &predicted {
        listener.warn(&format!("predicted conflict: {conflict}"));
    }
    let mut outcome = Outcome {
        branch: checked.branch,
        tag: plan.tag,
        steps: Vec::new(),
        predicted_conflicts: predicted,
    };
    run(settings, state, &mut outcome, listener)?;
    Ok(outcome)
}

/// Every check of a finish, in order, and the facts the plan needs: no
/// finish in progress, a finishable branch, a clean work tree, branches up
/// to date (with `fetch`), main, develop and the branch present; for a
/// release or hotfix a semver name, a new tag and version files carrying
/// the version.
fn check(
    settings: &FlowSettings,
    kind: BranchType,
    name: Option<&str>,
    options: &FinishOptions,
) -> Result<Checked, FlowError> {
    if let Some(state) = FinishState::load(&settings.state_path())? {
        return Err(FlowError::FinishInProgress {
            kind: state.kind.name(),
            branch: state.branch,
        });
    }
    let prefix = settings.prefix(kind).to_owned();
    let head = current_branch(settings)?;
    let branch = match name {
        Some(n) if n.starts_with(&prefix) => n.to_owned(),
        Some(n) => format!("{prefix}{n}"),
        None if head.starts_with(&prefix) => head.clone(),
        None => {
            return Err(FlowError::WrongBranch {
                branch: head,
                kind: kind.name(),
                prefix,
            })
        }
    };
    if kind == BranchType::Support {
        return Err(FlowError::WrongBranch {
            branch,
            kind: "finishable",
            prefix: "support branches are never finished".into(),
        });
    }
    require_clean(settings)?;
    if options.fetch {
        require_up_to_date(settings, &[&branch, &settings.main, &settings.develop])?;
    }
    for name in [&branch, &settings.main, &settings.develop] {
        require_branch(settings, name)?;
    }
    let short = &branch[prefix.len()..];
    let found = if kind.is_versioned() {
        check_versioned(settings, kind, &branch, short, options)?
    } else {
        let range = format!("{}..{branch}", settings.develop);
        let commits = git::text(&settings.workdir, &["rev-list", "--count", &range])?;
        Found::Topic {
            commits_ahead: commits.parse().unwrap_or(0),
        }
    };
    Ok(Checked {
        branch,
        head,
        found,
    })
}

/// The checks of a release or hotfix: its name is a version whose tag does
/// not exist yet, and its version files carry that version. Runs the
/// tag-message filter.
fn check_versioned(
    settings: &FlowSettings,
    kind: BranchType,
    branch: &str,
    short: &str,
    options: &FinishOptions,
) -> Result<Found, FlowError> {
    let version = semver::Version::parse(short).map_err(|_| FlowError::NotSemver {
        version: short.to_owned(),
    })?;
    let tag = settings.scheme().tag_name(&version);
    if rev(&settings.workdir, &format!("refs/tags/{tag}")).is_some() {
        return Err(FlowError::TagExists { tag });
    }
    super::version_files::check_files(
        &settings.workdir,
        &settings.version_files,
        &version.to_string(),
        branch,
    )?;
    let open_release = match kind {
        BranchType::Hotfix => open_branches(settings, BranchType::Release)?
            .into_iter()
            .next(),
        _ => None,
    };
    let message = options.message.clone().unwrap_or_else(|| tag.clone());
    let message = avh::filter(
        settings,
        kind,
        avh::Filter::FinishTagMessage,
        &message,
        &[&tag],
    )?;
    Ok(Found::Versioned {
        tag,
        message,
        open_release,
    })
}

/// Runs the remaining steps, saving progress after each.
fn run(
    settings: &FlowSettings,
    mut state: FinishState,
    outcome: &mut Outcome,
    listener: &dyn Listener,
) -> Result<(), FlowError> {
    let path = settings.state_path();
    while state.done < state.steps.len() {
        let step = state.steps[state.done].clone();
        match execute(settings, &step) {
            Ok(()) => {
                listener.status("Done", &step.describe());
                outcome.steps.push(step.describe());
                state.done += 1;
                state.refs_at_stop = ref_values(settings, &state);
                state.save(&path)?;
            }
            Err(e @ FlowError::Conflict { .. }) => {
                state.stopped_at = Some(state.done);
                state.refs_at_stop = ref_values(settings, &state);
                state.save(&path)?;
                return Err(e);
            }
            Err(e) => {
                state.refs_at_stop = ref_values(settings, &state);
                state.save(&path)?;
                return Err(e);
            }
        }
    }
    FinishState::clear(&path)
}

/// The commit each ref of the finish points at now.
fn ref_values(settings: &FlowSettings, state: &FinishState) -> BTreeMap<String, Option<String>> {
    state
        .original_refs
        .keys()
        .map(|name| (name.clone(), rev(&settings.workdir, name)))
        .collect()
}

/// Runs one step.
fn execute(settings: &FlowSettings, step: &Step) -> Result<(), FlowError> {
    let dir = &settings.workdir;
    match step {
        Step::Merge { from, into, ff } => merge(settings, from, into, *ff),
        Step::Tag {
            tag,
            at,
            message,
            sign,
            pipeline,
        } => make_tag(dir, tag, at, message, *sign, *pipeline),
        Step::DeleteBranch { branch } => delete_branch(dir, branch),
        Step::Push { remote, refs } => push(dir, remote, refs),
        Step::PostHook { kind, action, args } => {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            avh::post(settings, *kind, *action, &args);
            Ok(())
        }
        Step::Checkout { branch } => {
            git::text(dir, &["checkout", "--quiet", branch])?;
            Ok(())
        }
    }
}

/// Merges `from` into `into` (checked out first); a conflict stops with
/// the files named, and git's merge state left for the user.
fn merge(
    settings: &FlowSettings,
    from: &str,
    into: &str,
    ff: FastForward,
) -> Result<(), FlowError> {
    let dir = &settings.workdir;
    git::text(dir, &["checkout", "--quiet", into])?;
    let from_sha = rev(dir, from).ok_or_else(|| FlowError::NoBranch {
        branch: from.to_owned(),
    })?;
    // Already merged (a re-run after a crash): nothing to do, as avh.
    if is_ancestor(dir, &from_sha, "HEAD") {
        return Ok(());
    }
    let mode = match ff {
        FastForward::Allowed => "--ff",
        FastForward::Never => "--no-ff",
    };
    let (code, _, stderr) = git::git(dir)
        .args(["merge", mode, "--no-edit", from])
        .output_with_code()?;
    if code == 0 {
        return Ok(());
    }
    if settings.git_dir.join("MERGE_HEAD").exists() {
        let files = git::text(dir, &["diff", "--name-only", "--diff-filter=U"])?;
        return Err(FlowError::Conflict {
            from: from.to_owned(),
            into: into.to_owned(),
            files: files.lines().collect::<Vec<_>>().join(", "),
        });
    }
    Err(FlowError::MergeUnresolved {
        into: into.to_owned(),
        detail: stderr.trim().to_owned(),
    })
}

/// Creates the annotated (or signed) tag, unless a re-run finds it made.
fn make_tag(
    dir: &Path,
    tag: &str,
    at: &str,
    message: &str,
    kind: TagKind,
    pipeline: TagPipeline,
) -> Result<(), FlowError> {
    if rev(dir, &format!("refs/tags/{tag}")).is_some() {
        return Ok(());
    }
    let mut cmd = git::git(dir)
        .arg("tag")
        .arg(match kind {
            TagKind::Annotated => "-a",
            TagKind::Signed => "-s",
        })
        .args(["-m", message, tag, at]);
    if pipeline == TagPipeline::Skip {
        cmd = cmd.env("BUILDKIT_NO_PIPELINE", "1");
    }
    cmd.output()?;
    Ok(())
}

/// Deletes the finished branch (`git branch -d`: only when merged).
fn delete_branch(dir: &Path, branch: &str) -> Result<(), FlowError> {
    if rev(dir, &format!("refs/heads/{branch}")).is_some() {
        git::text(dir, &["branch", "-d", branch])?;
    }
    Ok(())
}

/// Pushes the branches and tag to the remote.
fn push(dir: &Path, remote: &str, refs: &[String]) -> Result<(), FlowError> {
    let mut args = vec!["push", remote];
    args.extend(refs.iter().map(String::as_str));
    git::text(dir, &args)?;
    Ok(())
}

/// Resumes a finish stopped by a conflict, once the user has committed the merge.
pub fn continue_finish(
    settings: &FlowSettings,
    listener: &dyn Listener,
) -> Result<Outcome, FlowError> {
    let mut state =
        FinishState::load(&settings.state_path())?.ok_or(FlowError::NothingInProgress)?;
    let mut outcome = Outcome {
        branch: state.branch.clone(),
        tag: state.tag.clone(),
        ..Outcome::default()
    };
    if let Some(index) = state.stopped_at {
        if let Step::Merge { from, into, .. } = &state.steps[index] {
            if settings.git_dir.join("MERGE_HEAD").exists() {
                return Err(FlowError::MergeUnresolved {
                    into: into.clone(),
                    detail: "git still has a merge in progress (MERGE_HEAD)".into(),
                });
            }
            let from_sha = rev(&settings.workdir, from).unwrap_or_default();
            let concluded =
                is_ancestor(&settings.workdir, &from_sha, &format!("refs/heads/{into}"));
            if !concluded {
                return Err(FlowError::MergeUnresolved {
                    into: into.clone(),
                    detail: format!("{from} is not merged into {into}"),
                });
            }
            require_clean(settings)?;
            outcome.steps.push(format!(
                "{} (concluded by you)",
                state.steps[index].describe()
            ));
        }
        state.done = index + 1;
        state.stopped_at = None;
        state.save(&settings.state_path())?;
    }
    run(settings, state, &mut outcome, listener)?;
    Ok(outcome)
}

/// How `flow abort` behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct AbortOptions {
    /// Abort even when commits made since the stop, or uncommitted changes,
    /// would be lost.
    pub force: bool,
}

/// Undoes a stopped finish: every ref the finish touched back where it
/// was, the merge in progress forgotten, the original branch checked out.
///
/// It first checks what that would lose, and refuses (unless
/// `options.force`) when a branch or tag is neither where the finish left
/// it nor where it was before (someone committed since the stop, e.g. the
/// user concluded the merge), or when the work tree has uncommitted changes
/// to files the stopped merge does not bring (changes to those are its
/// conflict resolution, which an abort is meant to drop). The refs are then
/// put back in one `git update-ref --stdin` transaction that names each
/// ref's value as just read: a ref changed in between fails the whole
/// abort, and nothing is changed.
pub fn abort(settings: &FlowSettings, options: AbortOptions) -> Result<FinishState, FlowError> {
    let state = FinishState::load(&settings.state_path())?.ok_or(FlowError::NothingInProgress)?;
    let dir = &settings.workdir;
    let merging = if settings.git_dir.join("MERGE_HEAD").exists() {
        Merging::Stopped
    } else {
        Merging::No
    };
    let mut lost = Vec::new();
    for (name, original) in &state.original_refs {
        let Some(at_stop) = state.refs_at_stop.get(name) else {
            continue;
        };
        let now = rev(dir, name);
        if now != *at_stop && now != *original {
            lost.push(describe_move(
                dir,
                name,
                at_stop.as_deref(),
                now.as_deref(),
            )?);
        }
    }
    for path in uncommitted(dir, merging)? {
        lost.push(format!("the uncommitted change to {path}"));
    }
    if !lost.is_empty() && !options.force {
        return Err(FlowError::AbortWouldLose {
            branch: state.branch.clone(),
            lost,
        });
    }
    let mut script = String::new();
    for (name, original) in &state.original_refs {
        let current = raw_rev(dir, name);
        match (original, current) {
            (Some(sha), Some(old)) if *sha == old => {}
            (Some(sha), Some(old)) => script.push_str(&format!("update {name} {sha} {old}\n")),
            (Some(sha), None) => script.push_str(&format!("create {name} {sha}\n")),
            (None, Some(old)) => script.push_str(&format!("delete {name} {old}\n")),
            (None, None) => {}
        }
    }
    super::update_refs(dir, &script)?;
    if merging == Merging::Stopped {
        git::text(dir, &["merge", "--quit"])?;
    }
    git::text(
        dir,
        &["checkout", "--quiet", "--force", &state.original_head],
    )?;
    FinishState::clear(&settings.state_path())?;
    Ok(state)
}

/// A ref's own value (a tag's object, not its commit).
fn raw_rev(dir: &Path, name: &str) -> Option<String> {
    git::text(dir, &["rev-parse", "--verify", "--quiet", name])
        .ok()
        .filter(|s| !s.is_empty())
}

/// What an abort would lose of a ref moved since the stop, as a phrase.
fn describe_move(
    dir: &Path,
    name: &str,
    at_stop: Option<&str>,
    now: Option<&str>,
) -> Result<String, FlowError> {
    let what = match name.strip_prefix("refs/heads/") {
        Some(branch) => format!("branch {branch}"),
        None => format!("tag {}", name.strip_prefix("refs/tags/").unwrap_or(name)),
    };
    let Some(now) = now else {
        return Ok(format!("{what}, deleted since the finish stopped"));
    };
    let range = match at_stop {
        Some(at_stop) => format!("{at_stop}..{now}"),
        None => now.to_owned(),
    };
    // First parent: the commits made on the branch, not what a merge brought.
    let commits = git::text(dir, &["log", "--first-parent", "--format=%h %s", &range])?;
    let commits: Vec<&str> = commits.lines().collect();
    Ok(match commits.len() {
        0 => format!("{what}, moved to {now} since the finish stopped"),
        1 => format!(
            "{what}: 1 commit made since the finish stopped ({})",
            commits[0]
        ),
        n => format!(
            "{what}: {n} commits made since the finish stopped ({})",
            commits.join("; ")
        ),
    })
}

/// Tracked files with uncommitted changes, sorted (untracked files are
/// not the finish's: an abort leaves them alone); while a merge is
/// stopped, the files it brings (`HEAD...MERGE_HEAD`) are left out.
fn uncommitted(dir: &Path, merging: Merging) -> Result<Vec<String>, FlowError> {
    let mut paths = git::changed_paths(dir, Untracked::Ignored)?;
    if merging == Merging::Stopped {
        let brought = git::text(dir, &["diff", "--name-only", "-z", "HEAD...MERGE_HEAD"])?;
        let brought: Vec<&str> = brought.split('\0').collect();
        paths.retain(|p| !brought.contains(&p.as_str()));
    }
    Ok(paths)
}

/// Whether git has a merge in progress (`MERGE_HEAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merging {
    /// A merge stopped (on conflicts) and not concluded.
    Stopped,
    /// None.
    No,
}

/// The finish in progress, if any.
pub fn status(settings: &FlowSettings) -> Result<Option<FinishState>, FlowError> {
    FinishState::load(&settings.state_path())
}

/// Local branches of a kind, sorted.
pub(crate) fn open_branches(
    settings: &FlowSettings,
    kind: BranchType,
) -> Result<Vec<String>, FlowError> {
    let prefix = settings.prefix(kind);
    let out = git::text(
        &settings.workdir,
        &["for-each-ref", "--format=%(refname:short)", "refs/heads/"],
    )?;
    let mut list: Vec<String> = out
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect();
    list.sort();
    Ok(list)
}
