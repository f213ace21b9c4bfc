//! Warm snapshots: the booted, idle guest saved once, restored by each test
//! instead of a boot.
//!
//! The first test of an image in a given shape (accelerator, mode, memory,
//! CPUs: everything that makes the qemu command line) boots it cold with
//! `bk.warm` on the kernel command line; the guest's runner stops before
//! the job, says `@@bk-warm ready` on the job port and waits for a go line.
//! There the host stops the VM and writes qemu's migration stream to
//! `state`, beside `disk.qcow2`, the overlay of the image's root the guest
//! ran on. Both are made read-only and never written again: a test gets
//! its own qcow2 overlay over `disk.qcow2` (qemu opens backing files
//! read-only) and qemu reads `state` through `vm read-state`, which checks
//! its SHA-256 as it streams and withholds the end of a stream that does
//! not match, so a damaged snapshot fails to load instead of running.
//!
//! The restored guest gets the run's job disk, a file of exactly
//! [`JOB_DISK_MIB`] like the placeholder it was saved with (the guest knows
//! the disk's size from its boot), and a go line with the host's clock and
//! 32 random bytes; qemu gives it a new VM generation id, so its kernel
//! reseeds its random numbers too. Nothing from a run reaches the snapshot.
//!
//! Why the migration stream and not a qcow2 internal snapshot: `loadvm`
//! finds the snapshot in the top image of each writable disk, which a fresh
//! per-run overlay never is; each run would need a copy of the image with
//! its snapshot, and two runs could not share one.
//!
//! A snapshot is keyed by everything that must match for qemu to load it:
//! the image, qemu's exact version, the command line's shape (machine,
//! CPU model, memory, devices, kernel command line), the host CPU under KVM
//! and [`FORMAT`]. A snapshot that does not restore is discarded and the
//! run boots cold; the next run saves a new one.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub mod boot;

use crate::vm::error::io_at;
use crate::vm::qemu::Accel;
use crate::vm::{Image, VmError};

/// The job disk's size in a warm run (a sparse file). A job that does not
/// fit boots cold.
pub const JOB_DISK_MIB: u64 = 256;

/// Bumped when what a snapshot holds changes meaning.
const FORMAT: u32 = 1;

/// What `warm.json` records beside a snapshot.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// [`FORMAT`] when saved.
    pub format: u32,
    /// The snapshot's key.
    pub key: String,
    /// qemu's version line.
    pub qemu: String,
    /// The accelerator (`kvm`, `tcg`).
    pub accel: String,
    /// The guest mode (`fast`, `systemd`).
    pub mode: String,
    /// The migration stream's size.
    pub state_bytes: u64,
    /// Its SHA-256 (hex).
    pub state_sha256: String,
    /// How long the boot and the save took.
    pub save_seconds: f64,
    /// When it was saved (seconds since the epoch).
    pub created: u64,
}

/// A saved guest.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Its directory.
    pub dir: PathBuf,
    /// Its record.
    pub record: Record,
}

impl Snapshot {
    /// The migration stream.
    pub fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// The root overlay the saved guest ran on (a run's overlay's backing).
    pub fn disk(&self) -> PathBuf {
        self.dir.join("disk.qcow2")
    }
}

/// Where an image's snapshots live (removed with the image).
pub fn snapshots_dir(image: &Image) -> PathBuf {
    image.dir.join("warm")
}

/// The snapshot key of a warm boot whose command line, with placeholder
/// paths, is `template` (see [`super::run`]).
pub fn key(image: &Image, template: &[OsString], qemu_version: &str, accel: Accel) -> String {
    let mut hash = Sha256::new();
    hash.update(format!(
        "warm format {FORMAT}\nimage {}\nqemu {qemu_version}\n",
        image.manifest.key
    ));
    for arg in template {
        hash.update(arg.as_encoded_bytes());
        hash.update([0]);
    }
    if accel == Accel::Kvm {
        // `-cpu host`: the guest saw this CPU's features (as this kernel's
        // KVM offers them) at boot.
        hash.update(host_cpu());
        hash.update(fs::read("/proc/sys/kernel/osrelease").unwrap_or_default());
    }
    hex::encode(&hash.finalize()[..8])
}

/// The host CPU's model and flags, from `/proc/cpuinfo`.
fn host_cpu() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo
        .lines()
        .filter(|l| l.starts_with("model name") || l.starts_with("flags"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n")
}

/// qemu's version line (`QEMU emulator version 7.2.22 (Debian …)`).
pub fn qemu_version() -> Result<String, VmError> {
    let out = crate::process::Cmd::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .map_err(|source| VmError::Tool {
            what: "asking qemu its version".into(),
            source,
        })?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned())
}

/// The snapshot saved under `key`, when there is a complete one whose
/// stream has the size it was saved with.
pub fn find(image: &Image, key: &str) -> Option<Snapshot> {
    let dir = snapshots_dir(image).join(key);
    let text = fs::read(dir.join("warm.json")).ok()?;
    let record: Record = serde_json::from_slice(&text).ok()?;
    let snapshot = Snapshot { dir, record };
    let size = fs::metadata(snapshot.state()).ok()?.len();
    let whole = record_matches(&snapshot.record, key)
        && size == snapshot.record.state_bytes
        && snapshot.disk().is_file();
    whole.then_some(snapshot)
}

fn record_matches(record: &Record, key: &str) -> bool {
    record.format == FORMAT && record.key == key && record.state_sha256.len() == 64
}

/// The lock under which the snapshot `key` is saved or discarded (one at
/// a time; the others wait and then find it), when it is free.
pub fn try_lock(image: &Image, key: &str) -> Result<Option<File>, VmError> {
    let dir = snapshots_dir(image);
    fs::create_dir_all(&dir).map_err(io_at(&dir))?;
    let path = dir.join(format!(".lock-{key}"));
    let file = crate::fsutil::open_lock_file(&path).map_err(io_at(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(io_at(&path)(e)),
    }
}

/// A fresh directory to save the snapshot `key` into (under its lock):
/// what a killed save left is removed first.
pub fn new_save_dir(image: &Image, key: &str) -> Result<PathBuf, VmError> {
    let dir = snapshots_dir(image);
    let prefix = format!(".tmp-{key}-");
    for entry in fs::read_dir(&dir).map_err(io_at(&dir))?.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    let tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(&dir)
        .map_err(io_at(&dir))?
        .keep();
    Ok(tmp)
}

/// Makes the saved `state` and `disk.qcow2` in `tmp` read-only and
/// durable, writes `warm.json` and moves the directory into place as the
/// snapshot `record.key`.
pub fn commit(image: &Image, tmp: &Path, mut record: Record) -> Result<Snapshot, VmError> {
    use std::os::unix::fs::PermissionsExt;
    let state = tmp.join("state");
    if !stream_is_whole(&state) {
        return Err(VmError::Io {
            path: state,
            source: std::io::Error::other("the migration stream was cut short"),
        });
    }
    let (bytes, sha256) = crate::fsutil::sha256_file(&state).map_err(io_at(&state))?;
    record.state_bytes = bytes;
    record.state_sha256 = sha256;
    for name in ["state", "disk.qcow2"] {
        let path = tmp.join(name);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).map_err(io_at(&path))?;
        crate::fsutil::sync_file(&path).map_err(io_at(&path))?;
    }
    // What only the save needed.
    for name in ["placeholder.img", "console.log"] {
        let _ = fs::remove_file(tmp.join(name));
    }
    let json = serde_json::to_vec_pretty(&record).expect("a record always serializes");
    let path = tmp.join("warm.json");
    crate::fsutil::write_atomic(&path, &json, 0o444, crate::fsutil::Durability::Synced)
        .map_err(io_at(&path))?;
    let dir = snapshots_dir(image).join(&record.key);
    if dir.exists() {
        discard_dir(image, &dir);
    }
    fs::rename(tmp, &dir).map_err(io_at(&dir))?;
    crate::fsutil::sync_dir(&snapshots_dir(image)).map_err(io_at(&dir))?;
    Ok(Snapshot { dir, record })
}

/// Removes a snapshot that did not restore: moved aside first (runs that
/// restored it keep their open files), so the next run saves a new one.
/// Only that very snapshot (its stream's digest): one saved again since
/// by another run stays, and so does one being saved now.
pub fn discard(image: &Image, snapshot: &Snapshot) {
    let Ok(Some(_lock)) = try_lock(image, &snapshot.record.key) else {
        return;
    };
    let same = fs::read(snapshot.dir.join("warm.json"))
        .ok()
        .and_then(|text| serde_json::from_slice::<Record>(&text).ok())
        .is_some_and(|r| r.state_sha256 == snapshot.record.state_sha256);
    if same {
        discard_dir(image, &snapshot.dir);
    }
}

fn discard_dir(image: &Image, dir: &Path) {
    let aside = snapshots_dir(image).join(format!(
        ".bad-{}-{}",
        std::process::id(),
        crate::time::unix_now()
    ));
    if fs::rename(dir, &aside).is_ok() {
        let _ = fs::remove_dir_all(&aside);
    }
}

/// The records of the image's complete snapshots, by key.
pub fn list(image: &Image) -> Vec<Record> {
    let mut records: Vec<Record> = fs::read_dir(snapshots_dir(image))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| find(image, &entry.file_name().to_string_lossy()))
        .map(|snapshot| snapshot.record)
        .collect();
    records.sort_by(|a, b| a.key.cmp(&b.key));
    records
}

/// Removes what no run can use: snapshots saved by another qemu than
/// `qemu` (a version line) or in another format, and what killed saves
/// and discards left. Each under its key's lock, taken without waiting:
/// a save in progress is left alone.
pub fn remove_unusable(image: &Image, qemu: &str) {
    let dir = snapshots_dir(image);
    for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let key = match name.strip_prefix(".tmp-") {
            Some(rest) => rest.split('-').next().unwrap_or_default().to_owned(),
            None if name.starts_with(".bad-") => {
                let _ = fs::remove_dir_all(&path);
                continue;
            }
            None if name.starts_with('.') => continue,
            None => name.clone(),
        };
        let usable = !name.starts_with('.')
            && fs::read(path.join("warm.json"))
                .ok()
                .and_then(|text| serde_json::from_slice::<Record>(&text).ok())
                .is_some_and(|r| r.qemu == qemu && r.format == FORMAT);
        if usable || key.is_empty() {
            continue;
        }
        if let Ok(Some(_lock)) = try_lock(image, &key) {
            discard_dir(image, &path);
        }
    }
}

/// How far from its end a whole stream's device description may start
/// ([`stream_is_whole`] looks no further back).
const DESCRIPTION_MAX: u64 = 4 << 20;

/// What [`stream_checked`] holds back until the digest matches: more than
/// the description and the end-of-stream marker before it. qemu stops
/// reading at that marker and never reads the description, so a stream
/// that lacked only (part of) the description would still load.
const WITHHELD: u64 = DESCRIPTION_MAX + (1 << 20);

/// Whether a saved migration stream is complete: qemu ends it with its
/// JSON description of the devices, prefixed by a section byte (6) and
/// the description's length, which must then reach the end of the file
/// exactly. A stream cut short (qemu ends the writer of an `exec:`
/// migration as it closes it) fails this.
fn stream_is_whole(path: &Path) -> bool {
    use std::io::{Seek, SeekFrom};
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = size.saturating_sub(DESCRIPTION_MAX);
    let mut tail = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut tail).is_err() {
        return false;
    }
    (0..tail.len().saturating_sub(5)).rev().any(|i| {
        let length = u32::from_be_bytes([tail[i + 1], tail[i + 2], tail[i + 3], tail[i + 4]]);
        tail[i] == 6
            && usize::try_from(length).is_ok_and(|n| n == tail.len() - (i + 5))
            && tail.get(i + 5) == Some(&b'{')
            && tail.last() == Some(&b'}')
    })
}

/// Streams `path` to `out` (qemu's migration input) while hashing it, and
/// writes its last [`WITHHELD`] bytes only when the whole file has
/// `sha256` (hex): a damaged stream reaches qemu without its end, so it
/// fails to load. Fails (after what was written) on a mismatch.
pub fn stream_checked(path: &Path, sha256: &str, out: &mut dyn Write) -> Result<(), String> {
    const CHUNK: usize = 1 << 20;
    let at = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = File::open(path).map_err(at)?;
    let size = file.metadata().map_err(at)?.len();
    let mut hash = Sha256::new();
    let mut buffer = Vec::with_capacity(CHUNK);
    let mut streamed = (&mut file).take(size.saturating_sub(WITHHELD));
    loop {
        buffer.clear();
        let n = (&mut streamed)
            .take(CHUNK as u64)
            .read_to_end(&mut buffer)
            .map_err(at)?;
        if n == 0 {
            break;
        }
        hash.update(&buffer);
        out.write_all(&buffer)
            .map_err(|e| format!("writing: {e}"))?;
    }
    // The rest, to its end (also what a writer appended since).
    let mut held = Vec::new();
    file.read_to_end(&mut held).map_err(at)?;
    hash.update(&held);
    let actual = hex::encode(hash.finalize());
    if !actual.eq_ignore_ascii_case(sha256) {
        return Err(format!(
            "{} is damaged: its SHA-256 is {actual}, it was saved as {sha256}",
            path.display()
        ));
    }
    out.write_all(&held).map_err(|e| format!("writing: {e}"))?;
    out.flush().map_err(|e| format!("writing: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_stream_is_cut_short_and_a_good_one_passes_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state");
        // As the streams saved here: ~100 KB of description after the
        // end-of-stream marker, and a size just past a whole MiB (a
        // stream that once loaded damaged: only its last, partial MiB
        // was held back, which was all description).
        let description = format!("{{{}}}", " ".repeat(101_969));
        let mut bytes: Vec<u8> = (0..(12 << 20) + 86_729 - description.len() - 6)
            .map(|i| (i % 251) as u8)
            .collect();
        let marker = bytes.len();
        bytes.push(4);
        bytes.push(6);
        bytes.extend_from_slice(&(description.len() as u32).to_be_bytes());
        bytes.extend_from_slice(description.as_bytes());
        fs::write(&path, &bytes).expect("write");
        assert!(stream_is_whole(&path));
        let sha = hex::encode(Sha256::digest(&bytes));
        let mut out = Vec::new();
        stream_checked(&path, &sha, &mut out).expect("good");
        assert_eq!(out, bytes);

        for at in [100, bytes.len() / 2, marker - 1, bytes.len() - 2] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            fs::write(&path, &damaged).expect("write");
            let mut out = Vec::new();
            let error = stream_checked(&path, &sha, &mut out).expect_err("damaged");
            assert!(error.contains("is damaged"), "{error}");
            // qemu sees the stream without its end-of-stream marker.
            assert!(out.len() < marker, "{} of {}", out.len(), bytes.len());
            assert_eq!(out[..], damaged[..out.len()]);
        }

        // A stream shorter than what is held back reaches qemu only whole.
        let short = &bytes[bytes.len() - 300_000..];
        fs::write(&path, short).expect("write");
        let mut out = Vec::new();
        stream_checked(&path, &sha, &mut out).expect_err("not its digest");
        assert!(out.is_empty());
    }

    /// A stream as qemu ends one: the device description last.
    fn stream() -> Vec<u8> {
        let description = br#"{"page_size": 4096, "devices": []}"#;
        let mut bytes = b"QEVM\0\0\0\x03 pages \x01".to_vec();
        bytes.push(6);
        bytes.extend_from_slice(&(description.len() as u32).to_be_bytes());
        bytes.extend_from_slice(description);
        bytes
    }

    #[test]
    fn a_stream_cut_short_is_not_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state");
        let whole = stream();
        fs::write(&path, &whole).expect("write");
        assert!(stream_is_whole(&path));
        for cut in [1, 10, whole.len() - 3] {
            fs::write(&path, &whole[..whole.len() - cut]).expect("write");
            assert!(!stream_is_whole(&path), "cut {cut}");
        }
        fs::write(&path, b"").expect("write");
        assert!(!stream_is_whole(&path));
    }

    #[test]
    fn a_snapshot_is_found_only_whole_and_of_its_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let image = Image {
            name: "default".into(),
            dir: dir.path().to_owned(),
            manifest: serde_json::from_value(serde_json::json!({
                "format": 3, "key": "k1", "recipe": {"suite": "bookworm",
                "mirror": "http://deb.debian.org/debian", "include": [], "size": "2G"},
                "kernel_package": "linux-image-x", "kernel": "vmlinux",
                "modules": [], "created": 0, "build_seconds": 0.0
            }))
            .expect("manifest"),
        };
        let key = "0123456789abcdef";
        fs::create_dir_all(snapshots_dir(&image)).expect("dir");
        let tmp = new_save_dir(&image, key).expect("tmp");
        fs::write(tmp.join("state"), stream()).expect("state");
        fs::write(tmp.join("disk.qcow2"), b"disk").expect("disk");
        fs::write(tmp.join("placeholder.img"), b"").expect("placeholder");
        let record = Record {
            format: FORMAT,
            key: key.into(),
            qemu: "QEMU emulator version 7.2.22".into(),
            accel: "tcg".into(),
            mode: "fast".into(),
            state_bytes: 0,
            state_sha256: String::new(),
            save_seconds: 3.0,
            created: 1,
        };
        let saved = commit(&image, &tmp, record).expect("commit");
        assert!(!tmp.exists());
        assert!(!saved.dir.join("placeholder.img").exists());
        // Another qemu's snapshots go; this one's stay.
        remove_unusable(&image, "QEMU emulator version 7.2.22");
        let found = find(&image, key).expect("found");
        assert_eq!(list(&image), std::slice::from_ref(&found.record));
        assert_eq!(found.record.state_bytes, stream().len() as u64);
        assert_eq!(
            found.record.state_sha256,
            hex::encode(Sha256::digest(stream()))
        );
        assert!(find(&image, "fedcba9876543210").is_none());
        // Read-only, as every run's qemu and `cat` see it.
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(found.state())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o444);
        // A truncated stream is not a snapshot; a discarded one is gone.
        let mut perms = fs::metadata(found.state()).expect("meta").permissions();
        perms.set_mode(0o644);
        fs::set_permissions(found.state(), perms).expect("chmod");
        fs::write(found.state(), b"str").expect("truncate");
        assert!(find(&image, key).is_none());
        discard(&image, &found);
        assert!(!found.dir.exists());
        let tmp = new_save_dir(&image, key).expect("tmp");
        fs::write(tmp.join("state"), stream()).expect("state");
        fs::write(tmp.join("disk.qcow2"), b"disk").expect("disk");
        let mut old = found.record.clone();
        old.qemu = "QEMU emulator version 7.2.1".into();
        let old = commit(&image, &tmp, old).expect("commit");
        remove_unusable(&image, "QEMU emulator version 8.2.2");
        assert!(!old.dir.exists());
        // A save killed half-way leaves debris the next save removes.
        let left = new_save_dir(&image, key).expect("tmp");
        let next = new_save_dir(&image, key).expect("tmp");
        assert!(!left.exists() && next.exists());
    }
}
