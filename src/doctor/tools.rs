//! The programs git-buildkit runs: found in `PATH` (the sbin directories
//! too, for `mke2fs`, as `vm create` looks), and asked for their version,
//! which is what the user compares with what they expect.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{Check, Context, Group, Need, Needs, Status};
use crate::git::{GitVersion, MIN_VERSION};
use crate::process::Cmd;

/// A program and what the doctor says about it.
struct Tool {
    /// The program's name (and the check's).
    name: &'static str,
    group: Group,
    /// The Debian package that has it.
    package: &'static str,
    /// What prints its version (on stdout or stderr).
    version_args: &'static [&'static str],
    /// What git-buildkit uses it for.
    purpose: &'static str,
    /// Directories searched after `PATH`.
    also_in: &'static [&'static str],
}

const TOOLS: [Tool; 7] = [
    Tool {
        name: "git",
        group: Group::Tools,
        package: "git",
        version_args: &["--version"],
        purpose: "the branch flow, tags, exports and hooks run git",
        also_in: &[],
    },
    Tool {
        name: "dpkg-deb",
        group: Group::Tools,
        package: "dpkg",
        version_args: &["--version"],
        purpose: "Debian's package tools (dpkg) read and install what we build",
        also_in: &[],
    },
    Tool {
        name: "lintian",
        group: Group::Tools,
        package: "lintian",
        version_args: &["--version"],
        purpose: "checks built packages against Debian policy",
        also_in: &[],
    },
    Tool {
        name: "qemu-system-x86_64",
        group: Group::Vm,
        package: "qemu-system-x86",
        version_args: &["--version"],
        purpose: "boots the VM tests",
        also_in: &[],
    },
    Tool {
        name: "qemu-img",
        group: Group::Vm,
        package: "qemu-utils",
        version_args: &["--version"],
        purpose: "makes each VM test's disk overlay",
        also_in: &[],
    },
    Tool {
        name: "mmdebstrap",
        group: Group::Vm,
        package: "mmdebstrap",
        version_args: &["--version"],
        purpose: "bootstraps the base images (vm create)",
        also_in: &[],
    },
    Tool {
        name: "mke2fs",
        group: Group::Vm,
        package: "e2fsprogs",
        version_args: &["-V"],
        purpose: "writes the base images' file systems (vm create)",
        also_in: &["/usr/sbin", "/sbin"],
    },
];

impl Tool {
    fn need(&self, needs: &Needs) -> Need {
        match self.name {
            "git" | "dpkg-deb" => Need::Required,
            _ if self.group == Group::Vm => Need::required_if(needs.vm),
            _ => Need::Optional,
        }
    }

    /// Why it is optional here, said after a missing optional tool.
    fn optional_because(&self) -> &'static str {
        match self.group {
            Group::Vm => " (needed only by a project with [vm])",
            _ => " (optional)",
        }
    }
}

/// The checks of the tools, each tool's version asked in its own thread.
pub(super) fn checks(context: &Context, needs: &Needs) -> Vec<Check> {
    std::thread::scope(|scope| {
        let running: Vec<_> = TOOLS
            .iter()
            .map(|tool| scope.spawn(move || check(context, tool, tool.need(needs))))
            .collect();
        running
            .into_iter()
            .zip(&TOOLS)
            .map(|(thread, tool)| {
                thread.join().unwrap_or_else(|_| {
                    Check::new(
                        tool.group,
                        tool.name,
                        tool.need(needs),
                        tool.need(needs).missing(),
                        "its check failed".into(),
                    )
                })
            })
            .collect()
    })
}

fn check(context: &Context, tool: &Tool, need: Need) -> Check {
    let missing = |detail: String| {
        Check::new(tool.group, tool.name, need, need.missing(), detail)
            .fix(context.apt_install(tool.package))
    };
    let Some(path) = locate(&context.search_path, tool.name, tool.also_in) else {
        let because = match need {
            Need::Required => "",
            Need::Optional => tool.optional_because(),
        };
        return missing(format!("not found in PATH: {}{because}", tool.purpose));
    };
    let text = match Cmd::new(&path)
        .args(tool.version_args)
        .env("LC_ALL", "C")
        .output_with_code()
    {
        Ok((_, stdout, stderr)) => format!("{}{stderr}", String::from_utf8_lossy(&stdout)),
        Err(e) => return missing(format!("{} does not run: {e}", path.display())),
    };
    let Some(version) = version_in(&text) else {
        return missing(format!(
            "{} did not say its version: {:?}",
            path.display(),
            text.lines().next().unwrap_or_default()
        ));
    };
    if tool.name == "git" {
        let found = GitVersion::parse(text.lines().next().unwrap_or_default());
        if let Some((status, why)) = git_shortfall(found) {
            let detail = format!("git {version} at {}: {why}", path.display());
            return Check::new(tool.group, tool.name, need, status, detail)
                .fix(context.apt_install(tool.package));
        }
    }
    Check::new(
        tool.group,
        tool.name,
        need,
        Status::Ok,
        format!("{version} ({})", path.display()),
    )
}

/// The oldest git whose tag hooks work: `reference-transaction`, which
/// sees a tag made by any command, came with git 2.28.
const HOOKS_MIN_VERSION: GitVersion = GitVersion {
    major: 2,
    minor: 28,
    patch: 0,
};

/// What a git version lacks: nothing, the flow's finish (a warning: the
/// rest works), or the tag hooks too (a required check fails).
fn git_shortfall(found: Option<GitVersion>) -> Option<(Status, String)> {
    match found {
        Some(found) if found >= MIN_VERSION => None,
        Some(found) if found >= HOOKS_MIN_VERSION => Some((
            Status::Warn,
            format!(
                "the flow commands need {MIN_VERSION} or newer (`git merge-tree --write-tree` \
                 predicts a finish's conflicts); packaging and the pipeline work"
            ),
        )),
        Some(_) => Some((
            Status::MissingRequired,
            format!(
                "older than {HOOKS_MIN_VERSION}, which the tag hooks (reference-transaction) \
                 need, and {MIN_VERSION}, which the flow commands need"
            ),
        )),
        None => Some((
            Status::MissingRequired,
            "not a version git-buildkit can read".to_owned(),
        )),
    }
}

/// The first executable `name` in `search_path`, then in `also_in`.
pub(super) fn locate(search_path: &OsString, name: &str, also_in: &[&str]) -> Option<PathBuf> {
    std::env::split_paths(search_path)
        .filter(|dir| dir.is_absolute())
        .chain(also_in.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The version in the first line of a `--version` output: its first word
/// that starts with a digit (after a `v`), without trailing punctuation.
/// `git version 2.47.3`, `Lintian v2.116.3`, `QEMU emulator version 7.2.22
/// (Debian ...)`, `mke2fs 1.47.0 (5-Feb-2023)`, `bubblewrap 0.8.0`.
pub(super) fn version_in(text: &str) -> Option<String> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    first
        .split_whitespace()
        .map(|word| word.strip_prefix('v').unwrap_or(word))
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .map(|word| word.trim_end_matches(['.', ',', ';', ':']).to_owned())
}

/// The build host's sandbox grants (`buildkit.sandbox.readOnly`): each an
/// existing directory that shows no secret, or every build fails.
pub(super) fn grants(context: &Context) -> Check {
    let check =
        |need, status, detail| Check::new(Group::Sandbox, "sandbox-grants", need, status, detail);
    match crate::package::host_policy(&context.cwd) {
        Ok(policy) if policy.granted.is_empty() => check(
            Need::Optional,
            Status::Ok,
            format!(
                "none ({} shows directories read-only to builds)",
                crate::package::GRANT_KEY
            ),
        ),
        Ok(policy) => check(
            Need::Required,
            Status::Ok,
            policy
                .granted
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Err(e) => check(
            Need::Required,
            Status::MissingRequired,
            format!("every build would fail: {e}"),
        )
        .fix(format!(
            "git config --show-origin --get-all {}  # then remove or fix the entry",
            crate::package::GRANT_KEY
        )),
    }
}

/// The build sandbox: bubblewrap installed, and able to make the
/// namespaces a build runs in.
pub(super) fn sandbox(context: &Context, needs: &Needs) -> Check {
    let need = Need::required_if(needs.bwrap.is_some());
    let unsandboxed = needs
        .bwrap
        .unwrap_or("builds run unsandboxed (sandbox = \"auto\" warns)");
    let Some(path) = locate(&context.search_path, "bwrap", &[]) else {
        return Check::new(
            Group::Sandbox,
            "bwrap",
            need,
            need.missing(),
            format!("bubblewrap is not installed: {unsandboxed}"),
        )
        .fix(context.apt_install("bubblewrap"));
    };
    let version = Cmd::new(&path)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| version_in(&String::from_utf8_lossy(&out)))
        .unwrap_or_else(|| "of unknown version".to_owned());
    match crate::package::bwrap_usable() {
        Ok(()) => Check::new(
            Group::Sandbox,
            "bwrap",
            need,
            Status::Ok,
            format!(
                "bubblewrap {version} ({}): builds run without network, with the key store hidden",
                path.display()
            ),
        ),
        Err(why) => {
            let status = match need {
                Need::Required => Status::MissingRequired,
                Need::Optional => Status::Warn,
            };
            let why = why.lines().next().unwrap_or_default().to_owned();
            Check::new(
                Group::Sandbox,
                "bwrap",
                need,
                status,
                format!("bubblewrap {version} cannot make a sandbox here ({why}): {unsandboxed}"),
            )
            .fix(context.as_root("sysctl -w kernel.unprivileged_userns_clone=1"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn versions_are_read_from_what_the_tools_print() {
        let cases = [
            ("git version 2.47.3\n", Some("2.47.3")),
            (
                "Debian 'dpkg-deb' package archive backend version 1.21.23 (amd64).\nThis is",
                Some("1.21.23"),
            ),
            ("Lintian v2.116.3+deb12u1\n", Some("2.116.3+deb12u1")),
            (
                "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n",
                Some("7.2.22"),
            ),
            ("mmdebstrap 1.3.5\n", Some("1.3.5")),
            (
                "\nmke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS",
                Some("1.47.0"),
            ),
            ("bubblewrap 0.8.0\n", Some("0.8.0")),
            ("no version here\n", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(version_in(text).as_deref(), expected, "{text:?}");
        }
    }

    #[test]
    fn an_old_git_warns_or_fails_by_what_it_lacks() {
        let v = |text: &str| GitVersion::parse(text);
        assert_eq!(git_shortfall(v("git version 2.47.3")), None);
        assert_eq!(git_shortfall(v("git version 2.38.0")), None);
        let status = |text: &str| git_shortfall(v(text)).map(|(s, _)| s);
        assert_eq!(status("git version 2.37.9"), Some(Status::Warn));
        assert_eq!(status("git version 2.28.0"), Some(Status::Warn));
        assert_eq!(status("git version 2.27.1"), Some(Status::MissingRequired));
        assert_eq!(status("hub version 2.14"), Some(Status::MissingRequired));
    }

    #[test]
    fn a_tool_is_found_only_where_it_is_executable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        let sbin = dir.path().join("sbin");
        std::fs::create_dir_all(&bin).expect("bin");
        std::fs::create_dir_all(&sbin).expect("sbin");
        std::fs::write(bin.join("plain"), "").expect("plain");
        std::fs::write(sbin.join("tool"), "#!/bin/sh\n").expect("tool");
        std::fs::set_permissions(sbin.join("tool"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let path = std::env::join_paths(["relative", bin.to_str().expect("utf-8")]).expect("join");
        assert_eq!(locate(&path, "plain", &[]), None);
        assert_eq!(locate(&path, "tool", &[]), None);
        let sbin_text = sbin.to_str().expect("utf-8");
        assert_eq!(locate(&path, "tool", &[sbin_text]), Some(sbin.join("tool")));
    }
}
