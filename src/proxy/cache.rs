//! The cache directory: one file per cached URL at
//! `<dir>/<scheme>/<authority>/<decoded path>`, beside it `.<name>.meta`
//! (upstream's `Last-Modified` and `ETag`, when it was fetched, the URL)
//! and `.<name>.lock` (one download per key: whoever holds it is fetching),
//! and while downloading `.<name>.tmp-*`. Requests with a segment starting
//! with `.` are refused, so no URL can name these files.
//!
//! A cached file's modification time is upstream's `Last-Modified`, so the
//! server's `If-Modified-Since` and `If-Range` checks compare against the
//! date upstream gave (stamping the fill time would make apt's `If-Range`
//! never match: reference §4). Its access time is the last time it was
//! served, which least-recently-used eviction and `clean --older-than` go by.

use std::collections::BTreeMap;
use std::fs::{self, File, FileTimes};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::fsutil::{is_locked, write_atomic, Durability};

/// How old a temporary file without a lock must be before `clean` takes it
/// for the debris of a killed process.
const TEMPORARY_AGE: Duration = Duration::from_secs(3600);

/// Whether the file at `path` was last modified longer than `age` ago.
fn older_than(path: &Path, age: Duration) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|elapsed| elapsed > age)
}

use super::mirrors::Route;
use super::stats::{Counters, Stats};
use super::ProxyError;

/// A cache directory with a size limit.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    limit: u64,
    pub(crate) stats: Stats,
    /// The cache's size as this process last measured it plus what it has
    /// stored since: a store walks the cache only when this says the limit
    /// may be passed. Other processes' stores are seen at the next walk.
    estimate: Mutex<Option<u64>>,
}

/// What a cached file's metadata file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Meta {
    /// The URL it was fetched from.
    pub url: String,
    /// Upstream's `Last-Modified`, as sent.
    pub last_modified: Option<String>,
    /// Upstream's `ETag`, as sent.
    pub etag: Option<String>,
    /// When it was last fetched or revalidated, in seconds since the epoch.
    pub fetched: u64,
}

/// Where one URL's files are.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The cached body.
    pub data: PathBuf,
    /// Its [`Meta`].
    pub meta: PathBuf,
    /// The lock held while it is being downloaded.
    pub lock: PathBuf,
    /// The directory holding all three.
    pub dir: PathBuf,
    /// The prefix of its temporary files.
    pub temp_prefix: String,
}

impl Entry {
    /// The stored metadata, if any.
    pub fn read_meta(&self) -> Option<Meta> {
        serde_json::from_slice(&fs::read(&self.meta).ok()?).ok()
    }

    /// Stores `meta` beside the body.
    pub fn write_meta(&self, meta: &Meta) -> io::Result<()> {
        let json = serde_json::to_vec(meta).map_err(io::Error::other)?;
        write_atomic(&self.meta, &json, 0o644, Durability::Unsynced)
    }
}

/// The size and counters of the cache, for `cache status` (and `--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheStatus {
    /// The cache directory.
    pub dir: PathBuf,
    /// Bytes of cached files.
    pub total_bytes: u64,
    /// Cached files.
    pub entries: u64,
    /// The size limit.
    pub limit_bytes: u64,
    /// All counters, over every process that used this cache.
    pub counters: Counters,
    /// The same per mirror host.
    pub hosts: BTreeMap<String, HostStatus>,
}

/// One mirror host's share of the cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostStatus {
    /// Bytes of its cached files.
    pub bytes: u64,
    /// Its cached files.
    pub entries: u64,
    /// Its counters.
    pub counters: Counters,
}

/// What [`Cache::clean`] removed and kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CleanReport {
    /// Entries removed.
    pub removed_entries: u64,
    /// Their bytes.
    pub removed_bytes: u64,
    /// Entries kept.
    pub kept_entries: u64,
    /// Their bytes.
    pub kept_bytes: u64,
}

/// A cached file found by walking the cache.
#[derive(Debug, Clone)]
struct Found {
    data: PathBuf,
    host: String,
    len: u64,
    accessed: SystemTime,
}

impl Cache {
    /// The cache at `dir` (created if missing), holding at most
    /// `limit_bytes` after each store. The caller passes
    /// `<cache_home>/git-buildkit/apt`.
    pub fn open(dir: &Path, limit_bytes: u64) -> Result<Self, ProxyError> {
        fs::create_dir_all(dir).map_err(|source| ProxyError::OpenCache {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Cache {
            dir: dir.to_owned(),
            limit: limit_bytes,
            stats: Stats::new(dir),
            estimate: Mutex::new(None),
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The files of the URL `route` leads to.
    pub(crate) fn entry(&self, route: &Route) -> Entry {
        use std::os::unix::ffi::OsStrExt;
        let mut dir = self.dir.join(route.mirror.scheme.name());
        dir.push(&route.mirror.authority);
        let (name, parents) = route
            .segments
            .split_last()
            .expect("a route has at least one segment below its mirror");
        for parent in parents {
            dir.push(std::ffi::OsStr::from_bytes(parent));
        }
        let data = dir.join(std::ffi::OsStr::from_bytes(name));
        let name = String::from_utf8_lossy(name);
        Entry {
            meta: dir.join(format!(".{name}.meta")),
            lock: dir.join(format!(".{name}.lock")),
            temp_prefix: format!(".{name}.tmp-"),
            data,
            dir,
        }
    }

    /// Sizes and counters.
    pub fn status(&self) -> Result<CacheStatus, ProxyError> {
        let found = self.walk()?;
        let tally = self.stats.load();
        let mut hosts: BTreeMap<String, HostStatus> = tally
            .hosts
            .iter()
            .map(|(host, counters)| {
                let status = HostStatus {
                    counters: *counters,
                    ..HostStatus::default()
                };
                (host.clone(), status)
            })
            .collect();
        for file in &found {
            let host = hosts.entry(file.host.clone()).or_default();
            host.bytes += file.len;
            host.entries += 1;
        }
        Ok(CacheStatus {
            dir: self.dir.clone(),
            total_bytes: found.iter().map(|f| f.len).sum(),
            entries: found.len() as u64,
            limit_bytes: self.limit,
            counters: tally.total,
            hosts,
        })
    }

    /// Removes the entries not served for longer than `older_than`, or all
    /// of them; temporary files are removed only when no download holds
    /// their lock.
    pub fn clean(&self, older_than: Option<Duration>) -> Result<CleanReport, ProxyError> {
        let now = SystemTime::now();
        let mut report = CleanReport::default();
        for file in self.walk()? {
            let unused = now.duration_since(file.accessed).unwrap_or_default();
            if older_than.is_some_and(|limit| unused <= limit) {
                report.kept_entries += 1;
                report.kept_bytes += file.len;
                continue;
            }
            self.remove(&file.data)?;
            report.removed_entries += 1;
            report.removed_bytes += file.len;
        }
        self.remove_dead_temporaries(&self.dir)?;
        Ok(report)
    }

    /// Notes that `len` bytes were stored at `keep`, and if that may take
    /// the cache over its limit, evicts least-recently-used entries until
    /// it is within it, never `keep` (the file just stored).
    pub(crate) fn stored(&self, keep: &Path, len: u64) -> Result<(), ProxyError> {
        let mut estimate = self.estimate.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(total) = *estimate {
            if total.saturating_add(len) <= self.limit {
                *estimate = Some(total + len);
                return Ok(());
            }
        }
        *estimate = None;
        let total = self.evict(keep)?;
        *estimate = Some(total);
        Ok(())
    }

    /// Evicts least-recently-used entries until the cache is within its
    /// limit, never `keep`; returns the size left.
    fn evict(&self, keep: &Path) -> Result<u64, ProxyError> {
        let mut found = self.walk()?;
        let mut total: u64 = found.iter().map(|f| f.len).sum();
        if total <= self.limit {
            return Ok(total);
        }
        found.sort_by_key(|f| f.accessed);
        for file in found {
            if total <= self.limit {
                break;
            }
            if file.data == keep {
                continue;
            }
            self.remove(&file.data)?;
            total -= file.len;
        }
        Ok(total)
    }

    /// Makes every cached file under `dir` but the one described by
    /// `except` due for revalidation (its metadata says it was never
    /// fetched); best effort, as a failure only delays a revalidation.
    pub(crate) fn expire_under(&self, dir: &Path, except: &Path) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                self.expire_under(&path, except);
            } else if name.starts_with('.') && name.ends_with(".meta") && path != except {
                let meta: Option<Meta> = fs::read(&path)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok());
                if let Some(meta) = meta {
                    let expired = Meta { fetched: 0, ..meta };
                    if let Ok(json) = serde_json::to_vec(&expired) {
                        let _ = write_atomic(&path, &json, 0o644, Durability::Unsynced);
                    }
                }
            }
        }
    }

    /// Marks `file` (a cached body) as used now.
    pub(crate) fn touch(file: &File) {
        let _ = file.set_times(FileTimes::new().set_accessed(SystemTime::now()));
    }

    /// Removes a cached body and its metadata.
    fn remove(&self, data: &Path) -> Result<(), ProxyError> {
        let remove = |path: &Path| match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ProxyError::Remove {
                path: path.to_owned(),
                source: e,
            }),
            _ => Ok(()),
        };
        remove(data)?;
        if let (Some(dir), Some(name)) = (data.parent(), data.file_name()) {
            remove(&dir.join(format!(".{}.meta", name.to_string_lossy())))?;
        }
        Ok(())
    }

    /// Every cached body under the cache directory (dot names are the
    /// cache's own files).
    fn walk(&self) -> Result<Vec<Found>, ProxyError> {
        let mut found = Vec::new();
        let mut pending = vec![(self.dir.clone(), 0usize, String::new())];
        while let Some((dir, depth, host)) = pending.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ProxyError::ReadCache { path: dir, source }),
            };
            for entry in entries {
                let entry = entry.map_err(|source| ProxyError::ReadCache {
                    path: dir.clone(),
                    source,
                })?;
                let name = entry.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                let path = entry.path();
                let Ok(metadata) = fs::symlink_metadata(&path) else {
                    continue;
                };
                if metadata.is_dir() {
                    // <dir>/<scheme>/<authority>/…: depth 1 names the host.
                    let host = if depth == 1 {
                        super::mirrors::host_of(&name.to_string_lossy()).to_owned()
                    } else {
                        host.clone()
                    };
                    pending.push((path, depth + 1, host));
                } else if metadata.is_file() && depth >= 2 {
                    found.push(Found {
                        data: path,
                        host: host.clone(),
                        len: metadata.len(),
                        accessed: metadata.accessed().unwrap_or(SystemTime::UNIX_EPOCH),
                    });
                }
            }
        }
        Ok(found)
    }

    /// Removes `.<name>.tmp-*` files whose `.<name>.lock` nobody holds
    /// (left by a killed download), metadata and unheld locks without a
    /// body, and directories left empty. A lock removed just as another
    /// process takes it costs at most a second download of that file.
    fn remove_dead_temporaries(&self, dir: &Path) -> Result<(), ProxyError> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Ok(());
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                self.remove_dead_temporaries(&path)?;
                // Fails, as it should, unless the directory is empty.
                let _ = fs::remove_dir(&path);
                continue;
            }
            let unlocked =
                |stem: &str| !is_locked(&dir.join(format!("{stem}.lock"))).unwrap_or(true);
            let bodiless = |stem: &str| !dir.join(stem.strip_prefix('.').unwrap_or(stem)).exists();
            let dead = if let Some((stem, _)) =
                name.split_once(".tmp-").filter(|_| name.starts_with('.'))
            {
                // A body's download holds its entry's lock; the temporary
                // files of metadata and counters have no lock of their own
                // and die young, so only an old one is debris.
                if dir.join(format!("{stem}.lock")).exists() {
                    unlocked(stem)
                } else {
                    older_than(&path, TEMPORARY_AGE)
                }
            } else if let Some(stem) = name.strip_suffix(".meta") {
                name.starts_with('.') && bodiless(stem)
            } else if let Some(stem) = name.strip_suffix(".lock") {
                // The counters' lock (`.stats.lock`) guards no body.
                let counters = dir == self.dir && stem == ".stats";
                name.starts_with('.') && !counters && bodiless(stem) && unlocked(stem)
            } else {
                false
            };
            if dead {
                fs::remove_file(&path).map_err(|source| ProxyError::Remove { path, source })?;
            }
        }
        Ok(())
    }
}
