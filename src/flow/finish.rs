//! Finishing a branch: plan, check, then run the steps, stopping cleanly at a
//! conflict so that `flow continue` and `flow abort` can pick up.
//!
//! The plan matches gitflow-avh's history shape: `--no-ff` merges (a
//! one-commit feature fast-forwards, as avh does), the tag on the merge
//! commit of the main branch, and the tag (not the branch) merged back into
//! develop — or into the open release branch, for a hotfix. Before anything
//! changes, both merges are tried in memory (`git merge-tree`) and predicted
//! conflicts are reported.

use std::collections::BTreeMap;

use super::settings::FlowSettings;
use super::state::{FinishState, Step};
use super::{avh, git_text, rev, BranchType, FlowError};
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
    if git_text(
        &settings.workdir,
        &["status", "--porcelain", "--untracked-files=no"],
    )?
    .is_empty()
    {
        Ok(())
    } else {
        Err(FlowError::Dirty)
    }
}

fn current_branch(settings: &FlowSettings) -> Result<String, FlowError> {
    git_text(
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

/// `git fetch` the remote, then refuse when a local branch is behind its
/// remote-tracking branch or has diverged from it (avh's `require_branches_equal`).
fn require_up_to_date(settings: &FlowSettings, branches: &[&str]) -> Result<(), FlowError> {
    git_text(&settings.workdir, &["fetch", "--quiet", &settings.origin])?;
    for branch in branches {
        let Some(remote) = rev(
            &settings.workdir,
            &format!("refs/remotes/{}/{branch}", settings.origin),
        ) else {
            continue;
        };
        let Some(local) = rev(&settings.workdir, &format!("refs/heads/{branch}")) else {
            continue;
        };
        if local == remote {
            continue;
        }
        let ancestor = |a: &str, b: &str| {
            crate::git::git(&settings.workdir)
                .args(["merge-base", "--is-ancestor", a, b])
                .output()
                .is_ok()
        };
        if !ancestor(&remote, &local) {
            let state = if ancestor(&local, &remote) {
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
    }
    Ok(())
}

/// Files a merge of `from` into `into` would conflict on, computed in memory.
fn predict_conflicts(settings: &FlowSettings, into: &str, from: &str) -> Vec<String> {
    let Ok((code, stdout, _)) = crate::git::git(&settings.workdir)
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

/// Finishes the flow branch `name` of `kind` (the current branch when `name` is None).
pub fn finish(
    settings: &FlowSettings,
    kind: BranchType,
    name: Option<&str>,
    options: &FinishOptions,
    listener: &dyn Listener,
) -> Result<Outcome, FlowError> {
    if let Some(state) = FinishState::load(&settings.state_path())? {
        return Err(FlowError::FinishInProgress {
            kind: state.kind.name(),
            branch: state.branch,
        });
    }
    let prefix = settings.prefix(kind).to_owned();
    let branch = match name {
        Some(n) if n.starts_with(&prefix) => n.to_owned(),
        Some(n) => format!("{prefix}{n}"),
        None => {
            let current = current_branch(settings)?;
            if !current.starts_with(&prefix) {
                return Err(FlowError::WrongBranch {
                    branch: current,
                    kind: kind.name(),
                    prefix,
                });
            }
            current
        }
    };
    if kind == BranchType::Support {
        return Err(FlowError::WrongBranch {
            branch,
            kind: "finishable",
            prefix: "support branches are never finished".into(),
        });
    }
    let short = branch[prefix.len()..].to_owned();
    require_clean(settings)?;
    if options.fetch {
        require_up_to_date(settings, &[&branch, &settings.main, &settings.develop])?;
    }
    let head = current_branch(settings)?;
    let branch_sha = require_branch(settings, &branch)?;
    let main_sha = require_branch(settings, &settings.main)?;
    let develop_sha = require_branch(settings, &settings.develop)?;

    let mut original_refs = BTreeMap::new();
    original_refs.insert(format!("refs/heads/{branch}"), Some(branch_sha));
    original_refs.insert(format!("refs/heads/{}", settings.main), Some(main_sha));
    original_refs.insert(
        format!("refs/heads/{}", settings.develop),
        Some(develop_sha),
    );

    let mut steps = Vec::new();
    let mut predicted = Vec::new();
    let mut tag = None;
    let origin = settings.origin.clone();
    let hook_args: Vec<String>;
    if kind.is_versioned() {
        let version = semver::Version::parse(&short).map_err(|_| FlowError::NotSemver {
            version: short.clone(),
        })?;
        let tag_name = settings.scheme().tag_name(&version);
        if rev(&settings.workdir, &format!("refs/tags/{tag_name}")).is_some() {
            return Err(FlowError::TagExists { tag: tag_name });
        }
        super::version_files::check_files(
            &settings.workdir,
            &settings.version_files,
            &version.to_string(),
            &branch,
        )?;
        original_refs.insert(format!("refs/tags/{tag_name}"), None);
        // A hotfix goes back into the open release branch when there is one (avh).
        let back_into = if kind == BranchType::Hotfix {
            open_branches(settings, BranchType::Release)?
                .into_iter()
                .next()
                .unwrap_or_else(|| settings.develop.clone())
        } else {
            settings.develop.clone()
        };
        if back_into != settings.develop {
            original_refs.insert(
                format!("refs/heads/{back_into}"),
                rev(&settings.workdir, &format!("refs/heads/{back_into}")),
            );
        }
        predicted.extend(predict_conflicts(settings, &settings.main, &branch));
        predicted.extend(predict_conflicts(settings, &back_into, &branch));
        let message = options.message.clone().unwrap_or_else(|| tag_name.clone());
        let message = avh::filter(
            settings,
            &format!("{}-finish-tag-message", kind.name()),
            &message,
            &[&tag_name],
        )?;
        hook_args = vec![tag_name.clone(), origin.clone(), branch.clone()];
        steps.push(Step::Merge {
            from: branch.clone(),
            into: settings.main.clone(),
            ff: false,
        });
        steps.push(Step::Tag {
            tag: tag_name.clone(),
            at: settings.main.clone(),
            message,
            sign: options.sign,
            no_pipeline: options.no_pipeline,
        });
        steps.push(Step::Merge {
            from: tag_name.clone(),
            into: back_into.clone(),
            ff: false,
        });
        if options.push {
            steps.push(Step::Push {
                remote: origin.clone(),
                refs: vec![
                    settings.main.clone(),
                    back_into.clone(),
                    format!("refs/tags/{tag_name}"),
                ],
            });
        }
        tag = Some(tag_name);
    } else {
        predicted.extend(predict_conflicts(settings, &settings.develop, &branch));
        let commits = git_text(
            &settings.workdir,
            &[
                "rev-list",
                "--count",
                &format!("{}..{branch}", settings.develop),
            ],
        )?;
        hook_args = vec![short.clone(), origin.clone(), branch.clone()];
        steps.push(Step::Merge {
            from: branch.clone(),
            into: settings.develop.clone(),
            ff: !options.no_ff && commits == "1",
        });
        if options.push {
            steps.push(Step::Push {
                remote: origin.clone(),
                refs: vec![settings.develop.clone()],
            });
        }
    }
    if !options.keep {
        steps.push(Step::DeleteBranch {
            branch: branch.clone(),
        });
    }
    steps.push(Step::PostHook {
        kind: kind.name().into(),
        action: "finish".into(),
        args: hook_args.clone(),
    });
    steps.push(Step::Checkout {
        branch: settings.develop.clone(),
    });

    let args: Vec<&str> = hook_args.iter().map(String::as_str).collect();
    avh::pre(settings, kind.name(), "finish", &args)?;
    let state = FinishState {
        kind,
        branch: branch.clone(),
        tag: tag.clone(),
        original_head: head,
        original_refs,
        steps,
        done: 0,
        stopped_at: None,
        refs_at_stop: BTreeMap::new(),
    };
    state.save(&settings.state_path())?;
    for conflict in &predicted {
        listener.warn(&format!("predicted conflict: {conflict}"));
    }
    let mut outcome = Outcome {
        branch,
        tag,
        steps: Vec::new(),
        predicted_conflicts: predicted,
    };
    run(settings, state, &mut outcome, listener)?;
    Ok(outcome)
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

fn execute(settings: &FlowSettings, step: &Step) -> Result<(), FlowError> {
    let dir = &settings.workdir;
    match step {
        Step::Merge { from, into, ff } => {
            git_text(dir, &["checkout", "--quiet", into])?;
            let from_sha = rev(dir, from).ok_or_else(|| FlowError::NoBranch {
                branch: from.clone(),
            })?;
            // Already merged (a re-run after a crash): nothing to do, as avh.
            let merged = crate::git::git(dir)
                .args(["merge-base", "--is-ancestor", &from_sha, "HEAD"])
                .output()
                .is_ok();
            if merged {
                return Ok(());
            }
            let mode = if *ff { "--ff" } else { "--no-ff" };
            let (code, _, stderr) = crate::git::git(dir)
                .args(["merge", mode, "--no-edit", from])
                .env("GIT_MERGE_AUTOEDIT", "no")
                .output_with_code()
                .map_err(FlowError::Git)?;
            if code == 0 {
                return Ok(());
            }
            if settings.git_dir.join("MERGE_HEAD").exists() {
                let files = git_text(dir, &["diff", "--name-only", "--diff-filter=U"])?;
                return Err(FlowError::Conflict {
                    from: from.clone(),
                    into: into.clone(),
                    files: files.lines().collect::<Vec<_>>().join(", "),
                });
            }
            Err(FlowError::MergeUnresolved {
                into: into.clone(),
                detail: stderr.trim().to_owned(),
            })
        }
        Step::Tag {
            tag,
            at,
            message,
            sign,
            no_pipeline,
        } => {
            if rev(dir, &format!("refs/tags/{tag}")).is_some() {
                return Ok(());
            }
            let mut cmd = crate::git::git(dir)
                .arg("tag")
                .arg(if *sign { "-s" } else { "-a" })
                .args(["-m", message, tag, at]);
            if *no_pipeline {
                cmd = cmd.env("BUILDKIT_NO_PIPELINE", "1");
            }
            cmd.output().map_err(FlowError::Git)?;
            Ok(())
        }
        Step::DeleteBranch { branch } => {
            if rev(dir, &format!("refs/heads/{branch}")).is_some() {
                git_text(dir, &["branch", "-d", branch])?;
            }
            Ok(())
        }
        Step::Push { remote, refs } => {
            let mut args = vec!["push", remote.as_str()];
            args.extend(refs.iter().map(String::as_str));
            git_text(dir, &args)?;
            Ok(())
        }
        Step::PostHook { kind, action, args } => {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            avh::post(settings, kind, action, &args);
            Ok(())
        }
        Step::Checkout { branch } => {
            git_text(dir, &["checkout", "--quiet", branch])?;
            Ok(())
        }
    }
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
            let concluded = crate::git::git(&settings.workdir)
                .args([
                    "merge-base",
                    "--is-ancestor",
                    &from_sha,
                    &format!("refs/heads/{into}"),
                ])
                .output()
                .is_ok();
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
    let merging = settings.git_dir.join("MERGE_HEAD").exists();
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
    if merging {
        git_text(dir, &["merge", "--quit"])?;
    }
    git_text(
        dir,
        &["checkout", "--quiet", "--force", &state.original_head],
    )?;
    FinishState::clear(&settings.state_path())?;
    Ok(state)
}

/// A ref's own value (a tag's object, not its commit).
fn raw_rev(dir: &std::path::Path, name: &str) -> Option<String> {
    git_text(dir, &["rev-parse", "--verify", "--quiet", name])
        .ok()
        .filter(|s| !s.is_empty())
}

/// What an abort would lose of a ref moved since the stop, as a phrase.
fn describe_move(
    dir: &std::path::Path,
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
    let commits = git_text(dir, &["log", "--first-parent", "--format=%h %s", &range])?;
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

/// Tracked files with uncommitted changes, sorted; while a merge is
/// stopped, the files it brings (`HEAD...MERGE_HEAD`) are left out.
fn uncommitted(dir: &std::path::Path, merging: bool) -> Result<Vec<String>, FlowError> {
    let status = git_text(
        dir,
        &["status", "--porcelain=v1", "-z", "--untracked-files=no"],
    )?;
    let mut paths = Vec::new();
    let mut entries = status.split('\0').filter(|e| e.len() > 3);
    while let Some(entry) = entries.next() {
        paths.push(entry[3..].to_owned());
        if matches!(entry.as_bytes()[0], b'R' | b'C') {
            // The source of a rename or copy follows as its own entry.
            entries.next();
        }
    }
    if merging {
        let brought = git_text(dir, &["diff", "--name-only", "-z", "HEAD...MERGE_HEAD"])?;
        let brought: Vec<&str> = brought.split('\0').collect();
        paths.retain(|p| !brought.contains(&p.as_str()));
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
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
    let out = git_text(
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
