//! One package in a suite: its Packages stanza and the few fields the
//! repository logic needs, parsed once. The stanza text is kept verbatim so
//! that publishing only concatenates text; the index cache of a suite is
//! simply its stanzas, so adding one package never re-reads another's .deb.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::deb::{read_deb, Control};
use crate::deb822::{self, Comments, Paragraph};
use crate::version::DebVersion;

use super::AptError;

/// A package of the index.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `Package:`.
    pub package: String,
    /// `Version:`.
    pub version: DebVersion,
    /// `Architecture:`.
    pub architecture: String,
    /// `Filename:` (relative to the repository root).
    pub filename: String,
    /// `Size:`.
    pub size: u64,
    /// `SHA256:`.
    pub sha256: String,
    /// The whole stanza, each line ending in `\n`, no blank line.
    pub text: String,
}

/// A .deb checked and hashed, ready to be pooled.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Its control stanza.
    pub control: Control,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex: the one digest apt checks a download against
    /// (it never trusts MD5 or SHA-1; SHA-512 beside SHA-256 adds nothing).
    pub sha256: String,
}

impl Incoming {
    /// Reads and validates a .deb (container, both tarballs, control fields) and hashes it.
    pub fn read(path: &Path) -> Result<Self, AptError> {
        let info = read_deb(path).map_err(|source| AptError::BadDeb {
            path: path.to_owned(),
            source,
        })?;
        info.control.validate().map_err(|e| AptError::BadDeb {
            path: path.to_owned(),
            source: e.into(),
        })?;
        let mut file = std::fs::File::open(path).map_err(|source| AptError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut sha256 = Sha256::new();
        let mut buf = vec![0; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(|source| AptError::Io {
                path: path.to_owned(),
                source,
            })?;
            if n == 0 {
                break;
            }
            sha256.update(&buf[..n]);
            size += n as u64;
        }
        Ok(Self {
            control: info.control,
            size,
            sha256: hex::encode(sha256.finalize()),
        })
    }

    /// The package name.
    pub fn package(&self) -> &str {
        self.control.package().unwrap_or_default()
    }

    /// The architecture.
    pub fn architecture(&self) -> &str {
        self.control.architecture().unwrap_or_default()
    }

    /// The source package name (`Source:` without its version, else the
    /// package), checked against Policy 5.6.1 when the .deb was read.
    pub fn source(&self) -> &str {
        self.control.source_name().unwrap_or_default()
    }

    /// `name_version_arch.deb`, or `.ddeb` for debug symbols (the version
    /// without its epoch).
    pub fn file_name(&self) -> String {
        let version = self.control.version().unwrap_or_default();
        let version = version.split_once(':').map_or(version, |(_, v)| v);
        let ext = if self.is_debug() { "ddeb" } else { "deb" };
        format!("{}_{version}_{}.{ext}", self.package(), self.architecture())
    }

    /// A debug symbols package (`Package-Type: ddeb`, a `-dbgsym`): it is
    /// published in `<component>/debug`, as reprepro's `DDebComponents` do.
    pub fn is_debug(&self) -> bool {
        self.control.get("Package-Type") == Some("ddeb")
    }

    /// The index entry for this package stored at `filename`: the control
    /// fields, then Filename, Size and SHA256, with Description last as
    /// dpkg-scanpackages writes it. Fields the repository computes replace
    /// same-named fields of the control file, so a stanza never holds one twice
    /// and a .deb cannot claim another file's name or digests.
    ///
    /// The three fields added are the ones apt cannot do without (as the
    /// Debian archive's dak writes by default): `Filename` (where to fetch
    /// it), `Size` (apt calls a stanza without it a broken repository) and
    /// `SHA256` (the one digest apt verifies the download with). No MD5sum,
    /// SHA1 or SHA512: apt never trusts the first two, and the third repeats
    /// what SHA256 already proves; every client would download ~140 bytes of
    /// hex per package for nothing. Release still lists all of them for its
    /// index files.
    pub fn entry(&self, filename: &str) -> Result<Entry, AptError> {
        let mut text = String::new();
        let mut description = None;
        for (name, value) in self.control.fields() {
            if COMPUTED
                .iter()
                .chain(&UNPUBLISHED)
                .any(|c| c.eq_ignore_ascii_case(name))
            {
                continue;
            }
            if name.eq_ignore_ascii_case("Description") {
                description = Some(value);
                continue;
            }
            push_field(&mut text, name, value);
        }
        push_field(&mut text, "Filename", filename);
        push_field(&mut text, "Size", &self.size.to_string());
        push_field(&mut text, "SHA256", &self.sha256);
        if let Some(description) = description {
            push_field(&mut text, "Description", description);
        }
        let entries = Entry::parse_many(&text)?;
        entries.into_iter().next().ok_or(AptError::BadIndex {
            reason: "empty stanza",
        })
    }
}

/// Fields of a Packages stanza that describe the pooled file, not the
/// package: the repository writes them (or, for those in [`UNPUBLISHED`]
/// and Description-md5, leaves them out), whatever the control file says.
const COMPUTED: [&str; 4] = ["Filename", "Size", "SHA256", "Description-md5"];

/// Digests stanzas no longer carry (see [`Incoming::entry`]). Stanzas that
/// earlier versions wrote with them lose them when read, so that the next
/// publish of an existing repository writes the compact form.
const UNPUBLISHED: [&str; 3] = ["MD5sum", "SHA1", "SHA512"];

/// `stanza` without the fields of [`UNPUBLISHED`] (each one line, or a
/// line and its continuation lines).
fn without_unpublished(stanza: &str) -> String {
    let mut out = String::with_capacity(stanza.len());
    let mut dropping = false;
    for line in stanza.split_inclusive('\n') {
        if !line.starts_with([' ', '\t']) {
            let name = line.split_once(':').map_or("", |(name, _)| name);
            dropping = UNPUBLISHED.iter().any(|u| u.eq_ignore_ascii_case(name));
        }
        if !dropping {
            out.push_str(line);
        }
    }
    out
}

fn push_field(text: &mut String, name: &str, value: &str) {
    deb822::write_field(text, name, value).expect("writing to a String cannot fail");
}

impl Entry {
    /// Parses stanzas separated by blank lines (a Packages file, the index
    /// cache). apt reads Packages files without comments, and so do we
    /// ([`Comments::Refused`]).
    pub fn parse_many(text: &str) -> Result<Vec<Entry>, AptError> {
        deb822::parse(text, Comments::Refused)
            .map_err(|source| AptError::IndexSyntax { source })?
            .iter()
            .map(Self::parse)
            .collect()
    }

    fn parse(stanza: &Paragraph<'_>) -> Result<Entry, AptError> {
        let mut fields: [Option<&str>; 6] = [None; 6];
        const NAMES: [&str; 6] = [
            "Package",
            "Version",
            "Architecture",
            "Filename",
            "Size",
            "SHA256",
        ];
        for field in &stanza.fields {
            if let Some(i) = NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(&field.name))
            {
                // These are one-line fields; a continuation is not theirs.
                fields[i] = field.value.split('\n').next();
            }
        }
        let [Some(package), Some(version), Some(architecture), Some(filename), Some(size), Some(sha256)] =
            fields
        else {
            return Err(AptError::BadIndex {
                reason: "a stanza lacks Package, Version, Architecture, Filename, Size or SHA256",
            });
        };
        // The cache and Packages files are ours, but their names become paths
        // that pruning deletes: read them as carefully as a .deb's control.
        if crate::deb::check_package_name(package).is_err()
            || crate::deb::check_architecture(architecture).is_err()
        {
            return Err(AptError::BadIndex {
                reason: "a stanza has an invalid Package or Architecture",
            });
        }
        if !is_pool_path(filename) {
            return Err(AptError::BadIndex {
                reason: "a stanza's Filename is not a path inside pool/",
            });
        }
        Ok(Entry {
            package: package.to_owned(),
            version: DebVersion::parse(version).map_err(|_| AptError::BadIndex {
                reason: "a stanza has an invalid Version",
            })?,
            architecture: architecture.to_owned(),
            filename: filename.to_owned(),
            size: size.parse().map_err(|_| AptError::BadIndex {
                reason: "a stanza has an invalid Size",
            })?,
            sha256: sha256.to_owned(),
            text: without_unpublished(&format!("{}\n", stanza.text)),
        })
    }

    /// An entry of the given package, version and architecture, in the
    /// pool file `pool/main/<file>` (test fixtures).
    #[cfg(test)]
    pub(crate) fn for_tests(package: &str, version: &str, architecture: &str, file: &str) -> Self {
        let text = format!("Package: {package}\nVersion: {version}\nArchitecture: {architecture}\nFilename: pool/main/{file}\nSize: 1\nSHA256: ab\n");
        Self::parse_many(&text)
            .expect("a fixture parses")
            .pop()
            .expect("one stanza")
    }

    /// The order of stanzas in an index: package, version, architecture.
    pub fn index_order(&self, other: &Entry) -> std::cmp::Ordering {
        (&self.package, &self.version, &self.architecture).cmp(&(
            &other.package,
            &other.version,
            &other.architecture,
        ))
    }

    /// `name=version` as users name it on the command line.
    pub fn id(&self) -> String {
        format!("{}={}", self.package, self.version)
    }
}

/// `pool/...`: relative, without empty, `.` or `..` components.
pub fn is_pool_path(filename: &str) -> bool {
    filename.starts_with("pool/")
        && filename
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    const STANZA: &str = "Package: hello\nVersion: 1.0\nArchitecture: all\nFilename: pool/main/h/hello/hello_1.0_all.deb\nSize: 12\nSHA256: ab\nDescription: greets\n .\n More.\n";

    #[test]
    fn stanzas_keep_their_text_and_give_their_fields() {
        let entries = Entry::parse_many(&format!("\n{STANZA}\n\n{STANZA}")).expect("parses");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].text, STANZA);
        assert_eq!(entries[0].id(), "hello=1.0");
        assert_eq!(entries[0].size, 12);
    }

    #[test]
    fn stanzas_of_earlier_versions_lose_the_digests_no_longer_published() {
        // As this repository wrote them before: MD5sum and SHA512 beside SHA256.
        let old = "Package: hello\nVersion: 1.0\nArchitecture: all\nFilename: pool/main/h/hello/hello_1.0_all.deb\nSize: 12\nMD5sum: 0123\nSHA256: ab\nsha1: 99\nSHA512: cd\n ef\nDescription: greets\n .\n More.\n";
        let entries = Entry::parse_many(old).expect("parses");
        assert_eq!(entries[0].text, STANZA);
        // A field that merely starts like one of them stays.
        let kept = format!("{STANZA}MD5sums-Extra: 1\n");
        assert_eq!(Entry::parse_many(&kept).expect("parses")[0].text, kept);
    }

    #[test]
    fn packages_files_have_no_comments() {
        // apt reads Packages without comment support; neither do we.
        let err = Entry::parse_many(&format!("# generated\n{STANZA}")).expect_err("comment");
        assert_eq!(
            std::error::Error::source(&err).map(ToString::to_string),
            Some("line 1 is not a field (no colon): \"# generated\"".to_owned())
        );
    }
}
