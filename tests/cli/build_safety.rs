//! The build runs other people's code (issue 9, items 5–8 and 20): a clean
//! environment, a bwrap sandbox, a time limit that kills the whole process
//! group, symlinks that never bring host files into a package, and a
//! lintian-clean description from a one-line `description`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use crate::common::{assert_lintian_clean, dir_names, Run, Sandbox};

/// The start of every probe package's table.
const HEAD: &str = r#"[[package]]
name = "probe"
description = "probes its build\nA package the hardening tests build."
maintainer = "T <t@example.com>"
"#;

/// A directory outside /tmp (which the sandbox replaces anyway), so that
/// what the sandbox hides there is hidden by the rule under test.
fn outside_tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("bk-outside-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir")
}

/// Commits `files` and `.buildkit.toml` = `config`, tags `tag`.
fn commit_config(sb: &Sandbox, repo: &Path, config: &str, tag: &str) {
    std::fs::write(repo.join(".buildkit.toml"), config).expect("config");
    sb.commit(repo, "2026-01-02T10:00:00Z", tag);
    sb.tag(repo, "2026-01-02T10:00:00Z", tag);
}

fn package(sb: &Sandbox, repo: &Path, tag: &str, env: &[(&str, &str)]) -> (Run, PathBuf) {
    let dist = sb.path(&format!("dist-{tag}"));
    let run = sb.bk_env(
        repo,
        &["package", tag, "-o", dist.to_str().expect("utf8")],
        env,
    );
    (run, dist)
}

/// The contents of `file` in the package `deb`.
fn packaged_file(sb: &Sandbox, deb: &Path, file: &str) -> String {
    let out = sb.path(&format!(
        "x-{}",
        deb.file_name().expect("name").to_string_lossy()
    ));
    sb.run(
        &sb.path(""),
        "dpkg-deb",
        &[
            "-x",
            deb.to_str().expect("utf8"),
            out.to_str().expect("utf8"),
        ],
    )
    .ok();
    std::fs::read_to_string(out.join(file)).expect("packaged file")
}

/// Whether a process is alive (a zombie waiting for a reaper is not).
fn live(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .is_ok_and(|stat| !stat.rsplit(") ").next().is_some_and(|s| s.starts_with('Z')))
}

/// Whether a process is still alive a second later (a SIGKILLed process
/// takes a moment to exit).
fn alive(pid: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    while live(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    live(pid)
}

/// Live processes whose command line is exactly `argv`.
fn processes(argv: &[&str]) -> Vec<String> {
    let want = argv.join("\0") + "\0";
    std::fs::read_dir("/proc")
        .expect("proc")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want.as_bytes())
        })
        .filter(|pid| live(pid))
        .collect()
}

#[test]
fn the_build_gets_a_clean_environment_and_no_secret_of_the_caller() {
    let sb = Sandbox::new();
    let repo = sb.repo("envp", &[("COPYING", "Public domain.\n", false)]);
    let secrets = [
        ("BUILDKIT_KEY_PASSPHRASE", "hunter2"),
        ("BUILDKIT_KEY_PASSPHRASE_FILE", "/root/pass"),
        ("AWS_SECRET_ACCESS_KEY", "aws-secret"),
        ("SSH_AUTH_SOCK", "/run/user/0/agent"),
        ("CC", "clang-17"),
    ];
    for (n, sandbox) in ["auto", "none"].into_iter().enumerate() {
        let tag = format!("v1.0.{n}");
        let config = format!(
            "{HEAD}sandbox = \"{sandbox}\"\nbuild-env = [\"CC\", \"NOT_SET\"]\n\
             build = \"mkdir -p out && env | LC_ALL=C sort > out/env\"\n\
             assets = [{{ src = \"out/env\", dest = \"/usr/share/probe/env\" }}]\n\
             allow-build-path = [\"/usr/share/probe/env\"]\n"
        );
        commit_config(&sb, &repo, &config, &tag);
        let (run, dist) = package(&sb, &repo, &tag, &secrets);
        let run = run.ok();
        let deb = dist.join(format!("probe_1.0.{n}-1_all.deb"));
        assert_eq!(run.stdout, format!("{}\n", deb.display()));
        let env = packaged_file(&sb, &deb, "usr/share/probe/env");
        let home = env
            .lines()
            .find_map(|l| l.strip_prefix("HOME="))
            .expect("HOME");
        let run_dir = home
            .strip_suffix("/home")
            .expect("HOME in the run directory");
        let commit = sb.git(&repo, &["rev-parse", &format!("{tag}^{{commit}}")]);
        assert_eq!(
            env.replace(run_dir, "RUN"),
            format!(
                "BUILDKIT_COMMIT={commit}\nBUILDKIT_TAG={tag}\nBUILDKIT_VERSION=1.0.{n}\n\
                 CC=clang-17\nHOME=RUN/home\nLANG=C.UTF-8\n\
                 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
                 PWD=RUN/src\nSOURCE_DATE_EPOCH=1767348000\nTMPDIR=RUN/tmp\n"
            ),
            "sandbox = {sandbox}"
        );
        assert!(
            !Path::new(run_dir).exists(),
            "the throw-away HOME is removed"
        );
    }

    // A passphrase cannot be asked for by name either.
    let config = format!("{HEAD}build-env = [\"BUILDKIT_KEY_PASSPHRASE\"]\n");
    commit_config(&sb, &repo, &config, "v1.1.0");
    let run = sb.bk(&repo, &["-q", "package", "v1.1.0"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "error: v1.1.0:.buildkit.toml:5:14: build-env \"BUILDKIT_KEY_PASSPHRASE\": the signing key's passphrase never reaches a build
    |
  5 | build-env = [\"BUILDKIT_KEY_PASSPHRASE\"]
    |              ^
hint: the file is read from the commit being packaged; fix it, commit, and tag a new version (try the fix first with `git buildkit package --worktree`)
"
        )
    );
}

#[test]
fn the_sandbox_hides_home_and_keys_and_stops_writes_and_network() {
    let sb = Sandbox::new();
    let outside = outside_tmp();
    let home = outside.path().join("home");
    let data = outside.path().join("data");
    let keys = data.join("git-buildkit/keys");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&keys).expect("keys");
    std::fs::write(home.join("secret.txt"), "secret\n").expect("secret");
    std::fs::write(keys.join("ABC.key"), "key\n").expect("key");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    // Judged on the host: the test's own directories may be under /tmp,
    // which the sandbox replaces with a throw-away tmpfs.
    let written = outside.path().join("written");
    // On the root file system in any case: read-only in the sandbox.
    let probe_root = format!("/etc/bk-sandbox-probe-{port}");
    // Whether we are root: the owner of the directory we just made.
    let root = std::os::unix::fs::MetadataExt::uid(&outside.path().metadata().expect("stat")) == 0;
    let probe = format!(
        "mkdir -p out\n\
         r() {{ if \"$@\" >/dev/null 2>&1; then echo yes; else echo no; fi; }}\n\
         {{\n\
         echo \"home=$(r cat '{}/secret.txt')\"\n\
         echo \"keys=$(r cat '{}/ABC.key')\"\n\
         touch '{}' 2>/dev/null\n\
         echo \"root=$(r touch '{probe_root}')\"\n\
         echo \"net=$(r bash -c 'echo > /dev/tcp/127.0.0.1/{port}')\"\n\
         }} > out/report\n",
        home.display(),
        keys.display(),
        written.display()
    );
    let repo = sb.repo(
        "sandboxp",
        &[
            ("COPYING", "Public domain.\n", false),
            ("probe.sh", &probe, false),
        ],
    );
    let env = [
        ("HOME", home.to_str().expect("utf8")),
        ("XDG_DATA_HOME", data.to_str().expect("utf8")),
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ];
    let cases = [
        (
            "",
            "in a bwrap sandbox without network",
            "home=no\nkeys=no\nroot=no\nnet=no\n".to_owned(),
        ),
        (
            "network = true\n",
            "in a bwrap sandbox with network",
            "home=no\nkeys=no\nroot=no\nnet=yes\n".to_owned(),
        ),
        (
            "sandbox = \"none\"\n",
            "unsandboxed",
            format!(
                "home=yes\nkeys=yes\nroot={}\nnet=yes\n",
                if root { "yes" } else { "no" }
            ),
        ),
    ];
    for (n, (setting, how, report)) in cases.into_iter().enumerate() {
        let tag = format!("v1.0.{n}");
        let config = format!(
            "{HEAD}{setting}build = \"sh probe.sh\"\n\
             assets = [{{ src = \"out/report\", dest = \"/usr/share/probe/report\" }}]\n"
        );
        commit_config(&sb, &repo, &config, &tag);
        let (run, dist) = package(&sb, &repo, &tag, &env);
        let run = run.ok();
        let commit = sb.git(&repo, &["rev-parse", &format!("{tag}^{{commit}}")]);
        assert_eq!(
            run.stderr,
            format!(
                "   Exporting {tag} ({})\n    Building {how}: `sh probe.sh`\n   Packaging probe 1.0.{n}-1 (all)\n",
                &commit[..12]
            )
        );
        let deb = dist.join(format!("probe_1.0.{n}-1_all.deb"));
        assert_eq!(
            packaged_file(&sb, &deb, "usr/share/probe/report"),
            report,
            "{how}"
        );
        assert_eq!(written.exists(), how == "unsandboxed");
        let _ = std::fs::remove_file(&probe_root);
    }
}

#[test]
fn a_build_past_its_timeout_is_killed_with_its_whole_group() {
    let sb = Sandbox::new();
    let outside = outside_tmp();
    let pid_file = outside.path().join("pid");
    let repo = sb.repo("timeoutp", &[("COPYING", "Public domain.\n", false)]);
    let command = format!(
        "sleep 300 & echo $! > '{}'; echo started; wait",
        pid_file.display()
    );
    let config = format!("{HEAD}sandbox = \"none\"\nbuild-timeout = \"2s\"\nbuild = {command:?}\n");
    commit_config(&sb, &repo, &config, "v1.0.0");
    let started = Instant::now();
    let dist = sb.path("dist");
    let run = sb.bk(
        &repo,
        &[
            "-q",
            "package",
            "v1.0.0",
            "-o",
            dist.to_str().expect("utf8"),
        ],
    );
    let elapsed = started.elapsed();
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            format!(
                "error: build timed out after 2s: the build command `{command}` and every process it started were killed
  last lines of output:
    started
hint: raise `build-timeout` in the [[package]] (e.g. build-timeout = \"2h\") if the build needs longer
"
            )
            .as_str()
        )
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let pid = std::fs::read_to_string(&pid_file).expect("pid");
    assert!(!alive(&pid), "the build's background sleep {pid} survived");
    assert_eq!(dir_names(&dist), Vec::<String>::new());

    // In the sandbox too: nothing the build started outlives the timeout.
    let config = format!("{HEAD}build-timeout = \"2s\"\nbuild = \"sleep 3141 & sleep 3142\"\n");
    commit_config(&sb, &repo, &config, "v1.0.1");
    let started = Instant::now();
    let run = sb.bk(&repo, &["-q", "package", "v1.0.1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        (processes(&["sleep", "3141"]), processes(&["sleep", "3142"])),
        (Vec::new(), Vec::new())
    );
}

#[test]
fn a_daemon_left_behind_neither_hangs_the_pipeline_nor_survives_it() {
    let sb = Sandbox::new();
    let outside = outside_tmp();
    let pid_file = outside.path().join("pid");
    let repo = sb.repo("daemonp", &[("COPYING", "Public domain.\n", false)]);
    // The daemon keeps the build's stdout and stderr open.
    let command = format!(
        "sleep 30 & echo $! > '{}'; mkdir -p out; echo built > out/x",
        pid_file.display()
    );
    let config = format!(
        "{HEAD}sandbox = \"none\"\nbuild = {command:?}\n\
         assets = [{{ src = \"out/x\", dest = \"/usr/share/probe/x\" }}]\n\n\
         [hooks]\non-tag = [\"package\"]\n"
    );
    commit_config(&sb, &repo, &config, "v1.0.0");
    let started = Instant::now();
    let run = sb.bk(&repo, &["-q", "pipeline", "v1.0.0"]);
    let elapsed = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let pid = std::fs::read_to_string(&pid_file).expect("pid");
    assert!(!alive(&pid), "the daemon {pid} survived the build");

    // A timed-out pipeline releases the tag's lock: the next run runs (and
    // times out again) instead of finding the tag "already running".
    let config = format!(
        "{HEAD}sandbox = \"none\"\nbuild-timeout = \"1s\"\nbuild = \"sleep 30\"\n\n\
         [hooks]\non-tag = [\"package\"]\n"
    );
    commit_config(&sb, &repo, &config, "v1.0.1");
    let want = "error: the pipeline of v1.0.1 failed at package
  caused by: build timed out after 1s: the build command `sleep 30` and every process it started were killed
hint: raise `build-timeout` in the [[package]] (e.g. build-timeout = \"2h\") if the build needs longer
";
    for _ in 0..2 {
        let started = Instant::now();
        let run = sb.bk(&repo, &["-q", "pipeline", "v1.0.1"]);
        assert_eq!((run.code, run.stderr.as_str()), (1, want));
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

#[test]
fn symlinks_leading_outside_the_tree_are_refused_and_inside_ones_kept() {
    use std::os::unix::fs::symlink;
    let sb = Sandbox::new();
    let repo = sb.repo(
        "linkp",
        &[
            ("COPYING", "Public domain.\n", false),
            ("data/greeting.txt", "hello\n", false),
            ("scripts/prerm", "#!/bin/sh\nset -e\n", true),
        ],
    );
    for (target, link) in [
        ("/etc/passwd", "evil"),
        ("/etc", "etcdir"),
        ("../../../../../../etc/passwd", "data/up"),
        ("/etc/passwd", "copy-link"),
        ("/etc/passwd", "scripts/postinst"),
        ("greeting.txt", "data/hello.txt"),
        ("data", "alias"),
    ] {
        symlink(target, repo.join(link)).expect("symlink");
    }
    sb.commit(&repo, "2026-01-02T09:00:00Z", "Add links");
    let asset =
        |src: &str| format!("assets = [{{ src = \"{src}\", dest = \"/usr/share/probe/f\" }}]\n");
    let cases = [
        (asset("evil"), "asset \"evil\" leads outside the exported tree: evil -> /etc/passwd"),
        (asset("etcdir/passwd"), "asset \"etcdir/passwd\" leads outside the exported tree: etcdir -> /etc"),
        (asset("data/up"), "asset \"data/up\" leads outside the exported tree: data/up -> ../../../../../../etc/passwd"),
        ("copyright = \"copy-link\"\n".to_owned(), "copyright file \"copy-link\" leads outside the exported tree: copy-link -> /etc/passwd"),
        ("maintainer-scripts = \"scripts\"\n".to_owned(), "maintainer script \"scripts/postinst\" leads outside the exported tree: scripts/postinst -> /etc/passwd"),
    ];
    for (n, (setting, error)) in cases.into_iter().enumerate() {
        let tag = format!("v1.0.{n}");
        commit_config(&sb, &repo, &format!("{HEAD}{setting}"), &tag);
        let dist = sb.path(&format!("dist-{tag}"));
        let run = sb.bk(
            &repo,
            &["-q", "package", &tag, "-o", dist.to_str().expect("utf8")],
        );
        assert_eq!(
            (run.code, run.stderr),
            (
                2,
                format!("error: package probe: {error}\nhint: symlinks in the tree may point only inside it; package the file itself\n")
            )
        );
        assert_eq!(dir_names(&dist), Vec::<String>::new());
    }

    // Inside the tree: a symlink asset stays a symlink, a symlinked parent is followed.
    let config = format!(
        "{HEAD}assets = [\n  {{ src = \"data/greeting.txt\", dest = \"/usr/share/probe/greeting.txt\" }},\n  \
         {{ src = \"data/hello.txt\", dest = \"/usr/share/probe/hello.txt\" }},\n  \
         {{ src = \"alias/greeting.txt\", dest = \"/usr/share/probe/copy.txt\" }},\n]\n"
    );
    commit_config(&sb, &repo, &config, "v2.0.0");
    let (run, dist) = package(&sb, &repo, "v2.0.0", &[]);
    run.ok();
    let deb = dist.join("probe_2.0.0-1_all.deb");
    let deb = deb.to_str().expect("utf8");
    let contents = sb.run(&repo, "dpkg-deb", &["-c", deb]).ok().stdout;
    let entries: Vec<String> = contents
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {}", f[0], f[5..].join(" "))
        })
        .filter(|l| l.contains("/probe/"))
        .collect();
    assert_eq!(
        entries,
        [
            "drwxr-xr-x ./usr/share/doc/probe/",
            "-rw-r--r-- ./usr/share/doc/probe/changelog.Debian.gz",
            "-rw-r--r-- ./usr/share/doc/probe/copyright",
            "drwxr-xr-x ./usr/share/probe/",
            "-rw-r--r-- ./usr/share/probe/copy.txt",
            "-rw-r--r-- ./usr/share/probe/greeting.txt",
            "lrwxrwxrwx ./usr/share/probe/hello.txt -> greeting.txt",
        ]
    );
    assert_lintian_clean(&sb, &repo, deb);
}

#[test]
fn a_one_line_description_takes_the_readme_paragraph_or_is_refused() {
    let sb = Sandbox::new();
    let readme = "# probe\n\n[![ci](https://ci.example.com/b.svg)](https://ci.example.com)\n\n\
                  **probe** checks how a package is built: it records what the build\n\
                  saw, so that the [tests](https://example.com/tests) can compare it with what\n\
                  they expect.\n\nSecond paragraph.\n";
    let repo = sb.repo(
        "descp",
        &[
            ("COPYING", "Public domain.\n", false),
            ("README.md", readme, false),
        ],
    );
    // Two releases and a file: lintian warns about an empty package, and
    // about a first release that closes no (Debian ITP) bug.
    let config = "[[package]]\nname = \"probe\"\ndescription = \"probes its build\"\n\
                  maintainer = \"T <t@example.com>\"\n\
                  assets = [{ src = \"COPYING\", dest = \"/usr/share/probe/COPYING\" }]\n";
    commit_config(&sb, &repo, config, "v0.9.0");
    sb.git_at(
        &repo,
        "2026-01-03T10:00:00Z",
        &["commit", "-q", "--allow-empty", "-m", "Second release"],
    );
    sb.tag(&repo, "2026-01-03T10:00:00Z", "v1.0.0");
    let (run, dist) = package(&sb, &repo, "v1.0.0", &[]);
    run.ok();
    let deb = dist.join("probe_1.0.0-1_all.deb");
    let deb = deb.to_str().expect("utf8");
    let field = sb
        .run(&repo, "dpkg-deb", &["--field", deb, "Description"])
        .ok()
        .stdout;
    assert_eq!(
        field,
        "probes its build\n probe checks how a package is built: it records what the build saw, so\n \
         that the tests can compare it with what they expect.\n"
    );
    assert_lintian_clean(&sb, &repo, deb);

    // No README: refused, with an example.
    sb.git(&repo, &["rm", "-q", "README.md"]);
    commit_config(&sb, &repo, config, "v1.0.1");
    let run = sb.bk(&repo, &["-q", "package", "v1.0.1"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "error: package probe: the description is only a synopsis line, and the tree has no README paragraph to take the long description from
hint: write the long description after the synopsis line, for example:
  description = \"\"\"
  prints a friendly greeting
  A longer text saying what the package does, shown by `apt show`.
  \"\"\"
"
        )
    );
}
