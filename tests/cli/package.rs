//! `git buildkit package`: tagged releases, snapshots, reproducibility and
//! the build environment, checked with dpkg-deb, lintian and dpkg.

use std::path::Path;

use pretty_assertions::assert_eq;

use crate::common::{assert_lintian_clean, dir_names, tree_listing, write_files, Sandbox};

const HELLO_CONTROL: &str = "Package: hello
Version: 1.1.0-1
Architecture: all
Maintainer: Hello Maintainers <hello@example.com>
Installed-Size: 14
Depends: dash (>= 0.5)
Section: utils
Priority: optional
Homepage: https://example.com/hello
Description: prints a friendly greeting
 A tiny command-line program used to demonstrate git-buildkit: every version
 tag becomes a reproducible, lintian-clean Debian package.
";

#[test]
fn tagged_release_reads_back_with_dpkg_deb_and_is_lintian_clean() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    let dist = sb.path("dist");
    let run = sb
        .bk(
            &repo,
            &["package", "v1.1.0", "-o", dist.to_str().expect("utf8")],
        )
        .ok();
    let deb = dist.join("hello_1.1.0-1_all.deb");
    assert_eq!(run.stdout, format!("{}\n", deb.display()));
    assert_eq!(dir_names(&dist), ["hello_1.1.0-1_all.deb"]);
    let deb = deb.to_str().expect("utf8");

    // The control stanza, exactly.
    let control = sb.run(&repo, "dpkg-deb", &["--field", deb]).ok().stdout;
    assert_eq!(control, HELLO_CONTROL);

    // The data tarball, in dpkg's order, root-owned, stamped with the tag's commit time.
    let contents = sb.run(&repo, "dpkg-deb", &["--contents", deb]).ok().stdout;
    let listing: Vec<String> = contents
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {} {}", f[0], f[1], f[3..5].join(" "), f[5])
        })
        .collect();
    assert_eq!(
        listing,
        [
            "drwxr-xr-x root/root 2026-02-01 10:00 ./",
            "drwxr-xr-x root/root 2026-02-01 10:00 ./etc/",
            "-rw-r--r-- root/root 2026-02-01 10:00 ./etc/hello.conf",
            "drwxr-xr-x root/root 2026-02-01 10:00 ./usr/",
            "drwxr-xr-x root/root 2026-02-01 10:00 ./usr/bin/",
            "-rwxr-xr-x root/root 2026-02-01 10:00 ./usr/bin/hello",
            "drwxr-xr-x root/root 2026-02-01 10:00 ./usr/share/",
            "drwxr-xr-x root/root 2026-02-01 10:00 ./usr/share/doc/",
            "drwxr-xr-x root/root 2026-02-01 10:00 ./usr/share/doc/hello/",
            "-rw-r--r-- root/root 2026-02-01 10:00 ./usr/share/doc/hello/changelog.Debian.gz",
            "-rw-r--r-- root/root 2026-02-01 10:00 ./usr/share/doc/hello/copyright",
            "drwxr-xr-x root/root 2026-02-01 10:00 ./usr/share/man/",
            "drwxr-xr-x root/root 2026-02-01 10:00 ./usr/share/man/man1/",
            "-rw-r--r-- root/root 2026-02-01 10:00 ./usr/share/man/man1/hello.1.gz",
        ]
    );

    // The ar container: members, order, and their headers.
    let ar = sb.run(&repo, "ar", &["tv", deb]).ok().stdout;
    let members: Vec<String> = ar
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {}", f[0], f[1], f[f.len() - 1])
        })
        .collect();
    assert_eq!(
        members,
        [
            "rw-r--r-- 0/0 debian-binary",
            "rw-r--r-- 0/0 control.tar.xz",
            "rw-r--r-- 0/0 data.tar.xz"
        ]
    );

    // Control members: conffiles for /etc, md5sums that md5sum agrees with, postinst 0755.
    let ctrl = sb.path("ctrl");
    let data = sb.path("data");
    sb.run(
        &repo,
        "dpkg-deb",
        &["--control", deb, ctrl.to_str().expect("utf8")],
    )
    .ok();
    sb.run(
        &repo,
        "dpkg-deb",
        &["--extract", deb, data.to_str().expect("utf8")],
    )
    .ok();
    let ctrl_files: Vec<(String, String)> = tree_listing(&ctrl)
        .into_iter()
        .map(|(p, k, _)| (p, k))
        .collect();
    assert_eq!(
        ctrl_files,
        [
            ("conffiles", "file 644"),
            ("control", "file 644"),
            ("md5sums", "file 644"),
            ("postinst", "file 755")
        ]
        .map(|(p, k)| (p.to_owned(), k.to_owned()))
    );
    assert_eq!(
        std::fs::read_to_string(ctrl.join("conffiles")).expect("conffiles"),
        "/etc/hello.conf\n"
    );
    let md5sums = std::fs::read_to_string(ctrl.join("md5sums")).expect("md5sums");
    let paths: Vec<&str> = md5sums.lines().map(|l| &l[34..]).collect();
    let real = sb.run(&data, "md5sum", &paths).ok().stdout;
    assert_eq!(md5sums, real);

    // Installed-Size by dpkg-gencontrol's rule, recomputed from the extracted tree.
    let mut kib = 1; // the root directory
    for (_, kind, bytes) in tree_listing(&data) {
        kib += if kind.starts_with("dir") {
            1
        } else {
            (bytes.len() as u64).div_ceil(1024)
        };
    }
    assert_eq!(
        HELLO_CONTROL
            .lines()
            .find(|l| l.starts_with("Installed-Size")),
        Some(format!("Installed-Size: {kib}").as_str())
    );

    // The packaged program is the committed one, built with the tag's version.
    let version = sb
        .run(&data, "sh", &["usr/bin/hello", "--version"])
        .ok()
        .stdout;
    assert_eq!(version, "hello 1.1.0\n");
    assert_eq!(
        std::fs::read_to_string(data.join("etc/hello.conf")).expect("conf"),
        "# The word hello greets with.\ngreeting=\"Hi\"\n"
    );

    // changelog.Debian.gz: gzip -9n (no timestamp), one entry per tag.
    let gz =
        std::fs::read(data.join("usr/share/doc/hello/changelog.Debian.gz")).expect("changelog");
    assert_eq!(&gz[4..8], &[0, 0, 0, 0], "gzip mtime must be zero");
    let changelog = sb
        .run(&data, "zcat", &["usr/share/doc/hello/changelog.Debian.gz"])
        .ok()
        .stdout;
    assert_eq!(
        changelog,
        "hello (1.1.0-1) unstable; urgency=medium

  * Greet with Hi

 -- Hello Maintainers <hello@example.com>  Sun, 01 Feb 2026 10:00:00 +0000

hello (1.0.0-1) unstable; urgency=medium

  * Start hello

 -- Hello Maintainers <hello@example.com>  Thu, 01 Jan 2026 10:00:00 +0000
"
    );

    assert_lintian_clean(&sb, &repo, deb);
}

#[test]
fn same_tag_is_byte_identical_from_another_clone_later_with_another_umask() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    let first = sb.path("first");
    sb.bk(
        &repo,
        &["package", "v1.1.0", "-o", first.to_str().expect("utf8")],
    )
    .ok();
    let clone = sb.path("elsewhere/clone");
    std::fs::create_dir_all(clone.parent().expect("parent")).expect("mkdir");
    sb.run(
        &sb.path("elsewhere"),
        "git",
        &["clone", "-q", repo.to_str().expect("utf8"), "clone"],
    )
    .ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = sb.path("second");
    let bk = Sandbox::bk_path();
    let script = format!(
        "umask 077; exec '{}' -q package v1.1.0 -o '{}'",
        bk.display(),
        second.display()
    );
    sb.run(&clone, "sh", &["-c", &script]).ok();
    for compression in ["gzip", "zstd"] {
        let out = sb.path(compression);
        for dir in [&repo, &clone] {
            sb.bk(
                dir,
                &[
                    "-q",
                    "package",
                    "v1.1.0",
                    "-Z",
                    compression,
                    "-o",
                    out.join(dir.file_name().expect("name"))
                        .to_str()
                        .expect("utf8"),
                ],
            )
            .ok();
        }
        let a = std::fs::read(out.join("hello").join("hello_1.1.0-1_all.deb")).expect("a");
        let b = std::fs::read(out.join("clone").join("hello_1.1.0-1_all.deb")).expect("b");
        assert!(a == b, "{compression} packages differ between clones");
    }
    let a = std::fs::read(first.join("hello_1.1.0-1_all.deb")).expect("first");
    let b = std::fs::read(second.join("hello_1.1.0-1_all.deb")).expect("second");
    assert!(a == b, "the same tag gave different bytes");
}

#[test]
fn head_packages_the_commit_not_the_dirty_work_tree() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    write_files(&repo, &[("NEWS", "more\n", false)]);
    sb.commit(&repo, "2026-03-01T10:00:00Z", "Add news");
    let head = sb.git(&repo, &["rev-parse", "--short=7", "HEAD"]);
    // Dirty the work tree: a broken config and a changed program, uncommitted.
    write_files(
        &repo,
        &[
            (".buildkit.toml", "this is not toml", false),
            ("bin/hello", "#!/bin/sh\necho dirty\n", true),
        ],
    );
    let dist = sb.path("dist");
    let run = sb
        .bk(&repo, &["package", "-o", dist.to_str().expect("utf8")])
        .ok();
    let snapshot = format!("1.1.0+1.g{head}-1");
    let deb = dist.join(format!("hello_{snapshot}_all.deb"));
    assert_eq!(run.stdout, format!("{}\n", deb.display()));
    assert_eq!(
        run.stderr,
        format!(
            "warning: the work tree has uncommitted changes; they are ignored: packaging the committed HEAD
note: HEAD is not tagged: packaging snapshot 1.1.0+1.g{head}, 1 commit after v1.1.0 (`git buildkit repo add` puts snapshots in their own suite)
   Exporting 1.1.0+1.g{head} (1 after v1.1.0, {})
    Building in a bwrap sandbox without network: `mkdir -p build
sed \"s/@VERSION@/$BUILDKIT_VERSION/\" bin/hello > build/hello
chmod 0755 build/hello
gzip -9n -c man/hello.1 > build/hello.1.gz
`
   Packaging hello {snapshot} (all)
",
            &sb.git(&repo, &["rev-parse", "HEAD"])[..12]
        )
    );
    let data = sb.path("data");
    sb.run(
        &repo,
        "dpkg-deb",
        &[
            "-x",
            deb.to_str().expect("utf8"),
            data.to_str().expect("utf8"),
        ],
    )
    .ok();
    let version = sb
        .run(&data, "sh", &["usr/bin/hello", "--version"])
        .ok()
        .stdout;
    assert_eq!(version, format!("hello 1.1.0+1.g{head}\n"));
    // The snapshot sorts after the tag it follows and before the next release.
    sb.run(
        &repo,
        "dpkg",
        &["--compare-versions", "1.1.0-1", "lt", &snapshot],
    )
    .ok();
    sb.run(
        &repo,
        "dpkg",
        &["--compare-versions", &snapshot, "lt", "1.1.1~rc.1-1"],
    )
    .ok();
    let changelog = sb
        .run(&data, "zcat", &["usr/share/doc/hello/changelog.Debian.gz"])
        .ok()
        .stdout;
    assert!(
        changelog.starts_with(&format!(
            "hello ({snapshot}) unstable; urgency=medium\n\n  * Add news\n"
        )),
        "{changelog}"
    );
}

fn env_project(sb: &Sandbox) -> std::path::PathBuf {
    sb.repo(
        "envproj",
        &[
            (
                ".buildkit.toml",
                r#"[flow.prefix]
version-tag = "release-"

[[package]]
name = "envdump"
description = "records its build environment\nUsed by the tests."
maintainer = "T <t@example.com>"
revision = "0ubuntu1"
build = "mkdir -p out && printf 'SOURCE_DATE_EPOCH=%s\nBUILDKIT_VERSION=%s\nBUILDKIT_TAG=%s\n' \"$SOURCE_DATE_EPOCH\" \"$BUILDKIT_VERSION\" \"$BUILDKIT_TAG\" > out/env && echo built-on-stdout && echo built-on-stderr >&2"
copyright = "docs/COPYRIGHT"
assets = [
  { src = "out/env", dest = "/usr/share/envdump/env" },
  { src = "tree", dest = "/usr/share/envdump/tree/" },
]
"#,
                false,
            ),
            ("docs/COPYRIGHT", "Public domain.\n", false),
            (&format!("tree/{}/deep-file-name-that-is-long.txt", "long-directory-name".repeat(6)), "deep\n", false),
            ("tree/run.sh", "#!/bin/sh\n", true),
        ],
    )
}

#[test]
fn build_command_sees_the_tag_environment_and_long_paths_survive() {
    let sb = Sandbox::new();
    let repo = env_project(&sb);
    std::os::unix::fs::symlink("run.sh", repo.join("tree/link")).expect("symlink");
    sb.commit(&repo, "2026-04-01T12:00:00Z", "Add a link");
    sb.tag(&repo, "2026-04-01T12:00:00Z", "release-2.0.0-rc.1");
    let dist = sb.path("dist");
    let run = sb
        .bk(
            &repo,
            &[
                "package",
                "release-2.0.0-rc.1",
                "-o",
                dist.to_str().expect("utf8"),
            ],
        )
        .ok();
    // The build's stdout and stderr both stream to our stderr, never stdout.
    assert!(
        run.stderr.contains("built-on-stdout\nbuilt-on-stderr\n")
            || run.stderr.contains("built-on-stderr\nbuilt-on-stdout\n"),
        "{}",
        run.stderr
    );
    let deb = dist.join("envdump_2.0.0~rc.1-0ubuntu1_all.deb");
    assert_eq!(run.stdout, format!("{}\n", deb.display()));
    let data = sb.path("data");
    sb.run(
        &repo,
        "dpkg-deb",
        &[
            "-x",
            deb.to_str().expect("utf8"),
            data.to_str().expect("utf8"),
        ],
    )
    .ok();
    let env = std::fs::read_to_string(data.join("usr/share/envdump/env")).expect("env");
    let epoch = sb.git(&repo, &["log", "-1", "--format=%ct"]);
    assert_eq!(env, format!("SOURCE_DATE_EPOCH={epoch}\nBUILDKIT_VERSION=2.0.0-rc.1\nBUILDKIT_TAG=release-2.0.0-rc.1\n"));
    let long = format!(
        "usr/share/envdump/tree/{}/deep-file-name-that-is-long.txt",
        "long-directory-name".repeat(6)
    );
    assert!(long.len() > 100);
    assert_eq!(
        std::fs::read_to_string(data.join(&long)).expect("long"),
        "deep\n"
    );
    assert_eq!(
        std::fs::read_link(data.join("usr/share/envdump/tree/link"))
            .expect("link")
            .to_str(),
        Some("run.sh")
    );
    let contents = sb
        .run(&repo, "dpkg-deb", &["-c", deb.to_str().expect("utf8")])
        .ok()
        .stdout;
    let last = contents.lines().last().expect("entries");
    assert!(
        last.ends_with("./usr/share/envdump/tree/link -> run.sh"),
        "symlinks come last: {last}"
    );
    assert_eq!(std::fs::read_to_string(data.join("usr/share/doc/envdump/copyright")).expect("copyright"), "envdump was packaged by git-buildkit from release-2.0.0-rc.1.\nIts license (docs/COPYRIGHT) follows.\n\nPublic domain.\n");
}

#[test]
fn failing_build_reports_status_and_last_lines_and_writes_nothing() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    let config = std::fs::read_to_string(repo.join(".buildkit.toml")).expect("config");
    let start = config.find("build = \"\"\"").expect("build");
    let end = config[start..]
        .find("\"\"\"\n")
        .and_then(|i| {
            config[start + i + 4..]
                .find("\"\"\"\n")
                .map(|j| start + i + 4 + j + 4)
        })
        .expect("end");
    let broken = format!("{}build = \"for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22; do echo line$i; done; echo boom >&2; exit 7\"\n{}", &config[..start], &config[end..]);
    write_files(&repo, &[(".buildkit.toml", &broken, false)]);
    sb.commit(&repo, "2026-03-01T10:00:00Z", "Break the build");
    sb.tag(&repo, "2026-03-01T10:00:00Z", "v1.2.0");
    let dist = sb.path("dist");
    let run = sb.bk(
        &repo,
        &[
            "-q",
            "package",
            "v1.2.0",
            "-o",
            dist.to_str().expect("utf8"),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let command = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22; do echo line$i; done; echo boom >&2; exit 7";
    let tail: String = (4..=22).map(|i| format!("    line{i}\n")).collect();
    assert_eq!(
        run.stderr,
        format!("error: the build command `{command}` failed\n  caused by: `{command}` exited with status 7\n  last lines of output:\n{tail}    boom\n")
    );
    assert_eq!(
        dir_names(&dist),
        Vec::<String>::new(),
        "no package and no temporary file may be left"
    );
}

#[test]
fn compressions_are_read_by_dpkg_deb() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    for (choice, member) in [
        ("gzip", "data.tar.gz"),
        ("zstd", "data.tar.zst"),
        ("none", "data.tar"),
        ("xz", "data.tar.xz"),
    ] {
        let dist = sb.path(choice);
        sb.bk(
            &repo,
            &[
                "-q",
                "package",
                "v1.0.0",
                "-Z",
                choice,
                "-o",
                dist.to_str().expect("utf8"),
            ],
        )
        .ok();
        let deb = dist.join("hello_1.0.0-1_all.deb");
        let deb = deb.to_str().expect("utf8");
        let ar = sb.run(&repo, "ar", &["t", deb]).ok().stdout;
        let control_member = member.replace("data", "control");
        assert_eq!(ar, format!("debian-binary\n{control_member}\n{member}\n"));
        let contents = sb.run(&repo, "dpkg-deb", &["--contents", deb]).ok().stdout;
        // 14 entries, and v1.0.0 is hello's first release: its lintian
        // override adds 3 (usr/share/lintian, .../overrides, the file).
        assert_eq!(contents.lines().count(), 17, "{choice}: {contents}");
        assert!(Path::new(deb).is_file());
    }
}

#[test]
fn several_packages_share_one_build_and_land_together_or_not_at_all() {
    let sb = Sandbox::new();
    let config = |second_src: &str| {
        format!(
            r#"[[package]]
name = "pair-bin"
description = "the program\nPart of the pair."
maintainer = "T <t@example.com>"
architecture = "amd64"
build = "mkdir -p out && echo built > out/a && echo built > out/b && echo BUILD-RAN"
assets = [{{ src = "out/a", dest = "/usr/lib/pair/a" }}]

[[package]]
name = "pair-data"
description = "the data\nPart of the pair."
maintainer = "T <t@example.com>"
build = "mkdir -p out && echo built > out/a && echo built > out/b && echo BUILD-RAN"
depends = ["pair-bin (= 3.0.0-1)"]
assets = [{{ src = "{second_src}", dest = "/usr/share/pair/b" }}]
"#
        )
    };
    let repo = sb.repo(
        "pair",
        &[
            (".buildkit.toml", &config("out/b"), false),
            ("COPYING", "GPL\n", false),
        ],
    );
    sb.tag(&repo, "2026-01-01T10:00:00Z", "v3.0.0");
    let dist = sb.path("dist");
    let run = sb
        .bk(
            &repo,
            &[
                "package",
                "v3.0.0",
                "-o",
                dist.to_str().expect("utf8"),
                "--json",
            ],
        )
        .ok();
    assert_eq!(
        run.stderr.lines().filter(|l| *l == "BUILD-RAN").count(),
        1,
        "an identical build command runs once:\n{}",
        run.stderr
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let summary: Vec<(String, String, String, u64)> = json
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            let path = d["path"].as_str().expect("path");
            let bytes = std::fs::read(path).expect("deb");
            assert_eq!(d["size"].as_u64(), Some(bytes.len() as u64));
            let sha = sb.run(&repo, "sha256sum", &[path]).ok().stdout;
            assert_eq!(d["sha256"].as_str(), sha.split_whitespace().next());
            (
                d["name"].as_str().expect("name").to_owned(),
                d["version"].as_str().expect("version").to_owned(),
                d["architecture"].as_str().expect("arch").to_owned(),
                d["size"].as_u64().expect("size").min(1),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("pair-bin".into(), "3.0.0-1".into(), "amd64".into(), 1),
            ("pair-data".into(), "3.0.0-1".into(), "all".into(), 1)
        ]
    );
    assert_eq!(
        dir_names(&dist),
        ["pair-bin_3.0.0-1_amd64.deb", "pair-data_3.0.0-1_all.deb"]
    );

    // The second package's asset is missing: neither package may appear.
    write_files(&repo, &[(".buildkit.toml", &config("out/missing"), false)]);
    sb.commit(&repo, "2026-01-02T10:00:00Z", "Break the second package");
    sb.tag(&repo, "2026-01-02T10:00:00Z", "v3.0.1");
    let dist2 = sb.path("dist2");
    let run = sb.bk(
        &repo,
        &[
            "-q",
            "package",
            "v3.0.1",
            "-o",
            dist2.to_str().expect("utf8"),
        ],
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "error: package pair-data: asset \"out/missing\" does not exist in the built tree\n"
        )
    );
    assert_eq!(dir_names(&dist2), Vec::<String>::new());
}

#[test]
fn output_inside_the_work_tree_is_not_an_uncommitted_change() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    // `-o dist` in the tree, twice: our own output is no change of the user's.
    for _ in 0..2 {
        let run = sb.bk(&repo, &["package", "-o", "dist"]).ok();
        assert!(!run.stderr.contains("uncommitted"), "{}", run.stderr);
    }
    assert!(repo.join("dist").is_dir());
    // Any other untracked file still is.
    write_files(&repo, &[("notes.txt", "mine\n", false)]);
    let run = sb.bk(&repo, &["package", "-o", "dist"]).ok();
    assert!(
        run.stderr
            .contains("warning: the work tree has uncommitted changes; they are ignored"),
        "{}",
        run.stderr
    );
}
