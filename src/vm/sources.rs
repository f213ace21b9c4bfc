//! The Debian archive a guest installs its tests' dependencies from,
//! reached only through the caching apt proxy at
//! [`PROXY_ADDRESS`](super::qemu::PROXY_ADDRESS): the guest names the
//! mirror in the proxy's path (`http://10.0.2.101/deb.debian.org/debian`),
//! the proxy fetches it only if it is one of the host's own apt mirrors,
//! and apt in the guest checks every signature with the image's
//! `debian-archive-keyring`.

use super::qemu::PROXY_ADDRESS;

/// Where the guest's keyring for Debian's archive is.
pub const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// A Debian archive for the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestDebian {
    /// The mirror's URL as the host's apt knows it (`http://deb.debian.org/debian`).
    pub mirror: String,
    /// The suite (the image's).
    pub suite: String,
}

impl GuestDebian {
    /// The guest's apt source line, through the proxy; `None` for a mirror
    /// URL that is not `http(s)://host/path` with safe characters.
    pub fn source_line(&self) -> Option<String> {
        let rest = self
            .mirror
            .strip_prefix("http://")
            .or_else(|| self.mirror.strip_prefix("https://"))?
            .trim_end_matches('/');
        let safe = |text: &str| {
            !text.is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~/:%+".contains(&b))
        };
        if !safe(rest) || !crate::names::is_plain(&self.suite, b"-._") {
            return None;
        }
        Some(format!(
            "deb [signed-by={DEBIAN_KEYRING}] http://{PROXY_ADDRESS}/{rest} {} main",
            self.suite
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debian(mirror: &str, suite: &str) -> GuestDebian {
        GuestDebian {
            mirror: mirror.into(),
            suite: suite.into(),
        }
    }

    #[test]
    fn the_mirror_goes_through_the_proxy_by_path() {
        assert_eq!(
            debian("http://deb.debian.org/debian/", "bookworm").source_line(),
            Some(
                "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \
                 http://10.0.2.101/deb.debian.org/debian bookworm main"
                    .into()
            )
        );
        assert_eq!(
            debian("https://mirror.example:8443/debian", "trixie")
                .source_line()
                .as_deref(),
            Some(
                "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \
                 http://10.0.2.101/mirror.example:8443/debian trixie main"
            )
        );
        for bad in [
            "ftp://x/debian",
            "http://",
            "http://a b/debian",
            "http://x/$(id)",
        ] {
            assert_eq!(debian(bad, "bookworm").source_line(), None, "{bad}");
        }
        assert_eq!(debian("http://x/debian", "book worm").source_line(), None);
    }
}
