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
//!
//! `package --worktree` ([`package_worktree`]) takes the work tree's files
//! and `.buildkit.toml` instead (see [`worktree`]), for trying a change out
//! before committing it; its version says so and it is never published.
//!
//! The steps live in files of their own: [`resolve`] (the version of the
//! revision), [`worktree`] (the work tree's files), [`build`] (the build commands), [`history`] (the changelog),
//! [`assemble`] (one package's files), [`control`] (its control stanza),
//! [`description`] (its `Description`), [`output`] (where the `.deb`
//! files land) and [`error`].

pub(crate) mod assemble;
mod binaries;
mod build;
pub use build::Purpose;
pub mod buildpath;
mod confine;
mod control;
mod description;
mod error;
mod history;
mod output;
pub mod python;
mod resolve;
mod worktree;

use std::path::{Path, PathBuf};

pub(crate) use build::{bwrap_usable, config_values, host_policy, GRANT_KEY, REQUIRE_KEY};
use build::{BuildVars, RunDirs};
pub use build::{Isolation, BUILD_PATH};
pub use error::{PackageError, TreeFile};
use history::History;
pub use resolve::{latest_version, resolve_version, worktree_of, ResolvedVersion};

use crate::config::{Config, FILE_NAME};
use crate::deb::{self, Compression, PackageSpec, WrittenDeb};
use crate::debhelper::foreign::ForeignLibraries;
use crate::git::{CommitInfo, Repo};
use crate::progress::Listener;

/// What to package.
#[derive(Debug, Clone)]
pub struct PackageRequest {
    /// The revision (default `HEAD`).
    pub rev: Option<String>,
    /// Where the `.deb` files go.
    pub out_dir: PathBuf,
    /// Overrides each package's configured compression.
    pub compression: Option<Compression>,
    /// Package even when a library an ELF file needs maps to no package
    /// (its dependency is left out, with a warning).
    pub allow_unresolved: bool,
    /// Where another architecture's library information comes from (for a
    /// package whose architecture is not the host's); `None`: such a
    /// package's dependencies cannot be computed, an error.
    pub foreign: Option<std::sync::Arc<dyn ForeignLibraries>>,
}

/// What packaging produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PackageOutcome {
    /// The commit packaged.
    pub commit: String,
    /// The version tag, if the commit carries one (never for the work tree).
    pub tag: Option<String>,
    /// The version (semver, or a snapshot version for untagged commits).
    pub version: String,
    /// A commit's tree or the work tree.
    pub source: Source,
    /// The packages written.
    pub debs: Vec<WrittenDeb>,
    /// The build commands run, and how.
    pub builds: Vec<BuildReport>,
    /// For each `kind = "python"` package: the distributions built (the
    /// pins a later build can lock), and those left to Debian.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub python: Vec<python::PythonReport>,
}

/// A build command that ran.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BuildReport {
    /// The command.
    pub command: String,
    /// Whether it ran sandboxed.
    pub isolation: Isolation,
    /// A build or the project's tests.
    pub purpose: build::Purpose,
    /// How long it ran.
    pub seconds: f64,
}

/// Whether the work tree has changes (untracked files included) other
/// than what is under `out_dir`: `-o dist` inside the tree must not make
/// every later run warn about our own output.
fn has_changes_besides(repo: &Repo, out_dir: &Path) -> Result<bool, PackageError> {
    let Some(workdir) = repo.workdir() else {
        return Ok(false);
    };
    let out = std::path::absolute(out_dir).unwrap_or_else(|_| out_dir.to_owned());
    let out = out.canonicalize().unwrap_or(out);
    let root = workdir
        .canonicalize()
        .unwrap_or_else(|_| workdir.to_owned());
    let changed = crate::git::changed_paths(workdir, crate::git::Untracked::Included)
        .map_err(crate::git::GitError::from)?;
    Ok(changed
        .iter()
        .any(|path| !root.join(path.trim_end_matches('/')).starts_with(&out)))
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

/// Where the packaged files came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A commit's tree, with its `.buildkit.toml`.
    Commit,
    /// The work tree as it is, with its `.buildkit.toml` from disk
    /// (`package --worktree`): a trial build, never a release.
    Worktree,
}

/// Builds every package of `.buildkit.toml` for the request's revision.
pub fn package(
    repo: &Repo,
    request: &PackageRequest,
    listener: &dyn Listener,
) -> Result<PackageOutcome, PackageError> {
    let rev = request.rev.clone().unwrap_or_else(|| "HEAD".to_owned());
    let commit = repo.resolve(&rev)?;
    if request.rev.is_none() && has_changes_besides(repo, &request.out_dir)? {
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
    if let Some((count, _)) = &version.snapshot {
        let commits = if *count == 1 { "commit" } else { "commits" };
        listener.note(&format!(
            "{rev} is not tagged: packaging snapshot {}, {count} {commits} after {} \
             (`git buildkit repo add` puts snapshots in their own suite)",
            version.display(),
            version.tag
        ));
    }

    let (_temp, dirs) = run_dirs()?;
    listener.status(
        "Exporting",
        &match &version.snapshot {
            Some((count, _)) => format!(
                "{} ({count} after {}, {})",
                version.display(),
                version.tag,
                &commit.id[..12]
            ),
            None => format!("{} ({})", version.tag, &commit.id[..12]),
        },
    );
    repo.export_tree(&commit.id, &dirs.src)?;
    build_exported(repo, request, &config, &commit, version, &dirs, listener)
}

/// Builds every package of the work tree's `.buildkit.toml` from the work
/// tree's files as they are now (see [`worktree`]): the same export
/// directory, sandbox, build, tests and checks as a commit's build, with
/// `SOURCE_DATE_EPOCH` the HEAD commit's time. Its version is HEAD's with
/// `wt` and the files' hash added ([`ResolvedVersion::debian`]), which
/// `repo add` refuses; the pipeline never calls it. Reproducibility is
/// not promised.
pub fn package_worktree(
    repo: &Repo,
    request: &PackageRequest,
    listener: &dyn Listener,
) -> Result<PackageOutcome, PackageError> {
    let workdir = repo.workdir().ok_or_else(|| PackageError::NoWorkTree {
        git_dir: repo.git_dir().to_owned(),
    })?;
    let (config, origin) = worktree::load_config(workdir)?;
    if config.packages.is_empty() {
        return Err(PackageError::NoPackages { origin });
    }
    let commit = repo
        .resolve("HEAD")
        .map_err(|source| PackageError::NoHead { source })?;
    let base = match resolve_version(repo, &config.tag_scheme(None), "HEAD", &commit) {
        Ok(version) => Some(version),
        Err(PackageError::NoVersionTag { .. }) => None,
        Err(e) => return Err(e),
    };
    let (_temp, dirs) = run_dirs()?;
    listener.status(
        "Exporting",
        &format!(
            "the work tree {} (HEAD {}, uncommitted changes included)",
            workdir.display(),
            &commit.id[..12]
        ),
    );
    let hash = worktree::export(workdir, &request.out_dir, &dirs.src)?;
    let version = match base {
        Some(base) => ResolvedVersion {
            worktree: Some(hash),
            ..base
        },
        None => ResolvedVersion::untagged_worktree(&hash),
    };
    listener.note(&format!(
        "packaging the work tree as {}: a trial build, not a release (`git buildkit repo add` refuses it)",
        version.display()
    ));
    build_exported(repo, request, &config, &commit, version, &dirs, listener)
}

/// Builds and writes the packages of the tree exported into `dirs.src`.
fn build_exported(
    repo: &Repo,
    request: &PackageRequest,
    config: &Config,
    commit: &CommitInfo,
    version: ResolvedVersion,
    dirs: &RunDirs,
    listener: &dyn Listener,
) -> Result<PackageOutcome, PackageError> {
    // Read before the build runs, so that the build cannot change it.
    let readme = assemble::readme_text(config, &dirs.src)?;

    let vars = BuildVars {
        epoch: u64::try_from(commit.time).unwrap_or(0),
        version: version.display(),
        tag: version.tag.clone(),
        commit: commit.id.clone(),
    };
    let host = build::host_policy(repo.cwd())?;
    let builds = build::run_builds(config, dirs, &vars, &host, listener)?;
    let built = Built {
        history: History::collect(repo, &config.tag_scheme(None), &version, commit)?,
        tree: &dirs.src,
        version: &version,
        epoch: vars.epoch,
        readme: readme.as_deref(),
        dirs,
        vars: &vars,
        host: &host,
    };
    let (debs, python) = write_debs(config, request, &built, listener)?;
    let source = match version.worktree {
        Some(_) => Source::Worktree,
        None => Source::Commit,
    };
    let release = version.snapshot.is_none() && version.worktree.is_none();
    Ok(PackageOutcome {
        commit: commit.id.clone(),
        tag: release.then(|| version.tag.clone()),
        version: version.display(),
        source,
        debs,
        builds,
        python,
    })
}

/// A fresh temporary directory (removed when the first value drops) and
/// the run's directories in it.
fn run_dirs() -> Result<(tempfile::TempDir, RunDirs), PackageError> {
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
    Ok((temp, dirs))
}

/// What the packages are made of once the builds ran.
struct Built<'a> {
    tree: &'a Path,
    version: &'a ResolvedVersion,
    epoch: u64,
    history: History,
    readme: Option<&'a str>,
    dirs: &'a RunDirs,
    vars: &'a BuildVars,
    /// The build host's sandbox policy (pip runs under it too).
    host: &'a build::HostPolicy,
}

/// One package between assembly and writing.
struct Pending<'a> {
    package: &'a crate::config::PackageConfig,
    version: crate::version::DebVersion,
    spec: PackageSpec,
    extended: Option<String>,
    debug: Option<crate::debhelper::strip::DebugFiles>,
    binaries: Vec<crate::debhelper::shlibs::Binary>,
}

/// A fresh scratch directory for stripping and unpacking wheels.
fn scratch_dir() -> Result<tempfile::TempDir, PackageError> {
    tempfile::Builder::new()
        .prefix("buildkit-strip-")
        .tempdir()
        .map_err(|source| PackageError::Io {
            path: std::env::temp_dir(),
            source,
        })
}

/// A package ready to write: its name, spec, and debug files for its
/// `-dbgsym` package.
type Ready = (
    String,
    PackageSpec,
    Option<crate::debhelper::strip::DebugFiles>,
);

// Long function: the two kinds of packages prepared, then what spans them
// all (libraries of the build, the build-path check) before one write.
/// Writes every package into the output directory, all or none (see
/// [`output`]): each assembled, stripped (with its `-dbgsym` package) and
/// given its library dependencies, and checked for the build's path,
/// before any is written.
fn write_debs(
    config: &Config,
    request: &PackageRequest,
    built: &Built<'_>,
    listener: &dyn Listener,
) -> Result<(Vec<WrittenDeb>, Vec<python::PythonReport>), PackageError> {
    let scratch = scratch_dir()?;
    let mut pending = Vec::new();
    let mut generated = Vec::new();
    let mut reports = Vec::new();
    for (index, package) in config.packages.iter().enumerate() {
        let scratch = scratch.path().join(index.to_string());
        if package.kind == crate::config::PackageKind::Python {
            let (pkgs, report) =
                python::python_packages(config, package, built, built.dirs, &scratch, listener)?;
            let compression = request
                .compression
                .or(package.compression)
                .unwrap_or_default();
            generated.extend(pkgs.into_iter().map(|p| (p, compression)));
            reports.push(report);
            continue;
        }
        pending.push(prepare(
            config, package, request, built, &scratch, listener,
        )?);
    }
    let build: Vec<_> = pending
        .iter()
        .flat_map(|p| {
            binaries::build_libraries(
                p.package.name.get_ref(),
                &p.version.to_string(),
                &p.binaries,
            )
        })
        .collect();
    let resolver = binaries::Resolver {
        build: &build,
        allow_unresolved: request.allow_unresolved,
        foreign: request.foreign.as_deref(),
        listener,
        host: std::cell::OnceCell::new(),
    };
    for p in &mut pending {
        let name = p.package.name.get_ref();
        let version = p.version.to_string();
        binaries::add_makeshlibs(name, &version, &p.binaries, &mut p.spec.control_files);
        let shlibs = resolver.depends(p.package, &p.binaries)?;
        p.spec.control = control::stanza(p.package, &p.version, p.extended.as_deref(), &shlibs)
            .map_err(|e| PackageError::Deb {
                package: name.clone(),
                source: e.into(),
            })?;
    }
    let allow: Vec<String> = config
        .packages
        .iter()
        .flat_map(|p| p.allow_build_path.iter().map(|g| g.get_ref().clone()))
        .collect();
    let mut ready: Vec<Ready> = pending
        .into_iter()
        .map(|p| (p.package.name.get_ref().clone(), p.spec, p.debug))
        .collect();
    let py_scratch = scratch.path().join("python");
    ready.extend(ready_python(generated, &resolver, &py_scratch, listener)?);
    let check = buildpath::Check {
        needles: vec![
            built.tree.display().to_string(),
            format!("{}/src", build::SANDBOX_RUN),
        ],
        allow,
    };
    let specs: Vec<(&str, &PackageSpec)> = ready.iter().map(|(n, s, _)| (n.as_str(), s)).collect();
    check.run(&specs, listener)?;
    Ok((write_all(ready, &request.out_dir, built.epoch)?, reports))
}

/// Generated Python packages made ready as the package stage's own: ELF
/// files stripped (no `-dbgsym`: the debug information of a wheel built
/// elsewhere is not ours to ship) and `${shlibs}` resolved.
fn ready_python(
    packages: Vec<(crate::python::layout::PyPackage, Compression)>,
    resolver: &binaries::Resolver<'_>,
    scratch: &Path,
    listener: &dyn Listener,
) -> Result<Vec<Ready>, PackageError> {
    let mut ready = Vec::new();
    for (index, (mut p, compression)) in packages.into_iter().enumerate() {
        let name = p.spec.control.package().unwrap_or_default().to_owned();
        let arch = p.spec.control.architecture().unwrap_or("all").to_owned();
        p.spec.compression = compression;
        for w in &p.warnings {
            listener.warn(w);
        }
        if p.binary && p.strip {
            let strip = crate::debhelper::strip::StripOptions {
                strip: true,
                dbgsym: false,
            };
            let dir = scratch.join(index.to_string());
            binaries::strip(&name, strip, &mut p.spec.data, &dir, listener)?;
        }
        let elves = binaries::elf_files(&name, &p.spec.data)?;
        let shlibs = resolver.depends_of(&name, &arch, true, &elves)?;
        if let Some(depends) = p.spec.control.get("Depends") {
            let mut out: Vec<String> = Vec::new();
            for d in depends.split(", ") {
                match d {
                    "${shlibs}" => out.extend(shlibs.iter().cloned()),
                    d if !out.iter().any(|o| o == d) => out.push(d.to_owned()),
                    _ => {}
                }
            }
            let result = match out.is_empty() {
                true => {
                    p.spec.control.remove("Depends");
                    Ok(())
                }
                false => p.spec.control.set("Depends", &out.join(", ")),
            };
            result.map_err(|e| PackageError::Deb {
                package: name.clone(),
                source: e.into(),
            })?;
        }
        ready.push((name, p.spec, None));
    }
    Ok(ready)
}

/// One package assembled from the built tree, its ELF files stripped in
/// `scratch` and read.
fn prepare<'a>(
    config: &Config,
    package: &'a crate::config::PackageConfig,
    request: &PackageRequest,
    built: &Built<'_>,
    scratch: &Path,
    listener: &dyn Listener,
) -> Result<Pending<'a>, PackageError> {
    let scheme = config.tag_scheme(Some(package));
    let version = built.version.debian(&scheme)?;
    let name = package.name.get_ref();
    listener.status(
        "Packaging",
        &format!("{name} {version} ({})", package.architecture.get_ref()),
    );
    let changelog = built
        .history
        .changelog(&scheme, name, package.maintainer.get_ref())?;
    let parts = assemble::Parts {
        tree: built.tree,
        version: &version,
        epoch: built.epoch,
        changelog: &changelog,
        tag: &built.version.tag,
        commit: &built.vars.commit,
        readme: built.readme,
        first: built.history.is_first(),
    };
    let (mut spec, extended) = assemble::assemble(package, &parts)?;
    spec.compression = request
        .compression
        .or(package.compression)
        .unwrap_or_default();
    let options = crate::debhelper::strip::StripOptions {
        strip: package.strip,
        dbgsym: package.dbgsym,
    };
    let debug = binaries::strip(name, options, &mut spec.data, scratch, listener)?;
    let binaries = binaries::elf_files(name, &spec.data)?;
    Ok(Pending {
        package,
        version,
        spec,
        extended,
        debug,
        binaries,
    })
}

/// Writes the packages (and their `-dbgsym` packages) into a staging
/// directory, then moves them into `out_dir` together.
fn write_all(
    ready: Vec<Ready>,
    out_dir: &Path,
    epoch: u64,
) -> Result<Vec<WrittenDeb>, PackageError> {
    let staging = output::Staging::new(out_dir)?;
    let mut debs = Vec::new();
    for (name, spec, debug) in ready {
        let deb_err = |source| PackageError::Deb {
            package: name.clone(),
            source,
        };
        debs.push(deb::write_deb(&spec, staging.path()).map_err(deb_err)?);
        if let Some(debug) = debug {
            let spec = crate::debhelper::dbgsym::dbgsym_spec(
                &spec.control,
                debug,
                epoch,
                spec.compression,
            )
            .map_err(|source| PackageError::Strip {
                package: name.clone(),
                source: Box::new(source),
            })?;
            debs.push(deb::write_deb(&spec, staging.path()).map_err(deb_err)?);
        }
    }
    staging.publish(&mut debs)?;
    Ok(debs)
}

/// How generated packages are written (issue 13: `python deb`).
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Each package's member compression.
    pub compression: Compression,
    /// A library an ELF file needs that maps to no package is warned about
    /// and left out, rather than an error.
    pub allow_unresolved: bool,
    /// Where another architecture's library information comes from.
    pub foreign: Option<std::sync::Arc<dyn ForeignLibraries>>,
}

/// Writes generated Python packages the way the package stage writes its
/// own (see [`ready_python`]): stripped, `${shlibs}` resolved, every file
/// checked against `check`, all written or none.
pub fn write_python_packages(
    packages: Vec<crate::python::layout::PyPackage>,
    out_dir: &Path,
    options: &WriteOptions,
    check: &buildpath::Check,
    listener: &dyn Listener,
) -> Result<Vec<WrittenDeb>, PackageError> {
    let scratch = scratch_dir()?;
    let resolver = binaries::Resolver {
        build: &[],
        allow_unresolved: options.allow_unresolved,
        foreign: options.foreign.as_deref(),
        listener,
        host: std::cell::OnceCell::new(),
    };
    let packages = packages
        .into_iter()
        .map(|p| (p, options.compression))
        .collect();
    let ready = ready_python(packages, &resolver, scratch.path(), listener)?;
    let specs: Vec<(&str, &PackageSpec)> = ready.iter().map(|(n, s, _)| (n.as_str(), s)).collect();
    check.run(&specs, listener)?;
    write_all(ready, out_dir, 0)
}
