//! `flow config`: gitflow-avh's `git flow config` (`list`, `set`, `base`),
//! on the same `gitflow.*` keys with the same checks. One difference:
//! `[flow]` of `.buildkit.toml` takes precedence over git config for
//! git-buildkit (see `settings.rs`), so listing and setting say when it
//! overrides a key.

use std::path::PathBuf;

use super::branch::{local_exists, remote_tracking_exists};
use super::settings::FlowSettings;
use super::FlowError;
use crate::config::{Config, FlowConfig, FILE_NAME};
use crate::git;

/// Which git config file `list` and `set` use (avh's `--local`, ...);
/// the default reads all of them and writes the repository's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    /// git's default.
    #[default]
    Default,
    /// `--local`.
    Local,
    /// `--global`.
    Global,
    /// `--system`.
    System,
    /// `--file PATH`.
    File(PathBuf),
}

impl Scope {
    fn args(&self) -> Vec<String> {
        match self {
            Scope::Default => vec![],
            Scope::Local => vec!["--local".into()],
            Scope::Global => vec!["--global".into()],
            Scope::System => vec!["--system".into()],
            Scope::File(path) => vec!["--file".into(), path.display().to_string()],
        }
    }

    /// avh's line for where `set` wrote.
    pub fn describe(&self) -> String {
        match self {
            Scope::Default | Scope::Local => "Using repository specific configuration file.".into(),
            Scope::Global => "Using user-specific configuration file.".into(),
            Scope::System => "Using system-wide configuration file.".into(),
            Scope::File(path) => format!("Using configuration file '{}'", path.display()),
        }
    }
}

/// One of avh's options: its `set` name, git config key and label.
struct AvhOption {
    name: &'static str,
    key: &'static str,
    label: &'static str,
    toml: fn(&FlowConfig) -> Option<String>,
}

const OPTIONS: [AvhOption; 9] = [
    AvhOption {
        name: "master",
        key: "gitflow.branch.master",
        label: "Branch name for production releases",
        toml: |f| f.main.clone(),
    },
    AvhOption {
        name: "develop",
        key: "gitflow.branch.develop",
        label: "Branch name for \"next release\" development",
        toml: |f| f.develop.clone(),
    },
    AvhOption {
        name: "feature",
        key: "gitflow.prefix.feature",
        label: "Feature branch prefix",
        toml: |f| f.prefix.feature.clone(),
    },
    AvhOption {
        name: "bugfix",
        key: "gitflow.prefix.bugfix",
        label: "Bugfix branch prefix",
        toml: |f| f.prefix.bugfix.clone(),
    },
    AvhOption {
        name: "release",
        key: "gitflow.prefix.release",
        label: "Release branch prefix",
        toml: |f| f.prefix.release.clone(),
    },
    AvhOption {
        name: "hotfix",
        key: "gitflow.prefix.hotfix",
        label: "Hotfix branch prefix",
        toml: |f| f.prefix.hotfix.clone(),
    },
    AvhOption {
        name: "support",
        key: "gitflow.prefix.support",
        label: "Support branch prefix",
        toml: |f| f.prefix.support.clone(),
    },
    AvhOption {
        name: "versiontagprefix",
        key: "gitflow.prefix.versiontag",
        label: "Version tag prefix",
        toml: |f| f.prefix.version_tag.clone(),
    },
    AvhOption {
        name: "allowmultihotfix",
        key: "gitflow.multi-hotfix",
        label: "Allow multiple hotfix branches",
        toml: |_| None,
    },
];

/// A line of `flow config list`, or what `flow config set` changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    /// avh's label ("Feature branch prefix").
    pub label: &'static str,
    /// The git config key.
    pub key: &'static str,
    /// Its value in git config (empty when unset, as avh prints it).
    pub value: String,
    /// The value `[flow]` of .buildkit.toml gives instead, if it does.
    pub toml: Option<String>,
}

/// `[flow]` of the work tree's .buildkit.toml (defaults when there is none).
fn toml_flow(settings: &FlowSettings) -> Result<FlowConfig, FlowError> {
    match std::fs::read_to_string(settings.workdir.join(FILE_NAME)) {
        Ok(text) => Ok(Config::parse(&text, FILE_NAME)?.flow),
        Err(_) => Ok(FlowConfig::default()),
    }
}

fn get(settings: &FlowSettings, scope: &Scope, key: &str) -> String {
    let mut args = vec!["config".to_owned()];
    args.extend(scope.args());
    args.extend(["--get".to_owned(), key.to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    git::text(&settings.workdir, &args).unwrap_or_default()
}

/// `flow config [list]`: avh's eight settings from git config, each with
/// the value of `[flow]` when .buildkit.toml overrides it.
pub fn list(settings: &FlowSettings, scope: &Scope) -> Result<Vec<Setting>, FlowError> {
    let flow = toml_flow(settings)?;
    Ok(OPTIONS[..8]
        .iter()
        .map(|o| Setting {
            label: o.label,
            key: o.key,
            value: get(settings, scope, o.key),
            toml: (o.toml)(&flow),
        })
        .collect())
}

/// avh's `check_boolean` (shflags: 0 is true).
fn avh_boolean(value: &str) -> bool {
    matches!(
        value.to_lowercase().as_str(),
        "0" | "1" | "y" | "yes" | "t" | "true" | "n" | "no" | "f" | "false"
    )
}

/// What `flow config set` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetOutcome {
    /// The setting, with its new value.
    pub setting: Setting,
    /// A local branch made from the origin's (avh does so for master and
    /// develop when only the remote has them).
    pub created: Option<String>,
}

/// `flow config set <option> <value>` with avh's checks: a known option
/// (case-insensitive), a value; master and develop differ and exist
/// locally (made from `origin/<value>` when only that exists), and
/// allowmultihotfix is a boolean.
pub fn set(
    settings: &FlowSettings,
    scope: &Scope,
    option: &str,
    value: &str,
) -> Result<SetOutcome, FlowError> {
    let name = option.to_lowercase();
    let Some(opt) = OPTIONS.iter().find(|o| o.name == name) else {
        return Err(FlowError::UnknownOption {
            option: option.to_owned(),
        });
    };
    let bad = |reason: &str| FlowError::BadOptionValue {
        option: opt.name.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if value.is_empty() {
        return Err(bad("no value given"));
    }
    let mut created = None;
    if let Some(other) = match opt.name {
        "master" => Some("gitflow.branch.develop"),
        "develop" => Some("gitflow.branch.master"),
        _ => None,
    } {
        if get(settings, &Scope::Default, other) == value {
            return Err(bad(
                "the production and \"next release\" branches must differ",
            ));
        }
        if !local_exists(settings, value) {
            // avh looks for origin/<value>, whatever gitflow.origin says.
            if !remote_tracking_exists(settings, "origin", value) {
                return Err(bad("no local branch has that name"));
            }
            git::text(
                &settings.workdir,
                &["branch", value, &format!("origin/{value}")],
            )?;
            created = Some(value.to_owned());
        }
    }
    if opt.name == "allowmultihotfix" && !avh_boolean(value) {
        return Err(bad("valid values are true and false"));
    }
    let mut args = vec!["config".to_owned()];
    args.extend(scope.args());
    args.extend([opt.key.to_owned(), value.to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    git::text(&settings.workdir, &args)?;
    Ok(SetOutcome {
        setting: Setting {
            label: opt.label,
            key: opt.key,
            value: value.to_owned(),
            toml: (opt.toml)(&toml_flow(settings)?),
        },
        created,
    })
}

/// `flow config base <branch>`: the recorded base of a branch.
pub fn base(settings: &FlowSettings, branch: &str) -> Option<String> {
    git::text(
        &settings.workdir,
        &[
            "config",
            "--local",
            "--get",
            &format!("gitflow.branch.{branch}.base"),
        ],
    )
    .ok()
    .filter(|b| !b.is_empty())
}

/// `flow config base --set <branch> <base>`: both must be branches (local,
/// or the origin's).
pub fn set_base(settings: &FlowSettings, branch: &str, base: &str) -> Result<(), FlowError> {
    for b in [branch, base] {
        if !local_exists(settings, b) && !remote_tracking_exists(settings, &settings.origin, b) {
            return Err(FlowError::NoBranch { branch: b.into() });
        }
    }
    git::text(
        &settings.workdir,
        &[
            "config",
            "--local",
            &format!("gitflow.branch.{branch}.base"),
            base,
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avh_booleans_are_shflags_spellings() {
        for yes in ["true", "T", "yes", "Y", "1", "0", "false", "No", "f", "n"] {
            assert!(avh_boolean(yes), "{yes}");
        }
        for no in ["", "on", "off", "2", "perhaps", "truth"] {
            assert!(!avh_boolean(no), "{no}");
        }
    }

    #[test]
    fn every_option_has_its_own_key() {
        let mut keys: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), OPTIONS.len());
        assert_eq!(OPTIONS[8].name, "allowmultihotfix");
    }
}
