//! The upgrade test in the VM (issue 14): a project of two packages whose
//! v1.0.0 is released in `stable` and whose next tags wait in `staging`;
//! `vm-test TAG --suite staging --upgrade-from stable` installs 1.0.0 from
//! `stable` in the guest, runs the smoke tests, upgrades to the tag's
//! versions, runs them again, purges, reinstalls cleanly and runs them a
//! last time, all in one boot, with real apt and dpkg. One run passes;
//! one upgrade meets both a postinst that fails only on upgrade and a
//! conffile changed by the new version and edited in the guest: exit 1,
//! each named, no hang, and the clean reinstall that passes hides neither.
//! The phase times it prints (`--nocapture`) are the issue's figures.
#![allow(
    clippy::print_stderr,
    reason = "the phase times are this test's report, shown with --nocapture"
)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{vm_slot, write_files, Run, Sandbox};
use crate::vm::{assert_cleaned_up, owned, results};

const CONFIG: &str = r#"[[package]]
name = "greet"
description = "says hello from an upgrade test\nA tiny program for git-buildkit's VM tests."
maintainer = "Test Author <author@example.com>"
architecture = "all"
section = "utils"
assets = [
  { src = "bin/greet", dest = "/usr/bin/greet", mode = "0755" },
  { src = "greet.conf", dest = "/etc/greet.conf" },
]

[[package]]
name = "greet-hook"
description = "runs a postinst in an upgrade test\nA tiny package for git-buildkit's VM tests."
maintainer = "Test Author <author@example.com>"
architecture = "all"
section = "utils"
maintainer-scripts = "hook"
assets = [{ src = "LICENSE", dest = "/usr/share/greet-hook/LICENSE" }]

[vm]
smoke = ["greet | grep -q greetings", "test -f /var/lib/greet-hook/configured", "echo local >> /etc/greet.conf"]
timeout = "1m"
"#;

const GREET: &str = "#!/bin/sh\necho greetings\n";
const POSTINST: &str = "#!/bin/sh\nset -e\nif [ \"$1\" = configure ]; then\n    mkdir -p /var/lib/greet-hook\n    touch /var/lib/greet-hook/configured\nfi\n";
/// The postinst of v1.2.0: configuring after an earlier version fails.
const POSTINST_FAILS_ON_UPGRADE: &str = "#!/bin/sh\nset -e\nif [ \"$1\" = configure ]; then\n    [ -z \"$2\" ] || exit 1\n    mkdir -p /var/lib/greet-hook\n    touch /var/lib/greet-hook/configured\nfi\n";

/// The project, its signed repository with `stable` and `staging`, and
/// v1.0.0 released in `stable`.
struct Project {
    sb: Sandbox,
    repo: PathBuf,
    apt: PathBuf,
}

impl Project {
    fn new() -> Self {
        let sb = Sandbox::new();
        let repo = sb.repo(
            "greet",
            &[
                (".buildkit.toml", CONFIG, false),
                ("bin/greet", GREET, true),
                ("greet.conf", "greeting = hello\n", false),
                ("hook/postinst", POSTINST, true),
                (
                    "LICENSE",
                    "Copyright 2026 Test Author\nLicense: MIT\n",
                    false,
                ),
            ],
        );
        sb.tag(&repo, "2026-01-02T10:00:00Z", "v1.0.0");
        sb.generate_key(&repo, "VM Test", "vm@example.com");
        let apt = sb.path("apt");
        let apt_arg = apt.to_str().expect("utf8");
        sb.bk(
            &repo,
            &[
                "-q", "repo", "init", apt_arg, "--suite", "stable", "--suite", "staging",
            ],
        )
        .ok();
        let p = Project { sb, repo, apt };
        p.publish("v1.0.0", "stable");
        p
    }

    fn bk(&self, args: &[&str]) -> Run {
        self.sb.bk(&self.repo, args)
    }

    /// Commits `files` and tags `tag` (dated `date`).
    fn tag(&self, date: &str, tag: &str, files: &[(&str, &str, bool)]) {
        write_files(&self.repo, files);
        self.sb.commit(&self.repo, date, tag);
        self.sb.tag(&self.repo, date, tag);
    }

    /// Packages `tag` and adds its .deb files to `suite`.
    fn publish(&self, tag: &str, suite: &str) {
        let dist = self.sb.path(&format!("dist-{tag}"));
        let dist_arg = dist.to_str().expect("utf8");
        self.bk(&["-q", "package", tag, "-o", dist_arg]).ok();
        let mut args: Vec<String> = ["-q", "repo", "add"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        args.push(self.apt.display().to_string());
        args.extend(debs(&dist));
        args.extend(["--suite".to_owned(), suite.to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.bk(&args).ok();
    }

    /// `vm-test TAG --suite staging --upgrade-from stable --json --junit`.
    fn vm_test(&self, tag: &str) -> (Run, Value, String) {
        let junit = self.sb.path("junit.xml");
        let _ = std::fs::remove_file(&junit);
        let run = self.bk(&[
            "vm-test",
            tag,
            "--repo",
            self.apt.to_str().expect("utf8"),
            "--suite",
            "staging",
            "--upgrade-from",
            "stable",
            "--json",
            "--junit",
            junit.to_str().expect("utf8"),
        ]);
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

fn debs(dir: &Path) -> Vec<String> {
    let mut debs: Vec<String> = std::fs::read_dir(dir)
        .expect("dist")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .map(|p| p.display().to_string())
        .collect();
    debs.sort();
    assert_eq!(debs.len(), 2, "{debs:?}");
    debs
}

/// (name, result, detail) of each phase of the upgrade test.
fn phases(verdict: &Value) -> Vec<(String, String, String)> {
    verdict["upgrade"]["phases"]
        .as_array()
        .unwrap_or_else(|| panic!("no upgrade phases in {verdict:#}"))
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("").to_owned(),
                p["result"].as_str().unwrap_or("").to_owned(),
                p["detail"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Each phase's seconds, for the figures.
fn seconds(verdict: &Value) -> String {
    let phases = verdict["upgrade"]["phases"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut line: Vec<String> = phases
        .iter()
        .map(|p| format!("{} {}s", p["name"].as_str().unwrap_or(""), p["seconds"]))
        .collect();
    line.push(format!(
        "boot {}s, update {}s, total {}s",
        verdict["phases"]["boot"], verdict["phases"]["update"], verdict["phases"]["total"]
    ));
    line.join(", ")
}

#[test]
fn vm_upgrade_from_stable_passes_then_a_failing_postinst_and_a_conffile_prompt_fail_it() {
    let p = Project::new();
    // v1.1.0: the same conffile, so the local edit is kept without a question.
    p.tag(
        "2026-02-01T10:00:00Z",
        "v1.1.0",
        &[("README", "1.1.0\n", false)],
    );
    p.publish("v1.1.0", "staging");
    let _vm = vm_slot();

    // (a) Every phase passes; the verdict says what was upgraded from.
    let (run, verdict, xml) = p.vm_test("v1.1.0");
    eprintln!("upgrade test, passing: {}", seconds(&verdict));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict["verdict"], "passed", "{verdict:#}");
    assert_eq!(verdict["upgrade"]["suite"], "stable");
    assert_eq!(
        verdict["upgrade"]["from"],
        serde_json::json!([
            { "package": "greet", "version": "1.0.0-1" },
            { "package": "greet-hook", "version": "1.0.0-1" },
        ])
    );
    let passed = |name: &str| (name.to_owned(), "passed".to_owned(), String::new());
    assert_eq!(
        phases(&verdict),
        [
            "install-released",
            "test-released",
            "upgrade",
            "test-upgraded",
            "purge",
            "reinstall",
            "test-reinstalled"
        ]
        .map(passed)
    );
    let mut want = Vec::new();
    for phase in ["released", "upgraded", "reinstalled"] {
        for smoke in ["smoke1", "smoke2", "smoke3"] {
            want.push((format!("{phase}/{smoke}"), "pass", ""));
        }
        match phase {
            "released" => want.push(("upgrade".to_owned(), "pass", "")),
            "upgraded" => {
                want.push(("purge".to_owned(), "pass", ""));
                want.push(("reinstall".to_owned(), "pass", ""));
            }
            _ => {}
        }
    }
    let want: Vec<(&str, &str, &str)> = want.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
    assert_eq!(results(&verdict), owned(&want));
    assert!(xml.contains("name=\"upgraded/smoke1\""), "{xml}");
    assert!(xml.contains("name=\"upgrade\""), "{xml}");
    assert!(
        run.stderr
            .contains("upgrade test: greet 1.0.0-1, greet-hook 1.0.0-1 from stable"),
        "{}",
        run.stderr
    );
    assert_cleaned_up(verdict["run_id"].as_str().unwrap_or_default());

    // (b) and (c) in one boot: v1.2.0 changes the conffile the smoke
    // tests edit in the guest, and its hook's postinst fails when it
    // configures over an earlier version.
    p.tag(
        "2026-03-01T10:00:00Z",
        "v1.2.0",
        &[
            ("greet.conf", "greeting = hi\n", false),
            ("hook/postinst", POSTINST_FAILS_ON_UPGRADE, true),
        ],
    );
    p.publish("v1.2.0", "staging");
    let started = std::time::Instant::now();
    let (run, verdict, xml) = p.vm_test("v1.2.0");
    eprintln!(
        "upgrade test, failing: {} (wall {:.0}s)",
        seconds(&verdict),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(verdict["verdict"], "failed", "{verdict:#}");
    let detail = "conffile prompt for /etc/greet.conf (greet): modified locally and changed by \
                  the new version; greet-hook's postinst failed (exit status 1) while upgrading \
                  from 1.0.0-1";
    assert_eq!(
        phases(&verdict),
        [
            ("install-released", "passed", ""),
            ("test-released", "passed", ""),
            ("upgrade", "failed", detail),
            ("test-upgraded", "not-run", ""),
            ("purge", "passed", ""),
            ("reinstall", "passed", ""),
            ("test-reinstalled", "passed", ""),
        ]
        .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
    );
    let upgrade = results(&verdict)
        .into_iter()
        .find(|(name, _, _)| name == "upgrade")
        .expect("the upgrade's result");
    assert_eq!(
        upgrade,
        ("upgrade".to_owned(), "fail".to_owned(), detail.to_owned())
    );
    assert!(
        run.stderr
            .contains("error: v1.2.0: upgrade failed in the VM"),
        "{}",
        run.stderr
    );
    assert!(
        xml.contains(&format!(
            "<failure message=\"{}\"",
            detail.replace('\'', "&apos;")
        )),
        "{xml}"
    );
    assert_cleaned_up(verdict["run_id"].as_str().unwrap_or_default());
}

#[test]
fn vm_upgrade_options_conflict_an_unknown_suite_is_named_and_an_uninstallable_release_is_the_test_beds(
) {
    let p = Project::new();
    let run = p.bk(&[
        "vm-test",
        "v1.0.0",
        "--upgrade-from",
        "stable",
        "--no-upgrade",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the argument '--upgrade-from <SUITE>' cannot be used with '--no-upgrade'"),
        "{}",
        run.stderr
    );
    // Refused before any VM boots (the image must exist: it is found first).
    drop(vm_slot());
    let apt = p.apt.to_str().expect("utf8");
    let run = p.bk(&[
        "vm-test",
        "v1.0.0",
        "--repo",
        apt,
        "--suite",
        "stable",
        "--upgrade-from",
        "oldstable",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: no suite \"oldstable\" in this repository (it has: stable, staging)"),
        "{}",
        run.stderr
    );

    // An earlier version that cannot be installed says nothing of the
    // tag's: the test bed failed (exit 3), in the released versions' phase.
    let config = CONFIG.replacen(
        "section = \"utils\"\n",
        "section = \"utils\"\ndepends = [\"no-such-package\"]\n",
        1,
    );
    p.tag(
        "2026-01-01T12:00:00Z",
        "v0.9.0",
        &[(".buildkit.toml", &config, false)],
    );
    p.publish("v0.9.0", "staging");
    let _vm = vm_slot();
    let run = p.bk(&[
        "vm-test",
        "v1.0.0",
        "--repo",
        apt,
        "--suite",
        "stable",
        "--upgrade-from",
        "staging",
        "--json",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let verdict: Value = serde_json::from_str(&run.stdout).expect("JSON verdict");
    assert_eq!(verdict["verdict"], "testbed-failed", "{verdict:#}");
    let rows = phases(&verdict);
    let failed = "apt-get install of the released versions failed in the guest (exit status 100)";
    assert_eq!(
        rows[0],
        (
            "install-released".to_owned(),
            "failed".to_owned(),
            failed.to_owned()
        ),
        "{verdict:#}"
    );
    assert!(rows[1..].iter().all(|r| r.1 == "not-run"), "{rows:?}");
    assert!(
        run.stderr
            .contains(&format!("error: v1.0.0: the test bed failed: {failed}")),
        "{}",
        run.stderr
    );
}
