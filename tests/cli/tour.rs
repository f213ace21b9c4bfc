//! The newcomer's path (issue 16): `scripts/tour`, the first part of `make
//! demo`, run as it is — a project from the shell-tool template, `init`, a
//! feature, two releases whose tag hook runs the gated pipeline (the second
//! with the VM upgrade test from the first) — so a change that breaks
//! what a new user sees first fails `make test`.

use std::path::Path;

use crate::common::{clean_command, vm_slot, Run, Sandbox};

#[test]
fn the_tour_releases_two_versions_from_a_template_through_the_tag_hook() {
    let sb = Sandbox::new();
    let _vm = vm_slot();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tour");
    let bin = Sandbox::bk_path();
    let path = format!(
        "{}:{}",
        bin.parent().expect("a directory").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run: Run = clean_command(&script, &sb.path(""))
        .arg(sb.path("tour"))
        .env("PATH", path)
        .output()
        .expect("run scripts/tour")
        .into();
    let all = format!("{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 0, "{all}");
    for want in [
        "Created ",
        "Finished feature/wave",
        "tag main as v0.1.0",
        "note: no upgrade test: stable has no earlier version of hello",
        "upgrade from stable: hello 0.1.0-1",
        "test-upgraded     passed",
        "Promoting hello=0.2.0-1 from stable-staging to stable",
        "stable/main hello 0.2.0-1 all",
        "Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----",
        "tour passed:",
    ] {
        assert!(all.contains(want), "missing {want:?} in\n{all}");
    }
    // What it says is where everything is, is there.
    let repo = sb.path("tour/data/git-buildkit/repos/hello");
    assert!(repo.join("releases/hello/0.2.0/SHA256SUMS.asc").is_file());
    assert!(sb
        .path("tour/hello/.git/buildkit/jobs/v0.2.0.log")
        .is_file());
}

#[test]
fn jobs_wait_shows_the_output_until_the_pipelines_end_and_fails_when_one_failed() {
    let sb = Sandbox::new();
    let config = r#"[[package]]
name = "wait"
description = "waits\nA package whose second version does not build."
maintainer = "Test Author <author@example.com>"
architecture = "all"
build = "sleep 1; test ! -e broken || { echo 'the build broke here' >&2; exit 3; }"
assets = [{ src = "LICENSE", dest = "/usr/share/wait/LICENSE" }]

[hooks]
on-tag = ["package"]
"#;
    let repo = sb.repo(
        "wait",
        &[
            (".buildkit.toml", config, false),
            (
                "LICENSE",
                "Copyright 2026 Test Author\nLicense: MIT\n",
                false,
            ),
        ],
    );
    sb.bk(&repo, &["-q", "hooks", "install"]).ok();
    // Nothing to wait for: at once, exit 0.
    let idle = sb.bk(&repo, &["jobs", "--wait"]);
    assert_eq!(idle.code, 0, "{}", idle.stderr);

    sb.tag(&repo, "2026-01-02T10:00:00Z", "v1.0.0");
    let run = sb.bk(&repo, &["jobs", "--wait"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("Packaging wait 1.0.0-1"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.starts_with("v1.0.0  succeeded"),
        "{}",
        run.stdout
    );

    std::fs::write(repo.join("broken"), "").expect("write");
    sb.commit(&repo, "2026-01-03T10:00:00Z", "Break the build");
    sb.tag(&repo, "2026-01-03T10:00:00Z", "v1.1.0");
    let run = sb.bk(&repo, &["jobs", "--wait"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("the build broke here"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the pipeline failed for v1.1.0"),
        "{}",
        run.stderr
    );
    // The earlier success is not waited for again, nor counted.
    assert!(
        !run.stderr.contains("Packaging wait 1.0.0-1"),
        "{}",
        run.stderr
    );
}
