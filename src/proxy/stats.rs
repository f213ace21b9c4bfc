//! The proxy's counters: what it served from the cache, what it fetched,
//! what failed. Each proxy process (one per guest connection) counts in
//! memory and adds its counts to a small file in the cache directory under
//! a lock when a connection ends, so `cache status` sees every process's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::fsutil::{open_lock_file, write_atomic, Durability};

/// The counters of a cache, in total or for one mirror host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Requests answered from the cache without asking upstream.
    pub hits: u64,
    /// Requests whose body was fetched from upstream.
    pub misses: u64,
    /// Conditional requests upstream answered with 304 (the copy was current).
    pub revalidations: u64,
    /// Requests sent upstream.
    pub upstream_requests: u64,
    /// Body bytes received from upstream.
    pub upstream_bytes: u64,
    /// Requests answered with an error or cut short.
    pub errors: u64,
}

impl Counters {
    fn add(&mut self, other: &Counters) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.revalidations += other.revalidations;
        self.upstream_requests += other.upstream_requests;
        self.upstream_bytes += other.upstream_bytes;
        self.errors += other.errors;
    }
}

/// The counters as stored: in total and per mirror host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Tally {
    pub total: Counters,
    pub hosts: BTreeMap<String, Counters>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.total.add(&other.total);
        for (host, counters) in &other.hosts {
            self.hosts.entry(host.clone()).or_default().add(counters);
        }
    }

    fn is_empty(&self) -> bool {
        self.total == Counters::default()
    }
}

/// Counts not yet saved, and where they go.
#[derive(Debug)]
pub(crate) struct Stats {
    file: PathBuf,
    lock: PathBuf,
    pending: Mutex<Tally>,
}

impl Stats {
    /// The counters of the cache in `dir`.
    pub fn new(dir: &Path) -> Self {
        Stats {
            file: dir.join(".stats.json"),
            lock: dir.join(".stats.lock"),
            pending: Mutex::new(Tally::default()),
        }
    }

    /// Counts something for `host`.
    pub fn count(&self, host: &str, change: impl Fn(&mut Counters)) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut pending.total);
        change(pending.hosts.entry(host.to_owned()).or_default());
    }

    /// Adds the pending counts to the file, under its lock. Counters are
    /// best effort: a failure loses these counts, never a request.
    pub fn save(&self) {
        let pending = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::take(&mut *pending)
        };
        if pending.is_empty() {
            return;
        }
        let Ok(lock) = open_lock_file(&self.lock) else {
            return;
        };
        if lock.lock().is_err() {
            return;
        }
        let mut saved = self.load();
        saved.add(&pending);
        if let Ok(json) = serde_json::to_vec(&saved) {
            let _ = write_atomic(&self.file, &json, 0o644, Durability::Unsynced);
        }
    }

    /// The saved counters (none when the file is missing or damaged).
    pub fn load(&self) -> Tally {
        std::fs::read(&self.file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }
}
