//! The mirror's own record, `.buildkit/manifest.json` in the bucket: what
//! every object it holds contains (by digest), which objects no longer
//! belong and since when, which pool files its indexes list, and who pushed
//! it. It is written last by a push, with `If-Match` on the version that
//! push read (or `If-None-Match` when there was none), so two pushes can
//! never both commit; checkpoints during a long upload write it the same
//! way, so an interrupted push resumes where it stopped.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Where the manifest lives, relative to the mirror's prefix.
pub const MANIFEST: &str = ".buildkit/manifest.json";

/// The format this code writes; a newer one is refused rather than misread.
const FORMAT: u32 = 1;

/// The largest manifest read (about 600,000 objects).
pub const MAX_BYTES: u64 = 64 << 20;

/// The id of an object found by listing the bucket, content unknown.
pub const LISTED: &str = "listed";

/// Whether `key` is one a push writes: under `dists/`, `pool/` or
/// `releases/`, or a file at the top (the public key), never in
/// `.buildkit/` and never with an empty, `.` or `..` segment. A manifest
/// naming anything else is damaged (or hostile): a push would otherwise
/// delete it as superseded.
pub fn valid_key(key: &str) -> bool {
    let segments: Vec<&str> = key.split('/').collect();
    let shape = match segments.as_slice() {
        [top] => !top.starts_with('.'),
        [first, ..] => matches!(*first, "dists" | "pool" | "releases"),
        [] => false,
    };
    shape
        && segments
            .iter()
            .all(|s| !s.is_empty() && *s != "." && *s != ".." && !s.chars().any(char::is_control))
}

/// Whether `id` is `sha256:<64 hex>`, `sha512:<128 hex>` or [`LISTED`].
fn valid_id(id: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    match id.split_once(':') {
        Some(("sha256", digest)) => hex(digest, 64),
        Some(("sha512", digest)) => hex(digest, 128),
        _ => id == LISTED,
    }
}

/// The record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// Commits so far (checkpoints included).
    pub serial: u64,
    /// The repository that pushed last (its mirror id).
    pub pushed_by: String,
    /// That repository's generation the last complete push mirrored.
    pub generation: u64,
    /// When (Unix time).
    pub pushed_at: i64,
    /// Whether the last commit was a finished push (not a checkpoint).
    pub complete: bool,
    /// Every object, relative to the prefix → `sha256:HEX` or `sha512:HEX`.
    pub objects: BTreeMap<String, String>,
    /// Objects no client needs any more → when they stopped being needed;
    /// deleted once the grace period has passed.
    pub superseded: BTreeMap<String, i64>,
    /// The pool files the mirror's indexes list, after the last complete push.
    pub packages: BTreeSet<String>,
}

impl Manifest {
    /// An empty record for a first push.
    pub fn new() -> Self {
        Manifest {
            format: FORMAT,
            ..Manifest::default()
        }
    }

    /// Parses the bytes read from the bucket.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if manifest.format != FORMAT {
            return Err(format!(
                "format {} (this git-buildkit reads format {FORMAT})",
                manifest.format
            ));
        }
        let keys = manifest
            .objects
            .keys()
            .chain(manifest.superseded.keys())
            .chain(manifest.packages.iter());
        if let Some(bad) = keys.into_iter().find(|k| !valid_key(k)) {
            return Err(format!("it names {bad:?}, which no push writes"));
        }
        if let Some((key, _)) = manifest.objects.iter().find(|(_, id)| !valid_id(id)) {
            return Err(format!("the digest of {key:?} is not one"));
        }
        Ok(manifest)
    }

    /// The bytes to write.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("maps of strings and integers serialise")
    }

    /// Whether the mirror holds `key` with content `id` and still serves it.
    pub fn holds(&self, key: &str, id: &str) -> bool {
        self.objects.get(key).is_some_and(|have| have == id) && !self.superseded.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_formats() {
        let mut m = Manifest::new();
        m.objects.insert(
            "pool/a.deb".into(),
            "sha256:0000000000000000000000000000000000000000000000000000000000000000".into(),
        );
        m.superseded.insert("dists/x/by-hash/SHA256/11".into(), 5);
        m.objects.insert(
            "dists/x/by-hash/SHA256/11".into(),
            "sha256:1111111111111111111111111111111111111111111111111111111111111111".into(),
        );
        let back = Manifest::parse(&m.to_bytes()).expect("parses");
        assert_eq!(back, m);
        assert!(back.holds(
            "pool/a.deb",
            "sha256:0000000000000000000000000000000000000000000000000000000000000000"
        ));
        assert!(!back.holds(
            "pool/a.deb",
            "sha256:0000000000000000000000000000000000000000000000000000000000000001"
        ));
        assert!(
            !back.holds(
                "dists/x/by-hash/SHA256/11",
                "sha256:1111111111111111111111111111111111111111111111111111111111111111"
            ),
            "superseded"
        );
        let newer = String::from_utf8(m.to_bytes())
            .expect("utf-8")
            .replace("\"format\":1", "\"format\":2");
        assert!(Manifest::parse(newer.as_bytes())
            .expect_err("newer")
            .contains("format 2"));
        assert!(
            Manifest::parse(b"{\"format\":1}").is_err(),
            "fields missing"
        );
        assert!(Manifest::parse(b"not json").is_err());
        for hostile in [
            "../x",
            "other/dists/stable/InRelease",
            ".buildkit/lease.json",
            "dists//x",
            "dists/./x",
            "pool/a/../../b",
            "",
        ] {
            let mut m = Manifest::new();
            m.superseded.insert(hostile.to_owned(), 0);
            let e = Manifest::parse(&m.to_bytes()).expect_err(hostile);
            assert!(e.contains("no push writes"), "{hostile}: {e}");
        }
        let mut m = Manifest::new();
        m.objects.insert("pool/a.deb".into(), "sha256:zz".into());
        assert!(Manifest::parse(&m.to_bytes())
            .expect_err("id")
            .contains("digest"));
        for fine in [
            "key.gpg",
            "dists/stable/InRelease",
            "pool/main/h/hello/hello_1.0 b1_all.deb",
            "releases/hello/1.0/SHA256SUMS",
        ] {
            assert!(valid_key(fine), "{fine}");
        }
    }
}
