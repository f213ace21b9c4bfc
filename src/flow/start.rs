//! `init`, `<type> start` and `<type> list`.

use super::finish::open_branches;
use super::settings::{FlowSettings, SettingsSource};
use super::{avh, git_text, rev, BranchType, FlowError};
use crate::config::FILE_NAME;

/// What `init` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InitOutcome {
    /// The settings now in force.
    pub settings: FlowSettings,
    /// Where they came from before `init` wrote anything.
    pub source: SettingsSource,
    /// Lines describing what changed.
    pub actions: Vec<String>,
}

/// Sets the repository up for the flow: main and develop exist, gitflow-avh's
/// git config keys are written (so `git flow` keeps working), and a
/// `.buildkit.toml` with a `[flow]` table is committed on develop when the
/// repository has none.
pub fn init(workdir: &std::path::Path) -> Result<InitOutcome, FlowError> {
    let mut actions = Vec::new();
    let settings = FlowSettings::load(workdir)?;
    let source = settings.source;
    if rev(workdir, "HEAD").is_none() {
        git_text(
            workdir,
            &[
                "symbolic-ref",
                "HEAD",
                &format!("refs/heads/{}", settings.main),
            ],
        )?;
        git_text(
            workdir,
            &["commit", "--allow-empty", "--quiet", "-m", "Initial commit"],
        )?;
        actions.push(format!("created {} with an initial commit", settings.main));
    }
    if rev(workdir, &format!("refs/heads/{}", settings.main)).is_none() {
        git_text(workdir, &["branch", &settings.main, "HEAD"])?;
        actions.push(format!("created {} from HEAD", settings.main));
    }
    if rev(workdir, &format!("refs/heads/{}", settings.develop)).is_none() {
        git_text(workdir, &["branch", &settings.develop, &settings.main])?;
        actions.push(format!(
            "created {} from {}",
            settings.develop, settings.main
        ));
    }
    settings.write_git_config()?;
    actions.push("wrote gitflow.* git config (git flow keeps working)".into());
    let toml = workdir.join(FILE_NAME);
    if !toml.exists() {
        let status = git_text(workdir, &["status", "--porcelain", "--untracked-files=no"])?;
        if !status.is_empty() {
            return Err(FlowError::Dirty);
        }
        git_text(workdir, &["checkout", "--quiet", &settings.develop])?;
        let text = format!(
            "# git-buildkit configuration: read from the commit being packaged.\n\n[flow]\nmain = {:?}\ndevelop = {:?}\nprefix = {{ feature = {:?}, bugfix = {:?}, release = {:?}, hotfix = {:?}, support = {:?}, version-tag = {:?} }}\n",
            settings.main, settings.develop, settings.feature, settings.bugfix, settings.release, settings.hotfix, settings.support, settings.version_tag
        );
        std::fs::write(&toml, text).map_err(|source| FlowError::Io {
            path: toml.clone(),
            source,
        })?;
        git_text(workdir, &["add", FILE_NAME])?;
        git_text(workdir, &["commit", "--quiet", "-m", "Add .buildkit.toml"])?;
        actions.push(format!(
            "committed {FILE_NAME} with a [flow] table on {}",
            settings.develop
        ));
    } else {
        git_text(workdir, &["checkout", "--quiet", &settings.develop])?;
    }
    let settings = FlowSettings::load(workdir)?;
    Ok(InitOutcome {
        settings,
        source,
        actions,
    })
}

/// How to start a branch.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Start from this commit instead of the type's base.
    pub base: Option<String>,
}

/// Starts `<prefix><name>` and checks it out; for releases and hotfixes
/// `name` is the version, which must be semver and above every version tag,
/// and the version files are bumped and committed.
pub fn start(
    settings: &FlowSettings,
    kind: BranchType,
    name: &str,
    options: &StartOptions,
) -> Result<String, FlowError> {
    for branch in [&settings.main, &settings.develop] {
        if rev(&settings.workdir, &format!("refs/heads/{branch}")).is_none() {
            return Err(FlowError::NotInitialized {
                missing: format!("branch {branch} does not exist"),
            });
        }
    }
    let mut name = name.to_owned();
    let base = options.base.clone().unwrap_or_else(|| match kind {
        BranchType::Hotfix | BranchType::Support => settings.main.clone(),
        _ => settings.develop.clone(),
    });
    if kind.is_versioned() {
        name = avh::filter(
            settings,
            &format!("{}-start-version", kind.name()),
            &name,
            &[],
        )?;
        let version = semver::Version::parse(&name).map_err(|_| FlowError::NotSemver {
            version: name.clone(),
        })?;
        if !version.build.is_empty() {
            return Err(FlowError::NotSemver {
                version: name.clone(),
            });
        }
        if let Some((tag, latest)) = latest_tag(settings)? {
            if version <= latest {
                return Err(FlowError::NotGreater {
                    version: version.to_string(),
                    latest: tag,
                });
            }
        }
        let tag = settings.scheme().tag_name(&version);
        if rev(&settings.workdir, &format!("refs/tags/{tag}")).is_some() {
            return Err(FlowError::TagExists { tag });
        }
        let open = open_branches(settings, kind)?;
        let single = kind == BranchType::Release || !settings.multi_hotfix;
        if let (true, Some(branch)) = (single, open.first()) {
            return Err(FlowError::AlreadyOpen {
                kind: kind.name(),
                branch: branch.clone(),
            });
        }
    }
    let valid = !name.is_empty()
        && git_text(
            &settings.workdir,
            &[
                "check-ref-format",
                "--branch",
                &format!("{}{name}", settings.prefix(kind)),
            ],
        )
        .is_ok();
    if !valid {
        return Err(FlowError::BadName { name });
    }
    let branch = format!("{}{name}", settings.prefix(kind));
    if rev(&settings.workdir, &format!("refs/heads/{branch}")).is_some() {
        return Err(FlowError::BranchExists { branch });
    }
    if rev(&settings.workdir, &base).is_none() {
        return Err(FlowError::NoBranch { branch: base });
    }
    let hook_name = if kind.is_versioned() {
        settings
            .scheme()
            .tag_name(
                &semver::Version::parse(&name).map_err(|_| FlowError::NotSemver {
                    version: name.clone(),
                })?,
            )
    } else {
        name.clone()
    };
    let args = [
        hook_name.as_str(),
        settings.origin.as_str(),
        branch.as_str(),
        base.as_str(),
    ];
    avh::pre(settings, kind.name(), "start", &args)?;
    if kind.is_versioned() && !settings.version_files.is_empty() {
        let status = git_text(
            &settings.workdir,
            &["status", "--porcelain", "--untracked-files=no"],
        )?;
        if !status.is_empty() {
            return Err(FlowError::Dirty);
        }
    }
    git_text(
        &settings.workdir,
        &["checkout", "--quiet", "-b", &branch, &base],
    )?;
    if kind.is_versioned() {
        let changed =
            super::version_files::bump_files(&settings.workdir, &settings.version_files, &name)?;
        if !changed.is_empty() {
            let mut add = vec!["add", "--"];
            add.extend(changed.iter().map(String::as_str));
            git_text(&settings.workdir, &add)?;
            git_text(
                &settings.workdir,
                &[
                    "commit",
                    "--quiet",
                    "-m",
                    &format!("Bump version to {name}"),
                ],
            )?;
        }
    }
    avh::post(settings, kind.name(), "start", &args);
    Ok(branch)
}

/// The highest version tag.
pub fn latest_tag(settings: &FlowSettings) -> Result<Option<(String, semver::Version)>, FlowError> {
    let scheme = settings.scheme();
    let tags = git_text(&settings.workdir, &["tag", "--list"])?;
    Ok(tags
        .lines()
        .filter_map(|t| scheme.parse_tag(t).ok().map(|v| (v, t.to_owned())))
        .max()
        .map(|(v, t)| (t, v)))
}

/// Open branches of a kind.
pub fn list(settings: &FlowSettings, kind: BranchType) -> Result<Vec<String>, FlowError> {
    open_branches(settings, kind)
}
