//! `git buildkit deb build|info` against `dpkg-deb` itself.

use std::os::unix::fs::PermissionsExt;

use pretty_assertions::assert_eq;

use crate::common::{tree_listing, write_files, Sandbox};

/// A package directory with the awkward parts: a long path, a symlink, an
/// empty directory, names that sort differently by bytes and depth-first,
/// a setgid directory, conffiles and a maintainer script.
fn pkgroot(sb: &Sandbox) -> std::path::PathBuf {
    let root = sb.path("pkgroot");
    let long = format!(
        "usr/share/doc/tool/{}/{}.txt",
        "nested-directory".repeat(5),
        "x".repeat(40)
    );
    write_files(
        &root,
        &[
            ("DEBIAN/control", "Package: tool\nVersion: 2:1.0~rc1-3\nArchitecture: all\nMaintainer: T <t@example.com>\nDescription: a tool\n long text\n .\n more\n", false),
            ("DEBIAN/postinst", "#!/bin/sh\nset -e\n", true),
            ("DEBIAN/conffiles", "/etc/tool.conf\n", false),
            ("etc/tool.conf", "a=1\n", false),
            ("usr/bin/tool", "#!/bin/sh\necho tool\n", true),
            ("usr-local/x", "x\n", false),
            ("usr/share/doc/tool/big", &"0123456789".repeat(500), false),
            (&long, "long\n", false),
        ],
    );
    std::fs::create_dir_all(root.join("var/lib/tool")).expect("empty dir");
    std::fs::set_permissions(
        root.join("var/lib/tool"),
        std::fs::Permissions::from_mode(0o2775),
    )
    .expect("chmod");
    std::fs::set_permissions(root.join("DEBIAN"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    std::os::unix::fs::symlink("tool", root.join("usr/bin/tool-alias")).expect("symlink");
    std::os::unix::fs::symlink("/etc/tool.conf", root.join("usr/share/doc/tool/conf"))
        .expect("symlink");
    root
}

#[test]
fn deb_build_matches_dpkg_deb_build() {
    let sb = Sandbox::new();
    pkgroot(&sb);
    let work = sb.path("");
    let epoch = [("SOURCE_DATE_EPOCH", "1700000000")];
    for (compression, dpkg_z) in [("xz", "-Zxz"), ("gzip", "-Zgzip"), ("zstd", "-Zzstd")] {
        let ours_dir = sb.path(&format!("ours-{compression}"));
        let theirs_dir = sb.path(&format!("theirs-{compression}"));
        std::fs::create_dir_all(&theirs_dir).expect("mkdir");
        let run = sb
            .bk_env(
                &work,
                &[
                    "deb",
                    "build",
                    "pkgroot",
                    "-Z",
                    compression,
                    "-o",
                    ours_dir.to_str().expect("utf8"),
                ],
                &epoch,
            )
            .ok();
        let ours = ours_dir.join("tool_1.0~rc1-3_all.deb");
        assert_eq!(run.stdout, format!("{}\n", ours.display()));
        let mut dpkg = std::process::Command::new("dpkg-deb");
        dpkg.env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["--root-owner-group", dpkg_z, "--build", "pkgroot"])
            .arg(&theirs_dir)
            .current_dir(&work);
        let out = dpkg.output().expect("dpkg-deb");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = theirs_dir.join("tool_1.0~rc1-3_all.deb");

        // Same listing: order, modes, owners, sizes, mtimes, link targets.
        let list = |deb: &std::path::Path| {
            sb.run(
                &work,
                "dpkg-deb",
                &["--contents", deb.to_str().expect("utf8")],
            )
            .ok()
            .stdout
        };
        assert_eq!(list(&ours), list(&theirs), "{compression}");
        // Same control stanza and control members.
        let field = |deb: &std::path::Path| {
            sb.run(&work, "dpkg-deb", &["--field", deb.to_str().expect("utf8")])
                .ok()
                .stdout
        };
        assert_eq!(field(&ours), field(&theirs));
        // Same extracted trees (raw: data plus DEBIAN), byte for byte and mode for mode.
        let raw = |deb: &std::path::Path, to: &str| {
            let dir = sb.path(to);
            sb.run(
                &work,
                "dpkg-deb",
                &[
                    "--raw-extract",
                    deb.to_str().expect("utf8"),
                    dir.to_str().expect("utf8"),
                ],
            )
            .ok();
            tree_listing(&dir)
        };
        assert_eq!(
            raw(&ours, &format!("x-ours-{compression}")),
            raw(&theirs, &format!("x-theirs-{compression}"))
        );
        // The uncompressed tarballs are byte-identical to dpkg-deb's (GNU tar
        // headers, checksum format, record padding).
        let tarball = |deb: &std::path::Path, which: &str| {
            let out = std::process::Command::new("dpkg-deb")
                .arg(which)
                .arg(deb)
                .output()
                .expect("dpkg-deb");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        for which in ["--fsys-tarfile", "--ctrl-tarfile"] {
            assert!(
                tarball(&ours, which) == tarball(&theirs, which),
                "{compression}: {which} differs from dpkg-deb's"
            );
        }
        // With xz (dpkg-deb's default, same preset and block size) the whole
        // .deb is byte-identical to dpkg-deb's.
        if compression == "xz" {
            let a = std::fs::read(&ours).expect("ours");
            let b = std::fs::read(&theirs).expect("theirs");
            assert!(a == b, "xz .deb differs from dpkg-deb's");
        }
        // Same ar member names.
        let members = |deb: &std::path::Path| {
            sb.run(&work, "ar", &["t", deb.to_str().expect("utf8")])
                .ok()
                .stdout
        };
        assert_eq!(members(&ours), members(&theirs));
    }
}

#[test]
fn deb_info_reads_what_dpkg_deb_builds() {
    let sb = Sandbox::new();
    let root = pkgroot(&sb);
    let out = sb.path("theirs");
    std::fs::create_dir_all(&out).expect("mkdir");
    let deb = out.join("tool.deb");
    sb.run(
        &sb.path(""),
        "dpkg-deb",
        &[
            "--root-owner-group",
            "--build",
            root.to_str().expect("utf8"),
            deb.to_str().expect("utf8"),
        ],
    )
    .ok();
    let run = sb.bk(&out, &["deb", "info", "--json", "tool.deb"]).ok();
    let info: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(
        info["control"],
        serde_json::json!({
            "Package": "tool",
            "Version": "2:1.0~rc1-3",
            "Architecture": "all",
            "Maintainer": "T <t@example.com>",
            "Description": "a tool\nlong text\n.\nmore",
        })
    );
    assert_eq!(
        info["members"],
        serde_json::json!(["debian-binary", "control.tar.xz", "data.tar.xz"])
    );
    let ours: Vec<String> = info["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_owned())
        .collect();
    let contents = sb
        .run(&out, "dpkg-deb", &["--contents", "tool.deb"])
        .ok()
        .stdout;
    let theirs: Vec<String> = contents
        .lines()
        .map(|l| l.split_whitespace().nth(5).expect("path").to_owned())
        .collect();
    assert_eq!(ours, theirs);

    // The text form prints the stanza and a dpkg-deb -c style listing.
    let text = sb.bk(&out, &["deb", "info", "tool.deb"]).ok().stdout;
    let stanza = text.split("\n\n").nth(1).expect("stanza");
    assert_eq!(stanza, "Package: tool\nVersion: 2:1.0~rc1-3\nArchitecture: all\nMaintainer: T <t@example.com>\nDescription: a tool\n long text\n .\n more");
    let listing: Vec<String> = text
        .split("\n\n")
        .nth(2)
        .expect("listing")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {}", f[0], f[1], f[5..].join(" "))
        })
        .collect();
    let dpkg_listing: Vec<String> = contents
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {}", f[0], f[1], f[5..].join(" "))
        })
        .collect();
    assert_eq!(listing, dpkg_listing);
}
