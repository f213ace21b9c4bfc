//! `init`, `<type> start` and `<type> list`.

use super::finish::open_branches;
use super::settings::{FlowSettings, SettingsSource};
use super::{avh, rev, BranchType, FlowError};
use crate::config::FILE_NAME;
use crate::git::{self, Untracked};

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
/// git config keys are written (so `git flow` keeps working), develop is
/// checked out, and its `.buildkit.toml` gets a `[flow]` table naming the
/// branches and prefixes, committed on develop (so that every clone and
/// every tag agrees on them): a new file when there is none, appended to
/// the existing text when it has no `[flow]`, left alone when it has one.
pub fn init(workdir: &std::path::Path) -> Result<InitOutcome, FlowError> {
    let mut actions = Vec::new();
    let settings = FlowSettings::load(workdir)?;
    let source = settings.source;
    if rev(workdir, "HEAD").is_none() {
        git::text(
            workdir,
            &[
                "symbolic-ref",
                "HEAD",
                &format!("refs/heads/{}", settings.main),
            ],
        )?;
        git::text(
            workdir,
            &["commit", "--allow-empty", "--quiet", "-m", "Initial commit"],
        )?;
        actions.push(format!("created {} with an initial commit", settings.main));
    }
    if rev(workdir, &format!("refs/heads/{}", settings.main)).is_none() {
        git::text(workdir, &["branch", &settings.main, "HEAD"])?;
        actions.push(format!("created {} from HEAD", settings.main));
    }
    if rev(workdir, &format!("refs/heads/{}", settings.develop)).is_none() {
        git::text(workdir, &["branch", &settings.develop, &settings.main])?;
        actions.push(format!(
            "created {} from {}",
            settings.develop, settings.main
        ));
    }
    settings.write_git_config()?;
    actions.push("wrote gitflow.* git config (git flow keeps working)".into());
    // The file as committed on develop, where the table goes.
    let develop = format!("refs/heads/{}", settings.develop);
    let existing = git::show_file(workdir, &develop, FILE_NAME).ok();
    match flow_table_to_add(existing.as_deref(), &settings)? {
        None => {
            git::text(workdir, &["checkout", "--quiet", &settings.develop])?;
        }
        Some(text) => {
            // Tracked changes (see `Untracked::Ignored`), and one untracked
            // file: an uncommitted file of that name is the user's, never
            // overwritten.
            let dirty = git::is_dirty(workdir, Untracked::Ignored)?;
            let toml = workdir.join(FILE_NAME);
            let untracked =
                toml.exists() && git::text(workdir, &["ls-files", "--", FILE_NAME])?.is_empty();
            if dirty || untracked {
                return Err(FlowError::Dirty);
            }
            git::text(workdir, &["checkout", "--quiet", &settings.develop])?;
            std::fs::write(&toml, text).map_err(|source| FlowError::Io {
                path: toml.clone(),
                source,
            })?;
            git::text(workdir, &["add", "--", FILE_NAME])?;
            let (message, action) = match existing {
                None => ("Add .buildkit.toml", "committed"),
                Some(_) => ("Add [flow] to .buildkit.toml", "added a [flow] table to"),
            };
            git::text(
                workdir,
                &["commit", "--quiet", "-m", message, "--", FILE_NAME],
            )?;
            actions.push(format!("{action} {FILE_NAME} on {}", settings.develop));
        }
    }
    let settings = FlowSettings::load(workdir)?;
    Ok(InitOutcome {
        settings,
        source,
        actions,
    })
}

/// The new text of `.buildkit.toml` (`existing`, or none) with a `[flow]`
/// table naming the settings appended, or None when it has one already
/// (`[flow]` or any `[flow.*]`). The existing text is kept byte for byte.
fn flow_table_to_add(
    existing: Option<&str>,
    settings: &FlowSettings,
) -> Result<Option<String>, FlowError> {
    let table = format!(
        "[flow]\nmain = {:?}\ndevelop = {:?}\nprefix = {{ feature = {:?}, bugfix = {:?}, release = {:?}, hotfix = {:?}, support = {:?}, version-tag = {:?} }}\n",
        settings.main, settings.develop, settings.feature, settings.bugfix, settings.release, settings.hotfix, settings.support, settings.version_tag
    );
    let Some(text) = existing else {
        return Ok(Some(format!(
            "# git-buildkit configuration: read from the commit being packaged.\n\n{table}"
        )));
    };
    // Parsed in full first: a file with an error is reported, not appended to.
    crate::config::Config::parse(text, FILE_NAME)?;
    let has_flow = toml::from_str::<toml::Table>(text).map_or(true, |t| t.contains_key("flow"));
    if has_flow {
        return Ok(None);
    }
    let separator = match text {
        "" => "",
        t if t.ends_with("\n\n") => "",
        t if t.ends_with('\n') => "\n",
        _ => "\n\n",
    };
    Ok(Some(format!("{text}{separator}{table}")))
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
///
/// All or nothing: the branch, tag, base, a clean tree (when files are
/// bumped) and every version file with its pattern are checked before the
/// branch is created, and a failure after that (a commit hook refusing the
/// bump) deletes the branch again and checks out what was checked out.
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
        name = check_start_version(settings, kind, &name)?;
    }
    let valid = !name.is_empty()
        && git::text(
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
    let bump_version = kind.is_versioned() && !settings.version_files.is_empty();
    // The bump commits on a clean tree only (tracked files; see
    // `Untracked::Ignored`).
    if bump_version && git::is_dirty(&settings.workdir, Untracked::Ignored)? {
        return Err(FlowError::Dirty);
    }
    // Every version file read from the base and its new text computed now:
    // a pattern that does not match must fail before the branch exists.
    let planned = if bump_version {
        super::version_files::plan_bump(&settings.workdir, &settings.version_files, &base, &name)?
    } else {
        Vec::new()
    };
    avh::pre(settings, kind, avh::Action::Start, &args)?;
    create_branch(settings, kind, &branch, &base, &planned, &name)?;
    avh::post(settings, kind, avh::Action::Start, &args);
    Ok(branch)
}

/// The version a release or hotfix starts with (`name` through the
/// start-version filter), once it is checked: semver without build
/// metadata, above every version tag, its tag not taken, and no other
/// branch of the kind open (unless several hotfixes may be).
fn check_start_version(
    settings: &FlowSettings,
    kind: BranchType,
    name: &str,
) -> Result<String, FlowError> {
    let name = avh::filter(settings, kind, avh::Filter::StartVersion, name, &[])?;
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
    Ok(name)
}

/// Creates `branch` at `base`, checks it out and commits the `planned`
/// version files; when the commit fails, checks out what was checked out
/// and deletes the branch again. Records the base as avh does (not for a
/// support branch): its finish, diff, rebase and delete, and ours, go
/// back to it.
fn create_branch(
    settings: &FlowSettings,
    kind: BranchType,
    branch: &str,
    base: &str,
    planned: &[(String, String)],
    version: &str,
) -> Result<(), FlowError> {
    let original = git::text(
        &settings.workdir,
        &["symbolic-ref", "--quiet", "--short", "HEAD"],
    )
    .or_else(|_| git::text(&settings.workdir, &["rev-parse", "HEAD"]))?;
    git::text(
        &settings.workdir,
        &["checkout", "--quiet", "-b", branch, base],
    )?;
    if !planned.is_empty() {
        let bumped = commit_bump(settings, planned, version);
        if let Err(e) = bumped {
            // The tree was clean: put the checkout back and forget the branch.
            let _ = git::text(
                &settings.workdir,
                &["checkout", "--quiet", "--force", &original],
            );
            let _ = git::text(&settings.workdir, &["branch", "-D", branch]);
            return Err(e);
        }
    }
    // Only a branch is a base to go back to (a tag or commit is not).
    let base_is_branch = rev(&settings.workdir, &format!("refs/heads/{base}")).is_some();
    if kind != BranchType::Support && base_is_branch {
        let key = format!("gitflow.branch.{branch}.base");
        git::text(&settings.workdir, &["config", "--local", &key, base])?;
    }
    Ok(())
}

/// Writes the bumped version files and commits them on the new branch.
fn commit_bump(
    settings: &FlowSettings,
    planned: &[(String, String)],
    version: &str,
) -> Result<(), FlowError> {
    super::version_files::write_planned(&settings.workdir, planned)?;
    let mut add = vec!["add", "--"];
    add.extend(planned.iter().map(|(path, _)| path.as_str()));
    git::text(&settings.workdir, &add)?;
    git::text(
        &settings.workdir,
        &[
            "commit",
            "--quiet",
            "-m",
            &format!("Bump version to {version}"),
        ],
    )?;
    Ok(())
}

/// The highest version tag.
pub fn latest_tag(settings: &FlowSettings) -> Result<Option<(String, semver::Version)>, FlowError> {
    let scheme = settings.scheme();
    let tags = git::text(&settings.workdir, &["tag", "--list"])?;
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
