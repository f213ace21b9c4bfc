//! What the cache does with a path (reference §2): immutable files are
//! served from the cache forever, volatile ones are revalidated, anything
//! else passes through uncached. The rules follow apt-cacher-ng's
//! `PfilePattern`/`VfilePattern` and approx's `immutable`/`is_release`.

/// A digest a by-hash file's name must equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Digest {
    /// `by-hash/MD5Sum/<32 hex>`.
    Md5(String),
    /// `by-hash/SHA256/<64 hex>`.
    Sha256(String),
    /// `by-hash/SHA512/<128 hex>`.
    Sha512(String),
}

impl Digest {
    /// A hasher for this digest's algorithm.
    pub fn hasher(&self) -> Hasher {
        match self {
            Digest::Md5(_) => Hasher::Md5(<md5::Md5 as sha2::Digest>::new()),
            Digest::Sha256(_) => Hasher::Sha256(<sha2::Sha256 as sha2::Digest>::new()),
            Digest::Sha512(_) => Hasher::Sha512(<sha2::Sha512 as sha2::Digest>::new()),
        }
    }

    /// The expected digest, lowercase hex.
    pub fn expected(&self) -> &str {
        match self {
            Digest::Md5(hex) | Digest::Sha256(hex) | Digest::Sha512(hex) => hex,
        }
    }
}

/// A running hash of a body.
pub(crate) enum Hasher {
    Md5(md5::Md5),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher")
    }
}

impl Hasher {
    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest as _;
        match self {
            Hasher::Md5(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest, lowercase hex.
    pub fn finish(self) -> String {
        use sha2::Digest as _;
        let bytes = match self {
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        hex::encode(bytes)
    }
}

/// How a path is cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Class {
    /// Never changes: served from the cache forever. A by-hash file carries
    /// the digest its body must have before it is stored.
    Immutable(Option<Digest>),
    /// Changes when the archive is published: revalidated after a while.
    Volatile,
    /// Anything else: fetched, not cached.
    PassThrough,
}

/// The class of `relative`, the decoded path below a mirror's root.
pub(crate) fn classify(relative: &[Vec<u8>]) -> Class {
    let Some((name, dirs)) = relative.split_last() else {
        return Class::PassThrough;
    };
    let name = String::from_utf8_lossy(name);
    if let [.., by_hash, algorithm] = dirs {
        if by_hash == b"by-hash" {
            return by_hash_class(algorithm, &name);
        }
    }
    if dirs.first().is_some_and(|d| d == b"pool") {
        return Class::Immutable(None);
    }
    let in_diff = dirs.last().is_some_and(|d| d.ends_with(b".diff"));
    if in_diff {
        // pdiff patches have unique names; their Index changes (§2).
        return if name == "Index" {
            Class::Volatile
        } else {
            Class::Immutable(None)
        };
    }
    let base = strip_compression(&name);
    let volatile = matches!(base, "InRelease" | "Release" | "Release.gpg" | "Index")
        || base.starts_with("Packages")
        || base.starts_with("Sources")
        || base.starts_with("Translation-")
        || base.starts_with("Contents-")
        || base.starts_with("Components-")
        || base.starts_with("icons-");
    if volatile && dirs.first().is_some_and(|d| d == b"dists") {
        Class::Volatile
    } else {
        Class::PassThrough
    }
}

/// `by-hash/<algorithm>/<hex>`: immutable when the name is a digest this
/// cache can check; SHA1 and malformed names pass through.
fn by_hash_class(algorithm: &[u8], name: &str) -> Class {
    let (len, make): (usize, fn(String) -> Digest) = match algorithm {
        b"MD5Sum" => (32, Digest::Md5),
        b"SHA256" => (64, Digest::Sha256),
        b"SHA512" => (128, Digest::Sha512),
        _ => return Class::PassThrough,
    };
    if name.len() == len && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        Class::Immutable(Some(make(name.to_ascii_lowercase())))
    } else {
        Class::PassThrough
    }
}

/// `name` without one compression suffix.
fn strip_compression(name: &str) -> &str {
    [".gz", ".bz2", ".xz", ".lzma", ".zst"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn class(path: &str) -> Class {
        let segments: Vec<Vec<u8>> = path.split('/').map(|s| s.as_bytes().to_vec()).collect();
        classify(&segments)
    }

    #[test]
    fn classifies_archive_paths() {
        let sha = "a".repeat(64);
        for (path, want) in [
            (
                "pool/main/j/jq/jq_1.6-2.1_amd64.deb",
                Class::Immutable(None),
            ),
            ("pool/main/j/jq/jq_1.6.orig.tar.gz", Class::Immutable(None)),
            (
                &format!("dists/bookworm/main/binary-amd64/by-hash/SHA256/{sha}"),
                Class::Immutable(Some(Digest::Sha256(sha.clone()))),
            ),
            (
                "dists/bookworm/main/binary-amd64/by-hash/SHA1/abc",
                Class::PassThrough,
            ),
            (
                "dists/bookworm/main/binary-amd64/by-hash/SHA256/xyz",
                Class::PassThrough,
            ),
            ("dists/bookworm/InRelease", Class::Volatile),
            ("dists/bookworm/Release.gpg", Class::Volatile),
            (
                "dists/bookworm/main/binary-amd64/Packages.xz",
                Class::Volatile,
            ),
            ("dists/bookworm/main/source/Sources.gz", Class::Volatile),
            (
                "dists/bookworm/main/i18n/Translation-en.bz2",
                Class::Volatile,
            ),
            ("dists/bookworm/main/i18n/Index", Class::Volatile),
            ("dists/bookworm/main/Contents-amd64.gz", Class::Volatile),
            (
                "dists/bookworm/main/dep11/Components-amd64.yml.gz",
                Class::Volatile,
            ),
            (
                "dists/bookworm/main/binary-amd64/Packages.diff/Index",
                Class::Volatile,
            ),
            (
                "dists/bookworm/main/binary-amd64/Packages.diff/T-2024-x.gz",
                Class::Immutable(None),
            ),
            ("README", Class::PassThrough),
            ("dists/bookworm/ChangeLog", Class::PassThrough),
            ("ls-lR.gz", Class::PassThrough),
        ] {
            assert_eq!(class(path), want, "{path}");
        }
    }

    #[test]
    fn hashes_in_lowercase_hex() {
        let mut hasher = Digest::Sha256(String::new()).hasher();
        hasher.update(b"abc");
        assert_eq!(
            hasher.finish(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
