//! One VM test: a fresh overlay of the base image and a job disk in a run
//! directory of its own, qemu booted on them, the job port read line by
//! line (output streamed to the listener, frames turned into results), each
//! phase under a deadline, and qemu killed on timeout, interrupt and drop.
//!
//! Runs share nothing: no ports (the repository is reached through
//! `guestfwd=…-cmd:`), no files outside their directory, so they can run in
//! parallel. A run directory holds a lock while its run is alive; one
//! whose lock is free and that was not kept is debris of a killed run and is
//! removed by the next run, which first ends the run's qemu if it still
//! runs (it left its pid in `qemu.pid`: git-buildkit killed with SIGKILL
//! cannot stop its child). A directory is created and locked while the
//! `runs/.lock` of the store is held, and the sweep holds it too, so no
//! sweep ever sees a fresh directory before its lock is taken.
//!
//! The guest is untrusted: what the host keeps of its output is bounded
//! (see [`super::limits`]), and so are its results (one per planned test).
//!
//! A kept run (`keep`) boots its qemu detached, the job port a unix socket
//! in the run directory, so that once the job has ended the VM stays up
//! (with its `forwards`) for `vm exec` after we exit: see [`super::kept`]
//! and [`super::exec`].

use std::fs::{self, File};
use std::io::{BufReader, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::error::io_at;
use super::exec::{self, Answer, ExecChannel};
use super::image::{require, RemoveOnDrop};
use super::job::{self, FrameKind, Job};
use super::kept::{self, RunState};
use super::limits::{self, Kept, Line, LineReader};
use super::qemu::{self, Accel, Boot, Console, Forward, GuestFwd, GuestMode};
use super::sources;
use super::upgrade::{Phase, StepWatch};
use super::verdict::Start;
use super::verdict::{
    PhaseReport, PhaseResult, Phases, TestOutcome, TestResult, UpgradeReport, UpgradedFrom,
    Verdict, VerdictKind,
};
use super::warm;
use super::{Image, ImageStore, VmError};
use crate::process::{Cmd, Running};
use crate::progress::Listener;

/// Which accelerator the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccelChoice {
    /// KVM when it works (checked, and watched on the first boot), else TCG.
    Auto,
    /// KVM or fail.
    Kvm,
    /// Software emulation.
    Tcg,
}

/// Everything one test run needs.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The base image.
    pub image: Image,
    /// The accelerator choice.
    pub accel: AccelChoice,
    /// The guest mode.
    pub mode: GuestMode,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// The repository served to the guest.
    pub repo_dir: PathBuf,
    /// The repository's public key (binary OpenPGP), for apt's `signed-by`.
    pub public_key: Vec<u8>,
    /// The job.
    pub job: Job,
    /// Files for the job disk's `src/` (DEP-8 test scripts), with their modes.
    pub files: Vec<(String, Vec<u8>, u32)>,
    /// Keep the run afterwards: its VM stays up for `vm exec` (and its
    /// overlay for `vm shell`).
    pub keep: bool,
    /// Guest ports reachable from 127.0.0.1 while the VM runs.
    pub forwards: Vec<Forward>,
    /// A label for the run id (the tag).
    pub label: String,
    /// The program the guest's repository connections run (this binary).
    pub serve_program: PathBuf,
    /// Restore the image's warm snapshot instead of booting (saving it
    /// first when there is none: see [`super::warm`]). A kept run, and one
    /// with forwards, always boots cold.
    pub warm: bool,
}

/// What `vm shell` needs to boot a kept run again.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KeptRun {
    /// The run id.
    pub id: String,
    /// The image's name and key.
    pub image: String,
    /// The image's recipe key.
    pub image_key: String,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// The verdict word.
    pub verdict: String,
    /// Guest ports reachable from 127.0.0.1 while the VM runs.
    #[serde(default)]
    pub forwards: Vec<Forward>,
    /// Where `vm exec` reaches the guest, when it stayed up.
    #[serde(default)]
    pub exec: Option<ExecChannel>,
    /// Whether its VM runs (found out when read, never stored).
    #[serde(default, skip_deserializing)]
    pub state: RunState,
}

/// Runs the test and returns its verdict. A broken test bed is a verdict
/// too (with [`VerdictKind::TestbedFailed`]); errors are for what stops the
/// run from being attempted, and for an interrupt: while it runs, SIGINT
/// and SIGTERM stop qemu and remove the run instead of killing the process.
pub fn run(
    store: &ImageStore,
    spec: &RunSpec,
    listener: &dyn Listener,
) -> Result<Verdict, VmError> {
    let interrupts = Interrupts::catch();
    let interrupted = &*interrupts.flag;
    let clock = Instant::now();
    require("qemu-system-x86_64", "qemu-system-x86")?;
    require("qemu-img", "qemu-utils")?;
    require("mke2fs", "e2fsprogs")?;
    let accel = choose_accel(spec.accel, listener)?;
    check_serve_program(&spec.serve_program)?;
    Forward::check_free(&spec.forwards)?;
    remove_stale_runs(store)?;
    let (dir, _lock) = new_run_dir(store, &spec.label)?;
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let guard = RemoveOnDrop(dir.clone());
    listener.status(
        "Preparing",
        &format!(
            "run {id} on image {} ({})",
            spec.image.name, spec.image.manifest.key
        ),
    );
    let exec_nonce = spec.keep.then(job::nonce);
    let (job_disk, snapshot, saved) = prepare_disks(
        spec,
        accel,
        &dir,
        exec_nonce.as_deref(),
        listener,
        interrupted,
    )?;
    let prepare = clock.elapsed().as_secs_f64();

    let boot = BootPlan {
        dir: &dir,
        job_disk: &job_disk,
        exec_nonce: exec_nonce.as_deref(),
        warm: snapshot.as_ref(),
    };
    let (attempt, accel) = boot_with_fallback(spec, &boot, accel, listener, interrupted)?;

    let mut phases = attempt.phases.clone();
    phases.prepare = round(prepare);
    phases.restore = attempt.restore.map_or(0.0, round);
    phases.save = saved.map_or(0.0, round);
    phases.total = round(clock.elapsed().as_secs_f64());
    let running = attempt.running;
    let snapshot = attempt
        .restore
        .and(snapshot.as_ref())
        .map(|s| s.record.key.clone());
    let mut verdict = verdict_of(spec, id, accel, attempt, phases, snapshot);
    if verdict.verdict == VerdictKind::TestbedFailed {
        verdict.error = verdict.error.map(|e| with_console_tail(e, &dir));
    }
    if spec.keep {
        let channel = match (running, exec_nonce) {
            (true, Some(nonce)) => Some(ExecChannel {
                socket: dir.join(JOB_SOCKET),
                nonce,
            }),
            _ => None,
        };
        keep_run(&dir, spec, &mut verdict, channel)?;
        std::mem::forget(guard);
    }
    Ok(verdict)
}

/// The verdict of a run's attempt (`snapshot`: the key of the warm
/// snapshot it restored).
fn verdict_of(
    spec: &RunSpec,
    run_id: String,
    accel: Accel,
    attempt: Attempt,
    phases: Phases,
    snapshot: Option<String>,
) -> Verdict {
    let end_rc = end_status(&attempt.tests, attempt.end_rc);
    let (verdict, error) = judge(attempt.error, end_rc);
    Verdict {
        run_id,
        verdict,
        error,
        accel,
        mode: spec.mode,
        start: match attempt.restore {
            Some(_) => Start::Warm,
            None => Start::Cold,
        },
        snapshot,
        image: spec.image.name.clone(),
        image_key: spec.image.manifest.key.clone(),
        packages: spec.job.install.clone(),
        tests: attempt.tests,
        phases,
        kept: None,
        forwards: Vec::new(),
        running: false,
        upgrade: attempt.upgrade,
    }
}

/// Writes the run's job disk and root overlay: over the warm snapshot's
/// disk when the run can start warm (its snapshot, and the seconds its
/// save took when this run saved it), else over the image's root.
fn prepare_disks(
    spec: &RunSpec,
    accel: Accel,
    dir: &Path,
    exec_nonce: Option<&str>,
    listener: &dyn Listener,
    interrupted: &AtomicBool,
) -> Result<(PathBuf, Option<warm::Snapshot>, Option<f64>), VmError> {
    let warm = spec.warm
        && !spec.keep
        && spec.forwards.is_empty()
        && spec.image.manifest.format >= super::image::FORMAT;
    let (job_disk, fits_warm) = write_job_disk(dir, spec, exec_nonce, warm)?;
    if warm && !fits_warm {
        listener.note(&format!(
            "the job's files do not fit a warm start's {} MiB job disk: booting cold",
            warm::JOB_DISK_MIB
        ));
    }
    let (snapshot, saved) = match warm && fits_warm {
        true => warm_snapshot(spec, accel, dir, listener, interrupted)?,
        false => (None, None),
    };
    match &snapshot {
        Some(snapshot) => new_overlay(&dir.join(ROOT), &snapshot.disk(), "qcow2")?,
        None => new_overlay(&dir.join(ROOT), &spec.image.root(), "raw")?,
    }
    Ok((job_disk, snapshot, saved))
}

/// The warm snapshot for this run's image and VM shape, saved first when
/// there is none (with the seconds that took); `None` (said) when it
/// cannot be saved: the run boots cold.
fn warm_snapshot(
    spec: &RunSpec,
    accel: Accel,
    dir: &Path,
    listener: &dyn Listener,
    interrupted: &AtomicBool,
) -> Result<(Option<warm::Snapshot>, Option<f64>), VmError> {
    // qemu's QMP socket (the save's is the longer path) must fit a unix
    // socket address.
    let socket = dir.join(warm::boot::SAVE_DIR).join(QMP_SOCKET);
    if socket.as_os_str().len() >= 108 {
        listener.note(&format!(
            "the run directory's path is too long for qemu's control socket ({}): booting cold",
            socket.display()
        ));
        return Ok((None, None));
    }
    match warm::boot::ensure(spec, accel, dir, listener, interrupted) {
        Ok((snapshot, saved)) => Ok((Some(snapshot), saved)),
        Err(warm::boot::SaveError::Interrupted) => Err(VmError::Interrupted),
        Err(warm::boot::SaveError::Failed(reason)) => {
            listener.warn(&format!(
                "could not save a warm snapshot ({reason}): booting cold"
            ));
            Ok((None, None))
        }
    }
}

/// Boots with `accel` (restoring the warm snapshot, when there is one),
/// and once more cold when the snapshot did not restore (it is discarded),
/// or with TCG (on a fresh overlay) when KVM started but the guest printed
/// nothing; returns the accelerator used.
fn boot_with_fallback(
    spec: &RunSpec,
    boot: &BootPlan<'_>,
    accel: Accel,
    listener: &dyn Listener,
    interrupted: &AtomicBool,
) -> Result<(Attempt, Accel), VmError> {
    let mut attempt = boot_and_watch(spec, boot, accel, listener, interrupted)?;
    if let (Some(failed), Some(snapshot)) = (&attempt.restore_failed, boot.warm) {
        // A Ctrl-C reaches qemu too: not the snapshot's fault.
        if interrupted.load(Ordering::SeqCst) {
            return Err(VmError::Interrupted);
        }
        if failed.snapshot_at_fault {
            listener.warn(&format!(
                "the warm snapshot did not restore ({}): booting cold; the next run saves a new one",
                failed.reason
            ));
            warm::discard(&spec.image, snapshot);
        } else {
            listener.warn(&format!(
                "the warm start failed ({}): booting cold",
                failed.reason
            ));
        }
        new_overlay(&boot.dir.join(ROOT), &spec.image.root(), "raw")?;
        let cold = BootPlan {
            warm: None,
            ..*boot
        };
        attempt = boot_and_watch(spec, &cold, accel, listener, interrupted)?;
    }
    if !attempt.silent_kvm {
        return Ok((attempt, accel));
    }
    listener.warn(
        "KVM started but the guest printed nothing: falling back to software emulation (TCG)",
    );
    new_overlay(&boot.dir.join(ROOT), &spec.image.root(), "raw")?;
    let cold = BootPlan {
        warm: None,
        ..*boot
    };
    let attempt = boot_and_watch(spec, &cold, Accel::Tcg, listener, interrupted)?;
    Ok((attempt, Accel::Tcg))
}

/// A test-bed error with what the run's proxy could not fetch and the last
/// lines of the guest's console.
fn with_console_tail(error: String, dir: &Path) -> String {
    // What the Debian mirror could not give says more than the console.
    let error = match sources::fault_summary(dir) {
        Some(faults) => format!("{faults}\n{error}"),
        None => error,
    };
    let tail = tail_lines(&dir.join("console.log"), 12);
    if tail.is_empty() {
        error
    } else {
        format!("{error}\nlast lines of the guest's console:\n{tail}")
    }
}

/// The accelerator to boot with: KVM where it really works, else TCG when
/// the user let us choose (and says so), else an error.
fn choose_accel(choice: AccelChoice, listener: &dyn Listener) -> Result<Accel, VmError> {
    Ok(match choice {
        AccelChoice::Tcg => Accel::Tcg,
        AccelChoice::Kvm => match qemu::kvm_unusable_reason() {
            None => Accel::Kvm,
            Some(reason) => return Err(VmError::NoKvm { reason }),
        },
        AccelChoice::Auto => match qemu::kvm_unusable_reason() {
            None => Accel::Kvm,
            Some(reason) => {
                listener.note(&format!(
                    "using software emulation (TCG): {reason}; expect about 10x slower than KVM"
                ));
                Accel::Tcg
            }
        },
    })
}

/// The job's exit status as the host judges it: the host's own view of
/// the tests wins over the status the guest reports at its end, so a root
/// maintainer script that forged `END rc=0` after a failed step cannot turn
/// it into a pass.
fn end_status(tests: &[TestResult], end_rc: Option<i32>) -> Option<i32> {
    let failed_seen = tests
        .iter()
        .any(|t| t.outcome == TestOutcome::Fail && !t.flaky);
    match end_rc {
        Some(0) if failed_seen => Some(1),
        rc => rc,
    }
}

/// The verdict of an attempt, from the runner's error and the job's exit
/// status, with the error a broken test bed reports. The job ends with 0
/// (passed), 1 (a test failed) or 3 (its setup failed).
fn judge(error: Option<String>, end_rc: Option<i32>) -> (VerdictKind, Option<String>) {
    let kind = match (&error, end_rc) {
        (Some(_), _) | (None, None | Some(3..)) => VerdictKind::TestbedFailed,
        (None, Some(0)) => VerdictKind::Passed,
        (None, Some(_)) => VerdictKind::Failed,
    };
    let error = match (kind, error, end_rc) {
        (VerdictKind::TestbedFailed, None, None) => {
            Some("the guest stopped without reporting the end of its job".to_owned())
        }
        (VerdictKind::TestbedFailed, None, Some(rc)) => Some(format!(
            "the job's setup failed in the guest (exit status {rc})"
        )),
        (_, error, _) => error,
    };
    (kind, error)
}

/// Marks the run directory as kept, with the `run.json` that [`shell`]
/// boots it from and `vm exec` reaches it by (`exec`: its VM stayed up),
/// and says so in the verdict.
fn keep_run(
    dir: &Path,
    spec: &RunSpec,
    verdict: &mut Verdict,
    exec: Option<ExecChannel>,
) -> Result<(), VmError> {
    verdict.running = exec.is_some();
    if verdict.running {
        verdict.forwards = spec.forwards.clone();
    }
    verdict.kept = Some(dir.to_owned());
    let kept = KeptRun {
        id: verdict.run_id.clone(),
        image: spec.image.name.clone(),
        image_key: spec.image.manifest.key.clone(),
        memory_mib: spec.memory_mib,
        cpus: spec.cpus,
        verdict: verdict.verdict.word().to_owned(),
        forwards: spec.forwards.clone(),
        exec,
        state: RunState::Stopped,
    };
    let path = dir.join("run.json");
    let json = serde_json::to_vec_pretty(&kept).expect("a kept run always serializes");
    fs::write(&path, json).map_err(io_at(&path))?;
    fs::write(dir.join("keep"), "").map_err(io_at(dir))
}

/// SIGINT and SIGTERM set a flag instead of ending the process, until dropped.
struct Interrupts {
    flag: Arc<AtomicBool>,
    ids: Vec<signal_hook::SigId>,
}

impl Interrupts {
    fn catch() -> Self {
        let flag = Arc::new(AtomicBool::new(false));
        let ids = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]
            .into_iter()
            .filter_map(|signal| signal_hook::flag::register(signal, Arc::clone(&flag)).ok())
            .collect();
        Self { flag, ids }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Boots a kept run's overlay with a root shell on this terminal (fast
/// mode, no network); returns qemu's exit status. A kept VM still running
/// is stopped first (cleanly: see [`kept::stop`]): one overlay, one VM.
pub fn shell(store: &ImageStore, id: &str) -> Result<i32, VmError> {
    let (kept, dir) = kept::load(store, id)?;
    require("qemu-system-x86_64", "qemu-system-x86")?;
    kept::stop(&dir, kept::STOP_GRACE);
    let image = store.find(&kept.image)?;
    if image.manifest.key != kept.image_key {
        return Err(VmError::BadImage {
            name: kept.image,
            reason: format!(
                "it was rebuilt since run {id} (key {} is now {})",
                kept.image_key, image.manifest.key
            ),
        });
    }
    let boot = Boot {
        accel: if qemu::kvm_unusable_reason().is_none() {
            Accel::Kvm
        } else {
            Accel::Tcg
        },
        memory_mib: kept.memory_mib,
        cpus: kept.cpus,
        kernel: image.kernel(),
        initrd: image.initrd(),
        overlay: dir.join("root.qcow2"),
        job_disk: None,
        mode: GuestMode::Fast,
        console: Console::Shell,
        guestfwds: Vec::new(),
        forwards: Vec::new(),
        pidfile: None,
        warm: None,
    };
    let mut child = Cmd::new("qemu-system-x86_64")
        .args(qemu::qemu_args(&boot)?)
        .spawn(Stdio::inherit(), Stdio::inherit(), Stdio::inherit())
        .map_err(|source| VmError::Tool {
            what: "starting qemu".into(),
            source,
        })?;
    let status = child.wait().map_err(|source| VmError::Tool {
        what: "running qemu".into(),
        source,
    })?;
    Ok(status.code().unwrap_or(128))
}

/// The kept runs, newest first, each with its state.
pub fn kept_runs(store: &ImageStore) -> Vec<KeptRun> {
    let mut runs: Vec<(std::time::SystemTime, KeptRun)> = fs::read_dir(store.runs_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path().join("run.json");
            let modified = fs::metadata(&path).and_then(|m| m.modified()).ok()?;
            let mut run: KeptRun = serde_json::from_str(&fs::read_to_string(&path).ok()?).ok()?;
            run.state = kept::state(&e.path());
            Some((modified, run))
        })
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.0));
    runs.into_iter().map(|(_, r)| r).collect()
}

/// Removes a kept run, stopping its VM first if it runs.
pub fn remove_run(store: &ImageStore, id: &str) -> Result<(), VmError> {
    super::image::check_name("run id", id)?;
    let dir = store.runs_dir().join(id);
    if !dir.join("run.json").exists() {
        return Err(VmError::NoRun { id: id.to_owned() });
    }
    kept::stop(&dir, kept::STOP_GRACE);
    fs::remove_dir_all(&dir).map_err(io_at(&dir))
}

/// The program the guest's connections run must still be there: after a
/// rebuild or an upgrade while this process runs, Linux reports the old
/// binary as `PATH (deleted)`, and qemu could start nothing.
fn check_serve_program(program: &Path) -> Result<(), VmError> {
    let gone = program.to_string_lossy().ends_with(" (deleted)") || !program.is_file();
    if gone {
        return Err(VmError::ServeProgramGone {
            path: program.to_owned(),
        });
    }
    Ok(())
}

/// Holds the store's `runs/.lock`: creating a run directory with its lock,
/// and sweeping, happen one at a time.
fn lock_runs(runs: &Path) -> Result<File, VmError> {
    let path = runs.join(".lock");
    let file = crate::fsutil::open_lock_file(&path).map_err(io_at(&path))?;
    file.lock().map_err(io_at(&path))?;
    Ok(file)
}

fn new_run_dir(store: &ImageStore, label: &str) -> Result<(PathBuf, File), VmError> {
    let runs = store.runs_dir();
    let _runs_lock = lock_runs(&runs)?;
    let label: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let dir = tempfile::Builder::new()
        .prefix(&format!("{}-", label.trim_start_matches(['.', '-'])))
        .rand_bytes(4)
        .tempdir_in(&runs)
        .map_err(io_at(&runs))?
        .keep();
    let lock_path = dir.join("lock");
    let lock = File::create(&lock_path).map_err(io_at(&lock_path))?;
    lock.lock().map_err(io_at(&lock_path))?;
    Ok((dir, lock))
}

/// Removes run directories left by killed runs (not kept, lock free),
/// ending their qemu first if it still runs; returns how many.
pub fn remove_stale_runs(store: &ImageStore) -> Result<usize, VmError> {
    let runs = store.runs_dir();
    if !runs.is_dir() {
        return Ok(0);
    }
    let _runs_lock = lock_runs(&runs)?;
    let mut removed = 0;
    for entry in fs::read_dir(&runs).map_err(io_at(&runs))?.flatten() {
        let dir = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) || dir.join("keep").exists() {
            continue;
        }
        let free = File::open(dir.join("lock"))
            .ok()
            .is_none_or(|f| f.try_lock().is_ok());
        if free {
            end_orphaned_qemu(&dir);
            let _ = fs::remove_dir_all(&dir);
            removed += 1;
        }
    }
    Ok(removed)
}

/// Kills the qemu of a dead run: the pid in `qemu.pid`, if that process is
/// really this run's qemu (its command line names this pid file; a pid
/// reused by another program is left alone), and waits briefly for it to go.
fn end_orphaned_qemu(dir: &Path) {
    // A run killed while it saved a warm snapshot left that qemu too.
    end_orphaned_qemu_of(&dir.join("qemu.pid"));
    end_orphaned_qemu_of(&dir.join(warm::boot::SAVE_DIR).join("qemu.pid"));
}

fn end_orphaned_qemu_of(pidfile: &Path) {
    let Some(pid) = fs::read_to_string(pidfile)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
        .filter(|pid| *pid > 1)
    else {
        return;
    };
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if !is_qemu_of(&proc_dir, pidfile) {
        return;
    }
    let pid = nix::unistd::Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let until = Instant::now() + Duration::from_secs(5);
    while is_qemu_of(&proc_dir, pidfile) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the live (not zombie) process at `proc_dir` was started with
/// `-pidfile PIDFILE`.
pub(super) fn is_qemu_of(proc_dir: &Path, pidfile: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(cmdline) = fs::read(proc_dir.join("cmdline")) else {
        return false;
    };
    // A zombie has an empty command line: it is dead, only not reaped yet.
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == b"-pidfile" && w[1] == pidfile.as_os_str().as_bytes())
}

/// A new qcow2 `overlay` of `backing` (of `format`: the image's
/// `root.raw`, or a warm snapshot's `disk.qcow2`).
pub(super) fn new_overlay(overlay: &Path, backing: &Path, format: &str) -> Result<(), VmError> {
    let _ = fs::remove_file(overlay);
    Cmd::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", format, "-b"])
        .arg(backing)
        .arg(overlay)
        .output()
        .map_err(|source| VmError::Tool {
            what: "creating the overlay with qemu-img".into(),
            source,
        })?;
    Ok(())
}

/// Writes the job disk; with `warm`, of the warm start's fixed size when
/// the files fit (returned as true).
fn write_job_disk(
    dir: &Path,
    spec: &RunSpec,
    exec_nonce: Option<&str>,
    warm: bool,
) -> Result<(PathBuf, bool), VmError> {
    use std::os::unix::fs::PermissionsExt;
    let root = dir.join("job");
    let src = root.join("src");
    fs::create_dir_all(&src).map_err(io_at(&src))?;
    let write = |rel: &str, bytes: &[u8], mode: u32| -> Result<u64, VmError> {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_at(parent))?;
        }
        fs::write(&path, bytes).map_err(io_at(&path))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(io_at(&path))?;
        Ok(bytes.len() as u64)
    };
    let script = match exec_nonce {
        Some(nonce) => job::kept_script(&spec.job, nonce),
        None => job::script(&spec.job),
    };
    let mut size = write("run.sh", script.as_bytes(), 0o755)?;
    if exec_nonce.is_some() {
        size += write(exec::AGENT_FILE, exec::AGENT.as_bytes(), 0o644)?;
    }
    size += write("key.gpg", &spec.public_key, 0o644)?;
    for (rel, bytes, mode) in &spec.files {
        size += write(&format!("src/{rel}"), bytes, *mode)?;
    }
    let disk = dir.join("job.img");
    let mib = (size * 2 / (1 << 20)) + 8;
    let fixed = warm && mib <= warm::JOB_DISK_MIB;
    let mib = if fixed { warm::JOB_DISK_MIB } else { mib };
    Cmd::new("mke2fs")
        .args(["-q", "-t", "ext4", "-O", "^has_journal", "-d"])
        .arg(&root)
        .arg(&disk)
        .arg(format!("{mib}M"))
        .output()
        .map_err(|source| VmError::Tool {
            what: "writing the job disk with mke2fs".into(),
            source,
        })?;
    Ok((disk, fixed))
}

/// What one boot produced.
#[derive(Debug, Default)]
struct Attempt {
    tests: Vec<TestResult>,
    phases: Phases,
    end_rc: Option<i32>,
    error: Option<String>,
    /// KVM was used and the guest printed nothing in time.
    silent_kvm: bool,
    /// A kept run's guest stayed up with its exec agent ready.
    running: bool,
    /// The upgrade test's phases, when the job had one.
    upgrade: Option<UpgradeReport>,
    /// The job began (its first frame arrived).
    began: bool,
    /// Restored warm: qemu's start to the guest running, in seconds.
    restore: Option<f64>,
    /// Why the warm snapshot did not restore (the run boots cold again).
    restore_failed: Option<warm::boot::RestoreError>,
}

/// What the job port's reader thread sends.
pub(super) enum Event {
    /// A line the guest printed.
    Line(Line),
    /// qemu closed the port (it ended).
    Closed,
}

/// Where the run is, and until when it may stay there.
struct Wait {
    what: &'static str,
    until: Instant,
}

/// Where one boot's files are: the run directory, its job disk, and (for a
/// kept run) the exec nonce of the guest's agent.
#[derive(Clone, Copy)]
struct BootPlan<'a> {
    dir: &'a Path,
    job_disk: &'a Path,
    exec_nonce: Option<&'a str>,
    /// The warm snapshot to restore instead of booting.
    warm: Option<&'a warm::Snapshot>,
}

/// The job port's socket of a kept run (in its directory).
const JOB_SOCKET: &str = "job.sock";

/// A run's root overlay (in its directory).
const ROOT: &str = "root.qcow2";

/// qemu's QMP socket in a warm run's directory.
pub(super) const QMP_SOCKET: &str = "qmp.sock";

/// The qemu of one boot: our child, its stdout our job port; or, for a
/// kept run, detached (stdio not ours, a process group of its own) so that
/// it outlives us, its job port a unix socket.
pub(super) enum Qemu {
    Attached(Running),
    Detached { pid: nix::unistd::Pid, dir: PathBuf },
}

impl Qemu {
    /// Ends it: at once when attached; a detached one cleanly (see
    /// [`kept::stop`]), its overlay being kept.
    pub(super) fn kill(&mut self) {
        match self {
            Qemu::Attached(running) => running.kill(),
            Qemu::Detached { pid, dir } => {
                use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
                kept::stop(dir, kept::STOP_GRACE);
                // Before it wrote its pid file, only its pid names it.
                if matches!(
                    waitpid(*pid, Some(WaitPidFlag::WNOHANG)),
                    Ok(WaitStatus::StillAlive)
                ) {
                    let _ = nix::sys::signal::kill(*pid, nix::sys::signal::Signal::SIGKILL);
                    let _ = waitpid(*pid, None);
                }
            }
        }
    }

    /// Whether it still runs.
    pub(super) fn alive(&mut self) -> bool {
        match self {
            Qemu::Attached(running) => matches!(running.try_wait(), Ok(None)),
            Qemu::Detached { pid, .. } => matches!(
                nix::sys::wait::waitpid(*pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)),
                Ok(nix::sys::wait::WaitStatus::StillAlive)
            ),
        }
    }

    /// Waits for it to end.
    pub(super) fn wait(&mut self) {
        match self {
            Qemu::Attached(running) => {
                let _ = running.wait();
            }
            Qemu::Detached { pid, .. } => {
                let _ = nix::sys::wait::waitpid(*pid, None);
            }
        }
    }
}

/// Boots the run's overlay once with `accel` (or restores the warm
/// snapshot into it) and watches the guest until its job ends, it fails,
/// or its time is up. A kept run's VM then stays up if its exec agent
/// answered.
// Long function: one boot's resources — the console copy, qemu, its
// stdin, the job port's reader — are set up and torn down in order here;
// split, each piece would take and return all of them.
fn boot_and_watch(
    spec: &RunSpec,
    plan: &BootPlan<'_>,
    accel: Accel,
    listener: &dyn Listener,
    interrupted: &AtomicBool,
) -> Result<Attempt, VmError> {
    let dir = plan.dir;
    let console_log = dir.join("console.log");
    let console = ConsoleCopy::start(dir, &console_log)?;
    let socket = plan.exec_nonce.map(|_| dir.join(JOB_SOCKET));
    let boot = job_boot(spec, plan, accel, &console, socket.as_deref())?;
    let args = qemu::qemu_args(&boot)?;
    listener.status(
        match plan.warm {
            Some(_) => "Restoring",
            None => "Booting",
        },
        &format!(
            "{} mode, {} ({} MiB, {} CPU)",
            spec.mode.name(),
            accel.name(),
            spec.memory_mib,
            spec.cpus
        ),
    );
    let started = Instant::now();
    // Bounded: a guest printing faster than we handle lines fills the
    // channel, then the pipe, then its own serial port waits.
    let (events, receiver) = mpsc::sync_channel(256);
    let Started {
        mut child,
        stderr,
        port,
        stdin,
    } = start_qemu(
        Cmd::new("qemu-system-x86_64").args(args),
        dir,
        socket.as_deref(),
        accel,
        plan.warm.is_some(),
        events,
    )?;
    // Kept open while qemu runs: the job port's input.
    let mut _stdin = stdin;
    let mut restore = None;
    if let (Some(snapshot), Some(warm_boot), Some(input)) = (plan.warm, &boot.warm, &mut _stdin) {
        let restored = warm::boot::restore(
            &warm_boot.qmp,
            snapshot,
            &spec.serve_program,
            accel,
            &mut || child.alive(),
            input,
        );
        match restored {
            Ok(()) => restore = Some(started.elapsed().as_secs_f64()),
            Err(mut failed) => {
                child.kill();
                console.finish();
                let said = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
                let said = said.trim();
                if !said.is_empty() {
                    failed.reason = format!("{}; qemu said: {said}", failed.reason);
                }
                return Ok(Attempt {
                    restore_failed: Some(failed),
                    ..Attempt::default()
                });
            }
        }
    }
    let watcher = Watcher {
        spec,
        accel,
        started,
        console_log: &console_log,
        listener,
        interrupted,
        warm: plan.warm.is_some(),
    };
    let result = watcher.watch(&mut child, &receiver);
    let mut running = false;
    if let (Ok(attempt), Some(nonce)) = (&result, plan.exec_nonce) {
        if attempt.end_rc.is_some() && attempt.error.is_none() {
            running = agent_ready(&receiver, nonce, watcher.limit(10));
        }
    }
    if !running {
        child.kill();
    }
    // Let go of a kept run's job port: `vm exec` connects there next.
    if let Some(port) = port {
        let _ = port.shutdown(std::net::Shutdown::Both);
    }
    console.finish();
    let mut attempt = result?;
    attempt.running = running;
    attempt.restore = restore;
    if plan.warm.is_some() && !attempt.began {
        // Restored, but the job never began: the snapshot's fault until
        // a cold boot shows otherwise.
        attempt.restore_failed = attempt
            .error
            .clone()
            .map(|reason| warm::boot::RestoreError {
                reason,
                snapshot_at_fault: true,
            });
    }
    // A kept qemu's log is read once it has ended (or at once: it stays up).
    let qemu_stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if let Some(error) = attempt.error.as_mut() {
        let qemu_stderr = qemu_stderr.trim();
        if !qemu_stderr.is_empty() {
            error.push_str(&format!("\nqemu said: {qemu_stderr}"));
        }
    }
    Ok(attempt)
}

/// A started qemu: the process, what it says on stderr (read once it
/// ends), and a kept run's job port (to let go of).
pub(super) struct Started {
    pub(super) child: Qemu,
    pub(super) stderr: Option<std::thread::JoinHandle<String>>,
    pub(super) port: Option<std::os::unix::net::UnixStream>,
    /// The job port's input (qemu's stdin), for a warm restore's go line.
    pub(super) stdin: Option<std::process::ChildStdin>,
}

/// Starts qemu, its job port's lines sent as `events`: attached with the
/// port on its stdout (and stdin, piped for a warm boot, else empty), or
/// (with a `socket`, a kept run) detached with the port on that socket and
/// its stderr in `qemu.log`.
pub(super) fn start_qemu(
    qemu: Cmd,
    dir: &Path,
    socket: Option<&Path>,
    accel: Accel,
    warm: bool,
    events: mpsc::SyncSender<Event>,
) -> Result<Started, VmError> {
    let mut port = None;
    let mut stdin = None;
    let (child, stderr) = match socket {
        None => {
            let input = match warm {
                true => Stdio::piped(),
                false => Stdio::null(),
            };
            let mut child =
                qemu.spawn(input, Stdio::piped(), Stdio::piped())
                    .map_err(|source| VmError::Tool {
                        what: "starting qemu".into(),
                        source,
                    })?;
            stdin = child.take_stdin();
            if let Some(stdout) = child.take_stdout() {
                std::thread::spawn(move || send_lines(stdout, &events));
            }
            let stderr = child
                .take_stderr()
                .map(|pipe| std::thread::spawn(move || read_head(pipe, 64 * 1024)));
            (Qemu::Attached(child), stderr)
        }
        Some(socket) => {
            let log_path = dir.join("qemu.log");
            let log = File::create(&log_path).map_err(io_at(&log_path))?;
            let pid = qemu
                .own_process_group()
                .spawn_detached(Stdio::null(), Stdio::from(log))
                .map_err(|source| VmError::Tool {
                    what: "starting qemu".into(),
                    source,
                })?;
            let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX));
            let mut child = Qemu::Detached {
                pid,
                dir: dir.to_owned(),
            };
            match connect_job_port(socket, pid, accel) {
                Some(stream) => {
                    port = stream.try_clone().ok();
                    std::thread::spawn(move || send_lines(stream, &events));
                }
                None => {
                    child.kill();
                    drop(events);
                }
            }
            let log = std::thread::spawn(move || {
                File::open(&log_path)
                    .map(|f| read_head(f, 64 * 1024))
                    .unwrap_or_default()
            });
            (child, Some(log))
        }
    };
    Ok(Started {
        child,
        stderr,
        port,
        stdin,
    })
}

/// Connects to a detached qemu's job port (qemu starts the guest only
/// then); `None` when qemu ended or the socket did not come.
fn connect_job_port(
    socket: &Path,
    pid: nix::unistd::Pid,
    accel: Accel,
) -> Option<std::os::unix::net::UnixStream> {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    let until = Instant::now() + Duration::from_secs(10 * u64::from(accel.time_factor()));
    while Instant::now() < until {
        if let Ok(stream) = std::os::unix::net::UnixStream::connect(socket) {
            return Some(stream);
        }
        if !matches!(
            waitpid(pid, Some(WaitPidFlag::WNOHANG)),
            Ok(WaitStatus::StillAlive)
        ) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Whether the exec agent of a kept run said it is ready within `limit`
/// (the lines before are the end of the job's output).
fn agent_ready(receiver: &mpsc::Receiver<Event>, nonce: &str, limit: Duration) -> bool {
    let marker = exec::marker(nonce);
    let until = Instant::now() + limit;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match receiver.recv_timeout(left) {
            Ok(Event::Line(line)) => {
                if exec::parse_answer(&line.text, &marker, "") == Some(Answer::Ready) {
                    return true;
                }
            }
            Ok(Event::Closed) | Err(_) => return false,
        }
    }
    false
}

/// How qemu boots a job: the run's overlay and job disk, the console into
/// the copy, and this program serving the guest's connections.
fn job_boot(
    spec: &RunSpec,
    plan: &BootPlan<'_>,
    accel: Accel,
    console: &ConsoleCopy,
    socket: Option<&Path>,
) -> Result<Boot, VmError> {
    let dir = plan.dir;
    let text = |path: &Path| {
        path.to_str()
            .map(str::to_owned)
            .ok_or_else(|| VmError::UnsafeServeArgument {
                word: path.display().to_string(),
            })
    };
    let program = text(&spec.serve_program)?;
    let run_dir = text(dir)?;
    let repo = text(&spec.repo_dir)?;
    Ok(Boot {
        accel,
        memory_mib: spec.memory_mib,
        cpus: spec.cpus,
        kernel: spec.image.kernel(),
        initrd: spec.image.initrd(),
        overlay: dir.join(ROOT),
        job_disk: Some(plan.job_disk.to_owned()),
        mode: spec.mode,
        console: match socket {
            None => Console::Job {
                pipe: console.pipe.clone(),
            },
            Some(socket) => Console::Kept {
                pipe: console.pipe.clone(),
                socket: socket.to_owned(),
            },
        },
        guestfwds: guestfwds(spec, &program, &run_dir, &repo),
        forwards: spec.forwards.clone(),
        pidfile: Some(dir.join("qemu.pid")),
        warm: plan.warm.map(|_| qemu::WarmBoot {
            role: qemu::WarmRole::Restore,
            qmp: dir.join(QMP_SOCKET),
        }),
    })
}

/// The guest's ways out: the repository (`vm serve-guest`), and the
/// caching apt proxy (`cache serve-guest`) when the job has a Debian
/// source; both this program, with the run directory.
fn guestfwds(spec: &RunSpec, program: &str, run_dir: &str, repo: &str) -> Vec<GuestFwd> {
    let command = |words: &[&str]| -> Vec<String> {
        let mut command = vec![program.to_owned()];
        command.extend(words.iter().map(|w| (*w).to_owned()));
        command
    };
    let mut fwds = vec![GuestFwd {
        address: qemu::REPO_ADDRESS,
        command: command(&["vm", "serve-guest", "--run-dir", run_dir, repo]),
    }];
    if spec.job.debian.is_some() {
        fwds.push(GuestFwd {
            address: qemu::PROXY_ADDRESS,
            command: command(&["cache", "serve-guest", "--run-dir", run_dir]),
        });
    }
    fwds
}

/// Sends the guest's serial lines (each bounded) as events, then
/// [`Event::Closed`]; stops early when the watcher is gone.
fn send_lines(stdout: impl Read, events: &mpsc::SyncSender<Event>) {
    let mut reader = LineReader::new(BufReader::new(stdout), limits::MAX_LINE);
    while let Ok(Some(line)) = reader.next_line() {
        if events.send(Event::Line(line)).is_err() {
            return;
        }
    }
    let _ = events.send(Event::Closed);
}

/// The first `limit` bytes of `pipe` as text; the rest is read and dropped,
/// so that the writer never blocks on a full pipe.
fn read_head(pipe: impl Read, limit: u64) -> String {
    let mut text = Vec::new();
    let mut pipe = BufReader::new(pipe);
    let _ = (&mut pipe).take(limit).read_to_end(&mut text);
    let _ = std::io::copy(&mut pipe, &mut std::io::sink());
    String::from_utf8_lossy(&text).into_owned()
}

struct Watcher<'a> {
    spec: &'a RunSpec,
    accel: Accel,
    started: Instant,
    console_log: &'a Path,
    listener: &'a dyn Listener,
    interrupted: &'a AtomicBool,
    /// The guest was restored warm: it begins its job within seconds.
    warm: bool,
}

impl Watcher<'_> {
    fn limit(&self, seconds: u64) -> Duration {
        Duration::from_secs(seconds * u64::from(self.accel.time_factor()))
    }

    // Long function: one loop over the serial port's events whose state —
    // the deadline being waited for, the test running and its kept output,
    // the phase marks, the bytes streamed — changes on every frame; split
    // up, each piece would take and return all of it.
    fn watch(
        &self,
        child: &mut Qemu,
        receiver: &mpsc::Receiver<Event>,
    ) -> Result<Attempt, VmError> {
        let marker = job::marker(&self.spec.job.nonce);
        let mut attempt = Attempt::default();
        let mut wait = match self.warm {
            true => Wait {
                what: "the restored guest to begin its job",
                until: Instant::now() + self.limit(5),
            },
            false => Wait {
                what: "the guest to boot",
                until: Instant::now() + self.limit(30),
            },
        };
        let mut marks: Vec<(&'static str, Instant)> = Vec::new();
        let mut current: Option<(String, Instant, Kept)> = None;
        // The apt step of the upgrade test running, and what it printed.
        let mut step: Option<(Phase, Instant, StepWatch)> = None;
        let runs = self.spec.job.runs();
        let mut out = self.listener.output();
        let mut streamed = 0usize;
        loop {
            if self.interrupted.load(Ordering::SeqCst) {
                child.kill();
                return Err(VmError::Interrupted);
            }
            let now = Instant::now();
            if now >= wait.until {
                child.kill();
                attempt.error = Some(format!(
                    "timed out after {}s waiting for {}",
                    self.started.elapsed().as_secs(),
                    wait.what
                ));
                break;
            }
            // A restored guest has run: KVM works.
            if self.accel == Accel::Kvm
                && !self.warm
                && marks.is_empty()
                && now.duration_since(self.started) > Duration::from_secs(20)
                && fs::metadata(self.console_log).map_or(0, |m| m.len()) == 0
            {
                attempt.silent_kvm = true;
                child.kill();
                return Ok(attempt);
            }
            let event = match receiver.recv_timeout(Duration::from_millis(250)) {
                Ok(event) => event,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => Event::Closed,
            };
            let line = match event {
                Event::Line(line) => line,
                Event::Closed => {
                    // qemu exited; wait for the process so its status is known.
                    child.wait();
                    if attempt.end_rc.is_none() && attempt.error.is_none() {
                        attempt.error = Some(match marks.last() {
                            None => "the guest stopped before its job started".to_owned(),
                            Some(_) => format!("the guest stopped while waiting for {}", wait.what),
                        });
                    }
                    break;
                }
            };
            let (output, frame) = job::split_line(&line.text, &marker);
            if !output.is_empty() || frame.is_none() {
                let output = match line.dropped {
                    0 => output.to_owned(),
                    _ => Line {
                        text: output.to_owned(),
                        dropped: line.dropped,
                    }
                    .shown(),
                };
                if streamed <= limits::MAX_STREAMED {
                    streamed += output.len() + 1;
                    let _ = if streamed > limits::MAX_STREAMED {
                        writeln!(
                            out,
                            "[git-buildkit: the guest's output stops here: it reached its limit of {} bytes]",
                            limits::MAX_STREAMED
                        )
                    } else {
                        writeln!(out, "{output}")
                    };
                }
                if let Some((_, _, kept)) = current.as_mut() {
                    kept.push_line(&output);
                }
                if let Some((_, _, watch)) = step.as_mut() {
                    watch.line(&output);
                }
            }
            let Some(frame) = frame else { continue };
            let now = Instant::now();
            match frame.kind {
                FrameKind::Begin => {
                    attempt.began = true;
                    marks.push(("begin", now));
                    wait = Wait {
                        what: "apt-get update",
                        until: now + self.limit(60),
                    };
                }
                FrameKind::Phase => match frame.field("name") {
                    "update" => {
                        self.listener
                            .status("Updating", "apt from the served repository");
                        marks.push(("update", now));
                    }
                    "install" => {
                        self.listener
                            .status("Installing", &self.spec.job.install.join(" "));
                        marks.push(("install", now));
                        wait = Wait {
                            what: "apt-get install",
                            until: now + self.limit(120),
                        };
                    }
                    "test" => {
                        marks.push(("test", now));
                        wait = Wait {
                            what: "the first test",
                            until: now + self.limit(30),
                        };
                    }
                    name => {
                        // A phase of the upgrade test (once each).
                        let Some(phase) = Phase::from_name(name)
                            .filter(|_| self.spec.job.upgrade.is_some())
                            .filter(|p| !marks.iter().any(|(m, _)| *m == p.name()))
                        else {
                            continue;
                        };
                        marks.push((phase.name(), now));
                        wait = self.upgrade_phase(phase, now);
                        if phase.is_step() {
                            step = Some((phase, now, StepWatch::new()));
                        }
                    }
                },
                FrameKind::Step => {
                    // A frame naming another step leaves the one in progress alone.
                    if step
                        .as_ref()
                        .is_none_or(|(phase, _, _)| frame.field("name") != phase.name())
                    {
                        continue;
                    }
                    let Some((phase, start, watch)) = step.take() else {
                        continue;
                    };
                    attempt
                        .tests
                        .push(self.step_result(phase, &frame, start, watch));
                    marks.push(("step-end", now));
                    wait = Wait {
                        what: "the next phase",
                        until: now + self.limit(30),
                    };
                }
                FrameKind::TestStart => {
                    let name = frame.field("name").to_owned();
                    self.listener.status("Testing", &name);
                    current = Some((name, now, Kept::new(limits::MAX_TEST_OUTPUT)));
                    wait = Wait {
                        what: "a test to end",
                        until: now
                            + Duration::from_secs(self.spec.job.test_timeout + 15)
                            + self.limit(10),
                    };
                }
                FrameKind::Test => {
                    let (_, start, output) = current
                        .take()
                        .unwrap_or_else(|| (String::new(), now, Kept::default()));
                    // One result per planned test: a guest cannot invent
                    // tests or report one twice.
                    let name = frame.field("name");
                    let planned = runs.iter().any(|t| t.name == name);
                    if !planned || attempt.tests.iter().any(|t| t.name == name) {
                        continue;
                    }
                    attempt
                        .tests
                        .push(self.result(&frame, start, output.into_text()));
                    wait = Wait {
                        what: "the next test",
                        until: now + self.limit(30),
                    };
                }
                FrameKind::SetupFailed => {
                    attempt.error = Some(format!(
                        "{} failed in the guest{}",
                        frame.field("reason"),
                        match frame.field("rc") {
                            "" => String::new(),
                            rc => format!(" (exit status {rc})"),
                        }
                    ));
                }
                FrameKind::End => {
                    marks.push(("end", now));
                    attempt.end_rc = frame.field("rc").parse().ok();
                    break;
                }
            }
        }
        attempt.phases = phases(self.started, &marks);
        let upgrade_failed = attempt
            .tests
            .iter()
            .any(|t| t.name == Phase::Upgrade.name() && t.outcome == TestOutcome::Fail);
        // Tests the guest never reported are listed, so a report shows them.
        for test in &runs {
            if !attempt.tests.iter().any(|t| t.name == test.name) {
                let after_upgrade = Phase::TestUpgraded.test_prefix().unwrap_or_default();
                attempt.tests.push(TestResult {
                    name: test.name.clone(),
                    command: describe(&test.command),
                    outcome: TestOutcome::Skip,
                    reason: Some(match &attempt.error {
                        Some(_) => "not run: the test bed failed".to_owned(),
                        None if upgrade_failed && test.name.starts_with(after_upgrade) => {
                            "not run: the upgrade failed".to_owned()
                        }
                        None => "not run".to_owned(),
                    }),
                    exit_code: None,
                    flaky: test.flaky,
                    seconds: 0.0,
                    output: String::new(),
                });
            }
        }
        if let Some(upgrade) = &self.spec.job.upgrade {
            attempt.upgrade = Some(upgrade_report(upgrade, &marks, &attempt));
        }
        Ok(attempt)
    }

    /// What the run waits for once a phase of the upgrade test started.
    fn upgrade_phase(&self, phase: Phase, now: Instant) -> Wait {
        let job = &self.spec.job;
        match phase {
            Phase::InstallReleased | Phase::Upgrade | Phase::Purge | Phase::Reinstall => {
                let what = match phase {
                    Phase::InstallReleased => "apt-get install of the released versions",
                    Phase::Upgrade => "apt-get install of the upgrade",
                    Phase::Purge => "apt-get purge",
                    _ => "apt-get install after the purge",
                };
                let words = match (phase, &job.upgrade) {
                    (Phase::InstallReleased, Some(upgrade)) => upgrade.install.join(" "),
                    (Phase::Purge, Some(upgrade)) => upgrade.purge.join(" "),
                    _ => job.install.join(" "),
                };
                self.listener.status(
                    match phase {
                        Phase::Upgrade => "Upgrading",
                        Phase::Purge => "Purging",
                        _ => "Installing",
                    },
                    &words,
                );
                Wait {
                    what,
                    until: now + self.limit(120),
                }
            }
            _ => Wait {
                what: "the first test",
                until: now + self.limit(30),
            },
        }
    }

    /// The result of an apt step of the upgrade test, as a test of its
    /// name: failed, naming the package and the script or conffile, when
    /// apt did not succeed.
    fn step_result(
        &self,
        phase: Phase,
        frame: &job::Frame,
        start: Instant,
        watch: StepWatch,
    ) -> TestResult {
        let rc: Option<i32> = frame.field("rc").parse().ok();
        let upgrade = self.spec.job.upgrade.as_ref();
        let from = upgrade.map(|u| u.from.as_slice()).unwrap_or_default();
        let reason = watch.finish(phase, rc, from);
        let command = match (phase, upgrade) {
            (Phase::Purge, Some(upgrade)) => format!("apt-get purge {}", upgrade.purge.join(" ")),
            _ => format!("apt-get install {}", self.spec.job.install.join(" ")),
        };
        TestResult {
            name: phase.name().to_owned(),
            command,
            outcome: if reason.is_none() {
                TestOutcome::Pass
            } else {
                TestOutcome::Fail
            },
            reason,
            exit_code: rc,
            flaky: false,
            seconds: round(start.elapsed().as_secs_f64()),
            output: String::new(),
        }
    }

    fn result(&self, frame: &job::Frame, start: Instant, output: String) -> TestResult {
        let name = frame.field("name").to_owned();
        let runs = self.spec.job.runs();
        let test = runs.iter().find(|t| t.name == name);
        let outcome = TestOutcome::from_guest(frame.field("result"));
        let mut reason = Some(frame.field("reason").to_owned()).filter(|r| !r.is_empty());
        let released = Phase::TestReleased.test_prefix().unwrap_or_default();
        if outcome == TestOutcome::Fail && name.starts_with(released) {
            reason = Some(format!(
                "{}; not counted: the released version ran this tag's tests",
                reason.as_deref().unwrap_or("failed")
            ));
        }
        TestResult {
            name,
            command: test.map(|t| describe(&t.command)).unwrap_or_default(),
            outcome,
            reason,
            exit_code: frame.field("rc").parse().ok(),
            flaky: test.is_some_and(|t| t.flaky),
            seconds: round(start.elapsed().as_secs_f64()),
            output,
        }
    }
}

/// What a test runs, for reports.
pub fn describe(command: &job::TestCommand) -> String {
    match command {
        job::TestCommand::Shell(text) => text.clone(),
        job::TestCommand::Script(path) => path.clone(),
    }
}

/// The report of an upgrade test: each phase's result from the tests and
/// steps reported, its time from its mark to the next one.
// Long function: one pass over the seven phases, each with its own rule.
fn upgrade_report(
    upgrade: &job::Upgrade,
    marks: &[(&'static str, Instant)],
    attempt: &Attempt,
) -> UpgradeReport {
    let mut phases = Vec::new();
    let started = |phase: Phase| marks.iter().position(|(n, _)| *n == phase.name());
    // The phase the test bed broke in, if it did.
    let broken = attempt
        .error
        .as_ref()
        .and_then(|_| Phase::ALL.into_iter().rev().find(|p| started(*p).is_some()));
    for phase in Phase::ALL {
        let at = started(phase);
        let seconds = at
            .and_then(|i| Some(marks.get(i + 1)?.1.duration_since(marks[i].1)))
            .map_or(0.0, |d| round(d.as_secs_f64()));
        let (result, detail) = match (at, phase.test_prefix()) {
            (None, _) => (PhaseResult::NotRun, None),
            (Some(_), _) if broken == Some(phase) => (
                PhaseResult::Failed,
                attempt
                    .error
                    .as_deref()
                    .and_then(|e| e.lines().next())
                    .map(str::to_owned),
            ),
            (Some(_), Some(prefix)) => {
                let failed: Vec<String> = attempt
                    .tests
                    .iter()
                    .filter(|t| t.name.starts_with(prefix) && t.outcome == TestOutcome::Fail)
                    .map(|t| t.name.clone())
                    .collect();
                match (failed.is_empty(), phase.counts()) {
                    (true, _) => (PhaseResult::Passed, None),
                    (false, counted) => (
                        PhaseResult::Failed,
                        Some(format!(
                            "{} failed{}",
                            failed.join(", "),
                            if counted { "" } else { " (not counted)" }
                        )),
                    ),
                }
            }
            (Some(_), None) if phase.is_step() => {
                match attempt.tests.iter().find(|t| t.name == phase.name()) {
                    Some(t) if t.outcome == TestOutcome::Pass => (PhaseResult::Passed, None),
                    Some(t) => (PhaseResult::Failed, t.reason.clone()),
                    None => (
                        PhaseResult::Failed,
                        Some("the guest did not report its end".to_owned()),
                    ),
                }
            }
            // The released versions' install: done once their tests start.
            (Some(_), None) => match started(Phase::TestReleased) {
                Some(_) => (PhaseResult::Passed, None),
                None => (PhaseResult::Failed, attempt.error.clone()),
            },
        };
        phases.push(PhaseReport {
            name: phase.name().to_owned(),
            result,
            seconds,
            detail,
        });
    }
    UpgradeReport {
        suite: upgrade.suite.clone(),
        from: upgrade
            .from
            .iter()
            .map(|(package, version)| UpgradedFrom {
                package: package.clone(),
                version: version.clone(),
            })
            .collect(),
        phases,
    }
}

fn phases(started: Instant, marks: &[(&'static str, Instant)]) -> Phases {
    let found = |name: &str| marks.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
    // With an upgrade test, the first install is the released versions',
    // and the tests start with theirs (and `test` lasts to the end).
    let at = |name: &str| match name {
        "install" => found("install").or(found(Phase::InstallReleased.name())),
        "test" => found("test").or(found(Phase::TestReleased.name())),
        _ => found(name),
    };
    let span = |from: Option<Instant>, to: Option<Instant>| match (from, to) {
        (Some(a), Some(b)) => round(b.duration_since(a).as_secs_f64()),
        _ => 0.0,
    };
    Phases {
        prepare: 0.0,
        restore: 0.0,
        save: 0.0,
        boot: span(Some(started), at("begin")),
        update: span(at("update"), at("install")),
        install: span(at("install"), at("test")),
        test: span(at("test"), at("end")),
        total: 0.0,
    }
}

fn round(seconds: f64) -> f64 {
    (seconds * 100.0).round() / 100.0
}

/// The last `count` non-blank lines of a log file.
pub(super) fn tail_lines(path: &Path, count: usize) -> String {
    let text = fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// The kernel console: qemu writes it into the FIFO `console.out` (and
/// reads the FIFO `console.in`, which nobody writes), and a thread copies
/// at most [`limits::MAX_CONSOLE_LOG`] bytes of it into `console.log`.
pub(super) struct ConsoleCopy {
    /// The FIFOs' path without `.in`/`.out`, for qemu's `pipe` chardev.
    pipe: PathBuf,
    out: PathBuf,
    thread: std::thread::JoinHandle<()>,
}

impl ConsoleCopy {
    pub(super) fn start(dir: &Path, log: &Path) -> Result<Self, VmError> {
        let pipe = dir.join("console");
        let fifo_in = dir.join("console.in");
        let out = dir.join("console.out");
        for fifo in [&fifo_in, &out] {
            let _ = fs::remove_file(fifo);
            nix::unistd::mkfifo(
                fifo.as_path(),
                nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
            )
            .map_err(|e| VmError::Io {
                path: fifo.clone(),
                source: e.into(),
            })?;
        }
        let mut file = File::create(log).map_err(io_at(log))?;
        let reading = out.clone();
        let thread = std::thread::spawn(move || {
            // Blocks until qemu opens the FIFO (or `finish` does).
            if let Ok(mut fifo) = File::open(&reading) {
                let _ = limits::copy_capped(&mut fifo, &mut file, limits::MAX_CONSOLE_LOG);
            }
        });
        Ok(Self { pipe, out, thread })
    }

    /// Once qemu is gone: wakes the thread if qemu never opened the FIFO
    /// (an open for writing that does not block, then end-of-file), and
    /// waits for the copy to end.
    pub(super) fn finish(self) {
        use std::os::unix::fs::OpenOptionsExt;
        let until = Instant::now() + Duration::from_secs(2);
        while !self.thread.is_finished() && Instant::now() < until {
            let _ = fs::OpenOptions::new()
                .write(true)
                .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
                .open(&self.out);
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.thread.is_finished() {
            let _ = self.thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn the_verdict_follows_the_job_status_and_a_broken_bed_says_why() {
        assert_eq!(judge(None, Some(0)), (VerdictKind::Passed, None));
        assert_eq!(judge(None, Some(1)), (VerdictKind::Failed, None));
        let (kind, error) = judge(None, Some(3));
        assert_eq!(kind, VerdictKind::TestbedFailed);
        assert_eq!(
            error.as_deref(),
            Some("the job's setup failed in the guest (exit status 3)")
        );
        let (kind, error) = judge(None, None);
        assert_eq!(kind, VerdictKind::TestbedFailed);
        assert!(error.is_some_and(|e| e.contains("without reporting the end")));
        // The runner's own error wins over any status the job reported.
        let said = Some("the guest hung".to_owned());
        assert_eq!(
            judge(said.clone(), Some(0)),
            (VerdictKind::TestbedFailed, said)
        );
    }

    fn test_result(name: &str, outcome: TestOutcome, reason: Option<&str>) -> TestResult {
        TestResult {
            name: name.into(),
            command: String::new(),
            outcome,
            reason: reason.map(str::to_owned),
            exit_code: None,
            flaky: false,
            seconds: 0.0,
            output: String::new(),
        }
    }

    #[test]
    fn the_upgrade_report_follows_the_marks_and_the_results() {
        let upgrade = job::Upgrade {
            suite: "stable".into(),
            install: vec!["hello=1.0-1".into()],
            from: vec![("hello".into(), "1.0-1".into())],
            purge: vec!["hello".into()],
        };
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let report = |marks: &[(&'static str, Instant)], attempt: &Attempt| {
            upgrade_report(&upgrade, marks, attempt)
                .phases
                .into_iter()
                .map(|p| (p.name, p.result, p.seconds, p.detail.unwrap_or_default()))
                .collect::<Vec<_>>()
        };
        let row = |name: &str, result, seconds, detail: &str| {
            (name.to_owned(), result, seconds, detail.to_owned())
        };
        // The upgrade failed: its tests did not run, the rest did.
        let marks = [
            ("install-released", at(10)),
            ("test-released", at(18)),
            ("upgrade", at(20)),
            ("step-end", at(26)),
            ("purge", at(27)),
            ("step-end", at(30)),
            ("reinstall", at(30)),
            ("step-end", at(35)),
            ("test-reinstalled", at(35)),
            ("end", at(37)),
        ];
        let said = "hello's postinst failed (exit status 1) while upgrading from 1.0-1";
        let attempt = Attempt {
            tests: vec![
                test_result("released/smoke1", TestOutcome::Pass, None),
                test_result("upgrade", TestOutcome::Fail, Some(said)),
                test_result("purge", TestOutcome::Pass, None),
                test_result("reinstall", TestOutcome::Pass, None),
                test_result("reinstalled/smoke1", TestOutcome::Pass, None),
                test_result(
                    "upgraded/smoke1",
                    TestOutcome::Skip,
                    Some("not run: the upgrade failed"),
                ),
            ],
            end_rc: Some(1),
            ..Attempt::default()
        };
        assert_eq!(
            report(&marks, &attempt),
            [
                row("install-released", PhaseResult::Passed, 8.0, ""),
                row("test-released", PhaseResult::Passed, 2.0, ""),
                row("upgrade", PhaseResult::Failed, 6.0, said),
                row("test-upgraded", PhaseResult::NotRun, 0.0, ""),
                row("purge", PhaseResult::Passed, 3.0, ""),
                row("reinstall", PhaseResult::Passed, 5.0, ""),
                row("test-reinstalled", PhaseResult::Passed, 2.0, ""),
            ]
        );
        // The released versions did not install: the test bed's failure,
        // in that phase; nothing after it ran.
        let marks = [("install-released", at(10)), ("end", at(14))];
        let attempt = Attempt {
            error: Some("apt-get install of the released versions failed in the guest (exit status 100)\nmore".into()),
            end_rc: Some(3),
            ..Attempt::default()
        };
        let rows = report(&marks, &attempt);
        assert_eq!(
            rows[0],
            row(
                "install-released",
                PhaseResult::Failed,
                4.0,
                "apt-get install of the released versions failed in the guest (exit status 100)"
            )
        );
        assert!(
            rows[1..].iter().all(|r| r.1 == PhaseResult::NotRun),
            "{rows:?}"
        );
    }

    #[test]
    fn a_sweep_never_removes_a_run_being_created() {
        // Creators and a sweeper race on one store: every directory a
        // creator gets must exist, locked, until the creator lets it go.
        let root = tempfile::tempdir().expect("tempdir");
        let store = ImageStore::at(root.path().to_owned());
        let stop = AtomicBool::new(false);
        let swept: Vec<String> = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    let _ = remove_stale_runs(&store);
                }
            });
            let creators: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        let mut swept = Vec::new();
                        for _ in 0..150 {
                            match new_run_dir(&store, "v1.0.0") {
                                Ok((dir, lock)) => {
                                    if !dir.join("lock").is_file() {
                                        swept.push(format!("{} lost its lock file", dir.display()));
                                    }
                                    drop(lock);
                                    let _ = fs::remove_dir_all(&dir);
                                }
                                Err(e) => {
                                    swept.push(format!("{e}: {:?}", std::error::Error::source(&e)))
                                }
                            }
                        }
                        swept
                    })
                })
                .collect();
            let swept = creators
                .into_iter()
                .flat_map(|c| c.join().unwrap_or_default())
                .collect();
            stop.store(true, Ordering::SeqCst);
            swept
        });
        assert_eq!(swept, Vec::<String>::new());
    }

    #[test]
    fn the_sweep_ends_the_qemu_of_a_dead_run_and_nothing_else() {
        let root = tempfile::tempdir().expect("tempdir");
        let store = ImageStore::at(root.path().to_owned());
        let runs = store.runs_dir();
        // A dead run whose "qemu" (a shell started with this run's
        // -pidfile, as qemu is) still runs.
        let dead = runs.join("v1.0.0-dead");
        fs::create_dir_all(&dead).expect("dir");
        fs::write(dead.join("lock"), "").expect("lock");
        let pidfile = dead.join("qemu.pid");
        let mut orphan = std::process::Command::new("sh")
            .args(["-c", "sleep 60; :", "qemu", "-pidfile"])
            .arg(&pidfile)
            .spawn()
            .expect("sh");
        fs::write(&pidfile, format!("{}\n", orphan.id())).expect("pid");
        // Another dead run whose pid file names a process that is not its
        // qemu (a reused pid): that process is left alone.
        let other = runs.join("v1.0.0-other");
        fs::create_dir_all(&other).expect("dir");
        let mut bystander = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("sleep");
        fs::write(other.join("qemu.pid"), bystander.id().to_string()).expect("pid");
        // A live run (lock held) and a kept run stay.
        let (live, _lock) = new_run_dir(&store, "v2.0.0").expect("live");
        let kept = runs.join("v0.9.0-kept");
        fs::create_dir_all(&kept).expect("dir");
        fs::write(kept.join("keep"), "").expect("keep");

        assert_eq!(remove_stale_runs(&store).expect("sweep"), 2);
        let status = orphan.wait().expect("wait");
        assert_eq!(status.signal(), Some(9), "{status:?}");
        assert_eq!(bystander.try_wait().expect("try_wait"), None);
        let _ = bystander.kill();
        let _ = bystander.wait();
        let mut left: Vec<String> = fs::read_dir(&runs)
            .expect("runs")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let live_name = live
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert_eq!(left, [".lock".to_owned(), "v0.9.0-kept".into(), live_name]);
    }

    #[test]
    fn a_replaced_binary_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join("git-buildkit");
        fs::write(&exe, "").expect("exe");
        check_serve_program(&exe).expect("present");
        let deleted = dir.path().join("git-buildkit (deleted)");
        fs::write(&deleted, "").expect("even if such a file exists");
        let error = check_serve_program(&deleted).expect_err("deleted");
        assert_eq!(
            error.to_string(),
            format!(
                "the running git-buildkit ({}) was replaced or removed since it started: \
                 qemu could not start it for the guest's connections",
                deleted.display()
            )
        );
        assert!(check_serve_program(&dir.path().join("gone")).is_err());
    }
}
