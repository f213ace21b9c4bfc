//! The Debian archive a guest installs its packages' dependencies from,
//! reached only through the caching apt proxy at
//! [`PROXY_ADDRESS`](super::qemu::PROXY_ADDRESS): the guest names the
//! mirror in the proxy's path (`http://10.0.2.101/deb.debian.org/debian`,
//! from [`crate::proxy::Mirrors::guest_url`]), the proxy fetches only from
//! the host's own apt mirrors, and apt in the guest checks every signature
//! with the image's `debian-archive-keyring`. What the proxy could not
//! fetch for a run it writes to the run's fault log, and the verdict names
//! the packages ([`fault_summary`]).

use std::path::Path;

use crate::proxy::{package_of, read_faults, Fault};

/// Where the guest's keyring for Debian's archive is.
pub const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The fault log of a run's proxy, in its run directory.
pub const FAULT_LOG: &str = "proxy-faults.jsonl";

/// A Debian archive for the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestDebian {
    /// The mirror's URL for the guest, through the proxy.
    pub url: String,
    /// The suite (the image's).
    pub suite: String,
}

impl GuestDebian {
    /// The guest's apt source line. The caller built `url` from the
    /// allow-list and `suite` from the image's manifest; both are quoted
    /// for the shell by the job script either way.
    pub fn source_line(&self) -> String {
        format!(
            "deb [signed-by={DEBIAN_KEYRING}] {} {} main",
            self.url, self.suite
        )
    }
}

/// What the run's proxy could not fetch, one line per package (or file),
/// for a test-bed failure's message; `None` when nothing failed.
pub fn fault_summary(run_dir: &Path) -> Option<String> {
    let lines = described(&read_faults(&run_dir.join(FAULT_LOG)), |fault, what| {
        format!(
            "could not fetch {what} from the Debian mirror: {} {} ({})",
            fault.status, fault.reason, fault.url
        )
    });
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// What the faults logged at `log` could not fetch: `name version` of
/// each package, else the path, once each.
pub fn unfetched(log: &Path) -> Vec<String> {
    described(&read_faults(log), |_, what| what)
}

/// One line per fault from `line(fault, what)`, where `what` is the
/// package (`name version`) or the path; without duplicates, and without
/// control characters: the guest (or whoever reached the proxy) chose the
/// paths, and they end up on a terminal.
fn described(faults: &[Fault], line: impl Fn(&Fault, String) -> String) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for fault in faults {
        let what = match package_of(&fault.path) {
            Some((name, version)) => format!("{name} {version}"),
            None => fault.path.clone(),
        };
        let text: String = line(fault, what)
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        if !lines.contains(&text) {
            lines.push(text);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_names_the_keyring_and_the_proxy_url() {
        let debian = GuestDebian {
            url: "http://10.0.2.101/deb.debian.org/debian".into(),
            suite: "bookworm".into(),
        };
        assert_eq!(
            debian.source_line(),
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \
             http://10.0.2.101/deb.debian.org/debian bookworm main"
        );
    }

    #[test]
    fn faults_name_their_packages_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(fault_summary(dir.path()), None);
        let line = r#"{"url":"http://deb.debian.org/debian/pool/main/t/tree/tree_2.1.0-1_amd64.deb","path":"pool/main/t/tree/tree_2.1.0-1_amd64.deb","status":502,"reason":"the mirror is unreachable"}"#;
        let escape = r#"{"url":"http://x/pool/a/\u001b[2J_1_all.deb","path":"pool/a/\u001b[2J_1_all.deb","status":404,"reason":"gone"}"#;
        let other = r#"{"url":"http://deb.debian.org/debian/dists/bookworm/InRelease","path":"dists/bookworm/InRelease","status":504,"reason":"slow"}"#;
        std::fs::write(
            dir.path().join(FAULT_LOG),
            format!("{line}\n{line}\n{other}\nnot json\n{escape}\n"),
        )
        .expect("write");
        assert_eq!(
            unfetched(&dir.path().join(FAULT_LOG)),
            [
                "tree 2.1.0-1",
                "dists/bookworm/InRelease",
                "pool/a/?[2J_1_all.deb"
            ]
        );
        let summary = fault_summary(dir.path()).expect("faults");
        assert!(!summary.contains('\u{1b}'));
        assert_eq!(
            summary,
            "could not fetch tree 2.1.0-1 from the Debian mirror: 502 the mirror is unreachable \
             (http://deb.debian.org/debian/pool/main/t/tree/tree_2.1.0-1_amd64.deb)\n\
             could not fetch dists/bookworm/InRelease from the Debian mirror: 504 slow \
             (http://deb.debian.org/debian/dists/bookworm/InRelease)\n\
             could not fetch pool/a/?[2J_1_all.deb from the Debian mirror: 404 gone (http://x/pool/a/?[2J_1_all.deb)"
        );
    }
}
