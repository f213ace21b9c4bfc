//! When each by-hash file stopped being current, so that its grace period
//! (24 h by default) is counted from the publish that replaced it.
//!
//! A file's mtime says when it was *created*: in a repository that sat idle
//! for a day, the index every client is downloading is already a day old,
//! and deleting by mtime would remove it the moment the next publish
//! replaces it — in the middle of some client's `apt-get update` (Debian's
//! archive keeps superseded indexes by the time they were superseded, see
//! <https://wiki.debian.org/DebianRepository/Format#indices_acquisition_via_hashsums_.28by-hash.29>).
//!
//! The record lives in each generation (`generations/<N>/superseded.json`)
//! and is written with it, before the switch, so it is exactly as current
//! as the `dists` the clients see.
//!
//! Pool files that no suite lists any more get the same grace, decided by
//! the same [`Superseded::advance`]; their record is `.buildkit/orphans.json`
//! (see `repo/gc.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// File name of the record inside a generation directory.
pub const FILE: &str = "superseded.json";

/// By-hash files that are no longer current, with the Unix time at which
/// they stopped being current; keys are paths relative to the repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Superseded {
    /// Path → time it stopped being current.
    pub since: BTreeMap<String, i64>,
}

/// What a publish does with the by-hash store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The record the new generation carries.
    pub kept: Superseded,
    /// Files whose grace period is over: deleted once the new generation is current.
    pub expired: Vec<String>,
}

impl Superseded {
    /// Reads a generation's record; a missing or damaged one is empty, which
    /// only makes files live longer (each unknown file's grace starts now).
    pub fn load(generation_dir: &Path) -> Self {
        std::fs::read(generation_dir.join(FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// The record's bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a map of names to integers serialises")
    }

    /// Reads a record kept as a bare map of names to times in the file at
    /// `path` (the pool's `.buildkit/orphans.json`, whose format predates
    /// this type); a missing or damaged one is empty, as for [`Self::load`].
    pub fn load_map(path: &Path) -> Self {
        let since = std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self { since }
    }

    /// The bytes of a record kept as a bare map (see [`Self::load_map`]).
    pub fn map_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&self.since).expect("a map of names to integers serialises")
    }

    /// The next generation's record: of the files `present` in the store,
    /// those not `live` keep the time they were superseded, or get `now`
    /// when this record does not know them (they were current until now, or
    /// were left by a run that never published); those superseded `grace`
    /// seconds ago or earlier expire.
    pub fn advance(
        &self,
        live: &BTreeSet<String>,
        present: &BTreeSet<String>,
        now: i64,
        grace: i64,
    ) -> Step {
        let mut kept = Superseded::default();
        let mut expired = Vec::new();
        for path in present.difference(live) {
            let since = self.since.get(path).copied().unwrap_or(now);
            if now.saturating_sub(since) >= grace {
                expired.push(path.clone());
            } else {
                kept.since.insert(path.clone(), since);
            }
        }
        Step { kept, expired }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn grace_starts_when_a_file_stops_being_current() {
        const DAY: i64 = 24 * 3600;
        // Generation 1 made "a" long ago; the repository sat idle for days.
        let empty = Superseded::default();
        let step = empty.advance(&set(&["a"]), &set(&["a"]), 10 * DAY, DAY);
        assert_eq!(step.kept, Superseded::default());
        assert_eq!(step.expired, Vec::<String>::new());
        // Generation 2 replaces "a" by "b": "a" stays for a whole day from now.
        let at = 10 * DAY + 5;
        let step2 = step.kept.advance(&set(&["b"]), &set(&["a", "b"]), at, DAY);
        let mut want = Superseded::default();
        want.since.insert("a".into(), at);
        assert_eq!(step2.kept, want);
        assert!(step2.expired.is_empty());
        // One second before the day is over it is still there ...
        let step3 = step2
            .kept
            .advance(&set(&["c"]), &set(&["a", "b", "c"]), at + DAY - 1, DAY);
        let mut want = Superseded::default();
        want.since.insert("a".into(), at);
        want.since.insert("b".into(), at + DAY - 1);
        assert_eq!(step3.kept, want);
        assert!(step3.expired.is_empty());
        // ... and a day after it was replaced, it goes.
        let step4 = step3
            .kept
            .advance(&set(&["c"]), &set(&["a", "b", "c"]), at + DAY, DAY);
        let mut want = Superseded::default();
        want.since.insert("b".into(), at + DAY - 1);
        assert_eq!(step4.kept, want);
        assert_eq!(step4.expired, vec!["a".to_owned()]);
        // A file that becomes current again forgets its old time.
        let step5 = step4
            .kept
            .advance(&set(&["b"]), &set(&["b", "c"]), at + DAY + 1, DAY);
        let mut want = Superseded::default();
        want.since.insert("c".into(), at + DAY + 1);
        assert_eq!(step5.kept, want);
    }

    #[test]
    fn a_missing_or_damaged_record_is_empty() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_eq!(Superseded::load(dir.path()), Superseded::default());
        std::fs::write(dir.path().join(FILE), b"{not json").expect("write");
        assert_eq!(Superseded::load(dir.path()), Superseded::default());
        let mut record = Superseded::default();
        record.since.insert("by-hash/x".into(), 7);
        std::fs::write(dir.path().join(FILE), record.to_json()).expect("write");
        assert_eq!(Superseded::load(dir.path()), record);
    }
}
