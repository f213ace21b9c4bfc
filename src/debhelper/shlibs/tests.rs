//! `resolve` against a fake dpkg database in a temporary root, with a real
//! library file (the host's zlib) copied in.

use std::fs;
use std::path::Path;

use super::*;
use crate::debhelper::elf::{DynSymbol, ElfKind};

/// The host's zlib, parsed, and its bytes.
fn host_zlib() -> (Vec<u8>, Elf) {
    let bytes = fs::read("/usr/lib/x86_64-linux-gnu/libz.so.1")
        .or_else(|_| fs::read("/lib/x86_64-linux-gnu/libz.so.1"))
        .expect("zlib1g is installed");
    let elf = Elf::parse(&bytes).expect("parses").expect("is ELF");
    (bytes, elf)
}

fn write(root: &Path, path: &str, bytes: &[u8]) {
    let path = root.join(path.trim_start_matches('/'));
    fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    fs::write(path, bytes).expect("write");
}

/// A root with zlib owned by zlib1g (symbols file), libshl owned by
/// libshl1 (shlibs file only), libnoinfo owned by a package without either,
/// and liborphan owned by nobody.
fn fake_root() -> (tempfile::TempDir, Elf) {
    let (zlib, elf) = host_zlib();
    let root = tempfile::tempdir().expect("tempdir");
    let r = root.path();
    write(r, "etc/ld.so.conf", b"/usr/lib/x86_64-linux-gnu\n");
    write(r, "usr/lib/x86_64-linux-gnu/libz.so.1.2.13", &zlib);
    std::os::unix::fs::symlink(
        "libz.so.1.2.13",
        r.join("usr/lib/x86_64-linux-gnu/libz.so.1"),
    )
    .expect("symlink");
    for name in ["libshl.so.1", "libnoinfo.so.2", "liborphan.so.3"] {
        write(r, &format!("usr/lib/x86_64-linux-gnu/{name}"), &zlib);
    }
    let info = "var/lib/dpkg/info";
    // Listed under /lib, found under /usr/lib: the /usr-merge alias and the symlink.
    write(
        r,
        &format!("{info}/zlib1g:amd64.list"),
        b"/lib/x86_64-linux-gnu/libz.so.1.2.13\n",
    );
    write(
        r,
        &format!("{info}/zlib1g:amd64.symbols"),
        b"libz.so.1 zlib1g #MINVER#\n| zlib-compat #MINVER#\n adler32@Base 1:1.1.4\n inflate@ZLIB_1.2.9 1:1.2.9\n compat@Base 1:1.0 1\n#MISSING: 1:2# old@Base 1:0.9\n",
    );
    write(
        r,
        &format!("{info}/libshl1.list"),
        b"/usr/lib/x86_64-linux-gnu/libshl.so.1\n",
    );
    write(
        r,
        &format!("{info}/libshl1.shlibs"),
        b"libshl 1 libshl1 (>= 1.5), libshl-common\n",
    );
    write(
        r,
        &format!("{info}/noinfo.list"),
        b"/usr/lib/x86_64-linux-gnu/libnoinfo.so.2\n",
    );
    (root, elf)
}

fn sym(name: &str, version: Option<&str>) -> DynSymbol {
    DynSymbol {
        name: name.to_owned(),
        version: version.map(str::to_owned),
        weak: false,
    }
}

/// A program at `path` of the same ABI as `like`, needing `needed`.
fn program(path: &str, like: &Elf, needed: &[&str], undefined: Vec<DynSymbol>) -> Binary {
    let mut elf = like.clone();
    elf.kind = ElfKind::Executable { pie: true };
    elf.soname = None;
    elf.needed = needed.iter().map(|s| (*s).to_owned()).collect();
    elf.undefined = undefined;
    elf.defined = Vec::new();
    Binary {
        path: path.to_owned(),
        elf,
    }
}

#[test]
fn symbols_raise_the_smallest_version_and_shlibs_give_theirs() {
    let (root, like) = fake_root();
    let index = HostDpkg::open(root.path(), "amd64").expect("opens");
    let bin = program(
        "/usr/bin/prog",
        &like,
        &["libz.so.1", "libshl.so.1"],
        vec![
            sym("inflate", Some("ZLIB_1.2.9")),
            sym("nowhere", None),
            sym("old", None),
        ],
    );
    let resolution = resolve("prog", &[bin], &[], &index).expect("resolves");
    assert_eq!(
        resolution,
        Resolution {
            depends: vec![
                "libshl-common".to_owned(),
                "libshl1 (>= 1.5)".to_owned(),
                "zlib1g (>= 1:1.2.9)".to_owned(),
            ],
            unresolved: vec![],
        }
    );
}

#[test]
fn the_alternative_template_gets_its_own_version() {
    let (root, like) = fake_root();
    let index = HostDpkg::open(root.path(), "amd64").expect("opens");
    let bin = program(
        "/usr/bin/prog",
        &like,
        &["libz.so.1"],
        vec![sym("compat", None)],
    );
    let resolution = resolve("prog", &[bin], &[], &index).expect("resolves");
    assert_eq!(
        resolution.depends,
        ["zlib-compat (>= 1:1.0)", "zlib1g (>= 1:0.9)"]
    );
}

#[test]
fn libraries_that_map_to_no_package_are_unresolved_by_file_and_name() {
    let (root, like) = fake_root();
    let index = HostDpkg::open(root.path(), "amd64").expect("opens");
    let bin = program(
        "/usr/bin/prog",
        &like,
        &[
            "libnoinfo.so.2",
            "liborphan.so.3",
            "libabsent.so.4",
            "../../../etc/passwd",
        ],
        vec![],
    );
    let resolution = resolve("prog", &[bin], &[], &index).expect("resolves");
    let got: Vec<(&str, &str)> = resolution
        .unresolved
        .iter()
        .map(|u| (u.file.as_str(), u.library.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("/usr/bin/prog", "libnoinfo.so.2"),
            ("/usr/bin/prog", "liborphan.so.3"),
            ("/usr/bin/prog", "libabsent.so.4"),
            ("/usr/bin/prog", "../../../etc/passwd"),
        ]
    );
    assert_eq!(
        resolution.unresolved[0].reason,
        "/usr/lib/x86_64-linux-gnu/libnoinfo.so.2 (from noinfo) has no symbols or shlibs information"
    );
    assert_eq!(
        resolution.unresolved[1].reason,
        "/usr/lib/x86_64-linux-gnu/liborphan.so.3 belongs to no package"
    );
    assert!(resolution.unresolved[2]
        .reason
        .starts_with("not found in /lib:/usr/lib:"));
    assert!(resolution.depends.is_empty());
}

#[test]
fn own_and_same_build_libraries_and_static_programs() {
    let (root, like) = fake_root();
    let index = HostDpkg::open(root.path(), "amd64").expect("opens");
    let mut own_lib = like.clone();
    own_lib.soname = Some("libown.so.1".to_owned());
    own_lib.needed = vec![];
    let own = Binary {
        path: "/usr/lib/x86_64-linux-gnu/libown.so.1".to_owned(),
        elf: own_lib,
    };
    let bin = program(
        "/usr/bin/prog",
        &like,
        &["libown.so.1", "libmine.so.1"],
        vec![],
    );
    let mut static_bin = program("/usr/bin/static", &like, &["libabsent.so.9"], vec![]);
    static_bin.elf.is_static = true;
    let build = [BuildLibrary {
        package: "libmine1".to_owned(),
        version: "1.0.0-1".to_owned(),
        path: "/usr/lib/x86_64-linux-gnu/libmine.so.1".to_owned(),
        soname: "libmine.so.1".to_owned(),
    }];
    let resolution = resolve("prog", &[bin, own, static_bin], &build, &index).expect("resolves");
    assert_eq!(
        resolution,
        Resolution {
            depends: vec!["libmine1 (= 1.0.0-1)".to_owned()],
            unresolved: vec![],
        }
    );
}

#[test]
fn rpath_origin_is_the_program_directory() {
    let (root, like) = fake_root();
    let (zlib, _) = host_zlib();
    write(root.path(), "opt/app/lib/libpriv.so.1", &zlib);
    fs::create_dir_all(root.path().join("opt/app/bin")).expect("mkdir");
    write(
        root.path(),
        "var/lib/dpkg/info/priv.list",
        b"/opt/app/lib/libpriv.so.1\n",
    );
    write(
        root.path(),
        "var/lib/dpkg/info/priv.shlibs",
        b"libpriv 1 priv (>= 2)\n",
    );
    let index = HostDpkg::open(root.path(), "amd64").expect("opens");
    let mut bin = program("/opt/app/bin/prog", &like, &["libpriv.so.1"], vec![]);
    bin.elf.runpath = vec!["$ORIGIN/../lib".to_owned()];
    let resolution = resolve("prog", &[bin], &[], &index).expect("resolves");
    assert_eq!(resolution.depends, ["priv (>= 2)"]);
}

#[test]
fn a_library_of_another_abi_is_not_found() {
    let (root, mut like) = fake_root();
    let index = HostDpkg::open(root.path(), "amd64").expect("opens");
    like.abi.class = crate::debhelper::elf::ElfClass::Elf32;
    let bin = program("/usr/bin/prog", &like, &["libz.so.1"], vec![]);
    let resolution = resolve("prog", &[bin], &[], &index).expect("resolves");
    assert_eq!(resolution.unresolved.len(), 1);
}

#[test]
fn providers_by_soname_names_packages_without_arch() {
    let (root, _) = fake_root();
    let index = HostDpkg::open(root.path(), "amd64").expect("opens");
    assert_eq!(
        index.providers_by_soname("libz.so.1").expect("reads"),
        ["zlib1g"]
    );
    assert_eq!(
        index.providers_by_soname("libshl.so.1").expect("reads"),
        ["libshl1"]
    );
    assert!(index
        .providers_by_soname("libnone.so.1")
        .expect("reads")
        .is_empty());
}

#[test]
fn a_hostile_symbols_file_is_an_error_naming_the_package() {
    let (root, like) = fake_root();
    write(
        root.path(),
        "var/lib/dpkg/info/zlib1g:amd64.symbols",
        b"libz.so.1 zlib1g #MINVER#\n",
    );
    write(
        root.path(),
        "etc/dpkg/symbols/zlib1g.symbols",
        b" a@Base 1\nlibz.so.1 x\n",
    );
    let index = HostDpkg::open(root.path(), "amd64").expect("opens");
    let bin = program("/usr/bin/prog", &like, &["libz.so.1"], vec![]);
    let err = resolve("prog", &[bin], &[], &index).expect_err("fails");
    assert_eq!(err.to_string(), "invalid symbols file of zlib1g:amd64");
}

#[test]
fn a_foreign_index_finds_libraries_by_soname() {
    let (_, like) = host_zlib();
    let index = ForeignIndex::new(
        "arm64",
        vec![
            ForeignPackage {
                package: "libc6".to_owned(),
                symbols: Some(
                    "libc.so.6 libc6 #MINVER#\n printf@GLIBC_2.17 2.17\n memcpy@GLIBC_2.38 2.38\n"
                        .to_owned(),
                ),
                shlibs: None,
            },
            ForeignPackage {
                package: "zlib1g".to_owned(),
                symbols: None,
                shlibs: Some("libz 1 zlib1g (>= 1:1.2.3.3.dfsg-1)\n".to_owned()),
            },
        ],
    );
    let bin = program(
        "/usr/bin/prog",
        &like,
        &["libc.so.6", "libz.so.1", "libnope.so.1"],
        vec![sym("printf", Some("GLIBC_2.17"))],
    );
    let resolution = resolve("prog", &[bin], &[], &index).expect("resolves");
    assert_eq!(
        resolution.depends,
        ["libc6 (>= 2.17)", "zlib1g (>= 1:1.2.3.3.dfsg-1)"]
    );
    assert_eq!(resolution.unresolved.len(), 1);
    assert_eq!(resolution.unresolved[0].library, "libnope.so.1");
}

#[test]
fn makeshlibs_writes_shlibs_and_the_ldconfig_trigger_for_public_libraries() {
    let (_, like) = host_zlib();
    let mut lib = like.clone();
    lib.soname = Some("libmine.so.1".to_owned());
    let public = Binary {
        path: "/usr/lib/x86_64-linux-gnu/libmine.so.1.0.0".to_owned(),
        elf: lib.clone(),
    };
    let private = Binary {
        path: "/usr/lib/x86_64-linux-gnu/mine/plugin.so".to_owned(),
        elf: lib,
    };
    let files =
        makeshlibs("libmine1", "1.0.0-1", &[public, private.clone()]).expect("has libraries");
    assert_eq!(
        files,
        vec![
            (
                "shlibs".to_owned(),
                b"libmine 1 libmine1 (= 1.0.0-1)\n".to_vec()
            ),
            (
                "triggers".to_owned(),
                b"# Triggers added by git-buildkit (as dh_makeshlibs)\nactivate-noawait ldconfig\n"
                    .to_vec()
            ),
        ]
    );
    assert_eq!(makeshlibs("libmine1", "1.0.0-1", &[private]), None);
}

#[test]
fn a_symlink_out_of_the_root_is_not_followed() {
    let (root, like) = fake_root();
    std::os::unix::fs::symlink(
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
        root.path().join("usr/lib/x86_64-linux-gnu/libesc.so.1"),
    )
    .expect("symlink");
    let index = HostDpkg::open(root.path(), "amd64").expect("opens");
    assert!(matches!(
        index.lookup("libesc.so.1", &like.abi, &[]).expect("looks"),
        Lookup::NotFound { .. }
    ));
}

#[test]
fn an_oversized_database_file_is_an_error_naming_it() {
    let (root, _) = fake_root();
    let list = root.path().join("var/lib/dpkg/info/huge.list");
    fs::File::create(&list)
        .and_then(|f| f.set_len((64 << 20) + 1))
        .expect("sparse file");
    let err = HostDpkg::open(root.path(), "amd64").expect_err("refuses");
    assert_eq!(
        err.to_string(),
        format!("{} is larger than 67108864 bytes", list.display())
    );
}

#[test]
fn build_libraries_come_from_public_libraries_only() {
    let (_, lib) = host_zlib();
    let library = Binary {
        path: "/usr/lib/x86_64-linux-gnu/libz.so.1".to_owned(),
        elf: lib.clone(),
    };
    assert_eq!(
        BuildLibrary::from_binary("zlib1g", "1:1.3-1", &library),
        Some(BuildLibrary {
            package: "zlib1g".to_owned(),
            version: "1:1.3-1".to_owned(),
            path: "/usr/lib/x86_64-linux-gnu/libz.so.1".to_owned(),
            soname: "libz.so.1".to_owned(),
        })
    );
    let program = program("/usr/bin/prog", &lib, &[], vec![]);
    assert_eq!(BuildLibrary::from_binary("prog", "1", &program), None);
}
