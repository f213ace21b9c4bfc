//! The allow-list: the Debian mirrors the proxy fetches from, and nothing
//! else. A guest names what it wants in its request, so without this list
//! the proxy would fetch any URL on the guest's behalf (an open proxy); with
//! it, a request is served only when its URL lies under an allowed mirror's
//! URL at a path-segment boundary (`/debian` allows `/debian/pool/…`, not
//! `/debian-evil/…`).
//!
//! The list is what apt on this host uses ([`Mirrors::from_host_apt`]): the
//! host's own sources are registries the machine is allowed to reach.
//!
//! Two request shapes reach a mirror (reference §1): path mode,
//! `GET /deb.debian.org/debian/dists/bookworm/InRelease`, what the guest's
//! `deb http://10.0.2.101/deb.debian.org/debian bookworm main` asks (the
//! upstream scheme, http or https, comes from the allow-list entry, as with
//! apt-cacher-ng's remapping); and the absolute form
//! `GET http://deb.debian.org/debian/…` that apt sends to an `http_proxy`.
//! The path is percent-decoded before it is matched or keyed (apt escapes
//! `+`, `~` and space), and every segment is checked so that the key maps
//! to a path confined under the cache directory.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::deb822::{self, Comments};
use crate::process::Cmd;
use crate::serve::target::percent_decode;

use super::ProxyError;

/// The longest decoded request path accepted, in bytes.
const MAX_PATH: usize = 2048;
/// The longest path segment: a file name on Linux file systems (NAME_MAX).
const MAX_SEGMENT: usize = 255;

/// How the proxy reaches a mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Plain HTTP (port 80 by default).
    Http,
    /// HTTP over TLS (port 443 by default).
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Scheme::Http, Scheme::Https]
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    fn default_port(self) -> &'static str {
        match self {
            Scheme::Http => "80",
            Scheme::Https => "443",
        }
    }
}

/// One allowed mirror: `scheme://authority/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// How it is reached.
    pub scheme: Scheme,
    /// The host, lowercased, with `:port` only when it is not the scheme's
    /// default.
    pub authority: String,
    /// The path segments of its root (`["debian"]`), decoded.
    pub segments: Vec<Vec<u8>>,
}

impl Mirror {
    /// Parses an `http://` or `https://` URL; `None` for any other scheme,
    /// a userinfo, a query, or a path that could not be keyed safely.
    pub fn parse(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = Scheme::from_name(scheme)?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, ""),
        };
        let authority = normalize_authority(authority, scheme)?;
        if path.contains(['?', '#']) {
            return None;
        }
        let decoded = percent_decode(path).ok()?;
        let segments = segments(&decoded, true).ok()?;
        Some(Mirror {
            scheme,
            authority,
            segments,
        })
    }

    /// The mirror's URL, without a trailing slash.
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme.name(),
            self.authority,
            encode_path(&self.segments)
        )
    }

    /// The host part without a port, for per-host counters.
    pub fn host(&self) -> &str {
        host_of(&self.authority)
    }
}

/// The mirrors the proxy may fetch from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors {
    list: Vec<Mirror>,
}

/// Why a request-target is not served; each maps to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not a URL this proxy can key safely (400): bad escapes, `..`, `.`,
    /// empty segments, NUL or control bytes, a hidden name.
    BadRequest,
    /// Longer than [`MAX_PATH`] or a segment than [`MAX_SEGMENT`] (414).
    TooLong,
    /// A well-formed URL outside every allowed mirror (403).
    NotAllowed,
}

/// Where a request leads: a mirror and a path under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// The allowed mirror it lies under.
    pub mirror: Mirror,
    /// All decoded segments after the authority (the mirror's included).
    pub segments: Vec<Vec<u8>>,
}

impl Route {
    /// The path below the mirror's root (`pool/main/j/jq/jq_1.6_amd64.deb`).
    pub fn relative(&self) -> &[Vec<u8>] {
        &self.segments[self.mirror.segments.len()..]
    }

    /// [`Route::relative`] as text, for fault lines and classification.
    pub fn relative_text(&self) -> String {
        join_lossy(self.relative())
    }

    /// The upstream URL, percent-encoded.
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            self.mirror.scheme.name(),
            self.mirror.authority,
            encode_path(&self.segments)
        )
    }
}

impl Mirrors {
    /// An allow-list of these URLs; those that are not http(s) URLs are
    /// left out.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(urls: I) -> Self {
        let mut list: Vec<Mirror> = Vec::new();
        for url in urls {
            if let Some(mirror) = Mirror::parse(url.as_ref().trim()) {
                if !list.contains(&mirror) {
                    list.push(mirror);
                }
            }
        }
        Mirrors { list }
    }

    /// The http and https mirrors apt on this host is configured with: the
    /// files `apt-config dump` names (Dir, Dir::Etc, Dir::Etc::sourcelist,
    /// Dir::Etc::sourceparts; `APT_CONFIG` is honoured by apt-config),
    /// one-line `.list` and deb822 `.sources`.
    pub fn from_host_apt() -> Result<Self, ProxyError> {
        Ok(Mirrors::new(host_sources()?.into_iter().map(|s| s.uri)))
    }

    /// The allowed mirrors, in order.
    pub fn list(&self) -> &[Mirror] {
        &self.list
    }

    /// The path-mode URL a guest uses for `mirror_url` through the proxy at
    /// `proxy_host` (`http://10.0.2.101/deb.debian.org/debian`), or `None`
    /// when the mirror is not on the list.
    pub fn guest_url(&self, mirror_url: &str, proxy_host: &str) -> Option<String> {
        let wanted = Mirror::parse(mirror_url.trim())?;
        let mirror = self.list.iter().find(|m| **m == wanted)?;
        Some(format!(
            "http://{proxy_host}/{}{}",
            mirror.authority,
            encode_path(&mirror.segments)
        ))
    }

    /// Where `target` (a request-target, path mode or absolute form) leads.
    pub(crate) fn route(&self, target: &str) -> Result<Route, Refused> {
        let target = match target.split_once('?') {
            Some((path, _query)) => path,
            None => target,
        };
        if target.contains('#') {
            return Err(Refused::BadRequest);
        }
        let (scheme, authority, path) = if let Some(rest) = target.strip_prefix('/') {
            let (authority, path) = rest.split_at(rest.find('/').ok_or(Refused::BadRequest)?);
            (None, authority, path)
        } else {
            let (scheme, rest) = target.split_once("://").ok_or(Refused::BadRequest)?;
            let scheme = Scheme::from_name(scheme).ok_or(Refused::BadRequest)?;
            let slash = rest.find('/').ok_or(Refused::BadRequest)?;
            (Some(scheme), &rest[..slash], &rest[slash..])
        };
        let decoded = percent_decode(path).map_err(|_| Refused::BadRequest)?;
        let segments = segments(&decoded, false)?;
        let authority = percent_decode(authority).map_err(|_| Refused::BadRequest)?;
        let authority = String::from_utf8(authority).map_err(|_| Refused::BadRequest)?;
        let mirror = self
            .list
            .iter()
            .find(|m| {
                // An absolute-form `http://` request may be fetched over
                // https when that is how the mirror is listed: never the
                // other way round.
                let authority = normalize_authority(&authority, scheme.unwrap_or(m.scheme));
                authority.as_deref() == Some(m.authority.as_str())
                    && scheme.is_none_or(|s| s <= m.scheme)
                    && segments.len() > m.segments.len()
                    && segments.starts_with(&m.segments)
            })
            .ok_or(Refused::NotAllowed)?;
        Ok(Route {
            mirror: mirror.clone(),
            segments,
        })
    }

    /// Whether `url` (a redirect's target) lies under an allowed mirror;
    /// an upgrade to https of a mirror listed as http is allowed too (the
    /// same host and path; the redirect policy refuses https to http).
    pub(crate) fn allows(&self, url: &str) -> bool {
        self.route(url).is_ok()
            || url
                .strip_prefix("https://")
                .is_some_and(|rest| self.route(&format!("http://{rest}")).is_ok())
    }
}

/// The decoded segments of `path` (which starts with `/`, or is empty for a
/// mirror root when `root` is set), each checked: not empty, not `.` or
/// `..`, not hidden (the cache keeps its own files under dot names), no NUL
/// or control byte, within [`MAX_SEGMENT`], the whole within [`MAX_PATH`].
fn segments(path: &[u8], root: bool) -> Result<Vec<Vec<u8>>, Refused> {
    if path.len() > MAX_PATH {
        return Err(Refused::TooLong);
    }
    let path = match path {
        [] if root => return Ok(Vec::new()),
        [b'/'] if root => return Ok(Vec::new()),
        [b'/', rest @ ..] => rest,
        _ => return Err(Refused::BadRequest),
    };
    let path = if root {
        path.strip_suffix(b"/").unwrap_or(path)
    } else {
        path
    };
    path.split(|&b| b == b'/')
        .map(|segment| {
            if segment.is_empty()
                || segment.starts_with(b".")
                || segment.iter().any(|&b| b < 0x20 || b == 0x7f)
            {
                Err(Refused::BadRequest)
            } else if segment.len() > MAX_SEGMENT {
                Err(Refused::TooLong)
            } else {
                Ok(segment.to_vec())
            }
        })
        .collect()
}

/// `host[:port]` lowercased, without the scheme's default port; `None` when
/// it has a userinfo or characters no host name has.
fn normalize_authority(authority: &str, scheme: Scheme) -> Option<String> {
    if authority.is_empty()
        || !authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
    {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let default = format!(":{}", scheme.default_port());
    Some(match authority.strip_suffix(&default) {
        Some(host) if !host.is_empty() => host.to_owned(),
        _ => authority,
    })
}

/// The host of an authority, without a port.
pub(crate) fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// `/a/b` with every byte outside RFC 3986's unreserved set (and `/`
/// between segments) percent-encoded.
pub(crate) fn encode_path(segments: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        for &b in segment {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Segments joined with `/`, invalid UTF-8 replaced.
pub(crate) fn join_lossy(segments: &[Vec<u8>]) -> String {
    segments
        .iter()
        .map(|s| String::from_utf8_lossy(s))
        .collect::<Vec<_>>()
        .join("/")
}

/// The source files apt reads, from `apt-config dump` output: the main
/// list and every `.list`/`.sources` file of the parts directory, sorted.
fn source_files(dump: &str) -> Vec<PathBuf> {
    let value = |key: &str| {
        dump.lines().find_map(|line| {
            let rest = line.strip_prefix(key)?.strip_prefix(" \"")?;
            Some(rest.strip_suffix("\";")?.to_owned())
        })
    };
    let root = PathBuf::from(value("Dir").unwrap_or_else(|| "/".to_owned()));
    let etc = resolve(
        &root,
        &value("Dir::Etc").unwrap_or_else(|| "etc/apt/".to_owned()),
    );
    let list = value("Dir::Etc::sourcelist").unwrap_or_else(|| "sources.list".to_owned());
    let parts = value("Dir::Etc::sourceparts").unwrap_or_else(|| "sources.list.d".to_owned());
    let mut files = vec![resolve(&etc, &list)];
    let mut more: Vec<PathBuf> = std::fs::read_dir(resolve(&etc, &parts))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "list" || e == "sources"))
                .collect()
        })
        .unwrap_or_default();
    more.sort();
    files.extend(more);
    files
}

/// apt's rule for a configured path: absolute as it is, else under `base`.
fn resolve(base: &Path, value: &str) -> PathBuf {
    let mut path = OsString::from(base.as_os_str());
    if value.starts_with('/') {
        return PathBuf::from(value);
    }
    if !base.as_os_str().is_empty() && !base.as_os_str().to_string_lossy().ends_with('/') {
        path.push("/");
    }
    path.push(value);
    PathBuf::from(path)
}

/// One enabled entry of the host's apt sources: a URI and its suites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSource {
    /// `deb` (binary packages) rather than only `deb-src`.
    pub binary: bool,
    /// The URI as written.
    pub uri: String,
    /// The suites it lists.
    pub suites: Vec<String>,
}

/// The enabled entries of every source file apt on this host reads (see
/// [`Mirrors::from_host_apt`]), in apt's order.
pub fn host_sources() -> Result<Vec<HostSource>, ProxyError> {
    let dump = Cmd::new("apt-config")
        .arg("dump")
        .env("LC_ALL", "C")
        .output()
        .map_err(|source| ProxyError::AptConfig { source })?;
    let dump = String::from_utf8_lossy(&dump);
    let mut sources = Vec::new();
    for file in source_files(&dump) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if file.extension().is_some_and(|e| e == "sources") {
            sources.extend(sources_of_deb822(&text));
        } else {
            sources.extend(sources_of_list(&text));
        }
    }
    Ok(sources)
}

/// The one-line `deb`/`deb-src` entries of a `.list` file (sources.list(5)).
fn sources_of_list(text: &str) -> Vec<HostSource> {
    let mut sources = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let binary = match words.next() {
            Some("deb") => true,
            Some("deb-src") => false,
            _ => continue,
        };
        let mut word = words.next();
        if word.is_some_and(|w| w.starts_with('[')) {
            // Options: up to the word that closes the bracket.
            while let Some(w) = word {
                word = words.next();
                if w.ends_with(']') {
                    break;
                }
            }
        }
        if let Some(uri) = word {
            sources.push(HostSource {
                binary,
                uri: uri.to_owned(),
                suites: words.next().map(str::to_owned).into_iter().collect(),
            });
        }
    }
    sources
}

/// The enabled stanzas of a deb822 `.sources` file, one entry per URI.
fn sources_of_deb822(text: &str) -> Vec<HostSource> {
    let Ok(paragraphs) = deb822::parse(text, Comments::Allowed) else {
        return Vec::new();
    };
    let mut sources = Vec::new();
    for p in paragraphs
        .iter()
        .filter(|p| p.value("Enabled").is_none_or(|v| v.trim() != "no"))
    {
        let words = |name: &str| -> Vec<String> {
            p.value(name)
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        };
        let binary = words("Types").iter().any(|t| t == "deb");
        for uri in words("URIs") {
            sources.push(HostSource {
                binary,
                uri,
                suites: words("Suites"),
            });
        }
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn mirrors() -> Mirrors {
        Mirrors::new([
            "http://deb.debian.org/debian",
            "https://security.example.org:443/debian-security/",
            "ftp://old.example.org/debian",
            "file:///srv/mirror",
        ])
    }

    fn routed(target: &str) -> Result<(String, String), Refused> {
        mirrors()
            .route(target)
            .map(|route| (route.url(), route.relative_text()))
    }

    #[test]
    fn a_redirect_may_upgrade_an_http_mirror_to_https_on_the_same_host() {
        let mirrors = Mirrors::new(["http://deb.debian.org/debian"]);
        assert!(mirrors.allows("https://deb.debian.org/debian/pool/x.deb"));
        assert!(mirrors.allows("http://deb.debian.org/debian/pool/x.deb"));
        assert!(!mirrors.allows("https://evil.example/debian/pool/x.deb"));
        // A client's own https request is still not fetched over http.
        assert!(mirrors
            .route("https://deb.debian.org/debian/pool/x.deb")
            .is_err());
    }

    #[test]
    fn keeps_http_and_https_mirrors_normalized() {
        let urls: Vec<String> = mirrors().list().iter().map(Mirror::url).collect();
        assert_eq!(
            urls,
            [
                "http://deb.debian.org/debian",
                "https://security.example.org/debian-security"
            ]
        );
    }

    #[test]
    fn routes_path_mode_and_absolute_form_requests() {
        assert_eq!(
            routed("/deb.debian.org/debian/dists/bookworm/InRelease"),
            Ok((
                "http://deb.debian.org/debian/dists/bookworm/InRelease".to_owned(),
                "dists/bookworm/InRelease".to_owned()
            ))
        );
        assert_eq!(
            routed("http://DEB.debian.org:80/debian/pool/main/j/jq/jq_1.6%7e1%2b2_amd64.deb"),
            Ok((
                "http://deb.debian.org/debian/pool/main/j/jq/jq_1.6~1%2B2_amd64.deb".to_owned(),
                "pool/main/j/jq/jq_1.6~1+2_amd64.deb".to_owned()
            ))
        );
        // Path mode takes the scheme from the list; an http request may go
        // out over https, never the reverse.
        assert_eq!(
            routed("/security.example.org/debian-security/dists/x/Release"),
            Ok((
                "https://security.example.org/debian-security/dists/x/Release".to_owned(),
                "dists/x/Release".to_owned()
            ))
        );
        assert_eq!(
            routed("http://security.example.org/debian-security/dists/x/Release").map(|r| r.0),
            Ok("https://security.example.org/debian-security/dists/x/Release".to_owned())
        );
        assert_eq!(
            Mirrors::new(["http://h/d"])
                .route("https://h/d/x")
                .map(|_| ()),
            Err(Refused::NotAllowed)
        );
    }

    #[test]
    fn refuses_hosts_and_paths_off_the_list() {
        for target in [
            "/evil.example.org/debian/dists/x/Release",
            "http://evil.example.org/debian/dists/x/Release",
            "/deb.debian.org/debian-evil/dists/x/Release",
            "/deb.debian.org/debianx",
            "/deb.debian.org/debian",
            "/deb.debian.org/other/x",
            "http://deb.debian.org:8080/debian/x",
        ] {
            assert_eq!(routed(target), Err(Refused::NotAllowed), "{target}");
        }
    }

    #[test]
    fn refuses_traversal_and_unkeyable_paths() {
        let long = format!("/deb.debian.org/debian/{}", "a/".repeat(1100));
        let long_segment = format!("/deb.debian.org/debian/{}", "a".repeat(256));
        for (target, refusal) in [
            (
                "/deb.debian.org/debian/../../etc/passwd",
                Refused::BadRequest,
            ),
            (
                "/deb.debian.org/debian/%2e%2e/%2e%2e/etc/passwd",
                Refused::BadRequest,
            ),
            (
                "/deb.debian.org/debian/pool/%2e%2e%2f%2e%2e%2fx",
                Refused::BadRequest,
            ),
            ("/deb.debian.org/debian/./dists", Refused::BadRequest),
            ("/deb.debian.org/debian//dists", Refused::BadRequest),
            ("/deb.debian.org/debian/dists/", Refused::BadRequest),
            ("/deb.debian.org/debian/a%00b", Refused::BadRequest),
            ("/deb.debian.org/debian/a%0ab", Refused::BadRequest),
            ("/deb.debian.org/debian/.hidden", Refused::BadRequest),
            ("/deb.debian.org/debian/a%zz", Refused::BadRequest),
            ("/deb.debian.org", Refused::BadRequest),
            ("http://user@deb.debian.org/debian/x", Refused::NotAllowed),
            ("ftp://deb.debian.org/debian/x", Refused::BadRequest),
            ("*", Refused::BadRequest),
            (long.as_str(), Refused::TooLong),
            (long_segment.as_str(), Refused::TooLong),
        ] {
            assert_eq!(routed(target).map(|_| ()), Err(refusal), "{target}");
        }
    }

    #[test]
    fn gives_the_guest_its_path_mode_url() {
        let mirrors = mirrors();
        assert_eq!(
            mirrors.guest_url("http://deb.debian.org/debian/", "10.0.2.101"),
            Some("http://10.0.2.101/deb.debian.org/debian".to_owned())
        );
        assert_eq!(
            mirrors.guest_url("https://security.example.org/debian-security", "10.0.2.101"),
            Some("http://10.0.2.101/security.example.org/debian-security".to_owned())
        );
        assert_eq!(mirrors.guest_url("http://other.org/debian", "h"), None);
    }

    #[test]
    fn reads_one_line_and_deb822_sources() {
        let list = "# comment\n\
            deb http://deb.debian.org/debian bookworm main\n\
            deb [arch=amd64 signed-by=/k.gpg] http://a.org/x bookworm main # tail\n\
            deb-src [trusted=yes] https://b.org/y bookworm main\n\
            #deb http://disabled.org/z bookworm main\n\
            rpm http://c.org/ x\n";
        let uris = |sources: Vec<HostSource>| -> Vec<(bool, String, Vec<String>)> {
            sources
                .into_iter()
                .map(|s| (s.binary, s.uri, s.suites))
                .collect()
        };
        let suite = |s: &str| vec![s.to_owned()];
        assert_eq!(
            uris(sources_of_list(list)),
            [
                (
                    true,
                    "http://deb.debian.org/debian".to_owned(),
                    suite("bookworm")
                ),
                (true, "http://a.org/x".to_owned(), suite("bookworm")),
                (false, "https://b.org/y".to_owned(), suite("bookworm")),
            ]
        );
        let sources = "Types: deb\nURIs: http://deb.debian.org/debian\n  http://m.org/d\n\
            Suites: bookworm bookworm-updates\n# c\n\nTypes: deb\nURIs: http://off.org/x\nEnabled: no\n";
        let both = vec!["bookworm".to_owned(), "bookworm-updates".to_owned()];
        assert_eq!(
            uris(sources_of_deb822(sources)),
            [
                (
                    true,
                    "http://deb.debian.org/debian".to_owned(),
                    both.clone()
                ),
                (true, "http://m.org/d".to_owned(), both),
            ]
        );
    }

    #[test]
    fn reads_this_hosts_apt_configuration() {
        let mirrors = Mirrors::from_host_apt().expect("apt-config runs");
        assert!(mirrors.list().iter().all(|m| m.url().starts_with("http")));
    }

    #[test]
    fn finds_the_source_files_apt_config_names() {
        let dir = tempfile::tempdir().expect("tmp");
        let etc = dir.path().join("etc/apt");
        std::fs::create_dir_all(etc.join("parts")).expect("mkdir");
        for name in ["b.sources", "a.list", "c.txt"] {
            std::fs::write(etc.join("parts").join(name), "").expect("write");
        }
        // As this host's apt-config prints it: no slash after etc/apt.
        let dump = format!(
            "Dir \"{}\";\nDir::Etc \"etc/apt\";\nDir::Etc::sourcelist \"main.list\";\n\
             Dir::Etc::sourceparts \"parts\";\n",
            dir.path().display()
        );
        assert_eq!(
            source_files(&dump),
            [
                etc.join("main.list"),
                etc.join("parts/a.list"),
                etc.join("parts/b.sources")
            ]
        );
    }
}
