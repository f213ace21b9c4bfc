//! git-buildkit releases itself (issue 16): this repository's own
//! `.buildkit.toml`, on a clone of its HEAD tagged with the crate's
//! version, gives a lintian-clean `.deb` (the release binary built with
//! `cargo build --release --locked` in the sandboxed clean export, its man
//! pages, completions, hooks and templates, `Depends` from its shared
//! libraries) that a VM installs with apt and runs the branch workflow in.
//!
//! The release build takes minutes (the test lightens the release profile
//! through the project's `build-env`: no LTO, opt-level 0): it runs once per test run, shared by
//! the tests here, and its packages are kept in the user's cache keyed by
//! the tree they were built from (`<cache>/self-release/<tree>/`), so a run
//! on an unchanged tree reuses them (the build is reproducible: the same
//! tree gives the same bytes).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{assert_lintian_clean, vm_cache, vm_slot, Sandbox};
use crate::vm::results;

/// The clone, its tag, and the packages of that tag.
struct Built {
    sb: Sandbox,
    repo: PathBuf,
    tag: String,
    version: String,
    deb: PathBuf,
    ddeb: PathBuf,
}

static BUILT: OnceLock<Built> = OnceLock::new();

/// The crate's version, from the Cargo.toml the tests were built from.
fn crate_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The directories the build host grants the sandbox for a rustup
/// toolchain (the sandbox hides the home directory where they live), and
/// the environment the project's `build-env` passes: the toolchain of
/// this very test run first on PATH.
fn toolchain_env() -> (Vec<PathBuf>, Vec<(String, String)>) {
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
    let cargo_home =
        std::env::var_os("CARGO_HOME").map_or_else(|| home.join(".cargo"), PathBuf::from);
    let rustup_home =
        std::env::var_os("RUSTUP_HOME").map_or_else(|| home.join(".rustup"), PathBuf::from);
    let cargo = PathBuf::from(std::env::var_os("CARGO").expect("cargo runs the tests"));
    let toolchain_bin = cargo
        .canonicalize()
        .expect("cargo exists")
        .parent()
        .expect("a directory")
        .to_owned();
    let mut grants = vec![cargo_home.join("registry"), toolchain_bin.clone()];
    if rustup_home.is_dir() {
        grants.push(rustup_home.clone());
    }
    let path = format!(
        "{}:{}",
        toolchain_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = vec![
        ("PATH".to_owned(), path),
        ("CARGO_HOME".to_owned(), cargo_home.display().to_string()),
        ("RUSTUP_HOME".to_owned(), rustup_home.display().to_string()),
        // `cargo build --release` as the project says, its profile made
        // lighter for the test: what is tested is the packaging, not the
        // optimiser. Measured cold on 2 cores: opt-level 1 with 16 units
        // 354 s (587 s of CPU), opt-level 0 with 256 units 229 s (271 s).
        ("CARGO_PROFILE_RELEASE_LTO".to_owned(), "false".to_owned()),
        (
            "CARGO_PROFILE_RELEASE_CODEGEN_UNITS".to_owned(),
            "256".to_owned(),
        ),
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL".to_owned(), "0".to_owned()),
    ];
    (grants, env)
}

/// The packages of this repository's HEAD, built once per run (or found
/// in the cache for the same tree).
fn built() -> &'static Built {
    BUILT.get_or_init(|| {
        let sb = Sandbox::new();
        let repo = sb.path("git-buildkit");
        let source = Path::new(env!("CARGO_MANIFEST_DIR"));
        sb.run(
            &sb.path(""),
            "git",
            &[
                "clone",
                "-q",
                "--no-hardlinks",
                source.to_str().expect("utf8"),
                repo.to_str().expect("utf8"),
            ],
        )
        .ok();
        let version = crate_version().to_owned();
        let tag = format!("v{version}");
        sb.tag(&repo, "2026-12-01T10:00:00Z", &tag);
        sb.generate_key(&repo, "git-buildkit Test", "release@example.com");
        let tree = sb.git(&repo, &["rev-parse", &format!("{tag}^{{tree}}")]);
        let cache = vm_cache()
            .parent()
            .expect("the cache has a parent")
            .join("self-release")
            .join(&tree);
        let dist = sb.path("dist");
        if !cache.join("done").exists() {
            let (grants, env) = toolchain_env();
            for grant in &grants {
                sb.git(
                    &repo,
                    &[
                        "config",
                        "--add",
                        "buildkit.sandbox.readOnly",
                        grant.to_str().expect("utf8"),
                    ],
                );
            }
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let run = sb.bk_env(
                &repo,
                &["package", &tag, "-o", dist.to_str().expect("utf8")],
                &env,
            );
            assert_eq!(run.code, 0, "self-release failed:\n{}", run.stderr);
            assert!(
                run.stderr.contains("bwrap sandbox"),
                "the build should run sandboxed:\n{}",
                run.stderr
            );
            std::fs::create_dir_all(&cache).expect("mkdir cache");
            for entry in std::fs::read_dir(&dist).expect("dist") {
                let path = entry.expect("entry").path();
                std::fs::copy(&path, cache.join(path.file_name().expect("name"))).expect("copy");
            }
            std::fs::write(cache.join("done"), "").expect("mark");
            // Only the newest tree's packages are worth keeping.
            let parent = cache.parent().expect("the cache has a parent");
            for entry in std::fs::read_dir(parent).expect("cache").flatten() {
                if entry.path() != cache {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        } else {
            std::fs::create_dir_all(&dist).expect("mkdir");
            for entry in std::fs::read_dir(&cache).expect("cache") {
                let path = entry.expect("entry").path();
                if path.file_name().is_some_and(|n| n != "done") {
                    std::fs::copy(&path, dist.join(path.file_name().expect("name"))).expect("copy");
                }
            }
        }
        let deb = dist.join(format!("git-buildkit_{version}-1_amd64.deb"));
        let ddeb = dist.join(format!("git-buildkit-dbgsym_{version}-1_amd64.ddeb"));
        assert!(
            deb.is_file() && ddeb.is_file(),
            "{:?}",
            std::fs::read_dir(&dist).map(|d| d.count())
        );
        Built {
            sb,
            repo,
            tag,
            version,
            deb,
            ddeb,
        }
    })
}

fn field(b: &Built, name: &str) -> String {
    b.sb.run(
        &b.sb.path(""),
        "dpkg-deb",
        &["-f", b.deb.to_str().expect("utf8"), name],
    )
    .ok()
    .stdout
    .trim()
    .to_owned()
}

#[test]
fn git_buildkit_packages_itself_lintian_clean_with_its_manual_and_completions() {
    let b = built();
    assert_eq!(field(b, "Package"), "git-buildkit");
    assert_eq!(field(b, "Version"), format!("{}-1", b.version));
    assert_eq!(field(b, "Architecture"), "amd64");
    assert_eq!(
        field(b, "Recommends"),
        "git, bubblewrap, qemu-system-x86, qemu-utils, mmdebstrap, e2fsprogs"
    );

    // Depends: what dpkg-shlibdeps computes for the packaged binary.
    let unpacked = b.sb.path("unpacked");
    b.sb.run(
        &b.sb.path(""),
        "dpkg-deb",
        &[
            "-x",
            b.deb.to_str().expect("utf8"),
            unpacked.to_str().expect("utf8"),
        ],
    )
    .ok();
    std::fs::create_dir_all(unpacked.join("debian")).expect("mkdir");
    std::fs::write(
        unpacked.join("debian/control"),
        "Source: git-buildkit\n\nPackage: git-buildkit\nArchitecture: amd64\n",
    )
    .expect("control");
    let shlibdeps =
        b.sb.run(&unpacked, "dpkg-shlibdeps", &["-O", "usr/bin/git-buildkit"])
            .ok();
    let theirs = shlibdeps
        .stdout
        .trim()
        .strip_prefix("shlibs:Depends=")
        .expect("dpkg-shlibdeps output")
        .to_owned();
    assert_eq!(field(b, "Depends"), theirs);

    // What a user finds after `apt install`.
    for path in [
        "usr/bin/git-buildkit",
        "usr/share/man/man1/git-buildkit.1.gz",
        "usr/share/man/man1/git-buildkit-repo.1.gz",
        "usr/share/man/man1/git-buildkit-release-finish.1.gz",
        "usr/share/man/man5/buildkit.toml.5.gz",
        "usr/share/bash-completion/completions/git-buildkit",
        "usr/share/zsh/vendor-completions/_git-buildkit",
        "usr/share/fish/vendor_completions.d/git-buildkit.fish",
        "usr/share/git-buildkit/hooks/reference-transaction",
        "usr/share/git-buildkit/hooks/post-receive",
        "usr/share/git-buildkit/templates/shell-tool/buildkit-template.toml",
        "usr/share/doc/git-buildkit/copyright",
        "usr/share/doc/git-buildkit/changelog.Debian.gz",
    ] {
        assert!(unpacked.join(path).is_file(), "{path} is missing");
    }
    // The man pages are the binary's own, compressed as dh_compress does.
    let page =
        b.sb.run(
            &unpacked,
            "gzip",
            &["-dc", "usr/share/man/man1/git-buildkit-package.1.gz"],
        )
        .ok();
    assert!(
        page.stdout.starts_with(".ie"),
        "{}",
        &page.stdout[..100.min(page.stdout.len())]
    );
    // The packaged (stripped) binary runs and knows its version.
    let version =
        b.sb.run(&unpacked, "usr/bin/git-buildkit", &["--version"])
            .ok();
    assert_eq!(version.stdout.trim(), format!("git-buildkit {}", b.version));
    // Its debug information is in the -dbgsym package, for gdb.
    let ddeb_fields =
        b.sb.run(
            &b.sb.path(""),
            "dpkg-deb",
            &["-f", b.ddeb.to_str().expect("utf8"), "Package", "Depends"],
        )
        .ok();
    assert!(
        ddeb_fields
            .stdout
            .contains(&format!("git-buildkit (= {}-1)", b.version)),
        "{}",
        ddeb_fields.stdout
    );

    assert_lintian_clean(&b.sb, &b.sb.path(""), b.deb.to_str().expect("utf8"));
}

#[test]
fn a_vm_installs_git_buildkit_with_apt_and_runs_the_branch_workflow_in_it() {
    let b = built();
    let sb = &b.sb;
    let _vm = vm_slot();
    sb.bk(&b.repo, &["-q", "repo", "init", "--suite", "stable"])
        .ok();
    sb.bk(
        &b.repo,
        &[
            "-q",
            "repo",
            "add",
            b.deb.to_str().expect("utf8"),
            b.ddeb.to_str().expect("utf8"),
        ],
    )
    .ok();
    let run = sb.bk(&b.repo, &["vm-test", &b.tag, "--json"]);
    let verdict: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("no JSON verdict ({e}):\n{}\n{}", run.stdout, run.stderr));
    assert_eq!(run.code, 0, "{verdict:#}\n{}", run.stderr);
    assert_eq!(verdict["verdict"], "passed", "{verdict:#}");
    let names: Vec<(String, String)> = results(&verdict)
        .into_iter()
        .map(|(name, outcome, _)| (name, outcome))
        .collect();
    assert_eq!(
        names,
        [
            ("smoke1".to_owned(), "pass".to_owned()),
            ("smoke2".to_owned(), "pass".to_owned()),
            ("flow".to_owned(), "pass".to_owned()),
        ],
        "{verdict:#}"
    );
}

#[test]
fn a_sandbox_grant_shows_a_hidden_directory_and_never_the_key_store() {
    let sb = Sandbox::new();
    // Under the home directory, which the sandbox hides.
    let toolchain = sb.path("toolchain");
    std::fs::create_dir_all(&toolchain).expect("mkdir");
    std::fs::write(toolchain.join("marker"), "granted\n").expect("write");
    // Read-only: writing there fails, reading works.
    let build = format!(
        "mkdir -p build && ! touch {0}/written 2>/dev/null && cat {0}/marker > build/seen",
        toolchain.display()
    );
    let config = format!(
        r#"[[package]]
name = "grant"
description = "shows a granted directory\nA package whose build reads a directory the host grants."
maintainer = "Test Author <author@example.com>"
architecture = "all"
build = "{build}"
sandbox = "bwrap"
assets = [{{ src = "build/seen", dest = "/usr/share/grant/seen" }}]
"#
    );
    let repo = sb.repo(
        "grant",
        &[
            (".buildkit.toml", &config, false),
            (
                "LICENSE",
                "Copyright 2026 Test Author\nLicense: MIT\n",
                false,
            ),
        ],
    );
    sb.tag(&repo, "2026-01-02T10:00:00Z", "v1.0.0");
    sb.generate_key(&repo, "Grant Test", "grant@example.com");

    // Hidden by default: the build fails.
    let run = sb.bk(&repo, &["package", "v1.0.0", "-o", "dist"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("No such file"), "{}", run.stderr);

    // Granted by the host's git configuration: read-only, and it builds.
    sb.git(
        &repo,
        &[
            "config",
            "--add",
            "buildkit.sandbox.readOnly",
            toolchain.to_str().expect("utf8"),
        ],
    );
    let run = sb.bk(&repo, &["package", "v1.0.0", "-o", "dist"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!toolchain.join("written").exists());

    // A grant that would show the key store is refused before any build.
    sb.git(
        &repo,
        &["config", "--add", "buildkit.sandbox.readOnly", "~/.local"],
    );
    let run = sb.bk(&repo, &["package", "v1.0.0", "-o", "dist2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("buildkit.sandbox.readOnly \"~/.local\" would show"),
        "{}",
        run.stderr
    );
    assert!(!sb.path("grant/dist2").exists());
}

#[test]
fn a_host_that_requires_the_sandbox_refuses_a_tag_that_asks_for_less() {
    let sb = Sandbox::new();
    let config = |extra: &str| {
        format!(
            r#"[[package]]
name = "strict"
description = "builds under the host's rules\nA package built where the host requires the sandbox."
maintainer = "Test Author <author@example.com>"
architecture = "all"
build = "mkdir -p build && cp LICENSE build/"
assets = [{{ src = "build/LICENSE", dest = "/usr/share/strict/LICENSE" }}]
{extra}
"#
        )
    };
    let repo = sb.repo(
        "strict",
        &[
            (".buildkit.toml", &config(r#"sandbox = "none""#), false),
            (
                "LICENSE",
                "Copyright 2026 Test Author\nLicense: MIT\n",
                false,
            ),
        ],
    );
    sb.tag(&repo, "2026-01-02T10:00:00Z", "v1.0.0");
    std::fs::write(repo.join(".buildkit.toml"), config("network = true")).expect("write");
    sb.commit(&repo, "2026-01-03T10:00:00Z", "network");
    sb.tag(&repo, "2026-01-03T10:00:00Z", "v1.1.0");
    std::fs::write(repo.join(".buildkit.toml"), config("")).expect("write");
    sb.commit(&repo, "2026-01-04T10:00:00Z", "defaults");
    sb.tag(&repo, "2026-01-04T10:00:00Z", "v1.2.0");
    sb.generate_key(&repo, "Strict Test", "strict@example.com");

    // Without the host's setting, the tag decides (a laptop's default).
    let run = sb.bk(&repo, &["package", "v1.0.0", "-o", "free"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("Building unsandboxed"),
        "{}",
        run.stderr
    );

    sb.git(&repo, &["config", "buildkit.sandbox.require", "true"]);
    // A later `false` (a repository's own) does not undo it.
    sb.git(
        &repo,
        &["config", "--add", "buildkit.sandbox.require", "false"],
    );
    for (tag, setting) in [
        ("v1.0.0", "sandbox = \"none\""),
        ("v1.1.0", "network = true"),
    ] {
        let run = sb.bk(&repo, &["package", tag, "-o", "strict"]);
        assert_eq!(run.code, 2, "{tag}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "package strict: {setting}, but this build host requires every build in a sandbox without network"
            )),
            "{tag}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("Building"), "{tag}: {}", run.stderr);
    }
    assert!(!repo.join("strict").exists());
    let run = sb.bk(&repo, &["package", "v1.2.0", "-o", "strict"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Building in a bwrap sandbox without network"),
        "{}",
        run.stderr
    );

    // pip resolving a Python application's closure from an index is
    // network too: refused unless a local wheelhouse is given; and a
    // Python package may not leave the sandbox either.
    for (extra, setting) in [
        ("", "pip needs the network (no BUILDKIT_WHEELHOUSE)"),
        ("sandbox = \"none\"\n", "sandbox = \"none\""),
    ] {
        std::fs::write(
            repo.join(".buildkit.toml"),
            format!("[[package]]\nname = \"strict\"\nkind = \"python\"\nmaintainer = \"Test Author <author@example.com>\"\n{extra}"),
        )
        .expect("write");
        std::fs::write(
            repo.join("pyproject.toml"),
            "[project]\nname = \"strict\"\nversion = \"1.3.0\"\ndescription = \"strict\"\n",
        )
        .expect("write");
        sb.commit(&repo, "2026-01-05T10:00:00Z", "python");
        sb.git(&repo, &["tag", "-f", "-a", "v1.3.0", "-m", "v1.3.0"]);
        let run = sb.bk(&repo, &["package", "v1.3.0", "-o", "strict"]);
        assert_eq!(run.code, 2, "{setting}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "package strict: {setting}, but this build host requires"
            )),
            "{}",
            run.stderr
        );
    }
}
