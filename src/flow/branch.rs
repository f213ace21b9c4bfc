//! gitflow-avh's commands on one existing branch of a kind, without the
//! remote: `delete`, `rebase`, `checkout`/`co`, `diff` and `rename`
//! (git-flow-feature and its siblings, 1.12.3). The commands that read or
//! push to the remote are in `remote.rs`.
//!
//! Each checks everything it can before it changes anything (avh checks
//! some things after a checkout or a hook): a refused command leaves the
//! refs, the config and the work tree as they were.

use super::avh::{self, Action};
use super::settings::FlowSettings;
use super::{rev, BranchType, FlowError};
use crate::git::{self, Untracked};

/// What a branch command did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Done {
    /// The branch acted on (for `rename`, its new name).
    pub branch: String,
    /// The branch checked out afterwards.
    pub current: String,
    /// Things the user should know that did not stop the command.
    pub warnings: Vec<String>,
}

impl Done {
    pub(super) fn new(settings: &FlowSettings, branch: &str, warnings: Vec<String>) -> Self {
        Self {
            branch: branch.to_owned(),
            current: current_branch(settings).unwrap_or_else(|| "(detached HEAD)".into()),
            warnings,
        }
    }
}

/// The checked-out branch, None on a detached HEAD.
pub(super) fn current_branch(settings: &FlowSettings) -> Option<String> {
    git::text(
        &settings.workdir,
        &["symbolic-ref", "--quiet", "--short", "HEAD"],
    )
    .ok()
    .filter(|b| !b.is_empty())
}

/// The name (after the prefix) and the branch a command works on: `name`
/// when given, else the current branch if it is of the kind (avh's
/// `gitflow_use_current_branch_name`).
pub(super) fn named(
    settings: &FlowSettings,
    kind: BranchType,
    name: Option<&str>,
) -> Result<(String, String), FlowError> {
    let prefix = settings.prefix(kind);
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        return Ok((name.to_owned(), format!("{prefix}{name}")));
    }
    let current = current_branch(settings).unwrap_or_else(|| "(detached HEAD)".into());
    match current.strip_prefix(prefix) {
        Some(name) if !name.is_empty() => Ok((name.to_owned(), current.clone())),
        _ => Err(FlowError::NotOnKind {
            current,
            kind: kind.name(),
            prefix: prefix.to_owned(),
        }),
    }
}

/// Whether the local branch exists.
pub(super) fn local_exists(settings: &FlowSettings, branch: &str) -> bool {
    rev(&settings.workdir, &format!("refs/heads/{branch}")).is_some()
}

/// Whether `remote`'s branch is known here (`refs/remotes/<remote>/<branch>`).
pub(super) fn remote_tracking_exists(settings: &FlowSettings, remote: &str, branch: &str) -> bool {
    rev(
        &settings.workdir,
        &format!("refs/remotes/{remote}/{branch}"),
    )
    .is_some()
}

pub(super) fn require_local(settings: &FlowSettings, branch: &str) -> Result<(), FlowError> {
    if local_exists(settings, branch) {
        Ok(())
    } else {
        Err(FlowError::NoBranch {
            branch: branch.to_owned(),
        })
    }
}

/// Like [`require_local`] for `<prefix of kind><name>`; when it is missing
/// but a branch of another kind has the name, says which.
pub(super) fn require_of_kind(
    settings: &FlowSettings,
    kind: BranchType,
    branch: &str,
) -> Result<(), FlowError> {
    if local_exists(settings, branch) {
        return Ok(());
    }
    let name = branch.strip_prefix(settings.prefix(kind)).unwrap_or(branch);
    let other = [
        BranchType::Feature,
        BranchType::Bugfix,
        BranchType::Release,
        BranchType::Hotfix,
        BranchType::Support,
    ]
    .into_iter()
    .filter(|k| *k != kind)
    .map(|k| (k, format!("{}{name}", settings.prefix(k))))
    .find(|(_, b)| local_exists(settings, b));
    Err(match other {
        Some((other, found)) => FlowError::OtherKind {
            branch: branch.to_owned(),
            found,
            kind: other.name(),
        },
        None => FlowError::NoBranch {
            branch: branch.to_owned(),
        },
    })
}

/// avh's `require_clean_working_tree`: staged or unstaged changes to
/// tracked files refuse, untracked files do not.
pub(super) fn require_clean(settings: &FlowSettings) -> Result<(), FlowError> {
    if git::is_dirty(&settings.workdir, Untracked::Ignored)? {
        Err(FlowError::Dirty)
    } else {
        Ok(())
    }
}

/// Refuses a remote that is not configured (avh fails later, on its fetch).
pub(super) fn require_remote(settings: &FlowSettings, remote: &str) -> Result<(), FlowError> {
    let remotes = git::text(&settings.workdir, &["remote"])?;
    if remotes.lines().any(|r| r == remote) {
        Ok(())
    } else {
        Err(FlowError::NoRemote {
            remote: remote.to_owned(),
        })
    }
}

/// The branch `branch` was started from (`gitflow.branch.<branch>.base`),
/// develop when none is recorded, as avh reads it.
pub(super) fn base_of(settings: &FlowSettings, branch: &str) -> String {
    settings
        .recorded_base(branch)
        .map_or_else(|| settings.develop.clone(), str::to_owned)
}

/// avh's `git_is_branch_merged_into`: every commit of `branch` is in `into`.
fn merged_into(settings: &FlowSettings, branch: &str, into: &str) -> bool {
    rev(&settings.workdir, &format!("refs/heads/{branch}"))
        .is_some_and(|tip| super::is_ancestor(&settings.workdir, &tip, into))
}

/// How to delete.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeleteOptions {
    /// Delete even if not merged (`-f`); None: `gitflow.<kind>.delete.force`.
    pub force: Option<bool>,
    /// Delete the remote branch too (`-r`); None: `gitflow.<kind>.delete.remote`.
    pub remote: Option<bool>,
}

/// `<kind> delete [-f] [-r] <name>`: deletes the branch (when it is checked
/// out, after checking out its base, or main for a hotfix), and with `-r`
/// the origin's branch, and forgets its recorded base. Unless forced, the
/// branch must be merged: a feature or bugfix into its base, a release into
/// main and its base, a hotfix into main and develop.
pub fn delete(
    settings: &FlowSettings,
    kind: BranchType,
    name: &str,
    options: DeleteOptions,
) -> Result<Done, FlowError> {
    let force = resolve(options.force, settings.flag(kind, "delete", "force")?);
    let remote = resolve(options.remote, settings.flag(kind, "delete", "remote")?);
    let branch = format!("{}{name}", settings.prefix(kind));
    require_of_kind(settings, kind, &branch)?;
    let base = base_of(settings, &branch);
    let targets = match kind {
        BranchType::Release => vec![settings.main.clone(), base.clone()],
        BranchType::Hotfix => vec![settings.main.clone(), settings.develop.clone()],
        _ => vec![base.clone()],
    };
    let unmerged: Vec<&String> = targets
        .iter()
        .filter(|into| !merged_into(settings, &branch, into))
        .collect();
    if !force && !unmerged.is_empty() {
        return Err(FlowError::NotMerged {
            branch,
            into: unmerged
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" and "),
        });
    }
    if remote {
        require_remote(settings, &settings.origin)?;
    }
    let on_it = current_branch(settings).as_deref() == Some(branch.as_str());
    if on_it {
        require_clean(settings)?;
    }
    let args = [name, settings.origin.as_str(), branch.as_str()];
    avh::pre(settings, kind, Action::Delete, &args)?;
    // The remote first: a push that fails leaves everything here as it was.
    let mut warnings = Vec::new();
    if remote {
        if remote_tracking_exists(settings, &settings.origin, &branch) {
            git::text(
                &settings.workdir,
                &[
                    "push",
                    "--quiet",
                    &settings.origin,
                    &format!(":refs/heads/{branch}"),
                ],
            )?;
        } else {
            warnings.push(format!(
                "{} has no branch {branch} to delete",
                settings.origin
            ));
        }
    }
    if on_it {
        let to = if kind == BranchType::Hotfix {
            &settings.main
        } else if local_exists(settings, &base) {
            &base
        } else {
            &settings.develop
        };
        git::text(&settings.workdir, &["checkout", "--quiet", to])?;
    }
    // Merged (checked above) or forced: -D, whatever HEAD is.
    git::text(&settings.workdir, &["branch", "-D", &branch])?;
    remove_base_section(settings, &branch);
    avh::post(settings, kind, Action::Delete, &args);
    Ok(Done::new(settings, &branch, warnings))
}

/// A flag as given, else its git config default, else off.
fn resolve(given: Option<bool>, configured: Option<bool>) -> bool {
    given.or(configured).unwrap_or(false)
}

/// avh's `gitflow_config_remove_base_section`: forgets `gitflow.branch.<branch>.*`.
pub(super) fn remove_base_section(settings: &FlowSettings, branch: &str) {
    // Absent when the branch was not started by a flow tool: nothing to do.
    let _ = git::text(
        &settings.workdir,
        &[
            "config",
            "--local",
            "--remove-section",
            &format!("gitflow.branch.{branch}"),
        ],
    );
}

/// How to rebase.
#[derive(Debug, Clone, Copy, Default)]
pub struct RebaseOptions {
    /// `-i`; None: `gitflow.<kind>.rebase.interactive`.
    pub interactive: Option<bool>,
    /// `-p`; None: `gitflow.<kind>.rebase.preserve-merges`. Refused: git
    /// has no `--preserve-merges` any more.
    pub preserve_merges: Option<bool>,
}

/// `<kind> rebase [-i] [<name>]`: checks the branch out and rebases it onto
/// its base (recorded, else develop). A clean tree is required unless
/// `rebase.autoStash` is on. A rebase that stops on conflicts is left to
/// `git rebase --continue`/`--abort`, as avh leaves it.
pub fn rebase(
    settings: &FlowSettings,
    kind: BranchType,
    name: Option<&str>,
    options: RebaseOptions,
) -> Result<Done, FlowError> {
    let preserve = match options.preserve_merges {
        Some(given) => given.then(String::new),
        None => settings
            .flag(kind, "rebase", "preserve-merges")?
            .filter(|on| *on)
            .map(|_| format!(" (from gitflow.{}.rebase.preserve-merges)", kind.name())),
    };
    if let Some(from) = preserve {
        return Err(FlowError::PreserveMergesGone { from });
    }
    let interactive = resolve(
        options.interactive,
        settings.flag(kind, "rebase", "interactive")?,
    );
    let (_, branch) = named(settings, kind, name)?;
    let base = base_of(settings, &branch);
    let autostash = git::text(
        &settings.workdir,
        &["config", "--bool", "--get", "rebase.autostash"],
    )
    .is_ok_and(|v| v == "true");
    if !autostash {
        require_clean(settings)?;
    }
    require_of_kind(settings, kind, &branch)?;
    require_local(settings, &base)?;
    git::text(&settings.workdir, &["checkout", "--quiet", &branch])?;
    let cmd = git::git(&settings.workdir);
    let stopped = if interactive {
        let status = cmd.args(["rebase", "-i", &base]).terminal().status()?;
        (!status.success()).then(String::new)
    } else {
        let (code, stdout, stderr) = cmd.args(["rebase", &base]).output_with_code()?;
        (code != 0).then(|| format!("{}{stderr}", String::from_utf8_lossy(&stdout)))
    };
    if let Some(output) = stopped {
        return Err(FlowError::Stopped {
            action: "rebase",
            branch,
            output,
        });
    }
    Ok(Done::new(settings, &branch, Vec::new()))
}

/// avh's `gitflow_resolve_nameprefix`: the branch `<prefix><name>` if it
/// exists, else the one local branch whose name starts with it.
pub fn resolve_prefix(
    settings: &FlowSettings,
    kind: BranchType,
    name: &str,
) -> Result<String, FlowError> {
    let wanted = format!("{}{name}", settings.prefix(kind));
    if local_exists(settings, &wanted) {
        return Ok(wanted);
    }
    let branches = git::text(
        &settings.workdir,
        &["for-each-ref", "--format=%(refname:short)", "refs/heads/"],
    )?;
    let mut matches: Vec<String> = branches
        .lines()
        .filter(|b| b.starts_with(&wanted))
        .map(str::to_owned)
        .collect();
    match matches.len() {
        0 => Err(FlowError::NoMatch {
            pattern: format!("{wanted}*"),
        }),
        1 => Ok(matches.remove(0)),
        _ => Err(FlowError::Ambiguous {
            pattern: format!("{wanted}*"),
            matches,
        }),
    }
}

/// `<kind> checkout <name|nameprefix>` (and `co`).
pub fn checkout(settings: &FlowSettings, kind: BranchType, name: &str) -> Result<Done, FlowError> {
    let branch = resolve_prefix(settings, kind, name)?;
    git::text(&settings.workdir, &["checkout", "--quiet", &branch])?;
    Ok(Done::new(settings, &branch, Vec::new()))
}

/// `<kind> diff [<name>]`: the changes of the branch since it left its base
/// (`git diff <base>...<branch>`), as git prints them.
pub fn diff(
    settings: &FlowSettings,
    kind: BranchType,
    name: Option<&str>,
) -> Result<Vec<u8>, FlowError> {
    let (_, branch) = named(settings, kind, name)?;
    require_of_kind(settings, kind, &branch)?;
    let base = base_of(settings, &branch);
    Ok(git::git(&settings.workdir)
        .args(["diff", &format!("{base}...{branch}")])
        .output()?)
}

/// `<kind> rename <new_name> [<name>]`: renames the branch (the current
/// one when no name is given) and its recorded base; upstream settings
/// follow (`git branch -m`).
pub fn rename(
    settings: &FlowSettings,
    kind: BranchType,
    new_name: &str,
    name: Option<&str>,
) -> Result<Done, FlowError> {
    let (name, branch) = named(settings, kind, name)?;
    let new_branch = format!("{}{new_name}", settings.prefix(kind));
    let valid = !new_name.is_empty()
        && git::text(
            &settings.workdir,
            &["check-ref-format", "--branch", &new_branch],
        )
        .is_ok();
    if !valid {
        return Err(FlowError::BadName {
            name: new_name.to_owned(),
        });
    }
    require_of_kind(settings, kind, &branch)?;
    if local_exists(settings, &new_branch)
        || remote_tracking_exists(settings, &settings.origin, &new_branch)
    {
        return Err(FlowError::BranchExists { branch: new_branch });
    }
    let args = [name.as_str(), settings.origin.as_str(), branch.as_str()];
    avh::pre(settings, kind, Action::Rename, &args)?;
    git::text(&settings.workdir, &["branch", "-m", &branch, &new_branch])?;
    // No section when the branch was not started by a flow tool.
    let _ = git::text(
        &settings.workdir,
        &[
            "config",
            "--local",
            "--rename-section",
            &format!("gitflow.branch.{branch}"),
            &format!("gitflow.branch.{new_branch}"),
        ],
    );
    avh::post(settings, kind, Action::Rename, &args);
    Ok(Done::new(settings, &new_branch, Vec::new()))
}
