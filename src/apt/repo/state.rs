//! The published packages: the index cache of the generation `dists`
//! points at, one list of entries per (suite, component).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::{index_path, AptRepo, DEBUG, GENERATIONS};
use crate::apt::{AptError, Entry};

/// The packages of every suite and component.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Entries by (suite, component).
    pub indexes: BTreeMap<(String, String), Vec<Entry>>,
}

impl State {
    /// The pool files some suite lists.
    pub(super) fn filenames(&self) -> HashSet<&str> {
        self.indexes
            .values()
            .flatten()
            .map(|e| e.filename.as_str())
            .collect()
    }

    /// Pool files of `self` that `new` no longer lists anywhere.
    pub(super) fn dropped_in(&self, new: &State) -> Vec<String> {
        let live = new.filenames();
        self.indexes
            .values()
            .flatten()
            .map(|e| e.filename.as_str())
            .filter(|f| !live.contains(f))
            .map(str::to_owned)
            .collect()
    }
}

impl AptRepo {
    /// The generation `dists` points at.
    pub fn current_generation(&self) -> Result<Option<u64>, AptError> {
        let link = self.root.join("dists");
        match std::fs::read_link(&link) {
            Ok(target) => Ok(generation_of(&target)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(AptError::Io { path: link, source }),
        }
    }

    /// The directory of generation `generation` (`generations/<N>`).
    pub(crate) fn generation_dir(&self, generation: u64) -> PathBuf {
        self.root
            .join(GENERATIONS)
            .join(generation_name(generation))
    }

    /// The published packages (the index cache of the current generation).
    pub fn state(&self) -> Result<State, AptError> {
        let generation = self
            .current_generation()?
            .ok_or_else(|| AptError::NoGeneration {
                path: self.root.clone(),
            })?;
        let generation_dir = self.generation_dir(generation);
        let dir = generation_dir.join("index");
        let mut state = State::default();
        for suite in &self.settings.suites {
            for component in &self.settings.components {
                let path = dir.join(&suite.name).join(component);
                let text = std::fs::read_to_string(&path).map_err(|source| AptError::Io {
                    path: path.clone(),
                    source,
                })?;
                state.indexes.insert(
                    (suite.name.clone(), component.clone()),
                    Entry::parse_many(&text)?,
                );
                // Debug symbols are published only once there are some.
                let debug = format!("{component}/{DEBUG}");
                let path = index_path(&generation_dir, &suite.name, &debug);
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        let entries = Entry::parse_many(&text)?;
                        state.indexes.insert((suite.name.clone(), debug), entries);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => return Err(AptError::Io { path, source }),
                }
            }
        }
        Ok(state)
    }
}

/// A generation's directory name: its number, eight digits, so that names sort.
pub(super) fn generation_name(generation: u64) -> String {
    format!("{generation:08}")
}

/// The generation a `dists` link target (`generations/<N>/dists`) names.
fn generation_of(target: &Path) -> Option<u64> {
    target
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn entry(package: &str, file: &str) -> Entry {
        Entry::for_tests(package, "1", "all", file)
    }

    #[test]
    fn dropped_files_are_those_no_suite_lists() {
        let mut old = State::default();
        old.indexes.insert(
            ("stable".into(), "main".into()),
            vec![entry("aa", "a.deb"), entry("bb", "b.deb")],
        );
        old.indexes.insert(
            ("testing".into(), "main".into()),
            vec![entry("cc", "c.deb")],
        );
        let mut new = old.clone();
        // b leaves stable but testing gets it: still live. c goes entirely.
        new.indexes
            .insert(("stable".into(), "main".into()), vec![entry("aa", "a.deb")]);
        new.indexes.insert(
            ("testing".into(), "main".into()),
            vec![entry("bb", "b.deb")],
        );
        assert_eq!(old.dropped_in(&new), vec!["pool/main/c.deb".to_owned()]);
        assert_eq!(new.dropped_in(&new), Vec::<String>::new());
    }

    #[test]
    fn generation_names_round_trip_through_the_link() {
        let target = Path::new(GENERATIONS)
            .join(generation_name(42))
            .join("dists");
        assert_eq!(target, Path::new("generations/00000042/dists"));
        assert_eq!(generation_of(&target), Some(42));
        assert_eq!(generation_of(Path::new("elsewhere/dists")), None);
    }
}
