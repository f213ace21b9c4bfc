//! Hostile `.deb` files (issue 9, items 1-3) and `deb build` mtimes (item
//! 21): control fields that would become unsafe paths, control fields that
//! forge what the repository computes, compression bombs, and a package
//! directory packed with the mtimes dpkg-deb would give it.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use crate::common::{craft_deb, tree_listing, write_files, Run, Sandbox};
use crate::repo::Fixture;

/// A key and an empty repository carrying amd64 (no Origin or Label), run
/// through [`Fixture`]'s `bk`.
struct Repo {
    fx: Fixture,
}

impl Repo {
    fn new() -> Self {
        let sb = Sandbox::new();
        let fx = Fixture {
            repo: sb.path("repo"),
            store: sb.path("keys"),
            sb,
        };
        fx.bk(&[
            "key",
            "generate",
            "--name",
            "Test",
            "--email",
            "t@example.com",
        ])
        .ok();
        fx.bk(&["repo", "init", fx.repo_arg(), "--arch", "amd64"])
            .ok();
        Repo { fx }
    }

    fn add(&self, deb: &Path) -> Run {
        self.fx.bk(&[
            "repo",
            "add",
            self.fx.repo_arg(),
            deb.to_str().expect("utf8"),
        ])
    }

    /// Every file of the repository with its bytes (the lock file aside).
    fn snapshot(&self) -> Vec<(String, String, Vec<u8>)> {
        tree_listing(&self.fx.repo)
            .into_iter()
            .filter(|(p, _, _)| !p.ends_with("lock"))
            .collect()
    }

    /// A hand-made .deb with this control text and one data file.
    fn crafted(&self, name: &str, control: &str) -> PathBuf {
        craft_deb(
            &self.fx.sb,
            &self.fx.sb.path("crafted"),
            name,
            control,
            &[("./usr/share/doc/x/README", "x\n")],
        )
    }
}

#[test]
fn repo_add_refuses_control_fields_that_would_be_unsafe_paths() {
    let repo = Repo::new();
    let base = "Maintainer: T <t@example.com>\nDescription: d\n";
    let cases = [
        (
            "escape.deb",
            "Package: escape\nSource: ../../../escaped\nVersion: 1.0\nArchitecture: amd64\n",
            "invalid Source field \"../../../escaped\": it must be a package name, optionally followed by \" (version)\"",
        ),
        (
            "unicode.deb",
            "Package: unicode\nSource: libé\nVersion: 1.0\nArchitecture: amd64\n",
            "invalid Source field \"libé\": it must be a package name, optionally followed by \" (version)\"",
        ),
        (
            "srcver.deb",
            "Package: srcver\nSource: srcver (../1)\nVersion: 1.0\nArchitecture: amd64\n",
            "invalid Source field \"srcver (../1)\": it must be a package name, optionally followed by \" (version)\"",
        ),
        (
            "arch.deb",
            "Package: arch\nVersion: 1.0\nArchitecture: ../amd64\n",
            "invalid Architecture field \"../amd64\": an architecture is one lowercase name such as amd64 or all",
        ),
        (
            "name.deb",
            "Package: ../name\nVersion: 1.0\nArchitecture: amd64\n",
            "invalid package name \"../name\": names use lowercase letters, digits and + - . and start with a letter or digit, at least two characters",
        ),
        (
            "version.deb",
            "Package: version\nVersion: 1.0/../../x\nArchitecture: amd64\n",
            "invalid Version field\n  caused by: invalid Debian version \"1.0/../../x\": invalid character '/' in the upstream version",
        ),
    ];
    let before = repo.snapshot();
    for (file, control, reason) in cases {
        let deb = repo.crafted(file, &format!("{control}{base}"));
        let run = repo.add(&deb);
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (
                2,
                format!(
                    "error: {} cannot be added\n  caused by: invalid control data\n  caused by: {reason}\n",
                    deb.display()
                )
                .as_str()
            ),
            "{file}"
        );
        assert_eq!(repo.snapshot(), before, "{file} changed the repository");
    }
    // `Source: ../../../escaped` resolved from pool/main/. is the sandbox itself.
    assert!(!repo.fx.sb.path("escaped").exists());

    // A well-formed Source with its version pools the package under the source name.
    let good = repo.crafted(
        "good.deb",
        &format!(
            "Package: good\nSource: good-src (1:0.9-2)\nVersion: 1.0\nArchitecture: amd64\n{base}"
        ),
    );
    repo.add(&good).ok();
    assert!(repo
        .fx
        .repo
        .join("pool/main/g/good-src/good_1.0_amd64.deb")
        .is_file());
}

#[test]
fn deb_build_refuses_control_fields_that_would_be_unsafe_paths() {
    let sb = Sandbox::new();
    let cases = [
        ("Source: ../../x\n", "invalid Source field \"../../x\": it must be a package name, optionally followed by \" (version)\""),
        ("Source: libé\n", "invalid Source field \"libé\": it must be a package name, optionally followed by \" (version)\""),
    ];
    for (index, (field, reason)) in cases.into_iter().enumerate() {
        let dir = sb.path(&format!("pkg{index}"));
        write_files(
            &dir,
            &[
                (
                    "DEBIAN/control",
                    &format!("Package: tool\n{field}Version: 1.0\nArchitecture: all\nMaintainer: T <t@example.com>\nDescription: d\n"),
                    false,
                ),
                ("usr/share/tool/x", "x\n", false),
            ],
        );
        let out = sb.path(&format!("out{index}"));
        let run = sb.bk(
            &sb.path(""),
            &[
                "deb",
                "build",
                dir.to_str().expect("utf8"),
                "-o",
                out.to_str().expect("utf8"),
            ],
        );
        assert_eq!(
            (run.code, run.stderr),
            (
                2,
                format!("error: invalid control data\n  caused by: {reason}\n")
            ),
            "{field}"
        );
        assert!(!out.exists(), "{field}: output written");
    }
}

fn digest(sb: &Sandbox, tool: &str, file: &Path) -> String {
    let run = sb
        .run(&sb.path(""), tool, &[file.to_str().expect("utf8")])
        .ok();
    run.stdout
        .split_whitespace()
        .next()
        .expect("digest")
        .to_owned()
}

#[test]
fn packages_stanza_fields_come_from_the_repository_not_the_control_file() {
    let repo = Repo::new();
    let deb = repo.crafted(
        "forged.deb",
        "Package: forged\nVersion: 1.0\nArchitecture: amd64\nMaintainer: T <t@example.com>\nFilename: ../../../etc/passwd\nSize: 1\nMD5sum: 00000000000000000000000000000000\nSHA1: 1111111111111111111111111111111111111111\nSHA256: 2222222222222222222222222222222222222222222222222222222222222222\nSHA512: 33\nDescription-md5: 44444444444444444444444444444444\nDescription: forged package\n long text\n",
    );
    repo.add(&deb).ok();
    let packages =
        std::fs::read_to_string(repo.fx.repo.join("dists/stable/main/binary-amd64/Packages"))
            .expect("Packages");
    let size = std::fs::metadata(&deb).expect("size").len();
    let want = format!(
        "Package: forged\nVersion: 1.0\nArchitecture: amd64\nMaintainer: T <t@example.com>\nFilename: pool/main/f/forged/forged_1.0_amd64.deb\nSize: {size}\nSHA256: {}\nDescription: forged package\n long text\n\n",
        digest(&repo.fx.sb, "sha256sum", &deb),
    );
    assert_eq!(packages, want);

    // A control file that names a field twice is refused before anything is written.
    let before = repo.snapshot();
    let dup = repo.crafted(
        "dup.deb",
        "Package: dup\nVersion: 1.0\nArchitecture: amd64\nSHA256: 22\nsha256: 33\nDescription: d\n",
    );
    let run = repo.add(&dup);
    assert_eq!(
        (run.code, run.stderr),
        (
            2,
            format!(
                "error: {} cannot be added\n  caused by: {} is not a valid Debian package: control file: duplicate control field \"sha256\"\n",
                dup.display(),
                dup.display()
            )
        )
    );
    assert_eq!(repo.snapshot(), before);
}

/// Writes a .deb whose control.tar or data.tar holds `size` zero bytes
/// (gzip -1: about 5 KiB per MiB): as a regular file `./bomb` in
/// control.tar (`kind` "control"), or as a GNU long-name record in data.tar
/// (`kind` "longname").
fn bomb_deb(sb: &Sandbox, name: &str, kind: &str, size: u64) -> PathBuf {
    let script = r#"
import gzip, io, sys, tarfile
name, kind, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
def header(path, length, kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(path); info.size = length; info.type = kind; info.mode = 0o644
    return info.tobuf(format=tarfile.USTAR_FORMAT)
def pad(out, length):
    if length % 512: out.write(b"\0" * (512 - length % 512))
def zeros(out, length):
    chunk = b"\0" * (1 << 20)
    while length > 0:
        out.write(chunk[:min(length, len(chunk))]); length -= len(chunk)
def tarball(entries, bomb_at=None):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1, mtime=0) as out:
        for index, (path, data) in enumerate(entries):
            if index == bomb_at:
                if kind == "control":
                    out.write(header("./bomb", size)); zeros(out, size); pad(out, size)
                else:
                    out.write(header("././@LongLink", size, tarfile.GNUTYPE_LONGNAME)); zeros(out, size); pad(out, size)
            out.write(header(path, len(data))); out.write(data); pad(out, len(data))
        out.write(b"\0" * 1024)
    return buf.getvalue()
control = b"Package: bomb\nVersion: 1\nArchitecture: amd64\nMaintainer: T <t@example.com>\nDescription: d\n"
control_tar = tarball([("./control", control)], 0 if kind == "control" else None)
data_tar = tarball([("./usr/share/bomb", b"x\n")], 0 if kind == "longname" else None)
out = b"!<arch>\n"
for member, data in [("debian-binary", b"2.0\n"), ("control.tar.gz", control_tar), ("data.tar.gz", data_tar)]:
    out += b"%-16s%-12d%-6d%-6d%-8o%-10d`\n" % (member.encode(), 0, 0, 0, 0o100644, len(data)) + data
    if len(data) % 2: out += b"\n"
open(name, "wb").write(out)
"#;
    let dir = sb.path("");
    sb.run(
        &dir,
        "python3",
        &["-c", script, name, kind, &size.to_string()],
    )
    .ok();
    dir.join(name)
}

/// Runs `git-buildkit deb info FILE` and returns its result and peak memory (KiB).
fn deb_info_with_peak_rss(sb: &Sandbox, deb: &Path) -> (Run, u64) {
    let script = r#"
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True)
sys.stdout.write("%d %d\n" % (p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.stdout.write(p.stderr.decode())
"#;
    let bin = Sandbox::bk_path();
    let run = sb
        .run(
            &sb.path(""),
            "python3",
            &[
                "-c",
                script,
                bin.to_str().expect("utf8"),
                "deb",
                "info",
                deb.to_str().expect("utf8"),
            ],
        )
        .ok();
    let (first, stderr) = run.stdout.split_once('\n').expect("line");
    let (code, rss) = first.split_once(' ').expect("two numbers");
    (
        Run {
            code: code.parse().expect("code"),
            stdout: String::new(),
            stderr: stderr.to_owned(),
        },
        rss.parse().expect("rss"),
    )
}

#[test]
fn compression_bombs_are_refused_without_being_loaded() {
    let sb = Sandbox::new();
    // 200 MiB of zeros in control.tar, in under 1 MiB of gzip.
    let control_bomb = bomb_deb(&sb, "control-bomb.deb", "control", 200 << 20);
    assert!(std::fs::metadata(&control_bomb).expect("size").len() < 1 << 20);
    let (run, _) = deb_info_with_peak_rss(&sb, &control_bomb);
    assert_eq!(
        (run.code, run.stderr),
        (
            1,
            format!(
                "error: {} is not a valid Debian package: control.tar.gz expands to more than 67108864 bytes; refusing it (a compression bomb?)\n",
                control_bomb.display()
            )
        )
    );
    // A 256 MiB "file name" in data.tar, which the tar crate would hold in memory.
    let name_bomb = bomb_deb(&sb, "name-bomb.deb", "longname", 256 << 20);
    let (run, peak_kib) = deb_info_with_peak_rss(&sb, &name_bomb);
    assert_eq!(
        (run.code, run.stderr),
        (
            1,
            format!(
                "error: {} is not a valid Debian package: data.tar.gz: a GNU long name record is 268435456 bytes, more than 65536\n",
                name_bomb.display()
            )
        )
    );
    assert!(peak_kib < 64 * 1024, "peak memory {peak_kib} KiB");
}

/// `tar tv --full-time` of one tarball of a .deb (`--fsys-tarfile` or `--ctrl-tarfile`).
fn listing(sb: &Sandbox, deb: &Path, which: &str) -> String {
    let script = format!("dpkg-deb {which} '{}' | tar tv --full-time", deb.display());
    sb.run(&sb.path(""), "sh", &["-c", &script]).ok().stdout
}

#[test]
fn deb_build_keeps_the_trees_mtimes_like_dpkg_deb() {
    let sb = Sandbox::new();
    let root = sb.path("pkg");
    write_files(
        &root,
        &[
            ("DEBIAN/control", "Package: stamps\nVersion: 1.0\nArchitecture: all\nMaintainer: T <t@example.com>\nDescription: d\n long\n", false),
            ("DEBIAN/postinst", "#!/bin/sh\n", true),
            ("usr/share/stamps/old", "old\n", false),
            ("usr/share/stamps/older", "older\n", false),
        ],
    );
    std::os::unix::fs::symlink("old", root.join("usr/share/stamps/link")).expect("symlink");
    // Distinct past times for files, the directories, DEBIAN and the root itself.
    let touch = |date: &str, paths: &[&str]| {
        let mut args = vec!["-h", "-d", date];
        let full: Vec<String> = paths
            .iter()
            .map(|p| root.join(p).display().to_string())
            .collect();
        args.extend(full.iter().map(String::as_str));
        sb.run(&sb.path(""), "touch", &args).ok();
    };
    touch(
        "2020-01-02 03:04:05",
        &["usr/share/stamps/old", "usr/share/stamps/link"],
    );
    touch(
        "2019-06-07 08:09:10",
        &["usr/share/stamps/older", "DEBIAN/control"],
    );
    touch("2021-02-03 04:05:06", &["DEBIAN/postinst"]);
    touch(
        "2018-01-01 00:00:00",
        &["usr/share/stamps", "usr/share", "usr"],
    );
    touch("2017-03-04 05:06:07", &["DEBIAN", ""]);

    let build = |out: &str, epoch: Option<&str>| -> (PathBuf, PathBuf) {
        let ours = sb.path(&format!("{out}-ours"));
        let theirs = sb.path(&format!("{out}-theirs"));
        std::fs::create_dir_all(&theirs).expect("mkdir");
        let env: Vec<(&str, &str)> = epoch
            .map(|e| ("SOURCE_DATE_EPOCH", e))
            .into_iter()
            .collect();
        sb.bk_env(
            &sb.path(""),
            &["deb", "build", "pkg", "-o", ours.to_str().expect("utf8")],
            &env,
        )
        .ok();
        let mut dpkg = std::process::Command::new("dpkg-deb");
        dpkg.env_remove("SOURCE_DATE_EPOCH")
            .envs(env.iter().copied())
            .args(["--root-owner-group", "--build", "pkg"])
            .arg(&theirs)
            .current_dir(sb.path(""));
        let out = dpkg.output().expect("dpkg-deb");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            ours.join("stamps_1.0_all.deb"),
            theirs.join("stamps_1.0_all.deb"),
        )
    };

    // Without SOURCE_DATE_EPOCH: the tree's own mtimes, in both tarballs.
    let (ours, theirs) = build("now", None);
    for which in ["--fsys-tarfile", "--ctrl-tarfile"] {
        assert_eq!(
            listing(&sb, &ours, which),
            listing(&sb, &theirs, which),
            "{which}"
        );
    }
    assert_eq!(
        listing(&sb, &ours, "--ctrl-tarfile"),
        "drwxr-xr-x root/root         0 2017-03-04 05:06:07 ./\n-rw-r--r-- root/root        98 2019-06-07 08:09:10 ./control\n-rwxr-xr-x root/root        10 2021-02-03 04:05:06 ./postinst\n"
    );
    // With a SOURCE_DATE_EPOCH later than some mtimes (2020-06-01): only
    // later ones are clamped, and the tarballs are dpkg-deb's, byte for byte.
    let (ours, theirs) = build("epoch", Some("1590969600"));
    for which in ["--fsys-tarfile", "--ctrl-tarfile"] {
        let tarball = |deb: &Path| {
            let out = std::process::Command::new("dpkg-deb")
                .arg(which)
                .arg(deb)
                .output()
                .expect("dpkg-deb");
            assert!(out.status.success());
            out.stdout
        };
        assert!(
            tarball(&ours) == tarball(&theirs),
            "{which} differs from dpkg-deb's"
        );
    }
}
