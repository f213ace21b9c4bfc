//! Running a package's build command, which is other people's code on a
//! host that holds the signing key.
//!
//! The command gets a clean environment: `PATH` (Debian's default),
//! `LANG=C.UTF-8`, a throw-away `HOME` and `TMPDIR` inside the run's
//! temporary directory, `SOURCE_DATE_EPOCH` and the `BUILDKIT_VERSION`,
//! `BUILDKIT_TAG` and `BUILDKIT_COMMIT` build variables, plus the caller's
//! values of the variables `build-env` names (never a passphrase: the
//! configuration refuses those names). Nothing else of the caller's
//! environment gets through, so a secret in it cannot end up in a package.
//!
//! Where bubblewrap works, the command runs in a `bwrap` sandbox: the whole
//! file system read-only, the run's directory (the export, HOME, TMPDIR)
//! writable, `/tmp`, `/var/tmp`, the caller's home and the key store
//! replaced by empty directories, no network unless `network = true`, its
//! own PID namespace (so nothing it starts outlives it), and a new session
//! (so it cannot push keystrokes into the caller's terminal). The build
//! host (never a tag) can show more directories read-only with the git
//! configuration key [`GRANT_KEY`]: a toolchain or a package cache under
//! the home directory, which the sandbox otherwise hides; one that holds
//! the key store or the passphrase file is refused. There the
//! run's directory is always at [`SANDBOX_RUN`], so the paths a compiler
//! writes into debug information (and so the build ids) are the same in
//! every build of a tag, as on Debian's buildds.
//!
//! The command runs in a process group of its own under a time limit
//! (`build-timeout`, 30 minutes by default); on expiry, or when it exits,
//! the group is killed, so a daemon it leaves behind cannot hang the
//! pipeline or keep holding the tag's lock.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{BuildReport, PackageError};
use crate::config::{BuildTimeout, Config, PackageConfig, Sandbox};
use crate::process::{Cmd, ProcessError};
use crate::progress::Listener;

/// The git configuration key (multi-valued; read from the host's git
/// configuration, never from a tag) naming directories the sandbox shows
/// read-only: `git config --global --add buildkit.sandbox.readOnly ~/.rustup`.
pub const GRANT_KEY: &str = "buildkit.sandbox.readOnly";

/// The git configuration key (boolean; the host's, never a tag's) with
/// which a shared build host requires every build to run in bwrap without
/// network: a tag's `sandbox = "none"` or `network = true` is refused, and
/// so is a build where bwrap does not work.
pub const REQUIRE_KEY: &str = "buildkit.sandbox.require";

/// What the build host decides about build sandboxes, from its git
/// configuration (never from a tag).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPolicy {
    /// Directories shown read-only ([`GRANT_KEY`]), checked.
    pub granted: Vec<PathBuf>,
    /// [`REQUIRE_KEY`].
    pub require: bool,
}

impl HostPolicy {
    /// What of a command's settings this host refuses: under
    /// [`REQUIRE_KEY`], no sandbox or any network.
    pub(crate) fn refusal(&self, sandbox: Sandbox, network: bool) -> Option<&'static str> {
        if !self.require {
            return None;
        }
        match (sandbox, network) {
            (Sandbox::None, _) => Some("sandbox = \"none\""),
            (_, true) => Some("network = true"),
            _ => None,
        }
    }
}

/// `PATH` of every build: Debian's default (see /etc/login.defs), not the
/// caller's. `build-env = ["PATH"]` passes the caller's instead.
pub const BUILD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One build command with the settings it runs under. Packages that share
/// all of it share one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Build {
    pub(super) command: String,
    pub(super) env: Vec<String>,
    pub(super) timeout: Duration,
    pub(super) sandbox: Sandbox,
    pub(super) network: bool,
    /// Directories the sandbox shows read-only even where they would be
    /// hidden (a wheelhouse under the home directory).
    pub(super) ro: Vec<PathBuf>,
}

/// What a command of a packaging is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// `build`: makes what the package holds.
    Build,
    /// `test`: the project's tests, after every build, before packaging.
    Test,
}

impl Purpose {
    fn verb(self) -> &'static str {
        match self {
            Purpose::Build => "Building",
            Purpose::Test => "Testing",
        }
    }
}

impl Build {
    /// The build (or test) command of a package, if it has one, with the
    /// settings of its build.
    pub(super) fn of(package: &PackageConfig, purpose: Purpose) -> Option<Self> {
        let command = match purpose {
            Purpose::Build => package.build.as_ref(),
            Purpose::Test => package.test.as_ref(),
        };
        command.map(|command| Build {
            command: command.clone(),
            env: package
                .build_env
                .iter()
                .map(|n| n.get_ref().clone())
                .collect(),
            timeout: package.build_timeout.unwrap_or(BuildTimeout::DEFAULT).0,
            sandbox: package.sandbox,
            network: package.network,
            ro: Vec::new(),
        })
    }
}

/// The values the build variables take.
#[derive(Debug, Clone)]
pub(super) struct BuildVars {
    pub(super) epoch: u64,
    pub(super) version: String,
    pub(super) tag: String,
    pub(super) commit: String,
}

/// Where the run's directory is inside the sandbox: a fixed path, so that
/// what a build records of its directory is the same in every build.
pub(super) const SANDBOX_RUN: &str = "/tmp/buildkit";

/// The run's directories: `<run>/src` the export, `<run>/home`, `<run>/tmp`.
#[derive(Debug, Clone)]
pub(super) struct RunDirs {
    pub(super) run: PathBuf,
    pub(super) src: PathBuf,
    pub(super) home: PathBuf,
    pub(super) tmp: PathBuf,
}

impl RunDirs {
    pub(super) fn new(run: &Path) -> Self {
        Self {
            run: run.to_owned(),
            src: run.join("src"),
            home: run.join("home"),
            tmp: run.join("tmp"),
        }
    }
}

/// How a build ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// In a bwrap sandbox, with or without network.
    Bwrap {
        /// Whether it could reach the network.
        network: bool,
    },
    /// As the caller: its file system and network.
    Unsandboxed,
}

impl Isolation {
    /// How the output says it.
    pub fn describe(self) -> &'static str {
        match self {
            Isolation::Bwrap { network: false } => "in a bwrap sandbox without network",
            Isolation::Bwrap { network: true } => "in a bwrap sandbox with network",
            Isolation::Unsandboxed => "unsandboxed",
        }
    }
}

/// The build command's whole environment: the fixed variables, then the
/// caller's values of `names` (`caller` looks one up).
pub(super) fn environment(
    names: &[String],
    caller: &dyn Fn(&str) -> Option<OsString>,
    dirs: &RunDirs,
    vars: &BuildVars,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), BUILD_PATH.into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("HOME".into(), dirs.home.clone().into()),
        ("TMPDIR".into(), dirs.tmp.clone().into()),
        ("SOURCE_DATE_EPOCH".into(), vars.epoch.to_string().into()),
        ("BUILDKIT_VERSION".into(), vars.version.clone().into()),
        ("BUILDKIT_TAG".into(), vars.tag.clone().into()),
        ("BUILDKIT_COMMIT".into(), vars.commit.clone().into()),
    ];
    for name in names {
        if let Some(value) = caller(name) {
            env.retain(|(k, _)| k != name.as_str());
            env.push((name.into(), value));
        }
    }
    env
}

/// The paths a sandboxed build must not see, beyond `/tmp` and `/var/tmp`:
/// the caller's home and the key store (directories, emptied), and the
/// passphrase file (shown as an empty file), when they exist (bwrap cannot
/// mount over a missing path of a read-only tree), and never `/`. Each by
/// the path given (made absolute) and by its canonical path, so a symlink
/// (a data directory linked out of the home) leaves no way round.
pub(super) fn hidden_paths(
    home: Option<PathBuf>,
    key_store: Option<PathBuf>,
    passphrase_file: Option<PathBuf>,
) -> Vec<PathBuf> {
    let both = |path: PathBuf| {
        let path = std::path::absolute(&path).unwrap_or(path);
        let real = path.canonicalize().ok();
        std::iter::once(path).chain(real)
    };
    let dirs = [home, key_store]
        .into_iter()
        .flatten()
        .flat_map(both)
        .filter(|p| p != Path::new("/") && p.is_dir());
    let files = passphrase_file
        .into_iter()
        .flat_map(both)
        .filter(|p| p.is_file());
    let mut hidden: Vec<PathBuf> = Vec::new();
    for path in dirs.chain(files) {
        if !hidden.iter().any(|h| path.starts_with(h)) {
            hidden.push(path);
        }
    }
    hidden
}

/// [`hidden_paths`] for this user: the home, the key store and the file
/// `BUILDKIT_KEY_PASSPHRASE_FILE` names.
pub(super) fn host_hidden_paths() -> Vec<PathBuf> {
    let paths = crate::paths::Env::current();
    hidden_paths(
        paths.home().ok(),
        paths.keys_dir().ok(),
        std::env::var_os("BUILDKIT_KEY_PASSPHRASE_FILE").map(PathBuf::from),
    )
}

/// The directories [`GRANT_KEY`]'s `values` name (absolute, or `~/…`),
/// each canonical and checked: an existing directory other than `/`, that
/// neither holds nor lies inside a secret (`secrets`: the key store and
/// the passphrase file, when there are).
pub fn granted_paths(
    values: &[String],
    home: Option<&Path>,
    secrets: &[PathBuf],
) -> Result<Vec<PathBuf>, PackageError> {
    let secrets: Vec<PathBuf> = secrets
        .iter()
        .map(|s| s.canonicalize().unwrap_or_else(|_| s.clone()))
        .collect();
    let mut granted: Vec<PathBuf> = Vec::new();
    for value in values {
        let refuse = |reason: String| PackageError::Grant {
            path: value.clone(),
            reason,
        };
        let path = match (value.strip_prefix("~/"), home) {
            (Some(rest), Some(home)) => home.join(rest),
            (Some(_), None) => return Err(refuse("HOME is not set".into())),
            (None, _) => PathBuf::from(value),
        };
        if !path.is_absolute() {
            return Err(refuse("is not an absolute path".into()));
        }
        let path = path
            .canonicalize()
            .map_err(|e| refuse(format!("cannot be read: {e}")))?;
        if !path.is_dir() {
            return Err(refuse("is not a directory".into()));
        }
        if path == Path::new("/") {
            return Err(refuse("is the whole file system".into()));
        }
        if let Some(secret) = secrets
            .iter()
            .find(|s| s.starts_with(&path) || path.starts_with(s))
        {
            return Err(refuse(format!("would show {}", secret.display())));
        }
        // Directories inside the home, never the home itself or above it.
        if let Some(home) = home.and_then(|h| h.canonicalize().ok()) {
            if home.starts_with(&path) {
                return Err(refuse(format!(
                    "would show the whole home directory {}",
                    home.display()
                )));
            }
        }
        if !granted.contains(&path) {
            granted.push(path);
        }
    }
    Ok(granted)
}

/// The values of a git configuration key in the repository at `dir` (its
/// own and the user's configuration), none when it is not set.
pub(crate) fn config_values(dir: &Path, args: &[&str]) -> Result<Vec<String>, PackageError> {
    match crate::git::git(dir).arg("config").args(args).output() {
        Ok(out) => Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_owned())
            .collect()),
        // Exit 1: the key is not set.
        Err(ProcessError::Exit { code: 1, .. }) => Ok(Vec::new()),
        Err(e) => Err(PackageError::Git(crate::git::GitError::from(e))),
    }
}

/// The build host's policy in the repository at `dir`: [`REQUIRE_KEY`],
/// and [`GRANT_KEY`] checked by [`granted_paths`] against the key store
/// and the passphrase file.
pub(crate) fn host_policy(dir: &Path) -> Result<HostPolicy, PackageError> {
    // Any `true` (system, global or the repository's): a repository's
    // `false` cannot undo a host-wide requirement.
    let require = config_values(dir, &["--type=bool", "--get-all", REQUIRE_KEY])?
        .iter()
        .any(|v| v == "true");
    let values = config_values(dir, &["--get-all", GRANT_KEY])?;
    Ok(HostPolicy {
        granted: host_grants(&values)?,
        require,
    })
}

/// [`granted_paths`] of `values` for this user's home, key store and
/// passphrase file.
fn host_grants(values: &[String]) -> Result<Vec<PathBuf>, PackageError> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let paths = crate::paths::Env::current();
    let secrets: Vec<PathBuf> = paths
        .keys_dir()
        .ok()
        .into_iter()
        .chain(std::env::var_os("BUILDKIT_KEY_PASSPHRASE_FILE").map(PathBuf::from))
        .collect();
    granted_paths(values, paths.home().ok().as_deref(), &secrets)
}

/// bwrap's arguments up to the command: read-only root, fresh /dev and
/// /proc, empty /tmp, /var/tmp and `hidden`, the run's directory writable
/// at [`SANDBOX_RUN`] (mounted last, so it shows even inside a hidden
/// directory), namespaces.
pub(super) fn bwrap_args(
    dirs: &RunDirs,
    hidden: &[PathBuf],
    ro: &[PathBuf],
    network: bool,
) -> Vec<OsString> {
    let inside = RunDirs::new(Path::new(SANDBOX_RUN));
    let mut args: Vec<OsString> = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        .map(OsString::from)
        .into();
    for path in [Path::new("/tmp"), Path::new("/var/tmp")]
        .into_iter()
        .chain(hidden.iter().map(PathBuf::as_path))
    {
        if path.is_file() {
            // A secret file: an empty one in its place.
            args.extend(["--ro-bind".into(), "/dev/null".into(), path.into()]);
        } else {
            args.push("--tmpfs".into());
            args.push(path.into());
        }
    }
    for path in ro {
        args.extend([
            "--ro-bind".into(),
            path.clone().into_os_string(),
            path.clone().into_os_string(),
        ]);
    }
    args.extend(["--bind".into(), dirs.run.clone().into_os_string()]);
    args.push(inside.run.into_os_string());
    args.extend(
        ["--unshare-pid", "--unshare-ipc", "--unshare-uts"]
            .into_iter()
            .chain((!network).then_some("--unshare-net"))
            .chain(["--die-with-parent", "--new-session", "--chdir"])
            .map(OsString::from),
    );
    args.push(inside.src.into_os_string());
    args.push("--".into());
    args
}

/// Whether bwrap runs here with the namespaces a build needs; the error
/// says why not (not installed, user namespaces disabled, ...).
pub(crate) fn bwrap_usable() -> Result<(), String> {
    let probe = Cmd::new("bwrap")
        .args([
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--unshare-pid",
            "--unshare-net",
            "--die-with-parent",
            "--",
            "true",
        ])
        .output();
    match probe {
        Ok(_) => Ok(()),
        Err(e) => {
            let output = e.output().trim().to_owned();
            Err(if output.is_empty() {
                e.to_string()
            } else {
                format!("{e}: {output}")
            })
        }
    }
}

/// The command that runs `build`: `sh -c COMMAND` in the export, directly
/// or under bwrap, with exactly `env`, in its own process group, under the
/// build's time limit.
pub(super) fn command(
    build: &Build,
    isolation: Isolation,
    dirs: &RunDirs,
    hidden: &[PathBuf],
    env: Vec<(OsString, OsString)>,
) -> Cmd {
    let cmd = match isolation {
        Isolation::Bwrap { network } => {
            Cmd::new("bwrap").args(bwrap_args(dirs, hidden, &build.ro, network))
        }
        Isolation::Unsandboxed => Cmd::new("sh").cwd(&dirs.src).arg("-c").arg(&build.command),
    };
    let cmd = match isolation {
        Isolation::Bwrap { .. } => cmd.args(["sh", "-c", &build.command]),
        Isolation::Unsandboxed => cmd,
    };
    env.into_iter()
        .fold(cmd.env_clear(), |cmd, (k, v)| cmd.env(k, v))
        .own_process_group()
        .time_limit(build.timeout)
        .label(format!("`{}`", build.command))
}

/// Runs each distinct build once, in the configuration's order, then each
/// distinct `test` command once, in the same export and under the same
/// settings: a package is written only from a tree whose tests passed.
pub(super) fn run_builds(
    config: &Config,
    dirs: &RunDirs,
    vars: &BuildVars,
    host: &HostPolicy,
    listener: &dyn Listener,
) -> Result<Vec<BuildReport>, PackageError> {
    let mut runner = Runner {
        host,
        dirs,
        vars,
        listener,
        done: Vec::new(),
        reports: Vec::new(),
        bwrap: None,
        hidden: host_hidden_paths(),
    };
    for purpose in [Purpose::Build, Purpose::Test] {
        for package in &config.packages {
            if let Some(mut build) = Build::of(package, purpose) {
                build.ro.extend_from_slice(&host.granted);
                runner.run(package, build, purpose)?;
            }
        }
    }
    Ok(runner.reports)
}

/// Runs the commands of one packaging, each distinct one once.
struct Runner<'a> {
    /// The build host's policy.
    host: &'a HostPolicy,
    dirs: &'a RunDirs,
    vars: &'a BuildVars,
    listener: &'a dyn Listener,
    done: Vec<(Purpose, Build)>,
    reports: Vec<BuildReport>,
    /// Whether bwrap works here, once asked.
    bwrap: Option<Result<(), String>>,
    hidden: Vec<PathBuf>,
}

impl Runner<'_> {
    fn run(
        &mut self,
        package: &PackageConfig,
        build: Build,
        purpose: Purpose,
    ) -> Result<(), PackageError> {
        if self.done.contains(&(purpose, build.clone())) {
            return Ok(());
        }
        if let Some(setting) = self.host.refusal(build.sandbox, build.network) {
            return Err(PackageError::SandboxRequired {
                package: package.name.get_ref().clone(),
                setting,
            });
        }
        let strict = build.sandbox == Sandbox::Bwrap || self.host.require;
        let isolation = match build.sandbox {
            Sandbox::None => Isolation::Unsandboxed,
            Sandbox::Auto | Sandbox::Bwrap => match self.bwrap.get_or_insert_with(bwrap_usable) {
                Ok(()) => Isolation::Bwrap {
                    network: build.network,
                },
                Err(reason) if strict => {
                    return Err(PackageError::NoSandbox {
                        package: package.name.get_ref().clone(),
                        reason: reason.clone(),
                    })
                }
                Err(reason) => {
                    // Said once, for the first command.
                    if self.reports.is_empty() {
                        self.listener.warn(&format!(
                            "bwrap is not usable here ({reason}): the build runs unsandboxed, \
                             with the caller's file system and network; install bubblewrap, \
                             or set sandbox = \"none\" to choose this"
                        ));
                    }
                    Isolation::Unsandboxed
                }
            },
        };
        self.listener.status(
            purpose.verb(),
            &format!("{}: `{}`", isolation.describe(), build.command),
        );
        // HOME and TMPDIR as the command sees them.
        let seen = match isolation {
            Isolation::Bwrap { .. } => RunDirs::new(Path::new(SANDBOX_RUN)),
            Isolation::Unsandboxed => self.dirs.clone(),
        };
        let env = environment(&build.env, &|name| std::env::var_os(name), &seen, self.vars);
        let clock = std::time::Instant::now();
        command(&build, isolation, self.dirs, &self.hidden, env)
            .stream(&mut *self.listener.output(), 20)
            .map_err(|source| match (purpose, source) {
                (Purpose::Build, ProcessError::Timeout { limit, output, .. }) => {
                    PackageError::BuildTimeout {
                        command: build.command.clone(),
                        limit,
                        output,
                    }
                }
                (Purpose::Build, source) => PackageError::Build {
                    command: build.command.clone(),
                    source,
                },
                (Purpose::Test, source) => PackageError::Test {
                    command: build.command.clone(),
                    source,
                },
            })?;
        self.reports.push(BuildReport {
            command: build.command.clone(),
            isolation,
            purpose,
            seconds: clock.elapsed().as_secs_f64(),
        });
        self.done.push((purpose, build));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn dirs() -> RunDirs {
        RunDirs::new(Path::new("/tmp/buildkit-x"))
    }

    fn vars() -> BuildVars {
        BuildVars {
            epoch: 1767261600,
            version: "1.2.0".into(),
            tag: "v1.2.0".into(),
            commit: "abc".into(),
        }
    }

    #[test]
    fn the_environment_is_fixed_plus_what_build_env_names() {
        let caller = |name: &str| match name {
            "PATH" => Some(OsString::from("/opt/bin:/usr/bin")),
            "CC" => Some(OsString::from("clang")),
            _ => None,
        };
        let env = environment(
            &["CC".into(), "PATH".into(), "UNSET".into()],
            &caller,
            &dirs(),
            &vars(),
        );
        let shown: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .collect();
        assert_eq!(
            shown,
            [
                "LANG=C.UTF-8",
                "HOME=/tmp/buildkit-x/home",
                "TMPDIR=/tmp/buildkit-x/tmp",
                "SOURCE_DATE_EPOCH=1767261600",
                "BUILDKIT_VERSION=1.2.0",
                "BUILDKIT_TAG=v1.2.0",
                "BUILDKIT_COMMIT=abc",
                "CC=clang",
                "PATH=/opt/bin:/usr/bin",
            ]
        );
    }

    #[test]
    fn bwrap_hides_home_and_keys_and_mounts_the_run_last() {
        let args = bwrap_args(
            &dirs(),
            &[PathBuf::from("/home/u"), PathBuf::from("/srv/keys")],
            &[PathBuf::from("/home/u/wheels")],
            false,
        );
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --tmpfs /var/tmp \
             --tmpfs /home/u --tmpfs /srv/keys --ro-bind /home/u/wheels /home/u/wheels \
             --bind /tmp/buildkit-x /tmp/buildkit \
             --unshare-pid --unshare-ipc --unshare-uts --unshare-net --die-with-parent \
             --new-session --chdir /tmp/buildkit/src --"
        );
        let with_network = bwrap_args(&dirs(), &[], &[], true);
        assert!(!with_network.contains(&OsString::from("--unshare-net")));
    }

    #[test]
    fn hidden_paths_skip_missing_nested_and_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().to_owned();
        let keys = home.join(".local/share/git-buildkit/keys");
        std::fs::create_dir_all(&keys).expect("mkdir");
        assert_eq!(
            hidden_paths(Some(home.join("missing")), None, None),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            hidden_paths(Some("/".into()), Some(keys.clone()), None),
            std::slice::from_ref(&keys)
        );
        assert_eq!(
            hidden_paths(Some(home.clone()), Some(keys), None),
            std::slice::from_ref(&home)
        );
    }

    #[test]
    fn hidden_paths_follow_symlinks_and_mask_the_passphrase_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let home = root.join("home");
        let elsewhere = root.join("srv/keys");
        std::fs::create_dir_all(&home).expect("mkdir");
        std::fs::create_dir_all(&elsewhere).expect("mkdir");
        // The key store is reached through a symlink out of the home.
        std::os::unix::fs::symlink(&elsewhere, home.join("keys")).expect("symlink");
        let pass = root.join("etc-pass");
        std::fs::write(&pass, "secret").expect("write");
        let hidden = hidden_paths(
            Some(home.clone()),
            Some(home.join("keys")),
            Some(pass.clone()),
        );
        assert_eq!(hidden, [home, elsewhere.clone(), pass.clone()]);
        let args = bwrap_args(&dirs(), &hidden, &[], false);
        let text: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = text.join(" ");
        assert!(
            joined.contains(&format!("--tmpfs {}", elsewhere.display())),
            "{joined}"
        );
        assert!(
            joined.contains(&format!("--ro-bind /dev/null {}", pass.display())),
            "{joined}"
        );
    }

    #[test]
    fn grants_are_canonical_directories_away_from_secrets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().canonicalize().expect("canonical");
        let toolchain = home.join(".rustup");
        let keys = home.join(".local/share/git-buildkit/keys");
        let passphrase = home.join("secret/pass");
        for d in [
            &toolchain,
            &keys,
            &passphrase.parent().expect("parent").to_owned(),
        ] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&passphrase, "x").expect("write");
        std::fs::write(home.join("file"), "x").expect("write");
        let secrets = [keys.clone(), passphrase];
        let grant = |values: &[&str]| {
            let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
            granted_paths(&values, Some(&home), &secrets)
        };
        // `~/` is the home; duplicates once.
        let ok = grant(&["~/.rustup", &toolchain.display().to_string()]).expect("granted");
        assert_eq!(ok, std::slice::from_ref(&toolchain));
        // A directory holding a secret, inside one, or the root: refused.
        for (value, reason) in [
            ("~/", "would show"),
            ("~/.local", "would show"),
            ("~/.local/share/git-buildkit/keys/../keys", "would show"),
            ("~/secret", "would show"),
            ("/", "whole file system"),
            ("relative/dir", "is not an absolute path"),
            ("~/missing", "cannot be read"),
            ("~/file", "is not a directory"),
        ] {
            match grant(&[value]) {
                Err(PackageError::Grant { path, reason: why }) => {
                    assert_eq!(path, value);
                    assert!(why.contains(reason), "{value}: {why}");
                }
                other => panic!("{value}: {other:?}"),
            }
        }
        // The home itself, or a directory holding it: refused even without secrets.
        let bare = granted_paths(&["~/".to_owned()], Some(&home), &[]);
        assert!(
            matches!(bare, Err(PackageError::Grant { reason, .. }) if reason.contains("whole home"))
        );
        let above = granted_paths(
            &[dir.path().parent().expect("parent").display().to_string()],
            Some(&home),
            &[],
        );
        assert!(
            matches!(above, Err(PackageError::Grant { reason, .. }) if reason.contains("whole home"))
        );
        // Without secrets, the root is still refused.
        let root = granted_paths(&["/".to_owned()], None, &[]);
        assert!(
            matches!(root, Err(PackageError::Grant { reason, .. }) if reason.contains("whole file system"))
        );
    }
}
