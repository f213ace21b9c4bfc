//! Issue 9, item 17: version tags that arrive by `git fetch` start no
//! pipeline unless `[hooks] on-fetch = true`, and the pipelines of one
//! repository run one at a time, the others queued where `jobs` shows them.
//! Real git runs the installed hooks; the jobs really run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{Run, Sandbox};
use crate::pipeline::gated;

/// The sample project with only the package stage (no key, no repository
/// needed) and `extra` appended to its `.buildkit.toml`, committed.
fn project(sb: &Sandbox, extra: &str) -> PathBuf {
    let repo = sb.hello();
    let config = repo.join(".buildkit.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        format!("{text}\n[hooks]\non-tag = [\"package\"]\n{extra}"),
    )
    .expect("write config");
    sb.commit(&repo, "2026-03-01T10:00:00Z", "Package only");
    repo
}

/// [`project`] whose every build waits for the gate file (at most 60 s),
/// then takes a second. Returns the repository and the gate's path.
fn slow_project(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let gate = sb.path("go");
    let repo = project(sb, "");
    let config = repo.join(".buildkit.toml");
    let text = gated(
        std::fs::read_to_string(&config).expect("config"),
        &gate,
        1200,
        "sleep 1\n",
    );
    std::fs::write(&config, text).expect("write");
    sb.commit(&repo, "2026-03-01T11:00:00Z", "Slow build");
    (repo, gate)
}

fn sh(sb: &Sandbox, dir: &Path, script: &str) -> Run {
    sb.run(dir, "sh", &["-c", script])
}

fn jobs(sb: &Sandbox, dir: &Path) -> Vec<Value> {
    let out = sb.bk(dir, &["jobs", "--json"]).ok().stdout;
    let value: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    value.as_array().expect("array").clone()
}

/// Polls the jobs of `dir` until `want` holds (2 minutes at most).
fn wait_jobs(sb: &Sandbox, dir: &Path, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let list = jobs(sb, dir);
        if want(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "jobs did not get there: {list:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ended(list: &[Value]) -> bool {
    !list.is_empty()
        && list
            .iter()
            .all(|j| j["state"] == "succeeded" || j["state"] == "failed")
}

fn states(list: &[Value]) -> Vec<(String, String)> {
    list.iter()
        .map(|j| {
            (
                j["tag"].as_str().expect("tag").to_owned(),
                j["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect()
}

#[test]
fn tags_fetched_into_a_clone_start_nothing_unless_on_fetch() {
    let sb = Sandbox::new();
    let upstream = project(&sb, "");
    let clone = sb.path("clone");
    let clone_arg = clone.to_str().expect("utf8");
    sb.git(&upstream, &["clone", "-q", ".", clone_arg]);
    sb.bk(&clone, &["hooks", "install"]).ok();

    // `git fetch` and `git pull` (which runs fetch) bring tags: no job.
    sb.git(&upstream, &["tag", "v9.9.1"]);
    let fetch = sh(&sb, &clone, "git fetch -q --tags").ok();
    let told = "buildkit: v9.9.1 arrived by git fetch: no pipeline (`[hooks] on-fetch = true` in .buildkit.toml starts one; `git buildkit pipeline TAG` runs one now)\n";
    assert_eq!(fetch.stderr, told);
    sb.git(&upstream, &["tag", "-a", "v9.9.2", "-m", "9.9.2"]);
    sb.git(&upstream, &["tag", "v9.9.3"]);
    let pull = sh(
        &sb,
        &clone,
        "git -c pull.rebase=false pull -q --tags origin main",
    )
    .ok();
    // git 2.47 fetches each tag in a transaction of its own.
    assert_eq!(
        pull.stderr,
        format!(
            "{}{}",
            told.replace("v9.9.1", "v9.9.2"),
            told.replace("v9.9.1", "v9.9.3")
        )
    );
    assert_eq!(jobs(&sb, &clone), Vec::<Value>::new());
    assert!(!clone.join(".git/buildkit/jobs").exists());

    // A tag made here still starts its pipeline.
    let local = sh(&sb, &clone, "git tag v9.9.4").ok();
    let log = clone.join(".git/buildkit/jobs/v9.9.4.log");
    assert_eq!(
        local.stderr,
        format!(
            "buildkit: started the pipeline of v9.9.4 in the background (log: {})\n",
            log.display()
        )
    );
    let done = wait_jobs(&sb, &clone, ended);
    assert_eq!(
        states(&done),
        [("v9.9.4".to_owned(), "succeeded".to_owned())]
    );

    // The clone's own HEAD opts in; then a fetched tag starts a job.
    let config = clone.join(".buildkit.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{text}on-fetch = true\n")).expect("write");
    sb.commit(&clone, "2026-03-02T10:00:00Z", "Build fetched tags");
    sb.git(&upstream, &["tag", "v9.9.5"]);
    let fetch = sh(&sb, &clone, "git fetch -q origin tag v9.9.5").ok();
    let log = clone.join(".git/buildkit/jobs/v9.9.5.log");
    assert_eq!(
        fetch.stderr,
        format!(
            "buildkit: started the pipeline of v9.9.5 in the background (log: {})\n",
            log.display()
        )
    );
    let done = wait_jobs(&sb, &clone, |l| l.len() == 2 && ended(l));
    assert_eq!(
        states(&done),
        [
            ("v9.9.4".to_owned(), "succeeded".to_owned()),
            ("v9.9.5".to_owned(), "succeeded".to_owned())
        ]
    );
    assert_eq!(done[1]["trigger"], "reference-transaction");
    let shown = sb.bk(&clone, &["show", "v9.9.5", "--json"]).ok().stdout;
    let record: Value = serde_json::from_str(&shown).expect("record");
    assert_eq!(
        (&record["tag"], &record["result"]),
        (&Value::from("v9.9.5"), &Value::from("succeeded"))
    );
}

#[test]
fn tags_pushed_together_run_one_after_the_other_and_jobs_shows_the_queue() {
    let sb = Sandbox::new();
    let (repo, gate) = slow_project(&sb);
    let server = sb.path("server.git");
    let server_arg = server.to_str().expect("utf8");
    sb.git(&repo, &["clone", "-q", "--bare", ".", server_arg]);
    sb.bk(&server, &["hooks", "install"]).ok();

    let tags = ["v9.9.1", "v9.9.2", "v9.9.3", "v9.9.4"];
    for tag in tags {
        sb.git(&repo, &["tag", tag]);
    }
    let mut push = vec!["push", "-q", server_arg];
    push.extend(tags);
    let pushed = sb.run(&repo, "git", &push).ok();
    let told: Vec<String> = pushed
        .stderr
        .lines()
        .map(|l| l.trim_end().to_owned())
        .collect();
    let log = |tag: &str| format!("{}/buildkit/jobs/{tag}.log", server.display());
    assert_eq!(
        told,
        [
            format!(
                "remote: buildkit: started the pipeline of v9.9.1 in the background (log: {})",
                log("v9.9.1")
            ),
            format!(
                "remote: buildkit: queued the pipeline of v9.9.2 behind 1 other job (log: {})",
                log("v9.9.2")
            ),
            format!(
                "remote: buildkit: queued the pipeline of v9.9.3 behind 2 other jobs (log: {})",
                log("v9.9.3")
            ),
            format!(
                "remote: buildkit: queued the pipeline of v9.9.4 behind 3 other jobs (log: {})",
                log("v9.9.4")
            ),
        ]
    );

    // One runs, the others wait, oldest first; `jobs` says so.
    let waiting = wait_jobs(&sb, &server, |l| {
        l.len() == 4 && l.iter().any(|j| j["state"] == "running")
    });
    let want = |states: [&str; 4]| -> Vec<(String, String)> {
        tags.iter()
            .zip(states)
            .map(|(t, s)| ((*t).to_owned(), s.to_owned()))
            .collect()
    };
    assert_eq!(
        states(&waiting),
        want(["running", "queued", "queued", "queued"])
    );
    let human = sb.bk(&server, &["jobs"]).ok().stdout;
    let shape: Vec<String> = human
        .lines()
        .map(|l| l.split("  ").take(2).collect::<Vec<_>>().join("  "))
        .collect();
    assert_eq!(
        shape,
        [
            "v9.9.1  running",
            "v9.9.2  queued",
            "v9.9.3  queued",
            "v9.9.4  queued"
        ]
    );
    // Still so a while later: nothing started beside the running one.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        states(&jobs(&sb, &server)),
        want(["running", "queued", "queued", "queued"])
    );

    std::fs::write(&gate, "").expect("gate");
    let done = wait_jobs(&sb, &server, |l| l.len() == 4 && ended(l));
    assert_eq!(
        states(&done),
        want(["succeeded", "succeeded", "succeeded", "succeeded"])
    );
    // Strictly one after the other, in the order they were pushed: each
    // started when (or after) the one before it finished.
    let mut runs: Vec<(u64, u64, String)> = done
        .iter()
        .map(|j| {
            (
                j["started"].as_u64().expect("started"),
                j["finished"].as_u64().expect("finished"),
                j["tag"].as_str().expect("tag").to_owned(),
            )
        })
        .collect();
    runs.sort();
    let order: Vec<&str> = runs.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(order, tags);
    for pair in runs.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlapping runs: {runs:?}");
    }
}

#[test]
fn a_pipeline_run_by_hand_waits_for_the_running_one() {
    let sb = Sandbox::new();
    let (repo, gate) = slow_project(&sb);
    sb.bk(&repo, &["hooks", "install"]).ok();
    sb.git(&repo, &["tag", "v9.9.1"]);
    wait_jobs(&sb, &repo, |l| l.len() == 1 && l[0]["state"] == "running");

    // By hand, in the background: it must wait for v9.9.1's pipeline.
    sh(
        &sb,
        &repo,
        &format!(
            "BUILDKIT_NO_PIPELINE=1 git tag v9.9.2 && ('{}' pipeline --json v9.9.2 > ../out 2> ../err; echo $? > ../rc) > /dev/null 2>&1 &",
            Sandbox::bk_path().display()
        ),
    )
    .ok();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !sb.path("rc").exists(),
        "it did not wait: {:?}",
        std::fs::read_to_string(sb.path("err"))
    );
    assert_eq!(
        std::fs::read_to_string(sb.path("err")).expect("err"),
        "note: another pipeline of this repository is running; this one waits for it to end\n"
    );

    std::fs::write(&gate, "").expect("gate");
    let done = wait_jobs(&sb, &repo, ended);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !sb.path("rc").exists() {
        assert!(Instant::now() < deadline, "the run by hand never ended");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(std::fs::read_to_string(sb.path("rc")).expect("rc"), "0\n");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(sb.path("out")).expect("out"))
            .expect("record");
    assert_eq!(
        (
            &done[0]["tag"],
            &done[0]["state"],
            &record["tag"],
            &record["result"]
        ),
        (
            &Value::from("v9.9.1"),
            &Value::from("succeeded"),
            &Value::from("v9.9.2"),
            &Value::from("succeeded")
        )
    );
    let finished = done[0]["finished"].as_u64().expect("finished");
    let started = record["started"].as_u64().expect("started");
    assert!(
        finished <= started,
        "v9.9.1 ended {finished}, v9.9.2 started {started}"
    );
}
