//! gitflow-avh's hooks and filters, run with avh's names, arguments,
//! environment and exit-code rules (gitflow-common `run_pre_hook`,
//! `run_post_hook`, `run_filter_hook`), so existing automation keeps working:
//! a pre-hook's non-zero exit aborts, a post-hook's status is ignored, a
//! filter's stdout replaces the value and exit 127 aborts with its output.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::settings::FlowSettings;
use super::{BranchType, FlowError};
use crate::process::Cmd;

/// What a flow hook runs around (`pre-flow-<kind>-<action>`,
/// `post-flow-<kind>-<action>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `<kind> start`.
    Start,
    /// `<kind> finish`.
    Finish,
    /// `<kind> publish`.
    Publish,
    /// `<kind> track`.
    Track,
    /// `<kind> pull`.
    Pull,
    /// `<kind> delete`.
    Delete,
    /// `<kind> rename`.
    Rename,
}

impl Action {
    /// The name in hook file names.
    pub fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Finish => "finish",
            Action::Publish => "publish",
            Action::Track => "track",
            Action::Pull => "pull",
            Action::Delete => "delete",
            Action::Rename => "rename",
        }
    }
}

/// The filters git-buildkit runs (`filter-flow-<kind>-<filter>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// The version a release or hotfix starts with.
    StartVersion,
    /// The message of the tag a finish makes.
    FinishTagMessage,
}

impl Filter {
    /// The name in filter file names, after the kind.
    pub fn name(self) -> &'static str {
        match self {
            Filter::StartVersion => "start-version",
            Filter::FinishTagMessage => "finish-tag-message",
        }
    }
}

fn command(settings: &FlowSettings, script: &Path) -> Cmd {
    Cmd::new(script)
        .cwd(&settings.workdir)
        .env("MASTER_BRANCH", &settings.main)
        .env("DEVELOP_BRANCH", &settings.develop)
        .env("ORIGIN", &settings.origin)
        .env("HOOKS_DIR", &settings.hooks_dir)
        .env("DOT_GIT_DIR", &settings.git_dir)
        .env("GIT_CURRENT_REPO_DIR", &settings.workdir)
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `pre-flow-<kind>-<action>` if it exists; its failure aborts.
pub fn pre(
    settings: &FlowSettings,
    kind: BranchType,
    action: Action,
    args: &[&str],
) -> Result<(), FlowError> {
    let hook = format!("pre-flow-{}-{}", kind.name(), action.name());
    let path = settings.hooks_dir.join(&hook);
    if !executable(&path) {
        return Ok(());
    }
    let (code, stdout, stderr) = command(settings, &path).args(args).output_with_code()?;
    if code != 0 {
        let output = format!("{}{stderr}", String::from_utf8_lossy(&stdout));
        return Err(FlowError::HookRefused { hook, code, output });
    }
    Ok(())
}

/// Runs `post-flow-<kind>-<action>` if it exists; its status is ignored.
pub fn post(settings: &FlowSettings, kind: BranchType, action: Action, args: &[&str]) {
    let path = settings
        .hooks_dir
        .join(format!("post-flow-{}-{}", kind.name(), action.name()));
    if executable(&path) {
        let _ = command(settings, &path).args(args).output_with_code();
    }
}

/// Passes `value` through `filter-flow-<kind>-<filter>` if it exists.
pub fn filter(
    settings: &FlowSettings,
    kind: BranchType,
    which: Filter,
    value: &str,
    extra: &[&str],
) -> Result<String, FlowError> {
    let filter = format!("filter-flow-{}-{}", kind.name(), which.name());
    let path = settings.hooks_dir.join(&filter);
    if !executable(&path) {
        return Ok(value.to_owned());
    }
    let (code, stdout, _) = command(settings, &path)
        .arg(value)
        .args(extra)
        .output_with_code()?;
    let text = String::from_utf8_lossy(&stdout).trim_end().to_owned();
    if code == 127 {
        return Err(FlowError::FilterAborted {
            filter,
            message: text,
        });
    }
    Ok(if text.is_empty() {
        value.to_owned()
    } else {
        text
    })
}
