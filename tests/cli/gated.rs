//! Gated releases (issue 14): the project's tests before packaging, the
//! staging suite and the VM test before the release suite, promotion by
//! hand, retention that never drops what another suite offers, snapshots
//! kept out of release suites, and a publish into one suite that leaves the
//! others byte for byte as they were.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{vm_slot, Sandbox};

/// The sample project (tags v1.0.0 and v1.1.0) publishing into
/// `<sandbox>/apt`, with `extra` appended to its `.buildkit.toml` and
/// committed, and a default key.
fn project(extra: &str) -> (Sandbox, PathBuf, PathBuf) {
    let sb = Sandbox::new();
    let repo = sb.hello();
    let apt = sb.path("apt");
    edit_config(&sb, &repo, |text| {
        format!("{text}\n[repo]\npath = \"{}\"\n{extra}", apt.display())
    });
    sb.generate_key(&repo, "Test Packages", "ops@example.com");
    (sb, repo, apt)
}

/// Changes `.buildkit.toml` and commits it.
fn edit_config(sb: &Sandbox, repo: &Path, edit: impl FnOnce(String) -> String) {
    let config = repo.join(".buildkit.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, edit(text)).expect("write config");
    sb.commit(repo, "2026-03-01T10:00:00Z", "Configure the release");
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// `repo list` as `suite package version` lines.
fn listing(sb: &Sandbox, repo: &Path, apt: &Path) -> Vec<String> {
    let list = sb
        .bk(
            repo,
            &["repo", "list", apt.to_str().expect("utf8"), "--json"],
        )
        .ok()
        .stdout;
    json(&list)
        .as_array()
        .expect("array")
        .iter()
        .map(|i| {
            format!(
                "{} {} {}",
                i["suite"].as_str().unwrap_or(""),
                i["package"].as_str().unwrap_or(""),
                i["version"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Every file a client can fetch of one suite (`dists/<suite>`, by-hash
/// included, followed through symlinks) with its bytes and mtime.
fn suite_files(apt: &Path, suite: &str) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    let mut files = BTreeMap::new();
    let root = apt.join("dists").join(suite);
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::metadata(&path).expect("meta");
            if meta.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(&root)
                    .expect("under")
                    .display()
                    .to_string();
                let bytes = std::fs::read(&path).expect("read");
                files.insert(rel, (bytes, meta.modified().expect("mtime")));
            }
        }
    }
    assert!(files.contains_key("InRelease"), "{:?}", files.keys());
    files
}

fn stages(record: &Value) -> Vec<(String, String)> {
    record["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("").to_owned(),
                s["result"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_release_reaches_its_suite_only_after_its_vm_test_passes_or_by_hand() {
    let (sb, repo, apt) = project("[vm]\nsmoke = [\"hello --version | grep -q '^hello '\"]\n");
    let _vm = vm_slot();
    sb.tag(&repo, "2026-03-01T10:00:00Z", "v2.0.0");
    let run = sb.bk(&repo, &["pipeline", "v2.0.0", "--json"]).ok();
    let record = json(&run.stdout);
    assert_eq!(
        stages(&record),
        [
            ("package".to_owned(), "succeeded".to_owned()),
            ("publish".into(), "succeeded".into()),
            ("vm-test".into(), "succeeded".into()),
            ("promote".into(), "succeeded".into()),
        ],
        "{record:#}"
    );
    assert_eq!(record["repo"]["suite"], "stable-staging");
    assert_eq!(record["promotion"]["from"], "stable-staging");
    assert_eq!(record["promotion"]["to"], "stable");
    assert_eq!(record["promotion"]["by_hand"], false);
    assert_eq!(
        listing(&sb, &repo, &apt),
        ["stable hello 2.0.0-1", "stable-staging hello 2.0.0-1"]
    );
    let shown = sb.bk(&repo, &["show", "v2.0.0"]).ok().stdout;
    assert!(
        shown.contains("\npromoted   stable-staging -> stable at "),
        "{shown}"
    );
    // Promoted: the source release is published beside the repository, and
    // a rebuild from the tag gives the served bytes.
    assert!(apt
        .join("releases/hello/2.0.0/hello-2.0.0.tar.gz")
        .is_file());
    assert_eq!(record["source_release"]["written"], true, "{record:#}");
    let verified = sb.bk(&repo, &["verify", "v2.0.0"]);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);

    // A release whose smoke test fails stays in staging; the release suite
    // does not change by one byte.
    let before = suite_files(&apt, "stable");
    edit_config(&sb, &repo, |t| {
        t.replace("grep -q '^hello '", "grep -q '^no such greeting'")
    });
    sb.tag(&repo, "2026-03-02T10:00:00Z", "v2.1.0");
    let run = sb.bk(&repo, &["pipeline", "v2.1.0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the pipeline of v2.1.0 failed at vm-test"),
        "{}",
        run.stderr
    );
    assert_eq!(suite_files(&apt, "stable"), before);
    assert_eq!(
        listing(&sb, &repo, &apt),
        [
            "stable hello 2.0.0-1",
            "stable-staging hello 2.1.0-1",
            "stable-staging hello 2.0.0-1"
        ]
    );
    let record = json(&sb.bk(&repo, &["show", "v2.1.0", "--json"]).ok().stdout);
    assert_eq!(record["failed_stage"], "vm-test");
    assert_eq!(record["vm"]["verdict"], "failed");
    // The guest installed stable's 2.0.0 first, then upgraded from staging.
    assert_eq!(record["vm"]["upgrade"]["suite"], "stable", "{record:#}");
    assert_eq!(
        record["vm"]["upgrade"]["from"],
        serde_json::json!([{"package": "hello", "version": "2.0.0-1"}])
    );
    assert!(record.get("promotion").is_none(), "{record:#}");
    assert!(!apt.join("releases/hello/2.1.0").exists(), "not released");
    assert_eq!(
        stages(&record)[3],
        ("promote".to_owned(), "not-run".to_owned())
    );

    // By hand, with a reason, the very same files.
    let run = sb.bk(&repo, &["promote", "v2.1.0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = sb
        .bk(
            &repo,
            &[
                "promote",
                "v2.1.0",
                "--reason",
                "the smoke test was wrong; checked by hand",
            ],
        )
        .ok();
    assert_eq!(
        run.stdout,
        "promoted v2.1.0 (hello=2.1.0-1) from stable-staging to stable\n"
    );
    assert_eq!(
        listing(&sb, &repo, &apt)[..2],
        ["stable hello 2.1.0-1", "stable hello 2.0.0-1"]
    );
    assert!(apt.join("releases/hello/2.1.0/SHA256SUMS.asc").is_file());
    let record = json(&sb.bk(&repo, &["show", "v2.1.0", "--json"]).ok().stdout);
    assert_eq!(record["promotion"]["by_hand"], true);
    assert_eq!(
        record["promotion"]["reason"],
        "the smoke test was wrong; checked by hand"
    );
    let staged = sb
        .run(
            &repo,
            "sha256sum",
            &[&apt
                .join(
                    record["packages"][0]["filename"]
                        .as_str()
                        .expect("filename"),
                )
                .display()
                .to_string()],
        )
        .ok()
        .stdout;
    assert!(staged.starts_with(record["packages"][0]["sha256"].as_str().expect("sha")));
    let shown = sb.bk(&repo, &["show", "v2.1.0"]).ok().stdout;
    assert!(
        shown.contains("by hand: the smoke test was wrong; checked by hand"),
        "{shown}"
    );
    assert!(
        shown.contains("\n           upgrade from stable: hello 2.0.0-1\n"),
        "{shown}"
    );
    // A passing upgrade is vm_upgrade's (the same code path, by `vm-test`):
    // one boot fewer here.
}

#[test]
fn the_projects_tests_run_after_the_build_and_a_failure_stops_before_packaging() {
    let (sb, repo, apt) = project("");
    edit_config(&sb, &repo, |t| {
        t.replace(
            "maintainer-scripts = \"debian\"",
            "test = \"\"\"\necho 'running 3 tests'\ntest -x build/hello\necho 'FAIL: greeting (1 of 3)' >&2\nexit 1\n\"\"\"\nmaintainer-scripts = \"debian\"",
        )
    });
    sb.tag(&repo, "2026-03-01T10:00:00Z", "v2.0.0");
    let run = sb.bk(&repo, &["pipeline", "v2.0.0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("     Testing in a bwrap sandbox"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("running 3 tests"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("failed at package\n  caused by: the tests failed: `echo 'running 3 tests'"),
        "{}",
        run.stderr
    );
    assert!(!apt.exists(), "nothing may be published");
    assert!(!repo
        .join(".git/buildkit/dist/v2.0.0")
        .join("hello_2.0.0-1_all.deb")
        .exists());
    let record = json(&sb.bk(&repo, &["show", "v2.0.0", "--json"]).ok().stdout);
    assert_eq!(record["failed_stage"], "package");
    let output = record["output"].as_str().expect("the output's tail");
    assert!(output.contains("FAIL: greeting (1 of 3)"), "{output}");
    let shown = sb.bk(&repo, &["show", "v2.0.0"]).ok().stdout;
    assert!(shown.contains("\noutput     running 3 tests\n"), "{shown}");

    // Passing tests are recorded with the build.
    edit_config(&sb, &repo, |t| t.replace("exit 1\n", "exit 0\n"));
    sb.tag(&repo, "2026-03-02T10:00:00Z", "v2.0.1");
    let record = json(&sb.bk(&repo, &["pipeline", "v2.0.1", "--json"]).ok().stdout);
    let purposes: Vec<&str> = record["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| c["purpose"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(purposes, ["build", "test"]);
    assert_eq!(listing(&sb, &repo, &apt), ["stable hello 2.0.1-1"]);
}

#[test]
fn retention_keeps_what_another_suite_offers_and_promotion_is_atomic_per_release() {
    let (sb, repo, apt) =
        project("keep = 1\n\n[hooks]\non-tag = [\"package\", \"publish\", \"promote\"]\n");
    for (i, tag) in ["v2.0.0", "v2.1.0", "v2.2.0"].into_iter().enumerate() {
        std::fs::write(repo.join("NEWS"), format!("{tag}\n")).expect("write");
        let date = format!("2026-03-0{}T10:00:00Z", i + 2);
        sb.commit(&repo, &date, tag);
        sb.tag(&repo, &date, tag);
        sb.bk(&repo, &["pipeline", tag]).ok();
        let record = json(&sb.bk(&repo, &["show", tag, "--json"]).ok().stdout);
        assert_eq!(record["result"], "succeeded", "{record:#}");
        if tag == "v2.1.0" {
            // Staging keeps 2.0.0: stable offered it when 2.1.0 arrived.
            assert_eq!(
                listing(&sb, &repo, &apt),
                [
                    "stable hello 2.1.0-1",
                    "stable-staging hello 2.1.0-1",
                    "stable-staging hello 2.0.0-1"
                ]
            );
            assert_eq!(
                record["promotion"]["pruned"],
                serde_json::json!(["hello=2.0.0-1"])
            );
        }
    }
    assert_eq!(
        listing(&sb, &repo, &apt),
        [
            "stable hello 2.2.0-1",
            "stable-staging hello 2.2.0-1",
            "stable-staging hello 2.1.0-1"
        ]
    );
}

#[test]
fn snapshot_builds_go_to_their_own_suite_never_a_release_suite() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    std::fs::write(repo.join("NEWS"), "unreleased\n").expect("write");
    sb.commit(&repo, "2026-03-01T10:00:00Z", "Work after 1.1.0");
    sb.generate_key(&repo, "Test Packages", "ops@example.com");
    let dist = sb.path("dist");
    let run = sb
        .bk(&repo, &["package", "-o", dist.to_str().expect("utf8")])
        .ok();
    assert!(
        run.stderr.contains(", 1 commit after v1.1.0"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Exporting v1.1.0"), "{}", run.stderr);
    let deb = run.stdout.trim().to_owned();
    let apt = sb.path("apt");
    let apt_arg = apt.to_str().expect("utf8");
    sb.bk(&repo, &["repo", "init", apt_arg, "--suite", "stable"])
        .ok();
    let refused = sb.bk(&repo, &["repo", "add", apt_arg, &deb, "--suite", "stable"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("is a snapshot build (1 commits after 1.1.0)")
            || refused
                .stderr
                .contains("is a snapshot build (1 commit after 1.1.0)"),
        "{}",
        refused.stderr
    );
    let added = sb.bk(&repo, &["repo", "add", apt_arg, &deb]).ok();
    assert!(
        added
            .stderr
            .contains("it goes to suite snapshots, not stable"),
        "{}",
        added.stderr
    );
    let head = sb.git(&repo, &["rev-parse", "--short=7", "HEAD"]);
    assert_eq!(
        listing(&sb, &repo, &apt),
        [format!("snapshots hello 1.1.0+1.g{head}-1")]
    );
    // apt sees it in its suite, signed like the others.
    let release = std::fs::read_to_string(apt.join("dists/snapshots/Release")).expect("Release");
    assert!(release.contains("\nSuite: snapshots\n"), "{release}");
    sb.bk(
        &repo,
        &[
            "repo",
            "add",
            apt_arg,
            &deb,
            "--suite",
            "stable",
            "--allow-snapshot",
        ],
    )
    .ok();
}

#[test]
fn a_publish_into_one_suite_leaves_the_others_byte_for_byte() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    sb.generate_key(&repo, "Test Packages", "ops@example.com");
    let dist = sb.path("dist");
    let dist_arg = dist.to_str().expect("utf8");
    sb.bk(&repo, &["package", "v1.0.0", "-o", dist_arg]).ok();
    sb.bk(&repo, &["package", "v1.1.0", "-o", dist_arg]).ok();
    let apt = sb.path("apt");
    let apt_arg = apt.to_str().expect("utf8");
    sb.bk(
        &repo,
        &[
            "repo", "init", apt_arg, "--suite", "stable", "--suite", "staging",
        ],
    )
    .ok();
    let deb = |v: &str| {
        dist.join(format!("hello_{v}-1_all.deb"))
            .display()
            .to_string()
    };
    sb.bk(
        &repo,
        &["repo", "add", apt_arg, &deb("1.0.0"), "--suite", "stable"],
    )
    .ok();
    let stable = suite_files(&apt, "stable");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sb.bk(
        &repo,
        &["repo", "add", apt_arg, &deb("1.1.0"), "--suite", "staging"],
    )
    .ok();
    assert_eq!(suite_files(&apt, "stable"), stable);
    let staging = suite_files(&apt, "staging");
    // Copying into stable changes stable, and only stable.
    sb.bk(
        &repo,
        &[
            "repo",
            "copy",
            apt_arg,
            "hello=1.1.0-1",
            "--from",
            "staging",
            "--to",
            "stable",
        ],
    )
    .ok();
    assert_ne!(
        suite_files(&apt, "stable")["InRelease"],
        stable["InRelease"]
    );
    assert_eq!(suite_files(&apt, "staging"), staging);
    // `repo publish` signs every suite afresh.
    sb.bk(&repo, &["repo", "publish", apt_arg]).ok();
    assert_ne!(
        suite_files(&apt, "staging")["InRelease"],
        staging["InRelease"]
    );
    // apt accepts the kept signatures.
    let verified = sb.run(
        &repo,
        "gpgv",
        &[
            "--keyring",
            apt.join("key.gpg").to_str().expect("utf8"),
            apt.join("dists/stable/InRelease").to_str().expect("utf8"),
        ],
    );
    assert_eq!(verified.code, 0, "{}", verified.stderr);
}
