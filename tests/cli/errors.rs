//! Bad input: each case gets a clear error, the documented exit code, and
//! leaves nothing in the output directory.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use crate::common::{dir_names, write_files, Sandbox};

const GOOD: &str = r#"[[package]]
name = "tool"
description = "a tool\nIt does things."
maintainer = "T <t@example.com>"
assets = [{ src = "tool.sh", dest = "/usr/bin/tool" }]
"#;

/// A repository whose only commit has `config` (when given), tagged v1.0.0.
fn project(sb: &Sandbox, name: &str, config: Option<&str>, tag: Option<&str>) -> PathBuf {
    let mut files = vec![
        ("tool.sh", "#!/bin/sh\necho tool\n", true),
        ("LICENSE", "MIT\n", false),
    ];
    if let Some(config) = config {
        files.push((".buildkit.toml", config, false));
    }
    let repo = sb.repo(name, &files);
    if let Some(tag) = tag {
        sb.tag(&repo, "2026-01-01T10:00:00Z", tag);
    }
    repo
}

/// Runs `package REV -o dist` and returns (exit code, stderr); asserts nothing was written.
fn package_fails(sb: &Sandbox, repo: &Path, rev: Option<&str>) -> (i32, String) {
    let dist = sb.path(&format!(
        "dist-{}",
        repo.file_name().expect("name").to_string_lossy()
    ));
    let dist_arg = dist.to_str().expect("utf8");
    let mut args = vec!["-q", "package", "-o", dist_arg];
    if let Some(rev) = rev {
        args.insert(2, rev);
    }
    let run = sb.bk(repo, &args);
    assert_eq!(run.stdout, "", "nothing on stdout for a failure");
    assert_eq!(
        dir_names(&dist),
        Vec::<String>::new(),
        "nothing may be written"
    );
    (run.code, run.stderr)
}

#[test]
fn package_errors_are_clear_and_write_nothing() {
    let sb = Sandbox::new();
    // (repository name, .buildkit.toml, tag, revision to package, exit code, stderr prefix)
    type Case<'a> = (
        &'a str,
        Option<String>,
        Option<&'a str>,
        Option<&'a str>,
        i32,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        ("unknown-ref", Some(GOOD.into()), Some("v1.0.0"), Some("v9.9.9"), 2, "error: unknown revision \"v9.9.9\"\n  caused by: "),
        ("no-tags", Some(GOOD.into()), None, None, 2, "error: no version tag (vX.Y.Z) at or before HEAD\nhint: create one with `git tag -a v0.1.0 -m 0.1.0`\n"),
        ("no-config", None, Some("v1.0.0"), Some("v1.0.0"), 2, "error: commit v1.0.0 has no .buildkit.toml\nhint: commit a .buildkit.toml (see `git buildkit help package`), then tag again\n"),
        (
            "malformed",
            Some(GOOD.replace("name = \"tool\"", "name = tool")),
            Some("v1.0.0"),
            Some("v1.0.0"),
            2,
            "error: v1.0.0:.buildkit.toml:2:8: invalid boolean, expected `true`\n    |\n  2 | name = tool\n    |        ^\nhint: the file is read from the commit being packaged; fix it, commit, and tag a new version (try the fix first with `git buildkit package --worktree`)\n",
        ),
        (
            "unknown-key",
            Some(GOOD.replace("[[package]]\n", "[[package]]\nversion = \"1\"\n")),
            Some("v1.0.0"),
            Some("v1.0.0"),
            2,
            "error: v1.0.0:.buildkit.toml:2:1: unknown field `version`, expected one of `name`, `description`, `maintainer`, `architecture`, `section`, `priority`, `homepage`, `revision`, `pre-depends`, `depends`, `recommends`, `suggests`, `conflicts`, `provides`, `replaces`, `breaks`, `build`, `test`, `assets`, `maintainer-scripts`, `copyright`, `compression`, `build-env`, `build-timeout`, `sandbox`, `network`, `strip`, `dbgsym`, `systemd`, `kind`, `python`, `allow-build-path`\n    |\n  2 | version = \"1\"\n    | ^\nhint: the file is read from the commit being packaged; fix it, commit, and tag a new version (try the fix first with `git buildkit package --worktree`)\n",
        ),
        ("missing-asset", Some(GOOD.replace("tool.sh", "nope.sh")), Some("v1.0.0"), Some("v1.0.0"), 2, "error: package tool: asset \"nope.sh\" does not exist in the built tree\n"),
        (
            "dotdot-dest",
            Some(GOOD.replace("/usr/bin/tool", "/usr/../etc/tool")),
            Some("v1.0.0"),
            Some("v1.0.0"),
            2,
            "error: v1.0.0:.buildkit.toml:5:37: asset dest \"/usr/../etc/tool\" must not contain . or .. components\n    |\n  5 | assets = [{ src = \"tool.sh\", dest = \"/usr/../etc/tool\" }]\n    |                                     ^\nhint: the file is read from the commit being packaged; fix it, commit, and tag a new version (try the fix first with `git buildkit package --worktree`)\n",
        ),
        (
            "bad-name",
            Some(GOOD.replace("\"tool\"", "\"Tool_X\"")),
            Some("v1.0.0"),
            Some("v1.0.0"),
            2,
            "error: v1.0.0:.buildkit.toml:2:8: invalid package name \"Tool_X\": names use lowercase letters, digits and + - . and start with a letter or digit, at least two characters\n    |\n  2 | name = \"Tool_X\"\n    |        ^\nhint: the file is read from the commit being packaged; fix it, commit, and tag a new version (try the fix first with `git buildkit package --worktree`)\n",
        ),
        ("short-tag", Some(GOOD.into()), Some("v1.2"), Some("v1.2"), 2, "error: invalid version tag \"v1.2\"\n"),
        ("build-metadata", Some(GOOD.into()), Some("v1.2.0+build.5"), Some("v1.2.0+build.5"), 2, "error: invalid version tag \"v1.2.0+build.5\"\n"),
    ];
    for (name, config, tag, rev, code, want) in cases {
        let repo = project(&sb, name, config.as_deref(), tag);
        let (got_code, stderr) = package_fails(&sb, &repo, rev);
        assert_eq!(got_code, code, "{name}: {stderr}");
        assert!(
            stderr.starts_with(want),
            "{name}:\n--- got:\n{stderr}\n--- want prefix:\n{want}"
        );
    }
}

#[test]
fn version_tag_errors_keep_the_semver_cause() {
    let sb = Sandbox::new();
    let repo = project(&sb, "p", Some(GOOD), Some("v1.2"));
    let (code, stderr) = package_fails(&sb, &repo, Some("v1.2"));
    assert_eq!(code, 2);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines[0], "error: invalid version tag \"v1.2\"");
    assert!(lines[1].starts_with("  caused by: "), "{stderr}");
    assert_eq!(
        lines.last().copied(),
        Some("hint: version tags look like v1.2.0 or v1.2.0-rc.1 (semver, no build metadata)")
    );
}

#[test]
fn deb_errors_are_clear() {
    let sb = Sandbox::new();
    let work = sb.path("work");
    write_files(
        &work,
        &[
            ("pkg/usr/bin/x", "#!/bin/sh\n", true),
            ("junk.deb", "not an archive at all", false),
        ],
    );
    let out = sb.path("out");
    let out_arg = out.to_str().expect("utf8");

    let run = sb.bk(&work, &["deb", "build", "pkg", "-o", out_arg]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "error: pkg has no DEBIAN/control file\n")
    );

    write_files(
        &work,
        &[(
            "pkg/DEBIAN/control",
            "Package: xx\nVersion: one\nArchitecture: all\n",
            false,
        )],
    );
    let run = sb.bk(&work, &["deb", "build", "pkg", "-o", out_arg]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.starts_with("error: invalid control data\n  caused by: invalid Version field\n  caused by: invalid Debian version \"one\""), "{}", run.stderr);
    assert_eq!(dir_names(&out), Vec::<String>::new());

    let run = sb.bk(&work, &["deb", "info", "junk.deb"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: junk.deb is not a valid Debian package: it is not an ar archive\n"
        )
    );

    // A real package, truncated.
    write_files(
        &work,
        &[(
            "pkg/DEBIAN/control",
            "Package: xx\nVersion: 1\nArchitecture: all\nMaintainer: T <t@e.com>\nDescription: x\n",
            false,
        )],
    );
    sb.bk(&work, &["deb", "build", "pkg", "-o", out_arg]).ok();
    let good = std::fs::read(out.join("xx_1_all.deb")).expect("deb");
    std::fs::write(work.join("cut.deb"), &good[..good.len() - 40]).expect("write");
    let run = sb.bk(&work, &["deb", "info", "cut.deb"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: cut.deb is not a valid Debian package: data.tar.xz"),
        "{}",
        run.stderr
    );

    let run = sb.bk(&work, &["deb", "info", "missing.deb"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "error: could not read missing.deb\n  caused by: No such file or directory"
        ),
        "{}",
        run.stderr
    );
}

/// A .deb whose data.tar holds `./../evil` (made with Python's tarfile and a
/// hand-written ar header, as an attacker would) is refused by `deb info`.
#[test]
fn deb_info_refuses_unsafe_paths() {
    let sb = Sandbox::new();
    let work = sb.path("w");
    std::fs::create_dir_all(&work).expect("mkdir");
    crate::common::craft_deb(
        &sb,
        &work,
        "evil.deb",
        "Package: evil\nVersion: 1\nArchitecture: all\n",
        &[("./../evil", "owned\n")],
    );
    // dpkg-deb itself reads the container (the test input is well-formed apart from the path).
    sb.run(&work, "dpkg-deb", &["--field", "evil.deb", "Package"])
        .ok();
    let run = sb.bk(&work, &["deb", "info", "evil.deb"]);
    assert_eq!((run.code, run.stderr.as_str()), (1, "error: evil.deb is not a valid Debian package: data.tar.gz: unsafe path \"./../evil\" in the archive\n"));
}
