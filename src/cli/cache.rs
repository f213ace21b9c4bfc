//! `git buildkit cache status|clean|serve`: the built-in caching apt proxy
//! that VM guests and `vm create` fetch Debian through (see
//! `git_buildkit::proxy`), and the hidden `cache serve-guest` that qemu's
//! `guestfwd` runs once per guest connection.

use std::path::PathBuf;
use std::time::Duration;

use git_buildkit::debhelper::foreign::{DebianArchive, ForeignLibraries};
use git_buildkit::paths::Env;
use git_buildkit::progress::{human_size, Listener};
use git_buildkit::proxy::{Cache, Mirrors, Proxy, ProxyOptions};
use git_buildkit::vm::connections::{self, Caps};
use git_buildkit::vm::image::{host_mirror, host_suite};
use git_buildkit::vm::sources::FAULT_LOG;

use super::error::{failed, usage};
use super::{print_json, CliError, Ui};

/// The cache's size limit unless `BUILDKIT_APT_CACHE_SIZE` says otherwise.
const DEFAULT_LIMIT: u64 = 4 << 30;

/// The caching apt proxy: status, clean, serve.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show the cache's size, limit, entries and hit rate, in all and per mirror.
    ///
    /// The counters add up every proxy process that used the cache: hits
    /// (served without asking the mirror), misses (fetched), revalidations
    /// (the mirror said 304), upstream requests and bytes, errors.
    #[command(after_help = "Examples:
  git buildkit cache status
  git buildkit cache status --json | jq .counters.upstream_requests")]
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove cached files: all of them, or those not used for AGE.
    ///
    /// Downloads in progress are left alone. apt in a guest or mmdebstrap
    /// fetches again whatever it needs.
    #[command(after_help = "Examples:
  git buildkit cache clean --older-than 30d
  git buildkit cache clean")]
    Clean {
        /// Only files not used for this long (`90s`, `12h`, `30d`).
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: Option<Duration>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the cache on 127.0.0.1 for this host's apt or mmdebstrap.
    ///
    /// A plain HTTP proxy (`Acquire::http::Proxy "http://127.0.0.1:PORT"`
    /// or `http_proxy=`) that fetches only from the mirrors this host's apt
    /// is configured with; it also answers path-mode URLs
    /// (`http://127.0.0.1:PORT/deb.debian.org/debian`). It listens on the
    /// loopback address only. Stop it with Ctrl-C.
    #[command(after_help = "Examples:
  git buildkit cache serve --port 3142 &
  apt-get -o Acquire::http::Proxy=http://127.0.0.1:3142 download jq
  http_proxy=http://127.0.0.1:3142 mmdebstrap bookworm rootfs")]
    Serve {
        /// The port on 127.0.0.1 (default: a free one, printed).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Serve only what is cached.
        #[arg(long)]
        offline: bool,
    },
    /// One guest connection on stdin/stdout (run by qemu's guestfwd).
    #[command(hide = true)]
    ServeGuest {
        /// The run's directory: its connection slots and fault log.
        #[arg(long, value_name = "DIR")]
        run_dir: PathBuf,
        /// Serve only what is cached.
        #[arg(long)]
        offline: bool,
    },
}

fn parse_age(text: &str) -> Result<Duration, String> {
    git_buildkit::vm::values::parse_age(text).map_err(|e| e.to_string())
}

/// Runs a `cache` subcommand.
pub fn run(ui: &Ui, command: Command) -> Result<(), CliError> {
    if let Command::ServeGuest { run_dir, offline } = &command {
        return serve_guest(run_dir, *offline);
    }
    let cache = open_cache()?;
    match command {
        Command::Status { json } => status(ui, &cache, json),
        Command::Clean { older_than, json } => {
            let report = cache.clean(older_than)?;
            if json {
                return print_json(ui, &report);
            }
            ui.status(
                "Removed",
                &format!(
                    "{} files ({}); kept {} ({})",
                    report.removed_entries,
                    human_size(report.removed_bytes),
                    report.kept_entries,
                    human_size(report.kept_bytes)
                ),
            );
            Ok(())
        }
        Command::Serve { port, offline } => {
            let proxy = Proxy::new(
                cache,
                Mirrors::from_host_apt()?,
                ProxyOptions {
                    offline,
                    ..ProxyOptions::default()
                },
            )?;
            let loopback = proxy.spawn_loopback_on(port)?;
            ui.status(
                "Serving",
                &format!("the apt cache on http://{} (Ctrl-C stops)", loopback.addr()),
            );
            ui.out(&format!("http://{}", loopback.addr()));
            loop {
                std::thread::park();
            }
        }
        Command::ServeGuest { .. } => Ok(()),
    }
}

/// The cache at its place (`BUILDKIT_APT_CACHE`, else under the cache
/// home) with its limit (`BUILDKIT_APT_CACHE_SIZE`, default 4G).
pub fn open_cache() -> Result<Cache, CliError> {
    let dir = Env::current().apt_cache_dir().map_err(usage)?;
    let limit = match std::env::var("BUILDKIT_APT_CACHE_SIZE") {
        Ok(text) => git_buildkit::vm::values::parse_size(&text).ok_or_else(|| {
            usage(anyhow::anyhow!(
                "BUILDKIT_APT_CACHE_SIZE={text:?} is not a size such as 500M or 4G"
            ))
        })?,
        Err(_) => DEFAULT_LIMIT,
    };
    Ok(Cache::open(&dir, limit)?)
}

/// The Debian archive through this cache: another architecture's library
/// packages from the host's mirror and suite, and what a suite carries.
/// Nothing is opened or asked until a package needs it.
pub fn foreign_libraries() -> std::sync::Arc<dyn ForeignLibraries> {
    std::sync::Arc::new(DebianArchive::new(
        || open_cache().map_err(|e| format!("{:#}", e.error)),
        || {
            let suite = host_suite().unwrap_or_else(|| "bookworm".to_owned());
            (host_mirror(&suite), suite)
        },
    ))
}

fn status(ui: &Ui, cache: &Cache, json: bool) -> Result<(), CliError> {
    let status = cache.status()?;
    if json {
        return print_json(ui, &status);
    }
    let c = &status.counters;
    let asked = c.hits + c.misses + c.revalidations;
    let rate = if asked == 0 {
        "no requests yet".to_owned()
    } else {
        format!(
            "hit rate {:.0}% of {asked} requests",
            (c.hits + c.revalidations) as f64 * 100.0 / asked as f64
        )
    };
    ui.out(&format!(
        "{}: {} of {} in {} files; {rate}; {} upstream requests ({}), {} errors",
        status.dir.display(),
        human_size(status.total_bytes),
        human_size(status.limit_bytes),
        status.entries,
        c.upstream_requests,
        human_size(c.upstream_bytes),
        c.errors
    ));
    for (host, h) in &status.hosts {
        ui.out(&format!(
            "  {host}: {} in {} files; {} hits, {} misses, {} revalidated, {} errors",
            human_size(h.bytes),
            h.entries,
            h.counters.hits,
            h.counters.misses,
            h.counters.revalidations,
            h.counters.errors
        ));
    }
    Ok(())
}

/// One guest connection: stdin, stdout and stderr are all the guest's
/// socket, so nothing is printed, whatever happens. Connections are capped
/// per run as the repository's are, in a directory of their own.
fn serve_guest(run_dir: &std::path::Path, offline: bool) -> Result<(), CliError> {
    let silent = || failed(anyhow::anyhow!("cache serve-guest failed")).silent();
    let slots = run_dir.join("proxy");
    let Some(_slot) =
        connections::admit_or_refuse(&slots, Caps::default()).map_err(|_| silent())?
    else {
        return Err(silent());
    };
    let proxy = Proxy::new(
        open_cache().map_err(|_| silent())?,
        Mirrors::from_host_apt().map_err(|_| silent())?,
        ProxyOptions {
            offline,
            fault_log: Some(run_dir.join(FAULT_LOG)),
            ..ProxyOptions::default()
        },
    )
    .map_err(|_| silent())?;
    proxy.serve_stdio().map_err(|_| silent())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_and_out() {
        assert_eq!(human_size(12), "12 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
    }
}
