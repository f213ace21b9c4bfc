//! The suite matrix (issue 18): `vm-test --on bookworm,trixie` and
//! `[vm] suites` run the same tests on Debian 12 and 13 side by side, each
//! on its own image (bookworm on the default image, trixie on the `trixie`
//! image that `vm::a_trixie_image_builds_boots_and_passes` builds too; no
//! other image is built), with one verdict per suite in the text, the
//! JSON, the JUnit report and the pipeline's record, and the exit code of
//! the worst. The usage errors boot nothing.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{vm_slot, Sandbox};
use crate::vm::{assert_cleaned_up, owned, results, VmProject};

/// Makes sure the `trixie` image exists (the recipe of
/// `vm::a_trixie_image_builds_boots_and_passes`: instant when cached).
/// Call it while holding [`vm_slot`].
fn trixie_image(sb: &Sandbox) {
    static TRIXIE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    TRIXIE.get_or_init(|| {
        let created = sb.bk(
            &sb.path(""),
            &["-q", "vm", "create", "trixie", "--suite", "trixie"],
        );
        assert_eq!(created.code, 0, "{}", created.stderr);
    });
}

/// `(suite, verdict, image)` of each suite of a matrix's JSON.
fn suites(verdict: &Value) -> Vec<(String, String, String)> {
    verdict["suites"]
        .as_array()
        .expect("suites")
        .iter()
        .map(|s| {
            (
                s["suite"].as_str().unwrap_or("").to_owned(),
                s["verdict"].as_str().unwrap_or("").to_owned(),
                s["image"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// `text` with each decimal number (`3.14`) as `N`: timings vary.
fn masked(text: &str) -> String {
    let mut out = String::new();
    let mut number = String::new();
    let flush = |number: &mut String, out: &mut String| {
        if number.contains('.') && !number.ends_with('.') && !number.starts_with('.') {
            out.push('N');
        } else {
            out.push_str(number);
        }
        number.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || (c == '.' && !number.is_empty()) {
            number.push(c);
        } else {
            flush(&mut number, &mut out);
            out.push(c);
        }
    }
    flush(&mut number, &mut out);
    out
}

/// Each `<testsuite>` of a JUnit file as `name tests failures errors`,
/// read by Python's XML parser, and the classnames of its cases.
fn junit_suites(sb: &Sandbox, xml: &str) -> Vec<String> {
    let path = sb.path("report.xml");
    std::fs::write(&path, xml).expect("write the report");
    let script = "import sys, xml.etree.ElementTree as E\n\
                  for s in E.parse(sys.argv[1]).getroot().iter('testsuite'):\n\
                  \x20   classes = sorted({c.get('classname') for c in s.iter('testcase')})\n\
                  \x20   print(s.get('name'), s.get('tests'), s.get('failures'), s.get('errors'), *classes)\n";
    let run = sb
        .run(
            &sb.path(""),
            "python3",
            &["-c", script, path.to_str().expect("utf8")],
        )
        .ok();
    run.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn a_two_suite_matrix_where_only_trixie_fails_exits_1_and_says_which() {
    let p = VmProject::new(
        "",
        "[vm]\nsmoke = [\"greet | grep -q 1.0.0\", \"grep -q bookworm /etc/os-release\"]\ntimeout = \"3m\"\n",
        &[],
    );
    let _vm = vm_slot();
    trixie_image(&p.sb);
    let (run, verdict, xml) = p.vm_test(&["--on", "bookworm,trixie"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        (&verdict["tag"], &verdict["verdict"]),
        (&Value::from("v1.0.0"), &Value::from("failed")),
        "{verdict:#}"
    );
    assert_eq!(
        suites(&verdict),
        owned(&[
            ("bookworm", "passed", "default"),
            ("trixie", "failed", "trixie")
        ])
    );
    assert_eq!(
        results(&verdict["suites"][0]),
        owned(&[("smoke1", "pass", ""), ("smoke2", "pass", "")])
    );
    assert_eq!(
        results(&verdict["suites"][1]),
        owned(&[("smoke1", "pass", ""), ("smoke2", "fail", "exit status 1")])
    );
    let error: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(
        error,
        ["error: v1.0.0: 1 of 2 suites did not pass: trixie (smoke2 failed)"]
    );
    // Both ran, side by side, each run's lines prefixed with its suite.
    for suite in ["bookworm", "trixie"] {
        let run_id = verdict["suites"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["suite"] == suite))
            .and_then(|s| s["run_id"].as_str())
            .unwrap_or("");
        assert!(run_id.starts_with(&format!("v1.0.0-{suite}-")), "{run_id}");
        let image = if suite == "bookworm" {
            "default"
        } else {
            "trixie"
        };
        let preparing = format!("Preparing [{suite}] run {run_id} on image {image} (");
        assert!(
            run.stderr
                .lines()
                .any(|l| l.trim_start().starts_with(&preparing)),
            "{}",
            run.stderr
        );
        assert_cleaned_up(run_id);
    }
    assert_eq!(
        junit_suites(&p.sb, &xml),
        [
            "bookworm: git-buildkit vm-test greet=1.0.0-1 2 0 0 vm-test.bookworm.fast",
            "trixie: git-buildkit vm-test greet=1.0.0-1 2 1 0 vm-test.trixie.fast",
        ]
    );

    // The text: each suite's summary under its heading, then a line each.
    let text = p.bk(&["vm-test", "v1.0.0", "--on", "bookworm", "--on", "trixie"]);
    assert_eq!(text.code, 1, "{}", text.stderr);
    let lines: Vec<&str> = text.stdout.lines().collect();
    let tail: Vec<String> = lines
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(|l| masked(l))
        .collect();
    assert_eq!(tail, ["bookworm: PASS N s", "trixie: FAIL (smoke2) N s"]);
    let headings: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("== ") || l.starts_with("vm-test v1.0.0: "))
        .map(|(i, l)| (i, l.split(" [").next().unwrap_or("")))
        .collect();
    assert_eq!(
        headings,
        [
            (0, "== bookworm (image default) =="),
            (3, "vm-test v1.0.0: PASS (2 passed, 0 failed, 0 skipped)"),
            (4, "== trixie (image trixie) =="),
            (7, "vm-test v1.0.0: FAIL (1 passed, 1 failed, 0 skipped)"),
        ],
        "{}",
        text.stdout
    );
    assert_eq!(lines.len(), 10, "{}", text.stdout);
}

/// The sample project tagged v2.0.0 with `[vm] suites = ["bookworm",
/// "trixie"]` and `smoke`, publishing into `<sandbox>/apt` (a gated run:
/// staging, VM test, promote).
fn hello_on_two_suites(sb: &Sandbox, smoke: &str) -> PathBuf {
    let repo = sb.hello();
    let apt = sb.path("apt");
    let config = repo.join(".buildkit.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        format!(
            "{text}\n[repo]\npath = \"{}\"\n\n[vm]\nsuites = [\"bookworm\", \"trixie\"]\n\
             smoke = [{smoke:?}]\ntimeout = \"3m\"\n",
            apt.display()
        ),
    )
    .expect("write config");
    sb.commit(&repo, "2026-03-01T10:00:00Z", "Test on bookworm and trixie");
    sb.generate_key(&repo, "Test Packages", "ops@example.com");
    sb.tag(&repo, "2026-03-01T11:00:00Z", "v2.0.0");
    repo
}

/// (name, result) of each stage of a record.
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

/// (suite, verdict, image, passed, failed) of each VM record.
fn vm_suites(record: &Value) -> Vec<(String, String, String, u64, u64)> {
    record["vm_suites"]
        .as_array()
        .expect("vm_suites")
        .iter()
        .map(|v| {
            (
                v["suite"].as_str().unwrap_or("").to_owned(),
                v["verdict"].as_str().unwrap_or("").to_owned(),
                v["image"].as_str().unwrap_or("").to_owned(),
                v["passed"].as_u64().unwrap_or(0),
                v["failed"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// The hello project on bookworm and trixie (smoke command `smoke`) through
/// the pipeline, which must exit with `code`: the repository and the
/// tag's record (`show --json`). Call it holding the VM slot.
fn pipeline_on_two_suites(sb: &Sandbox, smoke: &str, code: i32) -> (PathBuf, Value) {
    let repo = hello_on_two_suites(sb, smoke);
    trixie_image(sb);
    let run = sb.bk(&repo, &["pipeline", "v2.0.0"]);
    assert_eq!(run.code, code, "{}", run.stderr);
    let shown = sb.bk(&repo, &["show", "v2.0.0", "--json"]).ok().stdout;
    let record = serde_json::from_str(&shown).expect("record");
    (repo, record)
}

#[test]
fn the_pipeline_with_vm_suites_tests_each_suite_and_records_both() {
    let sb = Sandbox::new();
    let _vm = vm_slot();
    let (repo, record) = pipeline_on_two_suites(&sb, "hello --version | grep -qx 'hello 2.0.0'", 0);
    assert_eq!(
        stages(&record),
        pairs(&[
            ("package", "succeeded"),
            ("publish", "succeeded"),
            ("vm-test", "succeeded"),
            ("promote", "succeeded")
        ]),
        "{record:#}"
    );
    assert_eq!(record.get("vm"), None, "{record:#}");
    assert_eq!(
        vm_suites(&record),
        [
            ("bookworm".into(), "passed".into(), "default".into(), 1, 0),
            ("trixie".into(), "passed".into(), "trixie".into(), 1, 0)
        ]
    );
    assert_eq!(record["promotion"]["to"], "stable");
    let human = sb.bk(&repo, &["show", "v2.0.0"]).ok().stdout;
    let vm_lines: Vec<&str> = human
        .lines()
        .skip_while(|l| !l.starts_with("vm-test    "))
        .take(2)
        .map(|l| l.split(" on image").next().unwrap_or(""))
        .collect();
    assert_eq!(
        vm_lines,
        [
            "vm-test    bookworm: passed (1 passed, 0 failed, 0 skipped)",
            "           trixie: passed (1 passed, 0 failed, 0 skipped)",
        ],
        "{human}"
    );
}

#[test]
fn a_suite_failing_in_the_pipeline_keeps_the_release_out_of_the_release_suite() {
    let sb = Sandbox::new();
    let _vm = vm_slot();
    let (repo, record) = pipeline_on_two_suites(&sb, "grep -q bookworm /etc/os-release", 1);
    assert_eq!(
        stages(&record),
        pairs(&[
            ("package", "succeeded"),
            ("publish", "succeeded"),
            ("vm-test", "failed"),
            ("promote", "not-run")
        ]),
        "{record:#}"
    );
    assert_eq!(
        record["error"], "not every suite passed: trixie (smoke1 failed)",
        "{record:#}"
    );
    assert_eq!(
        vm_suites(&record),
        [
            ("bookworm".into(), "passed".into(), "default".into(), 1, 0),
            ("trixie".into(), "failed".into(), "trixie".into(), 0, 1)
        ]
    );
    assert_eq!(record.get("promotion"), None, "{record:#}");
    let apt = sb.path("apt");
    let listed = sb
        .bk(&repo, &["repo", "list", apt.to_str().expect("utf8")])
        .ok()
        .stdout;
    assert_eq!(listed, "stable-staging/main hello 2.0.0-1 all\n");
}

/// A repository whose tags carry the given `.buildkit.toml` texts (v1.0.0,
/// v1.0.1, …), with `[repo] path` in the sandbox; nothing published.
fn tagged_configs(sb: &Sandbox, vm_tables: &[&str]) -> PathBuf {
    let package = format!(
        "[[package]]\nname = \"greet\"\ndescription = \"d\"\n\
         maintainer = \"A <a@b.c>\"\n\n[repo]\npath = \"{}\"\n\n",
        sb.path("apt").display()
    );
    let repo = sb.repo(
        "greet",
        &[(
            ".buildkit.toml",
            &format!("{package}{}", vm_tables[0]),
            false,
        )],
    );
    sb.tag(&repo, "2026-01-02T10:00:00Z", "v1.0.0");
    for (i, table) in vm_tables.iter().enumerate().skip(1) {
        std::fs::write(repo.join(".buildkit.toml"), format!("{package}{table}"))
            .expect("write config");
        sb.commit(&repo, "2026-01-03T10:00:00Z", "next");
        sb.tag(&repo, "2026-01-03T10:00:00Z", &format!("v1.0.{i}"));
    }
    repo
}

#[test]
fn bad_suites_are_usage_errors_that_boot_nothing() {
    let sb = Sandbox::new();
    let repo = tagged_configs(
        &sb,
        &[
            "[vm]\nimage = \"default\"\nsuites = [\"bookworm\"]\n",
            "[vm]\nsuites = [\"bookworm\", \"trixie\", \"bookworm\"]\n",
            "[vm]\nsuites = [\"trixie/updates\"]\n",
            "[vm]\nsmoke = [\"true\"]\n",
        ],
    );
    let first_error = |args: &[&str]| {
        let run = sb.bk(&repo, args);
        let line = run
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("")
            .to_owned();
        (run.code, line, run.stderr)
    };
    let cases: [(&[&str], &str); 8] = [
        (&["vm-test", "v1.0.0"], "error: v1.0.0:.buildkit.toml:11:10: [vm] suites and [vm] image exclude each other: each suite has its own image (the one named after it, else the default image when it is of that suite)"),
        (&["vm-test", "v1.0.1"], "error: v1.0.1:.buildkit.toml:10:33: [vm] suites: suite \"bookworm\" is listed twice"),
        (&["vm-test", "v1.0.2"], "error: v1.0.2:.buildkit.toml:10:11: [vm] suites: invalid suite \"trixie/updates\": use letters, digits, '.', '_' and '-'"),
        (&["vm-test", "v1.0.3", "--on", "a/b"], "error: --on: invalid suite \"a/b\": use letters, digits, '.', '_' and '-'"),
        (&["vm-test", "v1.0.3", "--on", "trixie,trixie"], "error: --on: suite \"trixie\" is listed twice"),
        (&["vm-test", "v1.0.3", "--on", "trixie", "--vm", "default"], "error: the argument '--on <SUITE>' cannot be used with '--vm <NAME>'"),
        (&["vm-test", "v1.0.3", "--on", "bookworm,trixie", "--keep", "--forward", "8080:80"], "error: forwarded ports need a single suite: 2 VMs cannot share a host port"),
        (&["vm-test", "v1.0.3", "--on", "no-such-suite"], "error: there is no VM image for Debian no-such-suite"),
    ];
    for (args, want) in cases {
        let (code, line, stderr) = first_error(args);
        assert_eq!((code, line.as_str()), (2, want), "{args:?}\n{stderr}");
    }
    let (_, _, stderr) = first_error(&["vm-test", "v1.0.3", "--on", "no-such-suite"]);
    assert!(
        stderr.lines().any(|l| l
            == "hint: build it with `git buildkit vm create no-such-suite --suite no-such-suite` (about a minute; cached afterwards)"),
        "{stderr}"
    );
    let (_, _, stderr) = first_error(&["vm-test", "v1.0.0"]);
    assert!(
        stderr.contains("\n  11 | suites = [\"bookworm\"]\n     |          ^\n"),
        "{stderr}"
    );
}
