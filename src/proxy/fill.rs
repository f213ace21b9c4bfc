//! A body on its way from upstream to the client and, for a cacheable
//! file, into the cache at the same time (a tee): the client gets
//! upstream's `Content-Length` and the bytes as they come, while a
//! temporary file beside the entry receives them too. Only when exactly
//! that many bytes have arrived is the file renamed into place with its
//! metadata; if upstream fails first, the temporary file is dropped, the
//! fault is logged, and the read error makes the connection close
//! mid-body, so apt sees a transient error and resumes with `Range`
//! (reference §4, rule 3) instead of a short file it would call fatal.

use std::fs::{File, FileTimes};
use std::io::{self, Read, Write};

use tempfile::NamedTempFile;

use super::cache::{Cache, Entry, Meta};
use super::proxy::Proxy;
use super::upstream::{read_fault_status, Incoming};
use crate::pipeline::error_chain as chain;

/// Where a download is stored while it arrives.
#[derive(Debug)]
pub(crate) struct Store {
    /// The temporary file, beside the entry.
    pub temp: NamedTempFile,
    /// The entry it becomes.
    pub entry: Entry,
    /// The metadata stored with it.
    pub meta: Meta,
    /// The entry's download lock, held until the file is in place.
    pub lock: File,
}

impl Store {
    /// Puts the complete download in place: its modification time becomes
    /// upstream's `Last-Modified`, it is renamed over the entry, its
    /// metadata is written, and the cache is trimmed to its limit.
    pub fn commit(self, cache: &Cache) -> io::Result<()> {
        let mut times = FileTimes::new().set_accessed(std::time::SystemTime::now());
        if let Some(date) = self
            .meta
            .last_modified
            .as_deref()
            .and_then(|d| httpdate::parse_http_date(d).ok())
        {
            times = times.set_modified(date);
        }
        self.temp.as_file().set_times(times)?;
        let len = self.temp.as_file().metadata()?.len();
        self.temp.persist(&self.entry.data).map_err(|e| e.error)?;
        self.entry.write_meta(&self.meta)?;
        drop(self.lock);
        if self
            .entry
            .data
            .file_name()
            .is_some_and(|name| name == "InRelease" || name == "Release")
        {
            // A new Release names new indexes: those cached for this suite
            // must be revalidated now, not when their own window ends, or
            // apt meets a Packages of the previous generation (reference
            // §4: "never mix generations").
            cache.expire_under(&self.entry.dir, &self.entry.meta);
        }
        let _ = cache.stored(&self.entry.data, len);
        Ok(())
    }
}

/// The streamed body of a response the proxy is fetching.
pub(crate) struct Fill {
    pub proxy: Proxy,
    /// The upstream URL, for fault lines.
    pub url: String,
    /// The path below the mirror, for fault lines.
    pub path: String,
    /// The mirror host, for counters.
    pub host: String,
    /// Upstream's answer.
    pub incoming: Incoming,
    /// Its length.
    pub len: u64,
    /// Bytes received so far.
    pub received: u64,
    /// Bytes at the start not given to the client (it asked for a range).
    pub skip: u64,
    /// The cache file being filled; `None` for a pass-through.
    pub store: Option<Store>,
}

impl Fill {
    /// Logs the fault that cut this body short and drops the download.
    fn fail(&mut self, status: u16, reason: String) {
        self.store = None;
        self.proxy
            .fault_at(&self.host, &self.url, &self.path, status, &reason);
    }
}

impl Read for Fill {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let left = self.len - self.received;
            if left == 0 || buf.is_empty() {
                return Ok(0);
            }
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let read = match self.incoming.response.read(&mut buf[..want]) {
                Ok(0) => {
                    let reason = format!(
                        "upstream closed the connection after {} of {} bytes",
                        self.received, self.len
                    );
                    self.fail(502, reason);
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    let status = read_fault_status(&error);
                    self.fail(status, format!("reading from upstream: {}", chain(&error)));
                    return Err(error);
                }
            };
            let start = self.received;
            self.received += read as u64;
            self.proxy
                .cache()
                .stats
                .count(&self.host, |c| c.upstream_bytes += read as u64);
            if let Some(store) = &mut self.store {
                if store.temp.write_all(&buf[..read]).is_err() {
                    // The disk failed or filled: the client still gets
                    // its bytes, the cache does without this file.
                    self.store = None;
                }
            }
            if self.received == self.len {
                if let Some(store) = self.store.take() {
                    let _ = store.commit(self.proxy.cache());
                }
            }
            // Hand on what lies at or after `skip`.
            let from = usize::try_from(self.skip.saturating_sub(start))
                .unwrap_or(usize::MAX)
                .min(read);
            if from < read {
                buf.copy_within(from..read, 0);
                return Ok(read - from);
            }
        }
    }
}
