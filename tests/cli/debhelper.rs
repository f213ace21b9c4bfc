//! What debhelper does, done by `git buildkit package` (issue 12), checked
//! with the real tools: the `Depends` of a C program equals what
//! dpkg-shlibdeps computes for the same file, the binary is stripped with
//! its debug information in a `-dbgsym` .ddeb, a first tag is
//! lintian-clean, a foreign architecture is resolved against that
//! architecture's own symbols files, and a library that maps to no package
//! is an error naming the file and the library.

use std::path::Path;

use pretty_assertions::assert_eq;

use crate::common::{assert_lintian_clean, vm_slot, write_files, Sandbox};

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
        "strip = false\ndepends = [\"${shlibs}\", \"adduser\"]\n\
         allow-build-path = [\"/usr/bin/zhello\"]\n",
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
allow-build-path = ["/usr/bin/private"]
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

const YHELLO_C: &str = r#"#include <stdio.h>
#include <yaml.h>

int main(void) {
    printf("libyaml %s\n", yaml_get_version_string());
    return 0;
}
"#;

/// A tagged, published project whose one package is built by `build`
/// (which `files` support); its `[vm]` table is `vm`.
fn published(
    sb: &Sandbox,
    name: &str,
    build: &str,
    files: &[(&str, &str, bool)],
    env: &[(&str, &str)],
) -> std::path::PathBuf {
    let apt = sb.path("apt");
    let config = format!(
        r#"[[package]]
name = "{name}"
description = "prints a library's version\nA small C program for git-buildkit's tests."
maintainer = "Test Author <author@example.com>"
architecture = "amd64"
sandbox = "none"
build = "{build}"
assets = [{{ src = "{name}", dest = "/usr/bin/" }}]

[repo]
path = "{}"
suite = "stable"

[hooks]
on-tag = ["package", "publish"]

[vm]
smoke = ["{name}"]
timeout = "2m"
"#,
        apt.display()
    );
    let mut all: Vec<(&str, &str, bool)> = vec![
        (".buildkit.toml", &config, false),
        ("LICENSE", LICENSE, false),
    ];
    all.extend_from_slice(files);
    let repo = sb.repo(name, &all);
    sb.tag(&repo, "2026-01-02T10:00:00Z", "v1.0.0");
    sb.generate_key(&repo, "VM Test", "vm@example.com");
    let run = sb.bk_env(&repo, &["-q", "pipeline", "v1.0.0"], env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo
}

#[test]
fn in_the_vm_the_programs_library_comes_from_debian_with_apt() {
    let sb = Sandbox::new();
    let repo = published(
        &sb,
        "yhello",
        "cc -O2 -o yhello y.c -lyaml",
        &[("y.c", YHELLO_C, false)],
        &[],
    );
    let _vm = vm_slot();
    let run = sb.bk(&repo, &["vm-test", "v1.0.0", "--json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // libyaml-0-2 is not in the image: the guest installed it from Debian.
    assert!(
        run.stderr.contains("libyaml-0-2") && run.stderr.contains("not in the image"),
        "{}",
        run.stderr
    );
}

/// A dpkg database like the host's, plus `libmine1`, which owns
/// `lib` (a library built here) and is published nowhere: what a host
/// that installed a library from elsewhere looks like to dpkg-shlibdeps.
fn admindir_with_libmine(sb: &Sandbox, lib: &Path) -> std::path::PathBuf {
    let admin = sb.path("dpkg");
    let info = admin.join("info");
    std::fs::create_dir_all(&info).expect("mkdir");
    for entry in std::fs::read_dir("/var/lib/dpkg/info").expect("dpkg info") {
        let entry = entry.expect("entry");
        std::os::unix::fs::symlink(entry.path(), info.join(entry.file_name())).expect("symlink");
    }
    let mut status = std::fs::read_to_string("/var/lib/dpkg/status").expect("status");
    status.push_str(
        "\nPackage: libmine1\nStatus: install ok installed\nPriority: optional\n\
         Section: libs\nMaintainer: Test Author <author@example.com>\n\
         Architecture: amd64\nVersion: 1.0-1\nDescription: a library\n",
    );
    std::fs::write(admin.join("status"), status).expect("status");
    std::fs::write(
        info.join("libmine1:amd64.list"),
        format!(
            "{}\n{}\n",
            lib.parent().expect("dir").display(),
            lib.display()
        ),
    )
    .expect("list");
    std::fs::write(
        info.join("libmine1:amd64.shlibs"),
        "libmine 1 libmine1 (>= 1.0)\n",
    )
    .expect("shlibs");
    admin
}

#[test]
fn a_library_no_source_of_the_guest_has_fails_before_booting_naming_it() {
    let sb = Sandbox::new();
    let libdir = sb.path("opt/mine/lib");
    std::fs::create_dir_all(&libdir).expect("mkdir");
    let src = sb.path("mine.c");
    std::fs::write(&src, "int mine(void) { return 0; }\n").expect("mine.c");
    let lib = libdir.join("libmine.so.1");
    sb.run(
        &libdir,
        "cc",
        &[
            "-shared",
            "-fPIC",
            "-Wl,-soname,libmine.so.1",
            "-o",
            lib.to_str().expect("utf-8"),
            src.to_str().expect("utf-8"),
        ],
    )
    .ok();
    let admin = admindir_with_libmine(&sb, &lib);
    let env = [("DPKG_ADMINDIR", admin.to_str().expect("utf-8"))];
    let build = format!(
        "cc -o mineuser main.c {} -Wl,-rpath,{}",
        lib.display(),
        libdir.display()
    );
    let repo = published(
        &sb,
        "mineuser",
        &build,
        &[(
            "main.c",
            "int mine(void);\nint main(void) { return mine(); }\n",
            false,
        )],
        &env,
    );
    let deb = sb
        .path("apt")
        .join("pool/main/m/mineuser/mineuser_1.0.0-1_amd64.deb");
    let depends = sb
        .run(
            &repo,
            "dpkg-deb",
            &["-f", deb.to_str().expect("utf-8"), "Depends"],
        )
        .ok()
        .stdout;
    assert!(depends.contains("libmine1 (>= 1.0)"), "{depends}");

    let _vm = vm_slot();
    let run = sb.bk_env(&repo, &["vm-test", "v1.0.0"], &env);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("libmine1 (the package of libmine.so.1) is in none of the guest's sources"),
        "{}",
        run.stderr
    );
    // Found before a VM was booted for it.
    assert!(!run.stderr.contains("Booting"), "{}", run.stderr);
}
