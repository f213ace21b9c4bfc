//! The git-flow branch workflow: feature, bugfix, release, hotfix and
//! support branches with gitflow-avh's names, history shape, hooks and
//! filters, plus what avh never had: a finish that checks itself before
//! touching anything and can be continued or aborted after a conflict.
//!
//! Every step that changes refs or the work tree goes through the `git`
//! program ([`crate::git::git`], the one runner), so that users' git
//! configuration, hooks and merge drivers behave exactly as with
//! `git flow`. Loading the settings checks git's version once
//! ([`crate::git::require_min_version`]).

mod avh;
mod branch;
pub mod config;
mod error;
mod finish;
mod plan;
mod remote;
mod settings;
mod start;
mod state;
mod version_files;

pub use branch::{
    checkout, delete, diff, rebase, rename, resolve_prefix, DeleteOptions, Done, RebaseOptions,
};
pub use error::FlowError;
pub use finish::{abort, continue_finish, finish, status, AbortOptions, FinishOptions, Outcome};
pub use remote::{publish, pull, track};
pub use settings::{FlowSettings, SettingsSource};
pub use start::{init, latest_tag, list, start, InitOutcome, StartOptions};
pub use state::FinishState;
pub use version_files::{check_files, plan_bump, write_planned, VersionFileSpec};

use crate::git;
use crate::process::ProcessError;

/// The kinds of flow branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BranchType {
    /// New work, from and back into develop.
    Feature,
    /// Fixes on develop, like features.
    Bugfix,
    /// A release being stabilised: into main (tagged) and back into develop.
    Release,
    /// An urgent fix of a release: from main, into main (tagged) and develop.
    Hotfix,
    /// A long-lived maintenance line from an old release.
    Support,
}

impl BranchType {
    /// The lowercase name (`feature`, ...), as in hook names.
    pub fn name(self) -> &'static str {
        match self {
            BranchType::Feature => "feature",
            BranchType::Bugfix => "bugfix",
            BranchType::Release => "release",
            BranchType::Hotfix => "hotfix",
            BranchType::Support => "support",
        }
    }

    /// Whether finishing it makes a version tag.
    pub fn is_versioned(self) -> bool {
        matches!(self, BranchType::Release | BranchType::Hotfix)
    }
}

/// The commit a ref points at, if it exists.
fn rev(dir: &std::path::Path, name: &str) -> Option<String> {
    git::text(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{name}^{{commit}}"),
        ],
    )
    .ok()
    .filter(|s| !s.is_empty())
}

/// Whether commit `a` is an ancestor of (or is) `b`.
fn is_ancestor(dir: &std::path::Path, a: &str, b: &str) -> bool {
    git::git(dir)
        .args(["merge-base", "--is-ancestor", a, b])
        .output()
        .is_ok()
}

/// How many commits only `ours` has and how many only `theirs` has
/// (`rev-list --left-right --count`): `(0, 0)` the same, `(n, 0)` ahead,
/// `(0, n)` behind, else diverged.
fn divergence(dir: &std::path::Path, ours: &str, theirs: &str) -> Result<(u64, u64), FlowError> {
    let counts = git::text(
        dir,
        &[
            "rev-list",
            "--left-right",
            "--count",
            &format!("{ours}...{theirs}"),
        ],
    )?;
    let mut numbers = counts.split_whitespace().map(str::parse::<u64>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(mine)), Some(Ok(remote))) => Ok((mine, remote)),
        _ => Err(FlowError::Git(crate::process::ProcessError::Output {
            program: "git rev-list --left-right --count".into(),
            source: std::io::Error::other(format!("not two counts: {counts:?}")),
        })),
    }
}

/// Runs `script` (lines of `git update-ref --stdin`: `update REF NEW OLD`,
/// `create REF NEW`, `delete REF OLD`) as one transaction: every ref must
/// still have the old value named, or nothing changes.
fn update_refs(dir: &std::path::Path, script: &str) -> Result<(), FlowError> {
    if script.is_empty() {
        return Ok(());
    }
    let result = git::git(dir)
        .args(["update-ref", "--stdin"])
        .input(script)
        .output();
    match result {
        Ok(_) => Ok(()),
        Err(ProcessError::Exit { output, .. }) => Err(FlowError::RefsChanged {
            detail: output.trim().to_owned(),
        }),
        Err(source) => Err(FlowError::Git(source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn git(dir: &std::path::Path, args: &[&str]) -> String {
        crate::git::git(dir)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .map(|out| String::from_utf8_lossy(&out).trim_end().to_owned())
            .expect("git")
    }

    #[test]
    fn ref_updates_expect_the_old_values_all_or_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let dir = dir.path();
        git(dir, &["init", "-q", "-b", "main"]);
        git(dir, &["commit", "-q", "--allow-empty", "-m", "a"]);
        let a = git(dir, &["rev-parse", "HEAD"]);
        git(dir, &["commit", "-q", "--allow-empty", "-m", "b"]);
        let b = git(dir, &["rev-parse", "HEAD"]);
        git(dir, &["branch", "develop", &a]);
        git(dir, &["branch", "release", &b]);
        let refs = || {
            git(
                dir,
                &[
                    "for-each-ref",
                    "--format=%(refname) %(objectname)",
                    "refs/heads/",
                ],
            )
        };
        let before = refs();

        // develop is expected at b but is at a (someone moved it): nothing changes,
        // not even release, whose expectation holds.
        let stale =
            format!("update refs/heads/release {a} {b}\nupdate refs/heads/develop {b} {b}\n");
        let err = update_refs(dir, &stale).expect_err("stale");
        assert!(matches!(err, FlowError::RefsChanged { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "a ref changed while it was being put back, so nothing was: \
                 fatal: cannot lock ref 'refs/heads/develop': is at {a} but expected {b}"
            )
        );
        assert_eq!(refs(), before);

        let fresh = format!(
            "update refs/heads/release {a} {b}\nupdate refs/heads/develop {b} {a}\ncreate refs/tags/v1 {a}\n"
        );
        update_refs(dir, &fresh).expect("fresh");
        assert_eq!(
            refs(),
            format!("refs/heads/develop {b}\nrefs/heads/main {b}\nrefs/heads/release {a}")
        );
        assert_eq!(git(dir, &["rev-parse", "refs/tags/v1"]), a);
    }
}
