//! `git buildkit pipeline`, `show`, `jobs` and `hooks`: a version tag made
//! with plain `git tag` (or pushed to a bare repository) starts the pipeline
//! in the background, and its packages land in the apt repository with a
//! git note that says so. Real git runs the installed hooks throughout.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{dir_names, Run, Sandbox};

const ZERO: &str = "0000000000000000000000000000000000000000";

/// The sample project, publishing into `<sandbox>/apt`, with a default key.
struct Project {
    sb: Sandbox,
    repo: PathBuf,
    apt: PathBuf,
}

impl Project {
    /// `edit` changes the text of `.buildkit.toml` (after `[repo] path` is
    /// added; it gets the sandbox directory too); the change is committed at
    /// 2026-03-01.
    fn new(edit: impl FnOnce(String, &Path) -> String) -> Self {
        let sb = Sandbox::new();
        let repo = sb.hello();
        let apt = sb.path("apt");
        let config = repo.join(".buildkit.toml");
        let text = std::fs::read_to_string(&config).expect("config");
        let text = edit(
            format!("{text}\n[repo]\npath = \"{}\"\n", apt.display()),
            &sb.path(""),
        );
        std::fs::write(&config, text).expect("write config");
        sb.commit(
            &repo,
            "2026-03-01T10:00:00Z",
            "Publish to the test repository",
        );
        sb.generate_key(&repo, "Test Packages", "ops@example.com");
        Project { sb, repo, apt }
    }

    fn bk(&self, args: &[&str]) -> Run {
        self.sb.bk(&self.repo, args)
    }

    fn git(&self, args: &[&str]) -> String {
        self.sb.git(&self.repo, args)
    }

    /// Runs a shell command line in `dir` (for environment variables and stdin).
    fn sh(&self, dir: &Path, script: &str) -> Run {
        self.sb.run(dir, "sh", &["-c", script])
    }

    fn hooks_dir(&self) -> PathBuf {
        self.repo.join(".git/hooks")
    }
}

/// Only the build command of `.buildkit.toml` replaced.
fn with_build(text: String, build: &str) -> String {
    let start = text.find("build = \"\"\"").expect("build");
    let end = start + text[start + 11..].find("\"\"\"").expect("end") + 14;
    format!("{}build = {build:?}{}", &text[..start], &text[end..])
}

/// A build that first waits (at most `tries` × 0.05 s) until `gate` exists,
/// then runs `then`: the test sees the job running or queued. It runs
/// unsandboxed: a sandboxed build cannot see the test's directory.
pub(crate) fn gated(text: String, gate: &Path, tries: u32, then: &str) -> String {
    text.replacen(
        "build = \"\"\"\n",
        &format!(
            "sandbox = \"none\"\nbuild = \"\"\"\ni=0; while [ ! -e '{}' ] && [ $i -lt {tries} ]; do sleep 0.05; i=$((i+1)); done\n{then}",
            gate.display()
        ),
        1,
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// Polls `jobs --json` in `dir` until `want` holds for the jobs (5 min at
/// most: a job may boot a VM under software emulation).
fn wait_jobs(sb: &Sandbox, dir: &Path, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let jobs = json(&sb.bk(dir, &["jobs", "--json"]).ok().stdout);
        let jobs = jobs.as_array().expect("array").clone();
        if want(&jobs) {
            return jobs;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = jobs
                .iter()
                .map(|j| {
                    std::fs::read_to_string(j["log"].as_str().unwrap_or("")).unwrap_or_default()
                })
                .collect();
            panic!(
                "jobs did not get there: {jobs:#?}\nlogs:\n{}",
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn all_ended(jobs: &[Value]) -> bool {
    !jobs.is_empty()
        && jobs
            .iter()
            .all(|j| j["state"] == "succeeded" || j["state"] == "failed")
}

/// The one job there is, in `dir`, once it ended.
fn ended_job(sb: &Sandbox, dir: &Path) -> Value {
    let jobs = wait_jobs(sb, dir, all_ended);
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    jobs[0].clone()
}

/// `tag`'s packages are in the repository at `apt`, and `show --json` in
/// `dir` is the note on the tagged commit and agrees with the pool file.
fn assert_published(sb: &Sandbox, dir: &Path, apt: &Path, tag: &str, version: &str) -> Value {
    let list = sb
        .bk(dir, &["repo", "list", apt.to_str().expect("utf8")])
        .ok();
    // A gated run (with a [vm] table) waits in stable-staging, then is promoted.
    let gated = list.stdout.contains("stable-staging/");
    let want = if gated {
        format!("stable/main hello {version} all\nstable-staging/main hello {version} all\n")
    } else {
        format!("stable/main hello {version} all\n")
    };
    assert_eq!(list.stdout, want);
    let shown = sb.bk(dir, &["show", tag, "--json"]).ok().stdout;
    let note = sb
        .run(
            dir,
            "git",
            &[
                "notes",
                "--ref=buildkit",
                "show",
                &format!("{tag}^{{commit}}"),
            ],
        )
        .ok()
        .stdout;
    assert_eq!(shown, note);
    let record = json(&shown);
    assert_eq!(record["result"], "succeeded", "{record:#}");
    assert_eq!(record["tag"], tag);
    let commit = sb
        .run(dir, "git", &["rev-parse", &format!("{tag}^{{commit}}")])
        .ok()
        .stdout;
    assert_eq!(record["commit"], commit.trim());
    let package = &record["packages"][0];
    assert_eq!(
        (
            &package["name"],
            &package["version"],
            &package["architecture"]
        ),
        (
            &Value::from("hello"),
            &Value::from(version),
            &Value::from("all")
        )
    );
    let pool = apt.join(package["filename"].as_str().expect("filename"));
    let sum = sb
        .run(dir, "sha256sum", &[pool.to_str().expect("utf8")])
        .ok()
        .stdout;
    assert_eq!(package["sha256"], sum.split(' ').next().expect("sum"));
    assert_eq!(
        package["size"],
        std::fs::metadata(&pool).expect("pool file").len()
    );
    assert_eq!(record["repo"]["path"], apt.to_str().expect("utf8"));
    assert_eq!(
        record["repo"]["suite"],
        if gated { "stable-staging" } else { "stable" }
    );
    record
}

/// Mode and bytes of a file.
fn file_state(path: &Path) -> (u32, Vec<u8>) {
    let meta = std::fs::metadata(path).expect("meta");
    (
        meta.permissions().mode() & 0o7777,
        std::fs::read(path).expect("read"),
    )
}

#[test]
fn an_annotated_tag_runs_the_pipeline_in_the_background_after_the_user_hook() {
    let p = Project::new(|t, dir| gated(t, &dir.join("go"), 200, ""));
    let gate = p.sb.path("go");
    let seen = p.sb.path("seen-by-user-hook");
    let user_hook = p.hooks_dir().join("reference-transaction");
    std::fs::write(
        &user_hook,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{0}'\ncat >> '{0}'\n",
            seen.display()
        ),
    )
    .expect("hook");
    std::fs::set_permissions(&user_hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let run = p.bk(&["hooks", "install"]).ok();
    assert_eq!(run.stdout, format!("{}\n", user_hook.display()));

    let clock = Instant::now();
    let tag = p.sh(&p.repo, "git tag -a v9.9.9 -m 'Release 9.9.9'").ok();
    assert!(
        clock.elapsed() < Duration::from_secs(5),
        "{:?}",
        clock.elapsed()
    );
    let log = p.repo.join(".git/buildkit/jobs/v9.9.9.log");
    assert_eq!(
        tag.stderr,
        format!(
            "buildkit: started the pipeline of v9.9.9 in the background (log: {})\n",
            log.display()
        )
    );
    let running = wait_jobs(&p.sb, &p.repo, |jobs| {
        jobs.len() == 1 && jobs[0]["state"] == "running"
    });
    assert_eq!(running[0]["trigger"], "reference-transaction");

    // The hook firing again, and a user's run, find it running.
    let tag_object = p.git(&["rev-parse", "v9.9.9"]);
    let again = p.sh(
        &p.repo,
        &format!(
            "echo '{ZERO} {tag_object} refs/tags/v9.9.9' | '{}' hooks run reference-transaction committed",
            Sandbox::bk_path().display()
        ),
    );
    assert_eq!(
        (again.code, again.stderr.as_str()),
        (0, "buildkit: the pipeline of v9.9.9 is already running\n")
    );
    let direct = p.bk(&["pipeline", "v9.9.9"]);
    assert_eq!(
        (direct.code, direct.stderr.as_str()),
        (1, "error: a pipeline for v9.9.9 is already running\nhint: `git buildkit jobs` shows it; run again once it has ended\n")
    );

    std::fs::write(&gate, "").expect("gate");
    let job = ended_job(&p.sb, &p.repo);
    assert_eq!(
        (&job["state"], &job["exit_code"], &job["log"]),
        (
            &Value::from("succeeded"),
            &Value::from(0),
            &Value::from(log.to_str().expect("utf8"))
        )
    );
    assert!(
        job["started"].as_u64() <= job["finished"].as_u64(),
        "{job:#}"
    );
    let record = assert_published(&p.sb, &p.repo, &p.apt, "v9.9.9", "9.9.9-1");
    assert_eq!(record["version"], "9.9.9");
    assert_eq!(
        record["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .map(|s| (s["name"].clone(), s["result"].clone()))
            .collect::<Vec<_>>(),
        [
            (Value::from("package"), Value::from("succeeded")),
            (Value::from("publish"), Value::from("succeeded"))
        ]
    );

    // The user's hook saw the tag (and the manual run above), then the note the job wrote.
    let notes = p.git(&["rev-parse", "refs/notes/buildkit"]);
    assert_eq!(
        std::fs::read_to_string(&seen).expect("user hook ran"),
        format!(
            "prepared\n{ZERO} {tag_object} refs/tags/v9.9.9\ncommitted\n{ZERO} {tag_object} refs/tags/v9.9.9\n\
             committed\n{ZERO} {tag_object} refs/tags/v9.9.9\n\
             prepared\n{ZERO} {notes} refs/notes/buildkit\ncommitted\n{ZERO} {notes} refs/notes/buildkit\n"
        )
    );
    let human = p.bk(&["jobs"]).ok().stdout;
    assert!(
        human.starts_with("v9.9.9  succeeded (exit 0)  started "),
        "{human}"
    );
}

#[test]
fn a_lightweight_tag_runs_the_pipeline_through_the_vm_test() {
    let p = Project::new(|t, _| {
        format!("{t}\n[vm]\nsmoke = [\"hello --version | grep -qx 'hello 9.9.9'\"]\n")
    });
    p.bk(&["hooks", "install"]).ok();
    let _vm = crate::common::vm_slot();
    p.git(&["tag", "v9.9.9"]);
    let job = ended_job(&p.sb, &p.repo);
    assert_eq!(job["state"], "succeeded", "{job:#}");
    let record = assert_published(&p.sb, &p.repo, &p.apt, "v9.9.9", "9.9.9-1");
    let stages: Vec<(&str, &str)> = record["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or(""),
                s["result"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        stages,
        [
            ("package", "succeeded"),
            ("publish", "succeeded"),
            ("vm-test", "succeeded"),
            ("promote", "succeeded")
        ]
    );
    assert_eq!(record["promotion"]["to"], "stable");
    let vm = &record["vm"];
    assert_eq!(vm["verdict"], "passed", "{vm:#}");
    assert_eq!(
        (vm["passed"].as_u64(), vm["failed"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(vm["mode"], "fast");
    assert!(vm["accel"] == "tcg" || vm["accel"] == "kvm", "{vm:#}");
    assert!(
        vm["seconds"]["total"].as_f64().unwrap_or(0.0)
            > vm["seconds"]["boot"].as_f64().unwrap_or(0.0)
    );
    assert_eq!(record["repo"]["created"], true);
    // The .debs of the run are kept under the git dir.
    assert_eq!(
        dir_names(&p.repo.join(".git/buildkit/dist/v9.9.9")),
        ["hello_9.9.9-1_all.deb"]
    );
    let shown = p.bk(&["show", "v9.9.9"]).ok().stdout;
    assert!(
        shown.contains("\nvm-test    passed (1 passed, 0 failed, 0 skipped) on image default"),
        "{shown}"
    );
}

#[test]
fn deletes_branches_and_other_tags_start_nothing_and_uninstall_restores_the_user_hook() {
    let p = Project::new(|t, _| t);
    let user_hook = p.hooks_dir().join("reference-transaction");
    std::fs::write(&user_hook, "#!/bin/sh\n# mine\ncat > /dev/null\n").expect("hook");
    std::fs::set_permissions(&user_hook, std::fs::Permissions::from_mode(0o750)).expect("chmod");
    let before = file_state(&user_hook);
    p.bk(&["hooks", "install"]).ok();

    let bk = Sandbox::bk_path();
    let quiet = |script: &str| {
        let run = p.sh(&p.repo, script).ok();
        assert_eq!(run.stderr, "", "{script}");
    };
    quiet("git tag -d v1.1.0");
    quiet("git branch topic && git branch -D topic");
    quiet("git tag other-1.0 && git tag -a vnext -m next && git tag 2.0.0");
    quiet("echo change >> README && git add README && git commit -q -m change");
    quiet(&format!(
        "echo '{ZERO} {ZERO} refs/tags/v3.0.0' | '{}' hooks run reference-transaction committed",
        bk.display()
    ));
    let head = p.git(&["rev-parse", "HEAD"]);
    quiet(&format!(
        "echo '{ZERO} {head} refs/tags/v3.0.0' | '{}' hooks run reference-transaction prepared",
        bk.display()
    ));
    let off = p.sh(&p.repo, "BUILDKIT_NO_PIPELINE=1 git tag v9.9.8").ok();
    assert_eq!(
        off.stderr,
        "buildkit: BUILDKIT_NO_PIPELINE is set: no pipeline for v9.9.8\n"
    );
    assert_eq!(p.bk(&["jobs", "--json"]).ok().stdout, "[]\n");
    assert!(!p.repo.join(".git/buildkit/jobs").exists());

    let run = p.bk(&["hooks", "uninstall"]).ok();
    assert_eq!(run.stdout, "");
    assert_eq!(file_state(&user_hook), before);
    assert!(!p
        .hooks_dir()
        .join("reference-transaction.pre-buildkit")
        .exists());
    p.git(&["tag", "v9.9.9"]);
    assert_eq!(p.bk(&["jobs", "--json"]).ok().stdout, "[]\n");
}

#[test]
fn a_user_hook_failing_in_prepared_still_aborts_the_tag() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    let user_hook = repo.join(".git/hooks/reference-transaction");
    std::fs::write(
        &user_hook,
        "#!/bin/sh\ncat > /dev/null\nif [ \"$1\" = prepared ]; then echo 'no tags today' >&2; exit 7; fi\n",
    )
    .expect("hook");
    std::fs::set_permissions(&user_hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    sb.bk(&repo, &["hooks", "install"]).ok();
    let run = sb.run(&repo, "git", &["tag", "v9.9.9"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.starts_with("no tags today\n"), "{}", run.stderr);
    assert_eq!(sb.git(&repo, &["tag", "--list", "v9*"]), "");
    assert_eq!(sb.bk(&repo, &["jobs", "--json"]).ok().stdout, "[]\n");
    // Its status reaches git in every state; our part never adds a failure.
    let bk = Sandbox::bk_path();
    let state = |s: &str| {
        sb.run(
            &repo,
            "sh",
            &[
                "-c",
                &format!(
                    "'{}' hooks run reference-transaction {s} < /dev/null",
                    bk.display()
                ),
            ],
        )
        .code
    };
    assert_eq!((state("prepared"), state("committed")), (7, 0));
}

#[test]
fn a_failing_build_fails_the_job_and_is_recorded() {
    let build = "echo compiling; echo 'it broke' >&2; exit 3";
    let p = Project::new(|t, _| with_build(t, build));
    p.bk(&["hooks", "install"]).ok();
    p.git(&["tag", "-a", "v9.9.9", "-m", "9.9.9"]);
    let job = ended_job(&p.sb, &p.repo);
    assert_eq!(
        (&job["state"], &job["exit_code"]),
        (&Value::from("failed"), &Value::from(1))
    );
    let error = format!("the build command `{build}` failed: `{build}` exited with status 3");
    let record = json(&p.bk(&["show", "v9.9.9", "--json"]).ok().stdout);
    assert_eq!(
        (&record["result"], &record["failed_stage"], &record["error"]),
        (
            &Value::from("failed"),
            &Value::from("package"),
            &Value::from(error.as_str())
        )
    );
    assert_eq!(record["stages"][1]["result"], "not-run");
    assert_eq!(record["packages"], json("[]"));
    let shown = p.bk(&["show", "v9.9.9"]).ok().stdout;
    let head: Vec<&str> = shown.lines().take(3).collect();
    let commit = p.git(&["rev-parse", "v9.9.9^{commit}"]);
    assert_eq!(
        head,
        [
            "v9.9.9 failed at package",
            &format!("error      {error}"),
            &format!("commit     {commit}"),
        ]
    );
    // A failed tag is not "already published": a direct run tries again, and fails with 1.
    let direct = p.bk(&["-q", "pipeline", "v9.9.9"]);
    assert_eq!(direct.code, 1);
    assert_eq!(
        direct.stderr,
        format!(
            "error: the pipeline of v9.9.9 failed at package\n  caused by: the build command `{build}` failed\n  caused by: `{build}` exited with status 3\n  last lines of output:\n    compiling\n    it broke\n"
        )
    );
    assert_eq!(
        p.git(&["notes", "--ref=buildkit", "list"]).lines().count(),
        1
    );
}

#[test]
fn a_second_run_is_a_no_op_unless_forced() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    sb.generate_key(&repo, "T", "t@example.com");
    // v1.1.0 has no [repo]: the repository is the per-project default under HOME.
    let apt = sb.path(".local/share/git-buildkit/repos/hello");
    let first = sb.bk(&repo, &["-q", "pipeline", "v1.1.0", "--json"]).ok();
    let record = assert_published(&sb, &repo, &apt, "v1.1.0", "1.1.0-1");
    assert_eq!(json(&first.stdout), record);
    let note = sb.git(
        &repo,
        &["notes", "--ref=buildkit", "show", "v1.1.0^{commit}"],
    );

    let again = sb.bk(&repo, &["pipeline", "v1.1.0"]).ok();
    assert_eq!(again.stdout, "");
    let when = record["finished"].as_i64().expect("finished");
    assert_eq!(
        again.stderr,
        format!(
            "note: v1.1.0 is already published (record of {} UTC); --force runs it again\n",
            utc(when)
        )
    );
    assert_eq!(
        sb.git(
            &repo,
            &["notes", "--ref=buildkit", "show", "v1.1.0^{commit}"]
        ),
        note
    );

    let forced = json(
        &sb.bk(&repo, &["-q", "pipeline", "v1.1.0", "--force", "--json"])
            .ok()
            .stdout,
    );
    assert_eq!(forced["result"], "succeeded");
    // Same bytes: the repository is not published again, and there is still one note.
    assert_eq!(forced["packages"], record["packages"]);
    assert_eq!(forced["repo"]["generation"], record["repo"]["generation"]);
    assert_eq!(forced["repo"]["created"], false);
    assert_eq!(
        sb.git(&repo, &["notes", "--ref=buildkit", "list"])
            .lines()
            .count(),
        1
    );
    assert_eq!(
        json(&sb.bk(&repo, &["show", "v1.1.0", "--json"]).ok().stdout),
        forced
    );
}

/// `YYYY-MM-DD HH:MM` of a Unix time, by `date`.
fn utc(secs: i64) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%d %H:%M"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn bad_stage_lists_and_non_tags_are_configuration_errors() {
    let p = Project::new(|t, _| format!("{t}\n[hooks]\non-tag = [\"package\", \"deploy\"]\n"));
    p.git(&["tag", "v9.9.9"]);
    let run = p.bk(&["-q", "pipeline", "v9.9.9"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "error: the pipeline of v9.9.9 failed at config\n  caused by: v9.9.9:.buildkit.toml:33:10: [hooks] on-tag: unknown stage \"deploy\" (known: package, publish, vm-test, promote)\n     |\n  33 | on-tag = [\"package\", \"deploy\"]\n     |          ^\nhint: the file is read from the commit being packaged; fix it, commit, and tag a new version (try the fix first with `git buildkit package --worktree`)\n")
    );
    let record = json(&p.bk(&["show", "v9.9.9", "--json"]).ok().stdout);
    assert_eq!(record["failed_stage"], "config");
    assert_eq!(record["version"], Value::Null);

    let run = p.bk(&["-q", "pipeline", "main"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "error: \"main\" is not a tag of this repository\nhint: `git tag --list` shows the tags; the pipeline runs for tags only\n")
    );
    let run = p.bk(&["show", "v1.0.0"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "error: v1.0.0 has no pipeline record (no refs/notes/buildkit note on its commit)\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_tag_pushed_to_a_bare_repository_runs_its_pipeline() {
    let p = Project::new(|t, _| t);
    let server = p.sb.path("server.git");
    let server_arg = server.to_str().expect("utf8");
    p.git(&["clone", "-q", "--bare", ".", server_arg]);
    let run = p.sb.bk(&server, &["hooks", "install"]).ok();
    assert_eq!(
        run.stdout,
        format!("{}/hooks/post-receive\n", server.display())
    );

    p.git(&["tag", "v9.9.9"]);
    let push = p
        .sh(&p.repo, &format!("git push -q '{server_arg}' v9.9.9"))
        .ok();
    let told: Vec<&str> = push.stderr.lines().map(str::trim_end).collect();
    assert_eq!(
        told,
        [format!(
            "remote: buildkit: started the pipeline of v9.9.9 in the background (log: {}/buildkit/jobs/v9.9.9.log)",
            server.display()
        )]
    );
    let job = ended_job(&p.sb, &server);
    assert_eq!(job["trigger"], "post-receive");
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_published(&p.sb, &server, &p.apt, "v9.9.9", "9.9.9-1");
    assert_eq!(
        dir_names(&server.join("buildkit/dist/v9.9.9")),
        ["hello_9.9.9-1_all.deb"]
    );
}

#[test]
fn hooks_go_where_core_hooks_path_says() {
    let sb = Sandbox::new();
    let repo = sb.hello();
    sb.git(&repo, &["config", "core.hooksPath", ".githooks"]);
    let run = sb.bk(&repo, &["hooks", "install"]).ok();
    let hook = repo.join(".githooks/reference-transaction");
    assert_eq!(run.stdout, format!("{}\n", hook.display()));
    assert_eq!(file_state(&hook).0, 0o755);
    assert!(!repo.join(".git/hooks/reference-transaction").exists());
    sb.bk(&repo, &["hooks", "uninstall"]).ok();
    assert_eq!(dir_names(&repo.join(".githooks")), Vec::<String>::new());
}
