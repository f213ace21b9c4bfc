//! Kept runs (`vm-test --keep`) whose VM stays up: whether it still runs,
//! how to stop it cleanly, and `vm exec` on it.
//!
//! A kept run's qemu is detached from the `vm-test` that started it (its
//! stdio are not ours, it has a process group of its own) and leaves its
//! pid in `qemu.pid` in the run directory. It is running when that pid is
//! a live process started with that pid file (a pid reused by another
//! program is not it). Stopping it sends SIGTERM first, so qemu closes the
//! overlay cleanly (qcow2 keeps metadata in memory, and the overlay is
//! opened with `cache=unsafe`): a SIGKILL could lose what the guest wrote,
//! and `vm shell` boots that overlay again.
//!
//! `vm exec` on a stopped run says so (with how to boot it again with
//! `vm shell`) rather than booting it: a command's effects should not
//! depend on whether a VM had to be booted for it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::exec::{self, ExecRequest};
use super::run::{is_qemu_of, KeptRun};
use super::{ImageStore, VmError};

/// Whether a kept run's VM runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Its qemu is alive: `vm exec` reaches it, its forwards answer.
    Running,
    /// Its qemu is gone (or it was kept before runs stayed up).
    #[default]
    Stopped,
}

impl RunState {
    /// The word shown in `vm list`.
    pub fn word(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Stopped => "stopped",
        }
    }
}

/// The state of the run in `dir`.
pub fn state(dir: &Path) -> RunState {
    match qemu_pid(dir) {
        Some(_) => RunState::Running,
        None => RunState::Stopped,
    }
}

/// The pid of the run's live qemu, if it runs.
fn qemu_pid(dir: &Path) -> Option<i32> {
    let pidfile = dir.join("qemu.pid");
    let pid = fs::read_to_string(&pidfile)
        .ok()?
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|pid| *pid > 1)?;
    is_qemu_of(&PathBuf::from(format!("/proc/{pid}")), &pidfile).then_some(pid)
}

/// Stops the run's qemu if it runs: SIGTERM (qemu closes its disks and
/// exits), then SIGKILL after `grace`. Returns whether one ran. It waits
/// for the process itself, not its pid file: qemu removes the file early
/// in its exit, while it still runs for a moment (a zombie, whose command
/// line reads empty, has ended).
pub fn stop(dir: &Path, grace: Duration) -> bool {
    use nix::sys::signal::{kill, Signal};
    let Some(raw) = qemu_pid(dir) else {
        return false;
    };
    // The same process: its command line as it was (a pid reused by
    // another program meanwhile is never signalled).
    let cmdline = PathBuf::from(format!("/proc/{raw}/cmdline"));
    let Ok(was) = fs::read(&cmdline) else {
        return false;
    };
    let lives = || fs::read(&cmdline).is_ok_and(|c| !c.is_empty() && c == was);
    let pid = nix::unistd::Pid::from_raw(raw);
    let _ = kill(pid, Signal::SIGTERM);
    let until = Instant::now() + grace;
    while lives() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    if lives() {
        let _ = kill(pid, Signal::SIGKILL);
        let until = Instant::now() + Duration::from_secs(5);
        while lives() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    true
}

/// How long a kept VM gets to stop cleanly before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(15);

/// The kept run `id` and its directory.
pub fn load(store: &ImageStore, id: &str) -> Result<(KeptRun, PathBuf), VmError> {
    super::image::check_name("run id", id)?;
    let dir = store.runs_dir().join(id);
    let path = dir.join("run.json");
    let text = fs::read_to_string(&path).map_err(|_| VmError::NoRun { id: id.to_owned() })?;
    let mut kept: KeptRun = serde_json::from_str(&text).map_err(|e| VmError::BadImage {
        name: id.to_owned(),
        reason: e.to_string(),
    })?;
    kept.state = state(&dir);
    Ok((kept, dir))
}

/// Runs `request` in the running kept run `id` (see [`exec::exec`]).
pub fn exec_in(
    store: &ImageStore,
    id: &str,
    request: &ExecRequest,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, VmError> {
    let (kept, dir) = load(store, id)?;
    let channel = match (&kept.exec, kept.state) {
        (Some(channel), RunState::Running) => channel,
        _ => return Err(VmError::RunStopped { id: id.to_owned() }),
    };
    exec::exec(&dir, channel, request, out, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_in_a_stopped_run_says_so() {
        let root = tempfile::tempdir().expect("tempdir");
        let store = ImageStore::at(root.path().to_owned());
        let dir = store.runs_dir().join("v1.0.0-stopped");
        fs::create_dir_all(&dir).expect("dir");
        // Its qemu.pid names a process that is not its qemu.
        fs::write(dir.join("qemu.pid"), std::process::id().to_string()).expect("pid");
        let run = serde_json::json!({
            "id": "v1.0.0-stopped", "image": "default", "image_key": "k",
            "memory_mib": 512, "cpus": 1, "verdict": "passed",
            "forwards": [{"host": 8080, "guest": 80}],
            "exec": {"socket": dir.join("job.sock"), "nonce": "n"},
        });
        fs::write(dir.join("run.json"), run.to_string()).expect("run.json");
        let request = ExecRequest {
            command: vec!["true".into()],
            stdin: None,
            timeout: Duration::from_secs(5),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let error =
            exec_in(&store, "v1.0.0-stopped", &request, &mut out, &mut err).expect_err("stopped");
        assert_eq!(
            error.to_string(),
            "kept run \"v1.0.0-stopped\" is stopped: its VM no longer runs"
        );
        let (kept, _) = load(&store, "v1.0.0-stopped").expect("load");
        assert_eq!(kept.state, RunState::Stopped);
        assert_eq!(kept.forwards.len(), 1);
        assert!(matches!(
            exec_in(&store, "../x", &request, &mut out, &mut err),
            Err(VmError::BadName { .. })
        ));
        assert!(matches!(
            exec_in(&store, "none", &request, &mut out, &mut err),
            Err(VmError::NoRun { .. })
        ));
    }

    #[test]
    fn a_run_is_running_while_its_qemu_lives_and_stops_on_sigterm() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pidfile = dir.path().join("qemu.pid");
        assert_eq!(state(dir.path()), RunState::Stopped);
        // A stand-in for qemu: started with this -pidfile, and like qemu it
        // ends on SIGTERM.
        let mut qemu = std::process::Command::new("sh")
            .args(["-c", "sleep 60; :", "qemu", "-pidfile"])
            .arg(&pidfile)
            .spawn()
            .expect("sh");
        fs::write(&pidfile, format!("{}\n", qemu.id())).expect("pid");
        // Until it has exec'd, the child's command line is this test's.
        let until = Instant::now() + Duration::from_secs(5);
        while state(dir.path()) != RunState::Running && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(state(dir.path()), RunState::Running);
        let reaper = std::thread::spawn(move || qemu.wait());
        assert!(stop(dir.path(), Duration::from_secs(5)));
        let status = reaper.join().expect("join").expect("wait");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(15), "{status:?}");
        assert_eq!(state(dir.path()), RunState::Stopped);
        assert!(!stop(dir.path(), Duration::from_secs(1)));
    }
}
