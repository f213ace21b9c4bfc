//! The git-flow branch workflow: feature, bugfix, release, hotfix and
//! support branches with gitflow-avh's names, history shape, hooks and
//! filters, plus what avh never had: a finish that checks itself before
//! touching anything and can be continued or aborted after a conflict.
//!
//! Reading goes through gix where it is enough; every step that changes
//! refs or the work tree goes through the `git` program (one runner), so
//! that users' git configuration, hooks and merge drivers behave exactly
//! as with `git flow`.

mod avh;
mod error;
mod finish;
mod settings;
mod start;
mod state;
mod version_files;

pub use error::FlowError;
pub use finish::{abort, continue_finish, finish, status, FinishOptions, Outcome};
pub use settings::{FlowSettings, SettingsSource};
pub use start::{init, latest_tag, list, start, InitOutcome, StartOptions};
pub use state::FinishState;
pub use version_files::{bump_files, check_files, VersionFileSpec};

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

/// Runs `git` in the work tree and returns stdout as text.
fn git_text(dir: &std::path::Path, args: &[&str]) -> Result<String, FlowError> {
    let out = crate::git::git(dir)
        .args(args)
        .env("GIT_MERGE_AUTOEDIT", "no")
        .output()
        .map_err(FlowError::Git)?;
    Ok(String::from_utf8_lossy(&out).trim_end().to_owned())
}

/// The commit a ref points at, if it exists.
fn rev(dir: &std::path::Path, name: &str) -> Option<String> {
    git_text(
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
