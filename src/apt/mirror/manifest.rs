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
    /// When the last push finished replacing files in place (Unix time in
    /// milliseconds, the pusher's clock): the next one waits until a second
    /// has passed, because S3 dates objects to the second and answers a
    /// client's `If-Modified-Since` in the same second with 304 — apt would
    /// keep the old `InRelease`.
    #[serde(default)]
    pub replaced_at_ms: i64,
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
        m.objects.insert("pool/a.deb".into(), "sha256:00".into());
        m.superseded.insert("dists/x/by-hash/SHA256/11".into(), 5);
        m.objects
            .insert("dists/x/by-hash/SHA256/11".into(), "sha256:11".into());
        let back = Manifest::parse(&m.to_bytes()).expect("parses");
        assert_eq!(back, m);
        assert!(back.holds("pool/a.deb", "sha256:00"));
        assert!(!back.holds("pool/a.deb", "sha256:01"));
        assert!(
            !back.holds("dists/x/by-hash/SHA256/11", "sha256:11"),
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
    }
}
