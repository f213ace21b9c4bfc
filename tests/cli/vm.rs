//! `vm-test` with real qemu under software emulation (KVM where it truly
//! works): a package published into a signed repository, installed by apt
//! in a throw-away guest that can reach only that repository, smoke and
//! DEP-8 tests run there, and the verdict's exit code, JSON and JUnit.
//! The base image is built once (`vm create`) and cached across runs; one
//! VM boots at a time (`vm_slot`).

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{vm_cache, vm_slot, Run, Sandbox};

/// A project packaging `greet` (arch all), published by `pipeline` into
/// `<sandbox>/apt` with a fresh key; `[vm]` and extra files are the test's.
pub(crate) struct VmProject {
    pub(crate) sb: Sandbox,
    pub(crate) repo: PathBuf,
    pub(crate) apt: PathBuf,
}

const GREET: &str = "#!/bin/sh\necho \"greetings from @VERSION@\"\n";

impl VmProject {
    /// `package_extra` is added to `[[package]]` (and `assets` to its
    /// assets), `tail` after it (`[vm]`...); `files` are added to the tree.
    /// Tagged v1.0.0 and published.
    pub(crate) fn new(package_extra: &str, tail: &str, files: &[(&str, &str, bool)]) -> Self {
        Self::with_assets(package_extra, "", tail, files)
    }

    fn with_assets(
        package_extra: &str,
        assets: &str,
        tail: &str,
        files: &[(&str, &str, bool)],
    ) -> Self {
        Self::with_apt_at("apt", package_extra, assets, tail, files)
    }

    /// As [`VmProject::with_assets`], the repository published at
    /// `<sandbox>/<apt_rel>` (any characters).
    pub(crate) fn with_apt_at(
        apt_rel: &str,
        package_extra: &str,
        assets: &str,
        tail: &str,
        files: &[(&str, &str, bool)],
    ) -> Self {
        let sb = Sandbox::new();
        let apt = sb.path(apt_rel);
        let apt_toml = apt
            .display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        let config = format!(
            r#"[[package]]
name = "greet"
description = "says hello from a VM test\nA tiny program for git-buildkit's VM tests."
maintainer = "Test Author <author@example.com>"
architecture = "all"
section = "utils"
build = """
mkdir -p build
sed "s/@VERSION@/$BUILDKIT_VERSION/" bin/greet > build/greet
"""
assets = [
  {{ src = "build/greet", dest = "/usr/bin/greet", mode = "0755" }},
  {assets}
]
{package_extra}

[repo]
path = "{apt_toml}"
suite = "stable"

[hooks]
on-tag = ["package", "publish"]

{tail}
"#,
        );
        let mut all: Vec<(&str, &str, bool)> = vec![
            (".buildkit.toml", &config, false),
            ("bin/greet", GREET, true),
            (
                "LICENSE",
                "Copyright 2026 Test Author\nLicense: MIT\n",
                false,
            ),
        ];
        all.extend_from_slice(files);
        let repo = sb.repo("greet", &all);
        sb.tag(&repo, "2026-01-02T10:00:00Z", "v1.0.0");
        sb.bk(
            &repo,
            &[
                "-q",
                "key",
                "generate",
                "--name",
                "VM Test",
                "--email",
                "vm@example.com",
            ],
        )
        .ok();
        sb.bk(&repo, &["-q", "pipeline", "v1.0.0"]).ok();
        VmProject { sb, repo, apt }
    }

    pub(crate) fn bk(&self, args: &[&str]) -> Run {
        self.sb.bk(&self.repo, args)
    }

    /// `vm-test v1.0.0 --json --junit <sandbox>/junit.xml ARGS`: the run,
    /// its JSON verdict and the JUnit report.
    pub(crate) fn vm_test(&self, args: &[&str]) -> (Run, Value, String) {
        let junit = self.sb.path("junit.xml");
        let _ = std::fs::remove_file(&junit);
        let mut all = vec![
            "vm-test",
            "v1.0.0",
            "--json",
            "--junit",
            junit.to_str().expect("utf8"),
        ];
        all.extend_from_slice(args);
        let run = self.bk(&all);
        let verdict: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON verdict ({e})\nstdout:\n{}\nstderr:\n{}",
                run.stdout, run.stderr
            )
        });
        let xml = std::fs::read_to_string(&junit).expect("junit report");
        (run, verdict, xml)
    }
}

/// (name, outcome, reason) of each test of a verdict.
pub(crate) fn results(verdict: &Value) -> Vec<(String, String, String)> {
    verdict["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or("").to_owned(),
                t["outcome"].as_str().unwrap_or("").to_owned(),
                t["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

pub(crate) fn owned(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

/// Whether this host's KVM can run a stock kernel (the tool's own check).
fn kvm_usable() -> bool {
    git_buildkit::vm::qemu::kvm_unusable_reason().is_none()
}

/// No run directory is left behind and no qemu of the run still runs.
pub(crate) fn assert_cleaned_up(run_id: &str) {
    assert!(!run_id.is_empty());
    assert!(
        !vm_cache().join("runs").join(run_id).exists(),
        "run {run_id} was left in the cache"
    );
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .expect("ps");
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(
        !ps.lines()
            .any(|l| l.contains("qemu-system") && l.contains(run_id)),
        "qemu of {run_id} still runs:\n{ps}"
    );
}

const DEP8_CONTROL: &str = "\
# The guest: root, isolated, with our package installed from the repository.
Tests: isolation
Depends: @

Test-Command: greet | grep -q '^greetings from 1.0.0$'

Test-Command: apt-get download hello
Restrictions: needs-internet
";

/// A DEP-8 test that proves where the package came from and that the guest
/// reaches nothing but the served repository.
const ISOLATION_TEST: &str = r#"#!/bin/bash
set -eu
[ "$(id -u)" = 0 ]
# apt knows one source: ours, checked with the repository's key.
grep -h '^deb ' /etc/apt/sources.list.d/*.list > /tmp/sources
grep -q 'signed-by=/etc/apt/keyrings/git-buildkit.gpg. http://10.0.2.100/ stable main$' /tmp/sources
[ "$(wc -l < /tmp/sources)" = 1 ]
apt-cache policy greet | grep -q 'http://10.0.2.100 stable/main'
# restrict=on: neither the host (10.0.2.2) nor a port we do not forward is reachable.
for target in 10.0.2.2/80 10.0.2.100/81 10.0.2.3/53; do
    if timeout 5 bash -c "echo > /dev/tcp/${target}" 2>/dev/null; then
        echo "reached ${target}"
        exit 1
    fi
done
echo "isolated"
"#;

#[test]
fn a_tag_installs_from_its_signed_repository_and_passes() {
    let p = VmProject::new(
        "",
        "[vm]\nsmoke = [\"greet\", \"greet | grep -q 1.0.0\"]\ntimeout = \"2m\"\n",
        &[
            ("debian/tests/control", DEP8_CONTROL, false),
            ("debian/tests/isolation", ISOLATION_TEST, true),
        ],
    );
    let _vm = vm_slot();
    let (run, verdict, xml) = p.vm_test(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict["verdict"], "passed", "{verdict:#}");
    assert_eq!(
        results(&verdict),
        owned(&[
            ("smoke1", "pass", ""),
            ("smoke2", "pass", ""),
            ("isolation", "pass", ""),
            ("command1", "pass", ""),
            (
                "command2",
                "skip",
                "restriction needs-internet: the guest has no internet"
            ),
        ])
    );
    assert_eq!(verdict["packages"], serde_json::json!(["greet=1.0.0-1"]));
    assert_eq!(verdict["mode"], "fast");
    assert_eq!(verdict["accel"], if kvm_usable() { "kvm" } else { "tcg" });
    assert_eq!(verdict["image"], "default");
    let phases = &verdict["phases"];
    for phase in ["boot", "update", "install", "test"] {
        assert!(
            phases[phase].as_f64().unwrap_or(0.0) > 0.0,
            "{phase}: {phases:#}"
        );
    }
    // The guest's output streamed live, the test's among it.
    assert!(
        run.stderr.contains("\ngreetings from 1.0.0\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\nisolated\n"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Get:1 http://10.0.2.100 stable InRelease"),
        "{}",
        run.stderr
    );
    if !kvm_usable() {
        assert!(
            run.stderr.contains("using software emulation (TCG)"),
            "{}",
            run.stderr
        );
    }
    assert!(
        xml.contains(r#"tests="5" failures="0" errors="0" skipped="1""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testcase name="isolation" classname="vm-test.fast""#),
        "{xml}"
    );
    assert_cleaned_up(verdict["run_id"].as_str().unwrap_or(""));

    // The human form: one line per test and the verdict with its phases.
    let human = p.bk(&["-q", "vm-test"]).ok().stdout;
    assert!(human.starts_with("PASS  smoke1 "), "{human}");
    assert!(
        human.contains("vm-test v1.0.0: PASS (4 passed, 0 failed, 1 skipped) ["),
        "{human}"
    );
}

#[test]
fn a_failing_and_a_hanging_smoke_command_fail_the_verdict() {
    let p = VmProject::new(
        "",
        "[vm]\nsmoke = [\"greet\", \"greet | grep -q 2.0.0\", \"sleep 600\"]\ntimeout = \"5s\"\n",
        &[(
            "debian/tests/control",
            "Test-Command: echo complaint >&2\n\nTest-Command: echo tolerated >&2\nRestrictions: allow-stderr\n",
            false,
        )],
    );
    let _vm = vm_slot();
    let (run, verdict, xml) = p.vm_test(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(verdict["verdict"], "failed", "{verdict:#}");
    assert_eq!(
        results(&verdict),
        owned(&[
            ("smoke1", "pass", ""),
            ("smoke2", "fail", "exit status 1"),
            ("smoke3", "fail", "timed out after 5s"),
            ("command1", "fail", "it wrote to stderr"),
            ("command2", "pass", ""),
        ])
    );
    assert!(
        run.stderr
            .contains("error: v1.0.0: smoke2, smoke3, command1 failed in the VM"),
        "{}",
        run.stderr
    );
    assert!(xml.contains(r#"failures="3""#), "{xml}");
    assert!(
        xml.contains(r#"<failure message="timed out after 5s""#),
        "{xml}"
    );
    assert_cleaned_up(verdict["run_id"].as_str().unwrap_or(""));
}

#[test]
fn an_uninstallable_package_or_a_bad_signature_is_a_testbed_failure() {
    // Without Debian for the guest, a dependency nothing provides is left
    // to the guest's apt (with Debian, it is found before booting: see
    // debhelper::a_library_no_source_of_the_guest_has_fails_before_booting_naming_it).
    let p = VmProject::new(
        "depends = [\"greet-runtime-nowhere (>= 1)\"]",
        "[vm]\nsmoke = [\"greet\"]\ndebian = false\n",
        &[],
    );
    let _vm = vm_slot();
    let (run, verdict, xml) = p.vm_test(&[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(verdict["verdict"], "testbed-failed", "{verdict:#}");
    assert!(
        run.stderr.contains("error: v1.0.0: the test bed failed: apt-get install failed in the guest (exit status 100)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("greet-runtime-nowhere"),
        "{}",
        run.stderr
    );
    // What to do about it.
    assert!(
        run.stderr
            .contains("hint: a Depends may not be installable from the image's Debian release"),
        "{}",
        run.stderr
    );
    assert_eq!(
        results(&verdict),
        owned(&[("smoke1", "skip", "not run: the test bed failed")])
    );
    assert!(xml.contains(r#"<testcase name="testbed""#), "{xml}");
    assert!(xml.contains(r#"errors="1""#), "{xml}");
    assert_cleaned_up(verdict["run_id"].as_str().unwrap_or(""));

    // The guest checks the signature with the repository's key: a changed
    // byte in InRelease and Release (apt falls back from one to the other)
    // stops apt-get update.
    for name in ["InRelease", "Release"] {
        let path = std::fs::canonicalize(p.apt.join("dists/stable").join(name)).expect(name);
        let text = std::fs::read_to_string(&path).expect(name);
        std::fs::write(&path, text.replacen("Suite: stable", "Suite: stablE", 1)).expect("tamper");
    }
    let (run, verdict, _) = p.vm_test(&[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the test bed failed: apt-get update failed in the guest"),
        "{}",
        run.stderr
    );
    assert_eq!(verdict["verdict"], "testbed-failed");
}

const SERVICE: &str = "[Unit]\nDescription=greet daemon\n\n[Service]\nExecStart=/bin/sh -c 'while :; do sleep 60; done'\n\n[Install]\nWantedBy=multi-user.target\n";
const POSTINST: &str = "#!/bin/sh\nset -e\nif [ \"$1\" = configure ] && [ -d /run/systemd/system ]; then\n    systemctl enable --now greetd.service\nfi\n";

#[test]
fn a_package_with_a_service_boots_systemd_and_the_service_runs() {
    let p = VmProject::with_assets(
        "maintainer-scripts = \"debian\"",
        r#"{ src = "greetd.service", dest = "/lib/systemd/system/greetd.service" },"#,
        "[vm]\nsmoke = [\"systemctl is-active greetd.service\", \"test \\\"$(cat /proc/1/comm)\\\" = systemd\"]\n",
        &[
            ("debian/postinst", POSTINST, true),
            ("greetd.service", SERVICE, false),
        ],
    );
    let _vm = vm_slot();
    let (run, verdict, _) = p.vm_test(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict["mode"], "systemd", "{verdict:#}");
    assert!(
        run.stderr
            .contains("a package ships a systemd unit: booting with systemd"),
        "{}",
        run.stderr
    );
    assert_eq!(
        results(&verdict),
        owned(&[("smoke1", "pass", ""), ("smoke2", "pass", "")])
    );
}

#[test]
fn a_kept_run_boots_again_with_a_shell_and_is_destroyed() {
    let p = VmProject::new("", "[vm]\nsmoke = [\"greet > /root/said\"]\n", &[]);
    let _vm = vm_slot();
    let (run, verdict, _) = p.vm_test(&["--keep"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // A kept run boots: its VM outlives us, so no snapshot is restored.
    assert_eq!(verdict["start"], "cold", "{verdict:#}");
    let id = verdict["run_id"].as_str().expect("run id").to_owned();
    assert!(vm_cache()
        .join("runs")
        .join(&id)
        .join("root.qcow2")
        .is_file());
    let listed: Value =
        serde_json::from_str(&p.bk(&["vm", "list", "--json"]).ok().stdout).expect("json");
    assert!(
        listed["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .any(|r| r["id"] == id.as_str()),
        "{listed:#}"
    );
    // The shell is the guest's console on our stdin and stdout: wait for
    // its prompt (input sent before the serial port is set up is lost, as
    // on a real console), type, and read the answer. Killed after 3 min.
    let mut shell = std::process::Command::new(Sandbox::bk_path());
    shell
        .args(["vm", "shell", &id])
        .env("BUILDKIT_VM_CACHE", vm_cache())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = shell.spawn().expect("vm shell");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let seen = std::sync::Arc::clone(&seen);
        let mut stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                seen.lock().expect("lock").push_str(&text);
            }
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    let text = |seen: &std::sync::Mutex<String>| seen.lock().expect("lock").clone();
    while !text(&seen).contains("@bk-guest") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let mut stdin = child.stdin.take().expect("stdin");
    {
        use std::io::Write;
        let _ = stdin.write_all(b"echo \"kept: $(cat /root/said)\"; exit\n");
        let _ = stdin.flush();
    }
    let ended = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    drop(stdin);
    let _ = reader.join();
    let stdout = text(&seen);
    assert!(
        ended.is_some(),
        "vm shell did not end in 3 minutes:\n{stdout}"
    );
    assert!(stdout.contains("kept: greetings from 1.0.0"), "{stdout}");
    p.bk(&["-q", "vm", "destroy", &id]).ok();
    assert!(!vm_cache().join("runs").join(&id).exists());
}

#[test]
fn bad_input_fails_fast_with_a_clear_message() {
    let p = VmProject::new("", "[vm]\nsmoke = [\"greet\"]\n", &[]);
    let _vm = vm_slot();
    let run = p.bk(&["vm-test", "v1.0.0", "--vm", "nope"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: there is no VM image named \"nope\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: build it with `git buildkit vm create nope`"),
        "{}",
        run.stderr
    );
    let run = p.bk(&["vm-test", "v1.0.0", "--mode", "quick"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("invalid VM mode \"quick\""),
        "{}",
        run.stderr
    );

    // A tag that was never published: nothing to install.
    p.sb.tag(&p.repo, "2026-01-03T10:00:00Z", "v1.0.1");
    let run = p.bk(&["vm-test", "v1.0.1"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("greet 1.0.1-1 is not published in"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: publish the tag first"),
        "{}",
        run.stderr
    );

    // A malformed [vm] value of the tag's configuration.
    let config = p.repo.join(".buildkit.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{text}memory = \"lots\"\n")).expect("write");
    p.sb.commit(&p.repo, "2026-01-04T10:00:00Z", "Too much memory");
    p.sb.tag(&p.repo, "2026-01-04T10:00:00Z", "v1.0.2");
    let run = p.bk(&["vm-test", "v1.0.2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // Checked when the configuration is read, where the value is written.
    assert!(
        run.stderr.contains(
            "error: v1.0.2:.buildkit.toml:27:10: invalid memory size \"lots\" (examples: 512M, 1G)\n     |\n  27 | memory = \"lots\"\n     |          ^\n"
        ),
        "{}",
        run.stderr
    );

    // --accel kvm where KVM cannot run a stock kernel fails at once.
    if !kvm_usable() {
        let started = std::time::Instant::now();
        let run = p.bk(&["vm-test", "v1.0.0", "--accel", "kvm"]);
        assert_eq!(run.code, 3, "{}", run.stderr);
        assert!(
            run.stderr.contains("error: KVM is not usable here: "),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("hint: use --accel tcg"),
            "{}",
            run.stderr
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}

#[test]
fn vm_create_is_instant_when_the_recipe_is_unchanged() {
    let _vm = vm_slot();
    let sb = Sandbox::new();
    let started = std::time::Instant::now();
    let run = sb.bk(&sb.path(""), &["vm", "create", "--json"]).ok();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        run.stderr.is_empty() || !run.stderr.contains("Bootstrapping"),
        "{}",
        run.stderr
    );
    let image: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(image["name"], "default");
    let dir = PathBuf::from(image["dir"].as_str().expect("dir"));
    for file in ["root.raw", "initrd.img", "image.json"] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let kernel = image["manifest"]["kernel"].as_str().expect("kernel");
    assert!(dir.join(kernel).is_file());
    // The image holds no apt sources and an empty resolv.conf: the guest
    // must never try the mirror.
    let listing = sb
        .run(
            &sb.path(""),
            "debugfs",
            &[
                "-R",
                "ls -p /etc/apt/sources.list.d",
                dir.join("root.raw").to_str().expect("utf8"),
            ],
        )
        .ok()
        .stdout;
    assert!(
        !listing.contains(".sources") && !listing.contains(".list"),
        "{listing}"
    );
    let resolv = sb
        .run(
            &sb.path(""),
            "debugfs",
            &[
                "-R",
                "cat /etc/resolv.conf",
                dir.join("root.raw").to_str().expect("utf8"),
            ],
        )
        .ok()
        .stdout;
    assert_eq!(resolv.trim(), "");
}

#[test]
fn vm_test_without_a_tag_takes_the_newest_version_tag_that_has_a_config() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    // Upstream's newer tag, without our configuration.
    sb.git(&repo, &["rm", "-q", ".buildkit.toml"]);
    sb.commit(&repo, "2026-03-01T10:00:00Z", "Upstream 2.0.0");
    sb.tag(&repo, "2026-03-01T10:00:00Z", "v2.0.0");
    // No image in an empty cache: the run stops right after choosing.
    let empty = sb.path("no-images");
    let env = [("BUILDKIT_VM_CACHE", empty.to_str().expect("utf8"))];
    let run = sb.bk_env(&repo, &["vm-test"], &env);
    assert!(
        run.stderr.contains(
            "note: v2.0.0 has no .buildkit.toml: testing v1.1.0, the newest version tag with one"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no VM image named"), "{}", run.stderr);
    // With no tag that has one: a clear error.
    sb.git(&repo, &["tag", "-d", "v1.0.0", "v1.1.0"]);
    let run = sb.bk_env(&repo, &["vm-test"], &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: no version tag has a .buildkit.toml (the newest is v2.0.0)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_trixie_image_builds_boots_and_passes() {
    // Trixie's busybox-static is under usr/bin (merged /usr), its kernel
    // modules are xz-compressed, and its apt verifies with sqv.
    let p = VmProject::new(
        "",
        "[vm]\nimage = \"trixie\"\nsmoke = [\"greet | grep -q 1.0.0\", \"grep -qx VERSION_CODENAME=trixie /etc/os-release\"]\ntimeout = \"3m\"\n",
        &[],
    );
    let _vm = vm_slot();
    let created = p.bk(&["-q", "vm", "create", "trixie", "--suite", "trixie"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    let (run, verdict, _) = p.vm_test(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict["verdict"], "passed", "{verdict:#}");
    assert_eq!(verdict["image"], "trixie");
    assert_eq!(
        results(&verdict),
        owned(&[("smoke1", "pass", ""), ("smoke2", "pass", "")])
    );
    assert_cleaned_up(verdict["run_id"].as_str().unwrap_or(""));
}
