//! `vm-test` against a hostile guest and an unusual host (issue 9, items
//! 14–16): a guest flooding its ports and opening many connections to the
//! repository, a repository and a binary at paths with spaces, commas and
//! quotes, a git-buildkit killed with SIGKILL while its qemu runs, and a
//! binary replaced while it runs. Real qemu, one VM at a time (`vm_slot`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{clean_command, vm_cache, vm_slot, Run};
use crate::vm::{owned, results, VmProject};

/// Opens 20 connections to the repository and holds them: 4 are served, 4
/// wait for a slot (up to 10 s, then they are refused too), the other 12
/// are answered 503 at once. Once they are closed, apt reaches the
/// repository again.
const CONNECTIONS_TEST: &str = r#"#!/bin/bash
set -eu
ss -tan | sed 's/^/connection before: /'
fds=()
for i in $(seq 20); do
    exec {fd}<>/dev/tcp/10.0.2.100/80
    fds+=("$fd")
done
sleep 3
refused=0
for fd in "${fds[@]}"; do
    line=""
    read -r -t 0.2 line <&"$fd" || true
    echo "connection $fd: ${line:-(no answer yet)}"
    case "$line" in "HTTP/1.1 503 "*) refused=$((refused + 1)) ;; esac
done
for fd in "${fds[@]}"; do exec {fd}<&-; done
echo "refused=$refused"
[ "$refused" -ge 12 ]
apt-get -q update >/dev/null
echo "apt reaches the repository again"
"#;

/// Prints a 100,000-byte line, then 600 kB of short lines, then floods the
/// kernel console with 1.2 MB.
const FLOOD_TEST: &str = r#"#!/bin/bash
set -eu
head -c 100000 /dev/zero | tr '\0' L
echo
yes 'flood 0123456789' | head -c 600000
echo
head -c 1200000 /dev/zero | tr '\0' C > /dev/ttyS0
echo "flooded"
"#;

const CONTROL: &str = "\
Tests: connections
Depends: @
Restrictions: allow-stderr

Tests: flood
Depends: @
";

/// The directories with an awkward name: a space, commas, both quotes.
const ODD: &str = "odd dir, \"quoted\" it's";

#[test]
fn a_hostile_guest_is_bounded_and_odd_paths_work() {
    let p = VmProject::with_apt_at(
        &format!("{ODD}/apt"),
        "",
        "",
        "[vm]\nsmoke = [\"greet\"]\n",
        &[
            ("debian/tests/control", CONTROL, false),
            ("debian/tests/connections", CONNECTIONS_TEST, true),
            ("debian/tests/flood", FLOOD_TEST, true),
        ],
    );
    assert!(
        p.apt.join("dists/stable/InRelease").is_file(),
        "not published"
    );
    // This binary, run from a directory with the same awkward name: qemu
    // starts it for each of the guest's connections.
    let bin_dir = p.sb.path(&format!("{ODD}/bin"));
    std::fs::create_dir_all(&bin_dir).expect("bin dir");
    let exe = bin_dir.join("git-buildkit");
    std::fs::copy(crate::common::Sandbox::bk_path(), &exe).expect("copy the binary");
    let junit = p.sb.path("junit.xml");
    let _vm = vm_slot();
    let started = Instant::now();
    // The guest's serving processes on the host, sampled while it runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut seen: Vec<(f64, usize)> = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let n = pids_of("vm serve-guest").len();
                if seen.last().is_none_or(|(_, last)| *last != n) {
                    seen.push((started.elapsed().as_secs_f64(), n));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            seen
        })
    };
    let run = p.sb.run(
        &p.repo,
        exe.to_str().expect("utf8"),
        &[
            "vm-test",
            "v1.0.0",
            "--json",
            "--keep",
            "--junit",
            junit.to_str().expect("utf8"),
        ],
    );
    measured("hostile guest run", started);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let serving = sampler.join().expect("sampler");
    let verdict: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}):\n{}\n{}", run.stdout, tail(&run.stderr)));
    let guest_said: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("connection ") || l.starts_with("refused=") || l.contains("apt"))
        .collect();
    assert_eq!(
        run.code,
        0,
        "{verdict:#}\n{guest_said:#?}\nserving processes (s, count): {serving:?}\n{}",
        tail(&run.stderr)
    );
    assert_eq!(
        results(&verdict),
        owned(&[
            ("smoke1", "pass", ""),
            ("connections", "pass", ""),
            ("flood", "pass", "")
        ])
    );
    let id = verdict["run_id"].as_str().expect("run id").to_owned();
    let run_dir = vm_cache().join("runs").join(&id);

    // Streamed: the long line cut at 64 KiB with a marker, the short lines.
    let cut = format!(
        "{} [git-buildkit: line cut, {} more bytes dropped]\n",
        "L".repeat(65536),
        100_000 - 65536
    );
    assert!(run.stderr.contains(&cut), "{}", tail(&run.stderr));
    assert!(
        run.stderr.contains("\napt reaches the repository again\n"),
        "{guest_said:#?}"
    );
    // At most 4 served and 4 waiting at once (a refused one lives briefly).
    let most = serving.iter().map(|(_, n)| *n).max().unwrap_or(0);
    assert!((8..=10).contains(&most), "{serving:?}");
    assert!(run.stderr.contains("\nflooded\n"), "{}", tail(&run.stderr));

    // Kept for the report: at most 512 KiB of the flood test's output, then
    // a marker; its last line was dropped.
    let xml = std::fs::read_to_string(&junit).expect("junit");
    let flood = xml
        .split("<testcase name=\"flood\"")
        .nth(1)
        .and_then(|t| t.split("<system-out>").nth(1))
        .and_then(|t| t.split("</system-out>").next())
        .expect("flood output");
    assert!(flood.len() < 512 * 1024 + 200, "{} bytes", flood.len());
    assert!(flood.starts_with(&cut), "{}", &flood[..200]);
    let marker = flood.lines().last().unwrap_or_default();
    assert!(
        marker.starts_with("[git-buildkit: output cut at ")
            && marker.ends_with(" more bytes dropped]"),
        "{marker}"
    );
    assert!(!flood.contains("flooded"));

    // The kernel console log stops at 1 MiB with a marker.
    let console = std::fs::read(run_dir.join("console.log")).expect("console.log");
    let want_end = format!(
        "\n[git-buildkit: the console log stops here: it reached its limit of {} bytes]\n",
        1024 * 1024
    );
    assert_eq!(console.len(), 1024 * 1024 + want_end.len());
    assert!(console.ends_with(want_end.as_bytes()));
    assert!(console[..1024 * 1024].ends_with(b"CCCC"));

    p.bk(&["-q", "vm", "destroy", &id]).ok();
    assert!(!run_dir.exists());
}

/// Prints a duration for the report (`--nocapture` shows it).
#[allow(clippy::print_stderr)]
fn measured(what: &str, started: Instant) {
    eprintln!("{what}: {:.1}s", started.elapsed().as_secs_f64());
}

/// The last 40 lines of a long text.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The pids of processes whose command line contains `needle`.
fn pids_of(needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .expect("proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(needle)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// Whether `pid` is alive (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_qemu_of_a_killed_run_is_ended_by_the_next_one() {
    let p = VmProject::new(
        "",
        "[vm]\nsmoke = [\"sleep 600\"]\ntimeout = \"15m\"\n",
        &[],
    );
    let _vm = vm_slot();
    let runs = vm_cache().join("runs");
    let before: Vec<PathBuf> = run_dirs(&runs);
    let mut child = clean_command(&crate::common::Sandbox::bk_path(), &p.sb.path(""))
        .args(["vm-test", "v1.0.0"])
        .current_dir(&p.repo)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("vm-test");
    // Its run directory and its qemu, once the guest runs the test.
    let dir = wait_for("the run directory", Duration::from_secs(60), || {
        run_dirs(&runs).into_iter().find(|d| !before.contains(d))
    });
    let id = dir.file_name().expect("id").to_string_lossy().into_owned();
    let qemu = wait_for("qemu", Duration::from_secs(60), || {
        pids_of(&format!("{}/qemu.pid", dir.display()))
            .into_iter()
            .find(|pid| *pid != child.id() as i32)
    });
    // SIGKILL: no handler runs, nothing is cleaned up.
    child.kill().expect("kill");
    child.wait().expect("wait");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        alive(qemu),
        "qemu {qemu} died with its parent: nothing to test"
    );
    assert!(dir.is_dir());

    // The next command that sweeps ends it and removes the run.
    let listed = p.bk(&["vm", "list", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    wait_for("qemu to end", Duration::from_secs(10), || {
        (!alive(qemu)).then_some(())
    });
    assert!(!dir.exists(), "run {id} was left");
    assert!(pids_of(&dir.display().to_string()).is_empty());
}

fn run_dirs(runs: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(runs)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_binary_replaced_while_it_runs_is_a_clear_error() {
    let p = VmProject::new("", "[vm]\nsmoke = [\"greet\"]\n", &[]);
    let _vm = vm_slot();
    // A copy of the binary, deleted as soon as it started (as when cargo
    // or apt replaces it): /proc/self/exe then ends in " (deleted)".
    let exe = p.sb.path("git-buildkit");
    std::fs::copy(crate::common::Sandbox::bk_path(), &exe).expect("copy");
    let started = Instant::now();
    let child = clean_command(&exe, &p.sb.path(""))
        .args(["vm-test", "v1.0.0"])
        .current_dir(&p.repo)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("vm-test");
    std::fs::remove_file(&exe).expect("delete the running binary");
    let run = Run::from(child.wait_with_output().expect("wait"));
    assert_eq!(run.code, 3, "{}", run.stderr);
    let want = format!(
        "error: the running git-buildkit ({} (deleted)) was replaced or removed since it started: \
         qemu could not start it for the guest's connections\nhint: run the command again (with the new binary)\n",
        exe.display()
    );
    assert!(run.stderr.ends_with(&want), "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "it booted a VM"
    );
}
