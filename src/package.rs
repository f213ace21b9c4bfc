//! The packaging stage: a revision of a repository in, `.deb` files out.
//!
//! The revision's tree is exported into a fresh temporary directory and its
//! own `.buildkit.toml` is read from the commit, so nothing uncommitted can
//! reach a package. The build command runs there (see [`build`]: a clean
//! environment, a sandbox, a time limit) with `SOURCE_DATE_EPOCH` set to the
//! commit time; every timestamp in the packages is that time, so building
//! the same tag twice gives the same bytes. Every file read from the built
//! tree is resolved by [`confine`], so no symlink brings a file of the host
//! into a package.

mod build;
mod confine;
mod description;

use std::path::{Path, PathBuf};

use build::{Build, BuildVars, RunDirs};
pub use build::{Isolation, BUILD_PATH};
use confine::{Last, Outside};

use crate::changelog;
use crate::config::{Config, ConfigError, PackageConfig, Sandbox, FILE_NAME};
use crate::deb::{
    self, Compression, Control, ControlFile, DataTree, DebError, PackageSpec, WrittenDeb,
};
use crate::git::{CommitInfo, GitError, Repo};
use crate::process::{Limit, ProcessError};
use crate::progress::Listener;
use crate::version::{DebVersion, TagScheme, VersionError};

/// Why packaging failed.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Reading the repository failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The commit has no `.buildkit.toml`.
    #[error("commit {rev} has no {FILE_NAME}")]
    NoConfig { rev: String },
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The configuration defines no package.
    #[error("{origin} defines no [[package]]")]
    NoPackages { origin: String },
    /// No version tag at or below the revision.
    #[error("no version tag ({prefix}X.Y.Z) at or before {rev}")]
    NoVersionTag { rev: String, prefix: String },
    /// A version tag is not a valid version.
    #[error("invalid version tag {tag:?}")]
    BadTag {
        tag: String,
        #[source]
        source: VersionError,
    },
    /// The build command failed.
    #[error("the build command `{command}` failed")]
    Build {
        command: String,
        #[source]
        source: ProcessError,
    },
    /// The build command ran past its `build-timeout` and was killed.
    #[error("build timed out after {limit}: the build command `{command}` and every process it started were killed")]
    BuildTimeout {
        command: String,
        limit: Limit,
        output: String,
    },
    /// `sandbox = "bwrap"` on a host where bwrap does not work.
    #[error("package {package}: sandbox = \"bwrap\" but bwrap is not usable here: {reason}")]
    NoSandbox { package: String, reason: String },
    /// A path read from the tree leads outside it through a symlink.
    #[error("package {package}: {what} {path:?} leads outside the exported tree: {via}")]
    LeavesTree {
        package: String,
        what: TreeFile,
        path: String,
        /// The symlink that does it: `link -> target`.
        via: String,
    },
    /// A one-line description and no README paragraph to extend it with.
    #[error("package {package}: the description is only a synopsis line, and the tree has no README paragraph to take the long description from")]
    NoLongDescription { package: String },
    /// An asset's source is not in the built tree.
    #[error("package {package}: asset {src:?} does not exist in the built tree")]
    MissingAsset { package: String, src: String },
    /// No copyright file could be found.
    #[error("package {package}: no copyright source: the tree has no LICENSE or COPYING file and `copyright` is not set")]
    NoCopyright { package: String },
    /// A maintainer-scripts directory is missing or holds an unknown file.
    #[error("package {package}: {problem}")]
    MaintainerScripts { package: String, problem: String },
    /// A file of the build tree could not be read or the temporary directory made.
    #[error("could not read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing a package failed.
    #[error("package {package}")]
    Deb {
        package: String,
        #[source]
        source: DebError,
    },
}

impl PackageError {
    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            PackageError::NoConfig { .. } => Some(format!("commit a {FILE_NAME} (see `git buildkit help package`), then tag again")),
            PackageError::NoVersionTag { prefix, .. } => Some(format!("create one with `git tag -a {prefix}0.1.0 -m 0.1.0`")),
            PackageError::BadTag { .. } => Some("version tags look like v1.2.0 or v1.2.0-rc.1 (semver, no build metadata)".into()),
            PackageError::Config(_) => Some("the file is read from the commit being packaged; fix it, commit, and tag a new version".into()),
            PackageError::BuildTimeout { .. } => Some("raise `build-timeout` in the [[package]] (e.g. build-timeout = \"2h\") if the build needs longer".into()),
            PackageError::NoSandbox { .. } => Some("install bubblewrap (apt-get install bubblewrap), or set sandbox = \"auto\" to build unsandboxed where bwrap does not work".into()),
            PackageError::LeavesTree { .. } => Some("symlinks in the tree may point only inside it; package the file itself".into()),
            PackageError::NoLongDescription { .. } => Some("write the long description after the synopsis line, for example:\n  description = \"\"\"\n  prints a friendly greeting\n  A longer text saying what the package does, shown by `apt show`.\n  \"\"\"".into()),
            _ => None,
        }
    }

    /// The last lines the build command printed, when it failed or timed out.
    pub fn build_output(&self) -> Option<&str> {
        match self {
            PackageError::Build { source, .. } => Some(source.output()),
            PackageError::BuildTimeout { output, .. } => Some(output),
            _ => None,
        }
    }
}

/// A file git-buildkit reads from the built tree, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeFile {
    /// An asset's `src`.
    Asset,
    /// The copyright file.
    Copyright,
    /// The `maintainer-scripts` directory.
    MaintainerScripts,
    /// A file in it.
    MaintainerScript,
    /// The README a one-line description is extended from.
    Readme,
}

impl std::fmt::Display for TreeFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TreeFile::Asset => "asset",
            TreeFile::Copyright => "copyright file",
            TreeFile::MaintainerScripts => "maintainer-scripts directory",
            TreeFile::MaintainerScript => "maintainer script",
            TreeFile::Readme => "README",
        })
    }
}

/// What to package.
#[derive(Debug, Clone)]
pub struct PackageRequest {
    /// The revision (default `HEAD`).
    pub rev: Option<String>,
    /// Where the `.deb` files go.
    pub out_dir: PathBuf,
    /// Overrides each package's configured compression.
    pub compression: Option<Compression>,
}

/// What packaging produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PackageOutcome {
    /// The commit packaged.
    pub commit: String,
    /// The version tag, if the commit carries one.
    pub tag: Option<String>,
    /// The version (semver, or a snapshot version for untagged commits).
    pub version: String,
    /// The packages written.
    pub debs: Vec<WrittenDeb>,
    /// The build commands run, and how.
    pub builds: Vec<BuildReport>,
}

/// A build command that ran.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuildReport {
    /// The command.
    pub command: String,
    /// Whether it ran sandboxed.
    pub isolation: Isolation,
}

/// The version a commit is packaged as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedVersion {
    /// The tag the commit carries, or the nearest one below it.
    pub tag: String,
    /// The tag's version.
    pub semver: semver::Version,
    /// Commits since the tag and the abbreviated id, for untagged commits.
    pub snapshot: Option<(u32, String)>,
}

impl ResolvedVersion {
    /// The Debian version: the tag's, with `+N.gHASH` appended to the
    /// upstream part for a snapshot, which sorts after the tag and before
    /// the next release.
    pub fn debian(&self, scheme: &TagScheme) -> Result<DebVersion, PackageError> {
        let mut version =
            scheme
                .debian_version(&self.semver)
                .map_err(|source| PackageError::BadTag {
                    tag: self.tag.clone(),
                    source,
                })?;
        if let Some((count, hash)) = &self.snapshot {
            version.upstream = format!("{}+{count}.g{hash}", version.upstream);
        }
        Ok(version)
    }

    /// The version as the build sees it in `BUILDKIT_VERSION`.
    pub fn display(&self) -> String {
        match &self.snapshot {
            Some((count, hash)) => format!("{}+{count}.g{hash}", self.semver),
            None => self.semver.to_string(),
        }
    }
}

/// Reads `.buildkit.toml` from `commit`.
pub fn load_config(repo: &Repo, commit: &CommitInfo, rev: &str) -> Result<Config, PackageError> {
    let bytes = repo
        .read_file(&commit.id, FILE_NAME)?
        .ok_or_else(|| PackageError::NoConfig {
            rev: rev.to_owned(),
        })?;
    let origin = format!("{rev}:{FILE_NAME}");
    Ok(Config::parse(&String::from_utf8_lossy(&bytes), &origin)?)
}

/// Finds the version of `commit`: the highest version tag on it (or `rev`
/// itself when it names a version tag), else the nearest one below it as a snapshot.
pub fn resolve_version(
    repo: &Repo,
    scheme: &TagScheme,
    rev: &str,
    commit: &CommitInfo,
) -> Result<ResolvedVersion, PackageError> {
    let bad_tag = |tag: &str| {
        let tag = tag.to_owned();
        move |source| PackageError::BadTag { tag, source }
    };
    let tags = repo.tags()?;
    if let Some(tag) = tags.iter().find(|t| t.name == rev) {
        if tag.name.starts_with(&scheme.prefix) {
            let semver = scheme.parse_tag(&tag.name).map_err(bad_tag(&tag.name))?;
            return Ok(ResolvedVersion {
                tag: tag.name.clone(),
                semver,
                snapshot: None,
            });
        }
    }
    let on_commit = tags
        .iter()
        .filter(|t| t.commit.id == commit.id)
        .filter_map(|t| scheme.parse_tag(&t.name).ok().map(|v| (v, &t.name)))
        .max();
    if let Some((semver, name)) = on_commit {
        return Ok(ResolvedVersion {
            tag: name.clone(),
            semver,
            snapshot: None,
        });
    }
    match repo.describe(&commit.id, &scheme.prefix)? {
        Some((tag, count, hash)) => {
            let semver = scheme.parse_tag(&tag).map_err(bad_tag(&tag))?;
            Ok(ResolvedVersion {
                tag,
                semver,
                snapshot: Some((count, hash)),
            })
        }
        None => Err(PackageError::NoVersionTag {
            rev: rev.to_owned(),
            prefix: scheme.prefix.clone(),
        }),
    }
}

/// The highest version tag of the repository.
pub fn latest_version(
    repo: &Repo,
    scheme: &TagScheme,
) -> Result<Option<(String, semver::Version)>, PackageError> {
    Ok(repo
        .tags()?
        .into_iter()
        .filter_map(|t| scheme.parse_tag(&t.name).ok().map(|v| (v, t.name)))
        .max()
        .map(|(v, name)| (name, v)))
}

/// Builds every package of `.buildkit.toml` for the request's revision.
pub fn package(
    repo: &Repo,
    request: &PackageRequest,
    listener: &dyn Listener,
) -> Result<PackageOutcome, PackageError> {
    let rev = request.rev.clone().unwrap_or_else(|| "HEAD".to_owned());
    let commit = repo.resolve(&rev)?;
    if request.rev.is_none() && repo.is_dirty()? {
        listener.warn(
            "the work tree has uncommitted changes; they are ignored: packaging the committed HEAD",
        );
    }
    let config = load_config(repo, &commit, &rev)?;
    if config.packages.is_empty() {
        return Err(PackageError::NoPackages {
            origin: format!("{rev}:{FILE_NAME}"),
        });
    }
    let version = resolve_version(repo, &config.tag_scheme(None), &rev, &commit)?;
    if version.snapshot.is_some() {
        listener.note(&format!(
            "{rev} is not tagged: packaging snapshot {} (after {})",
            version.display(),
            version.tag
        ));
    }

    let temp = tempfile::Builder::new()
        .prefix("buildkit-")
        .tempdir()
        .map_err(|source| PackageError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let dirs = RunDirs::new(temp.path());
    for dir in [&dirs.src, &dirs.home, &dirs.tmp] {
        std::fs::create_dir(dir).map_err(|source| PackageError::Io {
            path: dir.clone(),
            source,
        })?;
    }
    let tree = dirs.src.clone();
    listener.status(
        "Exporting",
        &format!("{} ({})", version.tag, &commit.id[..12]),
    );
    repo.export_tree(&commit.id, &tree)?;
    // Read before the build runs, so that the build cannot change it.
    let readme = readme_text(&config, &tree)?;

    let vars = BuildVars {
        epoch: u64::try_from(commit.time).unwrap_or(0),
        version: version.display(),
        tag: version.tag.clone(),
        commit: commit.id.clone(),
    };
    let builds = run_builds(&config, &dirs, &vars, listener)?;
    let epoch = vars.epoch;

    let history = History::collect(repo, &config.tag_scheme(None), &version, &commit)?;
    // All packages are written into a staging directory beside their final
    // place and moved in only when every one succeeded: a failure leaves no
    // partial set behind.
    let out_err = |source| PackageError::Io {
        path: request.out_dir.clone(),
        source,
    };
    std::fs::create_dir_all(&request.out_dir).map_err(out_err)?;
    let staging = tempfile::Builder::new()
        .prefix(".buildkit-staging-")
        .tempdir_in(&request.out_dir)
        .map_err(out_err)?;
    let mut debs = Vec::new();
    for package in &config.packages {
        let scheme = config.tag_scheme(Some(package));
        let deb_version = version.debian(&scheme)?;
        let name = package.name.get_ref();
        listener.status(
            "Packaging",
            &format!("{name} {deb_version} ({})", package.architecture.get_ref()),
        );
        let spec = assemble(
            package,
            &tree,
            &deb_version,
            epoch,
            &history.changelog(&scheme, name, package.maintainer.get_ref())?,
            &version.tag,
            readme.as_deref(),
        )?;
        let spec = PackageSpec {
            compression: request
                .compression
                .or(package.compression)
                .unwrap_or_default(),
            ..spec
        };
        let written =
            deb::write_deb(&spec, staging.path()).map_err(|source| PackageError::Deb {
                package: name.clone(),
                source,
            })?;
        debs.push(written);
    }
    for deb in &mut debs {
        let target = request
            .out_dir
            .join(deb.path.file_name().unwrap_or_default());
        std::fs::rename(&deb.path, &target).map_err(|source| PackageError::Io {
            path: target.clone(),
            source,
        })?;
        deb.path = target;
    }
    Ok(PackageOutcome {
        commit: commit.id,
        tag: version.snapshot.is_none().then(|| version.tag.clone()),
        version: version.display(),
        debs,
        builds,
    })
}

/// Runs each distinct build once, in the configuration's order.
fn run_builds(
    config: &Config,
    dirs: &RunDirs,
    vars: &BuildVars,
    listener: &dyn Listener,
) -> Result<Vec<BuildReport>, PackageError> {
    let mut done: Vec<Build> = Vec::new();
    let mut reports = Vec::new();
    let mut bwrap: Option<Result<(), String>> = None;
    let paths = crate::paths::Env::current();
    let hidden = build::hidden_paths(paths.home().ok(), paths.keys_dir().ok());
    for package in &config.packages {
        let Some(build) = Build::of(package) else {
            continue;
        };
        if done.contains(&build) {
            continue;
        }
        let isolation = match build.sandbox {
            Sandbox::None => Isolation::Unsandboxed,
            Sandbox::Auto | Sandbox::Bwrap => match bwrap.get_or_insert_with(build::bwrap_usable) {
                Ok(()) => Isolation::Bwrap {
                    network: build.network,
                },
                Err(reason) if build.sandbox == Sandbox::Bwrap => {
                    return Err(PackageError::NoSandbox {
                        package: package.name.get_ref().clone(),
                        reason: reason.clone(),
                    })
                }
                Err(reason) => {
                    listener.warn(&format!(
                        "bwrap is not usable here ({reason}): the build runs unsandboxed, \
                             with the caller's file system and network; install bubblewrap, \
                             or set sandbox = \"none\" to choose this"
                    ));
                    Isolation::Unsandboxed
                }
            },
        };
        listener.status(
            "Building",
            &format!("{}: `{}`", isolation.describe(), build.command),
        );
        let env = build::environment(&build.env, &|name| std::env::var_os(name), dirs, vars);
        build::command(&build, isolation, dirs, &hidden, env)
            .stream(&mut *listener.output(), 20)
            .map_err(|source| match source {
                ProcessError::Timeout { limit, output, .. } => PackageError::BuildTimeout {
                    command: build.command.clone(),
                    limit,
                    output,
                },
                source => PackageError::Build {
                    command: build.command.clone(),
                    source,
                },
            })?;
        reports.push(BuildReport {
            command: build.command.clone(),
            isolation,
        });
        done.push(build);
    }
    Ok(reports)
}

/// The text of the tree's README, when some package's description is only
/// a synopsis and needs its first paragraph (see [`description`]).
fn readme_text(config: &Config, tree: &Path) -> Result<Option<String>, PackageError> {
    let Some(package) = config
        .packages
        .iter()
        .find(|p| description::is_synopsis_only(p.description.get_ref()))
    else {
        return Ok(None);
    };
    let Some(file) = description::READMES
        .iter()
        .find(|f| std::fs::symlink_metadata(tree.join(f)).is_ok())
    else {
        return Ok(None);
    };
    let path = confine::resolve(tree, file, Last::Follow)
        .map_err(|o| leaves_tree(package.name.get_ref(), TreeFile::Readme, file, o))?;
    let text = std::fs::read(&path).map_err(|source| PackageError::Io { path, source })?;
    Ok(Some(String::from_utf8_lossy(&text).into_owned()))
}

fn leaves_tree(package: &str, what: TreeFile, path: &str, outside: Outside) -> PackageError {
    PackageError::LeavesTree {
        package: package.to_owned(),
        what,
        path: path.to_owned(),
        via: format!("{} -> {}", outside.link, outside.target),
    }
}

/// The releases a changelog covers: each version tag up to the one packaged,
/// with the commit subjects since the previous one.
struct History {
    releases: Vec<(semver::Version, i64, Vec<String>)>,
    snapshot: Option<(ResolvedVersion, i64, Vec<String>)>,
}

impl History {
    fn collect(
        repo: &Repo,
        scheme: &TagScheme,
        version: &ResolvedVersion,
        commit: &CommitInfo,
    ) -> Result<Self, PackageError> {
        let mut tags: Vec<_> = repo
            .tags()?
            .into_iter()
            .filter_map(|t| scheme.parse_tag(&t.name).ok().map(|v| (v, t.commit)))
            .filter(|(v, _)| *v <= version.semver)
            .collect();
        tags.sort_by(|a, b| a.0.cmp(&b.0));
        tags.dedup_by(|a, b| a.0 == b.0);
        let mut releases = Vec::new();
        let mut previous: Option<&CommitInfo> = None;
        for (semver, tag_commit) in &tags {
            let changes = subjects(repo, &tag_commit.id, previous.map(|p| p.id.as_str()))?;
            releases.push((semver.clone(), tag_commit.time, changes));
            previous = Some(tag_commit);
        }
        releases.reverse();
        let snapshot = match (&version.snapshot, previous) {
            (Some(_), Some(base)) => Some((
                version.clone(),
                commit.time,
                subjects(repo, &commit.id, Some(&base.id))?,
            )),
            _ => None,
        };
        Ok(Self { releases, snapshot })
    }

    fn changelog(
        &self,
        scheme: &TagScheme,
        package: &str,
        maintainer: &str,
    ) -> Result<String, PackageError> {
        let mut entries = Vec::new();
        if let Some((version, time, changes)) = &self.snapshot {
            entries.push(changelog::Entry {
                version: version.debian(scheme)?.to_string(),
                time: *time,
                changes: changes.clone(),
            });
        }
        for (semver, time, changes) in &self.releases {
            let version = scheme
                .debian_version(semver)
                .map_err(|source| PackageError::BadTag {
                    tag: scheme.tag_name(semver),
                    source,
                })?;
            entries.push(changelog::Entry {
                version: version.to_string(),
                time: *time,
                changes: changes.clone(),
            });
        }
        Ok(changelog::render(package, maintainer, &entries))
    }
}

fn subjects(repo: &Repo, tip: &str, hide: Option<&str>) -> Result<Vec<String>, PackageError> {
    Ok(repo
        .log(tip, hide)?
        .into_iter()
        .map(|e| e.subject)
        .collect())
}

/// The scripts dpkg runs and the other files a control directory may hold.
const SCRIPTS: &[&str] = &["preinst", "postinst", "prerm", "postrm", "config"];
const CONTROL_DATA: &[&str] = &["templates", "triggers", "shlibs", "symbols"];
const LICENSE_FILES: &[&str] = &[
    "LICENSE",
    "LICENSE.md",
    "LICENSE.txt",
    "COPYING",
    "COPYING.md",
    "COPYING.txt",
];

/// Builds the spec of one package from its configuration and the built tree.
fn assemble(
    package: &PackageConfig,
    tree: &Path,
    version: &DebVersion,
    epoch: u64,
    changelog_text: &str,
    tag: &str,
    readme: Option<&str>,
) -> Result<PackageSpec, PackageError> {
    let name = package.name.get_ref().as_str();
    let deb_err = |source| PackageError::Deb {
        package: name.to_owned(),
        source,
    };
    let text = package.description.get_ref();
    let extended = if description::is_synopsis_only(text) {
        let paragraph = readme.and_then(|r| description::readme_paragraph(r, text.trim()));
        if paragraph.is_none() {
            return Err(PackageError::NoLongDescription {
                package: name.to_owned(),
            });
        }
        paragraph
    } else {
        None
    };
    let mut data = DataTree::new();
    let mut conffiles = Vec::new();
    for asset in &package.assets {
        let rel = asset.src.get_ref();
        let src = confine::resolve(tree, rel, Last::Keep)
            .map_err(|o| leaves_tree(name, TreeFile::Asset, rel, o))?;
        let meta = std::fs::symlink_metadata(&src).map_err(|_| PackageError::MissingAsset {
            package: name.to_owned(),
            src: asset.src.get_ref().clone(),
        })?;
        let mut dest = asset.dest.get_ref().clone();
        if meta.file_type().is_symlink() {
            // Packaged as a symlink; where it leads must be inside the tree too.
            confine::resolve(tree, rel, Last::Follow)
                .map_err(|o| leaves_tree(name, TreeFile::Asset, rel, o))?;
        }
        if dest.ends_with('/') && !meta.is_dir() {
            dest.push_str(&file_name(&src));
        }
        add_path(&mut data, &src, &dest, asset.mode.map(|m| m.0)).map_err(|e| match e {
            AddError::Deb(e) => deb_err(e),
            AddError::Io(path, source) => PackageError::Io { path, source },
        })?;
        if asset.conffile {
            conffiles.push(dest.clone());
        }
    }

    let doc = format!("/usr/share/doc/{name}");
    let copyright = copyright_text(package, tree, tag)?;
    data.add_bytes(&format!("{doc}/copyright"), copyright.into_bytes(), 0o644)
        .map_err(deb_err)?;
    data.add_bytes(
        &format!("{doc}/changelog.Debian.gz"),
        deb::gzip_n(changelog_text.as_bytes()),
        0o644,
    )
    .map_err(deb_err)?;

    let mut control_files = maintainer_scripts(package, tree)?;
    conffiles.extend(data.files_under("etc/"));
    conffiles.sort();
    conffiles.dedup();
    if !conffiles.is_empty() {
        let text: String = conffiles.iter().map(|c| format!("{c}\n")).collect();
        control_files.push(ControlFile {
            name: "conffiles".into(),
            mode: 0o644,
            bytes: text.into_bytes(),
        });
    }

    Ok(PackageSpec {
        control: control(package, version, extended.as_deref()).map_err(|e| deb_err(e.into()))?,
        control_files,
        data,
        compression: Compression::default(),
        mtime: epoch,
        generate: true,
        on_disk: None,
    })
}

fn control(
    package: &PackageConfig,
    version: &DebVersion,
    readme: Option<&str>,
) -> Result<Control, deb::ControlError> {
    let mut control = Control::new();
    control.push("Package", package.name.get_ref())?;
    control.push("Version", &version.to_string())?;
    control.push("Architecture", package.architecture.get_ref())?;
    control.push("Maintainer", package.maintainer.get_ref())?;
    for (field, list) in package.relations() {
        if !list.is_empty() {
            let joined: Vec<&str> = list.iter().map(|r| r.get_ref().as_str()).collect();
            control.push(field, &joined.join(", "))?;
        }
    }
    control.push("Section", package.section.as_deref().unwrap_or("misc"))?;
    control.push(
        "Priority",
        package.priority.as_deref().unwrap_or("optional"),
    )?;
    if let Some(homepage) = &package.homepage {
        control.push("Homepage", homepage)?;
    }
    control.push(
        "Description",
        &description::field(package.description.get_ref(), readme),
    )?;
    Ok(control)
}

fn copyright_text(package: &PackageConfig, tree: &Path, tag: &str) -> Result<String, PackageError> {
    let name = package.name.get_ref();
    let source = match &package.copyright {
        Some(path) => Some(path.get_ref().clone()),
        None => LICENSE_FILES
            .iter()
            .find(|f| std::fs::symlink_metadata(tree.join(f)).is_ok())
            .map(|f| (*f).to_owned()),
    };
    let Some(source) = source else {
        return Err(PackageError::NoCopyright {
            package: name.clone(),
        });
    };
    let path = confine::resolve(tree, &source, Last::Follow)
        .map_err(|o| leaves_tree(name, TreeFile::Copyright, &source, o))?;
    let license =
        std::fs::read_to_string(&path).map_err(|source| PackageError::Io { path, source })?;
    Ok(format!(
        "{name} was packaged by git-buildkit from {tag}.\nIts license ({source}) follows.\n\n{}\n",
        license.trim_end()
    ))
}

fn maintainer_scripts(
    package: &PackageConfig,
    tree: &Path,
) -> Result<Vec<ControlFile>, PackageError> {
    let Some(dir) = &package.maintainer_scripts else {
        return Ok(Vec::new());
    };
    let problem = |problem: String| PackageError::MaintainerScripts {
        package: package.name.get_ref().clone(),
        problem,
    };
    let name = package.name.get_ref();
    let path = confine::resolve(tree, dir.get_ref(), Last::Follow)
        .map_err(|o| leaves_tree(name, TreeFile::MaintainerScripts, dir.get_ref(), o))?;
    let entries = std::fs::read_dir(&path).map_err(|_| {
        problem(format!(
            "maintainer-scripts directory {:?} does not exist in the built tree",
            dir.get_ref()
        ))
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| PackageError::Io {
            path: path.clone(),
            source,
        })?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let mode = if SCRIPTS.contains(&file.as_str()) {
            0o755
        } else if CONTROL_DATA.contains(&file.as_str()) {
            0o644
        } else {
            continue;
        };
        let rel = format!("{}/{file}", dir.get_ref().trim_end_matches('/'));
        let script = confine::resolve(tree, &rel, Last::Follow)
            .map_err(|o| leaves_tree(name, TreeFile::MaintainerScript, &rel, o))?;
        let bytes = std::fs::read(&script).map_err(|source| PackageError::Io {
            path: script.clone(),
            source,
        })?;
        if mode == 0o755 && !bytes.starts_with(b"#!") {
            return Err(problem(format!(
                "maintainer script {file} must start with a #! line"
            )));
        }
        files.push(ControlFile {
            name: file,
            mode,
            bytes,
        });
    }
    Ok(files)
}

enum AddError {
    Deb(DebError),
    Io(PathBuf, std::io::Error),
}

/// Adds a file, symlink or (recursively, sorted) directory at `dest`.
fn add_path(
    data: &mut DataTree,
    src: &Path,
    dest: &str,
    mode: Option<u32>,
) -> Result<(), AddError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |e| AddError::Io(src.to_owned(), e);
    let meta = std::fs::symlink_metadata(src).map_err(io)?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(src).map_err(io)?;
        return data
            .add_symlink(dest, &target.to_string_lossy())
            .map_err(AddError::Deb);
    }
    if meta.is_dir() {
        data.add_dir(dest, 0o755).map_err(AddError::Deb)?;
        let mut children: Vec<_> = std::fs::read_dir(src)
            .map_err(io)?
            .collect::<Result<_, _>>()
            .map_err(io)?;
        children.sort_by_key(std::fs::DirEntry::file_name);
        for child in children {
            let child_dest = format!(
                "{}/{}",
                dest.trim_end_matches('/'),
                child.file_name().to_string_lossy()
            );
            add_path(data, &child.path(), &child_dest, mode)?;
        }
        return Ok(());
    }
    let executable = meta.permissions().mode() & 0o111 != 0;
    let mode = mode.unwrap_or(if executable { 0o755 } else { 0o644 });
    data.add_file(dest, src.to_owned(), meta.len(), mode)
        .map_err(AddError::Deb)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
