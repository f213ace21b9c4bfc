//! Where the flow's branch names and prefixes come from: `[flow]` of
//! `.buildkit.toml` first, then gitflow-avh's `gitflow.*` git config keys
//! (so a repository set up with `git flow init -d` works unchanged), then
//! avh's defaults (with `main` for the production branch unless only
//! `master` exists, and `v` for version tags).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::version_files::VersionFileSpec;
use super::{rev, BranchType, FlowError};
use crate::config::{Config, FILE_NAME};
use crate::git;
use crate::version::TagScheme;

/// Which source the settings came from (reported by `init`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettingsSource {
    /// `[flow]` of .buildkit.toml.
    BuildkitToml,
    /// gitflow-avh's `gitflow.*` git config.
    GitConfig,
    /// Built-in defaults.
    Defaults,
}

/// The resolved flow settings of a repository.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FlowSettings {
    /// Production branch.
    pub main: String,
    /// Integration branch.
    pub develop: String,
    /// Feature prefix.
    pub feature: String,
    /// Bugfix prefix.
    pub bugfix: String,
    /// Release prefix.
    pub release: String,
    /// Hotfix prefix.
    pub hotfix: String,
    /// Support prefix.
    pub support: String,
    /// Version tag prefix.
    pub version_tag: String,
    /// Remote name.
    pub origin: String,
    /// Directory of avh hooks and filters.
    pub hooks_dir: PathBuf,
    /// The work tree.
    pub workdir: PathBuf,
    /// The git directory.
    pub git_dir: PathBuf,
    /// Files that carry the version.
    pub version_files: Vec<VersionFileSpec>,
    /// Whether several hotfix branches may be open.
    pub multi_hotfix: bool,
    /// Where most values came from.
    pub source: SettingsSource,
    /// Every `gitflow.*` key of git config (names lowercased): the
    /// per-command defaults (`gitflow.feature.finish.squash`) and branch
    /// bases (`gitflow.branch.<branch>.base`) are read from here.
    #[serde(skip)]
    pub gitflow: BTreeMap<String, String>,
}

/// Where avh's hooks and filters are: `gitflow.path.hooks`, else
/// `core.hooksPath` (relative to the work tree), else `<git-dir>/hooks`.
fn hooks_dir(config: &HashMap<String, String>, workdir: &Path, git_dir: &Path) -> PathBuf {
    config
        .get("gitflow.path.hooks")
        .or_else(|| config.get("core.hookspath"))
        .map(|p| {
            if Path::new(p).is_absolute() {
                PathBuf::from(p)
            } else {
                workdir.join(p)
            }
        })
        .unwrap_or_else(|| git_dir.join("hooks"))
}

impl FlowSettings {
    /// Resolves the settings for the repository whose work tree is `workdir`.
    /// Refuses a git older than [`crate::git::MIN_VERSION`] first: every
    /// flow command starts here.
    pub fn load(workdir: &Path) -> Result<Self, FlowError> {
        git::require_min_version()?;
        let git_dir = PathBuf::from(git::text(workdir, &["rev-parse", "--absolute-git-dir"])?);
        let config: HashMap<String, String> =
            git::text(workdir, &["config", "--get-regexp", r"^(gitflow|core)\."])
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    l.split_once(' ')
                        .map(|(k, v)| (k.to_lowercase(), v.to_owned()))
                        // A key without `=` is git's implicit true.
                        .or_else(|| Some((l.to_lowercase(), "true".to_owned())))
                })
                .collect();
        let toml_path = workdir.join(FILE_NAME);
        let flow = match std::fs::read_to_string(&toml_path) {
            Ok(text) => Config::parse(&text, FILE_NAME)?.flow,
            Err(_) => Default::default(),
        };
        let from_toml = flow.main.is_some()
            || flow.develop.is_some()
            || flow.prefix.version_tag.is_some()
            || flow.prefix.feature.is_some();
        let from_git = config
            .keys()
            .any(|k| k.starts_with("gitflow.branch.") || k.starts_with("gitflow.prefix."));
        let pick = |toml: &Option<String>, key: &str, default: &str| -> String {
            toml.clone()
                .or_else(|| config.get(key).cloned())
                .unwrap_or_else(|| default.to_owned())
        };
        let default_main = if rev(workdir, "refs/heads/main").is_none()
            && rev(workdir, "refs/heads/master").is_some()
        {
            "master"
        } else {
            "main"
        };
        let hooks_dir = hooks_dir(&config, workdir, &git_dir);
        Ok(Self {
            main: pick(&flow.main, "gitflow.branch.master", default_main),
            develop: pick(&flow.develop, "gitflow.branch.develop", "develop"),
            feature: pick(&flow.prefix.feature, "gitflow.prefix.feature", "feature/"),
            bugfix: pick(&flow.prefix.bugfix, "gitflow.prefix.bugfix", "bugfix/"),
            release: pick(&flow.prefix.release, "gitflow.prefix.release", "release/"),
            hotfix: pick(&flow.prefix.hotfix, "gitflow.prefix.hotfix", "hotfix/"),
            support: pick(&flow.prefix.support, "gitflow.prefix.support", "support/"),
            version_tag: pick(&flow.prefix.version_tag, "gitflow.prefix.versiontag", "v"),
            origin: config
                .get("gitflow.origin")
                .cloned()
                .unwrap_or_else(|| "origin".into()),
            hooks_dir,
            workdir: workdir.to_owned(),
            git_dir,
            version_files: flow
                .version_files
                .iter()
                .map(|v| VersionFileSpec {
                    path: v.path.clone(),
                    regex: v.regex.clone(),
                })
                .collect(),
            multi_hotfix: config
                .get("gitflow.multi-hotfix")
                .is_some_and(|v| v == "true"),
            gitflow: config
                .iter()
                .filter(|(k, _)| k.starts_with("gitflow."))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            source: if from_toml {
                SettingsSource::BuildkitToml
            } else if from_git {
                SettingsSource::GitConfig
            } else {
                SettingsSource::Defaults
            },
        })
    }

    /// The branch prefix of a type.
    pub fn prefix(&self, kind: BranchType) -> &str {
        match kind {
            BranchType::Feature => &self.feature,
            BranchType::Bugfix => &self.bugfix,
            BranchType::Release => &self.release,
            BranchType::Hotfix => &self.hotfix,
            BranchType::Support => &self.support,
        }
    }

    /// The version tag scheme.
    pub fn scheme(&self) -> TagScheme {
        TagScheme {
            prefix: self.version_tag.clone(),
            ..TagScheme::default()
        }
    }

    /// Writes gitflow-avh's keys so `git flow` itself keeps working here.
    pub fn write_git_config(&self) -> Result<(), FlowError> {
        let pairs = [
            ("gitflow.branch.master", &self.main),
            ("gitflow.branch.develop", &self.develop),
            ("gitflow.prefix.feature", &self.feature),
            ("gitflow.prefix.bugfix", &self.bugfix),
            ("gitflow.prefix.release", &self.release),
            ("gitflow.prefix.hotfix", &self.hotfix),
            ("gitflow.prefix.support", &self.support),
            ("gitflow.prefix.versiontag", &self.version_tag),
        ];
        for (key, value) in pairs {
            git::text(&self.workdir, &["config", key, value])?;
        }
        Ok(())
    }

    /// gitflow-avh's default for a boolean option of a command, as its
    /// `gitflow_override_flag_boolean` reads it: `gitflow.<kind>.<command>.<flag>`
    /// (e.g. `gitflow.feature.finish.squash`), with git's boolean spellings;
    /// None when unset, an error (as avh dies) when not a boolean.
    pub fn flag(
        &self,
        kind: BranchType,
        command: &str,
        flag: &str,
    ) -> Result<Option<bool>, FlowError> {
        let key = format!("gitflow.{}.{command}.{flag}", kind.name()).to_lowercase();
        let Some(value) = self.gitflow.get(&key) else {
            return Ok(None);
        };
        match value.to_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Some(true)),
            // `key =` with nothing after it is false to git.
            "false" | "no" | "off" | "0" | "" => Ok(Some(false)),
            other => match other.parse::<i64>() {
                Ok(n) => Ok(Some(n != 0)),
                Err(_) => Err(FlowError::BadFlagConfig {
                    key,
                    value: value.clone(),
                }),
            },
        }
    }

    /// gitflow-avh's default for a string option of a command
    /// (`gitflow.<kind>.<command>.<option>`, e.g. `gitflow.release.finish.message`).
    pub fn option(&self, kind: BranchType, command: &str, option: &str) -> Option<&str> {
        let key = format!("gitflow.{}.{command}.{option}", kind.name()).to_lowercase();
        self.gitflow.get(&key).map(String::as_str)
    }

    /// The base a branch was started from, as avh records it
    /// (`gitflow.branch.<branch>.base`), if recorded.
    pub fn recorded_base(&self, branch: &str) -> Option<&str> {
        // git lowercases the section and the key, never the subsection.
        self.gitflow
            .iter()
            .find(|(k, _)| {
                k.strip_prefix("gitflow.branch.")
                    .and_then(|rest| rest.strip_suffix(".base"))
                    .is_some_and(|b| b.eq_ignore_ascii_case(branch))
            })
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Where a finish in progress is recorded.
    pub fn state_path(&self) -> PathBuf {
        self.git_dir.join("buildkit").join("flow-state.json")
    }
}
