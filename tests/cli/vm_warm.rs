//! The warm start (issue 18): a test restores the image's saved, idle
//! guest instead of booting it. Warm and cold runs must give the same
//! verdicts; nothing a run does may reach the snapshot or the next run; a
//! damaged snapshot must fall back to a cold boot; parallel runs from one
//! snapshot must not see each other.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{vm_cache, vm_slot};
use crate::vm::{results, VmProject};

/// The directory of the snapshot a warm verdict names.
fn snapshot_dir(verdict: &Value) -> PathBuf {
    let image_key = verdict["image_key"].as_str().expect("image_key");
    let key = verdict["snapshot"]
        .as_str()
        .unwrap_or_else(|| panic!("no snapshot in {verdict:#}"));
    vm_cache()
        .join("images")
        .join(image_key)
        .join("warm")
        .join(key)
}

fn digest(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hex::encode(Sha256::digest(bytes))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// `vm-test TAG --json ARGS`: exit code, verdict, stderr (the guest's
/// streamed output among it).
fn vm_test(p: &VmProject, tag: &str, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["vm-test", tag, "--json"];
    all.extend_from_slice(args);
    let run = p.bk(&all);
    let verdict = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("no JSON verdict ({e})\n{}", run.stderr));
    (run.code, verdict, run.stderr)
}

/// The `rand=` line a run's guest printed (16 bytes of its /dev/urandom).
fn guest_random(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("rand="))
        .unwrap_or_else(|| panic!("no rand= line in:\n{stderr}"))
        .to_owned()
}

#[test]
fn warm_and_cold_runs_agree_and_nothing_a_run_does_reaches_the_snapshot() {
    let p = VmProject::new("", "[vm]\nsmoke = [\"greet\"]\n", &[]);
    let _vm = vm_slot();
    // The snapshot exists after this run (saved now, or by an earlier one).
    let (code, verdict, stderr) = vm_test(&p, "v1.0.0", &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(verdict["start"], "warm", "{verdict:#}\n{stderr}");
    let dir = snapshot_dir(&verdict);
    std::thread::sleep(std::time::Duration::from_secs(2));

    // Saved at least 2 s ago: a guest whose clock the go line did not set
    // fails smoke5. smoke2 and smoke3 see what a previous run did; smoke4
    // changes it; smoke6 fails on purpose.
    let config = std::fs::read_to_string(p.repo.join(".buildkit.toml")).expect("config");
    let smoke = format!(
        "smoke = [\"greet\", \"test ! -e /root/marker\", \"test -d /usr/share/doc\", \
         \"echo x > /root/marker && rm -rf /usr/share/doc && sync\", \
         \"test $(date +%s) -ge {}\", \"grep -q never-there /etc/hostname\", \
         \"echo rand=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \\\\n')\"]",
        now()
    );
    let config = config.replace("smoke = [\"greet\"]", &smoke);
    std::fs::write(p.repo.join(".buildkit.toml"), config).expect("write");
    p.sb.commit(&p.repo, "2026-01-03T10:00:00Z", "the warm checks");
    p.sb.tag(&p.repo, "2026-01-03T10:00:00Z", "v1.0.1");
    p.bk(&["-q", "pipeline", "v1.0.1"]).ok();
    let expected = results(&serde_json::json!({"tests": [
        {"name": "smoke1", "outcome": "pass"},
        {"name": "smoke2", "outcome": "pass"},
        {"name": "smoke3", "outcome": "pass"},
        {"name": "smoke4", "outcome": "pass"},
        {"name": "smoke5", "outcome": "pass"},
        {"name": "smoke6", "outcome": "fail", "reason": "exit status 1"},
        {"name": "smoke7", "outcome": "pass"},
    ]}));
    let (state, disk) = (digest(&dir.join("state")), digest(&dir.join("disk.qcow2")));
    let record: Value =
        serde_json::from_slice(&std::fs::read(dir.join("warm.json")).expect("warm.json"))
            .expect("record");
    assert_eq!(record["state_sha256"], state.as_str());

    // Warm, twice: the second run does not see the first one's changes.
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (code, warm, stderr) = vm_test(&p, "v1.0.1", &[]);
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(warm["start"], "warm", "{stderr}");
        assert_eq!(warm["snapshot"], verdict["snapshot"]);
        assert!(warm["phases"]["restore"].as_f64().unwrap_or(0.0) > 0.0);
        assert_eq!(results(&warm), expected, "{stderr}");
        seen.push(guest_random(&stderr));
    }

    // Cold: the same verdict and results.
    let (code, cold, stderr) = vm_test(&p, "v1.0.1", &["--cold"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(cold["start"], "cold");
    assert!(cold.get("snapshot").is_none(), "{cold:#}");
    assert_eq!(cold["phases"]["restore"], 0.0);
    assert_eq!(results(&cold), expected, "{stderr}");

    // Two runs at once from the one snapshot: both warm, neither sees the
    // other's changes.
    let runs: Vec<(i32, Value, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| vm_test(&p, "v1.0.1", &[])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for (code, verdict, stderr) in &runs {
        assert_eq!(*code, 1, "{stderr}");
        assert_eq!(verdict["start"], "warm", "{stderr}");
        assert_eq!(results(verdict), expected, "{stderr}");
        seen.push(guest_random(stderr));
    }
    assert_ne!(runs[0].1["run_id"], runs[1].1["run_id"]);
    // Restored from one state, each guest's random numbers are its own.
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), seen.len(), "{seen:?}");

    // Nothing reached the snapshot.
    assert_eq!(digest(&dir.join("state")), state);
    assert_eq!(digest(&dir.join("disk.qcow2")), disk);

    // The human summary says how the guest started.
    let human = p.bk(&["-q", "vm-test", "v1.0.1"]);
    assert!(
        human.stdout.contains("tcg fast, warm (restore ")
            || human.stdout.contains("kvm fast, warm (restore "),
        "{}",
        human.stdout
    );
}

#[test]
fn a_damaged_snapshot_boots_cold_and_is_saved_again() {
    // A VM shape of its own, so that no other test's snapshot is damaged.
    let p = VmProject::new("", "[vm]\nmemory = \"400M\"\nsmoke = [\"greet\"]\n", &[]);
    let _vm = vm_slot();
    let (mut first, mut verdict, _) = p.vm_test(&[]);
    if verdict["start"] == "cold" && first.stderr.contains("did not restore") {
        // One an earlier run damaged and left (this run discarded it).
        (first, verdict, _) = p.vm_test(&[]);
    }
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(verdict["start"], "warm", "{}", first.stderr);
    let dir = snapshot_dir(&verdict);

    // One byte of guest memory flipped in the middle of the stream.
    let state = dir.join("state");
    let mut bytes = std::fs::read(&state).expect("state");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(&state, &bytes).expect("damage");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o444)).expect("chmod");

    let (second, cold, _) = p.vm_test(&[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(cold["verdict"], "passed");
    assert_eq!(cold["start"], "cold", "{cold:#}");
    assert!(
        second
            .stderr
            .contains("the warm snapshot did not restore (")
            && second.stderr.contains("booting cold"),
        "{}",
        second.stderr
    );
    assert!(!dir.exists(), "the damaged snapshot is still there");

    // The next run saves a new one and restores it.
    let (third, warm, _) = p.vm_test(&[]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(warm["start"], "warm", "{}", third.stderr);
    assert!(
        third.stderr.contains("a warm snapshot of image default"),
        "{}",
        third.stderr
    );
    assert!(dir.join("state").is_file());
}
