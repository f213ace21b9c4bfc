//! The packaging stage: a revision of a repository in, `.deb` files out.
//!
//! The revision's tree is exported into a fresh temporary directory and its
//! own `.buildkit.toml` is read from the commit, so nothing uncommitted can
//! reach a package. The build command runs there with `SOURCE_DATE_EPOCH`
//! set to the commit time; every timestamp in the packages is that time, so
//! building the same tag twice gives the same bytes.

use std::path::{Path, PathBuf};

use crate::changelog;
use crate::config::{Config, ConfigError, PackageConfig, FILE_NAME};
use crate::deb::{
    self, Compression, Control, ControlFile, DataTree, DebError, PackageSpec, WrittenDeb,
};
use crate::git::{CommitInfo, GitError, Repo};
use crate::process::{Cmd, ProcessError};
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
    /// The documented exit code: 1 when the work failed, 2 for usage or configuration.
    pub fn exit_code(&self) -> u8 {
        match self {
            PackageError::Build { .. } | PackageError::Io { .. } => 1,
            PackageError::Deb {
                source: DebError::Write { .. } | DebError::ReadSource { .. },
                ..
            } => 1,
            _ => 2,
        }
    }

    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            PackageError::NoConfig { .. } => Some(format!("commit a {FILE_NAME} (see `git buildkit help package`), then tag again")),
            PackageError::NoVersionTag { prefix, .. } => Some(format!("create one with `git tag -a {prefix}0.1.0 -m 0.1.0`")),
            PackageError::BadTag { .. } => Some("version tags look like v1.2.0 or v1.2.0-rc.1 (semver, no build metadata)".into()),
            PackageError::Config(_) => Some("the file is read from the commit being packaged; fix it, commit, and tag a new version".into()),
            _ => None,
        }
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
    let tree = temp.path().join("src");
    std::fs::create_dir(&tree).map_err(|source| PackageError::Io {
        path: tree.clone(),
        source,
    })?;
    listener.status(
        "Exporting",
        &format!("{} ({})", version.tag, &commit.id[..12]),
    );
    repo.export_tree(&commit.id, &tree)?;

    let epoch = u64::try_from(commit.time).unwrap_or(0);
    let mut built_commands = Vec::new();
    for package in &config.packages {
        let Some(command) = &package.build else {
            continue;
        };
        if built_commands.contains(command) {
            continue;
        }
        listener.status("Building", &format!("`{command}`"));
        Cmd::new("sh")
            .args(["-c", command])
            .cwd(&tree)
            .env("SOURCE_DATE_EPOCH", epoch.to_string())
            .env("BUILDKIT_VERSION", version.display())
            .env("BUILDKIT_TAG", &version.tag)
            .env("BUILDKIT_COMMIT", &commit.id)
            .label(format!("`{command}`"))
            .stream(&mut *listener.output(), 20)
            .map_err(|source| PackageError::Build {
                command: command.clone(),
                source,
            })?;
        built_commands.push(command.clone());
    }

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
    })
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
) -> Result<PackageSpec, PackageError> {
    let name = package.name.get_ref().as_str();
    let deb_err = |source| PackageError::Deb {
        package: name.to_owned(),
        source,
    };
    let mut data = DataTree::new();
    let mut conffiles = Vec::new();
    for asset in &package.assets {
        let src = tree.join(asset.src.get_ref());
        let meta = std::fs::symlink_metadata(&src).map_err(|_| PackageError::MissingAsset {
            package: name.to_owned(),
            src: asset.src.get_ref().clone(),
        })?;
        let mut dest = asset.dest.get_ref().clone();
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
        control: control(package, version).map_err(|e| deb_err(e.into()))?,
        control_files,
        data,
        compression: Compression::default(),
        mtime: epoch,
        generate: true,
        on_disk: None,
    })
}

fn control(package: &PackageConfig, version: &DebVersion) -> Result<Control, deb::ControlError> {
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
    control.push("Description", &description(package.description.get_ref()))?;
    Ok(control)
}

/// The synopsis, then the long description with empty lines as `.` (deb822).
fn description(text: &str) -> String {
    let mut lines = text.trim().lines();
    let mut out = lines.next().unwrap_or_default().trim().to_owned();
    for line in lines {
        out.push('\n');
        out.push_str(if line.trim().is_empty() {
            "."
        } else {
            line.trim_end()
        });
    }
    out
}

fn copyright_text(package: &PackageConfig, tree: &Path, tag: &str) -> Result<String, PackageError> {
    let name = package.name.get_ref();
    let source = match &package.copyright {
        Some(path) => Some(path.get_ref().clone()),
        None => LICENSE_FILES
            .iter()
            .find(|f| tree.join(f).is_file())
            .map(|f| (*f).to_owned()),
    };
    let Some(source) = source else {
        return Err(PackageError::NoCopyright {
            package: name.clone(),
        });
    };
    let path = tree.join(&source);
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
    let path = tree.join(dir.get_ref());
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
        let bytes = std::fs::read(entry.path()).map_err(|source| PackageError::Io {
            path: entry.path(),
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
