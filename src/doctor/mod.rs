//! `git buildkit doctor`: what works on this machine, what does not, and
//! the command that fixes each problem.
//!
//! Every check is a value ([`Check`]): its group, its name, a [`Status`],
//! one line of detail (the version found, or why not) and the fix. Which
//! checks are required depends on the project the doctor runs in (the
//! `.buildkit.toml` at HEAD): git and dpkg always; qemu, mmdebstrap,
//! mke2fs and a base image when it has `[vm]`; a signing key when its
//! pipeline publishes; bubblewrap when a package says `sandbox = "bwrap"`
//! or the build host requires the sandbox (`buildkit.sandbox.require`).
//! A required check that fails makes the report fail ([`Report::passed`]).
//!
//! The doctor is fast and harmless: it runs each tool's `--version` (all at
//! once, in threads), reads files, probes bubblewrap with `true`, and
//! reaches the network only on 127.0.0.1 (a configured `[repo] url` there).
//! It boots nothing and creates nothing.

mod disk;
mod kvm;
mod project;
mod testbed;
mod tools;

use std::ffi::OsString;
use std::path::PathBuf;

use serde::Serialize;

use crate::paths::Env;

pub use kvm::{diagnose_kvm, CpuVirt, Kvm};

/// Free space below which a disk check warns: a base image, a VM run's
/// overlay and a build's export fit in 5 GiB.
pub const LOW_DISK: u64 = 5 << 30;

/// What the doctor looks at: the user's directories, where it runs, the
/// program search path and whether it runs as root.
#[derive(Debug, Clone)]
pub struct Context {
    /// The user's directories (key store, caches, data).
    pub paths: Env,
    /// The directory the doctor runs in (the project, if it is in one).
    pub cwd: PathBuf,
    /// `PATH`, where the tools are looked for.
    pub search_path: OsString,
    /// The temporary directory builds and VM runs use (`TMPDIR`).
    pub tmp: PathBuf,
    /// Whether the process runs as root (no `sudo` in the fixes).
    pub root: bool,
}

impl Context {
    /// The process's environment and working directory.
    pub fn current(cwd: PathBuf) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            paths: Env::current(),
            cwd,
            search_path: std::env::var_os("PATH").unwrap_or_default(),
            tmp: std::env::temp_dir(),
            // /proc/self belongs to the process's effective uid.
            root: std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0),
        }
    }

    /// `COMMAND`, prefixed with `sudo` unless the doctor runs as root.
    fn as_root(&self, command: &str) -> String {
        if self.root {
            command.to_owned()
        } else {
            format!("sudo {command}")
        }
    }

    /// The command that installs a Debian package.
    fn apt_install(&self, package: &str) -> String {
        self.as_root(&format!("apt-get install {package}"))
    }
}

/// The groups the checks are shown in, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// git and the Debian tools.
    Tools,
    /// What VM tests need: qemu, KVM, a base image, the apt cache.
    Vm,
    /// The build sandbox (bubblewrap).
    Sandbox,
    /// The signing keys.
    Signing,
    /// The project's configuration and apt repository.
    Repository,
    /// Free disk space.
    Disk,
}

impl Group {
    /// Every group, in the order shown.
    pub const ALL: [Group; 6] = [
        Group::Tools,
        Group::Vm,
        Group::Sandbox,
        Group::Signing,
        Group::Repository,
        Group::Disk,
    ];

    /// The heading a user reads.
    pub fn title(self) -> &'static str {
        match self {
            Group::Tools => "tools",
            Group::Vm => "VM tests",
            Group::Sandbox => "build sandbox",
            Group::Signing => "signing",
            Group::Repository => "repository",
            Group::Disk => "disk",
        }
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It works.
    Ok,
    /// It works, worse than it could (KVM unusable, little disk space), or
    /// it will be made when first needed.
    Warn,
    /// Needed here, and missing or unusable: the report fails.
    MissingRequired,
    /// Missing or unusable, and not needed by what is configured here.
    MissingOptional,
    /// Nothing to check (no project here, no `[repo] url`).
    Skipped,
}

impl Status {
    /// The word the table shows.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::MissingRequired => "missing",
            Status::MissingOptional => "optional",
            Status::Skipped => "skipped",
        }
    }
}

/// Whether what a check looks at is needed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Needed: its absence fails the report.
    Required,
    /// Useful, not needed by what is configured here.
    Optional,
}

impl Need {
    /// Required when `yes`.
    fn required_if(yes: bool) -> Self {
        if yes {
            Need::Required
        } else {
            Need::Optional
        }
    }

    /// The status of something missing or unusable.
    fn missing(self) -> Status {
        match self {
            Need::Required => Status::MissingRequired,
            Need::Optional => Status::MissingOptional,
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Its group.
    pub group: Group,
    /// What was checked (`git`, `kvm`, `keys`, ...).
    pub name: &'static str,
    /// How it came out.
    pub status: Status,
    /// Whether it is needed here.
    pub required: bool,
    /// One line: the version found, or why not.
    pub detail: String,
    /// The command that fixes the problem, when there is a problem and a
    /// command fixes it.
    pub fix: Option<String>,
}

impl Check {
    fn new(group: Group, name: &'static str, need: Need, status: Status, detail: String) -> Self {
        Self {
            group,
            name,
            status,
            required: need == Need::Required,
            detail,
            fix: None,
        }
    }

    fn fix(mut self, command: impl Into<String>) -> Self {
        self.fix = Some(command.into());
        self
    }
}

/// How many checks came out which way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Checks that passed.
    pub ok: usize,
    /// Warnings.
    pub warn: usize,
    /// Required things missing or unusable.
    pub missing_required: usize,
    /// Optional things missing or unusable.
    pub missing_optional: usize,
    /// Checks with nothing to check.
    pub skipped: usize,
    /// Whether every required check passed.
    pub passed: bool,
}

/// Every check, in group order, and their summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
    /// Their counts.
    pub summary: Summary,
}

impl Report {
    /// The report of `checks`, ordered by group (stable within a group).
    pub fn new(mut checks: Vec<Check>) -> Self {
        checks.sort_by_key(|c| Group::ALL.iter().position(|g| *g == c.group));
        let mut summary = Summary::default();
        for check in &checks {
            match check.status {
                Status::Ok => summary.ok += 1,
                Status::Warn => summary.warn += 1,
                Status::MissingRequired => summary.missing_required += 1,
                Status::MissingOptional => summary.missing_optional += 1,
                Status::Skipped => summary.skipped += 1,
            }
        }
        summary.passed = summary.missing_required == 0;
        Self { checks, summary }
    }

    /// Whether every required check passed.
    pub fn passed(&self) -> bool {
        self.summary.passed
    }
}

/// Runs every check.
pub fn examine(context: &Context) -> Report {
    let project = project::Project::find(context);
    let needs = project.needs(context);
    let mut checks = std::thread::scope(|scope| {
        // The tools' `--version` (lintian's takes most of a second) and the
        // bubblewrap probe run at once; the file checks meanwhile.
        let tools = scope.spawn(|| tools::checks(context, &needs));
        let sandbox = scope.spawn(|| tools::sandbox(context, &needs));
        let mut checks = Vec::new();
        checks.push(kvm::check(diagnose_kvm(std::path::Path::new("/")), context));
        checks.extend(testbed::checks(context, &needs));
        checks.extend(project.checks(context));
        checks.extend(disk::checks(context));
        checks.push(tools::grants(context));
        checks.extend(tools.join().unwrap_or_default());
        checks.push(sandbox.join().unwrap_or_else(|_| {
            Check::new(
                Group::Sandbox,
                "bwrap",
                Need::Optional,
                Status::MissingOptional,
                "the bubblewrap probe failed".into(),
            )
        }));
        checks
    });
    checks.sort_by_key(|c| ORDER.iter().position(|n| *n == c.name));
    Report::new(checks)
}

/// Every check's name, in the order shown (the JSON's stable keys).
pub const ORDER: [&str; 21] = [
    "git",
    "dpkg-deb",
    "lintian",
    "qemu-system-x86_64",
    "qemu-img",
    "mmdebstrap",
    "mke2fs",
    "kvm",
    "vm-image",
    "apt-cache",
    "apt-mirrors",
    "bwrap",
    "sandbox-grants",
    "keys",
    "config",
    "repository",
    "repository-url",
    "mirror",
    "data-dir",
    "vm-cache",
    "tmpdir",
];

/// What the project here needs (nothing beyond git and dpkg outside one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// It has `[vm]`: qemu, mmdebstrap, mke2fs and a base image.
    pub vm: bool,
    /// Its pipeline publishes: a signing key.
    pub signing: bool,
    /// Why builds must run in bwrap (a package's `sandbox = "bwrap"`, the
    /// host's `buildkit.sandbox.require`), if they must.
    pub bwrap: Option<&'static str>,
    /// The base image its VM tests boot: `[vm] image`, else the default.
    pub image: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn check(group: Group, name: &'static str, status: Status) -> Check {
        Check::new(group, name, Need::Optional, status, String::new())
    }

    #[test]
    fn a_report_is_in_group_order_and_fails_on_a_required_miss() {
        let report = Report::new(vec![
            check(Group::Disk, "tmp", Status::Warn),
            check(Group::Tools, "git", Status::Ok),
            check(Group::Tools, "dpkg-deb", Status::MissingRequired),
            check(Group::Repository, "repository", Status::Skipped),
            check(Group::Tools, "lintian", Status::MissingOptional),
        ]);
        let names: Vec<_> = report.checks.iter().map(|c| c.name).collect();
        assert_eq!(names, ["git", "dpkg-deb", "lintian", "repository", "tmp"]);
        assert_eq!(
            report.summary,
            Summary {
                ok: 1,
                warn: 1,
                missing_required: 1,
                missing_optional: 1,
                skipped: 1,
                passed: false
            }
        );
        let fine = Report::new(vec![check(
            Group::Tools,
            "lintian",
            Status::MissingOptional,
        )]);
        assert!(fine.passed());
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(crate::progress::human_size(12), "12 B");
        assert_eq!(crate::progress::human_size(5 << 30), "5.0 GiB");
        assert_eq!(crate::progress::human_size(1536 << 20), "1.5 GiB");
    }
}
