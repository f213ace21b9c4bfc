//! The `python-app` built-in template (issue 15): a project made by `new`
//! releases with no edit. `release start 0.1.0` and `release finish` start
//! the tag hook's pipeline, which runs the project's pytest tests and
//! doctests in the clean export, packages the app lintian-clean, publishes
//! it to staging, installs it in a VM where its console script answers,
//! and promotes it (real pip, real apt, real qemu).
//!
//! The helpers below are shared with `template_rust`; `python3_image`
//! would belong in `common.rs` beside `vm_slot` (vm_python.rs builds the
//! same image inline).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{assert_lintian_clean, dir_names, vm_slot, Sandbox};

static PYTHON3_IMAGE: OnceLock<()> = OnceLock::new();

/// Makes sure the VM image `python3` of vm_python.rs exists (the same
/// recipe, so the same cached image): built once per run, instant when
/// cached. Call it while holding [`vm_slot`].
pub(crate) fn python3_image() {
    PYTHON3_IMAGE.get_or_init(|| {
        let sb = Sandbox::new();
        let run = sb.bk(
            &sb.path(""),
            &["-q", "vm", "create", "python3", "--include", "python3"],
        );
        assert_eq!(run.code, 0, "vm create python3 failed:\n{}", run.stderr);
    });
}

/// `git buildkit new TEMPLATE DIR --set ...` in the sandbox, with the
/// author every test uses; the project's directory.
pub(crate) fn new_project(sb: &Sandbox, template: &str, dir: &str, sets: &[&str]) -> PathBuf {
    let mut args = vec![
        "-q",
        "new",
        template,
        dir,
        "--set",
        "author=Jane Doe <jane@example.com>",
    ];
    for set in sets {
        args.extend(["--set", set]);
    }
    sb.bk(&sb.path(""), &args).ok();
    sb.path(dir)
}

/// The files git tracks in `repo`, sorted.
pub(crate) fn tracked(sb: &Sandbox, repo: &Path) -> Vec<String> {
    let mut files: Vec<String> = sb
        .git(repo, &["ls-files"])
        .lines()
        .map(str::to_owned)
        .collect();
    files.sort();
    files
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// `release start 0.1.0` and `release finish -m 0.1.0` in `repo`, as a
/// user types them, then waits (`within`) for the pipeline the tag hook
/// started in the background. Returns `show v0.1.0 --json` and the job's
/// log, once the job succeeded.
pub(crate) fn first_release(sb: &Sandbox, repo: &Path, within: Duration) -> (Value, String) {
    sb.bk(repo, &["-q", "release", "start", "0.1.0"]).ok();
    sb.bk(repo, &["-q", "release", "finish", "-m", "0.1.0"])
        .ok();
    let deadline = Instant::now() + within;
    let job = loop {
        let jobs = json(&sb.bk(repo, &["jobs", "--json"]).ok().stdout);
        let jobs = jobs.as_array().expect("array").clone();
        let ended = |j: &Value| j["state"] == "succeeded" || j["state"] == "failed";
        if !jobs.is_empty() && jobs.iter().all(ended) {
            assert_eq!(jobs.len(), 1, "{jobs:#?}");
            break jobs[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the pipeline did not end within {within:?}: {jobs:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let log = std::fs::read_to_string(job["log"].as_str().expect("log path")).expect("job log");
    assert_eq!(job["state"], "succeeded", "{job:#}\n{log}");
    let record = json(&sb.bk(repo, &["show", "v0.1.0", "--json"]).ok().stdout);
    (record, log)
}

/// The stages of a run's record as (name, result).
pub(crate) fn stages(record: &Value) -> Vec<(String, String)> {
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

/// Every stage of a gated run passed: package, publish, vm-test, promote.
pub(crate) fn assert_gated_run_passed(record: &Value) {
    let passed = |name: &str| (name.to_owned(), "succeeded".to_owned());
    assert_eq!(
        stages(record),
        [
            passed("package"),
            passed("publish"),
            passed("vm-test"),
            passed("promote")
        ],
        "{record:#}"
    );
    assert_eq!(record["vm"]["verdict"], "passed", "{record:#}");
    assert_eq!(record["promotion"]["to"], "stable", "{record:#}");
    assert_eq!(record["promotion"]["by_hand"], false, "{record:#}");
}

/// The regular files in `deb` (in `dir`), as `dpkg-deb -c` names them, sorted.
pub(crate) fn packaged_files(sb: &Sandbox, dir: &Path, deb: &str) -> Vec<String> {
    let mut files: Vec<String> = sb
        .run(dir, "dpkg-deb", &["-c", deb])
        .ok()
        .stdout
        .lines()
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split_whitespace().last())
        .map(str::to_owned)
        .collect();
    files.sort();
    files
}

/// The (purpose, command) of each command a run's record lists.
pub(crate) fn commands(record: &Value) -> Vec<(String, String)> {
    record["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| {
            (
                c["purpose"].as_str().unwrap_or("").to_owned(),
                c["command"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_python_app_from_its_template_releases_with_no_edit_tested_lintian_clean_and_vm_tested() {
    let sb = Sandbox::new();
    sb.generate_key(&sb.path(""), "Test Packages", "ops@example.com");
    // The module's name comes from the package name; the VM test boots
    // the image with python3 that vm_python.rs shares.
    let repo = new_project(
        &sb,
        "python-app",
        "my-app",
        &["name=my-app", "image=python3"],
    );
    assert_eq!(
        tracked(&sb, &repo),
        [
            ".buildkit-template.toml",
            ".buildkit.toml",
            ".gitignore",
            "LICENSE",
            "README.md",
            "docs/conf.py",
            "docs/index.rst",
            "pyproject.toml",
            "src/my_app/__init__.py",
            "src/my_app/cli.py",
            "tests/test_cli.py",
        ]
    );

    let _vm = vm_slot();
    python3_image();
    let (record, log) = first_release(&sb, &repo, Duration::from_secs(240));
    assert_gated_run_passed(&record);
    assert_eq!(record["vm"]["image"], "python3", "{record:#}");
    // Three smoke tests: --help, --version against the installed
    // package's version, a greeting.
    assert_eq!(
        (&record["vm"]["passed"], &record["vm"]["failed"]),
        (&Value::from(3), &Value::from(0)),
        "{record:#}"
    );
    // The test command ran pytest: three tests and the module's doctest.
    assert_eq!(
        commands(&record),
        [("test".to_owned(), "python3 -m pytest -q".to_owned())]
    );
    assert!(log.contains("\n4 passed in "), "{log}");

    // What was published is lintian-clean.
    let dist = repo.join(".git/buildkit/dist/v0.1.0");
    assert_eq!(dir_names(&dist), ["my-app_0.1.0-1_all.deb"]);
    assert_lintian_clean(&sb, &dist, "my-app_0.1.0-1_all.deb");
    assert_eq!(
        packaged_files(&sb, &dist, "my-app_0.1.0-1_all.deb"),
        [
            "./usr/bin/my-app",
            "./usr/lib/my-app/python/my_app-0.1.0.dist-info/INSTALLER",
            "./usr/lib/my-app/python/my_app-0.1.0.dist-info/LICENSE",
            "./usr/lib/my-app/python/my_app-0.1.0.dist-info/METADATA",
            "./usr/lib/my-app/python/my_app-0.1.0.dist-info/WHEEL",
            "./usr/lib/my-app/python/my_app-0.1.0.dist-info/entry_points.txt",
            "./usr/lib/my-app/python/my_app-0.1.0.dist-info/top_level.txt",
            "./usr/lib/my-app/python/my_app/__init__.py",
            "./usr/lib/my-app/python/my_app/cli.py",
            "./usr/share/doc/my-app/changelog.Debian.gz",
            "./usr/share/doc/my-app/copyright",
            "./usr/share/lintian/overrides/my-app",
            "./usr/share/man/man1/my-app.1.gz",
            "./usr/share/python3/runtime.d/my-app.rtupdate",
        ]
    );
}
