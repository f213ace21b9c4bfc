//! The Release file of a suite (the repository format, wiki.debian.org/DebianRepository/Format):
//! metadata apt pins (Origin, Label, Suite, Codename), then the size and
//! digests of every index, including the uncompressed variants apt expects
//! to be listed even when it downloads a compressed one.

use md5::Md5;
use sha2::{Digest, Sha256, Sha512};

use crate::deb822;

/// An index file of the suite with its digests.
#[derive(Debug, Clone)]
pub struct IndexFile {
    /// Path relative to `dists/<suite>/`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// MD5 (for old clients).
    pub md5: String,
    /// SHA-256.
    pub sha256: String,
    /// SHA-512 (what apt fetches by hash).
    pub sha512: String,
}

impl IndexFile {
    /// Hashes `bytes` as the file at `path`; the three digests are computed
    /// on separate threads (they dominate a republish of a large suite).
    pub fn new(path: String, bytes: &[u8]) -> Self {
        if bytes.len() < 256 * 1024 {
            return Self {
                path,
                size: bytes.len() as u64,
                md5: hex::encode(Md5::digest(bytes)),
                sha256: hex::encode(Sha256::digest(bytes)),
                sha512: hex::encode(Sha512::digest(bytes)),
            };
        }
        let (md5, sha256, sha512) = std::thread::scope(|scope| {
            let md5 = scope.spawn(|| hex::encode(Md5::digest(bytes)));
            let sha512 = scope.spawn(|| hex::encode(Sha512::digest(bytes)));
            let sha256 = hex::encode(Sha256::digest(bytes));
            (
                md5.join().unwrap_or_default(),
                sha256,
                sha512.join().unwrap_or_default(),
            )
        });
        Self {
            path,
            size: bytes.len() as u64,
            md5,
            sha256,
            sha512,
        }
    }
}

/// The fields of a Release file.
#[derive(Debug, Clone)]
pub struct Release<'a> {
    /// Origin.
    pub origin: &'a str,
    /// Label.
    pub label: &'a str,
    /// Suite.
    pub suite: &'a str,
    /// Codename.
    pub codename: &'a str,
    /// Description.
    pub description: &'a str,
    /// Release time, Unix seconds.
    pub date: i64,
    /// Binary architectures.
    pub architectures: &'a [String],
    /// Components.
    pub components: &'a [String],
}

impl Release<'_> {
    /// The Release text listing `files`.
    pub fn render(&self, files: &[IndexFile]) -> String {
        let fields = [
            ("Origin", self.origin.to_owned()),
            ("Label", self.label.to_owned()),
            ("Suite", self.suite.to_owned()),
            ("Codename", self.codename.to_owned()),
            ("Date", crate::time::rfc2822(self.date)),
            ("Architectures", self.architectures.join(" ")),
            ("Components", self.components.join(" ")),
            ("Description", self.description.to_owned()),
            ("Acquire-By-Hash", "yes".to_owned()),
        ];
        let width = files
            .iter()
            .map(|f| f.size.to_string().len())
            .max()
            .unwrap_or(1);
        let lists = [("MD5Sum", 0), ("SHA256", 1), ("SHA512", 2)].map(|(title, pick)| {
            let mut value = String::new();
            for file in files {
                let digest = [&file.md5, &file.sha256, &file.sha512][pick];
                value.push_str(&format!("\n{digest} {:>width$} {}", file.size, file.path));
            }
            (title, value)
        });
        let mut text = String::new();
        for (name, value) in fields.iter().chain(&lists) {
            deb822::write_field(&mut text, name, value).expect("writing to a String cannot fail");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn renders_every_hash_list() {
        let files = [IndexFile::new("main/binary-amd64/Packages".into(), b"")];
        let release = Release {
            origin: "O",
            label: "L",
            suite: "stable",
            codename: "stable",
            description: "D",
            date: 0,
            architectures: &["amd64".to_owned()],
            components: &["main".to_owned()],
        };
        assert_eq!(
            release.render(&files),
            "Origin: O\nLabel: L\nSuite: stable\nCodename: stable\nDate: Thu, 01 Jan 1970 00:00:00 +0000\nArchitectures: amd64\nComponents: main\nDescription: D\nAcquire-By-Hash: yes\nMD5Sum:\n d41d8cd98f00b204e9800998ecf8427e 0 main/binary-amd64/Packages\nSHA256:\n e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 main/binary-amd64/Packages\nSHA512:\n cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e 0 main/binary-amd64/Packages\n"
        );
    }
}
