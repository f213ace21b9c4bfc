//! What debhelper does, done by `git buildkit package` (issue 12), checked
//! with the real tools: the `Depends` of a C program equals what
//! dpkg-shlibdeps computes for the same file, the binary is stripped with
//! its debug information in a `-dbgsym` .ddeb, a first tag is
//! lintian-clean, a foreign architecture is resolved against that
//! architecture's own symbols files, and a library that maps to no package
//! is an error naming the file and the library.

use std::path::Path;

use pretty_assertions::assert_eq;

use crate::common::{assert_lintian_clean, write_files, Sandbox};

const HELLO_C: &str = r#"#include <stdio.h>
#include <zlib.h>
#include <openssl/ssl.h>

int main(void) {
    OPENSSL_init_ssl(0, NULL);
    printf("zlib %s, %s\n", zlibVersion(), OpenSSL_version(OPENSSL_VERSION));
    return 0;
}
"#;

const MAN: &str = ".TH ZHELLO 1\n.SH NAME\nzhello \\- prints library versions\n";

const LICENSE: &str = "Copyright 2026 Jane Doe <jane@example.com>\n\nPermission is granted to use this file for any purpose.\n";

fn config(extra: &str) -> String {
    format!(
        r#"[[package]]
name = "zhello"
description = "prints the zlib and OpenSSL versions\nA ten-line C program linked against zlib and OpenSSL."
maintainer = "Jane Doe <jane@example.com>"
architecture = "amd64"
section = "utils"
build = "cc -O2 -g -o zhello hello.c -lz -lssl -lcrypto && gzip -9n zhello.1"
assets = [
  {{ src = "zhello", dest = "/usr/bin/" }},
  {{ src = "zhello.1.gz", dest = "/usr/share/man/man1/" }},
]
{extra}"#
    )
}

/// A project with the C program, tagged v1.0.0 only (a first release).
fn project(sb: &Sandbox, extra: &str) -> std::path::PathBuf {
    let repo = sb.repo(
        "zhello",
        &[
            ("hello.c", HELLO_C, false),
            ("zhello.1", MAN, false),
            ("LICENSE", LICENSE, false),
            (".buildkit.toml", &config(extra), false),
        ],
    );
    sb.tag(&repo, "2026-01-01T10:00:00Z", "v1.0.0");
    repo
}

/// The value of `field` in the control file of `deb`.
fn field(sb: &Sandbox, dir: &Path, deb: &str, field: &str) -> String {
    sb.run(dir, "dpkg-deb", &["-f", deb, field])
        .ok()
        .stdout
        .trim()
        .to_owned()
}

/// What dpkg-shlibdeps says `Depends` is for `binary`, run in a debian/
/// layout made for it (it insists on one).
fn dpkg_shlibdeps(sb: &Sandbox, binary: &Path) -> String {
    let work = sb.path("shlibdeps");
    std::fs::create_dir_all(work.join("debian/zhello/usr/bin")).expect("mkdir");
    std::fs::write(
        work.join("debian/control"),
        "Source: zhello\n\nPackage: zhello\nArchitecture: any\n",
    )
    .expect("control");
    let copy = work.join("debian/zhello/usr/bin/zhello");
    std::fs::copy(binary, &copy).expect("copy");
    let out = sb
        .run(
            &work,
            "dpkg-shlibdeps",
            &["-O", "debian/zhello/usr/bin/zhello"],
        )
        .ok()
        .stdout;
    out.lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .unwrap_or_else(|| panic!("no shlibs:Depends in {out:?}"))
        .to_owned()
}

#[test]
fn a_c_program_gets_dpkg_shlibdeps_depends_is_stripped_and_lintian_clean_from_its_first_tag() {
    let sb = Sandbox::new();
    let repo = project(&sb, "");
    let run = sb.bk(&repo, &["package", "v1.0.0", "-o", "dist"]).ok();
    let deb = "dist/zhello_1.0.0-1_amd64.deb";
    let ddeb = "dist/zhello-dbgsym_1.0.0-1_amd64.ddeb";
    assert_eq!(run.stdout, format!("{deb}\n{ddeb}\n"), "{}", run.stderr);

    // Depends: what dpkg-shlibdeps computes for the same (stripped) file.
    let unpacked = sb.path("unpacked");
    sb.run(
        &repo,
        "dpkg-deb",
        &["-x", deb, unpacked.to_str().expect("utf-8")],
    )
    .ok();
    let binary = unpacked.join("usr/bin/zhello");
    let expected = dpkg_shlibdeps(&sb, &binary);
    assert!(
        expected.contains("zlib1g") && expected.contains("libssl3"),
        "{expected}"
    );
    assert_eq!(field(&sb, &repo, deb, "Depends"), expected);

    // Stripped as dh_strip strips: no symbol table, no debug sections, no
    // .comment; a debuglink to the debug file.
    let sections = sb
        .run(&repo, "readelf", &["-SW", binary.to_str().expect("utf-8")])
        .ok()
        .stdout;
    for gone in [".symtab", ".debug_info", ".comment"] {
        assert!(!sections.contains(gone), "{gone} left in:\n{sections}");
    }
    assert!(sections.contains(".gnu_debuglink"), "{sections}");

    // The debug symbols, keyed by build id, in the .ddeb.
    let notes = sb
        .run(&repo, "readelf", &["-n", binary.to_str().expect("utf-8")])
        .ok()
        .stdout;
    let build_id = notes
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .expect("a build id")
        .to_owned();
    assert_eq!(field(&sb, &repo, ddeb, "Build-Ids"), build_id);
    assert_eq!(field(&sb, &repo, ddeb, "Package-Type"), "ddeb");
    assert_eq!(field(&sb, &repo, ddeb, "Depends"), "zhello (= 1.0.0-1)");
    let listing = sb.run(&repo, "dpkg-deb", &["-c", ddeb]).ok().stdout;
    let debug_file = format!(
        "./usr/lib/debug/.build-id/{}/{}.debug",
        &build_id[..2],
        &build_id[2..]
    );
    assert!(listing.contains(&debug_file), "{listing}");

    // A first release: lintian finds nothing to warn about.
    assert_lintian_clean(&sb, &repo, deb);

    // The same tag again: the same bytes, both packages.
    let again = sb.bk(&repo, &["package", "v1.0.0", "-o", "again"]).ok();
    assert_eq!(
        again.stdout,
        "again/zhello_1.0.0-1_amd64.deb\nagain/zhello-dbgsym_1.0.0-1_amd64.ddeb\n"
    );
    for (a, b) in [
        (deb, "again/zhello_1.0.0-1_amd64.deb"),
        (ddeb, "again/zhello-dbgsym_1.0.0-1_amd64.ddeb"),
    ] {
        assert!(
            std::fs::read(repo.join(a)).expect("first")
                == std::fs::read(repo.join(b)).expect("second"),
            "{a} differs between two builds of the same tag"
        );
    }
}

#[test]
fn strip_false_and_dbgsym_false_turn_each_off_and_extra_depends_stay() {
    let sb = Sandbox::new();
    let repo = project(
        &sb,
        "strip = false\ndepends = [\"${shlibs}\", \"adduser\"]\n",
    );
    let run = sb.bk(&repo, &["package", "v1.0.0", "-o", "dist"]).ok();
    assert_eq!(run.stdout, "dist/zhello_1.0.0-1_amd64.deb\n");
    let deb = "dist/zhello_1.0.0-1_amd64.deb";
    let depends = field(&sb, &repo, deb, "Depends");
    assert!(depends.starts_with("libc6 (>= "), "{depends}");
    assert!(depends.ends_with(", adduser"), "{depends}");
    let unpacked = sb.path("unpacked");
    sb.run(
        &repo,
        "dpkg-deb",
        &["-x", deb, unpacked.to_str().expect("utf-8")],
    )
    .ok();
    let sections = sb
        .run(
            &repo,
            "readelf",
            &[
                "-SW",
                unpacked.join("usr/bin/zhello").to_str().expect("utf-8"),
            ],
        )
        .ok()
        .stdout;
    assert!(
        sections.contains(".debug_info"),
        "strip = false stripped it"
    );

    write_files(
        &repo,
        &[(".buildkit.toml", &config("dbgsym = false\n"), false)],
    );
    sb.commit(&repo, "2026-01-02T10:00:00Z", "no dbgsym");
    sb.tag(&repo, "2026-01-02T10:00:00Z", "v1.0.1");
    let run = sb.bk(&repo, &["package", "v1.0.1", "-o", "dist2"]).ok();
    assert_eq!(run.stdout, "dist2/zhello_1.0.1-1_amd64.deb\n");
    // No .ddeb beside it.
    let ddebs = std::fs::read_dir(repo.join("dist2"))
        .expect("dist2")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "ddeb"))
        })
        .count();
    assert_eq!(ddebs, 0);
}

#[test]
fn a_library_that_maps_to_no_package_is_an_error_naming_file_and_library() {
    let sb = Sandbox::new();
    // A private library next to the program, found through its RUNPATH,
    // owned by no package.
    let repo = sb.repo(
        "private",
        &[
            ("mine.c", "int mine(void) { return 42; }\n", false),
            (
                "main.c",
                "int mine(void);\nint main(void) { return mine() - 42; }\n",
                false,
            ),
            ("LICENSE", LICENSE, false),
            (
                ".buildkit.toml",
                r#"[[package]]
name = "private"
description = "uses a private library\nIts library is packaged nowhere."
maintainer = "Jane Doe <jane@example.com>"
architecture = "amd64"
build = "mkdir -p lib && cc -shared -fPIC -Wl,-soname,libmine.so.1 -o lib/libmine.so.1 mine.c && cc -o private main.c -Llib -l:libmine.so.1 -Wl,-rpath,$PWD/lib"
assets = [{ src = "private", dest = "/usr/bin/" }]
"#,
                false,
            ),
        ],
    );
    sb.tag(&repo, "2026-01-01T10:00:00Z", "v1.0.0");
    let run = sb.bk(&repo, &["package", "v1.0.0", "-o", "dist"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("/usr/bin/private") && run.stderr.contains("libmine.so.1"),
        "{}",
        run.stderr
    );
    assert!(
        !repo.join("dist").exists(),
        "nothing is written on an error"
    );

    let run = sb
        .bk(
            &repo,
            &["package", "v1.0.0", "-o", "dist", "--allow-unresolved"],
        )
        .ok();
    assert!(run.stderr.contains("libmine.so.1"), "{}", run.stderr);
    let depends = field(&sb, &repo, "dist/private_1.0.0-1_amd64.deb", "Depends");
    assert!(depends.starts_with("libc6"), "{depends}");
    assert!(!depends.contains("mine"), "{depends}");
}

/// An x86-64 shared library relabelled aarch64 (e_machine 183): its
/// DT_NEEDED and symbol versions are those of the real file, so its
/// dependencies can only come from arm64's own symbols files, fetched from
/// the Debian mirror through the apt cache.
#[test]
fn a_foreign_architecture_is_resolved_against_that_architectures_symbols() {
    let sb = Sandbox::new();
    let build = "cc -O2 -shared -fPIC -Wl,-soname,libcopy.so.1 -o libcopy.so.1 copy.c";
    let copy_c = "#include <string.h>\nvoid copy(char *d, const char *s, unsigned long n) { memcpy(d, s, n); }\n";
    let toml = |arch: &str, relabel: &str| {
        format!(
            r#"[[package]]
name = "libcopy1"
description = "copies bytes\nA library that calls memcpy."
maintainer = "Jane Doe <jane@example.com>"
architecture = "{arch}"
strip = false
build = "{build}{relabel}"
assets = [{{ src = "libcopy.so.1", dest = "/usr/lib/" }}]
"#
        )
    };
    let relabel =
        " && printf '\\\\267\\\\000' | dd of=libcopy.so.1 bs=1 seek=18 conv=notrunc status=none";
    let repo = sb.repo(
        "libcopy",
        &[
            ("copy.c", copy_c, false),
            ("LICENSE", LICENSE, false),
            (".buildkit.toml", &toml("amd64", ""), false),
        ],
    );
    sb.tag(&repo, "2026-01-01T10:00:00Z", "v1.0.0");
    sb.bk(&repo, &["package", "v1.0.0", "-o", "amd64"]).ok();
    // On amd64, memcpy@GLIBC_2.14 makes it libc6 (>= 2.14).
    assert_eq!(
        field(&sb, &repo, "amd64/libcopy1_1.0.0-1_amd64.deb", "Depends"),
        "libc6 (>= 2.14)"
    );

    write_files(&repo, &[(".buildkit.toml", &toml("arm64", relabel), false)]);
    sb.commit(&repo, "2026-01-02T10:00:00Z", "arm64");
    sb.tag(&repo, "2026-01-02T10:00:00Z", "v1.0.1");
    let run = sb.bk(&repo, &["package", "v1.0.1", "-o", "arm64"]).ok();
    let deb = "arm64/libcopy1_1.0.1-1_arm64.deb";
    assert_eq!(run.stdout, format!("{deb}\n"), "{}", run.stderr);
    // arm64's glibc starts at GLIBC_2.17 and has no memcpy@GLIBC_2.14: the
    // smallest version of its libc.so.6 symbols, as dpkg-shlibdeps on arm64
    // would say.
    assert_eq!(field(&sb, &repo, deb, "Depends"), "libc6 (>= 2.17)");
    assert_eq!(field(&sb, &repo, deb, "Architecture"), "arm64");
}
