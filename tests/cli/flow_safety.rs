//! Issue 9, items 18 and 19: `flow abort` never silently drops work made
//! since a finish stopped, and every `start` is all or nothing; `init`
//! writes `[flow]` into an existing `.buildkit.toml`. Real git throughout.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use crate::common::{write_files, Run, Sandbox};

const ABORT_HINT: &str = "hint: keep what you want first (a branch: `git branch NAME COMMIT`; changes: `git stash`), or drop it with `git buildkit flow abort --force`\n";

fn bk(sb: &Sandbox, repo: &Path, args: &[&str]) -> Run {
    let mut full = vec!["-q"];
    full.extend_from_slice(args);
    sb.bk(repo, &full)
}

fn git(sb: &Sandbox, repo: &Path, args: &[&str]) -> String {
    sb.git(repo, args)
}

fn commit(sb: &Sandbox, repo: &Path, file: &str, text: &str, message: &str) {
    write_files(repo, &[(file, text, false)]);
    git(sb, repo, &["add", "-A"]);
    git(sb, repo, &["commit", "-q", "-m", message]);
}

/// A repository set up by `git buildkit init`, on develop.
fn flow_repo(sb: &Sandbox, name: &str) -> PathBuf {
    let repo = sb.repo(name, &[("README", "hello\n", false)]);
    bk(sb, &repo, &["init", "--no-hooks"]).ok();
    repo
}

/// develop and release/1.0.0 both change `shared`: the back-merge of the
/// tag into develop stops on a conflict. Returns the refs before the finish.
fn stopped_finish(sb: &Sandbox, name: &str) -> (PathBuf, String) {
    let repo = flow_repo(sb, name);
    commit(sb, &repo, "shared", "base\n", "Add shared");
    bk(sb, &repo, &["release", "start", "1.0.0"]).ok();
    commit(sb, &repo, "shared", "release\n", "Release edit");
    git(sb, &repo, &["checkout", "-q", "develop"]);
    commit(sb, &repo, "shared", "develop\n", "Develop edit");
    git(sb, &repo, &["checkout", "-q", "release/1.0.0"]);
    let before = sb.refs(&repo);
    let run = bk(sb, &repo, &["release", "finish", "-m", "Release 1.0.0"]);
    assert_eq!(
        (run.code, run.stderr.lines().nth(1)),
        (
            1,
            Some("error: the merge of v1.0.0 into develop stopped with conflicts in: shared")
        ),
        "{}",
        run.stderr
    );
    (repo, before)
}

#[test]
fn abort_refuses_to_lose_a_commit_made_since_the_stop_and_force_drops_it() {
    let sb = Sandbox::new();
    let (repo, before) = stopped_finish(&sb, "moved");
    // The user concludes the merge, then thinks better of the release.
    write_files(&repo, &[("shared", "develop\n", false)]);
    git(&sb, &repo, &["add", "shared"]);
    git(&sb, &repo, &["commit", "-q", "--no-edit"]);
    let concluded = sb.refs(&repo);
    let merge = git(&sb, &repo, &["rev-parse", "--short", "develop"]);

    let run = bk(&sb, &repo, &["flow", "abort"]);
    assert_eq!(
        (run.code, run.stderr),
        (
            2,
            format!(
                "error: flow abort of the finish of release/1.0.0 would lose branch develop: \
                 1 commit made since the finish stopped ({merge} Merge tag 'v1.0.0' into develop)\n\
                 {ABORT_HINT}"
            )
        )
    );
    assert_eq!(sb.refs(&repo), concluded, "a refused abort changes nothing");
    assert_eq!(
        bk(&sb, &repo, &["flow", "status"])
            .ok()
            .stdout
            .lines()
            .next(),
        Some("finishing release/1.0.0 (release)")
    );

    bk(&sb, &repo, &["flow", "abort", "--force"]).ok();
    sb.assert_finish_undone(&repo, &before);
}

#[test]
fn abort_refuses_to_lose_uncommitted_changes_beside_the_merge() {
    let sb = Sandbox::new();
    let (repo, before) = stopped_finish(&sb, "dirty");
    let stopped = sb.refs(&repo);
    // `shared` holds conflict markers: the merge's, dropped by an abort.
    // README is the user's own change.
    write_files(&repo, &[("README", "my edit\n", false)]);

    let run = bk(&sb, &repo, &["flow", "abort"]);
    assert_eq!(
        (run.code, run.stderr),
        (
            2,
            format!(
                "error: flow abort of the finish of release/1.0.0 would lose the uncommitted change to README\n{ABORT_HINT}"
            )
        )
    );
    assert_eq!(sb.refs(&repo), stopped);
    assert!(
        repo.join(".git/MERGE_HEAD").exists(),
        "the merge is still there"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("README")).expect("README"),
        "my edit\n"
    );

    bk(&sb, &repo, &["flow", "abort", "--force"]).ok();
    assert_eq!(sb.refs(&repo), before);
    assert_eq!(git(&sb, &repo, &["status", "--porcelain"]), "");
    assert_eq!(
        std::fs::read_to_string(repo.join("README")).expect("README"),
        "hello\n"
    );
}

/// Adds `version-files` to develop's `.buildkit.toml`, with a VERSION file
/// and a Python module carrying 1.0.0, committed.
fn with_version_files(sb: &Sandbox, repo: &Path, version_files: &str) {
    let config = repo.join(".buildkit.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    write_files(
        repo,
        &[
            (
                ".buildkit.toml",
                &format!("{text}version-files = {version_files}\n"),
                false,
            ),
            ("VERSION", "1.0.0\n", false),
            (
                "app.py",
                "import os\n__version__ = \"1.0.0\"\nDEBUG = False\n",
                false,
            ),
        ],
    );
    git(sb, repo, &["add", "-A"]);
    git(sb, repo, &["commit", "-q", "-m", "Track the version"]);
}

#[test]
fn release_start_is_all_or_nothing_and_patterns_match_per_line() {
    let sb = Sandbox::new();
    let repo = flow_repo(&sb, "start");
    with_version_files(
        &sb,
        &repo,
        r#"[{ path = "app.py", regex = '^__version__ = "(.*)"$' }, { path = "VERSION", regex = '^version: (.*)$' }]"#,
    );
    let before = sb.refs(&repo);
    // The second file's pattern does not match: nothing happens at all.
    for _ in 0..2 {
        let run = bk(&sb, &repo, &["release", "start", "1.1.0"]);
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (2, "error: VERSION: the version pattern does not match\n")
        );
        assert_eq!(sb.refs(&repo), before);
        assert_eq!(git(&sb, &repo, &["status", "--porcelain"]), "");
    }

    // The README's example pattern, `^(.*)$`, is the first line.
    let config = repo.join(".buildkit.toml");
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace("'^version: (.*)$'", "'^(.*)$'");
    write_files(&repo, &[(".buildkit.toml", &text, false)]);
    git(&sb, &repo, &["commit", "-q", "-am", "Fix the pattern"]);
    let run = bk(&sb, &repo, &["release", "start", "1.1.0"]).ok();
    assert_eq!(run.stdout, "release/1.1.0\n");
    assert_eq!(
        git(&sb, &repo, &["symbolic-ref", "--short", "HEAD"]),
        "release/1.1.0"
    );
    assert_eq!(
        git(&sb, &repo, &["log", "-1", "--format=%s"]),
        "Bump version to 1.1.0"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("VERSION")).expect("VERSION"),
        "1.1.0\n"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("app.py")).expect("app.py"),
        "import os\n__version__ = \"1.1.0\"\nDEBUG = False\n"
    );
}

#[test]
fn a_start_whose_bump_commit_is_refused_leaves_no_branch() {
    let sb = Sandbox::new();
    let repo = flow_repo(&sb, "hook");
    with_version_files(&sb, &repo, r#"[{ path = "VERSION", regex = '^(.*)$' }]"#);
    let hook = repo.join(".git/hooks/pre-commit");
    write_files(
        &repo,
        &[(
            ".git/hooks/pre-commit",
            "#!/bin/sh\necho 'no commits today' >&2\nexit 1\n",
            true,
        )],
    );
    assert!(hook.exists());
    let before = sb.refs(&repo);
    // Refused, and refused the same way again: no branch was left behind.
    for _ in 0..2 {
        let run = bk(&sb, &repo, &["release", "start", "1.1.0"]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(
            run.stderr.lines().next(),
            Some("error: git failed"),
            "{}",
            run.stderr
        );
        assert_eq!(sb.refs(&repo), before);
        assert_eq!(git(&sb, &repo, &["status", "--porcelain"]), "");
        assert_eq!(
            std::fs::read_to_string(repo.join("VERSION")).expect("VERSION"),
            "1.0.0\n"
        );
    }
    // A dirty tree is refused before anything, too.
    write_files(&repo, &[("README", "changed\n", false)]);
    let run = bk(&sb, &repo, &["release", "start", "1.1.0"]);
    assert_eq!(
        (run.code, run.stderr.lines().next()),
        (2, Some("error: the work tree has uncommitted changes"))
    );
    assert_eq!(sb.refs(&repo), before);
}

#[test]
fn init_appends_flow_to_an_existing_buildkit_toml_once() {
    let sb = Sandbox::new();
    let mine = "# my project\n[hooks]\non-tag = [\"package\"]  # only build\n";
    let repo = sb.repo("existing", &[(".buildkit.toml", mine, false)]);
    bk(&sb, &repo, &["init", "--no-hooks"]).ok();
    let flow = "[flow]\nmain = \"main\"\ndevelop = \"develop\"\nprefix = { feature = \"feature/\", bugfix = \"bugfix/\", release = \"release/\", hotfix = \"hotfix/\", support = \"support/\", version-tag = \"v\" }\n";
    assert_eq!(
        git(&sb, &repo, &["show", "develop:.buildkit.toml"]),
        format!("{mine}\n{flow}").trim_end()
    );
    assert_eq!(
        git(&sb, &repo, &["log", "-1", "--format=%s", "develop"]),
        "Add [flow] to .buildkit.toml"
    );
    assert_eq!(git(&sb, &repo, &["status", "--porcelain"]), "");
    // main keeps the file as it was; a second init adds nothing.
    assert_eq!(
        git(&sb, &repo, &["show", "main:.buildkit.toml"]),
        mine.trim_end()
    );
    let develop = git(&sb, &repo, &["rev-parse", "develop"]);
    bk(&sb, &repo, &["init", "--no-hooks"]).ok();
    assert_eq!(git(&sb, &repo, &["rev-parse", "develop"]), develop);

    // No file at all: one is committed with the table.
    let fresh = sb.repo("fresh", &[("README", "hi\n", false)]);
    bk(&sb, &fresh, &["init", "--no-hooks"]).ok();
    assert_eq!(
        git(&sb, &fresh, &["show", "develop:.buildkit.toml"]),
        format!("# git-buildkit configuration: read from the commit being packaged.\n\n{flow}")
            .trim_end()
    );
}
