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

#[test]
fn warm_and_cold_runs_agree_and_nothing_a_run_does_reaches_the_snapshot() {
    // smoke3 writes where the next run would see it if the snapshot (or
    // anything shared) kept it; smoke4 needs the host's clock; smoke5 fails.
    let tail = format!(
        "[vm]\nsmoke = [\"greet\", \"test ! -e /root/marker\", \
         \"echo x > /root/marker && rm -rf /usr/share/doc && sync\", \
         \"test $(date +%s) -ge {}\", \"grep -q never-there /etc/hostname\"]\n",
        now()
    );
    let p = VmProject::new("", &tail, &[]);
    let _vm = vm_slot();
    let expected = results(&serde_json::json!({"tests": [
        {"name": "smoke1", "outcome": "pass"},
        {"name": "smoke2", "outcome": "pass"},
        {"name": "smoke3", "outcome": "pass"},
        {"name": "smoke4", "outcome": "pass"},
        {"name": "smoke5", "outcome": "fail", "reason": "exit status 1"},
    ]}));

    // The first run saves the snapshot when there is none, then restores it.
    let (first, verdict, _) = p.vm_test(&[]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert_eq!(verdict["start"], "warm", "{verdict:#}\n{}", first.stderr);
    assert_eq!(results(&verdict), expected, "{}", first.stderr);
    let dir = snapshot_dir(&verdict);
    let (state, disk) = (digest(&dir.join("state")), digest(&dir.join("disk.qcow2")));
    let record: Value =
        serde_json::from_slice(&std::fs::read(dir.join("warm.json")).expect("warm.json"))
            .expect("record");
    assert_eq!(record["state_sha256"], state.as_str());
    assert!(verdict["phases"]["restore"].as_f64().unwrap_or(0.0) > 0.0);

    // Again warm: the marker and the removed files are not there.
    let (second, again, _) = p.vm_test(&[]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert_eq!(again["start"], "warm");
    assert_eq!(again["snapshot"], verdict["snapshot"]);
    assert_eq!(results(&again), expected, "{}", second.stderr);

    // Cold: the same verdict and results.
    let (third, cold, _) = p.vm_test(&["--cold"]);
    assert_eq!(third.code, 1, "{}", third.stderr);
    assert_eq!(cold["start"], "cold");
    assert!(cold.get("snapshot").is_none(), "{cold:#}");
    assert_eq!(cold["phases"]["restore"], 0.0);
    assert_eq!(cold["verdict"], verdict["verdict"]);
    assert_eq!(results(&cold), expected, "{}", third.stderr);

    // Two runs at once from the one snapshot: both warm, neither sees the
    // other's marker.
    let runs: Vec<(i32, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| p.bk(&["vm-test", "v1.0.0", "--json"])))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let run = h.join().expect("thread");
                let verdict = serde_json::from_str(&run.stdout)
                    .unwrap_or_else(|e| panic!("{e}\n{}", run.stderr));
                (run.code, verdict)
            })
            .collect()
    });
    for (code, verdict) in &runs {
        assert_eq!(*code, 1, "{verdict:#}");
        assert_eq!(verdict["start"], "warm", "{verdict:#}");
        assert_eq!(results(verdict), expected);
    }
    assert_ne!(runs[0].1["run_id"], runs[1].1["run_id"]);

    // Nothing reached the snapshot.
    assert_eq!(digest(&dir.join("state")), state);
    assert_eq!(digest(&dir.join("disk.qcow2")), disk);

    // The human summary says how the guest started.
    let human = p.bk(&["-q", "vm-test"]);
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
    let (first, verdict, _) = p.vm_test(&[]);
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
