//! What a publish leaves behind, and when it goes: generations older than
//! the previous one at once; superseded by-hash files and pool files no
//! suite lists any more after the grace period (`by-hash-grace`, 24 h by
//! default), counted from the publish that dropped them (see
//! [`crate::apt::grace`], which decides both).

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{AptRepo, State, GENERATIONS, PRIVATE};
use crate::apt::fsutil;
use crate::apt::grace::{Step, Superseded};
use crate::apt::AptError;
use crate::fsutil::Durability;

/// The record of dropped pool files, in [`PRIVATE`].
const ORPHANS: &str = "orphans.json";

impl AptRepo {
    /// The grace period in seconds.
    pub(crate) fn grace(&self) -> i64 {
        i64::try_from(self.settings.by_hash_grace).unwrap_or(i64::MAX)
    }

    /// Every file in the given by-hash stores, relative to the repository.
    pub(super) fn by_hash_files(&self, stores: &[PathBuf]) -> BTreeSet<String> {
        let mut present = BTreeSet::new();
        for store in stores {
            for algo in ["SHA256", "SHA512"] {
                let Ok(entries) = std::fs::read_dir(store.join(algo)) else {
                    continue;
                };
                for entry in entries.flatten() {
                    if let Ok(rel) = entry.path().strip_prefix(&self.root) {
                        present.insert(rel.display().to_string());
                    }
                }
            }
        }
        present
    }

    /// Keeps the current and the previous generation; removes the rest
    /// (including leftovers of crashed runs).
    pub(super) fn collect_generations(&self, current: u64) -> Result<(), AptError> {
        let gen_dir = self.root.join(GENERATIONS);
        let entries = std::fs::read_dir(&gen_dir).map_err(|source| AptError::Io {
            path: gen_dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            if !keeps_generation(entry.file_name().to_str(), current) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        Ok(())
    }

    /// Pool files the new state no longer references are recorded with the
    /// time they were dropped and deleted once the grace period has passed,
    /// so a client holding the previous index can still download them.
    pub(super) fn collect_pool(
        &self,
        state: &State,
        dropped: &[String],
        now: i64,
    ) -> Result<(), AptError> {
        let path = self.root.join(PRIVATE).join(ORPHANS);
        let step = pool_step(
            &Superseded::load_map(&path),
            state,
            dropped,
            now,
            self.grace(),
        );
        for filename in &step.expired {
            let _ = std::fs::remove_file(self.root.join(filename));
        }
        fsutil::write_atomic(&path, &step.kept.map_json(), Durability::Synced)
    }
}

/// Whether the directory `name` of `generations/` stays after `current`
/// was published: only `current` and the one before it do.
fn keeps_generation(name: Option<&str>, current: u64) -> bool {
    name.and_then(|n| n.parse::<u64>().ok())
        .is_some_and(|n| n == current || n + 1 == current)
}

/// The next record of dropped pool files: those `dropped` now and those
/// recorded before, unless some suite lists them again; the ones dropped
/// `grace` seconds ago or earlier expire.
fn pool_step(record: &Superseded, state: &State, dropped: &[String], now: i64, grace: i64) -> Step {
    let candidates: BTreeSet<String> = record.since.keys().chain(dropped).cloned().collect();
    let listed = state.filenames();
    let live: BTreeSet<String> = candidates
        .iter()
        .filter(|f| listed.contains(f.as_str()))
        .cloned()
        .collect();
    record.advance(&live, &candidates, now, grace)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::apt::Entry;

    #[test]
    fn the_current_and_the_previous_generation_stay() {
        assert!(keeps_generation(Some("00000007"), 7));
        assert!(keeps_generation(Some("00000006"), 7));
        assert!(!keeps_generation(Some("00000005"), 7));
        assert!(!keeps_generation(Some("00000008"), 7), "a crashed run's");
        assert!(!keeps_generation(Some("junk"), 7));
        assert!(!keeps_generation(None, 7));
        assert!(keeps_generation(Some("00000001"), 1));
    }

    #[test]
    fn dropped_pool_files_go_after_the_grace_period_unless_listed_again() {
        let mut state = State::default();
        state.indexes.insert(
            ("stable".into(), "main".into()),
            vec![Entry::for_tests("ab", "1", "all", "a.deb")],
        );
        let mut record = Superseded::default();
        record.since.insert("pool/old.deb".into(), 100);
        record.since.insert("pool/recent.deb".into(), 150);
        // pool/a.deb was dropped once and is listed again: forgotten.
        record.since.insert("pool/main/a.deb".into(), 100);
        let step = pool_step(
            &record,
            &state,
            &["pool/new.deb".into(), "pool/main/a.deb".into()],
            200,
            100,
        );
        let mut kept = Superseded::default();
        kept.since.insert("pool/new.deb".into(), 200);
        kept.since.insert("pool/recent.deb".into(), 150);
        assert_eq!(step.kept, kept);
        assert_eq!(step.expired, vec!["pool/old.deb".to_owned()]);
    }
}
