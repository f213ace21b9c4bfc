//! A caching HTTP proxy for apt, serving the Debian mirrors this host's apt
//! uses to guests and to mmdebstrap (issue 11; the rules it follows are
//! `reference/apt-cache-proxy.md`).
//!
//! apt verifies every signature and hash itself, so the cache is trusted
//! for nothing; what the proxy must get right is everything else: fetch
//! only from the allow-list ([`Mirrors`]), never serve a half-written file
//! as whole, never turn a broken mirror into a 404 or a 404 into a 502,
//! store each download atomically and once even with concurrent processes
//! ([`Cache`]), and keep pool and by-hash files forever while revalidating
//! the indexes that change.
//!
//! One `git-buildkit` process runs per guest connection
//! ([`Proxy::serve_stdio`], behind QEMU's `guestfwd=…-cmd:`), or one
//! thread serves a 127.0.0.1 port ([`Proxy::spawn_loopback`]). Both answer
//! through the static server's connection loop (`crate::serve`).
//!
//! How the pieces fit (the CLI and the VM plan do the wiring):
//! ```text
//! cache   = Cache::open(<cache_home>/git-buildkit/apt, limit)
//! mirrors = Mirrors::from_host_apt()           // the allow-list
//! proxy   = Proxy::new(cache, mirrors, ProxyOptions { offline, fault_log, .. })
//! guest:  guestfwd=tcp:10.0.2.101:80-cmd:git-buildkit vm serve-proxy …
//!         → proxy.serve_stdio(); the guest's source is
//!           mirrors.guest_url("http://deb.debian.org/debian", "10.0.2.101")
//! host:   proxy.spawn_loopback() → http_proxy=http://<addr> for mmdebstrap
//!         (http:// mirror URLs: apt tunnels https:// with CONNECT, which a
//!         cache cannot read and this proxy refuses)
//! after:  read_faults(fault_log) + package_of(fault.path) name what failed
//! ```

mod cache;
mod class;
mod error;
mod fault;
mod fill;
mod mirrors;
#[allow(clippy::module_inception)]
mod proxy;
mod stats;
#[cfg(test)]
mod tests;
mod upstream;

pub use cache::{Cache, CacheStatus, CleanReport, HostStatus};
pub use error::ProxyError;
pub use fault::{package_of, read_faults, Fault, MAX_FAULTS};
pub use mirrors::{host_sources, HostSource, Mirror, Mirrors, Scheme};
pub use proxy::{Loopback, Proxy, ProxyOptions};
pub use stats::Counters;
