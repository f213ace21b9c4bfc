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
pub use super::plan::FinishOptions;
use super::plan::{plan, Found};
use super::settings::FlowSettings;
use super::state::{FastForward, FinishState, Step, TagKind, TagPipeline};
use super::{is_ancestor, rev, BranchType, FlowError};
use crate::git::{self, Untracked};
use crate::progress::Listener;

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

fn current_branch(settings: &FlowSettings) -> Result<String, FlowError> {
    super::branch::current_branch(settings).ok_or_else(|| FlowError::WrongBranch {
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

/// avh's remote checks of a finish: the branch is fetched when the remote
/// has it, `fetch` fetches `bases` too, and then each of them must not be
/// behind its remote-tracking branch nor have diverged from it (avh's
/// `require_branches_equal`; ahead is fine). Returns whether the remote
/// has the branch.
fn check_remote(
    settings: &FlowSettings,
    branch: &str,
    bases: &[&str],
    options: &FinishOptions,
) -> Result<bool, FlowError> {
    let dir = &settings.workdir;
    let origin = &settings.origin;
    let remote_ref = |name: &str| format!("refs/remotes/{origin}/{name}");
    let configured = super::branch::require_remote(settings, origin).is_ok();
    if !configured
        && (options.fetch
            || options.push
            || options.push_main
            || options.push_develop
            || options.push_tag)
    {
        return Err(FlowError::NoRemote {
            remote: origin.clone(),
        });
    }
    let on_remote = configured && rev(dir, &remote_ref(branch)).is_some();
    let mut fetch: Vec<&str> = Vec::new();
    if on_remote {
        fetch.push(branch);
    }
    if options.fetch {
        fetch.extend(
            bases
                .iter()
                .copied()
                .filter(|b| rev(dir, &remote_ref(b)).is_some()),
        );
    }
    if !fetch.is_empty() {
        let mut args = vec!["fetch", "--quiet", origin.as_str()];
        args.extend(fetch);
        git::text(dir, &args)?;
    }
    for name in std::iter::once(&branch).chain(bases) {
        let (local, remote) = (format!("refs/heads/{name}"), remote_ref(name));
        if rev(dir, &remote).is_none() || rev(dir, &local).is_none() {
            continue;
        }
        let state = match super::divergence(dir, &local, &remote)? {
            (_, 0) => continue,
            (0, _) => "behind",
            _ => "diverged from",
        };
        return Err(FlowError::NotUpToDate {
            branch: (*name).to_owned(),
            state,
            remote: format!("{origin}/{name}"),
        });
    }
    Ok(on_remote)
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
    /// Whether the remote has the branch too.
    on_remote: bool,
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
    let plan = plan(
        settings,
        kind,
        &checked.branch,
        &checked.found,
        checked.on_remote,
        options,
    );
    // A squash that would conflict is refused before anything changes:
    // git keeps no merge state for it to continue from.
    for step in &plan.steps {
        if let Step::Squash { from, into, .. } = step {
            let files = predict_conflicts(settings, into, from);
            if !files.is_empty() {
                return Err(FlowError::SquashConflict {
                    from: from.clone(),
                    into: into.clone(),
                    files: files.join(", "),
                });
            }
        }
    }
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
/// finish in progress, a finishable branch, a clean work tree, main,
/// develop, the branch and its base present, the branch and its bases not
/// behind the remote ([`check_remote`]); for a release or hotfix a semver
/// name, a new tag and version files carrying the version.
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
    super::branch::require_clean(settings)?;
    for name in [&branch, &settings.main, &settings.develop] {
        require_branch(settings, name)?;
    }
    let short = &branch[prefix.len()..];
    let (found, on_remote) = if kind.is_versioned() {
        // avh finishes a release or hotfix started elsewhere into that base
        // alone; we do not yet, and say so before anything changes.
        let usual = match kind {
            BranchType::Hotfix => &settings.main,
            _ => &settings.develop,
        };
        if let Some(base) = settings.recorded_base(&branch).filter(|b| b != usual) {
            return Err(FlowError::UnusualBase {
                branch: branch.clone(),
                base: base.to_owned(),
            });
        }
        let bases = [settings.main.as_str(), settings.develop.as_str()];
        let on_remote = check_remote(settings, &branch, &bases, options)?;
        let found = check_versioned(settings, kind, &branch, short, options)?;
        (found, on_remote)
    } else {
        let base = super::branch::base_of(settings, &branch);
        require_branch(settings, &base)?;
        let on_remote = check_remote(settings, &branch, &[&base], options)?;
        let range = format!("{base}..{branch}");
        let commits = git::text(&settings.workdir, &["rev-list", "--count", &range])?;
        let found = Found::Topic {
            commits_ahead: commits.parse().unwrap_or(0),
            base,
        };
        (found, on_remote)
    };
    Ok(Checked {
        branch,
        head,
        found,
        on_remote,
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
    let tag = match &options.tag_name {
        Some(name) => {
            let tag = format!("{}{name}", settings.version_tag);
            // Never an option to git tag (`-T=--force`).
            let valid = !name.is_empty()
                && !tag.starts_with('-')
                && git::text(
                    &settings.workdir,
                    &["check-ref-format", &format!("refs/tags/{tag}")],
                )
                .is_ok();
            if !valid {
                return Err(FlowError::BadName { name: tag });
            }
            tag
        }
        None => settings.scheme().tag_name(&version),
    };
    if !options.no_tag && rev(&settings.workdir, &format!("refs/tags/{tag}")).is_some() {
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
    let message = match (&options.message, &options.message_file) {
        (Some(_), Some(_)) => return Err(FlowError::MessageTwice),
        (Some(message), None) => avh::filter(
            settings,
            kind,
            avh::Filter::FinishTagMessage,
            message,
            &[&tag],
        )?,
        // As `git tag -F`: the file as it is (avh runs no filter on it).
        (None, Some(path)) => {
            let path = settings.workdir.join(path);
            std::fs::read_to_string(&path).map_err(|source| FlowError::Io { path, source })?
        }
        (None, None) => avh::filter(settings, kind, avh::Filter::FinishTagMessage, &tag, &[&tag])?,
    };
    Ok(Found::Versioned {
        tag_name: tag.clone(),
        tag: (!options.no_tag).then_some(tag),
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
            // A rebase is a finish's first step and leaves nothing behind
            // when it fails: nothing is in progress, nothing to abort.
            Err(e @ FlowError::RebaseConflict { .. }) if state.done == 0 => {
                let _ = git::text(
                    &settings.workdir,
                    &["checkout", "--quiet", &state.original_head],
                );
                FinishState::clear(&path)?;
                return Err(e);
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
        Step::Squash { from, into, info } => squash(settings, from, into, info.as_deref()),
        Step::Rebase {
            branch,
            onto,
            rebase_merges,
        } => rebase(dir, branch, onto, *rebase_merges),
        Step::Tag {
            tag,
            at,
            message,
            sign,
            pipeline,
            signing_key,
        } => make_tag(
            dir,
            tag,
            at,
            message,
            (*sign, signing_key.as_deref()),
            *pipeline,
        ),
        Step::DeleteBranch { branch, force } => delete_branch(dir, branch, *force),
        Step::Push { remote, refs } => push(dir, remote, refs),
        Step::DeleteRemoteBranch { remote, branch } => {
            // Already gone (a re-run, or someone else deleted it): done.
            if rev(dir, &format!("refs/remotes/{remote}/{branch}")).is_some() {
                git::text(
                    dir,
                    &["push", "--quiet", remote, &format!(":refs/heads/{branch}")],
                )?;
            }
            Ok(())
        }
        Step::ForgetBase { branch } => {
            super::branch::remove_base_section(settings, branch);
            Ok(())
        }
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

/// Squashes `from` into one commit on `into`, unless a re-run finds
/// nothing left to commit. A conflict (which the checks did not predict)
/// is undone (`git merge --abort`'s equivalent for a squash, `git reset
/// --merge`) and reported: git keeps no merge state to continue from.
fn squash(
    settings: &FlowSettings,
    from: &str,
    into: &str,
    info: Option<&str>,
) -> Result<(), FlowError> {
    let dir = &settings.workdir;
    git::text(dir, &["checkout", "--quiet", into])?;
    let (code, _, _) = git::git(dir)
        .args(["merge", "--squash", "--quiet", from])
        .output_with_code()?;
    if code != 0 {
        let files = git::text(dir, &["diff", "--name-only", "--diff-filter=U"])?;
        git::text(dir, &["reset", "--quiet", "--merge"])?;
        return Err(FlowError::SquashConflict {
            from: from.to_owned(),
            into: into.to_owned(),
            files: files.lines().collect::<Vec<_>>().join(", "),
        });
    }
    let staged = git::git(dir)
        .args(["diff", "--cached", "--quiet"])
        .output_with_code()?
        .0
        != 0;
    if !staged {
        return Ok(());
    }
    if let Some(line) = info {
        // avh's gitflow_create_squash_message, as its SQUASH_MSG.
        let log = git::text(
            dir,
            &[
                "log",
                "--no-merges",
                "--pretty=medium",
                &format!("^{into}"),
                from,
            ],
        )?;
        let text = format!("Squashed commit of the following:\n\n{line}\n\n{log}\n");
        let path = settings.git_dir.join("SQUASH_MSG");
        std::fs::write(&path, text).map_err(|source| FlowError::Io { path, source })?;
    }
    // git's own squash message (or avh's, above), as `git commit` offers it.
    if let Err(e) = git::text(dir, &["commit", "--quiet", "--no-edit"]) {
        // A hook or the signing refused: leave no staged squash behind.
        let _ = git::text(dir, &["reset", "--quiet", "--merge"]);
        return Err(e.into());
    }
    Ok(())
}

/// Rebases `branch` onto `onto`; a conflict aborts the rebase (the branch
/// stays where it was) and is reported.
fn rebase(dir: &Path, branch: &str, onto: &str, rebase_merges: bool) -> Result<(), FlowError> {
    let mut args = vec!["rebase", "--quiet"];
    if rebase_merges {
        args.push("--rebase-merges");
    }
    args.extend([onto, branch]);
    let (code, _, stderr) = git::git(dir).args(&args).output_with_code()?;
    if code == 0 {
        return Ok(());
    }
    let files = git::text(dir, &["diff", "--name-only", "--diff-filter=U"]).unwrap_or_default();
    let _ = git::text(dir, &["rebase", "--abort"]);
    Err(FlowError::RebaseConflict {
        branch: branch.to_owned(),
        onto: onto.to_owned(),
        detail: if files.is_empty() {
            stderr.trim().to_owned()
        } else {
            format!(
                "conflicts in {}",
                files.lines().collect::<Vec<_>>().join(", ")
            )
        },
    })
}

/// Creates the annotated (or signed, with the given key or git's) tag,
/// unless a re-run finds it made.
fn make_tag(
    dir: &Path,
    tag: &str,
    at: &str,
    message: &str,
    (kind, key): (TagKind, Option<&str>),
    pipeline: TagPipeline,
) -> Result<(), FlowError> {
    if rev(dir, &format!("refs/tags/{tag}")).is_some() {
        return Ok(());
    }
    let mut cmd = git::git(dir).arg("tag").arg(match kind {
        TagKind::Annotated => "-a",
        TagKind::Signed => "-s",
    });
    if let Some(key) = key {
        cmd = cmd.args(["-u", key]);
    }
    let mut cmd = cmd.args(["-m", message, tag, at]);
    if pipeline == TagPipeline::Skip {
        cmd = cmd.env("BUILDKIT_NO_PIPELINE", "1");
    }
    cmd.output()?;
    Ok(())
}

/// Deletes the finished branch (`git branch -d`: only when merged; `-D` when `force`).
/// The branch checked out is the last one merged into; `git branch -d`
/// would also refuse a branch its remote-tracking branch lacks (a
/// published branch the finish did not push), which the finish merged all
/// the same: merged into HEAD is what counts, as for avh's `-d` after its
/// remote delete.
fn delete_branch(dir: &Path, branch: &str, force: bool) -> Result<(), FlowError> {
    let Some(sha) = rev(dir, &format!("refs/heads/{branch}")) else {
        return Ok(());
    };
    let flag = if force || is_ancestor(dir, &sha, "HEAD") {
        "-D"
    } else {
        "-d"
    };
    git::text(dir, &["branch", flag, branch])?;
    Ok(())
}

/// Pushes the branches and tag to the remote.
fn push(dir: &Path, remote: &str, refs: &[String]) -> Result<(), FlowError> {
    // All or nothing on the remote: never develop and the tag without main.
    // Full refspecs: a name is never read as `+force` or `:delete`.
    let specs: Vec<String> = refs
        .iter()
        .map(|r| {
            let full = if r.starts_with("refs/") {
                r.clone()
            } else {
                format!("refs/heads/{r}")
            };
            format!("{full}:{full}")
        })
        .collect();
    let mut args = vec!["push", "--atomic", remote];
    args.extend(specs.iter().map(String::as_str));
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
            super::branch::require_clean(settings)?;
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
    // What reached the remote stays there: an abort would leave it behind.
    let mut lost: Vec<String> = state.steps[..state.done.min(state.steps.len())]
        .iter()
        .filter_map(|step| match step {
            Step::Push { remote, refs } => Some(format!(
                "its agreement with {remote} ({} were pushed there, and an abort cannot take a push back)",
                refs.join(" ")
            )),
            Step::DeleteRemoteBranch { remote, branch } => Some(format!(
                "branch {branch} on {remote} (deleted there, and an abort cannot bring it back)"
            )),
            _ => None,
        })
        .collect();
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
