//! gitflow-avh's commands that read or write the remote: `publish`, `track`
//! and `pull` (git-flow-feature and its siblings, 1.12.3). Only `publish`
//! pushes (and `delete -r`, in `branch.rs`).
//!
//! Where avh's own check is broken we do what it means to do: its
//! `publish` asks for `refs/heads/<origin>/<branch>` (never there) and so
//! pushes over a published branch; we refuse, as its code intends. Its
//! `hotfix track` asks for a branch that cannot exist and always fails; ours
//! works as `feature track` does.

use super::avh::{self, Action};
use super::branch::{
    current_branch, local_exists, named, remote_tracking_exists, require_clean, require_of_kind,
    require_remote, Done,
};
use super::settings::FlowSettings;
use super::{BranchType, FlowError};
use crate::git;
use crate::process::ProcessError;

/// The first argument of a hook: the name, except for a hotfix's `publish`,
/// where avh passes the version tag.
fn hook_name(settings: &FlowSettings, kind: BranchType, action: Action, name: &str) -> String {
    if kind == BranchType::Hotfix && action == Action::Publish {
        format!("{}{name}", settings.version_tag)
    } else {
        name.to_owned()
    }
}

/// `<kind> publish [<name>]`: pushes the branch (default: the current one)
/// to the origin as a new branch, sets it as the upstream and checks the
/// branch out. Refuses a dirty tree and a branch the origin has already.
pub fn publish(
    settings: &FlowSettings,
    kind: BranchType,
    name: Option<&str>,
) -> Result<Done, FlowError> {
    let (name, branch) = named(settings, kind, name)?;
    let origin = settings.origin.as_str();
    require_clean(settings)?;
    require_of_kind(settings, kind, &branch)?;
    require_remote(settings, origin)?;
    git::text(&settings.workdir, &["fetch", "--quiet", origin])?;
    if remote_tracking_exists(settings, origin, &branch) {
        let relation = relation(settings, &branch, &format!("{origin}/{branch}"))?;
        return Err(FlowError::RemoteBranchExists {
            remote: origin.to_owned(),
            branch,
            relation,
        });
    }
    let hook = hook_name(settings, kind, Action::Publish, &name);
    let args = [hook.as_str(), origin, branch.as_str()];
    avh::pre(settings, kind, Action::Publish, &args)?;
    git::text(
        &settings.workdir,
        &[
            "push",
            "--quiet",
            "--set-upstream",
            origin,
            &format!("{branch}:{branch}"),
        ],
    )?;
    git::text(&settings.workdir, &["fetch", "--quiet", origin, &branch])?;
    git::text(&settings.workdir, &["checkout", "--quiet", &branch])?;
    avh::post(settings, kind, Action::Publish, &args);
    Ok(Done::new(settings, &branch, Vec::new()))
}

/// How the remote's branch `theirs` stands to the local `ours`, said of
/// the remote's ("is 2 commits behind yours").
fn relation(settings: &FlowSettings, ours: &str, theirs: &str) -> Result<String, FlowError> {
    let (mine, remote) = super::divergence(
        &settings.workdir,
        &format!("refs/heads/{ours}"),
        &format!("refs/remotes/{theirs}"),
    )?;
    Ok(describe_relation(mine, remote))
}

/// The words of [`relation`] for `mine` commits only here and `remote`
/// commits only there.
fn describe_relation(mine: u64, remote: u64) -> String {
    let commits = |n: u64| format!("{n} commit{}", if n == 1 { "" } else { "s" });
    match (mine, remote) {
        (0, 0) => "is the same as yours".into(),
        (m, 0) => format!("is {} behind yours", commits(m)),
        (0, r) => format!("is {} ahead of yours", commits(r)),
        (m, r) => format!(
            "has diverged from yours ({} only there, {} only here)",
            commits(r),
            commits(m)
        ),
    }
}

/// `<kind> track <name>`: fetches the origin and checks out a new local
/// branch tracking its `<prefix><name>`. Refuses a dirty tree and a local
/// branch of that name.
pub fn track(settings: &FlowSettings, kind: BranchType, name: &str) -> Result<Done, FlowError> {
    let branch = format!("{}{name}", settings.prefix(kind));
    let origin = settings.origin.as_str();
    require_clean(settings)?;
    if local_exists(settings, &branch) {
        return Err(FlowError::BranchExists { branch });
    }
    require_remote(settings, origin)?;
    git::text(&settings.workdir, &["fetch", "--quiet", origin])?;
    if !remote_tracking_exists(settings, origin, &branch) {
        return Err(FlowError::NoRemoteBranch {
            remote: origin.to_owned(),
            branch,
        });
    }
    let args = [name, origin, branch.as_str()];
    avh::pre(settings, kind, Action::Track, &args)?;
    git::text(
        &settings.workdir,
        &[
            "checkout",
            "--quiet",
            "-b",
            &branch,
            &format!("{origin}/{branch}"),
        ],
    )?;
    avh::post(settings, kind, Action::Track, &args);
    Ok(Done::new(settings, &branch, Vec::new()))
}

/// `<kind> pull <remote> [<name>]` (and `update`): with the local branch
/// checked out, `git pull` (`--rebase` with `rebase`) from the remote's
/// branch of that name; without a local branch, creates it (not tracking,
/// as avh) at the remote's and checks it out.
///
/// Refuses to pull one branch while another is checked out (avh's
/// `avoid_accidental_cross_branch_action`), a dirty tree and a remote
/// that does not exist. With divergent branches git itself refuses unless
/// `pull.rebase` or `pull.ff` says how to reconcile them (or `rebase`).
pub fn pull(
    settings: &FlowSettings,
    kind: BranchType,
    remote: &str,
    name: Option<&str>,
    rebase: bool,
) -> Result<Done, FlowError> {
    let (name, branch) = named(settings, kind, name)?;
    let current = current_branch(settings).unwrap_or_else(|| "(detached HEAD)".into());
    let local = local_exists(settings, &branch);
    // On a branch of the kind, only that branch; with a local branch of the
    // name, only from it.
    if (current.starts_with(settings.prefix(kind)) || local) && current != branch {
        return Err(FlowError::CrossBranch { branch, current });
    }
    require_clean(settings)?;
    require_remote(settings, remote)?;
    let args = [name.as_str(), remote, branch.as_str()];
    avh::pre(settings, kind, Action::Pull, &args)?;
    if local {
        let mut pull = vec!["pull", "--quiet"];
        if rebase {
            pull.insert(1, "--rebase");
        }
        pull.extend([remote, branch.as_str()]);
        let (code, stdout, stderr) = git::git(&settings.workdir).args(&pull).output_with_code()?;
        if code != 0 {
            return Err(FlowError::Stopped {
                action: "pull",
                branch,
                output: format!("{}{stderr}", String::from_utf8_lossy(&stdout)),
            });
        }
    } else {
        let fetched = git::text(&settings.workdir, &["fetch", "--quiet", remote, &branch]);
        match fetched {
            Err(ProcessError::Exit { output, .. })
                if output.contains("couldn't find remote ref") =>
            {
                return Err(FlowError::NoRemoteBranch {
                    remote: remote.to_owned(),
                    branch,
                })
            }
            other => other?,
        };
        // One step: a checkout that fails leaves no branch behind.
        git::text(
            &settings.workdir,
            &[
                "checkout",
                "--quiet",
                "--no-track",
                "-b",
                &branch,
                "FETCH_HEAD",
            ],
        )?;
    }
    avh::post(settings, kind, Action::Pull, &args);
    Ok(Done::new(settings, &branch, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::describe_relation;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_remote_branch_is_described_from_its_side() {
        assert_eq!(describe_relation(0, 0), "is the same as yours");
        assert_eq!(describe_relation(1, 0), "is 1 commit behind yours");
        assert_eq!(describe_relation(0, 3), "is 3 commits ahead of yours");
        assert_eq!(
            describe_relation(2, 1),
            "has diverged from yours (1 commit only there, 2 commits only here)"
        );
    }
}
