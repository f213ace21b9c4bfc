//! `git buildkit doctor` on this machine, judged by what the machine has:
//! `git --version`, a PATH without dpkg-deb, /dev/kvm and /proc/cpuinfo,
//! a repository made by `repo init` and served by `repo serve`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::{Run, Sandbox};

/// Every check, in the order the doctor reports them.
const CHECKS: [(&str, &str); 21] = [
    ("tools", "git"),
    ("tools", "dpkg-deb"),
    ("tools", "lintian"),
    ("vm", "qemu-system-x86_64"),
    ("vm", "qemu-img"),
    ("vm", "mmdebstrap"),
    ("vm", "mke2fs"),
    ("vm", "kvm"),
    ("vm", "vm-image"),
    ("vm", "apt-cache"),
    ("vm", "apt-mirrors"),
    ("sandbox", "bwrap"),
    ("sandbox", "sandbox-grants"),
    ("signing", "keys"),
    ("repository", "config"),
    ("repository", "repository"),
    ("repository", "repository-url"),
    ("repository", "mirror"),
    ("disk", "data-dir"),
    ("disk", "vm-cache"),
    ("disk", "tmpdir"),
];

/// `doctor --json` in `cwd`, its exit code and its parsed output.
fn doctor_json(sb: &Sandbox, cwd: &Path, env: &[(&str, &str)]) -> (i32, Value) {
    let run = sb.bk_env(cwd, &["doctor", "--json"], env);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout, run.stderr));
    (run.code, report)
}

/// The check called `name`.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report:#}"))
}

/// Whether this test runs as root (the fixes then have no `sudo`).
fn as_root(command: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").expect("proc").uid() == 0;
    if root {
        command.to_owned()
    } else {
        format!("sudo {command}")
    }
}

/// The first `name` in PATH, as a shell finds it.
fn which(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").expect("PATH");
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not in PATH"))
}

#[test]
fn a_plain_directory_gets_every_check_and_the_real_git_version() {
    let sb = Sandbox::new();
    let here = sb.path("plain");
    std::fs::create_dir_all(&here).expect("mkdir");
    let started = std::time::Instant::now();
    let (code, report) = doctor_json(&sb, &here, &[]);
    let took = started.elapsed();

    let names: Vec<(String, String)> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            let mut keys: Vec<&str> = c
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                ["detail", "fix", "group", "name", "required", "status"],
                "{c}"
            );
            (
                c["group"].as_str().expect("group").to_owned(),
                c["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = CHECKS
        .iter()
        .map(|(g, n)| ((*g).to_owned(), (*n).to_owned()))
        .collect();
    assert_eq!(names, expected);

    // git as `git --version` tells it, at the path a shell runs.
    let version = sb.run(&here, "git", &["--version"]).ok().stdout;
    let version = version
        .trim()
        .strip_prefix("git version ")
        .expect("git version");
    assert_eq!(
        check(&report, "git"),
        &json!({
            "group": "tools", "name": "git", "status": "ok", "required": true,
            "detail": format!("{version} ({})", which("git").display()), "fix": null
        })
    );
    // Outside a project: only git and dpkg-deb are required.
    let required: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["required"] == true)
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(required, ["git", "dpkg-deb"]);
    // HOME is the sandbox: no key yet, and nothing needs one here.
    let keys = sb.path(".local/share/git-buildkit/keys");
    assert_eq!(
        check(&report, "keys"),
        &json!({
            "group": "signing", "name": "keys", "status": "missing-optional", "required": false,
            "detail": format!("no signing key in {}: publishing a repository needs one", keys.display()),
            "fix": "git buildkit key generate --name 'NAME Packages' --email you@example.org"
        })
    );
    for (name, detail) in [
        ("config", "not in a git repository"),
        ("repository", "not in a project with a .buildkit.toml"),
        ("repository-url", "not in a project with a .buildkit.toml"),
        ("mirror", "not in a project with a .buildkit.toml"),
    ] {
        assert_eq!(check(&report, name)["status"], "skipped", "{name}");
        assert_eq!(check(&report, name)["detail"], detail, "{name}");
    }

    // The summary counts the checks, and this machine has what is required.
    let count = |status: &str| {
        report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|c| c["status"] == status)
            .count()
    };
    assert_eq!(
        report["summary"],
        json!({
            "ok": count("ok"), "warn": count("warn"),
            "missing_required": 0, "missing_optional": count("missing-optional"),
            "skipped": 4, "passed": true
        })
    );
    assert_eq!(code, 0, "{report:#}");
    // About half a second here; the bound leaves room for a loaded machine,
    // not for booting anything.
    assert!(took.as_secs() < 10, "the doctor took {took:?}");
}

#[test]
fn a_missing_required_tool_fails_with_its_apt_get_fix() {
    let sb = Sandbox::new();
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    // git, and not dpkg-deb.
    for tool in ["git", "lintian"] {
        std::os::unix::fs::symlink(which(tool), bin.join(tool)).expect("symlink");
    }
    let path = bin.to_str().expect("utf-8");
    let (code, report) = doctor_json(&sb, &sb.path(""), &[("PATH", path)]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        check(&report, "dpkg-deb"),
        &json!({
            "group": "tools", "name": "dpkg-deb", "status": "missing-required", "required": true,
            "detail": "not found in PATH: Debian's package tools (dpkg) read and install what we build",
            "fix": as_root("apt-get install dpkg")
        })
    );
    assert_eq!(
        check(&report, "qemu-img"),
        &json!({
            "group": "vm", "name": "qemu-img", "status": "missing-optional", "required": false,
            "detail": "not found in PATH: makes each VM test's disk overlay (needed only by a project with [vm])",
            "fix": as_root("apt-get install qemu-utils")
        })
    );
    assert_eq!(check(&report, "git")["status"], "ok");
    assert_eq!(report["summary"]["missing_required"], 1);
    assert_eq!(report["summary"]["passed"], false);

    // The table says the same, with the fix under the problem.
    let run = sb.bk_env(&sb.path(""), &["doctor"], &[("PATH", path)]);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("  missing  dpkg-deb "))
        .unwrap_or_else(|| panic!("no dpkg-deb line:\n{}", run.stdout));
    assert_eq!(
        lines[at],
        "  missing  dpkg-deb            not found in PATH: Debian's package tools (dpkg) read and install what we build"
    );
    assert_eq!(
        lines[at + 1],
        format!(
            "                               fix: {}",
            as_root("apt-get install dpkg")
        )
    );
    assert!(
        lines
            .last()
            .expect("summary")
            .starts_with("a required check fails: "),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn kvm_is_reported_as_this_machine_has_it() {
    let sb = Sandbox::new();
    let (_, report) = doctor_json(&sb, &sb.path(""), &[]);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("cpuinfo");
    let flags: Vec<&str> = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .flat_map(str::split_whitespace)
        .collect();
    let has = |flag: &str| flags.contains(&flag);
    let tcg = "VM tests use TCG (software emulation, about 10x slower)";
    let dev = Path::new("/dev/kvm");
    let opens = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dev)
        .is_ok();
    let pvm = Path::new("/sys/module/kvm_pvm").exists();
    let (status, detail, fix) = if !dev.exists() {
        if has("vmx") {
            ("warn", format!("/dev/kvm does not exist though the CPU has vmx: the kvm_intel module is not loaded; {tcg}"), Some(as_root("modprobe kvm_intel")))
        } else if has("svm") {
            ("warn", format!("/dev/kvm does not exist though the CPU has svm: the kvm_amd module is not loaded; {tcg}"), Some(as_root("modprobe kvm_amd")))
        } else if has("hypervisor") {
            ("warn", format!("/dev/kvm does not exist and the CPU shows neither vmx nor svm: this machine is a VM without nested virtualisation (its host can turn it on); {tcg}"), None)
        } else {
            ("warn", format!("/dev/kvm does not exist and the CPU shows neither vmx nor svm: hardware virtualisation is off in the firmware settings, or absent; {tcg}"), None)
        }
    } else if !opens {
        ("warn", format!("/dev/kvm exists but this user cannot open it read-write (it belongs to group kvm; log in again after joining); {tcg}"), Some(as_root("usermod -aG kvm \"$USER\"")))
    } else if pvm {
        ("warn", format!("/dev/kvm is kvm_pvm (this machine is a PVM guest): it runs only PVM-enlightened guest kernels, not Debian's; {tcg}"), None)
    } else if has("vmx") || has("svm") {
        let flag = if has("vmx") { "vmx" } else { "svm" };
        (
            "ok",
            format!("usable: /dev/kvm opens read-write and the CPU has {flag}"),
            None,
        )
    } else {
        (
            "warn",
            format!("/dev/kvm exists but the CPU shows neither vmx nor svm; {tcg}"),
            None,
        )
    };
    assert_eq!(
        check(&report, "kvm"),
        &json!({
            "group": "vm", "name": "kvm", "status": status, "required": false,
            "detail": detail, "fix": fix
        })
    );
}

/// A project whose .buildkit.toml has `[repo] path = APT` (and `extra`),
/// with its key generated; returns the project and the key's fingerprint.
fn project(sb: &Sandbox, apt: &str, extra: &str) -> (PathBuf, String) {
    let repo = sb.repo(
        "proj",
        &[(
            ".buildkit.toml",
            &format!("[repo]\npath = \"{apt}\"\n{extra}"),
            false,
        )],
    );
    let fingerprint = sb
        .bk(
            &repo,
            &[
                "-q",
                "key",
                "generate",
                "--name",
                "Proj Packages",
                "--email",
                "apt@example.org",
            ],
        )
        .ok()
        .stdout
        .trim()
        .to_owned();
    (repo, fingerprint)
}

#[test]
fn a_project_repository_made_by_repo_init_is_ok() {
    let sb = Sandbox::new();
    let (repo, fingerprint) = project(&sb, "apt", "");
    sb.bk(&repo, &["-q", "repo", "init"]).ok();
    let (code, report) = doctor_json(&sb, &repo, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        check(&report, "repository"),
        &json!({
            "group": "repository", "name": "repository", "status": "ok", "required": true,
            "detail": format!(
                "{} ([repo] path): suites stable; signed by {fingerprint}, in the key store",
                repo.join("apt").display()
            ),
            "fix": null
        })
    );
    assert_eq!(
        check(&report, "keys"),
        &json!({
            "group": "signing", "name": "keys", "status": "ok", "required": true,
            "detail": format!(
                "1 key in {}; default {fingerprint} (Proj Packages <apt@example.org>)",
                sb.path(".local/share/git-buildkit/keys").display()
            ),
            "fix": null
        })
    );
    assert_eq!(
        check(&report, "config")["detail"],
        "HEAD:.buildkit.toml: 0 packages, [repo]"
    );
    assert_eq!(check(&report, "repository-url")["detail"], "no [repo] url");

    // Served on 127.0.0.1, and named as [repo] url: the doctor asks it.
    let mut server = sb
        .bk_command(&repo, &["-q", "repo", "serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut url = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("url");
    let url = url.trim().trim_end_matches('/').to_owned();
    std::fs::write(
        repo.join(".buildkit.toml"),
        format!("[repo]\npath = \"apt\"\nurl = \"{url}/\"\n"),
    )
    .expect("config");
    sb.commit(&repo, "2026-01-02T10:00:00Z", "Serve it");
    let (code, report) = doctor_json(&sb, &repo, &[]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        check(&report, "repository-url"),
        &json!({
            "group": "repository", "name": "repository-url", "status": "ok", "required": false,
            "detail": format!("{url}/dists/stable/InRelease answers"), "fix": null
        })
    );
}

#[test]
fn a_project_repository_that_is_missing_or_not_one_is_told_with_its_fix() {
    let sb = Sandbox::new();
    let (repo, _) = project(&sb, "missing-apt", "");
    let (code, report) = doctor_json(&sb, &repo, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        check(&report, "repository"),
        &json!({
            "group": "repository", "name": "repository", "status": "warn", "required": true,
            "detail": format!(
                "{} ([repo] path) does not exist yet: the first publish makes the repository, signed with the default key",
                repo.join("missing-apt").display()
            ),
            "fix": "git buildkit repo init"
        })
    );
    std::fs::create_dir(repo.join("missing-apt")).expect("mkdir");
    let (_, report) = doctor_json(&sb, &repo, &[]);
    assert_eq!(
        check(&report, "repository")["detail"],
        format!(
            "{} ([repo] path) is empty: the first publish makes the repository, signed with the default key",
            repo.join("missing-apt").display()
        )
    );
    // The fix works: the same check is then ok.
    sb.bk(&repo, &["-q", "repo", "init"]).ok();
    let (_, report) = doctor_json(&sb, &repo, &[]);
    assert_eq!(check(&report, "repository")["status"], "ok", "{report:#}");

    // A directory with other things in it cannot become the repository.
    let other = sb.path("proj/notes");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join("todo.txt"), "things\n").expect("write");
    std::fs::write(repo.join(".buildkit.toml"), "[repo]\npath = \"notes\"\n").expect("config");
    sb.commit(&repo, "2026-01-02T10:00:00Z", "Publish into notes");
    let (code, report) = doctor_json(&sb, &repo, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        check(&report, "repository"),
        &json!({
            "group": "repository", "name": "repository", "status": "missing-required", "required": true,
            "detail": format!(
                "{} ([repo] path) is not empty and not a git-buildkit repository (no .buildkit/repo.toml): publishing there fails",
                other.display()
            ),
            "fix": null
        })
    );
}

#[test]
fn a_project_with_vm_requires_the_vm_tools() {
    let sb = Sandbox::new();
    let (repo, _) = project(&sb, "apt", "[vm]\nsmoke = [\"true\"]\n");
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    for tool in ["git", "dpkg-deb"] {
        std::os::unix::fs::symlink(which(tool), bin.join(tool)).expect("symlink");
    }
    let (code, report) = doctor_json(&sb, &repo, &[("PATH", bin.to_str().expect("utf-8"))]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        check(&report, "qemu-system-x86_64"),
        &json!({
            "group": "vm", "name": "qemu-system-x86_64", "status": "missing-required", "required": true,
            "detail": "not found in PATH: boots the VM tests",
            "fix": as_root("apt-get install qemu-system-x86")
        })
    );
    assert_eq!(check(&report, "mmdebstrap")["status"], "missing-required");
    assert_eq!(check(&report, "vm-image")["required"], true);
    assert_eq!(check(&report, "kvm")["required"], false);
}

#[test]
fn no_color_means_no_escape_sequences_even_on_a_terminal() {
    let sb = Sandbox::new();
    let here = sb.path("");
    let bk = Sandbox::bk_path();
    let command = format!("'{}' doctor", bk.display());
    // `script` gives the doctor a terminal, where colours are on by default.
    let on_terminal = |env: &[&str]| -> Run {
        let mut args: Vec<&str> = env.to_vec();
        args.extend(["script", "-qec", &command, "/dev/null"]);
        sb.run(&here, "env", &args)
    };
    let coloured = on_terminal(&["-u", "NO_COLOR"]);
    assert!(
        coloured.stdout.contains("\x1b[1;32m  ok      \x1b[0m git "),
        "{:?}",
        coloured.stdout
    );
    let plain = on_terminal(&["NO_COLOR=1"]);
    assert!(plain.stdout.contains("  ok       git "), "{}", plain.stdout);
    assert!(!plain.stdout.contains('\x1b'), "{:?}", plain.stdout);
    let piped = sb.bk(&here, &["doctor", "--color", "never"]);
    assert!(!piped.stdout.contains('\x1b'), "{:?}", piped.stdout);
}

#[test]
fn help_says_what_is_required_with_examples() {
    let sb = Sandbox::new();
    let run = sb.bk(&sb.path(""), &["doctor", "--help"]).ok();
    assert!(
        run.stdout.contains("\nExamples:\n  git buildkit doctor\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Required everywhere: git (2.28 or newer, for the tag hooks; the flow"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_host_that_requires_the_sandbox_requires_bubblewrap() {
    let sb = Sandbox::new();
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    for tool in ["git", "dpkg-deb"] {
        std::os::unix::fs::symlink(which(tool), bin.join(tool)).expect("symlink");
    }
    let policy = [
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "buildkit.sandbox.require"),
        ("GIT_CONFIG_VALUE_0", "true"),
    ];
    let mut env = policy.to_vec();
    env.push(("PATH", bin.to_str().expect("utf-8")));
    let (code, report) = doctor_json(&sb, &sb.path(""), &env);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        check(&report, "bwrap"),
        &json!({
            "group": "sandbox", "name": "bwrap", "status": "missing-required", "required": true,
            "detail": "bubblewrap is not installed: this build host requires it (git config buildkit.sandbox.require)",
            "fix": as_root("apt-get install bubblewrap")
        })
    );
    // With bubblewrap on PATH (and working here), the same host passes.
    let (code, report) = doctor_json(&sb, &sb.path(""), &policy);
    assert_eq!(check(&report, "bwrap")["status"], "ok", "{report:#}");
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn a_configuration_that_does_not_read_fails_and_an_uncommitted_one_warns() {
    let sb = Sandbox::new();
    let repo = sb.repo(
        "proj",
        &[(".buildkit.toml", "[repo]\npaht = \"apt\"\n", false)],
    );
    let (code, report) = doctor_json(&sb, &repo, &[]);
    assert_eq!(code, 1, "{report:#}");
    let config = check(&report, "config");
    assert_eq!(config["status"], "missing-required");
    assert_eq!(
        config["fix"],
        "\"${EDITOR:-vi}\" .buildkit.toml && git commit -m 'Fix .buildkit.toml' .buildkit.toml"
    );
    assert!(
        config["detail"].as_str().expect("detail").starts_with(
            ".buildkit.toml does not read: HEAD:.buildkit.toml:2:1: unknown field `paht`"
        ),
        "{config}"
    );

    let fresh = sb.path("fresh");
    std::fs::create_dir_all(&fresh).expect("mkdir");
    sb.git(&fresh, &["init", "-q", "-b", "main"]);
    std::fs::write(fresh.join(".buildkit.toml"), "[repo]\npath = \"apt\"\n").expect("config");
    let (_, report) = doctor_json(&sb, &fresh, &[]);
    assert_eq!(
        check(&report, "config"),
        &json!({
            "group": "repository", "name": "config", "status": "warn", "required": false,
            "detail": ".buildkit.toml is not committed: package, the pipeline and the repo commands read it from HEAD or the tag (0 packages, [repo])",
            "fix": "git add .buildkit.toml && git commit -m 'Add .buildkit.toml'"
        })
    );
    // The repository it names is checked all the same.
    assert_eq!(check(&report, "repository")["status"], "warn", "{report:#}");
}

#[test]
fn a_sandbox_grant_that_would_fail_every_build_is_a_required_problem() {
    let sb = Sandbox::new();
    let repo = sb.repo("granted", &[("README", "x\n", false)]);
    sb.git(
        &repo,
        &["config", "--add", "buildkit.sandbox.readOnly", "~/missing"],
    );
    let run = sb.bk(&repo, &["doctor", "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let grants = check(&report, "sandbox-grants");
    assert_eq!(grants["status"], "missing-required", "{grants}");
    assert!(
        grants["detail"]
            .as_str()
            .is_some_and(|d| d.contains("every build would fail") && d.contains("~/missing")),
        "{grants}"
    );
}
