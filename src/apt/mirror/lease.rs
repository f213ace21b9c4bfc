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

use super::remote::{Mode, Remote, Written};
use super::MirrorError;
use crate::progress::Listener;

/// Where the lease lives, relative to the mirror's prefix.
pub const LEASE: &str = ".buildkit/lease.json";

/// How long a lease lives without renewal.
const TTL: Duration = Duration::from_secs(30);

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
        }
    }

    /// Whether the holder is a process of this boot of this machine that no longer runs.
    fn is_dead_here(&self) -> bool {
        let mine = read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        !self.boot_id.is_empty()
            && self.boot_id == mine
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
}

impl<'a> Lease<'a> {
    /// Takes the lease, waiting up to `wait` for another holder to finish.
    pub fn acquire(
        remote: &'a Remote,
        wait: Duration,
        listener: &dyn Listener,
    ) -> Result<Self, MirrorError> {
        let holder = Holder::me();
        let body = serde_json::to_vec(&holder).expect("a holder serialises");
        let started = Instant::now();
        let mut seen: Option<(String, Instant)> = None;
        let mut said = false;
        loop {
            if let Written::Done(e_tag) =
                remote.block_on(remote.put_unique(LEASE, body.clone(), Mode::Create))?
            {
                return Ok(Self::held(remote, e_tag, holder));
            }
            let Some(current) = remote.block_on(remote.get(LEASE))? else {
                continue; // released between the two requests
            };
            let e_tag = current.e_tag.clone().unwrap_or_default();
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
            let dead = other.as_ref().is_some_and(Holder::is_dead_here);
            if dead || stale_since.elapsed() >= ttl {
                listener.warn(&format!(
                    "taking over the mirror's lease from {who}: {}",
                    if dead {
                        "that process is gone"
                    } else {
                        "it was not renewed in time"
                    }
                ));
                if let Written::Done(tag) =
                    remote.block_on(remote.put_unique(LEASE, body.clone(), Mode::Update(e_tag)))?
                {
                    return Ok(Self::held(remote, tag, holder));
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
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn held(remote: &'a Remote, e_tag: Option<String>, holder: Holder) -> Self {
        Lease {
            remote,
            e_tag: e_tag.unwrap_or_default(),
            holder,
            renewed: Instant::now(),
        }
    }

    /// Renews the lease when a third of its TTL has passed.
    pub async fn renew_if_due(&mut self) -> Result<(), MirrorError> {
        if self.renewed.elapsed() >= TTL / 3 {
            self.renew().await?;
        }
        Ok(())
    }

    /// Renews the lease now; fails if another push took it over.
    pub async fn renew(&mut self) -> Result<(), MirrorError> {
        self.holder.writes += 1;
        let body = serde_json::to_vec(&self.holder).expect("a holder serialises");
        match self
            .remote
            .put_unique(LEASE, body, Mode::Update(self.e_tag.clone()))
            .await?
        {
            Written::Done(tag) => {
                self.e_tag = tag.unwrap_or_default();
                self.renewed = Instant::now();
                Ok(())
            }
            Written::Refused => Err(MirrorError::LostLease {
                url: self.remote.url().to_string(),
            }),
        }
    }

    /// Gives the lease up, if it is still ours.
    pub fn release(self) -> Result<(), MirrorError> {
        let remote = self.remote;
        let current = remote.block_on(remote.get(LEASE))?;
        if current.is_some_and(|c| c.e_tag.as_deref() == Some(self.e_tag.as_str())) {
            remote.block_on(remote.delete(LEASE))?;
        }
        Ok(())
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
