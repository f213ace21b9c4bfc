//! gitflow-avh's branch commands besides start and finish (publish, track,
//! pull, delete, rebase, checkout, diff, rename, flow config) against
//! gitflow-avh itself (Debian's git-flow): the same scenario on identical
//! repositories, each with a bare origin, must end with the same refs here
//! and on the origin, the same upstream settings, the same recorded bases,
//! the same checked-out branch and the same commit graph. Setup steps run
//! `git flow` in both repositories, so only the command under test differs.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use crate::common::{write_files, Run, Sandbox};
use crate::flow::{at, avh_repo, bk, commit, git};

/// Two identical repositories (`avh`, run with `git flow`, and `ours`, run
/// with git-buildkit), each with a bare origin holding main and develop.
struct Pair {
    sb: Sandbox,
    avh: PathBuf,
    ours: PathBuf,
}

impl Pair {
    fn new() -> Self {
        let sb = Sandbox::new();
        let avh = avh_repo(&sb, "avh");
        let ours = avh_repo(&sb, "ours");
        for repo in [&avh, &ours] {
            let origin = origin_of(repo);
            git(
                &sb,
                repo,
                &["init", "-q", "--bare", origin.to_str().expect("utf8")],
            );
            git(
                &sb,
                repo,
                &["remote", "add", "origin", origin.to_str().expect("utf8")],
            );
            git(&sb, repo, &["push", "-q", "origin", "main", "develop"]);
        }
        Self { sb, avh, ours }
    }

    /// Runs `f` in both repositories (setup).
    fn each(&self, f: impl Fn(&Path)) {
        f(&self.avh);
        f(&self.ours);
    }

    /// `git flow ARGS` in both (setup).
    fn flow(&self, args: &[&str]) {
        self.each(|repo| self.avh_run(repo, args).ok().nothing());
    }

    fn avh_run(&self, repo: &Path, args: &[&str]) -> Run {
        let mut full = vec!["flow"];
        full.extend_from_slice(args);
        at(&self.sb, repo, "git", &full)
    }

    /// The command under test: `git flow ARGS` in avh, `git buildkit ARGS`
    /// (`flow config` for `config`) in ours.
    fn run(&self, args: &[&str]) -> (Run, Run) {
        let theirs = self.avh_run(&self.avh, args);
        let mut ours_args = args.to_vec();
        if args.first() == Some(&"config") {
            ours_args.insert(0, "flow");
        }
        (theirs, bk(&self.sb, &self.ours, &ours_args))
    }

    /// Runs the command in both, expects both to succeed and to leave the
    /// same state.
    fn same(&self, args: &[&str]) -> (Run, Run) {
        let (theirs, ours) = self.run(args);
        assert_eq!(theirs.code, 0, "avh {args:?}: {}", theirs.stderr);
        assert_eq!(ours.code, 0, "ours {args:?}: {}", ours.stderr);
        assert_eq!(
            state(&self.sb, &self.ours),
            state(&self.sb, &self.avh),
            "after {args:?}"
        );
        (theirs, ours)
    }

    /// Runs the command in both, expects ours to refuse it (exit status 2)
    /// and nothing to change in either; returns our stderr. (avh's exit
    /// status is not compared: its `checkout` of an ambiguous prefix exits 0.)
    fn refused(&self, args: &[&str]) -> String {
        self.refused_with(2, args)
    }

    fn refused_with(&self, code: i32, args: &[&str]) -> String {
        let before = state(&self.sb, &self.ours);
        let (_, ours) = self.run(args);
        assert_eq!(ours.code, code, "ours {args:?}: {}", ours.stderr);
        assert_eq!(
            state(&self.sb, &self.ours),
            before,
            "ours changed after {args:?}"
        );
        assert_eq!(
            state(&self.sb, &self.avh),
            before,
            "avh changed after {args:?}"
        );
        ours.stderr
    }

    fn git(&self, repo: &Path, args: &[&str]) -> String {
        git(&self.sb, repo, args)
    }
}

trait Nothing {
    fn nothing(self);
}

impl Nothing for Run {
    fn nothing(self) {}
}

fn origin_of(repo: &Path) -> PathBuf {
    repo.with_extension("origin.git")
}

/// Everything a command may change: local refs and the origin's, upstream
/// settings, gitflow.* config (branch bases), HEAD, the work tree's
/// changes and the commit graph.
fn state(sb: &Sandbox, repo: &Path) -> String {
    let refs = ["for-each-ref", "--format=%(refname) %(objectname)"];
    let config = |pattern: &str| {
        at(sb, repo, "git", &["config", "--get-regexp", pattern])
            .stdout
            .trim_end()
            .to_owned()
    };
    let origin = origin_of(repo);
    format!(
        "refs:\n{}\norigin:\n{}\nupstreams:\n{}\ngitflow:\n{}\nHEAD: {}\nstatus:\n{}\ngraph:\n{}",
        git(sb, repo, &refs),
        git(sb, &origin, &refs),
        config(r"^branch\."),
        config(r"^gitflow\."),
        git(sb, repo, &["symbolic-ref", "--quiet", "--short", "HEAD"]),
        git(sb, repo, &["status", "--porcelain"]),
        git(sb, repo, &["log", "--graph", "--all", "--format=%H %s"]),
    )
    // gitflow.path.hooks names the repository.
    .replace(repo.to_str().expect("utf8"), "<repo>")
}

#[test]
fn publish_track_and_delete_remote_as_avh() {
    let p = Pair::new();
    p.flow(&["feature", "start", "login"]);
    p.each(|r| commit(&p.sb, r, "login", "1\n", "Add login"));
    p.same(&["feature", "publish"]);
    // A published branch is refused (avh 1.12.3 pushes over it: its check
    // looks for refs/heads/origin/...).
    let ours = bk(&p.sb, &p.ours, &["feature", "publish", "login"]);
    assert_eq!(ours.code, 2);
    assert_eq!(
        ours.stderr,
        "error: origin already has a branch \"feature/login\": it is the same as yours\nhint: it is published already: `git push` updates it; to replace it, delete it first (`git push origin :feature/login`)\n"
    );
    // Someone else's branch: gone here, tracked again from the origin.
    p.each(|r| {
        git(&p.sb, r, &["checkout", "-q", "develop"]);
        git(&p.sb, r, &["branch", "-q", "-D", "feature/login"]);
    });
    p.same(&["feature", "track", "login"]);
    assert_eq!(
        p.git(
            &p.ours,
            &["rev-parse", "--abbrev-ref", "feature/login@{upstream}"]
        ),
        "origin/feature/login"
    );
    p.same(&["feature", "delete", "-f", "-r", "login"]);
    assert_eq!(
        p.git(&origin_of(&p.ours), &["branch", "--list", "feature/*"]),
        ""
    );

    p.flow(&["release", "start", "1.1.0"]);
    p.same(&["release", "publish", "1.1.0"]);
    p.each(|r| {
        git(&p.sb, r, &["checkout", "-q", "develop"]);
        git(&p.sb, r, &["branch", "-q", "-D", "release/1.1.0"]);
    });
    p.same(&["release", "track", "1.1.0"]);
    p.same(&["release", "delete", "-f", "-r", "1.1.0"]);

    p.flow(&["hotfix", "start", "1.0.1"]);
    p.same(&["hotfix", "publish"]);
    p.same(&["hotfix", "delete", "-f", "-r", "1.0.1"]);
    // avh 1.12.3's hotfix track always fails (it asks for
    // refs/heads/origin/hotfix/...); ours tracks as feature track does.
    let ours = &p.ours;
    git(
        &p.sb,
        ours,
        &["push", "-q", "origin", "main:refs/heads/hotfix/1.0.2"],
    );
    bk(&p.sb, ours, &["hotfix", "track", "1.0.2"]).ok();
    assert_eq!(
        p.git(ours, &["rev-parse", "--abbrev-ref", "HEAD@{upstream}"]),
        "origin/hotfix/1.0.2"
    );
}

#[test]
fn pull_merges_rebases_and_creates_as_avh() {
    let p = Pair::new();
    p.flow(&["feature", "start", "login"]);
    p.each(|r| commit(&p.sb, r, "login", "1\n", "Add login"));
    p.flow(&["feature", "publish"]);
    // The origin moves on (a colleague's commit); here we are behind.
    p.each(|r| {
        commit(&p.sb, r, "login", "2\n", "Colleague's login");
        git(&p.sb, r, &["push", "-q", "origin", "feature/login"]);
        git(&p.sb, r, &["reset", "-q", "--hard", "HEAD~1"]);
    });
    p.same(&["feature", "pull", "origin", "login"]);
    // Diverged: -r rebases ours onto theirs.
    p.each(|r| {
        commit(&p.sb, r, "other", "x\n", "Colleague's other");
        git(&p.sb, r, &["push", "-q", "origin", "feature/login"]);
        git(&p.sb, r, &["reset", "-q", "--hard", "HEAD~1"]);
        commit(&p.sb, r, "mine", "y\n", "My change");
    });
    p.same(&["feature", "pull", "-r", "origin"]);
    // `update` is the same command.
    p.each(|r| {
        commit(&p.sb, r, "more", "z\n", "Colleague's more");
        git(&p.sb, r, &["push", "-q", "origin", "feature/login"]);
        git(&p.sb, r, &["reset", "-q", "--hard", "HEAD~1"]);
    });
    let (theirs, _) = p.run(&["feature", "pull", "origin", "login"]);
    assert_eq!(theirs.code, 0);
    bk(&p.sb, &p.ours, &["feature", "update", "origin", "login"]).ok();
    assert_eq!(state(&p.sb, &p.ours), state(&p.sb, &p.avh));
    // No local branch: created from the remote's, not tracking it (as avh).
    p.each(|r| {
        git(&p.sb, r, &["checkout", "-q", "develop"]);
        git(&p.sb, r, &["branch", "-q", "-D", "feature/login"]);
    });
    p.same(&["feature", "pull", "origin", "login"]);
    // Pulling another branch into this one is refused, and a dirty tree.
    p.flow(&["feature", "start", "logout"]);
    let stderr = p.refused(&["feature", "pull", "origin", "login"]);
    assert_eq!(
        stderr,
        "error: refusing to pull feature/login while on feature/logout: that would merge one branch into another\nhint: check out feature/login first (or name the current branch)\n"
    );
    p.each(|r| write_files(r, &[("README", "changed\n", false)]));
    let stderr = p.refused(&["feature", "pull", "origin"]);
    assert!(
        stderr.starts_with("error: the work tree has uncommitted changes\n"),
        "{stderr}"
    );
}

#[test]
fn delete_rebase_checkout_diff_rename_as_avh() {
    let p = Pair::new();
    p.flow(&["feature", "start", "login"]);
    p.each(|r| commit(&p.sb, r, "login", "1\n", "Add login"));
    p.flow(&["feature", "start", "logout"]);
    p.each(|r| commit(&p.sb, r, "logout", "1\n", "Add logout"));
    p.each(|r| {
        git(&p.sb, r, &["checkout", "-q", "develop"]);
        commit(&p.sb, r, "develop", "1\n", "Develop moves on");
    });
    // Prefix resolution: exact, the one match, several.
    p.same(&["feature", "checkout", "logi"]);
    p.same(&["feature", "co", "logout"]);
    let stderr = p.refused(&["feature", "checkout", "log"]);
    assert_eq!(
        stderr,
        "error: several branches match \"feature/log*\": feature/login, feature/logout\nhint: give more of the name\n"
    );
    let stderr = p.refused(&["feature", "checkout", "nothing"]);
    assert!(
        stderr.starts_with("error: no branch matches \"feature/nothing*\"\n"),
        "{stderr}"
    );
    // The current branch onto develop, then a named one.
    p.same(&["feature", "rebase"]);
    // -i runs git's interactive rebase (its editor here: `true`).
    p.each(|r| {
        git(&p.sb, r, &["config", "sequence.editor", "true"]);
    });
    p.same(&["feature", "rebase", "-i", "login"]);
    let (theirs, ours) = p.same(&["feature", "diff", "login"]);
    assert_eq!(ours.stdout, theirs.stdout);
    assert!(ours.stdout.contains("+++ b/login"), "{}", ours.stdout);
    // Rename moves the recorded base with the branch.
    p.same(&["feature", "rename", "sign-in"]);
    assert_eq!(
        p.git(&p.ours, &["config", "gitflow.branch.feature/sign-in.base"]),
        "develop"
    );
    p.same(&["feature", "rename", "sign-out", "logout"]);
    // Unmerged: refused; merged: deleted, its base forgotten.
    let stderr = p.refused(&["feature", "delete", "sign-out"]);
    assert_eq!(
        stderr,
        "error: branch \"feature/sign-out\" is not merged into develop\nhint: use -f (--force) to delete it anyway\n"
    );
    p.each(|r| {
        git(&p.sb, r, &["checkout", "-q", "develop"]);
        git(
            &p.sb,
            r,
            &["merge", "-q", "--no-ff", "--no-edit", "feature/sign-out"],
        );
        git(&p.sb, r, &["checkout", "-q", "feature/sign-out"]);
    });
    p.same(&["feature", "delete", "sign-out"]);
    p.same(&["feature", "delete", "-f", "sign-in"]);
    // A default from git config: gitflow.bugfix.delete.force.
    p.flow(&["bugfix", "start", "crash"]);
    p.each(|r| {
        commit(&p.sb, r, "crash", "1\n", "Fix the crash");
        git(&p.sb, r, &["config", "gitflow.bugfix.delete.force", "yes"]);
    });
    p.same(&["bugfix", "delete", "crash"]);

    p.flow(&["release", "start", "1.1.0"]);
    p.each(|r| commit(&p.sb, r, "CHANGES", "1\n", "Changes"));
    p.each(|r| {
        git(&p.sb, r, &["checkout", "-q", "develop"]);
        commit(&p.sb, r, "develop", "2\n", "Develop moves on again");
    });
    p.same(&["release", "rebase", "1.1.0"]);
    p.same(&["release", "delete", "-f", "1.1.0"]);
    p.flow(&["hotfix", "start", "1.0.1"]);
    p.same(&["hotfix", "rename", "1.0.2"]);
    p.same(&["hotfix", "delete", "-f", "1.0.2"]);
    p.flow(&["support", "start", "1.x", "main"]);
    p.same(&["support", "rebase", "1.x"]);
}

#[test]
fn flow_config_lists_and_sets_as_avh() {
    let p = Pair::new();
    let (theirs, ours) = p.same(&["config"]);
    assert_eq!(ours.stdout, theirs.stdout);
    assert!(ours
        .stdout
        .starts_with("Branch name for production releases: main \n"));
    p.same(&["config", "set", "feature", "feat/"]);
    p.same(&["config", "set", "allowmultihotfix", "true"]);
    p.same(&["config", "set", "VersionTagPrefix", "v"]);
    // develop from a branch only the origin has: made locally first.
    p.each(|r| {
        git(&p.sb, r, &["push", "-q", "origin", "develop:next"]);
        git(&p.sb, r, &["fetch", "-q", "origin"]);
    });
    p.same(&["config", "set", "develop", "next"]);
    let (theirs, ours) = p.same(&["config", "list"]);
    assert_eq!(ours.stdout, theirs.stdout);
    let stderr = p.refused(&["config", "set", "master", "next"]);
    assert!(
        stderr.contains("the production and \"next release\" branches must differ"),
        "{stderr}"
    );
    p.refused(&["config", "set", "master", "nowhere"]);
    p.refused(&["config", "set", "allowmultihotfix", "perhaps"]);
    let stderr = p.refused(&["config", "set", "colour", "blue"]);
    assert!(
        stderr.starts_with("error: unknown option \"colour\"\n"),
        "{stderr}"
    );
    // Bases: shown, set.
    p.flow(&["feature", "start", "login"]);
    let (theirs, ours) = p.same(&["config", "base", "feat/login"]);
    assert_eq!(ours.stdout.trim(), theirs.stdout.trim());
    assert_eq!(
        ours.stdout,
        "Base branch for branch 'feat/login' set to 'next'\n"
    );
    p.same(&["config", "base", "--set", "feat/login", "main"]);
    // [flow] of .buildkit.toml wins for git-buildkit, and list says so.
    write_files(
        &p.ours,
        &[(
            ".buildkit.toml",
            "[flow]\nprefix = { feature = \"f/\" }\n",
            false,
        )],
    );
    let run = p.sb.bk(&p.ours, &["flow", "config"]);
    let run = run.ok();
    assert_eq!(run.stdout, theirs_list(&p));
    assert!(
        run.stderr.contains(
            "[flow] of .buildkit.toml overrides gitflow.prefix.feature for git-buildkit: \"f/\""
        ),
        "{}",
        run.stderr
    );
}

fn theirs_list(p: &Pair) -> String {
    p.avh_run(&p.avh, &["config"]).ok().stdout
}

#[test]
fn hooks_run_with_avh_arguments_and_a_refusing_pre_hook_stops() {
    let p = Pair::new();
    p.flow(&["hotfix", "start", "1.0.1"]);
    p.each(|r| {
        let mut files = Vec::new();
        let record = "#!/bin/sh\necho \"$(basename \"$0\") $*\" >> \"$DOT_GIT_DIR/hook-log\"\n";
        let names: Vec<String> = ["publish", "delete", "rename"]
            .iter()
            .flat_map(|c| {
                [
                    format!("pre-flow-hotfix-{c}"),
                    format!("post-flow-hotfix-{c}"),
                ]
            })
            .collect();
        for name in &names {
            files.push((name.as_str(), record, true));
        }
        write_files(&r.join(".git/hooks"), &files);
    });
    p.same(&["hotfix", "publish"]);
    p.same(&["hotfix", "rename", "1.0.2"]);
    p.same(&["hotfix", "delete", "-f", "-r", "1.0.2"]);
    let log = |r: &Path| std::fs::read_to_string(r.join(".git/hook-log")).expect("log");
    assert_eq!(log(&p.ours), log(&p.avh));
    assert_eq!(
        log(&p.ours),
        "pre-flow-hotfix-publish 1.0.1 origin hotfix/1.0.1\npost-flow-hotfix-publish 1.0.1 origin hotfix/1.0.1\npre-flow-hotfix-rename 1.0.1 origin hotfix/1.0.1\npost-flow-hotfix-rename 1.0.1 origin hotfix/1.0.1\npre-flow-hotfix-delete 1.0.2 origin hotfix/1.0.2\npost-flow-hotfix-delete 1.0.2 origin hotfix/1.0.2\n"
    );
    p.flow(&["feature", "start", "login"]);
    p.each(|r| {
        write_files(
            &r.join(".git/hooks"),
            &[(
                "pre-flow-feature-publish",
                "#!/bin/sh\necho not today; exit 3\n",
                true,
            )],
        )
    });
    let stderr = p.refused_with(1, &["feature", "publish"]);
    assert_eq!(
        stderr,
        "error: hook pre-flow-feature-publish refused (exit status 3)\n  not today\n"
    );
}

/// Bad input of ours alone (avh refuses some of it late, or not at all):
/// a clear error, exit status 2, and refs, config and work tree unchanged.
#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let sb = Sandbox::new();
    let repo = avh_repo(&sb, "r");
    let origin = origin_of(&repo);
    git(
        &sb,
        &repo,
        &["init", "-q", "--bare", origin.to_str().expect("utf8")],
    );
    git(
        &sb,
        &repo,
        &["remote", "add", "origin", origin.to_str().expect("utf8")],
    );
    git(&sb, &repo, &["push", "-q", "origin", "main", "develop"]);
    at(&sb, &repo, "git", &["flow", "bugfix", "start", "crash"]).ok();
    at(&sb, &repo, "git", &["flow", "feature", "start", "login"]).ok();
    commit(&sb, &repo, "login", "1\n", "Add login");
    let refused = |args: &[&str], message: &str| {
        let before = state(&sb, &repo);
        let run = bk(&sb, &repo, args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with(&format!("error: {message}\n")),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(state(&sb, &repo), before, "{args:?} changed something");
    };
    refused(
        &["feature", "publish", "nope"],
        "branch \"feature/nope\" does not exist",
    );
    refused(
        &["feature", "delete", "crash"],
        "branch \"feature/crash\" does not exist (bugfix/crash is a bugfix branch)",
    );
    refused(
        &["feature", "diff", "crash"],
        "branch \"feature/crash\" does not exist (bugfix/crash is a bugfix branch)",
    );
    refused(
        &["feature", "rename", "x", "crash"],
        "branch \"feature/crash\" does not exist (bugfix/crash is a bugfix branch)",
    );
    refused(
        &["feature", "rename", "bad..name"],
        "\"bad..name\" is not a valid branch name",
    );
    refused(
        &["feature", "rebase", "-p"],
        "rebase --preserve-merges is not possible: git removed it in 2.34",
    );
    refused(
        &["feature", "track", "login"],
        "branch \"feature/login\" already exists",
    );
    refused(
        &["feature", "track", "elsewhere"],
        "origin has no branch \"feature/elsewhere\"",
    );
    refused(
        &["feature", "pull", "upstream"],
        "remote \"upstream\" does not exist",
    );
    refused(
        &[
            "flow",
            "config",
            "base",
            "--set",
            "feature/login",
            "nowhere",
        ],
        "branch \"nowhere\" does not exist",
    );
    git(
        &sb,
        &repo,
        &["config", "gitflow.feature.rebase.preserve-merges", "true"],
    );
    refused(
        &["feature", "rebase"],
        "rebase --preserve-merges (from gitflow.feature.rebase.preserve-merges) is not possible: git removed it in 2.34",
    );
    git(
        &sb,
        &repo,
        &[
            "config",
            "--unset",
            "gitflow.feature.rebase.preserve-merges",
        ],
    );
    git(
        &sb,
        &repo,
        &["config", "gitflow.feature.delete.force", "maybe"],
    );
    refused(
        &["feature", "delete", "login"],
        "git config gitflow.feature.delete.force is \"maybe\", not a boolean",
    );
    git(
        &sb,
        &repo,
        &["config", "--unset", "gitflow.feature.delete.force"],
    );
    // Published, then a commit here: the refusal says where the two stand.
    bk(&sb, &repo, &["feature", "publish"]).ok();
    commit(&sb, &repo, "login", "2\n", "More login");
    refused(
        &["feature", "publish"],
        "origin already has a branch \"feature/login\": it is 1 commit behind yours",
    );
    git(&sb, &repo, &["checkout", "-q", "develop"]);
    refused(
        &["feature", "publish"],
        "the current branch \"develop\" is not a feature branch (they start with \"feature/\")",
    );
    refused(
        &["feature", "pull", "origin", "nothing"],
        "origin has no branch \"feature/nothing\"",
    );
    // a missing remote: named by gitflow.origin
    git(&sb, &repo, &["config", "gitflow.origin", "upstream"]);
    refused(
        &["feature", "publish", "login"],
        "remote \"upstream\" does not exist",
    );
    refused(
        &["feature", "delete", "-f", "-r", "login"],
        "remote \"upstream\" does not exist",
    );
    git(&sb, &repo, &["config", "--unset", "gitflow.origin"]);
    write_files(&repo, &[("README", "changed\n", false)]);
    git(&sb, &repo, &["checkout", "-q", "feature/login"]);
    refused(
        &["feature", "publish"],
        "the work tree has uncommitted changes",
    );
    refused(
        &["feature", "rebase"],
        "the work tree has uncommitted changes",
    );
    refused(
        &["feature", "delete", "-f", "login"],
        "the work tree has uncommitted changes",
    );
    refused(
        &["feature", "track", "other"],
        "the work tree has uncommitted changes",
    );
}
