//! Finish options (issue 20) against gitflow-avh itself, each repository
//! with a bare origin: the same scenario with `git flow ... finish` and
//! `git buildkit ... finish` must end with the same history, refs (local
//! and the origin's), upstreams, avh's branch records and checkout.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use crate::common::{Run, Sandbox};
use crate::flow::{at, avh_repo, bk, commit, git};

/// An avh-initialised repository with a bare origin holding main and develop.
fn with_origin(sb: &Sandbox, name: &str) -> PathBuf {
    let repo = avh_repo(sb, name);
    let origin = sb.path(&format!("{name}-origin.git"));
    at(
        sb,
        &sb.path(""),
        "git",
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            origin.to_str().expect("utf8"),
        ],
    )
    .ok();
    git(
        sb,
        &repo,
        &["remote", "add", "origin", origin.to_str().expect("utf8")],
    );
    git(
        sb,
        &repo,
        &["push", "-q", "-u", "origin", "main", "develop"],
    );
    repo
}

/// Runs a flow command (`feature finish -S x`) with one tool.
type Tool<'a> = &'a dyn Fn(&[&str]) -> Run;

/// Runs `scenario` on an avh repository with `git flow` and on ours with
/// `git buildkit`, then compares them.
fn side_by_side(scenario: &dyn Fn(&Sandbox, &Path, Tool)) {
    side_by_side_with(scenario, &[]);
}

/// [`side_by_side`], also comparing the output of these git commands.
fn side_by_side_with(scenario: &dyn Fn(&Sandbox, &Path, Tool), also: &[&[&str]]) {
    let sb = Sandbox::new();
    let theirs = with_origin(&sb, "avh");
    let ours = with_origin(&sb, "ours");
    scenario(&sb, &theirs, &|args| {
        let mut full = vec!["flow"];
        full.extend_from_slice(args);
        at(&sb, &theirs, "git", &full)
    });
    scenario(&sb, &ours, &|args| bk(&sb, &ours, args));
    assert_same(&sb, &theirs, &ours);
    for args in also {
        assert_eq!(git(&sb, &ours, args), git(&sb, &theirs, args), "{args:?}");
    }
}

/// Everything a finish leaves, as text: history (subjects and trees: tag
/// messages differ, see flow.rs), refs peeled to trees, the origin's refs,
/// upstreams and avh's records, the branch checked out.
fn state(sb: &Sandbox, repo: &Path) -> Vec<String> {
    let origin = Path::new(&git(sb, repo, &["remote", "get-url", "origin"])).to_owned();
    let peeled = |dir: &Path| {
        git(
            sb,
            dir,
            &[
                "for-each-ref",
                "--format=%(refname) %(if)%(*objectname)%(then)%(*tree)%(else)%(tree)%(end)",
            ],
        )
    };
    vec![
        git(sb, repo, &["log", "--graph", "--all", "--format=%s %d"]),
        git(
            sb,
            repo,
            &["log", "--all", "--topo-order", "--format=%T %s"],
        ),
        peeled(repo),
        peeled(&origin),
        at(
            sb,
            repo,
            "git",
            &["config", "--get-regexp", r"^(branch|gitflow\.branch)\."],
        )
        .stdout
        .trim_end()
        .to_owned(),
        git(sb, repo, &["branch", "--show-current"]),
        git(sb, repo, &["status", "--porcelain"]),
    ]
}

fn assert_same(sb: &Sandbox, theirs: &Path, ours: &Path) {
    let labels = [
        "graph",
        "trees",
        "refs",
        "origin's refs",
        "config",
        "checkout",
        "status",
    ];
    for ((label, t), o) in labels.iter().zip(state(sb, theirs)).zip(state(sb, ours)) {
        assert_eq!(o, t, "{label} differs (left: ours, right: avh)");
    }
}

#[test]
fn feature_finish_options_as_avh() {
    // Whole messages too: the squash commits' (git's, and avh's --squash-info).
    let bodies: &[&str] = &["log", "--all", "--topo-order", "--format=%B"];
    side_by_side_with(
        &|sb, repo, tool| {
            // -S: two commits become one on develop; the branch is deleted (-D).
            tool(&["feature", "start", "squashed"]).ok();
            commit(sb, repo, "a", "1\n", "Add a");
            commit(sb, repo, "a", "2\n", "Improve a");
            tool(&["feature", "finish", "-S", "squashed"]).ok();
            // -r: rebased onto a develop that moved, then (one commit) fast-forwarded.
            tool(&["feature", "start", "rebased"]).ok();
            commit(sb, repo, "b", "1\n", "Add b");
            git(sb, repo, &["checkout", "-q", "develop"]);
            commit(sb, repo, "c", "1\n", "Add c on develop");
            tool(&["feature", "finish", "-r", "rebased"]).ok();
            // --push with the branch on the origin: develop pushed, then the
            // origin's branch deleted.
            tool(&["feature", "start", "shared"]).ok();
            commit(sb, repo, "d", "1\n", "Add d");
            commit(sb, repo, "d", "2\n", "Improve d");
            git(sb, repo, &["push", "-q", "-u", "origin", "feature/shared"]);
            tool(&["feature", "finish", "--push", "shared"]).ok();
            // -k and --no-ff.
            tool(&["feature", "start", "kept"]).ok();
            commit(sb, repo, "e", "1\n", "Add e");
            tool(&["feature", "finish", "-k", "--no-ff", "kept"]).ok();
            git(sb, repo, &["checkout", "-q", "develop"]);
            // A default in git config, as avh reads it: squash.
            git(
                sb,
                repo,
                &["config", "gitflow.feature.finish.squash", "true"],
            );
            tool(&["feature", "start", "configured"]).ok();
            commit(sb, repo, "f", "1\n", "Add f");
            commit(sb, repo, "f", "2\n", "Improve f");
            tool(&["feature", "finish", "configured"]).ok();
            git(
                sb,
                repo,
                &["config", "--unset", "gitflow.feature.finish.squash"],
            );
            // A bugfix, squashed with avh's message.
            tool(&["bugfix", "start", "crash"]).ok();
            commit(sb, repo, "g", "1\n", "Fix g");
            commit(sb, repo, "g", "2\n", "Fix g again");
            tool(&["bugfix", "finish", "-S", "--squash-info", "crash"]).ok();
        },
        &[bodies],
    );
}

#[test]
fn a_published_branch_finished_without_push_stays_on_the_origin() {
    // Here we differ from avh on purpose (the issue): without --push nothing
    // reaches the remote, not even the deletion of the branch there. (-p
    // is avh's --preserve-merges for a feature, never a push.)
    let sb = Sandbox::new();
    let repo = with_origin(&sb, "quiet");
    let origin = PathBuf::from(git(&sb, &repo, &["remote", "get-url", "origin"]));
    bk(&sb, &repo, &["feature", "start", "shared"]).ok();
    commit(&sb, &repo, "s", "1\n", "Add s");
    commit(&sb, &repo, "s", "2\n", "Improve s");
    git(
        &sb,
        &repo,
        &["push", "-q", "-u", "origin", "feature/shared"],
    );
    // Ahead of its remote-tracking branch, which `git branch -d` would hold against it.
    commit(&sb, &repo, "s", "3\n", "Improve s again");
    let origin_refs = || {
        git(
            &sb,
            &origin,
            &["for-each-ref", "--format=%(refname) %(objectname)"],
        )
    };
    let before = origin_refs();
    bk(&sb, &repo, &["feature", "finish", "-p", "shared"]).ok();
    assert_eq!(origin_refs(), before, "the finish pushed something");
    assert_eq!(git(&sb, &repo, &["branch", "--list", "feature/shared"]), "");
    assert_eq!(git(&sb, &repo, &["branch", "--show-current"]), "develop");
    // Its base stays recorded: the remote still has a branch of that name.
    assert_eq!(
        git(
            &sb,
            &repo,
            &["config", "gitflow.branch.feature/shared.base"]
        ),
        "develop"
    );
    assert_eq!(
        bk(&sb, &repo, &["flow", "status"]).ok().stdout,
        "no finish in progress\n"
    );
}

#[test]
fn release_and_hotfix_finish_options_as_avh() {
    side_by_side(&|sb, repo, tool| {
        // -S: one squashed commit on main, tagged, the tag merged back.
        tool(&["release", "start", "1.1.0"]).ok();
        commit(sb, repo, "CHANGES", "1.1.0\n", "Changes for 1.1.0");
        commit(
            sb,
            repo,
            "CHANGES",
            "1.1.0 final\n",
            "Final changes for 1.1.0",
        );
        tool(&["release", "finish", "-S", "-m", "Release"]).ok();
        // -n: no tag; main goes back into develop.
        tool(&["hotfix", "start", "1.1.1"]).ok();
        commit(sb, repo, "README", "hello, fixed\n", "Fix the greeting");
        tool(&["hotfix", "finish", "-n", "-m", "Hotfix"]).ok();
        // -b: the release branch itself goes back into develop; -k keeps it.
        tool(&["release", "start", "1.2.0"]).ok();
        commit(sb, repo, "CHANGES", "1.2.0\n", "Changes for 1.2.0");
        tool(&["release", "finish", "-b", "-k", "-m", "Release"]).ok();
        git(sb, repo, &["checkout", "-q", "develop"]);
        // (Kept, it would block the next release start, in avh as here.)
        git(sb, repo, &["branch", "-q", "-D", "release/1.2.0"]);
        // -T and --push, the branch published: develop, main and the tag
        // pushed, then the origin's hotfix branch deleted. (avh pushes
        // every tag, we push the new one: the others are pushed first.)
        git(sb, repo, &["push", "-q", "origin", "--tags"]);
        tool(&["hotfix", "start", "1.2.1"]).ok();
        commit(
            sb,
            repo,
            "README",
            "hello, fixed again\n",
            "Fix the greeting again",
        );
        git(sb, repo, &["push", "-q", "-u", "origin", "hotfix/1.2.1"]);
        tool(&[
            "hotfix",
            "finish",
            "-T",
            "1.2.1-custom",
            "--push",
            "-m",
            "Hotfix",
        ])
        .ok();
        // --nodevelopmerge: main and the tag only (a finish in CI).
        tool(&["release", "start", "1.3.0"]).ok();
        commit(sb, repo, "CHANGES", "1.3.0\n", "Changes for 1.3.0");
        tool(&["release", "finish", "--nodevelopmerge", "-m", "Release"]).ok();
    });
}

#[test]
fn a_finish_behind_the_origin_is_refused_as_avh_refuses_it() {
    side_by_side(&|sb, repo, tool| {
        tool(&["feature", "start", "late"]).ok();
        commit(sb, repo, "late", "1\n", "Add late");
        // Someone else pushed to develop; -F fetches it and finds ours behind.
        let other = sb.path(&format!(
            "{}-other",
            repo.file_name().and_then(|n| n.to_str()).expect("name")
        ));
        let origin = git(sb, repo, &["remote", "get-url", "origin"]);
        at(
            sb,
            &sb.path(""),
            "git",
            &[
                "clone",
                "-q",
                "-b",
                "develop",
                &origin,
                other.to_str().expect("utf8"),
            ],
        )
        .ok();
        commit(sb, &other, "other", "1\n", "Someone else's work");
        git(sb, &other, &["push", "-q", "origin", "develop"]);
        let run = tool(&["feature", "finish", "-F", "late"]);
        assert_ne!(run.code, 0, "a finish behind the origin went ahead");
        // Nothing happened but the fetch: still on the feature branch.
        assert_eq!(git(sb, repo, &["branch", "--show-current"]), "feature/late");
        std::fs::remove_dir_all(&other).expect("rm");
    });
}

/// What a refused command must leave as it was: refs, the checkout, the
/// work tree, upstreams and avh's branch records.
fn clone_state(sb: &Sandbox, repo: &Path) -> Vec<String> {
    vec![
        git(
            sb,
            repo,
            &["for-each-ref", "--format=%(refname) %(objectname)"],
        ),
        git(sb, repo, &["branch", "--show-current"]),
        git(sb, repo, &["status", "--porcelain"]),
        at(
            sb,
            repo,
            "git",
            &["config", "--get-regexp", r"^(branch|gitflow\.branch)\."],
        )
        .stdout,
    ]
}

#[test]
fn bad_finishes_change_nothing() {
    let sb = Sandbox::new();
    let repo = avh_repo(&sb, "bad");
    let snapshot = || clone_state(&sb, &repo);
    bk(&sb, &repo, &["feature", "start", "x"]).ok();
    commit(&sb, &repo, "x", "1\n", "Add x");
    commit(&sb, &repo, "y", "1\n", "Add y");
    let before = snapshot();
    let cases: [(&[&str], i32, &str); 5] = [
        // No remote at all: nothing to push to, refused before the merge.
        (
            &["feature", "finish", "--push", "x"],
            2,
            "remote \"origin\" does not exist",
        ),
        (
            &["feature", "finish", "-F", "x"],
            2,
            "remote \"origin\" does not exist",
        ),
        (
            &["feature", "finish", "nosuch"],
            2,
            "branch \"feature/nosuch\" does not exist",
        ),
        (
            &["release", "finish", "-m", "R", "1.0.0"],
            2,
            "branch \"release/1.0.0\" does not exist",
        ),
        (
            &["feature", "finish", "-T", "x", "x"],
            2,
            "unexpected argument '-T'",
        ),
    ];
    for (args, code, message) in cases {
        let run = bk(&sb, &repo, args);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert_eq!(snapshot(), before, "{args:?} changed something");
    }
    // A squash that would conflict is refused before anything changes.
    bk(&sb, &repo, &["feature", "start", "clash"]).ok();
    commit(&sb, &repo, "README", "clash\n", "Clash on the branch");
    git(&sb, &repo, &["checkout", "-q", "develop"]);
    commit(&sb, &repo, "README", "develop\n", "Clash on develop");
    git(&sb, &repo, &["checkout", "-q", "feature/clash"]);
    let before = snapshot();
    let run = bk(&sb, &repo, &["feature", "finish", "-S"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "squashing feature/clash into develop conflicts in: feature/clash into develop: README"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(), before);
    assert_eq!(
        bk(&sb, &repo, &["flow", "status"]).ok().stdout,
        "no finish in progress\n"
    );
    // A rebase that conflicts is undone: no finish in progress, nothing moved.
    let run = bk(&sb, &repo, &["feature", "finish", "-r"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the rebase was aborted and nothing changed"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(), before);
    assert_eq!(
        bk(&sb, &repo, &["flow", "status"]).ok().stdout,
        "no finish in progress\n"
    );
}

#[test]
fn a_delete_whose_remote_push_is_refused_changes_nothing_here() {
    let sb = Sandbox::new();
    let repo = with_origin(&sb, "refused");
    bk(&sb, &repo, &["feature", "start", "x"]).ok();
    commit(&sb, &repo, "x", "1\n", "Add x");
    git(&sb, &repo, &["push", "-q", "-u", "origin", "feature/x"]);
    // The origin refuses every update from now on.
    let origin = PathBuf::from(git(&sb, &repo, &["remote", "get-url", "origin"]));
    let hook = origin.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho refused >&2\nexit 1\n").expect("hook");
    let mut perms = std::fs::metadata(&hook).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&hook, perms).expect("chmod");
    let snapshot = || clone_state(&sb, &repo);
    let before = snapshot();
    let run = bk(&sb, &repo, &["feature", "delete", "-f", "-r", "x"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        snapshot(),
        before,
        "a refused remote delete changed the clone"
    );
}
