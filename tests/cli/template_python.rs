//! The `python-app` built-in template (issue 15): a project made by `new`
//! releases with no edit. `release start 0.1.0` and `release finish` start
//! the tag hook's pipeline, which runs the project's pytest tests and
//! doctests in the clean export, packages the app lintian-clean, publishes
//! it to staging, installs it in a VM where its console script answers,
//! and promotes it (real pip, real apt, real qemu).
//!
//! The helpers below are shared with `template_rust`; `new` and the
//! release flow are `templates`' helpers, the python3 image `common`'s.

use std::path::Path;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{assert_lintian_clean, dir_names, python3_image, vm_slot, Sandbox};
use crate::templates::{assert_gated_run_passed, generate, release, wait_for_record};

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

/// The log of the pipeline the tag hook ran for `tag`.
pub(crate) fn job_log(repo: &Path, tag: &str) -> String {
    std::fs::read_to_string(repo.join(format!(".git/buildkit/jobs/{tag}.log")))
        .expect("the job's log")
}

/// The next release with no edit: `release start VERSION` bumps exactly
/// `files` (the `[flow] version-files`) in one commit, `release finish`
/// tags it, and the hook's pipeline runs to its end; returns its record,
/// checked to have passed with the upgrade from `stable`'s `previous`
/// version of `package` tested in the VM.
pub(crate) fn next_release(
    sb: &Sandbox,
    repo: &Path,
    version: &str,
    files: &[&str],
    (package, previous): (&str, &str),
) -> Value {
    sb.bk(repo, &["-q", "release", "start", version]).ok();
    let bumped = sb.git(repo, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(bumped.lines().collect::<Vec<_>>(), files);
    sb.bk(repo, &["-q", "release", "finish", "-m", version])
        .ok();
    let tag = format!("v{version}");
    let record = wait_for_record(sb, repo, &tag, Duration::from_secs(600));
    assert_gated_run_passed(&record);
    assert_eq!(record["version"], version, "{record:#}");
    assert_eq!(
        record["vm"]["upgrade"]["from"],
        serde_json::json!([{"package": package, "version": previous}]),
        "{record:#}"
    );
    record
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
    // The module's name comes from the package name; the VM test boots
    // the image with python3 that vm_python.rs shares.
    let (sb, repo) = generate(
        "python-app",
        &[
            "name=my-app",
            "author=Jane Doe <jane@example.com>",
            "image=python3",
        ],
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
    let record = release(&sb, &repo);
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
    let log = job_log(&repo, "v0.1.0");
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

    // The next release with no edit either: the version in the module is
    // bumped, and --version in the VM (checked against the installed
    // package's version) says 0.2.0 after the upgrade from 0.1.0.
    next_release(
        &sb,
        &repo,
        "0.2.0",
        &["src/my_app/__init__.py"],
        ("my-app", "0.1.0-1"),
    );
}
