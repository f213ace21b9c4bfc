//! One push at a time per mirror: a lease object, `.buildkit/lease.json`,
//! created with `If-None-Match: *` and renewed with `If-Match` on its own
//! entity tag. A second push waits for it (up to `--wait`), then fails and
//! says who holds it. A lease nobody renews for its TTL — the holder died —
//! is taken over with `If-Match` on the tag that went stale, so two waiters
//! cannot both take it; a holder on this machine whose process is gone is
//! taken over at once. Staleness is measured on the waiter's own clock
//! (the tag did not change for a TTL), so clock skew between hosts cannot
//! break a live lease.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::remote::{Caching, Mode, Remote, Written};
use super::MirrorError;
use crate::progress::Listener;

/// Where the lease lives, relative to the mirror's prefix.
pub const LEASE: &str = ".buildkit/lease.json";

/// How long a lease lives without renewal.
pub const TTL: Duration = Duration::from_secs(30);

/// The largest lease read.
const MAX_LEASE: u64 = 64 << 10;

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Host name, for messages.
    pub host: String,
    /// The kernel's boot id: the same machine and boot as ours?
    pub boot_id: String,
    /// Process id.
    pub pid: u32,
    /// The process's start time (clock ticks after boot), against pid reuse.
    pub start_time: u64,
    /// When the lease was taken (Unix time).
    pub since: i64,
    /// Seconds it lives without renewal.
    pub ttl: u64,
    /// Writes of this lease so far: every write's bytes differ, so a write
    /// whose answer was lost is recognised (see [`Remote::put_unique`]).
    #[serde(default)]
    pub writes: u64,
    /// The holder's pid namespace (its inode): containers share a boot id
    /// but not process ids.
    #[serde(default)]
    pub pid_ns: u64,
    /// Given up: the next push takes it at once.
    #[serde(default)]
    pub released: bool,
}

impl Holder {
    /// This process.
    pub fn me() -> Self {
        let pid = std::process::id();
        Holder {
            host: read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "unknown".into()),
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default(),
            pid,
            start_time: start_time(pid).unwrap_or(0),
            since: crate::time::signed(crate::time::unix_now()),
            ttl: TTL.as_secs(),
            writes: 0,
            pid_ns: pid_namespace().unwrap_or(0),
            released: false,
        }
    }

    /// Whether the holder is a process of this boot of this machine that no longer runs.
    fn is_dead_here(&self) -> bool {
        let mine = read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        !self.boot_id.is_empty()
            && self.boot_id == mine
            && self.pid_ns != 0
            && pid_namespace() == Some(self.pid_ns)
            && self.start_time != 0
            && start_time(self.pid) != Some(self.start_time)
    }

    fn describe(&self) -> String {
        format!(
            "process {} on {} since {}",
            self.pid,
            self.host,
            crate::time::iso8601(self.since)
        )
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The inode of this process's pid namespace.
fn pid_namespace() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/pid").ok().map(|m| m.ino())
}

/// Field 22 of `/proc/PID/stat` (after the command name, which may hold spaces).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// A held lease.
#[derive(Debug)]
pub struct Lease<'a> {
    remote: &'a Remote,
    e_tag: String,
    holder: Holder,
    renewed: Instant,
    /// The server's clock when the lease was taken (its `Last-Modified`),
    /// and ours then.
    server_clock: Option<(i64, Instant)>,
    /// The digest of a renewal sent and not answered yet.
    in_flight: Option<String>,
}

impl<'a> Lease<'a> {
    /// Takes the lease, waiting up to `wait` for another holder to finish.
    /// A server that never refused our create is checked once: a second
    /// create must be refused, or it ignores conditional writes.
    pub fn acquire(
        remote: &'a Remote,
        wait: Duration,
        listener: &dyn Listener,
    ) -> Result<Self, MirrorError> {
        let holder = Holder::me();
        let body = serde_json::to_vec(&holder).expect("a holder serialises");
        let (e_tag, refused) = Self::take(remote, &body, wait, listener)?;
        if !refused {
            let probe = remote.put(LEASE, body, Mode::Create, "", Caching::Revalidate);
            if let Written::Done(_) = remote.block_on(probe)? {
                return Err(MirrorError::NoConditionalWrites {
                    url: remote.url().to_string(),
                });
            }
        }
        Ok(Lease {
            remote,
            e_tag: e_tag.unwrap_or_default(),
            holder,
            renewed: Instant::now(),
            server_clock: None,
            in_flight: None,
        })
    }

    /// Writes the lease: created, or taken over from a holder that gave it
    /// up, died, or stopped renewing it. Its entity tag, and whether the
    /// server refused a create (so it keeps `If-None-Match`).
    fn take(
        remote: &Remote,
        body: &[u8],
        wait: Duration,
        listener: &dyn Listener,
    ) -> Result<(Option<String>, bool), MirrorError> {
        let started = Instant::now();
        let mut seen: Option<(String, Instant)> = None;
        let mut said = false;
        let mut pause = Duration::from_millis(250);
        let mut refused = false;
        loop {
            let create = remote.put(LEASE, body.to_vec(), Mode::Create, "", Caching::Revalidate);
            if let Written::Done(e_tag) = remote.block_on(create)? {
                return Ok((e_tag, refused));
            }
            let Some(current) = remote.block_on(remote.get_capped(LEASE, MAX_LEASE))? else {
                continue; // deleted between the two requests
            };
            let e_tag = current.e_tag.clone().unwrap_or_default();
            if current.bytes == body {
                // Our own create, whose answer was lost and whose retry was refused.
                return Ok((Some(e_tag), refused));
            }
            refused = true;
            let other: Option<Holder> = serde_json::from_slice(&current.bytes).ok();
            let ttl = other
                .as_ref()
                .map_or(TTL, |h| Duration::from_secs(h.ttl.clamp(5, 600)));
            let who = other
                .as_ref()
                .map_or_else(|| "an unreadable lease".to_owned(), Holder::describe);
            let stale_since = match &seen {
                Some((tag, at)) if *tag == e_tag => *at,
                _ => Instant::now(),
            };
            seen = Some((e_tag.clone(), stale_since));
            let released = other.as_ref().is_some_and(|h| h.released);
            let dead = other.as_ref().is_some_and(Holder::is_dead_here);
            if released || dead || stale_since.elapsed() >= ttl {
                if !released {
                    listener.warn(&format!(
                        "taking over the mirror's lease from {who}: {}",
                        if dead {
                            "that process is gone"
                        } else {
                            "it was not renewed in time"
                        }
                    ));
                }
                let update = remote.put_unique(LEASE, body.to_vec(), Mode::Update(e_tag));
                if let Written::Done(tag) = remote.block_on(update)? {
                    return Ok((tag, refused));
                }
                continue;
            }
            if started.elapsed() >= wait {
                return Err(MirrorError::Held {
                    url: remote.url().to_string(),
                    holder: who,
                    waited: started.elapsed().as_secs(),
                });
            }
            if !said {
                listener.status("Waiting", &format!("for the push of {who} to finish"));
                said = true;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// The server's time now (Unix seconds, known to the second from
    /// below): read once, from the `Last-Modified` of this push's last
    /// write of the lease, plus the time since that write. Grace periods
    /// and `Last-Modified` are the server's, so clocks that differ between
    /// build hosts do not matter.
    pub async fn server_now(&mut self) -> Result<i64, MirrorError> {
        if self.server_clock.is_none() {
            let written = self.renewed;
            let stored = self.remote.stored(LEASE).await?;
            let fallback = crate::time::signed(crate::time::unix_now());
            self.server_clock = Some((stored.map_or(fallback, |s| s.modified), written));
        }
        let (at, then) = self.server_clock.unwrap_or((0, Instant::now()));
        let elapsed = i64::try_from(then.elapsed().as_secs()).unwrap_or(i64::MAX);
        Ok(at.saturating_add(elapsed))
    }

    /// Renews the lease now; fails if another push took it over.
    pub async fn renew(&mut self) -> Result<(), MirrorError> {
        match self.write().await? {
            Written::Done(_) => {
                self.renewed = Instant::now();
                Ok(())
            }
            Written::Refused => Err(MirrorError::LostLease {
                url: self.remote.url().to_string(),
            }),
        }
    }

    /// Gives the lease up: overwritten (if it is still ours) with a body
    /// that says so, which the next push takes at once. Never deleted: a
    /// delete cannot be made conditional, and could remove a lease another
    /// push had just taken over.
    pub fn release(mut self) -> Result<(), MirrorError> {
        self.holder.released = true;
        let remote = self.remote;
        remote.block_on(self.write())?;
        Ok(())
    }

    /// Writes the holder over the lease's version this value knows.
    ///
    /// A renewal can be cancelled in flight (the work it ran beside
    /// finished) after the server wrote it: the lease then holds that
    /// write's bytes under a tag this value never saw. Such a write is
    /// recognised by its digest and its tag adopted.
    async fn write(&mut self) -> Result<Written, MirrorError> {
        let unfinished = self.in_flight.take();
        self.holder.writes += 1;
        let body = serde_json::to_vec(&self.holder).expect("a holder serialises");
        self.in_flight = Some(hex::encode(Sha256::digest(&body)));
        let remote = self.remote;
        let mut written = remote
            .put_unique(LEASE, body.clone(), Mode::Update(self.e_tag.clone()))
            .await?;
        if written == Written::Refused && unfinished.is_some() {
            if let Some(stored) = remote.stored(LEASE).await? {
                if stored.sha256 == unfinished {
                    let adopted = Mode::Update(stored.e_tag.unwrap_or_default());
                    written = remote.put_unique(LEASE, body, adopted).await?;
                }
            }
        }
        if let Written::Done(tag) = &written {
            self.e_tag = tag.clone().unwrap_or_default();
            self.in_flight = None;
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_gone_one_is_dead() {
        let me = Holder::me();
        assert!(me.start_time > 0, "start time read from /proc");
        assert!(!me.is_dead_here());
        let gone = Holder {
            start_time: me.start_time + 1,
            ..me.clone()
        };
        assert!(gone.is_dead_here(), "same pid, another start: a reused pid");
        let unknown_start = Holder {
            start_time: 0,
            ..gone.clone()
        };
        assert!(
            !unknown_start.is_dead_here(),
            "a start time not read is never judged"
        );
        let other_container = Holder {
            pid_ns: me.pid_ns + 1,
            ..gone.clone()
        };
        assert!(!other_container.is_dead_here(), "another pid namespace");
        let elsewhere = Holder {
            boot_id: "another-machine".into(),
            pid: u32::MAX,
            ..me
        };
        assert!(
            !elsewhere.is_dead_here(),
            "another machine's process is never judged here"
        );
    }
}
