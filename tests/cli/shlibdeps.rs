//! Dependencies from binaries, side by side with dpkg-shlibdeps (issue 12,
//! item 2): real programs (C with zlib, C with libssl, Rust, a library of
//! our own and a program using it) are built, laid out as debhelper lays
//! out packages (`debian/<pkg>/…`, `debian/<pkg>/DEBIAN/shlibs`), and the
//! `Depends` our `resolve` computes must equal, entry for entry, what
//! `dpkg-shlibdeps -O` prints for the same file.

use std::fs;
use std::path::Path;

use git_buildkit::debhelper::elf::Elf;
use git_buildkit::debhelper::shlibs::{
    makeshlibs, resolve, Binary, BuildLibrary, ForeignIndex, ForeignPackage, HostDpkg, Resolution,
};

use crate::common::Sandbox;

const MULTIARCH_LIB: &str = "/usr/lib/x86_64-linux-gnu";

const ZHELLO: &str = r#"#include <stdio.h>
#include <zlib.h>
int main(void) {
    unsigned char out[64]; uLongf len = sizeof out;
    compress2(out, &len, (const unsigned char *)"hello", 5, 9);
    printf("%s %lu\n", zlibVersion(), (unsigned long)len);
    return 0;
}
"#;

const SSLHELLO: &str = r#"#include <stdio.h>
#include <openssl/ssl.h>
#include <openssl/evp.h>
int main(void) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    unsigned char md[32]; unsigned int n = 0;
    EVP_Digest("x", 1, md, &n, EVP_sha256(), NULL);
    printf("%p %u\n", (void *)ctx, n);
    SSL_CTX_free(ctx);
    return 0;
}
"#;

const MINE: &str = r#"#include <stdio.h>
int mine_answer(void) { char buf[8]; return snprintf(buf, sizeof buf, "%d", 42) * 21; }
"#;

const USEMINE: &str = r#"#include <stdio.h>
int mine_answer(void);
int main(void) { printf("%d\n", mine_answer()); return 0; }
"#;

const CXXHELLO: &str = r#"#include <iostream>
#include <string>
#include <vector>
int main(int argc, char **argv) {
    std::vector<std::string> args(argv, argv + argc);
    std::cout << args.size() << " " << args[0] << std::endl;
    return 0;
}
"#;

const RHELLO: &str = "fn main() { println!(\"{}\", std::env::args().count()); }\n";

const CONTROL: &str = "\
Source: demo
Maintainer: Test Author <author@example.com>

Package: zhello
Architecture: any

Package: sslhello
Architecture: any

Package: rhello
Architecture: any

Package: libmine1
Architecture: any

Package: cxxhello
Architecture: any

Package: mineuser
Architecture: any
";

/// Which programs a test needs: C++ and Rust take the longest to build.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Programs {
    /// The C programs and our library.
    C,
    /// Also the C++ and the Rust program.
    All,
}

/// The build tree: each program compiled into `debian/<pkg>/<path>`.
struct Tree {
    sb: Sandbox,
}

impl Tree {
    fn root(&self) -> std::path::PathBuf {
        self.sb.path("src")
    }

    /// Compiles and installs the five binaries, and gives libmine1 the
    /// shlibs and triggers our `makeshlibs` writes.
    fn build(programs: Programs) -> Tree {
        let sb = Sandbox::new();
        let root = sb.path("src");
        fs::create_dir_all(root.join("debian")).expect("mkdir");
        fs::write(root.join("debian/control"), CONTROL).expect("control");
        for (name, text) in [
            ("zhello.c", ZHELLO),
            ("sslhello.c", SSLHELLO),
            ("mine.c", MINE),
            ("usemine.c", USEMINE),
            ("rhello.rs", RHELLO),
            ("cxxhello.cc", CXXHELLO),
        ] {
            fs::write(root.join(name), text).expect("source");
        }
        for pkg in [
            "zhello", "sslhello", "rhello", "libmine1", "mineuser", "cxxhello",
        ] {
            fs::create_dir_all(root.join(format!("debian/{pkg}/DEBIAN"))).expect("mkdir");
        }
        let lib = format!("debian/libmine1{MULTIARCH_LIB}");
        fs::create_dir_all(root.join(&lib)).expect("mkdir");
        for pkg in ["zhello", "sslhello", "rhello", "mineuser", "cxxhello"] {
            fs::create_dir_all(root.join(format!("debian/{pkg}/usr/bin"))).expect("mkdir");
        }
        let cc = |args: &[&str]| sb.run(&root, "cc", args).ok();
        cc(&[
            "-O2",
            "-o",
            "debian/zhello/usr/bin/zhello",
            "zhello.c",
            "-lz",
        ]);
        cc(&[
            "-O2",
            "-o",
            "debian/sslhello/usr/bin/sslhello",
            "sslhello.c",
            "-lssl",
            "-lcrypto",
        ]);
        cc(&[
            "-O2",
            "-shared",
            "-fPIC",
            "-Wl,-soname,libmine.so.1",
            "-o",
            &format!("{lib}/libmine.so.1"),
            "mine.c",
        ]);
        cc(&[
            "-O2",
            "-o",
            "debian/mineuser/usr/bin/usemine",
            "usemine.c",
            &format!("-L{lib}"),
            "-l:libmine.so.1",
        ]);
        if programs == Programs::All {
            sb.run(
                &root,
                "c++",
                &[
                    "-O2",
                    "-o",
                    "debian/cxxhello/usr/bin/cxxhello",
                    "cxxhello.cc",
                ],
            )
            .ok();
            // rustc as the test runner finds it: rustup's choice of toolchain
            // lives in the environment and the HOME the sandbox replaces.
            let rustc = std::process::Command::new("rustc")
                .current_dir(&root)
                .args(["-O", "-o", "debian/rhello/usr/bin/rhello", "rhello.rs"])
                .output()
                .expect("run rustc");
            assert!(
                rustc.status.success(),
                "rustc: {}",
                String::from_utf8_lossy(&rustc.stderr)
            );
        }
        let tree = Tree { sb };
        let libmine = tree.binary("libmine1", &format!("{MULTIARCH_LIB}/libmine.so.1"));
        let files = makeshlibs("libmine1", "1.0.0-1", &[libmine]).expect("a public library");
        for (name, bytes) in files {
            fs::write(root.join(format!("debian/libmine1/DEBIAN/{name}")), bytes).expect("write");
        }
        tree
    }

    /// The installed file `path` of `pkg`, parsed.
    fn binary(&self, pkg: &str, path: &str) -> Binary {
        let file = self.root().join(format!("debian/{pkg}{path}"));
        let bytes = fs::read(&file).expect("read the binary");
        Binary {
            path: path.to_owned(),
            elf: Elf::parse(&bytes).expect("valid ELF").expect("is ELF"),
        }
    }

    /// What `dpkg-shlibdeps -O` says for the file, as a list of entries.
    fn dpkg_shlibdeps(&self, pkg: &str, path: &str) -> Vec<String> {
        self.dpkg_shlibdeps_all(&[(pkg, path)])
    }

    /// What `dpkg-shlibdeps -O` says for several files at once.
    fn dpkg_shlibdeps_all(&self, files: &[(&str, &str)]) -> Vec<String> {
        let mut args = vec!["-O".to_owned()];
        args.extend(
            files
                .iter()
                .map(|(pkg, path)| format!("-edebian/{pkg}{path}")),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = self.sb.run(&self.root(), "dpkg-shlibdeps", &args).ok();
        // No line at all when there is no dependency.
        let Some(line) = run
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("shlibs:Depends="))
        else {
            return Vec::new();
        };
        line.split(", ").map(str::to_owned).collect()
    }
}

fn host() -> HostDpkg {
    HostDpkg::open(Path::new("/"), "amd64").expect("the host's dpkg database")
}

fn libmine_build() -> Vec<BuildLibrary> {
    vec![BuildLibrary {
        package: "libmine1".to_owned(),
        version: "1.0.0-1".to_owned(),
        path: format!("{MULTIARCH_LIB}/libmine.so.1"),
        soname: "libmine.so.1".to_owned(),
    }]
}

#[test]
fn depends_equal_dpkg_shlibdeps_for_c_rust_and_our_own_library() {
    let tree = Tree::build(Programs::All);
    let index = host();
    let cases = [
        ("zhello", "/usr/bin/zhello".to_owned()),
        ("sslhello", "/usr/bin/sslhello".to_owned()),
        ("rhello", "/usr/bin/rhello".to_owned()),
        ("libmine1", format!("{MULTIARCH_LIB}/libmine.so.1")),
        ("mineuser", "/usr/bin/usemine".to_owned()),
        ("cxxhello", "/usr/bin/cxxhello".to_owned()),
    ];
    for (pkg, path) in &cases {
        let binary = tree.binary(pkg, path);
        let ours = resolve(pkg, &[binary], &libmine_build(), &index).expect("resolves");
        let theirs = tree.dpkg_shlibdeps(pkg, path);
        assert_eq!(
            ours,
            Resolution {
                depends: theirs,
                unresolved: vec![],
            },
            "{pkg}"
        );
    }
    // Several files of one package: one merged field (the library left
    // out: in the same package it would give no dependency).
    let all: Vec<(&str, &str)> = cases
        .iter()
        .filter(|(p, _)| *p != "libmine1")
        .map(|(p, f)| (*p, f.as_str()))
        .collect();
    let binaries: Vec<Binary> = all.iter().map(|(p, f)| tree.binary(p, f)).collect();
    let ours = resolve("all", &binaries, &libmine_build(), &index).expect("resolves");
    assert_eq!(ours.depends, tree.dpkg_shlibdeps_all(&all));
    // The same-build library really is what the user program depends on.
    let user = tree.binary("mineuser", "/usr/bin/usemine");
    let ours = resolve("mineuser", &[user], &libmine_build(), &index).expect("resolves");
    assert!(
        ours.depends.contains(&"libmine1 (= 1.0.0-1)".to_owned()),
        "{ours:?}"
    );
}

#[test]
fn a_library_from_no_package_is_unresolved_naming_file_and_library() {
    let tree = Tree::build(Programs::C);
    let user = tree.binary("mineuser", "/usr/bin/usemine");
    let ours = resolve("mineuser", &[user], &[], &host()).expect("resolves");
    let named: Vec<(&str, &str)> = ours
        .unresolved
        .iter()
        .map(|u| (u.file.as_str(), u.library.as_str()))
        .collect();
    assert_eq!(named, [("/usr/bin/usemine", "libmine.so.1")]);
}

#[test]
fn a_foreign_binary_resolves_against_the_foreign_packages() {
    let tree = Tree::build(Programs::C);
    let mut bytes = fs::read(tree.root().join("debian/zhello/usr/bin/zhello")).expect("read");
    // Made an arm64 file: e_machine = EM_AARCH64 (183), little-endian.
    bytes[18..20].copy_from_slice(&183u16.to_le_bytes());
    let elf = Elf::parse(&bytes).expect("valid").expect("ELF");
    assert_eq!(elf.debian_arch(), Some("arm64"));
    let fixture = |pkg: &str, ext: &str| {
        fs::read_to_string(format!("/var/lib/dpkg/info/{pkg}:amd64.{ext}")).ok()
    };
    let index = ForeignIndex::new(
        "arm64",
        ["libc6", "zlib1g"]
            .iter()
            .map(|pkg| ForeignPackage {
                package: (*pkg).to_owned(),
                symbols: fixture(pkg, "symbols"),
                shlibs: fixture(pkg, "shlibs"),
            })
            .collect(),
    );
    let binary = Binary {
        path: "/usr/bin/zhello".to_owned(),
        elf,
    };
    let ours = resolve("zhello", &[binary], &[], &index).expect("resolves");
    // The symbols files are the host's, so the answer is the host's.
    assert_eq!(
        ours,
        Resolution {
            depends: tree.dpkg_shlibdeps("zhello", "/usr/bin/zhello"),
            unresolved: vec![],
        }
    );
    let empty = ForeignIndex::new("arm64", vec![]);
    let binary = tree.binary("zhello", "/usr/bin/zhello");
    let ours = resolve("zhello", &[binary], &[], &empty).expect("resolves");
    let libraries: Vec<&str> = ours.unresolved.iter().map(|u| u.library.as_str()).collect();
    assert_eq!(libraries, ["libz.so.1", "libc.so.6"]);
}

#[test]
fn a_library_package_with_our_shlibs_and_trigger_satisfies_lintian() {
    let tree = Tree::build(Programs::C);
    let root = tree.root();
    let pkg = root.join("debian/libmine1");
    fs::write(
        pkg.join("DEBIAN/control"),
        "Package: libmine1\nVersion: 1.0.0-1\nArchitecture: amd64\nMaintainer: Test Author <author@example.com>\n\
         Section: libs\nPriority: optional\nDepends: libc6 (>= 2.2.5)\nDescription: test library\n a library\n",
    )
    .expect("control");
    tree.sb
        .run(
            &root,
            "strip",
            &[
                "--strip-unneeded",
                &format!("debian/libmine1{MULTIARCH_LIB}/libmine.so.1"),
            ],
        )
        .ok();
    // Without our files lintian names the faults; with them, none of its
    // shlibs or ldconfig tags (the package's other faults are not ours).
    let tags = |deb: &str| -> Vec<String> {
        tree.sb
            .run(
                &root,
                "dpkg-deb",
                &["--root-owner-group", "-b", "debian/libmine1", deb],
            )
            .ok();
        let run = tree.sb.run(&root, "lintian", &["--no-cfg", deb]);
        assert!(
            run.stdout.contains("libmine1"),
            "lintian ran:\n{}{}",
            run.stdout,
            run.stderr
        );
        let mut tags: Vec<String> = run
            .stdout
            .lines()
            .filter_map(|l| l.split_whitespace().nth(2))
            .filter(|t| t.contains("shlib") || t.contains("ldconfig"))
            .map(str::to_owned)
            .collect();
        tags.sort();
        tags
    };
    let control = pkg.join("DEBIAN");
    let aside = root.join("aside");
    fs::create_dir_all(&aside).expect("mkdir");
    for name in ["shlibs", "triggers"] {
        fs::rename(control.join(name), aside.join(name)).expect("move aside");
    }
    assert_eq!(tags("without.deb"), ["lacks-ldconfig-trigger", "no-shlibs"]);
    for name in ["shlibs", "triggers"] {
        fs::rename(aside.join(name), control.join(name)).expect("move back");
    }
    assert_eq!(tags("with.deb"), Vec::<String>::new());
}

#[test]
fn a_static_program_gives_no_dependency_like_dpkg_shlibdeps() {
    let sb = Sandbox::new();
    let root = sb.path("src");
    fs::create_dir_all(root.join("debian/shello/DEBIAN")).expect("mkdir");
    fs::create_dir_all(root.join("debian/shello/usr/bin")).expect("mkdir");
    fs::write(
        root.join("debian/control"),
        "Source: demo\n\nPackage: shello\nArchitecture: any\n",
    )
    .expect("control");
    fs::write(root.join("s.c"), "int main(void) { return 0; }\n").expect("source");
    sb.run(
        &root,
        "cc",
        &["-static", "-o", "debian/shello/usr/bin/shello", "s.c"],
    )
    .ok();
    let bytes = fs::read(root.join("debian/shello/usr/bin/shello")).expect("read");
    let elf = Elf::parse(&bytes).expect("valid").expect("ELF");
    assert!(elf.is_static && elf.needed.is_empty() && elf.interpreter.is_none());
    let binary = Binary {
        path: "/usr/bin/shello".to_owned(),
        elf,
    };
    let ours = resolve("shello", &[binary], &[], &host()).expect("resolves");
    assert_eq!(ours, Resolution::default());
    let run = sb
        .run(
            &root,
            "dpkg-shlibdeps",
            &["-O", "-edebian/shello/usr/bin/shello"],
        )
        .ok();
    assert_eq!(run.stdout, "");
}
