//! `git buildkit package --worktree` (issue 16): the work tree as it is,
//! with its uncommitted `.buildkit.toml`, packaged in the same clean export
//! as a tag, labelled as a trial build, and refused by `repo add`.

use std::path::Path;

use pretty_assertions::assert_eq;

use crate::common::{assert_lintian_clean, dir_names, write_files, Sandbox};

/// hello's `.buildkit.toml` with a new asset and a build that fails when an
/// ignored file or the package's own output reached the export.
fn changed_config(repo: &Path) -> String {
    std::fs::read_to_string(repo.join(".buildkit.toml"))
        .expect("config")
        .replace(
            "mkdir -p build\n",
            "mkdir -p build\ntest ! -e scratch.log && test ! -e dist && test -e share/extra.txt\n",
        )
        .replace(
            "  { src = \"etc/hello.conf\", dest = \"/etc/hello.conf\" },\n",
            "  { src = \"etc/hello.conf\", dest = \"/etc/hello.conf\" },\n  \
             { src = \"share/extra.txt\", dest = \"/usr/share/hello/extra.txt\" },\n",
        )
}

/// One file of a .deb's data.
fn deb_file(sb: &Sandbox, deb: &str, path: &str) -> String {
    let script = format!("dpkg-deb --fsys-tarfile '{deb}' | tar -xOf - '{path}'");
    sb.run(&sb.path(""), "sh", &["-c", &script]).ok().stdout
}

/// The paths of a .deb's data.
fn deb_paths(sb: &Sandbox, deb: &str) -> Vec<String> {
    let contents = sb.run(&sb.path(""), "dpkg-deb", &["--contents", deb]).ok();
    contents
        .stdout
        .lines()
        .map(|l| l.split_whitespace().last().expect("path").to_owned())
        .collect()
}

/// `git status` with ignored files, and HEAD: what must not change.
fn tree_state(sb: &Sandbox, repo: &Path) -> String {
    let status = sb
        .git_at(
            repo,
            "2026-01-01T00:00:00Z",
            &["status", "--porcelain=v1", "--ignored"],
        )
        .stdout;
    let head = sb.git(repo, &["rev-parse", "HEAD"]);
    let stash = sb.git(repo, &["stash", "list"]);
    format!("{status}HEAD {head}\nstash [{stash}]")
}

fn dpkg_lt(sb: &Sandbox, a: &str, b: &str) -> bool {
    let run = sb.run(&sb.path(""), "dpkg", &["--compare-versions", a, "lt", b]);
    run.code == 0
}

#[test]
fn worktree_build_has_the_uncommitted_change_and_the_tag_build_not() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    let conf = std::fs::read_to_string(repo.join("etc/hello.conf")).expect("conf");
    write_files(
        &repo,
        &[
            (".buildkit.toml", &changed_config(&repo), false),
            (
                "etc/hello.conf",
                &conf.replace("\"Hi\"", "\"Howdy\""),
                false,
            ),
            ("share/extra.txt", "not committed yet\n", false),
            ("scratch.log", "ignored\n", false),
        ],
    );
    std::fs::write(repo.join(".git/info/exclude"), "*.log\n").expect("exclude");
    let before = tree_state(&sb, &repo);
    assert_eq!(
        before,
        format!(
            " M .buildkit.toml\n M etc/hello.conf\n?? share/\n!! scratch.log\nHEAD {}\nstash []",
            sb.git(&repo, &["rev-parse", "v1.1.0^{commit}"])
        )
    );

    let out = sb.path("out");
    let out_arg = out.to_str().expect("utf8");
    let run = sb
        .bk(&repo, &["package", "--worktree", "-o", out_arg, "--json"])
        .ok();
    assert_eq!(tree_state(&sb, &repo), before, "the work tree is untouched");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let debs = json.as_array().expect("array");
    assert_eq!(debs.len(), 1, "{json}");
    let version = debs[0]["version"].as_str().expect("version").to_owned();
    let hash = version
        .strip_prefix("1.1.0+0.wt")
        .and_then(|v| v.strip_suffix("-1"))
        .unwrap_or_else(|| panic!("a work tree version: {version}"));
    assert!(
        hash.len() == 10 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{version}"
    );
    assert_eq!(debs[0]["source"], "worktree");
    assert_eq!(debs[0]["name"], "hello");
    let file = format!("hello_{version}_all.deb");
    assert_eq!(dir_names(&out), std::slice::from_ref(&file));
    assert!(
        run.stderr.contains(&format!(
            "packaging the work tree as 1.1.0+0.wt{hash}: a trial build, not a release"
        )),
        "{}",
        run.stderr
    );
    let deb = out.join(&file);
    let deb = deb.to_str().expect("utf8");
    assert_eq!(
        sb.run(&repo, "dpkg-deb", &["-f", deb, "Version"])
            .ok()
            .stdout,
        format!("{version}\n")
    );
    assert_eq!(
        deb_file(&sb, deb, "./usr/share/hello/extra.txt"),
        "not committed yet\n"
    );
    assert_eq!(
        deb_file(&sb, deb, "./etc/hello.conf"),
        conf.replace("\"Hi\"", "\"Howdy\"")
    );
    let changelog = format!(
        "dpkg-deb --fsys-tarfile '{deb}' | tar -xOf - ./usr/share/doc/hello/changelog.Debian.gz | gzip -dc | head -4"
    );
    assert_eq!(
        sb.run(&repo, "sh", &["-c", &changelog]).stdout,
        format!(
            "hello ({version}) unstable; urgency=medium\n\n  * Built from the work tree with its uncommitted changes: a trial build, not a\n    release.\n"
        )
    );
    assert_lintian_clean(&sb, &repo, deb);

    // It sorts above the commit's release and below the next release and
    // the next commit's snapshot: the next real build replaces it.
    for (lower, higher) in [
        ("1.1.0-1", version.as_str()),
        (version.as_str(), "1.1.1~rc.1-1"),
        (version.as_str(), "1.1.1-1"),
        (version.as_str(), "1.1.0+1.gabcdef0-1"),
    ] {
        assert!(dpkg_lt(&sb, lower, higher), "{lower} < {higher}");
    }

    // The tag's build has none of it.
    let tagged = sb.path("tagged");
    let run = sb
        .bk(
            &repo,
            &[
                "package",
                "v1.1.0",
                "-o",
                tagged.to_str().expect("utf8"),
                "--json",
            ],
        )
        .ok();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(
        (json[0]["version"].as_str(), json[0]["source"].as_str()),
        (Some("1.1.0-1"), Some("commit"))
    );
    let tag_deb = tagged.join("hello_1.1.0-1_all.deb");
    let tag_deb = tag_deb.to_str().expect("utf8");
    assert_eq!(deb_file(&sb, tag_deb, "./etc/hello.conf"), conf);
    let paths = deb_paths(&sb, tag_deb);
    assert!(!paths.iter().any(|p| p.contains("extra.txt")), "{paths:?}");
    assert!(deb_paths(&sb, deb).contains(&"./usr/share/hello/extra.txt".to_owned()));
    assert_eq!(tree_state(&sb, &repo), before);

    // Output inside the work tree (not ignored) is left out of the next
    // build's files: the same files give the same version, twice (the
    // build fails if dist/ reaches the export).
    for _ in 0..2 {
        let run = sb
            .bk(&repo, &["-q", "package", "--worktree", "-o", "dist"])
            .ok();
        assert_eq!(run.stdout, format!("dist/{file}\n"));
    }
    std::fs::remove_dir_all(repo.join("dist")).expect("rm dist");
    // `-o .`: the tree's own files stay in, the .deb written there is left out.
    for _ in 0..2 {
        let run = sb
            .bk(&repo, &["-q", "package", "--worktree", "-o", "."])
            .ok();
        assert_eq!(run.stdout, format!("./{file}\n"));
    }
    std::fs::remove_file(repo.join(&file)).expect("rm");
    assert_eq!(tree_state(&sb, &repo), before);
}

#[test]
fn repo_add_refuses_a_worktree_build_unless_allowed() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    sb.generate_key(&repo, "Test Packages", "ops@example.com");
    write_files(&repo, &[("share/new.txt", "new\n", false)]);
    let out = sb.path("out");
    let run = sb
        .bk(
            &repo,
            &[
                "-q",
                "package",
                "--worktree",
                "-o",
                out.to_str().expect("utf8"),
            ],
        )
        .ok();
    let deb = run.stdout.trim().to_owned();
    let version = sb
        .run(&repo, "dpkg-deb", &["-f", &deb, "Version"])
        .ok()
        .stdout;
    let version = version.trim();
    let apt = sb.path("apt");
    let apt_arg = apt.to_str().expect("utf8");
    sb.bk(&repo, &["-q", "repo", "init", apt_arg]).ok();
    let run = sb.bk(&repo, &["-q", "repo", "add", apt_arg, &deb]);
    assert_eq!(
        (run.code, run.stderr),
        (
            2,
            format!(
                "error: {deb} is a work tree build ({version}, from `package --worktree`): it holds uncommitted files and is never published\n\
                 hint: package a tag (`git buildkit package TAG`) to publish it; --allow-worktree if you mean it\n"
            )
        )
    );
    let listed = sb.bk(&repo, &["repo", "list", apt_arg]).ok().stdout;
    assert_eq!(listed, "", "nothing was added");
    let run = sb
        .bk(
            &repo,
            &["-q", "repo", "add", apt_arg, &deb, "--allow-worktree"],
        )
        .ok();
    assert_eq!(run.stdout, format!("added hello={version}\n"));
}

#[test]
fn worktree_before_the_first_tag_sorts_below_every_release() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    sb.git(&repo, &["tag", "-d", "v1.0.0", "v1.1.0"]);
    let out = sb.path("out");
    let run = sb
        .bk(
            &repo,
            &[
                "package",
                "--worktree",
                "-o",
                out.to_str().expect("utf8"),
                "--json",
            ],
        )
        .ok();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let version = json[0]["version"].as_str().expect("version");
    assert!(
        version.starts_with("0.0.0~wt") && version.ends_with("-1") && version.len() == 20,
        "{version}"
    );
    assert!(dpkg_lt(&sb, version, "0.0.0-1"), "{version}");
    assert!(dpkg_lt(&sb, version, "0.0.1~rc.1-1"), "{version}");
    let deb = json[0]["path"].as_str().expect("path");
    assert_lintian_clean(&sb, &repo, deb);
}

#[test]
fn worktree_errors_name_the_file_on_disk_and_need_a_work_tree() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    let config = std::fs::read_to_string(repo.join(".buildkit.toml")).expect("config");
    write_files(
        &repo,
        &[(
            ".buildkit.toml",
            &config.replace("section = \"utils\"", "sektion = \"utils\""),
            false,
        )],
    );
    let out = sb.path("out");
    let out_arg = out.to_str().expect("utf8");
    let run = sb.bk(&repo, &["-q", "package", "--worktree", "-o", out_arg]);
    let line = config
        .lines()
        .position(|l| l == "section = \"utils\"")
        .expect("the section line")
        + 1;
    assert_eq!(
        (run.code, run.stderr),
        (
            2,
            format!(
                "error: {}/.buildkit.toml:{line}:1: unknown field `sektion`, expected one of `name`, `description`, `maintainer`, `architecture`, `section`, `priority`, `homepage`, `revision`, `pre-depends`, `depends`, `recommends`, `suggests`, `conflicts`, `provides`, `replaces`, `breaks`, `build`, `test`, `assets`, `maintainer-scripts`, `copyright`, `compression`, `build-env`, `build-timeout`, `sandbox`, `network`, `strip`, `dbgsym`, `systemd`, `kind`, `python`, `allow-build-path`\n     |\n  {line} | sektion = \"utils\"\n     | ^\n\
                 hint: fix the file and run `git buildkit package --worktree` again\n",
                repo.display()
            )
        )
    );
    // The committed file is untouched by that: the tag still packages.
    sb.bk(&repo, &["-q", "package", "v1.1.0", "-o", out_arg])
        .ok();

    std::fs::remove_file(repo.join(".buildkit.toml")).expect("rm");
    let run = sb.bk(&repo, &["-q", "package", "--worktree", "-o", out_arg]);
    assert_eq!(
        (run.code, run.stderr),
        (
            2,
            format!(
                "error: the work tree has no .buildkit.toml: {}/.buildkit.toml does not exist\n\
                 hint: write a .buildkit.toml at the top of the work tree (`man 5 buildkit.toml`)\n",
                repo.display()
            )
        )
    );

    let bare = sb.path("bare.git");
    sb.git(
        &sb.path(""),
        &[
            "clone",
            "-q",
            "--bare",
            repo.to_str().expect("utf8"),
            "bare.git",
        ],
    );
    let run = sb.bk(&bare, &["-q", "package", "--worktree", "-o", out_arg]);
    assert_eq!(
        (run.code, run.stderr),
        (
            2,
            format!(
                "error: {} has no work tree: --worktree packages the files of one\n\
                 hint: run it in a checkout (a bare repository has only commits: `git buildkit package TAG`)\n",
                bare.display()
            )
        )
    );
    let run = sb.bk(&repo, &["-q", "package", "v1.1.0", "--worktree"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: the argument '[REF]' cannot be used with '--worktree'"),
        "{}",
        run.stderr
    );
}

#[test]
fn worktree_never_follows_a_symlink_out_of_the_tree_and_needs_a_commit() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    // A tracked directory replaced by a symlink to a directory outside:
    // git counts its files as deleted; the symlink itself is copied as a
    // symlink, and an asset through it is refused as for a tag.
    let outside = sb.path("outside");
    write_files(&outside, &[("passwd", "outside\n", false)]);
    write_files(&repo, &[("data/passwd", "committed\n", false)]);
    sb.commit(&repo, "2026-02-02T10:00:00Z", "Add data");
    std::fs::remove_dir_all(repo.join("data")).expect("rm data");
    std::os::unix::fs::symlink(&outside, repo.join("data")).expect("symlink");
    let config = std::fs::read_to_string(repo.join(".buildkit.toml"))
        .expect("config")
        .replace(
            "  { src = \"etc/hello.conf\", dest = \"/etc/hello.conf\" },\n",
            "  { src = \"etc/hello.conf\", dest = \"/etc/hello.conf\" },\n  \
             { src = \"data/passwd\", dest = \"/usr/share/hello/passwd\" },\n",
        );
    write_files(&repo, &[(".buildkit.toml", &config, false)]);
    let out = sb.path("out");
    let run = sb.bk(
        &repo,
        &[
            "-q",
            "package",
            "--worktree",
            "-o",
            out.to_str().expect("utf8"),
        ],
    );
    assert_eq!(
        (run.code, run.stderr),
        (
            2,
            format!(
                "error: package hello: asset \"data/passwd\" leads outside the exported tree: data -> {}\n\
                 hint: symlinks in the tree may point only inside it; package the file itself\n",
                outside.display()
            )
        )
    );
    assert_eq!(dir_names(&out), Vec::<String>::new());
    assert_eq!(
        std::fs::read_to_string(outside.join("passwd")).expect("outside"),
        "outside\n"
    );

    let fresh = sb.path("fresh");
    std::fs::create_dir(&fresh).expect("mkdir");
    sb.git(&fresh, &["init", "-q", "-b", "main"]);
    write_files(&fresh, &[(".buildkit.toml", &config, false)]);
    let run = sb.bk(&fresh, &["-q", "package", "--worktree"]);
    assert_eq!(
        (run.code, run.stderr.lines().next()),
        (
            2,
            Some("error: HEAD has no commit yet: --worktree builds on HEAD (its time and history)")
        )
    );
    assert_eq!(
        run.stderr.lines().last(),
        Some("hint: make a first commit (`git commit`), then try again")
    );
}
