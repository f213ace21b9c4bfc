//! The `rust-cli` built-in template (issue 15): a project made by `new`
//! releases with no edit. The tag hook's pipeline builds it with Debian's
//! cargo, locked and offline, in the build sandbox, runs its unit tests,
//! packages a stripped binary (its `Depends` from its libraries, its debug
//! information in a -dbgsym) with no build path in it, lintian-clean and
//! reproducible, and the VM runs `NAME --version` against the installed
//! version.

use std::collections::BTreeSet;
use std::path::Path;

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{assert_lintian_clean, dir_names, vm_slot, Sandbox};
use crate::template_python::{commands, job_log, next_release, packaged_files, tracked};
use crate::templates::{assert_gated_run_passed, generate, release};

#[test]
fn a_rust_cli_from_its_template_releases_with_no_edit_stripped_lintian_clean_and_vm_tested() {
    let arch = Sandbox::new()
        .run(Path::new("/"), "dpkg", &["--print-architecture"])
        .ok()
        .stdout
        .trim()
        .to_owned();
    let (sb, repo) = generate(
        "rust-cli",
        &[
            "name=hello-rs",
            "author=Jane Doe <jane@example.com>",
            &format!("architecture={arch}"),
        ],
    );
    assert_eq!(
        tracked(&sb, &repo),
        [
            ".buildkit-template.toml",
            ".buildkit.toml",
            ".gitignore",
            "Cargo.lock",
            "Cargo.toml",
            "LICENSE",
            "README.md",
            "hello-rs.1",
            "src/main.rs",
        ]
    );

    let _vm = vm_slot();
    let record = release(&sb, &repo);
    assert_gated_run_passed(&record);
    assert_eq!(record["vm"]["image"], "default", "{record:#}");
    assert_eq!(
        (&record["vm"]["passed"], &record["vm"]["failed"]),
        (&Value::from(3), &Value::from(0)),
        "{record:#}"
    );
    assert_eq!(
        commands(&record),
        [
            (
                "build".to_owned(),
                "export RUSTFLAGS=\"--remap-path-prefix=$PWD=.\"\ncargo build --release --locked --offline\ngzip -9n -c hello-rs.1 > target/hello-rs.1.gz\n"
                    .to_owned()
            ),
            (
                "test".to_owned(),
                "RUSTFLAGS=\"--remap-path-prefix=$PWD=.\" cargo test --release --locked --offline"
                    .to_owned()
            ),
        ]
    );
    let log = job_log(&repo, "v0.1.0");
    assert!(
        log.contains("\ntest result: ok. 4 passed; 0 failed;"),
        "{log}"
    );

    let dist = repo.join(".git/buildkit/dist/v0.1.0");
    let deb = format!("hello-rs_0.1.0-1_{arch}.deb");
    let ddeb = format!("hello-rs-dbgsym_0.1.0-1_{arch}.ddeb");
    assert_eq!(dir_names(&dist), [ddeb.clone(), deb.clone()]);
    assert_lintian_clean(&sb, &dist, &deb);
    assert_lintian_clean(&sb, &dist, &ddeb);
    assert_eq!(
        packaged_files(&sb, &dist, &deb),
        [
            "./usr/bin/hello-rs",
            "./usr/share/doc/hello-rs/changelog.Debian.gz",
            "./usr/share/doc/hello-rs/copyright",
            "./usr/share/lintian/overrides/hello-rs",
            "./usr/share/man/man1/hello-rs.1.gz",
        ]
    );
    // Depends from the binary's libraries, as dpkg-shlibdeps has it.
    assert_eq!(
        sb.run(&dist, "dpkg-deb", &["-f", &deb, "Depends"])
            .ok()
            .stdout,
        "libc6 (>= 2.34), libgcc-s1 (>= 4.2)\n"
    );
    // The debug information names "." for the crate's own code, not the
    // build directory (Debian's std names where Debian built it).
    let unpacked = sb.path("dbgsym");
    sb.run(
        &dist,
        "dpkg-deb",
        &["-x", &ddeb, unpacked.to_str().expect("utf8")],
    )
    .ok();
    let debug = sb
        .run(
            &unpacked,
            "sh",
            &["-c", "find usr/lib/debug/.build-id -name '*.debug'"],
        )
        .ok()
        .stdout;
    let info = sb
        .run(
            &unpacked,
            "readelf",
            &["--debug-dump=info", "--dwarf-depth=1", debug.trim()],
        )
        .stdout;
    let ours: BTreeSet<&str> = info
        .lines()
        .filter(|l| l.contains("DW_AT_comp_dir"))
        .filter_map(|l| l.rsplit(": ").next())
        .filter(|dir| !dir.starts_with("/usr/src/rustc-"))
        .collect();
    assert_eq!(ours, BTreeSet::from(["."]));
    // Rebuilt from the tag: the same bytes as the repository serves.
    let verified = sb.bk(&repo, &["verify", "v0.1.0"]);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);

    // The next release with no edit either: Cargo.toml and Cargo.lock are
    // bumped together (the build is --locked), and --version in the VM
    // says 0.2.0 after the upgrade from 0.1.0.
    next_release(
        &sb,
        &repo,
        "0.2.0",
        &["Cargo.lock", "Cargo.toml"],
        ("hello-rs", "0.1.0-1"),
    );
}
