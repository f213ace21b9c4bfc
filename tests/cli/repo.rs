//! `git buildkit repo` against the real apt: a served repository that
//! `apt-get update` accepts with full signature checking and installs from,
//! and that stays valid through tampering, removal, concurrent writers and
//! kill -9.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use pretty_assertions::assert_eq;

use crate::common::{dir_names, write_files, Run, Sandbox};

/// A `repo serve` child, killed on drop.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct Fixture {
    pub(crate) sb: Sandbox,
    pub(crate) repo: PathBuf,
    pub(crate) store: PathBuf,
}

impl Fixture {
    /// A key and an empty repository carrying amd64.
    pub(crate) fn new(extra_init: &[&str]) -> Self {
        let sb = Sandbox::new();
        let store = sb.path("keys");
        let fx = Fixture {
            repo: sb.path("repo"),
            store,
            sb,
        };
        fx.bk(&[
            "key",
            "generate",
            "--name",
            "Test Packages",
            "--email",
            "ops@example.com",
        ])
        .ok();
        let repo = fx.repo.to_str().expect("utf8").to_owned();
        let mut args = vec![
            "repo",
            "init",
            repo.as_str(),
            "--arch",
            "amd64",
            "--origin",
            "Test",
            "--label",
            "Test",
        ];
        args.extend_from_slice(extra_init);
        fx.bk(&args).ok();
        fx
    }

    /// Runs our binary quietly (errors and warnings only on stderr).
    pub(crate) fn bk(&self, args: &[&str]) -> Run {
        let mut full = vec!["-q"];
        full.extend_from_slice(args);
        self.sb.bk_env(
            &self.sb.path(""),
            &full,
            &[("BUILDKIT_KEY_STORE", self.store.to_str().expect("utf8"))],
        )
    }

    pub(crate) fn repo_arg(&self) -> &str {
        self.repo.to_str().expect("utf8")
    }

    /// A small package built with `deb build`.
    pub(crate) fn deb(&self, name: &str, version: &str, arch: &str) -> PathBuf {
        let dir = self.sb.path(&format!("src/{name}-{version}-{arch}"));
        write_files(
            &dir,
            &[
                ("DEBIAN/control", &format!("Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: T <t@example.com>\nDescription: test package {name}\n version {version}\n"), false),
                (&format!("usr/share/{name}/VERSION"), &format!("{version}\n"), false),
            ],
        );
        let out = self.sb.path("debs");
        let run = self
            .sb
            .bk_env(
                &self.sb.path(""),
                &[
                    "deb",
                    "build",
                    dir.to_str().expect("utf8"),
                    "-o",
                    out.to_str().expect("utf8"),
                ],
                &[("SOURCE_DATE_EPOCH", "1700000000")],
            )
            .ok();
        PathBuf::from(run.stdout.trim())
    }

    pub(crate) fn serve(&self) -> Server {
        let mut command = Command::new(Sandbox::bk_path());
        command
            .args([
                "-q",
                "repo",
                "serve",
                self.repo_arg(),
                "--bind",
                "127.0.0.1:0",
            ])
            .stderr(Stdio::null());
        self.start_server(command)
    }

    /// Spawns `command`, a `repo serve` of this repository on a free
    /// loopback port, and waits for the URL it prints.
    pub(crate) fn start_server(&self, mut command: Command) -> Server {
        let mut child = command
            .env("BUILDKIT_KEY_STORE", &self.store)
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("url");
        assert!(line.starts_with("http://127.0.0.1:"), "{line}");
        Server {
            child,
            url: line.trim().to_owned(),
        }
    }

    /// apt-get with a private configuration that trusts only the stanza from `repo sources`.
    pub(crate) fn apt(&self, server: &Server, args: &[&str]) -> Run {
        let base = self.sb.path("apt");
        for dir in [
            "etc/sources.list.d",
            "etc/trusted.gpg.d",
            "etc/preferences.d",
            "state/lists/partial",
            "cache/archives/partial",
            "download",
        ] {
            std::fs::create_dir_all(base.join(dir)).expect("mkdir");
        }
        let status = base.join("state/status");
        if !status.exists() {
            std::fs::write(&status, "").expect("status");
        }
        let sources = self
            .bk(&["repo", "sources", self.repo_arg(), "--url", &server.url])
            .ok()
            .stdout;
        std::fs::write(base.join("etc/sources.list.d/test.sources"), sources).expect("sources");
        let b = |p: &str| base.join(p).display().to_string();
        let mut full: Vec<String> = [
            "-o",
            &format!("Dir::Etc={}", b("etc")),
            "-o",
            "Dir::Etc::SourceList=/dev/null",
            "-o",
            &format!("Dir::Etc::SourceParts={}", b("etc/sources.list.d")),
            "-o",
            "Dir::Etc::Trusted=/dev/null",
            "-o",
            &format!("Dir::Etc::TrustedParts={}", b("etc/trusted.gpg.d")),
            "-o",
            &format!("Dir::State={}", b("state")),
            "-o",
            &format!("Dir::State::status={}", status.display()),
            "-o",
            &format!("Dir::Cache={}", b("cache")),
            "-o",
            "APT::Architecture=amd64",
            "-o",
            "APT::Architectures=amd64",
            "-o",
            "Acquire::Languages=none",
            "-o",
            "APT::Sandbox::User=root",
            "-o",
            "Acquire::http::Proxy=DIRECT",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        full.extend(args.iter().map(|s| (*s).to_owned()));
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        self.sb.run(&base.join("download"), "apt-get", &refs)
    }
}

/// Writes `count` tiny packages with benches/gen-debs.py; their paths.
pub(crate) fn many_debs(fx: &Fixture, prefix: &str, count: usize) -> Vec<PathBuf> {
    let dir = fx.sb.path(&format!("many-{prefix}"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/gen-debs.py");
    let run = fx.sb.run(
        &dir,
        "python3",
        &[
            script.to_str().expect("utf8"),
            dir.to_str().expect("utf8"),
            prefix,
            "0",
            &count.to_string(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    debs.sort();
    assert_eq!(debs.len(), count);
    debs
}

/// apt-get update that must succeed without any warning or error.
pub(crate) fn clean_update(fx: &Fixture, server: &Server) {
    let run = fx.apt(server, &["update"]);
    let problems: Vec<&str> = run
        .stdout
        .lines()
        .chain(run.stderr.lines())
        .filter(|l| l.starts_with("W:") || l.starts_with("E:") || l.starts_with("Err:"))
        .collect();
    assert_eq!(
        (run.code, problems),
        (0, Vec::<&str>::new()),
        "apt-get update:\n{}\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn apt_installs_from_the_served_signed_repository() {
    let fx = Fixture::new(&[]);
    let v1 = fx.deb("hello", "1.0-1", "amd64");
    let v2 = fx.deb("hello", "1.1~rc1-1", "all");
    let run = fx
        .bk(&[
            "repo",
            "add",
            fx.repo_arg(),
            v1.to_str().expect("utf8"),
            v2.to_str().expect("utf8"),
        ])
        .ok();
    assert_eq!(run.stdout, "added hello=1.0-1\nadded hello=1.1~rc1-1\n");
    // Adding the same bytes again changes nothing.
    let run = fx
        .bk(&["repo", "add", fx.repo_arg(), v1.to_str().expect("utf8")])
        .ok();
    assert_eq!(run.stdout, "unchanged hello=1.0-1\n");

    let list = fx.bk(&["repo", "list", fx.repo_arg()]).ok().stdout;
    assert_eq!(
        list,
        "stable/main hello 1.1~rc1-1 all\nstable/main hello 1.0-1 amd64\n"
    );

    // gpgv accepts both signatures with the exported binary key.
    let dists = fx.repo.join("dists/stable");
    let key = fx.repo.join("key.gpg");
    let gpg_home = fx.sb.path("gnupg");
    std::fs::create_dir_all(&gpg_home).expect("mkdir");
    for args in [vec!["InRelease"], vec!["Release.gpg", "Release"]] {
        let mut full = vec![
            "--homedir",
            gpg_home.to_str().expect("utf8"),
            "--keyring",
            key.to_str().expect("utf8"),
        ];
        full.extend(args);
        fx.sb.run(&dists, "gpgv", &full).ok();
    }
    // sqv (Sequoia's verifier, what trixie's apt uses) accepts the detached signature.
    fx.sb
        .run(
            &dists,
            "sqv",
            &[
                "--keyring",
                key.to_str().expect("utf8"),
                "Release.gpg",
                "Release",
            ],
        )
        .ok();
    let release = std::fs::read_to_string(dists.join("Release")).expect("Release");
    for needle in [
        "Origin: Test\n",
        "Label: Test\n",
        "Suite: stable\n",
        "Codename: stable\n",
        "Architectures: amd64\n",
        "Components: main\n",
        "Acquire-By-Hash: yes\n",
        "\nSHA512:\n",
        " main/binary-amd64/Packages.xz\n",
        " main/binary-amd64/Packages.gz\n",
    ] {
        assert!(
            release.contains(needle),
            "Release lacks {needle:?}:\n{release}"
        );
    }

    let server = fx.serve();
    clean_update(&fx, &server);
    let policy = fx.apt(&server, &["-q", "download", "hello=1.0-1"]).ok();
    assert!(policy.code == 0);
    let got = std::fs::read(fx.sb.path("apt/download/hello_1.0-1_amd64.deb")).expect("downloaded");
    assert!(
        got == std::fs::read(&v1).expect("v1"),
        "apt downloaded other bytes"
    );
    fx.apt(&server, &["-q", "download", "hello=1.1~rc1-1"]).ok();
    assert_eq!(
        dir_names(&fx.sb.path("apt/download")),
        ["hello_1.0-1_amd64.deb", "hello_1.1~rc1-1_all.deb"]
    );
    // The key is served for clients that fetch it.
    assert_eq!(
        fx.repo.join("key.gpg").metadata().expect("key").len() > 0,
        true
    );

    // After remove, apt no longer finds the removed version.
    fx.bk(&["repo", "remove", fx.repo_arg(), "hello=1.0-1"])
        .ok();
    clean_update(&fx, &server);
    let run = fx.apt(&server, &["-q", "download", "hello=1.0-1"]);
    assert_ne!(run.code, 0, "hello=1.0-1 is still installable after remove");
    fx.bk(&["repo", "verify", fx.repo_arg()]).ok();
}

#[test]
fn apt_refuses_a_tampered_index_or_release() {
    let fx = Fixture::new(&[]);
    let deb = fx.deb("tamper", "1", "amd64");
    fx.bk(&["repo", "add", fx.repo_arg(), deb.to_str().expect("utf8")])
        .ok();
    let server = fx.serve();
    clean_update(&fx, &server);

    // A flipped byte in the Packages.xz that apt fetches (by hash: same inode).
    let xz = fx.repo.join("dists/stable/main/binary-amd64/Packages.xz");
    let original = std::fs::read(&xz).expect("xz");
    let mut bad = original.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0xff;
    std::fs::write(&xz, &bad).expect("tamper");
    std::fs::remove_dir_all(fx.sb.path("apt/state/lists")).expect("forget lists");
    let run = fx.apt(&server, &["update"]);
    assert!(
        run.code != 0 || run.stderr.contains("E:") || run.stdout.contains("Err:"),
        "apt accepted a tampered Packages.xz:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    let verify = fx.bk(&["repo", "verify", fx.repo_arg()]);
    assert_eq!(verify.code, 1, "{}", verify.stdout);
    assert!(
        verify.stdout.contains(
            "dists/stable/main/binary-amd64/Packages.xz: size or SHA256 differs from Release"
        ),
        "{}",
        verify.stdout
    );
    std::fs::write(&xz, &original).expect("restore");

    // A line that is no field in the plain Packages: reported like any other
    // damage, and the check goes on (it used to stop the whole verify).
    let packages = fx.repo.join("dists/stable/main/binary-amd64/Packages");
    let original = std::fs::read(&packages).expect("Packages");
    let mut bad = b"this line is no field\n".to_vec();
    bad.extend_from_slice(&original);
    std::fs::write(&packages, &bad).expect("tamper");
    let verify = fx.bk(&["repo", "verify", fx.repo_arg()]);
    assert_eq!(verify.code, 1, "{}\n{}", verify.stdout, verify.stderr);
    for finding in [
        "dists/stable/main/binary-amd64/Packages: size or SHA256 differs from Release",
        "dists/stable/main/binary-amd64/Packages: not a Packages index",
    ] {
        assert!(
            verify.stdout.contains(finding),
            "{finding}:\n{}",
            verify.stdout
        );
    }
    std::fs::write(&packages, &original).expect("restore");

    // A changed line in the signed InRelease.
    let inrelease = fx.repo.join("dists/stable/InRelease");
    let text = std::fs::read_to_string(&inrelease).expect("InRelease");
    std::fs::write(&inrelease, text.replace("Label: Test", "Label: Evil")).expect("tamper");
    std::fs::remove_dir_all(fx.sb.path("apt/state/lists")).expect("forget lists");
    let run = fx.apt(&server, &["update"]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("signature") || all.contains("NO_PUBKEY") || all.contains("BADSIG"),
        "apt accepted a tampered InRelease:\n{all}"
    );
    assert!(all.contains("W:") || all.contains("E:"), "{all}");
}

#[test]
fn bad_input_leaves_the_repository_untouched() {
    let fx = Fixture::new(&[]);
    let good = fx.deb("good", "1", "amd64");
    let arm = fx.deb("armonly", "1", "arm64");
    let junk = fx.sb.path("junk.deb");
    std::fs::write(&junk, "not a package").expect("junk");
    let cut = fx.sb.path("cut.deb");
    let bytes = std::fs::read(&good).expect("good");
    std::fs::write(&cut, &bytes[..bytes.len() - 30]).expect("cut");
    let no_version = crate::common::craft_deb(
        &fx.sb,
        &fx.sb.path("crafted"),
        "nover.deb",
        "Package: nover\nArchitecture: amd64\n",
        &[("./usr/share/nover", "x\n")],
    );
    let snapshot = |fx: &Fixture| {
        crate::common::tree_listing(&fx.repo)
            .into_iter()
            .filter(|(p, _, _)| !p.ends_with("lock"))
            .collect::<Vec<_>>()
    };
    let before = snapshot(&fx);
    let good_arg = good.to_str().expect("utf8");
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (vec![good_arg, junk.to_str().expect("utf8")], 2, format!("error: {} cannot be added\n  caused by: {} is not a valid Debian package: it is not an ar archive\n", junk.display(), junk.display())),
        (vec![cut.to_str().expect("utf8")], 2, format!("error: {} cannot be added\n", cut.display())),
        (vec![arm.to_str().expect("utf8")], 2, "error: armonly_1_arm64.deb is for architecture arm64, which this repository does not carry (it carries: amd64, all)\n".to_owned()),
        (vec![no_version.to_str().expect("utf8")], 2, format!("error: {} cannot be added\n  caused by: invalid control data\n  caused by: the control file has no Version field\n", no_version.display())),
        (vec![good_arg, "--suite", "nope"], 2, "error: no suite \"nope\" in this repository (it has: stable)\n".to_owned()),
    ];
    for (args, code, want) in cases {
        let mut full = vec!["repo", "add", fx.repo_arg()];
        full.extend(args.iter().copied());
        let run = fx.bk(&full);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with(&want),
            "{args:?}:\n{}\nwant prefix:\n{want}",
            run.stderr
        );
        assert_eq!(snapshot(&fx), before, "{args:?} changed the repository");
    }
    let not_repo = fx.sb.path("plain");
    std::fs::create_dir_all(&not_repo).expect("mkdir");
    let run = fx.bk(&["repo", "list", not_repo.to_str().expect("utf8")]);
    assert_eq!((run.code, run.stderr.clone()), (2, format!("error: {} is not a git-buildkit repository (no .buildkit/repo.toml)\nhint: create one with `git buildkit repo init PATH`\n", not_repo.display())));

    // Same name, version and architecture with other bytes is refused.
    fx.bk(&["repo", "add", fx.repo_arg(), good_arg]).ok();
    let other = fx.sb.path("other");
    write_files(&other, &[("DEBIAN/control", "Package: good\nVersion: 1\nArchitecture: amd64\nMaintainer: T <t@example.com>\nDescription: different bytes\n", false)]);
    let out = fx.sb.path("other-out");
    let rebuilt = fx
        .sb
        .bk(
            &fx.sb.path(""),
            &[
                "deb",
                "build",
                other.to_str().expect("utf8"),
                "-o",
                out.to_str().expect("utf8"),
            ],
        )
        .ok();
    let before = snapshot(&fx);
    let run = fx.bk(&["repo", "add", fx.repo_arg(), rebuilt.stdout.trim()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.starts_with("error: pool/main/g/good/good_1_amd64.deb is already in the pool with different contents"), "{}", run.stderr);
    assert_eq!(snapshot(&fx), before);

    // Without a key in the store, signing commands say what to do.
    let empty = fx.sb.path("no-keys");
    let run = fx.sb.bk_env(
        &fx.sb.path(""),
        &["repo", "publish", fx.repo_arg()],
        &[("BUILDKIT_KEY_STORE", empty.to_str().expect("utf8"))],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn concurrent_adds_both_land() {
    let fx = Fixture::new(&[]);
    let a: Vec<String> = (0..15)
        .map(|i| {
            fx.deb(&format!("alpha{i}"), "1", "amd64")
                .display()
                .to_string()
        })
        .collect();
    let b: Vec<String> = (0..15)
        .map(|i| {
            fx.deb(&format!("beta{i}"), "1", "all")
                .display()
                .to_string()
        })
        .collect();
    let spawn = |debs: &[String]| {
        Command::new(Sandbox::bk_path())
            .args(["-q", "repo", "add", fx.repo_arg()])
            .args(debs)
            .env("BUILDKIT_KEY_STORE", &fx.store)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (first, second) = (spawn(&a), spawn(&b));
    for child in [first, second] {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = fx
        .bk(&["repo", "list", fx.repo_arg(), "--json"])
        .ok()
        .stdout;
    let items: serde_json::Value = serde_json::from_str(&list).expect("json");
    assert_eq!(items.as_array().expect("array").len(), 30);
    fx.bk(&["repo", "verify", fx.repo_arg()]).ok();
    let server = fx.serve();
    clean_update(&fx, &server);
}

#[test]
fn kill_9_during_publish_leaves_a_repository_apt_still_updates_from() {
    let fx = Fixture::new(&[]);
    let debs: Vec<String> = (0..40)
        .map(|i| {
            fx.deb(&format!("pkg{i}"), "1", "amd64")
                .display()
                .to_string()
        })
        .collect();
    let server = fx.serve();
    for (round, delay_ms) in [5u64, 20, 40, 80, 120, 200].into_iter().enumerate() {
        let mut child = Command::new(Sandbox::bk_path())
            .args(["-q", "repo", "add", fx.repo_arg()])
            .args(&debs[round * 6..round * 6 + 6])
            .env("BUILDKIT_KEY_STORE", &fx.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let verify = fx.bk(&["repo", "verify", fx.repo_arg()]);
        assert_eq!(
            verify.code, 0,
            "after kill at {delay_ms} ms: {}{}",
            verify.stdout, verify.stderr
        );
        clean_update(&fx, &server);
    }
    // The next add finishes the job and cleans up what the killed runs left.
    fx.bk(&["repo", "add", fx.repo_arg(), &debs[39]]).ok();
    fx.bk(&["repo", "verify", fx.repo_arg()]).ok();
    clean_update(&fx, &server);
}

#[test]
fn copy_promotes_and_clone_makes_a_new_repository() {
    let fx = Fixture::new(&["--suite", "testing", "--suite", "stable", "--keep", "2"]);
    for v in ["1.0-1", "1.1-1", "1.2-1"] {
        let deb = fx.deb("app", v, "amd64");
        fx.bk(&[
            "repo",
            "add",
            fx.repo_arg(),
            deb.to_str().expect("utf8"),
            "--suite",
            "testing",
        ])
        .ok();
    }
    let list = fx.bk(&["repo", "list", fx.repo_arg()]).ok().stdout;
    assert_eq!(
        list, "testing/main app 1.2-1 amd64\ntesting/main app 1.1-1 amd64\n",
        "keep = 2 prunes the oldest"
    );
    let run = fx
        .bk(&[
            "repo",
            "copy",
            fx.repo_arg(),
            "--from",
            "testing",
            "--to",
            "stable",
            "app=1.2-1",
        ])
        .ok();
    assert_eq!(run.stdout, "copied app=1.2-1\n");
    let stable = fx
        .bk(&["repo", "list", fx.repo_arg(), "--suite", "stable"])
        .ok()
        .stdout;
    assert_eq!(stable, "stable/main app 1.2-1 amd64\n");

    let clone = fx.sb.path("clone");
    fx.bk(&[
        "repo",
        "clone",
        fx.repo_arg(),
        clone.to_str().expect("utf8"),
    ])
    .ok();
    let cloned = fx
        .bk(&["repo", "list", clone.to_str().expect("utf8")])
        .ok()
        .stdout;
    let original = fx.bk(&["repo", "list", fx.repo_arg()]).ok().stdout;
    assert_eq!(
        original,
        "stable/main app 1.2-1 amd64\ntesting/main app 1.2-1 amd64\ntesting/main app 1.1-1 amd64\n"
    );
    assert_eq!(cloned, original);
    fx.bk(&["repo", "verify", clone.to_str().expect("utf8")])
        .ok();
}

#[test]
fn verify_repair_rebuilds_a_lost_index_cache() {
    let fx = Fixture::new(&[]);
    let deb = fx.deb("keepme", "2.0-1", "amd64");
    fx.bk(&["repo", "add", fx.repo_arg(), deb.to_str().expect("utf8")])
        .ok();
    let gen = std::fs::read_link(fx.repo.join("dists")).expect("link");
    let index = fx.repo.join(gen.parent().expect("gen")).join("index");
    std::fs::remove_dir_all(&index).expect("lose the cache");
    let run = fx.bk(&["repo", "list", fx.repo_arg()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    fx.bk(&["repo", "verify", fx.repo_arg(), "--repair"]).ok();
    let list = fx.bk(&["repo", "list", fx.repo_arg()]).ok().stdout;
    assert_eq!(list, "stable/main keepme 2.0-1 amd64\n");
    assert!(Path::new(&fx.repo).join("dists/stable/InRelease").is_file());
}

#[test]
fn serve_stdio_answers_one_connection_on_stdin_and_stdout() {
    use std::io::Write;
    let fx = Fixture::new(&[]);
    let mut child = Command::new(Sandbox::bk_path())
        .args(["repo", "serve", "--stdio", fx.repo_arg()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let request = "GET /dists/stable/Release HTTP/1.1\r\nHost: 10.0.2.100\r\n\r\nGET /.buildkit/repo.toml HTTP/1.1\r\nHost: 10.0.2.100\r\nConnection: close\r\n\r\n";
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let release = std::fs::read_to_string(fx.repo.join("dists/stable/Release")).expect("Release");
    let (first, second) = text.split_once(&release).expect("the Release body");
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(
        first.contains(&format!("\r\nContent-Length: {}\r\n", release.len())),
        "{first}"
    );
    assert!(
        second.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "private state must not be served: {second}"
    );
}

/// Issue 10: a relative `[repo] path` in .buildkit.toml starts at the work
/// tree holding the file, whatever the current directory, and `repo` finds
/// the same repository the pipeline published into; a path typed on the
/// command line starts at the current directory. (`repo` took the
/// configured path from the current directory before.)
#[test]
fn a_relative_configured_repo_path_starts_at_the_work_tree_from_a_subdirectory() {
    let sb = Sandbox::new();
    let project = sb.hello();
    let config = project.join(".buildkit.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{text}\n[repo]\npath = \"apt\"\n")).expect("write");
    sb.commit(
        &project,
        "2026-03-01T10:00:00Z",
        "Publish beside the work tree",
    );
    sb.tag(&project, "2026-03-01T10:00:00Z", "v1.2.0");
    sb.generate_key(&project, "Test Packages", "ops@example.com");
    let sub = project.join("etc");
    let apt = project.join("apt");

    sb.bk(&sub, &["-q", "pipeline", "v1.2.0"]).ok();
    assert!(
        apt.join(".buildkit").is_dir(),
        "the pipeline published into <work tree>/apt"
    );
    let list = sb.bk(&sub, &["-q", "repo", "list"]).ok();
    assert_eq!(list.stdout, "stable/main hello 1.2.0-1 all\n");
    assert!(
        !sub.join("apt").exists(),
        "nothing under the current directory"
    );

    let typed = sb
        .bk(&sub, &["-q", "repo", "init", "typed", "--arch", "amd64"])
        .ok();
    assert_eq!(typed.stdout, "typed\n");
    assert!(
        sub.join("typed/.buildkit").is_dir(),
        "a typed path starts at the current directory"
    );
}

/// Issue 10: the per-project default repository needs HOME; an empty HOME is
/// a usage error naming it, not a repository under `./.local/share`.
#[test]
fn the_default_repository_without_home_is_a_usage_error() {
    let sb = Sandbox::new();
    let project = sb.hello();
    let run = sb.bk_env(&project, &["repo", "list"], &[("HOME", "")]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (
            2,
            "",
            "error: cannot locate the apt repository\n  caused by: HOME is not set\nhint: set HOME to your home directory, or name the directory\n"
        )
    );
    assert!(!project.join(".local").exists());
}

/// A `.buildkit.toml` that does not parse stops a `repo` command with its
/// line and column; it is never a reason to fall back to the per-project
/// default repository (found on review of issue 10: the fallback would
/// create or publish into a repository the configuration does not name).
#[test]
fn a_broken_config_is_an_error_not_the_default_repository() {
    let sb = Sandbox::new();
    let project = sb.hello();
    let config = project.join(".buildkit.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        format!("{text}\n[repo]\npath = \"apt\"\n\n[vm]\nmemory = \"lots\"\n"),
    )
    .expect("write");
    sb.commit(&project, "2026-03-01T10:00:00Z", "A typo in [vm]");
    let data = sb.path("data");
    let run = sb.bk_env(
        &project,
        &["repo", "init", "--arch", "amd64"],
        &[("XDG_DATA_HOME", data.to_str().expect("utf8"))],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("HEAD:.buildkit.toml") && run.stderr.contains("memory"),
        "{}",
        run.stderr
    );
    assert!(!data.exists(), "no default repository was created");
    assert!(!project.join("apt").exists(), "nor the configured one");
}

mod crash;
mod indexes;
mod promises;

#[test]
fn repo_sources_takes_the_projects_url_when_none_is_given() {
    let sb = Sandbox::new();
    let config = "[repo]\npath = \"apt\"\nurl = \"http://127.0.0.1:9/hello/\"\n";
    let repo = sb.repo("project", &[(".buildkit.toml", config, false)]);
    sb.generate_key(&repo, "Sources Test", "sources@example.com");
    sb.bk(&repo, &["-q", "repo", "init"]).ok();
    let run = sb.bk(&repo, &["repo", "sources"]).ok();
    assert!(
        run.stdout
            .starts_with("Types: deb\nURIs: http://127.0.0.1:9/hello/\n"),
        "{}",
        run.stdout
    );
    // --url wins; without either, a clear error.
    let run = sb
        .bk(&repo, &["repo", "sources", "--url", "http://127.0.0.1:8/"])
        .ok();
    assert!(
        run.stdout.contains("\nURIs: http://127.0.0.1:8/\n"),
        "{}",
        run.stdout
    );
    let apt = repo.join("apt");
    let run = sb.bk(
        &sb.path(""),
        &["repo", "sources", apt.to_str().expect("utf8")],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no URL for the sources"),
        "{}",
        run.stderr
    );
}
