//! A cap on the guest's concurrent connections to the repository.
//!
//! qemu starts one `git-buildkit vm serve-guest` per TCP connection the
//! guest opens to the repository address (`guestfwd=…-cmd:`), so a guest
//! opening thousands of connections would start thousands of host
//! processes. Each started process first takes one of [`MAX_ACTIVE`] slot
//! locks in the run directory; when all are taken it takes one of
//! [`MAX_WAITING`] waiting locks and waits up to [`WAIT`] for a slot; when
//! those are taken too it answers `503 Service Unavailable` at once and
//! exits. So at most `MAX_ACTIVE + MAX_WAITING` serving processes of one
//! run live at a time, and apt (one connection per host, a new one now and
//! then) never meets the cap. The locks are `flock`s: the kernel releases
//! them when a process dies, however it dies.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use super::error::io_at;
use super::VmError;

/// Connections served at once per run.
pub const MAX_ACTIVE: usize = 4;
/// Connections waiting for a slot per run; beyond them, refused.
pub const MAX_WAITING: usize = 4;
/// How long a waiting connection waits for a slot before it is refused.
pub const WAIT: Duration = Duration::from_secs(10);
/// The answer to a refused connection.
pub const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: text/plain\r\nContent-Length: 35\r\nRetry-After: 1\r\nConnection: close\r\n\r\n\
too many connections from this VM\r\n";

/// How many of each kind of lock, and how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Slots served at once.
    pub active: usize,
    /// Waiting places.
    pub waiting: usize,
    /// The longest wait.
    pub wait: Duration,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            active: MAX_ACTIVE,
            waiting: MAX_WAITING,
            wait: WAIT,
        }
    }
}

/// A held slot; dropping it (or the process ending) frees it.
#[derive(Debug)]
pub struct Slot {
    _lock: File,
}

/// Takes a slot of the run directory `run_dir`, waiting when all are busy
/// and a waiting place is free; `None` means refused.
pub fn admit(run_dir: &Path, caps: Caps) -> Result<Option<Slot>, VmError> {
    let dir = run_dir.join("connections");
    if let Some(slot) = try_any(&dir, "active", caps.active)? {
        return Ok(Some(slot));
    }
    let Some(_waiting) = try_any(&dir, "waiting", caps.waiting)? else {
        return Ok(None);
    };
    let until = Instant::now() + caps.wait;
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(slot) = try_any(&dir, "active", caps.active)? {
            return Ok(Some(slot));
        }
    }
    Ok(None)
}

/// [`admit`] for a connection on stdout: when refused, [`REFUSAL`] is
/// written there (the guest's apt retries) and `None` returned.
pub fn admit_or_refuse(run_dir: &Path, caps: Caps) -> Result<Option<Slot>, VmError> {
    let slot = admit(run_dir, caps)?;
    if slot.is_none() {
        use std::io::Write;
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(REFUSAL);
        let _ = stdout.flush();
    }
    Ok(slot)
}

fn try_any(dir: &Path, kind: &str, count: usize) -> Result<Option<Slot>, VmError> {
    for i in 0..count {
        let path = dir.join(format!("{kind}-{i}"));
        let file = crate::fsutil::open_lock_file(&path).map_err(io_at(&path))?;
        match file.try_lock() {
            Ok(()) => return Ok(Some(Slot { _lock: file })),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(VmError::Io { path, source });
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_then_waiting_places_then_refusal() {
        let run = tempfile::tempdir().expect("tempdir");
        let caps = Caps {
            active: 2,
            waiting: 1,
            wait: Duration::from_millis(300),
        };
        let a = admit(run.path(), caps).expect("admit").expect("first slot");
        let _b = admit(run.path(), caps)
            .expect("admit")
            .expect("second slot");
        // All slots busy: this one waits, and gets the slot freed meanwhile.
        let freer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(a);
        });
        let started = Instant::now();
        let c = admit(run.path(), caps).expect("admit");
        assert!(c.is_some(), "a freed slot goes to the waiting connection");
        assert!(started.elapsed() >= Duration::from_millis(50));
        freer.join().expect("join");
        // All busy again: one waits in vain, and while it waits a third is
        // refused at once.
        let waiter = {
            let dir = run.path().to_owned();
            std::thread::spawn(move || admit(&dir, caps).expect("admit").is_some())
        };
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        assert!(admit(run.path(), caps).expect("admit").is_none());
        assert!(started.elapsed() < Duration::from_millis(50));
        assert!(!waiter.join().expect("join"), "the wait ends in a refusal");
    }
}
