//! The `symbols` and `shlibs` files of another architecture's library
//! packages, for the dependencies of a package built for that architecture
//! (the host's dpkg database knows only its own).
//!
//! They come from the Debian mirror apt on this host uses, through the
//! caching apt proxy (so a second build asks nothing upstream), and are
//! checked as apt checks them: `InRelease` signed by a key of the Debian
//! archive keyring, the `Packages` index by its SHA256 in `InRelease`, each
//! `.deb` by its SHA256 in `Packages`. Nothing else from the mirror is
//! believed.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::shlibs::ForeignPackage;
use crate::deb::Compression;
use crate::deb822::{self, Comments};
use crate::proxy::{Cache, Loopback, Mirrors, Proxy, ProxyOptions};

/// The keyrings whose keys may sign the mirror's `InRelease`, in order of
/// preference; the first that exists is used.
const KEYRINGS: &[&str] = &[
    "/usr/share/keyrings/debian-archive-keyring.gpg",
    "/usr/share/keyrings/ubuntu-archive-keyring.gpg",
];

/// At most this much of any one download is read.
const MAX_INDEX: u64 = 128 << 20;
const MAX_UNPACKED_INDEX: u64 = 512 << 20;
const MAX_DEB: u64 = 256 << 20;

/// Why another architecture's library information could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ForeignError {
    /// The apt cache could not be opened.
    #[error("the apt cache is not usable: {0}")]
    Cache(String),
    /// A download failed.
    #[error("{url}: {reason}")]
    Fetch {
        /// What was asked for.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// A download is not what the signed index says.
    #[error("{url}: {reason} (refused)")]
    Untrusted {
        /// What was asked for.
        url: String,
        /// What does not match.
        reason: String,
    },
    /// The mirror does not carry the architecture or a package.
    #[error("{0}")]
    Missing(String),
}

/// Where another architecture's library packages, and the list of what a
/// Debian suite carries, are fetched from.
pub trait ForeignLibraries: std::fmt::Debug + Send + Sync {
    /// The library information of `packages` built for `arch`, from the
    /// host's own suite; a package the archive does not have is left out.
    fn fetch(&self, arch: &str, packages: &[String]) -> Result<Vec<ForeignPackage>, ForeignError>;

    /// The names `suite` of `mirror` carries for `arch` (packages and what
    /// they provide), sorted.
    fn names(&self, mirror: &str, suite: &str, arch: &str) -> Result<Vec<String>, ForeignError>;
}

type CacheOpener = Box<dyn Fn() -> Result<Cache, String> + Send + Sync>;
type HostSuite = Box<dyn Fn() -> (String, String) + Send + Sync>;

/// The Debian archive through the caching apt proxy: each call starts a
/// proxy on a 127.0.0.1 port that may fetch only from the mirror asked
/// for, and stops it when done.
pub struct DebianArchive {
    open_cache: CacheOpener,
    host: HostSuite,
}

impl std::fmt::Debug for DebianArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DebianArchive").finish_non_exhaustive()
    }
}

impl DebianArchive {
    /// Files go through the cache `open_cache` opens; `host` gives the
    /// host's mirror and suite. Both are called only when something is
    /// fetched: a build that needs nothing opens no cache and asks apt
    /// nothing.
    pub fn new(
        open_cache: impl Fn() -> Result<Cache, String> + Send + Sync + 'static,
        host: impl Fn() -> (String, String) + Send + Sync + 'static,
    ) -> Self {
        Self {
            open_cache: Box::new(open_cache),
            host: Box::new(host),
        }
    }

    fn session(&self, mirror: &str, suite: &str) -> Result<Session, ForeignError> {
        let mirror = mirror.trim_end_matches('/').to_owned();
        let cache = (self.open_cache)().map_err(ForeignError::Cache)?;
        let loopback = Proxy::new(
            cache,
            Mirrors::new([mirror.clone()]),
            ProxyOptions::default(),
        )
        .and_then(Proxy::spawn_loopback)
        .map_err(|e| ForeignError::Cache(e.to_string()))?;
        let proxy = loopback.addr();
        let client = reqwest::blocking::Client::builder()
            .proxy(
                reqwest::Proxy::http(format!("http://{proxy}"))
                    .map_err(|e| ForeignError::Cache(format!("the proxy at {proxy}: {e}")))?,
            )
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| ForeignError::Cache(e.to_string()))?;
        Ok(Session {
            client,
            mirror,
            suite: suite.to_owned(),
            _loopback: loopback,
        })
    }
}

impl ForeignLibraries for DebianArchive {
    fn fetch(&self, arch: &str, packages: &[String]) -> Result<Vec<ForeignPackage>, ForeignError> {
        let (mirror, suite) = (self.host)();
        let session = self.session(&mirror, &suite)?;
        let index = session.packages(arch, Components::All)?;
        let mut found = Vec::new();
        for package in packages {
            if let Some((filename, digest)) = pool_entry(&index, package) {
                found.push(session.library_info(package, &filename, &digest)?);
            }
        }
        Ok(found)
    }

    fn names(&self, mirror: &str, suite: &str, arch: &str) -> Result<Vec<String>, ForeignError> {
        // The guest's Debian source line names `main` only.
        let index = self
            .session(mirror, suite)?
            .packages(arch, Components::Main)?;
        Ok(names_of(&index))
    }
}

/// Which components of a suite are read.
#[derive(Debug, Clone, Copy)]
enum Components {
    /// Every one the Release lists: where a library package may be.
    All,
    /// `main`: what a VM guest installs from.
    Main,
}

/// One fetch session: a client through a proxy for one mirror.
struct Session {
    client: reqwest::blocking::Client,
    mirror: String,
    suite: String,
    _loopback: Loopback,
}

impl Session {
    /// The mirror's URL as asked of the proxy: plain http, which the proxy
    /// fetches from the mirror over https when the mirror is https.
    fn base(&self) -> String {
        match self.mirror.strip_prefix("https://") {
            Some(rest) => format!("http://{rest}"),
            None => self.mirror.clone(),
        }
    }

    fn get(&self, path: &str, limit: u64) -> Result<Vec<u8>, ForeignError> {
        let url = format!("{}/{path}", self.mirror);
        let fail = |reason: String| ForeignError::Fetch {
            url: url.clone(),
            reason,
        };
        let response = self
            .client
            .get(format!("{}/{path}", self.base()))
            .send()
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("HTTP {}", response.status())));
        }
        let mut bytes = Vec::new();
        response
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(e.to_string()))?;
        if bytes.len() as u64 > limit {
            return Err(fail(format!("larger than {limit} bytes")));
        }
        Ok(bytes)
    }

    /// The suite's Packages indexes for `arch` (of `scope`), checked
    /// against the signed InRelease, one after the other.
    fn packages(&self, arch: &str, scope: Components) -> Result<String, ForeignError> {
        let dists = format!("dists/{}", self.suite);
        let inrelease = self.get(&format!("{dists}/InRelease"), MAX_INDEX)?;
        let release = verify_release(&inrelease)
            .and_then(|text| {
                check_release(&text, &self.suite, std::time::SystemTime::now()).map(|()| text)
            })
            .map_err(|reason| ForeignError::Untrusted {
                url: format!("{}/{dists}/InRelease", self.mirror),
                reason,
            })?;
        let components = match scope {
            Components::All => components(&release),
            Components::Main => vec!["main".to_owned()],
        };
        let mut text = String::new();
        for component in components {
            let index_path = format!("{component}/binary-{arch}/Packages.xz");
            let Some((digest, size)) = release_digest(&release, &index_path) else {
                continue;
            };
            let url = format!("{}/{dists}/{index_path}", self.mirror);
            let compressed = self.get(&format!("{dists}/{index_path}"), MAX_INDEX)?;
            check(&compressed, &digest, Some(size)).map_err(|reason| ForeignError::Untrusted {
                url: url.clone(),
                reason,
            })?;
            let index =
                unpack_index(&compressed).map_err(|reason| ForeignError::Fetch { url, reason })?;
            text.push_str(&index);
            text.push_str("\n\n");
        }
        if text.is_empty() {
            return Err(ForeignError::Missing(format!(
                "{} {} does not carry architecture {arch} (no Packages.xz for it in its Release)",
                self.mirror, self.suite
            )));
        }
        Ok(text)
    }

    /// The library information of the pool file `filename`.
    fn library_info(
        &self,
        package: &str,
        filename: &str,
        digest: &str,
    ) -> Result<ForeignPackage, ForeignError> {
        let deb = self.get(filename, MAX_DEB)?;
        let url = format!("{}/{filename}", self.mirror);
        check(&deb, digest, None).map_err(|reason| ForeignError::Untrusted {
            url: url.clone(),
            reason,
        })?;
        library_info(package, &deb).map_err(|reason| ForeignError::Fetch { url, reason })
    }
}

/// Every package name and every name provided in a Packages index, sorted.
fn names_of(index: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in index.lines() {
        if let Some(name) = line.strip_prefix("Package: ") {
            names.push(name.trim().to_owned());
        } else if let Some(provides) = line.strip_prefix("Provides: ") {
            names.extend(
                provides
                    .split(',')
                    .filter_map(|p| p.split_whitespace().next())
                    .map(str::to_owned),
            );
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The text `InRelease` signs, when a key of the archive keyring signed it.
fn verify_release(inrelease: &[u8]) -> Result<String, String> {
    let keyring = KEYRINGS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no archive keyring to check it with ({}); install debian-archive-keyring",
                KEYRINGS.join(", ")
            )
        })?;
    let keys = std::fs::read(&keyring).map_err(|e| format!("{}: {e}", keyring.display()))?;
    let text = crate::sign::verify_clearsigned(&keys, inrelease)
        .map_err(|e| format!("not signed by a key of {}: {e}", keyring.display()))?;
    String::from_utf8(text).map_err(|_| "the signed text is not UTF-8".to_owned())
}

/// A signed Release is the suite asked for (`Suite` or `Codename`), and
/// not past its `Valid-Until`: an old or another suite's signed file,
/// replayed by a mirror, is refused as apt refuses it.
fn check_release(release: &str, suite: &str, now: std::time::SystemTime) -> Result<(), String> {
    let paragraphs = deb822::parse(release, Comments::Refused).map_err(|e| e.to_string())?;
    let fields = paragraphs.first().ok_or("an empty Release")?;
    let names = [fields.value("Suite"), fields.value("Codename")];
    if !names.iter().flatten().any(|n| n.trim() == suite) {
        return Err(format!("it is not the Release of {suite}"));
    }
    if let Some(until) = fields.value("Valid-Until") {
        let until = httpdate::parse_http_date(&until.trim().replace(" UTC", " GMT"))
            .map_err(|_| format!("unreadable Valid-Until {until:?}"))?;
        if until < now {
            return Err(format!(
                "it expired ({}); the mirror serves an old copy",
                httpdate::fmt_http_date(until)
            ));
        }
    }
    Ok(())
}

/// The components a Release lists (`main` when it lists none), each a
/// plain name (no `/` or `..`, as they become URL paths).
fn components(release: &str) -> Vec<String> {
    let listed: Vec<String> = release
        .lines()
        .find_map(|l| l.strip_prefix("Components:"))
        .unwrap_or("main")
        .split_whitespace()
        .filter(|c| {
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .collect();
    if listed.is_empty() {
        vec!["main".to_owned()]
    } else {
        listed
    }
}

/// The SHA256 and size `release` gives for `path`.
fn release_digest(release: &str, path: &str) -> Option<(String, u64)> {
    crate::apt::verify::release_entries(release)
        .ok()?
        .into_iter()
        .find(|(algo, _, _, p)| *algo == "SHA256" && p == path)
        .map(|(_, digest, size, _)| (digest, size))
}

/// Whether `bytes` have the SHA256 `digest` (and the size, when given).
fn check(bytes: &[u8], digest: &str, size: Option<u64>) -> Result<(), String> {
    if let Some(size) = size {
        if bytes.len() as u64 != size {
            return Err(format!("{} bytes, the index says {size}", bytes.len()));
        }
    }
    let got = hex::encode(Sha256::digest(bytes));
    if !got.eq_ignore_ascii_case(digest) {
        return Err(format!("SHA256 {got}, the index says {digest}"));
    }
    Ok(())
}

fn unpack_index(compressed: &[u8]) -> Result<String, String> {
    let decoder = Compression::Xz
        .decoder(compressed)
        .map_err(|e| e.to_string())?;
    let mut text = Vec::new();
    decoder
        .take(MAX_UNPACKED_INDEX + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("damaged xz ({e})"))?;
    if text.len() as u64 > MAX_UNPACKED_INDEX {
        return Err(format!("unpacks to more than {MAX_UNPACKED_INDEX} bytes"));
    }
    String::from_utf8(text).map_err(|_| "not UTF-8".to_owned())
}

/// The pool file and SHA256 of `package` in a `Packages` index (the
/// highest version when it is listed more than once).
fn pool_entry(index: &str, package: &str) -> Option<(String, String)> {
    let start = format!("Package: {package}\n");
    let mut best: Option<(crate::version::DebVersion, String, String)> = None;
    for stanza in index.split("\n\n") {
        let stanza = stanza.trim_start_matches('\n');
        if !stanza.starts_with(&start) {
            continue;
        }
        let Ok(paragraphs) = deb822::parse(stanza, Comments::Refused) else {
            continue;
        };
        let Some(p) = paragraphs.first() else {
            continue;
        };
        let (Some(version), Some(filename), Some(digest)) =
            (p.value("Version"), p.value("Filename"), p.value("SHA256"))
        else {
            continue;
        };
        let Ok(version) = crate::version::DebVersion::parse(version) else {
            continue;
        };
        let safe = !filename.starts_with('/')
            && filename
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
            && filename.bytes().all(|b| b.is_ascii_graphic());
        if !safe {
            continue;
        }
        if best.as_ref().is_none_or(|(v, _, _)| version > *v) {
            best = Some((version, filename.to_owned(), digest.to_owned()));
        }
    }
    best.map(|(_, filename, digest)| (filename, digest))
}

/// The `symbols` and `shlibs` files of a downloaded `.deb`.
fn library_info(package: &str, deb: &[u8]) -> Result<ForeignPackage, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("library.deb");
    std::fs::write(&path, deb).map_err(|e| e.to_string())?;
    let info = crate::deb::read_deb(&path).map_err(|e| e.to_string())?;
    let text = |name: &str| {
        info.library_info
            .get(name)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    Ok(ForeignPackage {
        package: package.to_owned(),
        symbols: text("symbols"),
        shlibs: text("shlibs"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const INDEX: &str = "Package: zlib1g\nVersion: 1:1.2.13.dfsg-1\nFilename: pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_arm64.deb\nSHA256: aa\n\n\
Package: zlib1g-dev\nVersion: 1:1.2.13.dfsg-1\nFilename: pool/main/z/zlib/zlib1g-dev_1.2.13.dfsg-1_arm64.deb\nSHA256: bb\n\n\
Package: zlib1g\nVersion: 1:1.2.13.dfsg-2\nFilename: pool/main/z/zlib/zlib1g_1.2.13.dfsg-2_arm64.deb\nSHA256: cc\n\n\
Package: evil\nVersion: 1\nFilename: ../../etc/passwd\nSHA256: dd\n";

    #[test]
    fn the_highest_version_of_exactly_that_package_is_fetched() {
        assert_eq!(
            pool_entry(INDEX, "zlib1g"),
            Some((
                "pool/main/z/zlib/zlib1g_1.2.13.dfsg-2_arm64.deb".to_owned(),
                "cc".to_owned()
            ))
        );
        assert_eq!(pool_entry(INDEX, "zlib"), None);
    }

    #[test]
    fn a_release_of_another_suite_or_past_its_validity_is_refused() {
        let now = httpdate::parse_http_date("Mon, 30 Nov 2026 12:00:00 GMT").expect("date");
        let release = "Origin: Debian\nSuite: stable\nCodename: bookworm\n\
                       Valid-Until: Mon, 07 Dec 2026 12:00:00 UTC\n";
        assert_eq!(check_release(release, "bookworm", now), Ok(()));
        assert_eq!(check_release(release, "stable", now), Ok(()));
        assert!(check_release(release, "trixie", now).is_err());
        let old = release.replace("Mon, 07 Dec 2026", "Sat, 07 Nov 2026");
        assert!(check_release(&old, "bookworm", now).is_err());
        assert_eq!(
            check_release("Suite: stable\nCodename: bookworm\n", "bookworm", now),
            Ok(())
        );
    }

    #[test]
    fn every_listed_component_is_read_and_none_leaves_the_suite() {
        let release = "Suite: stable\nComponents: main contrib non-free-firmware ../x a/b\n";
        assert_eq!(
            components(release),
            ["main", "contrib", "non-free-firmware"]
        );
        assert_eq!(components("Suite: stable\n"), ["main"]);
    }

    #[test]
    fn names_include_what_packages_provide() {
        let index = "Package: b\nProvides: x (= 1), y\n\nPackage: a\nVersion: 1\n";
        assert_eq!(names_of(index), ["a", "b", "x", "y"]);
    }

    #[test]
    fn a_pool_path_leaving_the_mirror_is_ignored() {
        assert_eq!(pool_entry(INDEX, "evil"), None);
    }

    #[test]
    fn a_download_must_match_its_digest_and_size() {
        let digest = hex::encode(Sha256::digest(b"abc"));
        assert_eq!(check(b"abc", &digest, Some(3)), Ok(()));
        assert!(check(b"abd", &digest, None).is_err());
        assert!(check(b"abc", &digest, Some(4)).is_err());
    }

    #[test]
    fn an_unsigned_or_forged_release_is_refused() {
        assert!(verify_release(b"Suite: bookworm\n").is_err());
        let forged = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nSuite: bookworm\n-----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCAAQBQJl\n-----END PGP SIGNATURE-----\n";
        assert!(verify_release(forged).is_err());
    }
}
