//! What users do to a repository: add, remove, copy (promote), list, clone
//! and republish. Every change takes the writer lock, computes the new
//! [`State`] and ends in one publish.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::lock::lock_new;
use super::pool::{pool_file, pool_path, read_all, write_pool, PoolFile};
use super::publish::Signing;
use super::{AptRepo, State, DEBUG};
use crate::apt::entry::{Entry, Incoming};
use crate::apt::fsutil::{self, SyncBatch};
use crate::apt::{AptError, Settings};
use crate::sign::SigningKey;
use crate::version::DebVersion;

/// One line of `repo list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListItem {
    /// Suite.
    pub suite: String,
    /// Component.
    pub component: String,
    /// Package.
    pub package: String,
    /// Version.
    pub version: String,
    /// Architecture.
    pub architecture: String,
    /// Pool path.
    pub filename: String,
    /// Size.
    pub size: u64,
    /// SHA-256.
    pub sha256: String,
}

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOutcome {
    /// `name=version` newly in the target suite.
    pub copied: Vec<String>,
    /// `name=version` retention dropped from the target suite.
    pub pruned: Vec<String>,
    /// The generation published.
    pub generation: u64,
}

/// One package file, exactly: what [`AptRepo::copy_exact`] copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactFile {
    /// Package.
    pub package: String,
    /// Version, as written in the index.
    pub version: String,
    /// Architecture.
    pub architecture: String,
    /// SHA-256 of the .deb.
    pub sha256: String,
}

/// What `add` did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AddOutcome {
    /// `name=version` newly added.
    pub added: Vec<String>,
    /// Already present with identical bytes.
    pub unchanged: Vec<String>,
    /// Already published, with a damaged or missing pool file that this
    /// identical .deb restored.
    pub restored: Vec<String>,
    /// Pruned by the retention setting.
    pub pruned: Vec<String>,
    /// The generation published.
    pub generation: u64,
}

/// What a copy selects, with the label errors name it by.
type Pick<'a> = (String, Box<dyn Fn(&Entry) -> bool + 'a>);

/// Pool files to (re)write, each with the .deb it comes from.
type PoolWrites<'a> = Vec<(&'a PathBuf, PathBuf)>;

impl AptRepo {
    /// Validates every .deb first (a bad one leaves the repository
    /// untouched), pools them, and publishes.
    pub fn add(
        &self,
        debs: &[PathBuf],
        suite: Option<&str>,
        component: Option<&str>,
        key: &SigningKey,
    ) -> Result<AddOutcome, AptError> {
        self.add_read(debs, &read_all(debs)?, suite, component, key)
    }

    /// Reads and validates .debs (in parallel) and hashes them, for
    /// [`AptRepo::add_read`]: a caller that looks at them first reads each once.
    pub fn read_debs(debs: &[PathBuf]) -> Result<Vec<Incoming>, AptError> {
        read_all(debs)
    }

    /// [`AptRepo::add`] of .debs already read by [`AptRepo::read_debs`].
    pub fn add_read(
        &self,
        debs: &[PathBuf],
        incoming: &[Incoming],
        suite: Option<&str>,
        component: Option<&str>,
        key: &SigningKey,
    ) -> Result<AddOutcome, AptError> {
        let (_lock, this) = self.locked()?;
        this.add_locked(debs, incoming, suite, component, key)
    }

    /// [`AptRepo::add`] of .debs already read, under the lock.
    fn add_locked(
        &self,
        debs: &[PathBuf],
        incoming: &[Incoming],
        suite: Option<&str>,
        component: Option<&str>,
        key: &SigningKey,
    ) -> Result<AddOutcome, AptError> {
        let suite = self.suite_name(suite)?;
        let component = self.component_name(component)?;
        self.check_carried(incoming)?;
        let mut state = self.state()?;
        let mut outcome = AddOutcome::default();
        let (writes, new_entries) =
            self.plan_pool(&state, &component, debs, incoming, &mut outcome.restored)?;
        let mut batch = write_pool(&writes)?;
        let mut touched = BTreeSet::from([(suite.clone(), component.clone())]);
        for (entry, deb) in new_entries.into_iter().zip(incoming) {
            let key = (suite.clone(), index_component(&component, deb.is_debug()));
            let index = state.indexes.entry(key.clone()).or_default();
            touched.insert(key);
            if index.iter().any(|e| e.filename == entry.filename) {
                if !outcome.restored.contains(&entry.id()) {
                    outcome.unchanged.push(entry.id());
                }
                continue;
            }
            outcome.added.push(entry.id());
            index.push(entry);
        }
        let mut dropped = Vec::new();
        if self.settings.keep > 0 {
            for key in touched {
                let protected = newest_elsewhere(&state, &key.0);
                let index = state.indexes.entry(key).or_default();
                let pruned = prune(index, self.settings.keep as usize, &protected);
                outcome.pruned.extend(pruned.iter().map(Entry::id));
                dropped.extend(pruned.into_iter().map(|e| e.filename));
            }
        }
        if outcome.added.is_empty() && outcome.pruned.is_empty() {
            batch.commit()?;
            outcome.generation = self.current_generation()?.unwrap_or(0);
            return Ok(outcome);
        }
        outcome.generation = self.publish(&state, &dropped, key, batch)?;
        Ok(outcome)
    }

    /// Refuses a .deb for an architecture the repository does not carry.
    fn check_carried(&self, incoming: &[Incoming]) -> Result<(), AptError> {
        let Some(deb) = incoming
            .iter()
            .find(|deb| !self.settings.carries(deb.architecture()))
        else {
            return Ok(());
        };
        Err(AptError::WrongArchitecture {
            package: deb.file_name(),
            architecture: deb.architecture().to_owned(),
            carried: self
                .settings
                .architectures
                .iter()
                .map(String::as_str)
                .chain(["all"])
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The entries the .debs become in `component`, and the pool files to
    /// write for them: new ones, and damaged ones an identical .deb
    /// restores (named in `restored`). A pool name that holds other bytes
    /// is refused: a released version is immutable.
    fn plan_pool<'a>(
        &self,
        state: &State,
        component: &str,
        debs: &'a [PathBuf],
        incoming: &[Incoming],
        restored: &mut Vec<String>,
    ) -> Result<(PoolWrites<'a>, Vec<Entry>), AptError> {
        let pooled: HashMap<&str, &str> = state
            .indexes
            .values()
            .flatten()
            .map(|e| (e.filename.as_str(), e.sha256.as_str()))
            .collect();
        let mut writes: PoolWrites<'a> = Vec::new();
        let mut entries = Vec::new();
        for (path, deb) in debs.iter().zip(incoming) {
            let filename = pool_path(component, deb.source(), &deb.file_name());
            let target = self.root.join(&filename);
            let wanted = match pooled.get(filename.as_str()) {
                Some(sha) if *sha != deb.sha256 => {
                    return Err(AptError::DifferentBytes { filename })
                }
                // Published with these bytes: the pool file must hold them.
                Some(_) => match pool_file(&target, path, deb)? {
                    PoolFile::Same => false,
                    PoolFile::Missing | PoolFile::Truncated | PoolFile::Different => {
                        restored.push(deb.entry(&filename)?.id());
                        true
                    }
                },
                // Left by a run that did not publish (maybe cut short by a
                // power loss), or removed and in its grace period.
                None => match pool_file(&target, path, deb)? {
                    PoolFile::Same => false,
                    PoolFile::Missing | PoolFile::Truncated => true,
                    PoolFile::Different => return Err(AptError::DifferentBytes { filename }),
                },
            };
            if wanted && !writes.iter().any(|(_, t)| *t == target) {
                writes.push((path, target));
            }
            entries.push(deb.entry(&filename)?);
        }
        Ok((writes, entries))
    }

    /// Removes packages (`name` for every version, or `name=version`) from a suite.
    pub fn remove(
        &self,
        specs: &[String],
        suite: Option<&str>,
        key: &SigningKey,
    ) -> Result<(Vec<String>, u64), AptError> {
        let (_lock, this) = self.locked()?;
        this.remove_locked(specs, suite, key)
    }

    fn remove_locked(
        &self,
        specs: &[String],
        suite: Option<&str>,
        key: &SigningKey,
    ) -> Result<(Vec<String>, u64), AptError> {
        let suite = self.suite_name(suite)?;
        let old = self.state()?;
        let mut state = old.clone();
        let mut removed = Vec::new();
        for spec in specs {
            let before = removed.len();
            for ((s, _), entries) in state.indexes.iter_mut() {
                if *s != suite {
                    continue;
                }
                entries.retain(|e| {
                    let hit = matches(e, spec);
                    if hit {
                        removed.push(e.id());
                    }
                    !hit
                });
            }
            if removed.len() == before {
                return Err(AptError::NoMatch {
                    spec: spec.clone(),
                    suite: suite.clone(),
                });
            }
        }
        Ok((removed, self.publish_change(&old, &state, key)?))
    }

    /// Copies packages from one suite to another (promotion), keeping components.
    pub fn copy(
        &self,
        from: &str,
        to: &str,
        specs: &[String],
        key: &SigningKey,
    ) -> Result<CopyOutcome, AptError> {
        let picks: Vec<Pick<'_>> = specs
            .iter()
            .map(|spec| {
                let test: Box<dyn Fn(&Entry) -> bool> = Box::new(move |e| matches(e, spec));
                (spec.clone(), test)
            })
            .collect();
        let (_lock, this) = self.locked()?;
        this.copy_locked(from, to, &picks, key)
    }

    /// Copies exactly these package files (name, version, architecture and
    /// SHA-256 of each) from one suite to another, checked under the lock:
    /// a promotion copies the very files that were tested, and nothing of
    /// another architecture that happens to share the version.
    pub fn copy_exact(
        &self,
        from: &str,
        to: &str,
        files: &[ExactFile],
        key: &SigningKey,
    ) -> Result<CopyOutcome, AptError> {
        let picks: Vec<Pick<'_>> = files
            .iter()
            .map(|f| {
                let label = format!(
                    "{}={} ({}, sha256 {})",
                    f.package, f.version, f.architecture, f.sha256
                );
                let test: Box<dyn Fn(&Entry) -> bool> = Box::new(move |e| {
                    e.package == f.package
                        && e.version.to_string() == f.version
                        && e.architecture == f.architecture
                        && e.sha256 == f.sha256
                });
                (label, test)
            })
            .collect();
        let (_lock, this) = self.locked()?;
        this.copy_locked(from, to, &picks, key)
    }

    /// Copies what each pick selects (its label names it in errors); a pick
    /// that selects nothing is an error.
    fn copy_locked(
        &self,
        from: &str,
        to: &str,
        picks: &[Pick<'_>],
        key: &SigningKey,
    ) -> Result<CopyOutcome, AptError> {
        let from = self.suite_name(Some(from))?;
        let to = self.suite_name(Some(to))?;
        let old = self.state()?;
        let mut state = old.clone();
        let mut copied = Vec::new();
        let mut outcome = CopyOutcome::default();
        for (spec, pick) in picks {
            let mut found = false;
            // Each component's debug symbols (`<component>/debug`) travel too.
            let components = self
                .settings
                .components
                .iter()
                .flat_map(|c| [c.clone(), index_component(c, true)]);
            let protected = newest_elsewhere(&old, &to);
            for component in components {
                let picked: Vec<Entry> = old
                    .indexes
                    .get(&(from.clone(), component.clone()))
                    .into_iter()
                    .flatten()
                    .filter(|e| pick(e))
                    .cloned()
                    .collect();
                let target = state
                    .indexes
                    .entry((to.clone(), component.clone()))
                    .or_default();
                for entry in picked {
                    found = true;
                    if !target.iter().any(|e| e.filename == entry.filename) {
                        copied.push(entry.id());
                        target.push(entry);
                    }
                }
                if self.settings.keep > 0 {
                    let dropped = prune(target, self.settings.keep as usize, &protected);
                    outcome.pruned.extend(dropped.iter().map(Entry::id));
                }
            }
            if !found {
                return Err(AptError::NoMatch {
                    spec: spec.clone(),
                    suite: from.clone(),
                });
            }
        }
        outcome.copied = copied;
        // Per component and architecture: each version once.
        outcome.pruned.sort();
        outcome.pruned.dedup();
        outcome.generation = self.publish_change(&old, &state, key)?;
        Ok(outcome)
    }

    /// Every published package, optionally of one suite, sorted.
    pub fn list(&self, suite: Option<&str>) -> Result<Vec<ListItem>, AptError> {
        let only = suite.map(|s| self.suite_name(Some(s))).transpose()?;
        let state = self.state()?;
        let mut items: Vec<(ListItem, &Entry)> = Vec::new();
        for ((s, c), entries) in &state.indexes {
            if only.as_ref().is_some_and(|o| o != s) {
                continue;
            }
            for e in entries {
                items.push((
                    ListItem {
                        suite: s.clone(),
                        component: c.clone(),
                        package: e.package.clone(),
                        version: e.version.to_string(),
                        architecture: e.architecture.clone(),
                        filename: e.filename.clone(),
                        size: e.size,
                        sha256: e.sha256.clone(),
                    },
                    e,
                ));
            }
        }
        items.sort_by(|(a, ea), (b, eb)| {
            (&a.suite, &a.component, &a.package)
                .cmp(&(&b.suite, &b.component, &b.package))
                .then_with(|| eb.version.cmp(&ea.version))
                .then_with(|| a.architecture.cmp(&b.architecture))
        });
        Ok(items.into_iter().map(|(i, _)| i).collect())
    }

    /// A new repository at `dest` with this one's settings and packages
    /// (pool files hard-linked), signed by `key`.
    pub fn clone_into(&self, dest: &Path, key: &SigningKey) -> Result<AptRepo, AptError> {
        let (state, settings) = {
            let (_lock, this) = self.locked()?;
            (this.state()?, this.settings)
        };
        let settings = Settings {
            key: key.fingerprint(),
            ..settings
        };
        let clone_lock = lock_new(dest)?;
        let clone = Self::create(dest, settings, key, |clone, batch| {
            for entry in state.indexes.values().flatten() {
                fsutil::link_or_copy(
                    &self.root.join(&entry.filename),
                    &clone.root.join(&entry.filename),
                    batch,
                )?;
            }
            Ok(state)
        })?;
        drop(clone_lock);
        Ok(clone)
    }

    /// Makes sure the repository has the suites `suites` (a new suite is
    /// published empty, its codename its name) and, when `keep` is given,
    /// that retention; returns the repository as it is now. Nothing is
    /// published when both are already so. A pipeline calls this before
    /// its first publish into a staging or snapshots suite.
    pub fn ensure(
        &self,
        suites: &[String],
        keep: Option<u32>,
        key: &SigningKey,
    ) -> Result<AptRepo, AptError> {
        let (_lock, this) = self.locked()?;
        let mut settings = this.settings.clone();
        for name in suites {
            if settings.suite(name).is_none() {
                crate::apt::check_name("suite", name)?;
                settings.suites.push(crate::apt::Suite {
                    name: name.clone(),
                    codename: name.clone(),
                });
            }
        }
        if let Some(keep) = keep {
            settings.keep = keep;
        }
        if settings == this.settings {
            return Ok(this);
        }
        let state = this.state()?;
        let grown = AptRepo {
            root: this.root.clone(),
            settings,
        };
        grown.publish(&state, &[], key, SyncBatch::default())?;
        // After the publish: until this is saved, the new suite is unknown
        // and the next publish simply leaves it out again.
        grown
            .settings
            .save(&grown.root.join(super::PRIVATE).join(super::SETTINGS))?;
        Ok(grown)
    }

    /// Publishes the current state again (new Date, fresh signatures).
    pub fn republish(&self, key: &SigningKey) -> Result<u64, AptError> {
        let (_lock, this) = self.locked()?;
        let state = this.state()?;
        this.publish_signed(&state, &[], key, SyncBatch::default(), Signing::Fresh)
    }

    /// Publishes `state`, changed from `old` by removing or copying entries
    /// (no new pool files), as the next generation. The caller holds the lock.
    fn publish_change(
        &self,
        old: &State,
        state: &State,
        key: &SigningKey,
    ) -> Result<u64, AptError> {
        self.publish(state, &old.dropped_in(state), key, SyncBatch::default())
    }
}

/// `name` matches every version; `name=version` one version (all architectures).
/// The index a package goes to: `component`, or `component/debug` for
/// debug symbols (`.ddeb`), pooled under the same component.
pub(crate) fn index_component(component: &str, debug: bool) -> String {
    if debug {
        format!("{component}/{DEBUG}")
    } else {
        component.to_owned()
    }
}

fn matches(entry: &Entry, spec: &str) -> bool {
    match spec.split_once('=') {
        Some((name, version)) => {
            entry.package == name && DebVersion::parse(version).is_ok_and(|v| v == entry.version)
        }
        None => entry.package == spec,
    }
}

/// A version of a package for one architecture.
type Versioned = (String, String, DebVersion);

/// The newest version of each (package, architecture) in every suite but
/// `suite`: retention in `suite` never drops what another suite currently
/// offers (the release a staging suite's upgrade test starts from).
fn newest_elsewhere(state: &State, suite: &str) -> std::collections::HashSet<Versioned> {
    let mut newest: HashMap<(&str, &str, &str), &DebVersion> = HashMap::new();
    for ((s, _), entries) in &state.indexes {
        if s == suite {
            continue;
        }
        for e in entries {
            let slot = newest
                .entry((s.as_str(), e.package.as_str(), e.architecture.as_str()))
                .or_insert(&e.version);
            if e.version > **slot {
                *slot = &e.version;
            }
        }
    }
    newest
        .into_iter()
        .map(|((_, p, a), v)| (p.to_owned(), a.to_owned(), v.clone()))
        .collect()
}

/// Keeps the newest `keep` versions of each (package, architecture), and
/// the versions in `protected`; returns what was dropped.
fn prune(
    entries: &mut Vec<Entry>,
    keep: usize,
    protected: &std::collections::HashSet<Versioned>,
) -> Vec<Entry> {
    let mut groups: HashMap<(String, String), Vec<DebVersion>> = HashMap::new();
    for e in entries.iter() {
        groups
            .entry((e.package.clone(), e.architecture.clone()))
            .or_default()
            .push(e.version.clone());
    }
    let mut cut: HashMap<(String, String), DebVersion> = HashMap::new();
    for (key, mut versions) in groups {
        versions.sort();
        versions.dedup();
        if versions.len() > keep {
            cut.insert(key, versions[versions.len() - keep].clone());
        }
    }
    let (kept, dropped): (Vec<Entry>, Vec<Entry>) =
        std::mem::take(entries).into_iter().partition(|e| {
            cut.get(&(e.package.clone(), e.architecture.clone()))
                .is_none_or(|v| e.version >= *v)
                || protected.contains(&(
                    e.package.clone(),
                    e.architecture.clone(),
                    e.version.clone(),
                ))
        });
    *entries = kept;
    dropped
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn entry(package: &str, version: &str, arch: &str) -> Entry {
        Entry::for_tests(
            package,
            version,
            arch,
            &format!("{package}_{version}_{arch}.deb"),
        )
    }

    #[test]
    fn pruning_keeps_the_newest_versions_per_package_and_architecture() {
        let mut entries = vec![
            entry("ab", "1.0", "amd64"),
            entry("ab", "1.10", "amd64"),
            entry("ab", "1.9", "amd64"),
            entry("ab", "1.0", "arm64"),
            entry("bc", "2", "all"),
        ];
        let dropped = prune(&mut entries, 2, &Default::default());
        let ids = |list: &[Entry]| -> Vec<String> {
            list.iter()
                .map(|e| format!("{}={}/{}", e.package, e.version, e.architecture))
                .collect()
        };
        assert_eq!(ids(&dropped), ["ab=1.0/amd64"]);
        assert_eq!(
            ids(&entries),
            ["ab=1.10/amd64", "ab=1.9/amd64", "ab=1.0/arm64", "bc=2/all"]
        );
    }

    #[test]
    fn pruning_never_drops_what_another_suite_currently_offers() {
        let mut staging = vec![
            entry("ab", "1.0", "amd64"),
            entry("ab", "1.1", "amd64"),
            entry("ab", "1.2", "amd64"),
        ];
        let mut state = State::default();
        state.indexes.insert(
            ("stable".into(), "main".into()),
            vec![entry("ab", "0.9", "amd64"), entry("ab", "1.0", "amd64")],
        );
        state
            .indexes
            .insert(("staging".into(), "main".into()), staging.clone());
        let protected = newest_elsewhere(&state, "staging");
        assert_eq!(
            protected,
            [(
                "ab".to_owned(),
                "amd64".to_owned(),
                DebVersion::parse("1.0").expect("v")
            )]
            .into_iter()
            .collect()
        );
        let dropped = prune(&mut staging, 1, &protected);
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].version.to_string(), "1.1");
        let kept: Vec<String> = staging.iter().map(|e| e.version.to_string()).collect();
        assert_eq!(kept, ["1.0", "1.2"]);
    }

    #[test]
    fn specs_name_a_package_or_one_version() {
        let e = entry("hello", "1:1.0-1", "amd64");
        assert!(matches(&e, "hello"));
        assert!(matches(&e, "hello=1:1.0-1"));
        assert!(!matches(&e, "hello=1.0-1"));
        assert!(!matches(&e, "hell"));
        assert!(!matches(&e, "hello=not a version"));
    }
}
