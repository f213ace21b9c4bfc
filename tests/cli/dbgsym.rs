//! Stripping as dh_strip does, judged by binutils, gdb and dpkg-deb: a
//! small C program, shared library and static library built with `-g`,
//! stripped through `debhelper::strip`, their debug information kept in a
//! `-dbgsym` `.ddeb` that gdb finds by build id.

use std::path::{Path, PathBuf};

use git_buildkit::deb::{write_deb, Compression, Control, DataTree, FileSource, PackageSpec};
use git_buildkit::debhelper::dbgsym::dbgsym_spec;
use git_buildkit::debhelper::strip::{strip_tree, StripError, StripKind, StripOptions, Stripped};

use crate::common::Sandbox;
use crate::repo::{clean_update, Fixture};

const HELLO_C: &str = "#include <stdio.h>\n\
extern const char *greeting(void);\n\
int main(void) {\n\
    puts(\"hello\");\n\
    return 0;\n\
}\n";

const GREET_C: &str = "const char *greeting(void) {\n\
    return \"hello\";\n\
}\n\
static int helper(int x) { return x + 1; }\n\
int greet_count(int x) { return helper(x); }\n";

const ON: StripOptions = StripOptions {
    strip: true,
    dbgsym: true,
};

/// Builds the fixtures in `dir`: `hello` (a PIE), `libgreet.so.1`, `libgreet.a`.
fn build_fixtures(sb: &Sandbox, dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("hello.c"), HELLO_C).expect("hello.c");
    std::fs::write(dir.join("greet.c"), GREET_C).expect("greet.c");
    let cc = |args: &[&str]| sb.run(dir, "cc", args).ok();
    cc(&["-g", "-O0", "-o", "hello", "hello.c"]);
    cc(&[
        "-g",
        "-shared",
        "-fPIC",
        "-Wl,-soname,libgreet.so.1",
        "-o",
        "libgreet.so.1",
        "greet.c",
    ]);
    cc(&["-g", "-c", "-o", "greet.o", "greet.c"]);
    sb.run(dir, "ar", &["rcsD", "libgreet.a", "greet.o"]).ok();
}

/// A data tree of the fixtures, plus a hard-link-like copy and a fake ELF.
fn fixture_tree(dir: &Path) -> DataTree {
    let mut tree = DataTree::new();
    let add = |tree: &mut DataTree, dest: &str, name: &str, mode: u32| {
        let path = dir.join(name);
        let size = std::fs::metadata(&path).expect("fixture").len();
        tree.add_file(dest, path, size, mode).expect("add");
    };
    add(&mut tree, "/usr/bin/zhello", "hello", 0o755);
    add(&mut tree, "/usr/bin/zhello-again", "hello", 0o755);
    add(&mut tree, "/usr/lib/libgreet.so.1", "libgreet.so.1", 0o644);
    add(&mut tree, "/usr/lib/libgreet.a", "libgreet.a", 0o644);
    add(&mut tree, "/usr/lib/greet.o", "greet.o", 0o644);
    tree.add_bytes(
        "/usr/lib/libfake.so.1",
        b"not an ELF file\n".to_vec(),
        0o755,
    )
    .expect("fake");
    tree
}

/// The file each path of `tree` now comes from.
fn source_of(tree: &DataTree, dest: &str) -> PathBuf {
    match tree.files().find(|(path, _, _)| path == dest) {
        Some((_, FileSource::Path(path), _)) => path.clone(),
        other => panic!("{dest}: {other:?}"),
    }
}

fn section_names(sb: &Sandbox, file: &Path) -> Vec<String> {
    let out = sb
        .run(
            Path::new("/"),
            "readelf",
            &["-SW", file.to_str().expect("utf-8")],
        )
        .ok()
        .stdout;
    out.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let rest = line.strip_prefix('[')?.split_once(']')?.1;
            rest.split_whitespace().next().map(str::to_owned)
        })
        .collect()
}

fn strip(dir: &Path, scratch: &str) -> (DataTree, Stripped) {
    let mut tree = fixture_tree(dir);
    let stripped = strip_tree(&mut tree, &dir.join(scratch), ON).expect("strip");
    (tree, stripped)
}

#[test]
fn strip_keeps_debug_info_by_build_id_and_gdb_finds_it() {
    let sb = Sandbox::new();
    let dir = sb.path("build");
    build_fixtures(&sb, &dir);
    let (tree, stripped) = strip(&dir, "scratch-1");

    assert_eq!(
        stripped.files,
        [
            ("/usr/bin/zhello".to_owned(), StripKind::Executable),
            ("/usr/bin/zhello-again".to_owned(), StripKind::Executable),
            ("/usr/lib/libgreet.a".to_owned(), StripKind::StaticLibrary),
            (
                "/usr/lib/libgreet.so.1".to_owned(),
                StripKind::SharedLibrary
            ),
        ]
    );
    assert!(stripped.without_build_id.is_empty());
    let debug = stripped.debug.expect("debug files");
    assert_eq!(debug.build_ids.len(), 2, "{:?}", debug.build_ids);

    // The executable: no symbols or debug info, its build id, a debuglink.
    let hello = source_of(&tree, "/usr/bin/zhello");
    assert_eq!(hello, source_of(&tree, "/usr/bin/zhello-again"));
    let sections = section_names(&sb, &hello);
    assert!(
        sections
            .iter()
            .all(|s| !s.starts_with(".debug_") && s != ".symtab"),
        "{sections:?}"
    );
    assert!(
        sections.iter().any(|s| s == ".note.gnu.build-id"),
        "{sections:?}"
    );
    assert!(
        sections.iter().any(|s| s == ".gnu_debuglink"),
        "{sections:?}"
    );
    assert!(sections.iter().all(|s| s != ".comment"), "{sections:?}");

    // The debug files sit under .build-id/xx/yyyy.debug and carry the debug info.
    let root = sb.path("dbgsym-root");
    let mut debug_paths = Vec::new();
    for (dest, source, mode) in debug.tree.files() {
        assert_eq!(mode, 0o644);
        let id = debug
            .build_ids
            .iter()
            .find(|id| dest == format!("/usr/lib/debug/.build-id/{}/{}.debug", &id[..2], &id[2..]));
        assert!(id.is_some(), "{dest} is not named after a build id");
        let FileSource::Path(source) = source else {
            panic!("{dest}: not a file on disk");
        };
        let target = root.join(dest.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::copy(source, &target).expect("copy");
        debug_paths.push(target);
    }
    for path in &debug_paths {
        let sections = section_names(&sb, path);
        assert!(sections.iter().any(|s| s == ".debug_info"), "{sections:?}");
    }

    // gdb finds main's source line with the debug directory, not without
    // (on a copy alone in its directory: gdb also looks for the debuglink's
    // file beside the program, where the scratch directory has it).
    let alone = sb.path("alone");
    std::fs::create_dir_all(&alone).expect("mkdir");
    std::fs::copy(&hello, alone.join("zhello")).expect("copy");
    let hello_alone = alone.join("zhello");
    let hello_arg = hello_alone.to_str().expect("utf-8");
    let gdb = |debug_dir: &Path| {
        let set = format!("set debug-file-directory {}", debug_dir.display());
        sb.run(
            &dir,
            "gdb",
            &[
                "-batch",
                "-nx",
                "-iex",
                "set debuginfod enabled off",
                "-iex",
                &set,
                "-ex",
                "info line main",
                hello_arg,
            ],
        )
    };
    let found = gdb(&root.join("usr/lib/debug"));
    assert!(
        found.stdout.starts_with("Line 3 of \"hello.c\""),
        "{}{}",
        found.stdout,
        found.stderr
    );
    let missing = gdb(&sb.path("nowhere"));
    assert!(!missing.stdout.contains("Line 3"), "{}", missing.stdout);

    // The shared library keeps its dynamic symbols, loses .symtab.
    let lib = source_of(&tree, "/usr/lib/libgreet.so.1");
    let lib_sections = section_names(&sb, &lib);
    assert!(
        lib_sections
            .iter()
            .all(|s| s != ".symtab" && !s.starts_with(".debug_")),
        "{lib_sections:?}"
    );
    let dyn_syms = sb
        .run(
            &dir,
            "readelf",
            &["--dyn-syms", "-W", lib.to_str().expect("utf-8")],
        )
        .ok()
        .stdout;
    assert!(dyn_syms.contains(" greeting"), "{dyn_syms}");
    assert!(dyn_syms.contains(" greet_count"), "{dyn_syms}");

    // The static archive lost its debug sections; .o and fakes are left alone.
    let archive = source_of(&tree, "/usr/lib/libgreet.a");
    let archive_sections = sb
        .run(&dir, "readelf", &["-SW", archive.to_str().expect("utf-8")])
        .ok()
        .stdout;
    assert!(!archive_sections.contains(".debug_"), "{archive_sections}");
    assert_eq!(source_of(&tree, "/usr/lib/greet.o"), dir.join("greet.o"));
    let fake = tree.files().find(|(p, _, _)| p == "/usr/lib/libfake.so.1");
    assert!(matches!(fake, Some((_, FileSource::Bytes(b), _)) if b == b"not an ELF file\n"));
}

#[test]
fn stripping_twice_gives_the_same_bytes() {
    let sb = Sandbox::new();
    let dir = sb.path("build");
    build_fixtures(&sb, &dir);
    let (first, first_debug) = strip(&dir, "scratch-1");
    let (second, second_debug) = strip(&dir, "scratch-2");
    let contents = |tree: &DataTree| -> Vec<(String, Vec<u8>)> {
        tree.files()
            .map(|(dest, source, _)| {
                let bytes = match source {
                    FileSource::Path(path) => std::fs::read(path).expect("read"),
                    FileSource::Bytes(bytes) => bytes.clone(),
                };
                (dest, bytes)
            })
            .collect()
    };
    assert!(
        contents(&first) == contents(&second),
        "stripped files differ"
    );
    let debug_of = |s: Stripped| contents(&s.debug.expect("debug").tree);
    assert!(
        debug_of(first_debug) == debug_of(second_debug),
        "debug files differ"
    );
}

#[test]
fn a_truncated_elf_is_an_error_not_a_panic() {
    let sb = Sandbox::new();
    let dir = sb.path("build");
    build_fixtures(&sb, &dir);
    let whole = std::fs::read(dir.join("hello")).expect("hello");
    for cut in [20, 64, 200, whole.len() / 2, whole.len() - 10] {
        let mut tree = DataTree::new();
        tree.add_bytes("/usr/bin/broken", whole[..cut].to_vec(), 0o755)
            .expect("add");
        let scratch = dir.join(format!("scratch-{cut}"));
        match strip_tree(&mut tree, &scratch, ON) {
            Err(StripError::BadElf { path, .. } | StripError::Tool { path, .. }) => {
                assert_eq!(path, "/usr/bin/broken")
            }
            Err(other) => panic!("cut at {cut}: {other}"),
            // Too short for an ELF header's type: not an ELF file to dh_strip.
            Ok(stripped) => assert!(cut < 64 && stripped.files.is_empty(), "cut at {cut}"),
        }
    }
}

#[test]
fn the_dbgsym_package_is_a_ddeb_dpkg_reads() {
    let sb = Sandbox::new();
    let dir = sb.path("build");
    build_fixtures(&sb, &dir);
    let (_, stripped) = strip(&dir, "scratch");
    let debug = stripped.debug.expect("debug");
    let ids = debug.build_ids.join(" ");
    let main = Control::parse(
        "Package: zhello\nVersion: 1.0-1\nArchitecture: amd64\n\
         Maintainer: Test Author <author@example.com>\nSection: utils\nPriority: optional\n\
         Description: hello\n",
    )
    .expect("control");
    let spec: PackageSpec =
        dbgsym_spec(&main, debug, 1_700_000_000, Compression::Xz).expect("spec");
    let out = sb.path("out");
    let written = write_deb(&spec, &out).expect("write");
    assert_eq!(written.path, out.join("zhello-dbgsym_1.0-1_amd64.ddeb"));
    let control = sb
        .run(&out, "dpkg-deb", &["-f", "zhello-dbgsym_1.0-1_amd64.ddeb"])
        .ok()
        .stdout;
    let size = control
        .lines()
        .find_map(|l| l.strip_prefix("Installed-Size: "))
        .expect("Installed-Size");
    assert_eq!(
        control,
        format!(
            "Package: zhello-dbgsym\nPackage-Type: ddeb\nSource: zhello\nVersion: 1.0-1\n\
             Auto-Built-Package: debug-symbols\nArchitecture: amd64\n\
             Maintainer: Test Author <author@example.com>\nInstalled-Size: {size}\n\
             Depends: zhello (= 1.0-1)\nSection: debug\nPriority: optional\n\
             Description: debug symbols for zhello\nBuild-Ids: {ids}\n"
        )
    );
    let listing = sb
        .run(&out, "dpkg-deb", &["-c", "zhello-dbgsym_1.0-1_amd64.ddeb"])
        .ok()
        .stdout;
    assert!(
        listing.contains("./usr/share/doc/zhello-dbgsym -> zhello"),
        "{listing}"
    );
    assert_eq!(listing.matches(".debug\n").count(), 2, "{listing}");
}

#[test]
fn repo_add_publishes_a_ddeb_in_main_debug_and_apt_downloads_it() {
    let fx = Fixture::new(&[]);
    let dir = fx.sb.path("build");
    build_fixtures(&fx.sb, &dir);
    let (_, stripped) = strip(&dir, "scratch");
    let main = Control::parse(
        "Package: zhello\nVersion: 1.0-1\nArchitecture: amd64\n\
         Maintainer: Test Author <author@example.com>\nDescription: hello\n",
    )
    .expect("control");
    let spec = dbgsym_spec(
        &main,
        stripped.debug.expect("debug"),
        1_700_000_000,
        Compression::Xz,
    )
    .expect("spec");
    let ddeb = write_deb(&spec, &fx.sb.path("out")).expect("write").path;
    let deb = fx.deb("zhello", "1.0-1", "amd64");
    let run = fx
        .bk(&[
            "repo",
            "add",
            fx.repo_arg(),
            deb.to_str().expect("utf8"),
            ddeb.to_str().expect("utf8"),
        ])
        .ok();
    assert_eq!(
        run.stdout,
        "added zhello=1.0-1\nadded zhello-dbgsym=1.0-1\n"
    );
    let pooled = fx
        .repo
        .join("pool/main/z/zhello/zhello-dbgsym_1.0-1_amd64.ddeb");
    assert!(std::fs::read(&pooled).expect("pooled") == std::fs::read(&ddeb).expect("ddeb"));
    let dists = fx.repo.join("dists/stable");
    let packages =
        std::fs::read_to_string(dists.join("main/binary-amd64/Packages")).expect("main Packages");
    assert!(!packages.contains("dbgsym"), "{packages}");
    let debug_packages = std::fs::read_to_string(dists.join("main/debug/binary-amd64/Packages"))
        .expect("debug Packages");
    assert!(
        debug_packages.starts_with("Package: zhello-dbgsym\n"),
        "{debug_packages}"
    );
    assert!(
        debug_packages.contains("\nFilename: pool/main/z/zhello/zhello-dbgsym_1.0-1_amd64.ddeb\n"),
        "{debug_packages}"
    );
    let release = std::fs::read_to_string(dists.join("Release")).expect("Release");
    assert!(
        release.contains(" main/debug/binary-amd64/Packages.xz\n"),
        "{release}"
    );

    // apt with `main/debug` beside `main` finds and fetches the .ddeb.
    let server = fx.serve();
    clean_update(&fx, &server);
    let sources = fx
        .bk(&["repo", "sources", fx.repo_arg(), "--url", &server.url])
        .ok()
        .stdout;
    let debug_sources = sources.replace("Components: main\n", "Components: main/debug\n");
    assert_ne!(debug_sources, sources, "{sources}");
    std::fs::write(
        fx.sb.path("apt/etc/sources.list.d/debug.sources"),
        debug_sources,
    )
    .expect("debug.sources");
    clean_update(&fx, &server);
    fx.apt(&server, &["-q", "download", "zhello-dbgsym"]).ok();
    let got = std::fs::read(fx.sb.path("apt/download/zhello-dbgsym_1.0-1_amd64.ddeb"))
        .expect("downloaded");
    assert!(
        got == std::fs::read(&ddeb).expect("ddeb"),
        "apt downloaded other bytes"
    );

    let list = fx.bk(&["repo", "list", fx.repo_arg()]).ok().stdout;
    assert_eq!(
        list,
        "stable/main zhello 1.0-1 amd64\nstable/main/debug zhello-dbgsym 1.0-1 amd64\n"
    );
    fx.bk(&["repo", "verify", fx.repo_arg()]).ok();

    // A lost index cache is rebuilt with the debug index too.
    let gen = std::fs::read_link(fx.repo.join("dists")).expect("link");
    let gen_dir = fx.repo.join(gen.parent().expect("gen"));
    for cache in ["index", "index-debug"] {
        std::fs::remove_dir_all(gen_dir.join(cache)).expect("lose the cache");
    }
    fx.bk(&["repo", "verify", fx.repo_arg(), "--repair"]).ok();
    assert_eq!(fx.bk(&["repo", "list", fx.repo_arg()]).ok().stdout, list);

    // Removing the debug package leaves no debug index behind.
    fx.bk(&["repo", "remove", fx.repo_arg(), "zhello-dbgsym"])
        .ok();
    assert!(!fx.repo.join("dists/stable/main/debug").exists());
    assert_eq!(
        fx.bk(&["repo", "list", fx.repo_arg()]).ok().stdout,
        "stable/main zhello 1.0-1 amd64\n"
    );
}

#[test]
fn repo_copy_promotes_the_debug_symbols_with_their_package() {
    let fx = Fixture::new(&["--suite", "testing", "--suite", "stable"]);
    let mut tree = DataTree::new();
    tree.add_bytes("/usr/lib/debug/.build-id/ab/cdef.debug", vec![1; 8], 0o644)
        .expect("debug file");
    let debug = git_buildkit::debhelper::strip::DebugFiles {
        tree,
        build_ids: vec!["abcdef".into()],
    };
    let main = Control::parse(
        "Package: zhello\nVersion: 1.0-1\nArchitecture: amd64\nDescription: hello\n",
    )
    .expect("control");
    let spec = dbgsym_spec(&main, debug, 1_700_000_000, Compression::Gzip).expect("spec");
    let ddeb = write_deb(&spec, &fx.sb.path("out")).expect("write").path;
    fx.bk(&["repo", "add", fx.repo_arg(), ddeb.to_str().expect("utf8")])
        .ok();
    fx.bk(&[
        "repo",
        "copy",
        fx.repo_arg(),
        "--from",
        "testing",
        "--to",
        "stable",
        "zhello-dbgsym",
    ])
    .ok();
    assert_eq!(
        fx.bk(&["repo", "list", fx.repo_arg()]).ok().stdout,
        "stable/main/debug zhello-dbgsym 1.0-1 amd64\ntesting/main/debug zhello-dbgsym 1.0-1 amd64\n"
    );
}

#[test]
fn without_a_build_id_a_file_is_stripped_and_its_debug_info_not_kept() {
    let sb = Sandbox::new();
    let dir = sb.path("build");
    build_fixtures(&sb, &dir);
    sb.run(
        &dir,
        "cc",
        &["-g", "-Wl,--build-id=none", "-o", "noid", "hello.c"],
    )
    .ok();
    let mut tree = DataTree::new();
    let size = std::fs::metadata(dir.join("noid")).expect("noid").len();
    tree.add_file("/usr/bin/noid", dir.join("noid"), size, 0o755)
        .expect("add");
    let stripped = strip_tree(&mut tree, &dir.join("scratch"), ON).expect("strip");
    assert_eq!(stripped.without_build_id, ["/usr/bin/noid"]);
    assert!(stripped.debug.is_none());
    let sections = section_names(&sb, &source_of(&tree, "/usr/bin/noid"));
    assert!(
        sections
            .iter()
            .all(|s| s != ".symtab" && s != ".gnu_debuglink" && !s.starts_with(".debug_")),
        "{sections:?}"
    );
}

#[test]
fn a_foreign_elf_without_its_binutils_names_the_package_to_install() {
    let sb = Sandbox::new();
    let dir = sb.path("build");
    build_fixtures(&sb, &dir);
    let mut bytes = std::fs::read(dir.join("hello")).expect("hello");
    // e_machine EM_AARCH64 (183): parses, but is not the host's machine.
    bytes[18..20].copy_from_slice(&183u16.to_le_bytes());
    let mut tree = DataTree::new();
    tree.add_bytes("/usr/bin/arm", bytes, 0o755).expect("add");
    // A PATH without cross binutils, whatever the machine has installed.
    let err = strip_tree(&mut tree, &dir.join("scratch"), ON).err();
    match err {
        Some(StripError::ToolMissing { path, package, .. }) => {
            assert_eq!(path, "/usr/bin/arm");
            assert_eq!(package, "binutils-aarch64-linux-gnu");
        }
        // The cross binutils are installed here: they strip it.
        None => assert!(which("aarch64-linux-gnu-objcopy")),
        Some(other) => panic!("{other}"),
    }
}

fn which(program: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|dir| dir.join(program).is_file())
}

#[test]
fn nothing_is_stripped_with_strip_off() {
    let sb = Sandbox::new();
    let dir = sb.path("build");
    build_fixtures(&sb, &dir);
    let mut tree = fixture_tree(&dir);
    let off = StripOptions {
        strip: false,
        dbgsym: true,
    };
    let stripped = strip_tree(&mut tree, &dir.join("scratch"), off).expect("strip");
    assert!(stripped.files.is_empty() && stripped.debug.is_none());
    assert_eq!(source_of(&tree, "/usr/bin/zhello"), dir.join("hello"));
}
