//! Saving the idle guest (once per image and VM shape) and restoring it
//! (each warm run), over qemu's QMP socket.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Record, Snapshot, JOB_DISK_MIB};
use crate::process::Cmd;
use crate::progress::Listener;
use crate::vm::job::sh_quote;
use crate::vm::qemu::{self, Accel, Boot, Console, GuestMode, WarmBoot, WarmRole};
use crate::vm::qmp::Qmp;
use crate::vm::run::{self, Event, RunSpec};

/// Where in a run's directory a save boot keeps its FIFOs and sockets.
pub const SAVE_DIR: &str = "warm-save";

/// The line the guest's runner prints on the job port once it waits for
/// its go line (see the image's `bk-run`).
const READY: &str = "@@bk-warm ready";

/// Why no snapshot could be had.
#[derive(Debug)]
pub enum SaveError {
    /// SIGINT or SIGTERM arrived while saving.
    Interrupted,
    /// The save failed (said, then the run boots cold).
    Failed(String),
}

impl<E: std::fmt::Display> From<E> for SaveError {
    fn from(error: E) -> Self {
        SaveError::Failed(error.to_string())
    }
}

/// Where a save boot's files are.
struct Files {
    kernel: PathBuf,
    initrd: PathBuf,
    overlay: PathBuf,
    placeholder: PathBuf,
    console: PathBuf,
    qmp: PathBuf,
    pidfile: PathBuf,
}

impl Files {
    /// Fixed stand-ins for the key: the snapshot's identity is the command
    /// line's shape, not where this run's files happen to be.
    fn template(spec: &RunSpec) -> Self {
        let at = |name: &str| PathBuf::from("/warm").join(name);
        Self {
            kernel: at(&spec.image.manifest.kernel),
            initrd: at("initrd.img"),
            overlay: at("disk.qcow2"),
            placeholder: at("job.img"),
            console: at("console"),
            qmp: at("qmp.sock"),
            pidfile: at("qemu.pid"),
        }
    }
}

/// The save boot: what a warm run's boot is, with the snapshot's files and
/// no way out of the guest (a run gives its own).
fn save_boot(spec: &RunSpec, accel: Accel, files: &Files) -> Boot {
    Boot {
        accel,
        memory_mib: spec.memory_mib,
        cpus: spec.cpus,
        kernel: files.kernel.clone(),
        initrd: files.initrd.clone(),
        overlay: files.overlay.clone(),
        job_disk: Some(files.placeholder.clone()),
        mode: spec.mode,
        console: Console::Job {
            pipe: files.console.clone(),
        },
        guestfwds: Vec::new(),
        forwards: Vec::new(),
        pidfile: Some(files.pidfile.clone()),
        warm: Some(WarmBoot {
            role: WarmRole::Save,
            qmp: files.qmp.clone(),
        }),
    }
}

/// The snapshot of the run's image and VM shape: found, or saved now (one
/// save at a time per snapshot; a run that waited for another's save uses
/// it). `run_dir` holds the save boot's sockets and FIFOs.
/// Returns the snapshot and, when this run saved it, how long that took.
pub fn ensure(
    spec: &RunSpec,
    accel: Accel,
    run_dir: &Path,
    listener: &dyn Listener,
    interrupted: &AtomicBool,
) -> Result<(Snapshot, Option<f64>), SaveError> {
    let version = super::qemu_version()?;
    let template = qemu::qemu_args(&save_boot(spec, accel, &Files::template(spec)))?;
    let key = super::key(&spec.image, &template, &version, accel);
    if let Some(snapshot) = super::find(&spec.image, &key) {
        return Ok((snapshot, None));
    }
    let _lock = wait_for_lock(spec, &key, listener, interrupted)?;
    if let Some(snapshot) = super::find(&spec.image, &key) {
        return Ok((snapshot, None));
    }
    listener.status(
        "Saving",
        &format!(
            "a warm snapshot of image {} ({} mode, {}; once per image and VM shape)",
            spec.image.name,
            spec.mode.name(),
            accel.name()
        ),
    );
    let tmp = super::new_save_dir(&spec.image, &key)?;
    let started = Instant::now();
    let saved = save(spec, accel, run_dir, &tmp, interrupted);
    if let Err(error) = saved {
        let _ = fs::remove_dir_all(&tmp);
        return Err(error);
    }
    let record = Record {
        format: super::FORMAT,
        key,
        qemu: version,
        accel: accel.name().to_owned(),
        mode: spec.mode.name().to_owned(),
        state_bytes: 0,
        state_sha256: String::new(),
        save_seconds: (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        created: crate::time::unix_now(),
    };
    let committed = super::commit(&spec.image, &tmp, record);
    if committed.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    let snapshot = committed?;
    super::remove_unusable(&spec.image, &snapshot.record.qemu);
    let seconds = snapshot.record.save_seconds;
    Ok((snapshot, Some(seconds)))
}

/// The snapshot's save lock: at once, or (said) once another run's save
/// of it ends; SIGINT and SIGTERM stop the wait.
fn wait_for_lock(
    spec: &RunSpec,
    key: &str,
    listener: &dyn Listener,
    interrupted: &AtomicBool,
) -> Result<File, SaveError> {
    let mut said = false;
    loop {
        if let Some(lock) = super::try_lock(&spec.image, key)? {
            return Ok(lock);
        }
        if !said {
            listener.status(
                "Waiting",
                "for another run's save of the same warm snapshot",
            );
            said = true;
        }
        if interrupted.load(Ordering::SeqCst) {
            return Err(SaveError::Interrupted);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Boots the image cold into `tmp` with `bk.warm`, waits for the guest's
/// ready line, and writes the stopped VM's migration stream to
/// `tmp/state` (its disk is `tmp/disk.qcow2`).
fn save(
    spec: &RunSpec,
    accel: Accel,
    run_dir: &Path,
    tmp: &Path,
    interrupted: &AtomicBool,
) -> Result<(), SaveError> {
    let work = run_dir.join(SAVE_DIR);
    fs::create_dir_all(&work)?;
    let files = Files {
        kernel: spec.image.kernel(),
        initrd: spec.image.initrd(),
        overlay: tmp.join("disk.qcow2"),
        placeholder: tmp.join("placeholder.img"),
        console: work.join("console"),
        qmp: work.join(run::QMP_SOCKET),
        pidfile: work.join("qemu.pid"),
    };
    run::new_overlay(&files.overlay, &spec.image.root(), "raw")?;
    File::create(&files.placeholder)?.set_len(JOB_DISK_MIB << 20)?;
    let console_log = tmp.join("console.log");
    let console = run::ConsoleCopy::start(&work, &console_log)?;
    let args = qemu::qemu_args(&save_boot(spec, accel, &files))?;
    let (events, receiver) = mpsc::sync_channel(256);
    let started = run::start_qemu(
        Cmd::new("qemu-system-x86_64").args(args),
        &work,
        None,
        accel,
        true,
        events,
    )?;
    let mut child = started.child;
    let result = wait_ready(spec, accel, &receiver, interrupted)
        .and_then(|()| migrate_to_file(&files.qmp, &tmp.join("state"), accel, &mut child));
    if result.is_err() {
        child.kill();
    }
    child.wait();
    console.finish();
    drop(started.stdin);
    result.map_err(|error| match error {
        SaveError::Failed(reason) => {
            let said = started
                .stderr
                .and_then(|h| h.join().ok())
                .unwrap_or_default();
            let mut reason = reason;
            if !said.trim().is_empty() {
                reason.push_str(&format!("; qemu said: {}", said.trim()));
            }
            let tail = run::tail_lines(&console_log, 8);
            if !tail.is_empty() {
                reason.push_str(&format!("\nlast lines of the guest's console:\n{tail}"));
            }
            SaveError::Failed(reason)
        }
        interrupted => interrupted,
    })
}

/// Waits for the guest's ready line on the job port.
fn wait_ready(
    spec: &RunSpec,
    accel: Accel,
    receiver: &mpsc::Receiver<Event>,
    interrupted: &AtomicBool,
) -> Result<(), SaveError> {
    let seconds = match spec.mode {
        GuestMode::Fast => 30,
        GuestMode::Systemd => 60,
    } * u64::from(accel.time_factor());
    let until = Instant::now() + Duration::from_secs(seconds);
    loop {
        if interrupted.load(Ordering::SeqCst) {
            return Err(SaveError::Interrupted);
        }
        match receiver.recv_timeout(Duration::from_millis(250)) {
            Ok(Event::Line(line)) if line.text.trim_end() == READY => return Ok(()),
            Ok(Event::Line(_)) => {}
            Ok(Event::Closed) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(SaveError::Failed(
                    "the guest stopped before it was ready to be saved".into(),
                ))
            }
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() >= until => {
                return Err(SaveError::Failed(format!(
                    "the guest was not ready to be saved after {seconds} s"
                )))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Stops the VM and writes its migration stream to `state`, then quits.
fn migrate_to_file(
    socket: &Path,
    state: &Path,
    accel: Accel,
    child: &mut run::Qemu,
) -> Result<(), SaveError> {
    let factor = u64::from(accel.time_factor());
    let deadline = Instant::now() + Duration::from_secs(10 * factor);
    let mut qmp = Qmp::connect(socket, deadline, &mut || child.alive())?;
    qmp.execute("migrate-set-capabilities", events_on(), deadline)?;
    // qemu 7.2 limits a migration to 128 MiB/s by default.
    qmp.execute(
        "migrate-set-parameters",
        json!({ "max-bandwidth": 1u64 << 40 }),
        deadline,
    )?;
    // Stopped first: one pass, RAM and disk at the same instant.
    qmp.execute("stop", json!({}), deadline)?;
    let target = state
        .to_str()
        .ok_or_else(|| SaveError::Failed(format!("{} is not UTF-8", state.display())))?;
    qmp.execute(
        "migrate",
        json!({ "uri": format!("exec:cat > {}", sh_quote(target)) }),
        deadline,
    )?;
    qmp.wait_migration(Instant::now() + Duration::from_secs(60 * factor))?;
    let _ = qmp.execute("quit", json!({}), deadline);
    Ok(())
}

fn events_on() -> serde_json::Value {
    json!({ "capabilities": [{ "capability": "events", "state": true }] })
}

/// Why a restore failed, and whether the snapshot is to blame (then it is
/// discarded; else the run boots cold and the snapshot stays).
#[derive(Debug)]
pub struct RestoreError {
    /// What happened.
    pub reason: String,
    /// qemu refused the stream, or the restored guest did not run.
    pub snapshot_at_fault: bool,
}

impl RestoreError {
    fn host(reason: String) -> Self {
        Self {
            reason,
            snapshot_at_fault: false,
        }
    }

    fn snapshot(reason: String) -> Self {
        Self {
            reason,
            snapshot_at_fault: true,
        }
    }
}

/// Restores `snapshot` into the qemu just started with `-incoming defer`
/// (its QMP at `socket`), lets it run, and sends the guest its go line
/// (the host's clock and 32 random bytes) on `input`, the job port.
/// qemu reads the state through `program vm read-state`, which checks it.
pub fn restore(
    socket: &Path,
    snapshot: &Snapshot,
    program: &Path,
    accel: Accel,
    alive: &mut dyn FnMut() -> bool,
    input: &mut dyn std::io::Write,
) -> Result<(), RestoreError> {
    let deadline = Instant::now() + Duration::from_secs(10 * u64::from(accel.time_factor()));
    let mut qmp = Qmp::connect(socket, deadline, alive).map_err(RestoreError::host)?;
    qmp.execute("migrate-set-capabilities", events_on(), deadline)
        .map_err(RestoreError::host)?;
    let text = |path: &Path| {
        path.to_str()
            .map(sh_quote)
            .ok_or_else(|| RestoreError::host(format!("{} is not UTF-8", path.display())))
    };
    let command = format!(
        "{} vm read-state --sha256 {} {}",
        text(program)?,
        sh_quote(&snapshot.record.state_sha256),
        text(&snapshot.state())?
    );
    qmp.execute(
        "migrate-incoming",
        json!({ "uri": format!("exec:{command}") }),
        deadline,
    )
    .map_err(RestoreError::host)?;
    qmp.wait_migration(deadline)
        .map_err(RestoreError::snapshot)?;
    // Saved stopped, so restored stopped.
    qmp.execute("cont", json!({}), deadline)
        .map_err(RestoreError::snapshot)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = crate::vm::job::random_hex(32);
    writeln!(
        input,
        "go {}.{:06} {seed}",
        now.as_secs(),
        now.subsec_micros()
    )
    .and_then(|()| input.flush())
    .map_err(|e| RestoreError::host(format!("could not write to the guest's job port: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_restores_on_the_devices_it_was_saved_with() {
        use crate::vm::qemu::{GuestFwd, REPO_ADDRESS};
        let files = Files {
            kernel: "/img/vmlinux".into(),
            initrd: "/img/initrd.img".into(),
            overlay: "/img/warm/t/disk.qcow2".into(),
            placeholder: "/img/warm/t/placeholder.img".into(),
            console: "/runs/r1/warm-save/console".into(),
            qmp: "/runs/r1/warm-save/qmp.sock".into(),
            pidfile: "/runs/r1/warm-save/qemu.pid".into(),
        };
        let spec_boot = |accel| Boot {
            accel,
            memory_mib: 512,
            cpus: 1,
            kernel: files.kernel.clone(),
            initrd: files.initrd.clone(),
            overlay: "/runs/r2/root.qcow2".into(),
            job_disk: Some("/runs/r2/job.img".into()),
            mode: GuestMode::Fast,
            console: Console::Job {
                pipe: "/runs/r2/console".into(),
            },
            guestfwds: vec![GuestFwd {
                address: REPO_ADDRESS,
                command: vec!["/bin/git-buildkit".into(), "vm".into()],
            }],
            forwards: Vec::new(),
            pidfile: Some("/runs/r2/qemu.pid".into()),
            warm: Some(WarmBoot {
                role: WarmRole::Restore,
                qmp: "/runs/r2/qmp.sock".into(),
            }),
        };
        let mut save = Boot {
            memory_mib: 512,
            cpus: 1,
            mode: GuestMode::Fast,
            ..spec_boot(Accel::Tcg)
        };
        save.overlay = files.overlay.clone();
        save.job_disk = Some(files.placeholder.clone());
        save.console = Console::Job {
            pipe: files.console.clone(),
        };
        save.guestfwds.clear();
        save.pidfile = Some(files.pidfile.clone());
        save.warm = Some(WarmBoot {
            role: WarmRole::Save,
            qmp: files.qmp.clone(),
        });
        let text = |boot: &Boot| -> Vec<String> {
            qemu::qemu_args(boot)
                .expect("args")
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let saved = text(&save);
        let restored = text(&spec_boot(Accel::Tcg));
        // The same options in the same order; only backends differ, and
        // the restore waits for the stream.
        assert_eq!(restored[restored.len() - 2..], ["-incoming", "defer"]);
        let restored = &restored[..restored.len() - 2];
        assert_eq!(saved.len(), restored.len(), "{saved:?}\n{restored:?}");
        for (a, b) in saved.iter().zip(restored) {
            let same_option = a == b
                || a.starts_with("file=") && b.starts_with("file=")
                || a.starts_with("pipe,id=con,path=") && b.starts_with("pipe,id=con,path=")
                || a.starts_with("user,id=net0,") && b.starts_with("user,id=net0,")
                || a.starts_with("unix:") && b.starts_with("unix:")
                || a.ends_with("qemu.pid") && b.ends_with("qemu.pid");
            assert!(same_option, "{a} vs {b}");
        }
        for flag in ["-only-migratable", "vmgenid", "virtio-net-pci,netdev=net0"] {
            assert!(saved.iter().any(|a| a == flag), "{flag}: {saved:?}");
        }
        let cmdline = saved
            .iter()
            .find(|a| a.starts_with("console="))
            .expect("cmdline");
        assert!(cmdline.ends_with(" bk.warm"), "{cmdline}");
        // The network card is there even with no way out of the guest.
        assert!(saved.contains(&"user,id=net0,restrict=on,ipv6=off".to_owned()));
    }
}
