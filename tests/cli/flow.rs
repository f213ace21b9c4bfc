//! The branch workflow against gitflow-avh itself (Debian's git-flow), on
//! identical repositories with fixed dates: same commits, same tags, same
//! branches, down to the object ids.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use crate::common::{write_files, Run, Sandbox};

const DATE: &str = "2026-03-01T12:00:00Z";

/// Runs a command in `repo` with every git date fixed, so that equal
/// operations make equal objects.
pub(crate) fn at(sb: &Sandbox, repo: &Path, program: &str, args: &[&str]) -> Run {
    let mut cmd = std::process::Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.path(""))
        .env("LC_ALL", "C")
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Flow Tester")
        .env("GIT_AUTHOR_EMAIL", "flow@example.com")
        .env("GIT_COMMITTER_NAME", "Flow Tester")
        .env("GIT_COMMITTER_EMAIL", "flow@example.com")
        .env("GIT_AUTHOR_DATE", DATE)
        .env("GIT_COMMITTER_DATE", DATE)
        .env("GIT_MERGE_AUTOEDIT", "no")
        .current_dir(repo)
        .args(args);
    cmd.output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
        .into()
}

pub(crate) fn bk(sb: &Sandbox, repo: &Path, args: &[&str]) -> Run {
    let bin = Sandbox::bk_path();
    let mut full = vec!["-q"];
    full.extend_from_slice(args);
    at(sb, repo, bin.to_str().expect("utf8"), &full)
}

pub(crate) fn git(sb: &Sandbox, repo: &Path, args: &[&str]) -> String {
    at(sb, repo, "git", args).ok().stdout.trim_end().to_owned()
}

pub(crate) fn commit(sb: &Sandbox, repo: &Path, file: &str, text: &str, message: &str) {
    write_files(repo, &[(file, text, false)]);
    git(sb, repo, &["add", "-A"]);
    git(sb, repo, &["commit", "-q", "-m", message]);
}

/// A repository on `main` with one commit, initialised by `git flow init -d`.
pub(crate) fn avh_repo(sb: &Sandbox, name: &str) -> PathBuf {
    let repo = sb.path(name);
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(sb, &repo, &["init", "-q", "-b", "main"]);
    commit(sb, &repo, "README", "hello\n", "Initial commit");
    at(sb, &repo, "git", &["flow", "init", "-d"]).ok();
    repo
}

/// The scenario: a two-commit feature, a one-commit feature, a release, a hotfix.
fn scenario(sb: &Sandbox, repo: &Path, tool: &dyn Fn(&[&str])) {
    tool(&["feature", "start", "login"]);
    commit(sb, repo, "login", "1\n", "Add login");
    commit(sb, repo, "login", "2\n", "Improve login");
    tool(&["feature", "finish", "login"]);
    tool(&["feature", "start", "logout"]);
    commit(sb, repo, "logout", "1\n", "Add logout");
    tool(&["feature", "finish", "logout"]);
    tool(&["release", "start", "1.1.0"]);
    commit(sb, repo, "CHANGES", "1.1.0\n", "Changes for 1.1.0");
    // avh's shflags glue a positional version onto -m's message: name neither.
    tool(&["release", "finish", "-m", "Release"]);
    tool(&["hotfix", "start", "1.1.1"]);
    commit(sb, repo, "README", "hello, fixed\n", "Fix the greeting");
    tool(&["hotfix", "finish", "-m", "Hotfix"]);
}

#[test]
fn same_history_as_gitflow_avh() {
    let sb = Sandbox::new();
    let theirs = avh_repo(&sb, "avh");
    let ours = avh_repo(&sb, "ours");
    scenario(&sb, &theirs, &|args| {
        let mut full = vec!["flow"];
        full.extend_from_slice(args);
        at(&sb, &theirs, "git", &full).ok();
    });
    scenario(&sb, &ours, &|args| {
        bk(&sb, &ours, args).ok();
    });
    let graph = |repo: &Path| git(&sb, repo, &["log", "--graph", "--all", "--format=%s %d"]);
    assert_eq!(graph(&ours), graph(&theirs));
    // Same trees everywhere, same commits on main, tags on the same commits.
    // Only objects that embed a tag message differ: avh appends the tag name
    // to -m's message when no filter is installed (gitflow-common
    // run_filter_hook echoes all its arguments); we keep the message as
    // given. The back-merge commits embed the tag (mergetag), so develop's
    // tip differs by that alone.
    let trees = |repo: &Path| {
        git(
            &sb,
            repo,
            &["log", "--all", "--topo-order", "--format=%T %s"],
        )
    };
    assert_eq!(trees(&ours), trees(&theirs));
    let peeled = |repo: &Path| {
        git(
            &sb,
            repo,
            &[
                "for-each-ref",
                "--format=%(refname) %(if)%(*objectname)%(then)%(*objectname)%(else)%(tree)%(end)",
            ],
        )
    };
    assert_eq!(peeled(&ours), peeled(&theirs));
    assert_eq!(
        git(&sb, &ours, &["rev-parse", "main"]),
        git(&sb, &theirs, &["rev-parse", "main"])
    );
    assert_eq!(
        git(&sb, &ours, &["cat-file", "tag", "1.1.0"])
            .lines()
            .last(),
        Some("Release")
    );
    assert_eq!(
        git(&sb, &theirs, &["cat-file", "tag", "1.1.0"])
            .lines()
            .last(),
        Some("Release 1.1.0")
    );
    // avh's empty version-tag prefix (from `git flow init -d`) was honoured.
    assert_eq!(git(&sb, &ours, &["tag"]), "1.1.0\n1.1.1");
}

/// develop and the release branch both change `shared`; the back-merge of the tag conflicts.
fn conflicted(sb: &Sandbox, name: &str) -> PathBuf {
    let repo = avh_repo(sb, name);
    commit(sb, &repo, "shared", "base\n", "Add shared");
    bk(sb, &repo, &["release", "start", "1.0.0"]).ok();
    commit(sb, &repo, "shared", "release\n", "Release edit");
    git(sb, &repo, &["checkout", "-q", "develop"]);
    commit(sb, &repo, "shared", "develop\n", "Develop edit");
    git(sb, &repo, &["checkout", "-q", "release/1.0.0"]);
    repo
}

#[test]
fn conflicted_release_finish_continues_to_a_complete_finish() {
    let sb = Sandbox::new();
    let repo = conflicted(&sb, "c");
    let run = bk(&sb, &repo, &["release", "finish", "-m", "Release 1.0.0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "warning: predicted conflict: release/1.0.0 into develop: shared\nerror: the merge of 1.0.0 into develop stopped with conflicts in: shared\nhint: resolve the conflicts, `git add` the files and `git commit`, then run `git buildkit flow continue` (or `git buildkit flow abort` to undo the whole finish)\n"
    );
    let status = bk(&sb, &repo, &["flow", "status"]).ok().stdout;
    assert_eq!(
        status,
        "finishing release/1.0.0 (release)\n  done    merge release/1.0.0 into main\n  done    tag main as 1.0.0\n  STOPPED merge 1.0.0 into develop\n  pending delete branch release/1.0.0\n  pending run post-flow-release-finish\n  pending check out develop\nresolve the conflicts, `git add` the files and `git commit`, then `git buildkit flow continue`;\nor `git buildkit flow abort` to put every branch and tag back where it was\n"
    );
    // Continuing before the merge is concluded is refused.
    let early = bk(&sb, &repo, &["flow", "continue"]);
    assert_eq!(early.code, 1);
    assert!(early.stderr.starts_with("error: the merge into develop is not concluded: git still has a merge in progress (MERGE_HEAD)"), "{}", early.stderr);
    write_files(&repo, &[("shared", "develop\n", false)]);
    git(&sb, &repo, &["add", "shared"]);
    git(&sb, &repo, &["commit", "-q", "--no-edit"]);
    bk(&sb, &repo, &["flow", "continue"]).ok();
    assert_eq!(
        bk(&sb, &repo, &["flow", "status"]).ok().stdout,
        "no finish in progress\n"
    );
    // The same shape as a finish without a conflict: the tag on main's merge,
    // the tag merged into develop, the branch gone, back on develop.
    assert_eq!(
        git(&sb, &repo, &["log", "-1", "--format=%s", "1.0.0"]),
        "Merge branch 'release/1.0.0'"
    );
    assert_eq!(
        git(&sb, &repo, &["log", "-1", "--format=%s", "develop"]),
        "Merge tag '1.0.0' into develop"
    );
    assert_eq!(
        git(&sb, &repo, &["rev-parse", "develop^2"]),
        git(&sb, &repo, &["rev-parse", "1.0.0^{commit}"])
    );
    assert_eq!(git(&sb, &repo, &["branch", "--list", "release/*"]), "");
    assert_eq!(
        git(&sb, &repo, &["symbolic-ref", "--short", "HEAD"]),
        "develop"
    );
    // A second continue has nothing to do.
    let again = bk(&sb, &repo, &["flow", "continue"]);
    assert_eq!(
        (again.code, again.stderr.as_str()),
        (2, "error: no finish is in progress\n")
    );
}

#[test]
fn flow_abort_restores_every_ref_exactly() {
    let sb = Sandbox::new();
    let repo = conflicted(&sb, "a");
    let before = sb.refs(&repo);
    let run = bk(&sb, &repo, &["release", "finish", "-m", "Release 1.0.0"]);
    assert_eq!(run.code, 1);
    assert_ne!(
        sb.refs(&repo),
        before,
        "the finish changed main and made a tag"
    );
    bk(&sb, &repo, &["flow", "abort"]).ok();
    sb.assert_finish_undone(&repo, &before);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let sb = Sandbox::new();
    let repo = avh_repo(&sb, "b");
    bk(&sb, &repo, &["release", "start", "1.0.0"]).ok();
    bk(&sb, &repo, &["release", "finish", "-m", "1.0.0"]).ok();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["release", "start", "banana"], 2, "error: \"banana\" is not a semantic version (like 1.4.0 or 1.4.0-rc.1)\n"),
        (vec!["release", "start", "0.9.0"], 2, "error: version 0.9.0 is not greater than the latest version tag 1.0.0\nhint: choose a version above 1.0.0, e.g. with --bump minor\n"),
        (vec!["release", "finish"], 2, "error: \"develop\" is not a release branch (they start with \"release/\")\nhint: check out the branch to finish, or name it\n"),
        (vec!["feature", "finish", "nope"], 2, "error: branch \"feature/nope\" does not exist\n"),
        (vec!["flow", "abort"], 2, "error: no finish is in progress\n"),
    ];
    for (args, code, want) in cases {
        let before = sb.refs(&repo);
        let run = bk(&sb, &repo, &args);
        assert_eq!((run.code, run.stderr.as_str()), (code, want), "{args:?}");
        assert_eq!(sb.refs(&repo), before, "{args:?} changed refs");
    }
    // A dirty tree stops a finish before anything happens.
    bk(&sb, &repo, &["feature", "start", "x"]).ok();
    commit(&sb, &repo, "x", "1\n", "x");
    write_files(&repo, &[("README", "dirty\n", false)]);
    let before = sb.refs(&repo);
    let run = bk(&sb, &repo, &["feature", "finish"]);
    assert_eq!((run.code, run.stderr.as_str()), (2, "error: the work tree has uncommitted changes\nhint: commit or stash your changes first (`git status` shows them)\n"));
    assert_eq!(sb.refs(&repo), before);
    // A tag that already exists.
    git(&sb, &repo, &["checkout", "-q", "--", "README"]);
    git(&sb, &repo, &["tag", "2.0.0", "main"]);
    let run = bk(&sb, &repo, &["release", "start", "2.0.0"]);
    assert_eq!(run.code, 2);
    // An unknown branch type is a usage error from the parser.
    let run = bk(&sb, &repo, &["epic", "start", "x"]);
    assert_eq!(run.code, 2);
    // Without develop the flow is not initialised.
    let bare = sb.path("plain");
    std::fs::create_dir_all(&bare).expect("mkdir");
    git(&sb, &bare, &["init", "-q", "-b", "main"]);
    commit(&sb, &bare, "a", "a\n", "a");
    let run = bk(&sb, &bare, &["feature", "start", "x"]);
    assert_eq!((run.code, run.stderr.as_str()), (2, "error: this repository is not initialised for git-flow: branch develop does not exist\nhint: run `git buildkit init` (or `git buildkit init --defaults`)\n"));
}

#[test]
fn version_files_are_bumped_and_checked_and_avh_hooks_run() {
    let sb = Sandbox::new();
    let repo = sb.path("v");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&sb, &repo, &["init", "-q", "-b", "main"]);
    commit(
        &sb,
        &repo,
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
        "Start",
    );
    let init = bk(&sb, &repo, &["init"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let toml = std::fs::read_to_string(repo.join(".buildkit.toml")).expect("toml");
    std::fs::write(
        repo.join(".buildkit.toml"),
        format!("{toml}version-files = [{{ path = \"Cargo.toml\" }}]\n")
            .replace("[flow]\n", "[flow]\n"),
    )
    .expect("write");
    let toml = std::fs::read_to_string(repo.join(".buildkit.toml")).expect("toml");
    assert!(toml.contains("version-files"), "{toml}");
    git(
        &sb,
        &repo,
        &["commit", "-qam", "Track the version in Cargo.toml"],
    );
    // avh hooks: a filter changes the version, a post hook records its arguments.
    let hooks = repo.join(".git/hooks");
    write_files(
        &hooks,
        &[
            (
                "filter-flow-release-start-version",
                "#!/bin/sh\necho \"$1\" | sed 's/^v//'\n",
                true,
            ),
            (
                "post-flow-release-start",
                "#!/bin/sh\necho \"$@\" > \"$DOT_GIT_DIR/post-args\"\n",
                true,
            ),
        ],
    );
    let branch = bk(&sb, &repo, &["release", "start", "v0.2.0"]).ok().stdout;
    assert_eq!(branch, "release/0.2.0\n");
    assert_eq!(
        std::fs::read_to_string(repo.join(".git/post-args")).expect("args"),
        "v0.2.0 origin release/0.2.0 develop\n"
    );
    assert_eq!(
        git(&sb, &repo, &["log", "-1", "--format=%s"]),
        "Bump version to 0.2.0"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("Cargo.toml")).expect("cargo"),
        "[package]\nname = \"x\"\nversion = \"0.2.0\"\n"
    );
    // A file that disagrees with the tag stops the finish before it starts.
    commit(
        &sb,
        &repo,
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = \"9.9.9\"\n",
        "Oops",
    );
    let before = sb.refs(&repo);
    let run = bk(&sb, &repo, &["release", "finish"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "error: Cargo.toml: carries version 9.9.9, but the tag would be 0.2.0\n"
        )
    );
    assert_eq!(sb.refs(&repo), before);
    // A pre hook that refuses stops it too, with its output shown.
    commit(
        &sb,
        &repo,
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = \"0.2.0\"\n",
        "Fix",
    );
    write_files(
        &hooks,
        &[(
            "pre-flow-release-finish",
            "#!/bin/sh\necho \"not on Fridays\"\nexit 3\n",
            true,
        )],
    );
    let run = bk(&sb, &repo, &["release", "finish"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "error: hook pre-flow-release-finish refused (exit status 3)\n  not on Fridays\n"
        )
    );
    std::fs::remove_file(hooks.join("pre-flow-release-finish")).expect("rm");
    assert_eq!(
        bk(&sb, &repo, &["release", "finish"]).ok().stdout,
        "v0.2.0\n"
    );
}

#[test]
fn finish_with_fetch_refuses_a_branch_behind_the_remote() {
    let sb = Sandbox::new();
    let repo = avh_repo(&sb, "local");
    let remote = sb.path("remote.git");
    git(
        &sb,
        &sb.path(""),
        &["init", "-q", "--bare", remote.to_str().expect("utf8")],
    );
    git(
        &sb,
        &repo,
        &["remote", "add", "origin", remote.to_str().expect("utf8")],
    );
    git(&sb, &repo, &["push", "-q", "origin", "main", "develop"]);
    // Someone else pushes to develop.
    let other = sb.path("other");
    git(
        &sb,
        &sb.path(""),
        &[
            "clone",
            "-q",
            "-b",
            "develop",
            remote.to_str().expect("utf8"),
            "other",
        ],
    );
    commit(&sb, &other, "theirs", "1\n", "Their work");
    git(&sb, &other, &["push", "-q", "origin", "develop"]);
    bk(&sb, &repo, &["release", "start", "1.0.0"]).ok();
    let before = sb.refs(&repo);
    let run = bk(&sb, &repo, &["release", "finish", "--fetch", "-m", "1.0.0"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "error: branch \"develop\" is behind origin/develop\nhint: bring develop up to date first, e.g. `git checkout develop && git merge origin/develop`\n")
    );
    let after: String = sb
        .refs(&repo)
        .lines()
        .filter(|l| !l.starts_with("refs/remotes/"))
        .collect::<Vec<_>>()
        .join("\n");
    let before: String = before
        .lines()
        .filter(|l| !l.starts_with("refs/remotes/"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(after, before, "only the remote-tracking refs may move");
}
