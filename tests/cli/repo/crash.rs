//! The crash harness (issue 9, item 11): `repo add` killed with SIGKILL at
//! random moments while an apt client runs `apt-get update` in a loop
//! against the served repository. Counted: corrupt repositories (`repo
//! verify` fails after a kill), apt failures (hash mismatches, unexpected
//! sizes, or anything else), and lost acknowledged packages (an add that
//! exited 0 whose package is missing afterwards). All must be 0.
//!
//! `make test` runs a few rounds; `make soak` runs 200 (or
//! `BUILDKIT_SOAK_ROUNDS`), e.g. `BUILDKIT_SOAK_ROUNDS=1000 make soak`.
//! `BUILDKIT_CRASH_SEED` replays a run (the seed is printed).

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use super::Fixture;
use crate::common::Sandbox;

/// What one harness run saw.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    corrupt: usize,
    apt_hash_mismatches: usize,
    apt_other_failures: usize,
    lost: usize,
    add_errors: usize,
}

/// A small xorshift generator: enough to spread kill points, and replayable.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// `count` tiny packages `PREFIX-NNNNN` written by benches/gen-debs.py.
fn gen_debs(fx: &Fixture, prefix: &str, count: usize) -> Vec<String> {
    crate::repo::many_debs(fx, prefix, count)
        .iter()
        .map(|deb| deb.display().to_string())
        .collect()
}

fn add_command(fx: &Fixture, deb: &str) -> Command {
    let mut cmd = Command::new(Sandbox::bk_path());
    cmd.args(["-q", "repo", "add", fx.repo_arg(), deb])
        .env("BUILDKIT_KEY_STORE", &fx.store)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Runs `rounds` kill rounds against a repository of `population` packages:
/// each kills an add of one new package after a random delay in [0, 1.5 x a
/// typical add], so most kills land inside the add and some just after it.
#[allow(clippy::print_stderr)] // the counts are the harness's report
fn harness(rounds: usize, population: usize) -> Counts {
    let seed = std::env::var("BUILDKIT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    let mut rng = Rng(seed);
    let fx = Fixture::new(&[]);
    let pop = gen_debs(&fx, "crashpop", population);
    let mut args = vec!["repo", "add", fx.repo_arg()];
    args.extend(pop.iter().map(String::as_str));
    fx.bk(&args).ok();
    let news = gen_debs(&fx, "crash", rounds + 3);

    // A typical add of one package, unkilled: the range of the kill points.
    let mut acknowledged: Vec<String> = Vec::new();
    let mut durations = Vec::new();
    for i in 0..3 {
        let started = Instant::now();
        let status = add_command(&fx, &news[rounds + i]).status().expect("add");
        assert!(status.success(), "warm-up add failed");
        durations.push(started.elapsed());
        acknowledged.push(format!("crash-{:05}", rounds + i));
    }
    durations.sort();
    let typical = durations[1];

    let server = fx.serve();
    let stop = AtomicBool::new(false);
    let finished_updates = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut counts = Counts::default();
    let mut updates = 0usize;
    let mut killed = 0usize;
    std::thread::scope(|scope| {
        let apt = scope.spawn(|| {
            let mut runs = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let run = fx.apt(&server, &["update"]);
                runs += 1;
                let text = format!("{}{}", run.stdout, run.stderr);
                let bad = run.code != 0
                    || text.lines().any(|l| {
                        l.starts_with("W:") || l.starts_with("E:") || l.starts_with("Err:")
                    });
                if bad {
                    failures.lock().expect("lock").push(text);
                }
                finished_updates.fetch_add(1, Ordering::Relaxed);
            }
            runs
        });
        for (round, deb) in news.iter().take(rounds).enumerate() {
            let updates_before = finished_updates.load(Ordering::Relaxed);
            let delay = Duration::from_micros(rng.below(typical.as_micros() as u64 * 3 / 2 + 1));
            let mut child = add_command(&fx, deb).spawn().expect("spawn");
            std::thread::sleep(delay);
            let _ = child.kill(); // SIGKILL; a no-op on a finished child
            let status = child.wait().expect("wait");
            match (status.code(), status.signal()) {
                (Some(0), _) => acknowledged.push(format!("crash-{round:05}")),
                (_, Some(9)) => killed += 1,
                _ => counts.add_errors += 1,
            }
            let verify = fx.bk(&["repo", "verify", fx.repo_arg()]);
            if verify.code != 0 {
                counts.corrupt += 1;
                eprintln!(
                    "round {round} (kill after {delay:?}): repo verify failed:\n{}{}",
                    verify.stdout, verify.stderr
                );
            }
            // At least one whole `apt-get update` per round, each one
            // overlapping the adds and kills around it.
            while finished_updates.load(Ordering::Relaxed) == updates_before {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        stop.store(true, Ordering::Relaxed);
        updates = apt.join().expect("apt thread");
    });
    for text in failures.lock().expect("lock").iter() {
        if text.contains("Hash Sum mismatch") || text.contains("unexpected size") {
            counts.apt_hash_mismatches += 1;
        } else {
            counts.apt_other_failures += 1;
        }
        eprintln!("apt-get update failed:\n{text}");
    }
    // Every acknowledged package is published.
    let list = fx.bk(&["repo", "list", fx.repo_arg()]).ok().stdout;
    let listed: Vec<&str> = list.lines().filter_map(|l| l.split(' ').nth(1)).collect();
    counts.lost = acknowledged
        .iter()
        .filter(|name| !listed.contains(&name.as_str()))
        .count();
    // The next add finishes the job, and apt is happy with the outcome.
    let last = gen_debs(&fx, "after", 1);
    fx.bk(&["repo", "add", fx.repo_arg(), &last[0]]).ok();
    fx.bk(&["repo", "verify", fx.repo_arg()]).ok();
    super::clean_update(&fx, &server);
    eprintln!(
        "crash harness (seed {seed}): {rounds} rounds on {population} packages, typical add {typical:?}: \
         {killed} killed, {} acknowledged, {updates} apt-get updates; \
         corrupt repositories {}, apt hash mismatches {}, other apt failures {}, \
         lost acknowledged packages {}, failed adds {}",
        acknowledged.len(),
        counts.corrupt,
        counts.apt_hash_mismatches,
        counts.apt_other_failures,
        counts.lost,
        counts.add_errors
    );
    counts
}

#[test]
fn kill_9_at_random_points_of_add_while_apt_updates() {
    assert_eq!(harness(8, 200), Counts::default());
}

/// `make soak`: 200 rounds (or `BUILDKIT_SOAK_ROUNDS`).
#[test]
#[ignore = "a soak of several minutes: make soak"]
fn soak_kill_9_at_random_points_of_add_while_apt_updates() {
    let rounds = std::env::var("BUILDKIT_SOAK_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    assert_eq!(harness(rounds, 300), Counts::default());
}
