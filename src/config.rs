//! `.buildkit.toml`: the committed project configuration. It is parsed with
//! serde (`deny_unknown_fields`, so a typo is an error rather than a silently
//! ignored setting), and every error — syntax, type or a rule we check after
//! parsing — names the file, line and column, because the file is usually
//! read from a tagged commit where the user cannot just open it in an editor.

pub mod reference;

use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use crate::deb::Compression;
use crate::pipeline::Stage;
use crate::version::TagScheme;
use crate::vm::values::{Cpus, Memory, ModeChoice, TimeLimit};

/// The file name, at the repository root.
pub const FILE_NAME: &str = ".buildkit.toml";

/// A configuration error with its location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}")]
pub struct ConfigError {
    /// Where the file came from, e.g. `v1.2.0:.buildkit.toml`.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// The offending line of the file, for the CLI to quote.
    pub source_line: String,
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Branch workflow settings (gitflow-compatible).
    #[serde(default)]
    pub flow: FlowConfig,
    /// One table per binary package.
    #[serde(default, rename = "package")]
    pub packages: Vec<PackageConfig>,
    /// Where packages are published.
    pub repo: Option<RepoConfig>,
    /// The VM smoke test.
    pub vm: Option<VmConfig>,
    /// What the git hooks run.
    pub hooks: Option<HooksConfig>,
}

/// `[flow]`: branch names and prefixes; defaults match gitflow-avh.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FlowConfig {
    /// The production branch.
    pub main: Option<String>,
    /// The integration branch.
    pub develop: Option<String>,
    /// Branch and tag prefixes.
    #[serde(default)]
    pub prefix: PrefixConfig,
    /// Files whose version is bumped by `release start`.
    #[serde(default)]
    pub version_files: Vec<VersionFile>,
}

/// `[flow.prefix]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PrefixConfig {
    /// Feature branches.
    pub feature: Option<String>,
    /// Bugfix branches.
    pub bugfix: Option<String>,
    /// Release branches.
    pub release: Option<String>,
    /// Hotfix branches.
    pub hotfix: Option<String>,
    /// Support branches.
    pub support: Option<String>,
    /// Version tags (default `v`).
    pub version_tag: Option<String>,
}

/// A file that carries the version.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VersionFile {
    /// Path from the repository root.
    pub path: String,
    /// A regex with one capture group around the version, matched per
    /// line: `^` and `$` are the start and end of any line, so
    /// `regex = '^(.*)$'` is the first line of a `VERSION` file and
    /// `regex = '^__version__ = "(.*)"$'` that line of a Python module.
    pub regex: Option<String>,
}

/// `[[package]]`: one binary package.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackageConfig {
    /// The package name.
    pub name: Spanned<String>,
    /// Synopsis on the first line, long description after it (for
    /// `kind = "python"`, the wheel's `Summary` when absent).
    #[serde(default = "no_text")]
    pub description: Spanned<String>,
    /// `Name <email>`.
    pub maintainer: Spanned<String>,
    /// `amd64`, `arm64`, ... or `all` (the default).
    #[serde(default = "default_arch")]
    pub architecture: Spanned<String>,
    /// Archive section (default `misc`).
    pub section: Option<String>,
    /// Priority (default `optional`).
    pub priority: Option<String>,
    /// Upstream home page.
    pub homepage: Option<String>,
    /// Debian revision appended to the tag's version (default `1`).
    pub revision: Option<Spanned<String>>,
    /// Relationship fields.
    #[serde(default)]
    pub pre_depends: Vec<Spanned<String>>,
    /// `Depends` (default `["${shlibs}"]`: the shared libraries its ELF
    /// files need, see [`SHLIBS`]).
    #[serde(default = "default_depends")]
    pub depends: Vec<Spanned<String>>,
    /// `Recommends`.
    #[serde(default)]
    pub recommends: Vec<Spanned<String>>,
    /// `Suggests`.
    #[serde(default)]
    pub suggests: Vec<Spanned<String>>,
    /// `Conflicts`.
    #[serde(default)]
    pub conflicts: Vec<Spanned<String>>,
    /// `Provides`.
    #[serde(default)]
    pub provides: Vec<Spanned<String>>,
    /// `Replaces`.
    #[serde(default)]
    pub replaces: Vec<Spanned<String>>,
    /// `Breaks`.
    #[serde(default)]
    pub breaks: Vec<Spanned<String>>,
    /// A shell command run in the exported tree before packaging.
    pub build: Option<String>,
    /// The project's tests: a shell command run in the exported tree after
    /// every build, before packaging, with the build's environment,
    /// sandbox and time limit. A failure stops the pipeline.
    pub test: Option<String>,
    /// Files to install.
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// A directory with preinst/postinst/prerm/postrm/config/templates/triggers.
    pub maintainer_scripts: Option<Spanned<String>>,
    /// The copyright file's source in the tree (default: LICENSE or COPYING).
    pub copyright: Option<Spanned<String>>,
    /// Member compression (default xz).
    pub compression: Option<Compression>,
    /// Variables of the caller's environment passed through to the build
    /// command (which otherwise gets only PATH, LANG, HOME, TMPDIR,
    /// SOURCE_DATE_EPOCH and the BUILDKIT_* build variables).
    #[serde(default)]
    pub build_env: Vec<Spanned<String>>,
    /// How long the build command may run (default 30 minutes), e.g. `"30m"`.
    pub build_timeout: Option<BuildTimeout>,
    /// Where the build command runs: `auto` (bwrap when usable), `bwrap`, `none`.
    #[serde(default)]
    pub sandbox: Sandbox,
    /// Whether the sandboxed build may reach the network (default false).
    #[serde(default)]
    pub network: bool,
    /// Whether ELF files are stripped as dh_strip does (default true).
    #[serde(default = "yes")]
    pub strip: bool,
    /// Whether the debug information stripped off goes into a
    /// `<name>-dbgsym` package (`.ddeb`) beside it (default true).
    #[serde(default = "yes")]
    pub dbgsym: bool,
    /// What its systemd units get in the maintainer scripts (default:
    /// enabled and started on install, restarted after upgrade).
    pub systemd: Option<SystemdConfig>,
    /// What the package is made of: `files` (default: its assets) or
    /// `python` (the project's wheel and its dependency closure).
    #[serde(default)]
    pub kind: PackageKind,
    /// `kind = "python"`: how the wheel and its closure are made.
    pub python: Option<Spanned<PythonConfig>>,
    /// Globs of packaged paths that may hold the build directory's path
    /// (`/usr/lib/x/*.pc`); any other file that holds it is an error.
    #[serde(default)]
    pub allow_build_path: Vec<Spanned<String>>,
}

/// What a `[[package]]` is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageKind {
    /// Its `assets` (and what the build command made).
    #[default]
    Files,
    /// A Python project: its wheel and every runtime dependency.
    Python,
}

/// `python = { ... }` of a `kind = "python"` package.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PythonConfig {
    /// The project's directory in the tree (default `.`).
    pub project: Option<Spanned<String>>,
    /// A lock file in the tree: pinned `requirements` (with hashes) or
    /// `pylock.toml`, honoured exactly.
    pub lock: Option<Spanned<String>>,
    /// `debs` (default: a package per distribution) or `bundle`.
    #[serde(default)]
    pub layout: crate::python::layout::Layout,
    /// Distributions left to Debian packages: `{ requests = "python3-requests" }`.
    #[serde(default)]
    pub system: std::collections::BTreeMap<String, Spanned<String>>,
    /// Extras of the project to install.
    #[serde(default)]
    pub extras: Vec<String>,
    /// Build the project's wheel in an isolated environment, which pip
    /// fills from the package index (default true); false: with Debian's
    /// setuptools, no network.
    #[serde(default = "yes")]
    pub build_isolation: bool,
    /// The package index pip uses (default pip's).
    pub index_url: Option<Spanned<String>>,
    /// The Debian revision of the dependencies' packages (default `1`).
    pub revision: Option<Spanned<String>>,
}

/// `systemd = { enable = .., start = .., units = { "x.service" = { .. } } }`:
/// what the maintainer scripts do with the package's systemd units (see
/// [`crate::debhelper::systemd`]); a unit's own settings override the
/// package's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SystemdConfig {
    /// Enable units on install (default true); false: only keep an admin's
    /// enablement across upgrades (`dh_installsystemd --no-enable`).
    pub enable: Option<bool>,
    /// Start units on install and restart them after upgrade (default
    /// true); false: only `try-restart` after upgrade.
    pub start: Option<bool>,
    /// Settings of single units, by unit name (checked when read; a unit
    /// the package does not ship is an error when it is packaged).
    #[serde(default)]
    pub units: std::collections::BTreeMap<Spanned<String>, UnitConfig>,
}

/// One unit's settings in `systemd.units`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UnitConfig {
    /// As `systemd.enable`, for this unit.
    pub enable: Option<bool>,
    /// As `systemd.start`, for this unit.
    pub start: Option<bool>,
}

/// The relation that stands for the dependencies computed from a
/// package's ELF files (what `${shlibs:Depends}` is to debhelper).
pub const SHLIBS: &str = "${shlibs}";

/// The fields `${shlibs}` may stand in (dpkg-shlibdeps' `-d` fields).
const SHLIBS_FIELDS: &[&str] = &["Pre-Depends", "Depends", "Recommends", "Suggests"];

/// `sandbox`: where a build command runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sandbox {
    /// In a bwrap sandbox when bwrap works here, else unsandboxed with a warning.
    #[default]
    Auto,
    /// In a bwrap sandbox, or not at all (an error when bwrap does not work).
    Bwrap,
    /// Unsandboxed, as the caller (the caller's file system and network).
    None,
}

/// `build-timeout`: a duration written like `[vm] timeout` (`90s`, `30m`, `2h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildTimeout(pub std::time::Duration);

impl BuildTimeout {
    /// Thirty minutes.
    pub const DEFAULT: BuildTimeout = BuildTimeout(std::time::Duration::from_secs(30 * 60));
}

impl<'de> Deserialize<'de> for BuildTimeout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let message = match text.parse::<TimeLimit>() {
            Ok(limit) => return Ok(BuildTimeout(std::time::Duration::from_secs(limit.secs()))),
            Err(crate::vm::VmError::OutOfRange { value, range, .. }) => {
                format!("build-timeout {value} is out of range ({range})")
            }
            Err(_) => format!(
                "build-timeout {text:?} is not a duration such as \"90s\", \"30m\" or \"2h\""
            ),
        };
        Err(serde::de::Error::custom(message))
    }
}

fn default_depends() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, SHLIBS.to_owned())]
}

fn yes() -> bool {
    true
}

fn no_text() -> Spanned<String> {
    Spanned::new(0..0, String::new())
}

fn default_arch() -> Spanned<String> {
    Spanned::new(0..0, "all".to_owned())
}

/// One file or directory to install.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Asset {
    /// Path in the built tree (a file or a directory).
    pub src: Spanned<String>,
    /// Absolute install path (for a directory: where its contents go).
    pub dest: Spanned<String>,
    /// Octal permission bits such as `"0755"`; default from the file.
    pub mode: Option<Mode>,
    /// Mark as a conffile (every file under /etc is one anyway).
    #[serde(default)]
    pub conffile: bool,
}

/// Octal permission bits, written as a string (`"0755"`) or an integer (`0o755`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode(pub u32);

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u32),
        }
        let bits = match Raw::deserialize(d)? {
            Raw::Text(text) => {
                u32::from_str_radix(text.trim_start_matches("0o"), 8).map_err(|_| {
                    serde::de::Error::custom(format!(
                        "mode {text:?} is not an octal number such as \"0755\""
                    ))
                })?
            }
            Raw::Number(n) => n,
        };
        if bits > 0o7777 {
            return Err(serde::de::Error::custom(format!(
                "mode {bits:o} has bits beyond 07777"
            )));
        }
        Ok(Mode(bits))
    }
}

/// `[repo]`: where `publish` puts packages.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RepoConfig {
    /// Repository directory.
    pub path: Option<String>,
    /// Suite to publish to.
    pub suite: Option<String>,
    /// Components.
    #[serde(default)]
    pub components: Vec<String>,
    /// URL clients and VMs use.
    pub url: Option<String>,
    /// Versions kept per package and suite.
    pub keep: Option<u32>,
    /// The suite a tag's packages wait in for their VM test before the
    /// promote stage copies them into `suite` (default `<suite>-staging`).
    pub staging: Option<Spanned<String>>,
    /// The suite builds of untagged commits go to (default `snapshots`),
    /// never a release suite.
    pub snapshots: Option<Spanned<String>>,
    /// S3-compatible mirrors (`s3://bucket/prefix?endpoint=…&region=…`)
    /// that every publish is pushed to.
    #[serde(default)]
    pub mirror: Vec<Spanned<String>>,
}

impl RepoConfig {
    /// The mirrors (checked when the file was read).
    pub fn mirrors(&self) -> Vec<crate::apt::mirror::MirrorUrl> {
        self.mirror
            .iter()
            .filter_map(|url| url.get_ref().parse().ok())
            .collect()
    }

    /// The suite users install from: `suite`, else `default`.
    pub fn target_suite(&self, default: &str) -> String {
        self.suite.clone().unwrap_or_else(|| default.to_owned())
    }

    /// The staging suite of `target`: `staging`, else `<target>-staging`.
    pub fn staging_suite(&self, target: &str) -> String {
        self.staging
            .as_ref()
            .map_or_else(|| format!("{target}-staging"), |s| s.get_ref().clone())
    }

    /// The suite of snapshot builds: `snapshots`, else `snapshots`.
    pub fn snapshots_suite(&self) -> String {
        self.snapshots
            .as_ref()
            .map_or_else(|| "snapshots".to_owned(), |s| s.get_ref().clone())
    }
}

/// `[vm]`: the smoke test.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VmConfig {
    /// Base image name (checked when read).
    pub image: Option<Spanned<String>>,
    /// The Debian suites to test on, each on its own image, side by side
    /// (checked when read; not with `image`).
    pub suites: Option<Spanned<Vec<Spanned<String>>>>,
    /// Guest memory, e.g. `"512M"`.
    pub memory: Option<Memory>,
    /// Guest CPUs.
    pub cpus: Option<Cpus>,
    /// Commands run after installing.
    #[serde(default)]
    pub smoke: Vec<String>,
    /// Each test's time limit, e.g. `"5m"`.
    pub timeout: Option<TimeLimit>,
    /// `fast`, `systemd` or `auto`.
    pub mode: Option<ModeChoice>,
    /// Whether the guest may install from the image suite's Debian archive
    /// (through the caching apt proxy); default true. False: only the
    /// tag's own repository, a fully closed test.
    pub debian: Option<bool>,
    /// Whether apt in the guest installs the packages' Recommends (default
    /// true, as for users). False: only Depends, as autopkgtest installs
    /// test dependencies; for a package whose Recommends are heavy (a
    /// hypervisor) and not needed by its tests.
    pub recommends: Option<bool>,
    /// Whether a test restores the image's warm snapshot (the guest saved
    /// once, booted and idle) instead of booting; default true.
    pub warm: Option<bool>,
    /// Guest ports a kept run (`vm-test --keep`) makes reachable on
    /// 127.0.0.1, `"HOST:GUEST"` (checked when read); `--forward` replaces
    /// them.
    #[serde(default)]
    pub forward: Vec<Spanned<String>>,
}

impl VmConfig {
    /// The suites of the matrix, if any (checked when the file was read).
    pub fn suite_names(&self) -> Option<Vec<String>> {
        self.suites
            .as_ref()
            .map(|list| list.get_ref().iter().map(|s| s.get_ref().clone()).collect())
    }

    /// `suites`: not with `image`, not empty, each a suite name, none twice.
    fn validate_suites(
        &self,
        err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let Some(suites) = &self.suites else {
            return Ok(());
        };
        if self.image.is_some() {
            return Err(err(
                suites.span(),
                "[vm] suites and [vm] image exclude each other: each suite has its own image (the one named after it, else the default image when it is of that suite)".into(),
            ));
        }
        let list = suites.get_ref();
        if list.is_empty() {
            return Err(err(
                suites.span(),
                "[vm] suites is empty: name at least one suite, or leave it out".into(),
            ));
        }
        crate::vm::matrix::check_suites(list.iter().map(|s| s.get_ref().as_str()))
            .map_err(|(i, e)| err(list[i].span(), format!("[vm] suites: {e}")))
    }
}

/// `[hooks]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HooksConfig {
    /// Stages run when a version tag appears, in order (checked when read).
    #[serde(default)]
    pub on_tag: Vec<Spanned<Stage>>,
    /// Whether version tags that arrive by `git fetch` (or `pull`, `clone`,
    /// `remote update`) start pipelines too; read from HEAD's file, so a
    /// fetched commit cannot opt itself in. Default false.
    #[serde(default)]
    pub on_fetch: bool,
}

impl Config {
    /// Parses and validates the text of a `.buildkit.toml`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            located(text, origin, offset, e.message().to_owned())
        })?;
        config.validate(text, origin)?;
        Ok(config)
    }

    /// The version tag scheme for a package's revision.
    pub fn tag_scheme(&self, package: Option<&PackageConfig>) -> TagScheme {
        let mut scheme = TagScheme::default();
        if let Some(prefix) = &self.flow.prefix.version_tag {
            scheme.prefix.clone_from(prefix);
        }
        if let Some(revision) = package.and_then(|p| p.revision.as_ref()) {
            scheme.revision.clone_from(revision.get_ref());
        }
        scheme
    }

    fn validate(&self, text: &str, origin: &str) -> Result<(), ConfigError> {
        let err = |span: std::ops::Range<usize>, message: String| {
            located(text, origin, span.start, message)
        };
        if let Some(image) = self.vm.as_ref().and_then(|vm| vm.image.as_ref()) {
            crate::vm::image::check_name("image name", image.get_ref())
                .map_err(|e| err(image.span(), e.to_string()))?;
        }
        if let Some(vm) = &self.vm {
            vm.validate_suites(&err)?;
        }
        for forward in self.vm.iter().flat_map(|vm| &vm.forward) {
            crate::vm::qemu::Forward::parse(forward.get_ref())
                .map_err(|e| err(forward.span(), e.to_string()))?;
        }
        if let Some(repo) = &self.repo {
            let target = repo.target_suite("stable");
            for (field, value) in [("staging", &repo.staging), ("snapshots", &repo.snapshots)] {
                let Some(value) = value else { continue };
                crate::apt::check_name("suite", value.get_ref())
                    .map_err(|e| err(value.span(), format!("[repo] {field}: {e}")))?;
                if *value.get_ref() == target {
                    return Err(err(
                        value.span(),
                        format!("[repo] {field} must differ from the release suite {target:?}"),
                    ));
                }
            }
            for url in &repo.mirror {
                url.get_ref()
                    .parse::<crate::apt::mirror::MirrorUrl>()
                    .map_err(|e| err(url.span(), format!("[repo] mirror: {e}")))?;
            }
            if let (Some(staging), Some(snapshots)) = (&repo.staging, &repo.snapshots) {
                if staging.get_ref() == snapshots.get_ref() {
                    return Err(err(
                        snapshots.span(),
                        "[repo] snapshots must differ from the staging suite".to_owned(),
                    ));
                }
            }
        }
        if let Some(hooks) = &self.hooks {
            crate::pipeline::check_stage_order(&hooks.on_tag)
                .map_err(|(span, message)| err(span, message))?;
        }
        let mut names = std::collections::HashSet::new();
        for package in &self.packages {
            let name = &package.name;
            crate::deb::check_package_name(name.get_ref())
                .map_err(|e| err(name.span(), e.to_string()))?;
            if !names.insert(name.get_ref().clone()) {
                return Err(err(
                    name.span(),
                    format!("package {:?} is defined twice", name.get_ref()),
                ));
            }
            package.validate(&err)?;
        }
        Ok(())
    }
}

impl PackageConfig {
    /// The checks of `kind` and `python`.
    fn validate_python(
        &self,
        err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let python = self.kind == PackageKind::Python;
        match (&self.python, python) {
            (Some(p), false) => {
                return Err(err(p.span(), "`python` needs kind = \"python\"".into()))
            }
            (_, true) if self.architecture.span() != (0..0) => {
                return Err(err(
                    self.architecture.span(),
                    "the architecture of kind = \"python\" comes from its wheels: leave it out"
                        .into(),
                ))
            }
            _ => {}
        }
        let Some(p) = &self.python else {
            return Ok(());
        };
        for debian in p.get_ref().system.values() {
            if crate::deb::check_package_name(debian.get_ref()).is_err() {
                return Err(err(
                    debian.span(),
                    format!("{:?} is not a Debian package name", debian.get_ref()),
                ));
            }
        }
        for path in [&p.get_ref().project, &p.get_ref().lock]
            .into_iter()
            .flatten()
        {
            let v = path.get_ref();
            if v.starts_with('/') || v.split('/').any(|c| c == "..") {
                return Err(err(
                    path.span(),
                    format!("{v:?} must be a path inside the tree"),
                ));
            }
        }
        if let Some(r) = &p.get_ref().revision {
            if crate::version::DebVersion::parse(&format!("1-{}", r.get_ref())).is_err() {
                return Err(err(
                    r.span(),
                    format!("{:?} is not a Debian revision", r.get_ref()),
                ));
            }
        }
        Ok(())
    }

    /// The checks of one package after its name; `err` locates a message.
    fn validate(
        &self,
        err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let package = self;
        let arch = &package.architecture;
        if crate::deb::check_architecture(arch.get_ref()).is_err() {
            return Err(err(
                arch.span(),
                format!("invalid architecture {:?}", arch.get_ref()),
            ));
        }
        let maintainer = &package.maintainer;
        if !is_maintainer(maintainer.get_ref()) {
            return Err(err(
                maintainer.span(),
                format!(
                    "maintainer {:?} must look like \"Name <email@example.com>\"",
                    maintainer.get_ref()
                ),
            ));
        }
        let description = &package.description;
        let python = package.kind == PackageKind::Python;
        if description.span() == (0..0) && !python {
            return Err(err(0..0, "missing field `description`".into()));
        }
        self.validate_python(err)?;
        if description.span() != (0..0)
            && description
                .get_ref()
                .lines()
                .next()
                .is_none_or(|l| l.trim().is_empty())
        {
            return Err(err(
                description.span(),
                "the description needs a synopsis on its first line".into(),
            ));
        }
        if let Some(revision) = &package.revision {
            let ok = !revision.get_ref().is_empty()
                && revision
                    .get_ref()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+.~".contains(&b));
            if !ok {
                return Err(err(
                    revision.span(),
                    format!(
                        "invalid Debian revision {:?}: use letters, digits and + . ~",
                        revision.get_ref()
                    ),
                ));
            }
        }
        package.check_relations(err)?;
        for asset in &package.assets {
            check_dest(asset.dest.get_ref()).map_err(|m| err(asset.dest.span(), m))?;
            check_relative(asset.src.get_ref()).map_err(|m| err(asset.src.span(), m))?;
        }
        for name in &package.build_env {
            check_build_env(name.get_ref()).map_err(|m| err(name.span(), m))?;
        }
        for path in [&package.maintainer_scripts, &package.copyright]
            .into_iter()
            .flatten()
        {
            check_relative(path.get_ref()).map_err(|m| err(path.span(), m))?;
        }
        for unit in package.systemd.iter().flat_map(|s| s.units.keys()) {
            check_systemd_unit(unit.get_ref()).map_err(|m| err(unit.span(), m))?;
        }
        Ok(())
    }
    /// Each relation valid, and `${shlibs}` at most once, in a field it
    /// may stand in.
    fn check_relations(
        &self,
        err: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let mut shlibs_seen = false;
        for (field, list) in self.relations() {
            for relation in list {
                if relation.get_ref().trim() != SHLIBS {
                    check_relation(relation.get_ref()).map_err(|m| err(relation.span(), m))?;
                    continue;
                }
                if !SHLIBS_FIELDS.contains(&field) || shlibs_seen {
                    return Err(err(
                        relation.span(),
                        format!(
                            "{SHLIBS} may stand once, in one of {}",
                            SHLIBS_FIELDS.join(", ").to_lowercase()
                        ),
                    ));
                }
                shlibs_seen = true;
            }
        }
        Ok(())
    }

    /// The field `${shlibs}` stands in, if any.
    pub fn shlibs_field(&self) -> Option<&'static str> {
        self.relations()
            .find(|(_, list)| list.iter().any(|r| r.get_ref().trim() == SHLIBS))
            .map(|(field, _)| field)
    }

    /// The relationship fields with their control names, in dpkg's order.
    pub fn relations(&self) -> impl Iterator<Item = (&'static str, &[Spanned<String>])> {
        [
            ("Pre-Depends", &self.pre_depends),
            ("Depends", &self.depends),
            ("Recommends", &self.recommends),
            ("Suggests", &self.suggests),
            ("Breaks", &self.breaks),
            ("Conflicts", &self.conflicts),
            ("Provides", &self.provides),
            ("Replaces", &self.replaces),
        ]
        .into_iter()
        .map(|(name, list)| (name, list.as_slice()))
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

pub(crate) fn located(text: &str, origin: &str, offset: usize, message: String) -> ConfigError {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    let source_line = text[line_start..].lines().next().unwrap_or("").to_owned();
    ConfigError {
        origin: origin.to_owned(),
        line,
        column,
        message: message.trim_end().to_owned(),
        source_line,
    }
}

fn is_maintainer(text: &str) -> bool {
    let Some((name, rest)) = text.split_once('<') else {
        return false;
    };
    let Some(email) = rest.strip_suffix('>') else {
        return false;
    };
    !name.trim().is_empty() && email.contains('@') && !email.contains(char::is_whitespace)
}

/// A relationship like `libc6 (>= 2.31) | libc6.1`: names valid, operators known.
fn check_relation(text: &str) -> Result<(), String> {
    for alternative in text.split('|') {
        let alternative = alternative.trim();
        let (name, rest) = match alternative.find(['(', ' ', '[', ':']) {
            Some(i) => alternative.split_at(i),
            None => (alternative, ""),
        };
        crate::deb::check_package_name(name).map_err(|_| {
            format!("invalid relationship {text:?}: {name:?} is not a package name")
        })?;
        let rest = rest.trim_start().trim_start_matches(":any").trim_start();
        if let Some(inner) = rest.strip_prefix('(') {
            let Some(inner) = inner.split(')').next() else {
                return Err(format!("invalid relationship {text:?}"));
            };
            let inner = inner.trim();
            let op_len = inner
                .find(|c: char| !"<>=".contains(c))
                .unwrap_or(inner.len());
            let (op, version) = inner.split_at(op_len);
            if !["<<", "<=", "=", ">=", ">>"].contains(&op) {
                return Err(format!(
                    "invalid relationship {text:?}: operator {op:?} is not one of << <= = >= >>"
                ));
            }
            crate::version::DebVersion::parse(version.trim())
                .map_err(|e| format!("invalid relationship {text:?}: {e}"))?;
        }
    }
    Ok(())
}

fn check_dest(dest: &str) -> Result<(), String> {
    if !dest.starts_with('/') {
        return Err(format!("asset dest {dest:?} must be an absolute path"));
    }
    if dest.split('/').any(|c| c == ".." || c == ".") {
        return Err(format!(
            "asset dest {dest:?} must not contain . or .. components"
        ));
    }
    Ok(())
}

/// A `build-env` name: a variable name, and neither a secret of the caller
/// nor one git-buildkit sets for every build.
fn check_build_env(name: &str) -> Result<(), String> {
    let valid = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(format!(
            "build-env {name:?} is not an environment variable name"
        ));
    }
    if name.starts_with("BUILDKIT_KEY_PASSPHRASE") {
        return Err(format!(
            "build-env {name:?}: the signing key's passphrase never reaches a build"
        ));
    }
    if name.starts_with("BUILDKIT_") || ["HOME", "TMPDIR", "SOURCE_DATE_EPOCH"].contains(&name) {
        return Err(format!(
            "build-env {name:?}: git-buildkit sets it for every build"
        ));
    }
    Ok(())
}

/// A unit in `systemd.units`: a valid name, not a template (never enabled
/// or started).
fn check_systemd_unit(name: &str) -> Result<(), String> {
    crate::debhelper::systemd::check_unit_name(name).map_err(|m| format!("systemd.units: {m}"))?;
    if name.contains('@') {
        return Err(format!(
            "systemd.units: {name:?} is a template or instance, which is never enabled or started"
        ));
    }
    Ok(())
}

fn check_relative(path: &str) -> Result<(), String> {
    if path.starts_with('/') || path.split('/').any(|c| c == "..") {
        return Err(format!(
            "{path:?} must be a path inside the repository (relative, no ..)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const GOOD: &str = r#"
[flow.prefix]
version-tag = "release-"

[[package]]
name = "hello"
description = "says hello\nA longer text."
maintainer = "Jane Doe <jane@example.com>"
depends = ["libc6 (>= 2.31)", "foo | bar"]
build = "make"
assets = [{ src = "hello", dest = "/usr/bin/hello", mode = "0755" }]
"#;

    #[test]
    fn parses_a_good_file() {
        let config = Config::parse(GOOD, "HEAD:.buildkit.toml").expect("parses");
        let package = &config.packages[0];
        assert_eq!(package.name.get_ref(), "hello");
        assert_eq!(package.architecture.get_ref(), "all");
        assert_eq!(package.assets[0].mode, Some(Mode(0o755)));
        assert_eq!(config.tag_scheme(Some(package)).prefix, "release-");
    }

    fn error_of(text: &str) -> String {
        Config::parse(text, "v1.0.0:.buildkit.toml")
            .expect_err("must fail")
            .to_string()
    }

    #[test]
    fn errors_name_line_and_column() {
        let base =
            "[[package]]\nname = \"hello\"\ndescription = \"d\"\nmaintainer = \"A <a@b.c>\"\n";
        let cases = [
            ("[[package]\n".to_owned(), "v1.0.0:.buildkit.toml:1:11: unclosed array table, expected `]`"),
            (format!("{base}colour = \"red\"\n"), "v1.0.0:.buildkit.toml:5:1: unknown field `colour`, expected one of `name`, `description`, `maintainer`, `architecture`, `section`, `priority`, `homepage`, `revision`, `pre-depends`, `depends`, `recommends`, `suggests`, `conflicts`, `provides`, `replaces`, `breaks`, `build`, `test`, `assets`, `maintainer-scripts`, `copyright`, `compression`, `build-env`, `build-timeout`, `sandbox`, `network`, `strip`, `dbgsym`, `systemd`, `kind`, `python`, `allow-build-path`"),
            (format!("{base}build-env = [\"BUILDKIT_KEY_PASSPHRASE_FILE\"]\n"), "v1.0.0:.buildkit.toml:5:14: build-env \"BUILDKIT_KEY_PASSPHRASE_FILE\": the signing key's passphrase never reaches a build"),
            (format!("{base}build-env = [\"HOME\"]\n"), "v1.0.0:.buildkit.toml:5:14: build-env \"HOME\": git-buildkit sets it for every build"),
            (format!("{base}build-env = [\"A-B\"]\n"), "v1.0.0:.buildkit.toml:5:14: build-env \"A-B\" is not an environment variable name"),
            (format!("{base}build-timeout = \"soon\"\n"), "v1.0.0:.buildkit.toml:5:17: build-timeout \"soon\" is not a duration such as \"90s\", \"30m\" or \"2h\""),
            (format!("{base}sandbox = \"docker\"\n"), "v1.0.0:.buildkit.toml:5:11: unknown variant `docker`, expected one of `auto`, `bwrap`, `none`"),
            (format!("{base}depends = \"libc6\"\n"), "v1.0.0:.buildkit.toml:5:11: invalid type: string \"libc6\", expected a sequence"),
            (base.replace("hello", "Hello"), "v1.0.0:.buildkit.toml:2:8: invalid package name \"Hello\": names use lowercase letters, digits and + - . and start with a letter or digit, at least two characters"),
            (format!("{base}assets = [{{ src = \"a\", dest = \"/usr/../etc/x\" }}]\n"), "v1.0.0:.buildkit.toml:5:31: asset dest \"/usr/../etc/x\" must not contain . or .. components"),
            (format!("{base}assets = [{{ src = \"a\", dest = \"usr/bin/x\" }}]\n"), "v1.0.0:.buildkit.toml:5:31: asset dest \"usr/bin/x\" must be an absolute path"),
            (format!("{base}assets = [{{ src = \"../a\", dest = \"/x\" }}]\n"), "v1.0.0:.buildkit.toml:5:19: \"../a\" must be a path inside the repository (relative, no ..)"),
            (format!("{base}assets = [{{ src = \"a\", dest = \"/x\", mode = \"rwx\" }}]\n"), "v1.0.0:.buildkit.toml:5:44: mode \"rwx\" is not an octal number such as \"0755\""),
            (format!("{base}depends = [\"libc6 (=> 2)\"]\n"), "v1.0.0:.buildkit.toml:5:12: invalid relationship \"libc6 (=> 2)\": operator \"=>\" is not one of << <= = >= >>"),
            (base.replace("A <a@b.c>", "nobody"), "v1.0.0:.buildkit.toml:4:14: maintainer \"nobody\" must look like \"Name <email@example.com>\""),
            (format!("{base}conflicts = [\"${{shlibs}}\"]\n"), "v1.0.0:.buildkit.toml:5:14: ${shlibs} may stand once, in one of pre-depends, depends, recommends, suggests"),
            (format!("{base}depends = [\"${{shlibs}}\"]\nrecommends = [\"${{shlibs}}\"]\n"), "v1.0.0:.buildkit.toml:6:15: ${shlibs} may stand once, in one of pre-depends, depends, recommends, suggests"),
            (format!("{base}compression = \"bz2\"\n"), "v1.0.0:.buildkit.toml:5:15: unknown variant `bz2`, expected one of `xz`, `gzip`, `zstd`, `none`"),
        ];
        for (text, want) in cases {
            assert_eq!(error_of(&text), want, "{text}");
        }
    }

    #[test]
    fn systemd_settings_are_read_and_checked() {
        let base =
            "[[package]]\nname = \"hello\"\ndescription = \"d\"\nmaintainer = \"A <a@b.c>\"\n";
        let text = format!(
            "{base}systemd = {{ start = false, units = {{ \"worker.service\" = {{ enable = false }} }} }}\n"
        );
        let config = Config::parse(&text, "HEAD:.buildkit.toml").expect("parses");
        let systemd = config.packages[0].systemd.clone().expect("systemd");
        assert_eq!((systemd.enable, systemd.start), (None, Some(false)));
        let (name, unit) = systemd.units.iter().next().expect("one unit");
        assert_eq!(name.get_ref(), "worker.service");
        assert_eq!((unit.enable, unit.start), (Some(false), None));
        let cases = [
            ("systemd = { enabled = false }", "v1.0.0:.buildkit.toml:5:13: unknown field `enabled`, expected one of `enable`, `start`, `units`"),
            ("systemd = { units = { \"w.service\" = { restart = true } } }", "v1.0.0:.buildkit.toml:5:39: unknown field `restart`, expected `enable` or `start`"),
            ("systemd = { units = { \"w.service;reboot\" = {} } }", "v1.0.0:.buildkit.toml:5:23: systemd.units: \"w.service;reboot\" is not a unit name: .service;reboot is not a unit type (service, socket, target, device, mount, automount, swap, timer, path, slice, scope)"),
            ("systemd = { units = { \"it's.service\" = {} } }", "v1.0.0:.buildkit.toml:5:23: systemd.units: \"it's.service\" is not a unit name: use letters, digits and : - _ . \\ (and one @ for a template)"),
            ("systemd = { units = { \"w@.service\" = {} } }", "v1.0.0:.buildkit.toml:5:23: systemd.units: \"w@.service\" is a template or instance, which is never enabled or started"),
            ("systemd = { start = \"no\" }", "v1.0.0:.buildkit.toml:5:21: invalid type: string \"no\", expected a boolean"),
        ];
        for (line, want) in cases {
            assert_eq!(error_of(&format!("{base}{line}\n")), want, "{line}");
        }
    }

    #[test]
    fn vm_values_are_checked_where_they_are_written() {
        // A timeout whose deadline (now + limit) overflowed and panicked in
        // vm-test, and the other [vm] values, are errors at their place.
        let cases = [
            ("timeout = \"5124095576030431h\"", "v1.0.0:.buildkit.toml:3:11: timeout 5124095576030431h is out of range (1s to 24h)"),
            ("timeout = \"99999999999999999999s\"", "v1.0.0:.buildkit.toml:3:11: timeout 99999999999999999999s is out of range (1s to 24h)"),
            ("timeout = \"soon\"", "v1.0.0:.buildkit.toml:3:11: invalid duration \"soon\" (examples: 90s, 5m, 1h)"),
            ("memory = \"99999999999G\"", "v1.0.0:.buildkit.toml:3:10: memory 99999999999G is out of range (128M to 64G)"),
            ("cpus = 0", "v1.0.0:.buildkit.toml:3:8: cpus 0 is out of range (1 to 64)"),
            ("cpus = 4294967296", "v1.0.0:.buildkit.toml:3:8: invalid value: integer `4294967296`, expected u32"),
            ("mode = \"turbo\"", "v1.0.0:.buildkit.toml:3:8: invalid VM mode \"turbo\" (fast, systemd or auto)"),
            ("forward = [\"8080:80\", \"80\"]", "v1.0.0:.buildkit.toml:3:23: invalid forward \"80\": write HOST:GUEST, e.g. 8080:80"),
            ("debian = \"yes\"", "v1.0.0:.buildkit.toml:3:10: invalid type: string \"yes\", expected a boolean"),
        ];
        for (line, want) in cases {
            let text = format!("[vm]\nsmoke = [\"true\"]\n{line}\n");
            assert_eq!(error_of(&text), want, "{text}");
        }
        let good = Config::parse(
            "[vm]\ntimeout = \"24h\"\nmemory = \"1G\"\ncpus = 2\nmode = \"fast\"\n",
            "HEAD:.buildkit.toml",
        )
        .expect("parses");
        let vm = good.vm.expect("[vm]");
        assert_eq!(vm.timeout.map(TimeLimit::secs), Some(24 * 3600));
        assert_eq!(vm.cpus.map(Cpus::get), Some(2));
    }

    #[test]
    fn typed_values_hold_what_was_written() {
        let text = "[vm]\nmemory = \"1536\"\ntimeout = \"90\"\nmode = \"systemd\"\n\n\
                    [hooks]\non-tag = [\"package\", \"publish\", \"vm-test\"]\n";
        let config = Config::parse(text, "HEAD:.buildkit.toml").expect("parses");
        let vm = config.vm.expect("[vm]");
        assert_eq!(vm.memory.map(Memory::mib), Some(1536));
        assert_eq!(vm.timeout.map(TimeLimit::secs), Some(90));
        assert_eq!(
            vm.mode,
            Some(ModeChoice::Exactly(crate::vm::GuestMode::Systemd))
        );
        assert_eq!(vm.cpus, None);
        let on_tag: Vec<Stage> = config
            .hooks
            .expect("[hooks]")
            .on_tag
            .iter()
            .map(|s| *s.get_ref())
            .collect();
        assert_eq!(on_tag, [Stage::Package, Stage::Publish, Stage::VmTest]);
    }

    #[test]
    fn typed_value_errors_name_line_and_column() {
        let cases = [
            ("[vm]\nmemory = \"lots\"\n", "v1.0.0:.buildkit.toml:2:10: invalid memory size \"lots\" (examples: 512M, 1G)"),
            ("[vm]\nmemory = 512\n", "v1.0.0:.buildkit.toml:2:10: invalid type: integer `512`, expected a string"),
            ("[vm]\ncpus = 65\n", "v1.0.0:.buildkit.toml:2:8: cpus 65 is out of range (1 to 64)"),
            ("[vm]\ntimeout = \"0s\"\n", "v1.0.0:.buildkit.toml:2:11: invalid duration \"0s\" (examples: 90s, 5m, 1h)"),
            ("[vm]\ntimeout = \"25h\"\n", "v1.0.0:.buildkit.toml:2:11: timeout 25h is out of range (1s to 24h)"),
            ("[vm]\nmode = \"Fast\"\n", "v1.0.0:.buildkit.toml:2:8: invalid VM mode \"Fast\" (fast, systemd or auto)"),
            ("[hooks]\non-tag = [\"package\",\n  \"deploy\"]\n", "v1.0.0:.buildkit.toml:2:10: [hooks] on-tag: unknown stage \"deploy\" (known: package, publish, vm-test, promote)"),
            ("[hooks]\non-tag = [\"vm-test\"]\n", "v1.0.0:.buildkit.toml:2:11: [hooks] on-tag: vm-test needs publish before it"),
            ("[vm]\nimage = \"../etc\"\n", "v1.0.0:.buildkit.toml:2:9: invalid image name \"../etc\": use letters, digits, '.', '_' and '-'"),
            ("[[package]]\nname = \"hello\"\ndescription = \"d\"\nmaintainer = \"A <a@b.c>\"\narchitecture = \"-amd64\"\n", "v1.0.0:.buildkit.toml:5:16: invalid architecture \"-amd64\""),
            // A build-timeout out of range says so (it said "not a duration").
            ("[[package]]\nname = \"hello\"\ndescription = \"d\"\nmaintainer = \"A <a@b.c>\"\nbuild-timeout = \"25h\"\n", "v1.0.0:.buildkit.toml:5:17: build-timeout 25h is out of range (1s to 24h)"),
        ];
        for (text, want) in cases {
            assert_eq!(error_of(text), want, "{text}");
        }
    }

    #[test]
    fn vm_suites_are_checked_where_they_are_written() {
        let cases = [
            ("image = \"py\"\nsuites = [\"bookworm\"]", "v1.0.0:.buildkit.toml:3:10: [vm] suites and [vm] image exclude each other: each suite has its own image (the one named after it, else the default image when it is of that suite)"),
            ("suites = [\"bookworm\", \"trixie\", \"bookworm\"]", "v1.0.0:.buildkit.toml:2:33: [vm] suites: suite \"bookworm\" is listed twice"),
            ("suites = [\"bookworm\", \"../etc\"]", "v1.0.0:.buildkit.toml:2:23: [vm] suites: invalid suite \"../etc\": use letters, digits, '.', '_' and '-'"),
            ("suites = [\"a/b\"]", "v1.0.0:.buildkit.toml:2:11: [vm] suites: invalid suite \"a/b\": use letters, digits, '.', '_' and '-'"),
            ("suites = [\"\"]", "v1.0.0:.buildkit.toml:2:11: [vm] suites: invalid suite \"\": use letters, digits, '.', '_' and '-'"),
            ("suites = []", "v1.0.0:.buildkit.toml:2:10: [vm] suites is empty: name at least one suite, or leave it out"),
            ("suites = \"trixie\"", "v1.0.0:.buildkit.toml:2:10: invalid type: string \"trixie\", expected a sequence"),
        ];
        for (lines, want) in cases {
            let text = format!("[vm]\n{lines}\nsmoke = [\"true\"]\n");
            assert_eq!(error_of(&text), want, "{text}");
        }
        let good = Config::parse(
            "[vm]\nsuites = [\"bookworm\", \"trixie\"]\n",
            "HEAD:.buildkit.toml",
        )
        .expect("parses");
        let vm = good.vm.expect("[vm]");
        assert_eq!(
            vm.suite_names(),
            Some(vec!["bookworm".to_owned(), "trixie".to_owned()])
        );
        assert_eq!(VmConfig::default().suite_names(), None);
    }
}
