//! Why packaging failed: one error for the stage, naming the package and
//! the file of the tree it was working on.

use std::path::PathBuf;

use super::confine::Outside;
use crate::config::{ConfigError, FILE_NAME};
use crate::deb::DebError;
use crate::git::GitError;
use crate::process::{Limit, ProcessError};
use crate::version::VersionError;

/// Why packaging failed.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Reading the repository failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The commit has no `.buildkit.toml`.
    #[error("commit {rev} has no {FILE_NAME}")]
    NoConfig { rev: String },
    /// `package --worktree` of a repository without a work tree.
    #[error("{git_dir} has no work tree: --worktree packages the files of one")]
    NoWorkTree { git_dir: PathBuf },
    /// `package --worktree` in a repository without a commit.
    #[error("HEAD has no commit yet: --worktree builds on HEAD (its time and history)")]
    NoHead {
        #[source]
        source: GitError,
    },
    /// `package --worktree` and the work tree has no `.buildkit.toml`.
    #[error("the work tree has no {FILE_NAME}: {path} does not exist")]
    NoWorktreeConfig { path: PathBuf },
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
    /// The project's tests failed (or ran past `build-timeout`).
    #[error("the tests failed: `{command}`")]
    Test {
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
    /// The build host requires the sandbox and the tag's configuration asks for less.
    #[error("package {package}: {setting}, but this build host requires every build in a sandbox without network (git config buildkit.sandbox.require)")]
    SandboxRequired {
        package: String,
        setting: &'static str,
    },
    /// A directory the build host grants the sandbox (`buildkit.sandbox.readOnly`) is refused.
    #[error("git config buildkit.sandbox.readOnly {path:?} {reason}")]
    Grant { path: String, reason: String },
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
    /// A `.tera` package file does not render.
    #[error("package {package}: {source}")]
    Template {
        package: String,
        #[source]
        source: Box<crate::template::TemplateError>,
    },
    /// A packaged file holds the path of the directory the build ran in.
    #[error("the build's path ({path}) is in {}", files.iter().map(|(p, f)| format!("{p}: {f}")).collect::<Vec<_>>().join(", "))]
    BuildPathInPackage {
        path: String,
        files: Vec<(String, String)>,
    },
    /// A Python wheel or the package set made of it is wrong.
    #[error(transparent)]
    Python(#[from] Box<crate::python::PythonError>),
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
    /// Stripping an ELF file, or writing its `-dbgsym` package, failed.
    #[error("package {package}: stripping failed")]
    Strip {
        package: String,
        #[source]
        source: Box<crate::debhelper::strip::StripError>,
    },
    /// A file of the package starts like ELF but is not a valid one.
    #[error("package {package}: {file} is a damaged ELF file")]
    BadElf {
        package: String,
        file: String,
        #[source]
        source: Box<crate::debhelper::elf::ElfError>,
    },
    /// Libraries the package's ELF files need map to no package.
    #[error("package {package}: a library its ELF files need maps to no package:\n  {}", lines.join("\n  "))]
    UnresolvedLibraries { package: String, lines: Vec<String> },
    /// dpkg's database could not be read.
    #[error("package {package}: its library dependencies could not be computed")]
    Shlibs {
        package: String,
        #[source]
        source: Box<crate::debhelper::shlibs::ShlibsError>,
    },
    /// Another architecture's library information could not be had.
    #[error("package {package} ({arch}): the {arch} libraries' dependency information could not be fetched: {reason}")]
    Foreign {
        package: String,
        arch: String,
        reason: String,
    },
}

impl PackageError {
    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            PackageError::NoConfig { .. } => Some(format!("commit a {FILE_NAME} (see `git buildkit help package`), then tag again")),
            PackageError::NoVersionTag { prefix, .. } => Some(format!("create one with `git tag -a {prefix}0.1.0 -m 0.1.0`")),
            PackageError::BadTag { .. } => Some("version tags look like v1.2.0 or v1.2.0-rc.1 (semver, no build metadata)".into()),
            // A work tree's file is named by its absolute path, a commit's by `REV:.buildkit.toml`.
            PackageError::Config(c) if c.origin.starts_with('/') => Some("fix the file and run `git buildkit package --worktree` again".into()),
            PackageError::Config(_) => Some("the file is read from the commit being packaged; fix it, commit, and tag a new version (try the fix first with `git buildkit package --worktree`)".into()),
            PackageError::NoWorkTree { .. } => Some("run it in a checkout (a bare repository has only commits: `git buildkit package TAG`)".into()),
            PackageError::NoHead { .. } => Some("make a first commit (`git commit`), then try again".into()),
            PackageError::NoWorktreeConfig { .. } => Some(format!("write a {FILE_NAME} at the top of the work tree (`man 5 buildkit.toml`)")),
            PackageError::BuildTimeout { .. } => Some("raise `build-timeout` in the [[package]] (e.g. build-timeout = \"2h\") if the build needs longer".into()),
            PackageError::NoSandbox { .. } => Some("install bubblewrap (apt-get install bubblewrap), or set sandbox = \"auto\" to build unsandboxed where bwrap does not work".into()),
            PackageError::SandboxRequired { .. } => Some("build from what the tag holds (vendor what the build would fetch), or ask the host's owner; the setting is theirs, not the tag's".into()),
            PackageError::Grant { .. } => Some("grant only directories that hold what builds need (a toolchain, a package cache); see them with `git config --show-origin --get-all buildkit.sandbox.readOnly`".into()),
            PackageError::LeavesTree { .. } => Some("symlinks in the tree may point only inside it; package the file itself".into()),
            PackageError::NoLongDescription { .. } => Some("write the long description after the synopsis line, for example:\n  description = \"\"\"\n  prints a friendly greeting\n  A longer text saying what the package does, shown by `apt show`.\n  \"\"\"".into()),
            PackageError::UnresolvedLibraries { .. } => Some("install the package that provides the library on this host, ship the library in a package of the same build, or pass --allow-unresolved to leave it out of Depends".into()),
            PackageError::Foreign { .. } => Some("the symbols of another architecture come from the host's Debian mirror through the apt cache (`git buildkit cache status`); or list the dependencies yourself without ${shlibs}".into()),
            PackageError::BuildPathInPackage { .. } => Some("build relocatable files: `-ffile-prefix-map=$PWD=.` for C, no virtualenv made in the export (use kind = \"python\"); or list files that may keep it in allow-build-path = [\"/usr/lib/x/*.pc\"]".into()),
            _ => None,
        }
    }

    /// The last lines the build command printed, when it failed or timed out.
    pub fn build_output(&self) -> Option<&str> {
        match self {
            PackageError::Build { source, .. } | PackageError::Test { source, .. } => {
                Some(source.output())
            }
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
    /// A Python project's directory or lock file.
    PythonProject,
}

impl std::fmt::Display for TreeFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TreeFile::Asset => "asset",
            TreeFile::Copyright => "copyright file",
            TreeFile::MaintainerScripts => "maintainer-scripts directory",
            TreeFile::MaintainerScript => "maintainer script",
            TreeFile::Readme => "README",
            TreeFile::PythonProject => "python project file",
        })
    }
}

/// The error for a path of the tree that leads outside it.
pub(super) fn leaves_tree(
    package: &str,
    what: TreeFile,
    path: &str,
    outside: Outside,
) -> PackageError {
    PackageError::LeavesTree {
        package: package.to_owned(),
        what,
        path: path.to_owned(),
        via: format!("{} -> {}", outside.link, outside.target),
    }
}
