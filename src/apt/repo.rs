//! Repository operations: init, add, remove, copy, list, clone, and the
//! atomic publish they all end with. Every writer holds `.buildkit/lock`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use super::entry::{Entry, Incoming};
use super::fsutil::SyncBatch;
use super::grace::Superseded;
use super::release::{IndexFile, Release};
use super::segments::{bucket_count, bucket_of, SegmentCache};
use super::settings::{check_name, Settings, Suite};
use super::{fsutil, AptError};
use crate::fsutil::Durability;
use crate::sign::SigningKey;

/// Settings, lock and caches: never served.
const PRIVATE: &str = ".buildkit";
/// Published generations (`<N>/dists` and `<N>/index`); `dists` links into one.
const GENERATIONS: &str = "generations";
/// Content-addressed index files, shared by the generations' by-hash links.
const BY_HASH: &str = "by-hash";
/// The settings file, in [`PRIVATE`]; its presence makes a directory a repository.
const SETTINGS: &str = "repo.toml";

/// What `repo init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// `Origin:`.
    pub origin: String,
    /// `Label:`.
    pub label: String,
    /// `Description:`.
    pub description: String,
    /// Suite names (the first is the default).
    pub suites: Vec<String>,
    /// Codename of the first suite (default: its name).
    pub codename: Option<String>,
    /// Components.
    pub components: Vec<String>,
    /// Binary architectures.
    pub architectures: Vec<String>,
    /// Versions kept per package (0: all).
    pub keep: u32,
}

/// The packages of every suite and component.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Entries by (suite, component).
    pub indexes: BTreeMap<(String, String), Vec<Entry>>,
}

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

/// An exclusive lock on the repository, released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// An open repository.
#[derive(Debug, Clone)]
pub struct AptRepo {
    root: PathBuf,
    settings: Settings,
}

impl AptRepo {
    /// Creates a repository at `root` (absent or empty), signed by `key`, and publishes it empty.
    pub fn init(root: &Path, options: &InitOptions, key: &SigningKey) -> Result<Self, AptError> {
        let settings = settings_for(options, key)?;
        let _lock = lock_new(root)?;
        Self::create(root, settings, key, |_, _| Ok(State::default()))
    }

    /// Opens the repository at `root`, or creates it as [`AptRepo::init`]
    /// does when there is none; `true` when it was created. Both happen
    /// under the writer lock, so concurrent first publishes into a new
    /// directory (several tags pushed at once) create it once and all land.
    pub fn open_or_init(
        root: &Path,
        options: &InitOptions,
        key: &SigningKey,
    ) -> Result<(Self, bool), AptError> {
        match Self::open(root) {
            Err(AptError::NotARepo { .. }) => {}
            opened => return opened.map(|repo| (repo, false)),
        }
        let settings = settings_for(options, key)?;
        let _lock = lock_new(root)?;
        match Self::open(root) {
            Err(AptError::NotARepo { .. }) => {}
            opened => return opened.map(|repo| (repo, false)),
        }
        Self::create(root, settings, key, |_, _| Ok(State::default())).map(|repo| (repo, true))
    }

    /// A new repository at `root` (absent, empty, or left by an interrupted
    /// init), holding the lock: the directories, the public key, the pool
    /// files `fill` puts there and the first generation, then the settings
    /// LAST — `repo.toml` is what makes it a repository, so a crash before
    /// it leaves a directory that the next init simply completes.
    fn create(
        root: &Path,
        settings: Settings,
        key: &SigningKey,
        fill: impl FnOnce(&Self, &mut SyncBatch) -> Result<State, AptError>,
    ) -> Result<Self, AptError> {
        check_fresh(root)?;
        let mut batch = SyncBatch::default();
        for dir in [PRIVATE, GENERATIONS, "pool"] {
            fsutil::create_dirs(&root.join(dir), &mut batch)?;
        }
        let repo = Self {
            root: root.to_owned(),
            settings,
        };
        repo.write_public_key(key)?;
        let state = fill(&repo, &mut batch)?;
        repo.publish(&state, &[], key, batch)?;
        repo.settings.save(&root.join(PRIVATE).join(SETTINGS))?;
        Ok(repo)
    }

    /// Opens the repository at `root`.
    pub fn open(root: &Path) -> Result<Self, AptError> {
        let path = root.join(PRIVATE).join(SETTINGS);
        if !path.is_file() {
            return Err(AptError::NotARepo {
                path: root.to_owned(),
            });
        }
        Ok(Self {
            root: root.to_owned(),
            settings: Settings::load(&path)?,
        })
    }

    /// The repository directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Waits for and takes the repository's writer lock.
    pub fn lock(&self) -> Result<Lock, AptError> {
        lock_file(&self.root.join(PRIVATE).join("lock"))
    }

    /// The public key files served beside `dists/`.
    fn write_public_key(&self, key: &SigningKey) -> Result<(), AptError> {
        let binary = key.public_binary()?;
        let armored = key.public_armored()?;
        fsutil::write_atomic(&self.root.join("key.gpg"), &binary, Durability::Synced)?;
        fsutil::write_atomic(&self.root.join("key.asc"), &armored, Durability::Synced)?;
        fsutil::write_atomic(
            &self.root.join("packages_public.key"),
            &armored,
            Durability::Synced,
        )
    }

    /// The generation `dists` points at.
    pub fn current_generation(&self) -> Result<Option<u64>, AptError> {
        let link = self.root.join("dists");
        match std::fs::read_link(&link) {
            Ok(target) => Ok(target
                .parent()
                .and_then(Path::file_name)
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse().ok())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(AptError::Io { path: link, source }),
        }
    }

    fn generation_dir(&self, generation: u64) -> PathBuf {
        self.root.join(GENERATIONS).join(format!("{generation:08}"))
    }

    /// The published packages (the index cache of the current generation).
    pub fn state(&self) -> Result<State, AptError> {
        let generation = self
            .current_generation()?
            .ok_or_else(|| AptError::NoGeneration {
                path: self.root.clone(),
            })?;
        let dir = self.generation_dir(generation).join("index");
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
            }
        }
        Ok(state)
    }

    fn suite_name(&self, suite: Option<&str>) -> Result<String, AptError> {
        let name = suite.unwrap_or(self.settings.default_suite());
        self.settings
            .suite(name)
            .map(|s| s.name.clone())
            .ok_or_else(|| AptError::UnknownSuite {
                suite: name.to_owned(),
                known: self
                    .settings
                    .suites
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn component_name(&self, component: Option<&str>) -> Result<String, AptError> {
        let name = component.unwrap_or(self.settings.default_component());
        if self.settings.components.iter().any(|c| c == name) {
            Ok(name.to_owned())
        } else {
            Err(AptError::UnknownComponent {
                component: name.to_owned(),
                known: self.settings.components.join(", "),
            })
        }
    }

    /// Validates every .deb first (a bad one leaves the repository
    /// untouched), pools them, and publishes.
    pub fn add(
        &self,
        debs: &[PathBuf],
        suite: Option<&str>,
        component: Option<&str>,
        key: &SigningKey,
    ) -> Result<AddOutcome, AptError> {
        let suite = self.suite_name(suite)?;
        let component = self.component_name(component)?;
        let incoming = read_all(debs)?;
        for deb in &incoming {
            if !self.settings.carries(deb.architecture()) {
                return Err(AptError::WrongArchitecture {
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
                });
            }
        }
        let _lock = self.lock()?;
        let mut state = self.state()?;
        let pooled: HashMap<String, String> = state
            .indexes
            .values()
            .flatten()
            .map(|e| (e.filename.clone(), e.sha256.clone()))
            .collect();
        let mut outcome = AddOutcome::default();
        let mut dropped = Vec::new();
        let mut new_entries = Vec::new();
        // Pool files to (re)write: new ones, and damaged ones this .deb restores.
        let mut writes: Vec<(&PathBuf, PathBuf)> = Vec::new();
        for (path, deb) in debs.iter().zip(&incoming) {
            let filename = pool_path(&component, deb.source(), &deb.file_name());
            let target = self.root.join(&filename);
            let wanted = match pooled.get(filename.as_str()) {
                Some(sha) if *sha != deb.sha256 => {
                    return Err(AptError::DifferentBytes { filename })
                }
                // Published with these bytes: the pool file must hold them.
                Some(_) => match pool_file(&target, path, deb)? {
                    PoolFile::Same => false,
                    PoolFile::Missing | PoolFile::Truncated | PoolFile::Different => {
                        outcome.restored.push(deb.entry(&filename)?.id());
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
            new_entries.push(deb.entry(&filename)?);
        }
        let batch = write_pool(&writes)?;
        let index = state
            .indexes
            .entry((suite.clone(), component.clone()))
            .or_default();
        for entry in new_entries {
            if index.iter().any(|e| e.filename == entry.filename) {
                if !outcome.restored.contains(&entry.id()) {
                    outcome.unchanged.push(entry.id());
                }
                continue;
            }
            outcome.added.push(entry.id());
            index.push(entry);
        }
        if self.settings.keep > 0 {
            let pruned = prune(index, self.settings.keep as usize);
            outcome.pruned = pruned.iter().map(Entry::id).collect();
            dropped.extend(pruned.into_iter().map(|e| e.filename));
        }
        if outcome.added.is_empty() && outcome.pruned.is_empty() {
            let mut batch = batch;
            batch.commit()?;
            outcome.generation = self.current_generation()?.unwrap_or(0);
            return Ok(outcome);
        }
        outcome.generation = self.publish(&state, &dropped, key, batch)?;
        Ok(outcome)
    }

    /// Removes packages (`name` for every version, or `name=version`) from a suite.
    pub fn remove(
        &self,
        specs: &[String],
        suite: Option<&str>,
        key: &SigningKey,
    ) -> Result<(Vec<String>, u64), AptError> {
        let suite = self.suite_name(suite)?;
        let _lock = self.lock()?;
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
    ) -> Result<(Vec<String>, u64), AptError> {
        let from = self.suite_name(Some(from))?;
        let to = self.suite_name(Some(to))?;
        let _lock = self.lock()?;
        let old = self.state()?;
        let mut state = old.clone();
        let mut copied = Vec::new();
        for spec in specs {
            let mut found = false;
            for component in &self.settings.components {
                let picked: Vec<Entry> = old
                    .indexes
                    .get(&(from.clone(), component.clone()))
                    .into_iter()
                    .flatten()
                    .filter(|e| matches(e, spec))
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
                    let _ = prune(target, self.settings.keep as usize);
                }
            }
            if !found {
                return Err(AptError::NoMatch {
                    spec: spec.clone(),
                    suite: from.clone(),
                });
            }
        }
        Ok((copied, self.publish_change(&old, &state, key)?))
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
        let state = {
            let _lock = self.lock()?;
            self.state()?
        };
        let settings = Settings {
            key: key.fingerprint(),
            ..self.settings.clone()
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

    /// Publishes the current state again (new Date, fresh signatures).
    pub fn republish(&self, key: &SigningKey) -> Result<u64, AptError> {
        let _lock = self.lock()?;
        let state = self.state()?;
        self.publish(&state, &[], key, SyncBatch::default())
    }

    /// Publishes `state`, changed from `old` by removing or copying entries
    /// (no new pool files), as the next generation. The caller holds the lock.
    fn publish_change(
        &self,
        old: &State,
        state: &State,
        key: &SigningKey,
    ) -> Result<u64, AptError> {
        self.publish(state, &dropped_files(old, state), key, SyncBatch::default())
    }

    /// Writes generation N+1 for `state` and switches `dists` to it. The
    /// caller holds the lock. `dropped` names pool files the change may have
    /// left unreferenced; they are deleted after the grace period. `batch`
    /// holds what the caller wrote for this publish (pool files): it is
    /// synced with the generation, before the switch; the switch itself is
    /// synced before this returns.
    pub(crate) fn publish(
        &self,
        state: &State,
        dropped: &[String],
        key: &SigningKey,
        mut batch: SyncBatch,
    ) -> Result<u64, AptError> {
        let previous = self.current_generation()?;
        let generation = previous.map_or(1, |g| g + 1);
        let dir = self.generation_dir(generation);
        if dir.exists() {
            // A run that crashed before switching left it: it was never served.
            std::fs::remove_dir_all(&dir).map_err(|source| AptError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        let cache_path = self.root.join(PRIVATE).join("segments.cache");
        let cache = SegmentCache::load(&cache_path);
        let mut used = SegmentCache::default();
        let now = now();
        let mut suites_written = Vec::new();
        let mut live: BTreeSet<String> = BTreeSet::new();
        let mut stores: Vec<PathBuf> = Vec::new();
        for suite in &self.settings.suites {
            let mut files = Vec::new();
            for component in &self.settings.components {
                let empty = Vec::new();
                let entries = state
                    .indexes
                    .get(&(suite.name.clone(), component.clone()))
                    .unwrap_or(&empty);
                let mut sorted: Vec<&Entry> = entries.iter().collect();
                sorted.sort_by(|a, b| {
                    (&a.package, &a.version, &a.architecture).cmp(&(
                        &b.package,
                        &b.version,
                        &b.architecture,
                    ))
                });
                let index_text: String = sorted.iter().map(|e| format!("{}\n", e.text)).collect();
                fsutil::write_new(
                    &dir.join("index").join(&suite.name).join(component),
                    index_text.as_bytes(),
                    &mut batch,
                )?;
                for arch in &self.settings.architectures {
                    let chosen: Vec<&Entry> = sorted
                        .iter()
                        .copied()
                        .filter(|e| e.architecture == *arch || e.architecture == "all")
                        .collect();
                    let buckets = bucket_count(chosen.len());
                    let mut texts = vec![String::new(); buckets];
                    for entry in chosen {
                        let bucket = &mut texts[bucket_of(&entry.package, buckets)];
                        bucket.push_str(&entry.text);
                        bucket.push('\n');
                    }
                    let index = cache.build(&texts, &mut used)?;
                    let rel = format!("{component}/binary-{arch}");
                    let out = dir.join("dists").join(&suite.name).join(&rel);
                    let store_rel = format!("{BY_HASH}/{}/{rel}", suite.name);
                    let store = self.root.join(&store_rel);
                    for (name, bytes) in [
                        ("Packages", &index.text),
                        ("Packages.gz", &index.gz),
                        ("Packages.xz", &index.xz),
                    ] {
                        let file = IndexFile::new(format!("{rel}/{name}"), bytes);
                        fsutil::write_new(&out.join(name), bytes, &mut batch)?;
                        for (algo, digest) in [("SHA256", &file.sha256), ("SHA512", &file.sha512)] {
                            let stored = store.join(algo).join(digest);
                            if std::fs::metadata(&stored).is_ok_and(|m| m.len() != file.size) {
                                // Cut short by a power loss in a run that never
                                // published it: replaced, not trusted by name.
                                let _ = std::fs::remove_file(&stored);
                            }
                            fsutil::link_or_copy(&out.join(name), &stored, &mut batch)?;
                            live.insert(format!("{store_rel}/{algo}/{digest}"));
                        }
                        files.push(file);
                    }
                    // by-hash lives outside the generations, in one store per
                    // index directory, so that files of earlier generations
                    // stay reachable for the grace period at no cost per publish.
                    let link = out.join("by-hash");
                    let target = Path::new("../../../../../..").join(&store_rel);
                    std::os::unix::fs::symlink(&target, &link)
                        .map_err(|source| AptError::Io { path: link, source })?;
                    stores.push(store);
                }
            }
            let release = Release {
                origin: &self.settings.origin,
                label: &self.settings.label,
                suite: &suite.name,
                codename: &suite.codename,
                description: &self.settings.description,
                date: now,
                architectures: &self.settings.architectures,
                components: &self.settings.components,
            }
            .render(&files);
            let suite_dir = dir.join("dists").join(&suite.name);
            fsutil::write_new(&suite_dir.join("Release"), release.as_bytes(), &mut batch)?;
            fsutil::write_new(
                &suite_dir.join("InRelease"),
                &key.clearsign(release.as_bytes())?,
                &mut batch,
            )?;
            fsutil::write_new(
                &suite_dir.join("Release.gpg"),
                &key.sign_detached(release.as_bytes())?,
                &mut batch,
            )?;
            suites_written.push(suite.name.clone());
        }
        // Codenames resolve too (`deb ... bookworm main` as well as `stable`).
        for suite in &self.settings.suites {
            if suite.codename != suite.name && !suites_written.contains(&suite.codename) {
                let link = dir.join("dists").join(&suite.codename);
                std::os::unix::fs::symlink(&suite.name, &link)
                    .map_err(|source| AptError::Io { path: link, source })?;
                batch.dir(&dir.join("dists"));
            }
        }
        used.save(&cache_path)?;
        // When each superseded by-hash file stopped being current, recorded
        // in the generation that superseded it.
        let earlier = previous.map_or_else(Superseded::default, |p| {
            Superseded::load(&self.generation_dir(p))
        });
        let grace = i64::try_from(self.settings.by_hash_grace).unwrap_or(i64::MAX);
        let step = earlier.advance(&live, &self.by_hash_files(&stores), now, grace);
        fsutil::write_new(
            &dir.join(super::grace::FILE),
            &step.kept.to_json(),
            &mut batch,
        )?;
        // HTTP caches compare Last-Modified in whole seconds: a generation
        // published in the same second as the previous one must still look
        // newer, or `apt-get update` gets 304 and keeps the old index.
        let stamp = previous
            .and_then(|p| {
                std::fs::metadata(
                    self.generation_dir(p)
                        .join("dists")
                        .join(self.settings.default_suite())
                        .join("InRelease"),
                )
                .ok()
            })
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(now, |d| {
                now.max(i64::try_from(d.as_secs()).unwrap_or(0) + 1)
            });
        touch_tree(&dir.join("dists"), stamp)?;
        // Everything the new generation refers to reaches the disk before
        // the switch can: a power loss never leaves `dists` pointing at
        // files that are not there.
        batch.commit()?;
        self.switch(generation)?;
        self.collect_generations(generation)?;
        for path in &step.expired {
            let _ = std::fs::remove_file(self.root.join(path));
        }
        if !dropped.is_empty() {
            self.collect_pool(state, dropped, now)?;
        }
        Ok(generation)
    }

    /// Points `dists` at `generation` with one rename, synced.
    fn switch(&self, generation: u64) -> Result<(), AptError> {
        let tmp = self.root.join(PRIVATE).join("dists.new");
        let _ = std::fs::remove_file(&tmp);
        let target = Path::new(GENERATIONS)
            .join(format!("{generation:08}"))
            .join("dists");
        std::os::unix::fs::symlink(&target, &tmp).map_err(|source| AptError::Io {
            path: tmp.clone(),
            source,
        })?;
        let link = self.root.join("dists");
        std::fs::rename(&tmp, &link).map_err(|source| AptError::Io {
            path: link.clone(),
            source,
        })?;
        crate::fsutil::sync_dir(&self.root).map_err(|source| AptError::Io {
            path: self.root.clone(),
            source,
        })
    }

    /// Every file in the given by-hash stores, relative to the repository.
    fn by_hash_files(&self, stores: &[PathBuf]) -> BTreeSet<String> {
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
    fn collect_generations(&self, current: u64) -> Result<(), AptError> {
        let gen_dir = self.root.join(GENERATIONS);
        let entries = std::fs::read_dir(&gen_dir).map_err(|source| AptError::Io {
            path: gen_dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let keep = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n == current || n + 1 == current);
            if !keep {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        Ok(())
    }

    /// Pool files the new state no longer references are recorded with the
    /// time they were dropped and deleted once the grace period has passed,
    /// so a client holding the previous index can still download them.
    fn collect_pool(&self, state: &State, dropped: &[String], now: i64) -> Result<(), AptError> {
        let live: HashSet<&str> = state
            .indexes
            .values()
            .flatten()
            .map(|e| e.filename.as_str())
            .collect();
        let path = self.root.join(PRIVATE).join("orphans.json");
        let mut orphans: BTreeMap<String, i64> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        for filename in dropped {
            if !live.contains(filename.as_str()) {
                orphans.entry(filename.clone()).or_insert(now);
            }
        }
        let grace = i64::try_from(self.settings.by_hash_grace).unwrap_or(i64::MAX);
        orphans.retain(|filename, since| {
            if live.contains(filename.as_str()) {
                return false;
            }
            if now - *since >= grace {
                let _ = std::fs::remove_file(self.root.join(filename.as_str()));
                return false;
            }
            true
        });
        let text = serde_json::to_vec_pretty(&orphans).unwrap_or_default();
        fsutil::write_atomic(&path, &text, Durability::Synced)
    }
}

/// The settings a new repository gets from `options` (names checked).
fn settings_for(options: &InitOptions, key: &SigningKey) -> Result<Settings, AptError> {
    for suite in &options.suites {
        check_name("suite", suite)?;
    }
    for component in &options.components {
        check_name("component", component)?;
    }
    for arch in &options.architectures {
        check_name("architecture", arch)?;
    }
    if let Some(codename) = &options.codename {
        check_name("codename", codename)?;
    }
    let suites = options
        .suites
        .iter()
        .enumerate()
        .map(|(i, name)| Suite {
            name: name.clone(),
            codename: if i == 0 {
                options.codename.clone().unwrap_or_else(|| name.clone())
            } else {
                name.clone()
            },
        })
        .collect();
    Ok(Settings {
        origin: options.origin.clone(),
        label: options.label.clone(),
        description: options.description.clone(),
        suites,
        components: options.components.clone(),
        architectures: options
            .architectures
            .iter()
            .filter(|a| *a != "all")
            .cloned()
            .collect(),
        keep: options.keep,
        by_hash_grace: 24 * 3600,
        key: key.fingerprint(),
    })
}

/// What an interrupted init or clone may have left in its directory; anything
/// else (or a `repo.toml`) means the directory is not ours to fill.
const INIT_LEFTOVERS: [&str; 8] = [
    PRIVATE,
    GENERATIONS,
    BY_HASH,
    "pool",
    "dists",
    "key.gpg",
    "key.asc",
    "packages_public.key",
];

/// Refuses a directory that holds anything but the leftovers of an init.
fn check_fresh(root: &Path) -> Result<(), AptError> {
    check_foreign(root)?;
    if root.join(PRIVATE).join(SETTINGS).exists() {
        return Err(AptError::NotEmpty {
            path: root.to_owned(),
        });
    }
    Ok(())
}

/// Refuses a directory that holds anything a repository does not.
fn check_foreign(root: &Path) -> Result<(), AptError> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(AptError::Io {
                path: root.to_owned(),
                source,
            })
        }
    };
    let foreign = entries.flatten().any(|e| {
        let name = e.file_name();
        // `.tmp-*`: a file being written atomically (see crate::fsutil).
        !INIT_LEFTOVERS.iter().any(|n| name == *n) && !name.to_string_lossy().starts_with(".tmp-")
    });
    if foreign {
        return Err(AptError::NotEmpty {
            path: root.to_owned(),
        });
    }
    Ok(())
}

/// The writer lock of a repository that may not exist yet: refuses a
/// foreign directory before creating anything in it, then creates
/// `<root>/.buildkit` and locks.
fn lock_new(root: &Path) -> Result<Lock, AptError> {
    check_foreign(root)?;
    let private = root.join(PRIVATE);
    std::fs::create_dir_all(&private).map_err(|source| AptError::Io {
        path: private.clone(),
        source,
    })?;
    lock_file(&private.join("lock"))
}

fn lock_file(path: &Path) -> Result<Lock, AptError> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| AptError::Io {
            path: path.to_owned(),
            source,
        })?;
    file.lock().map_err(|source| AptError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(Lock { _file: file })
}

fn read_all(debs: &[PathBuf]) -> Result<Vec<Incoming>, AptError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per = debs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = debs
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|p| Incoming::read(p))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(debs.len());
        for handle in handles {
            all.extend(handle.join().map_err(|_| AptError::BadIndex {
                reason: "a reader thread panicked",
            })??);
        }
        Ok(all)
    })
}

/// `pool/<component>/<prefix>/<source>/<file>`, with Debian's `libX` prefixes.
pub fn pool_path(component: &str, source: &str, file: &str) -> String {
    // `source` passed `deb::check_source` (ASCII); `get` keeps even other text from panicking.
    let prefix = match source.get(..4) {
        Some(lib) if lib.starts_with("lib") => lib,
        _ => source.get(..1).unwrap_or_default(),
    };
    format!("pool/{component}/{prefix}/{source}/{file}")
}

/// What the pool holds at a .deb's place, compared with the .deb.
enum PoolFile {
    /// Nothing.
    Missing,
    /// The same bytes.
    Same,
    /// A strict prefix of them: a copy cut short (a power loss before the sync).
    Truncated,
    /// Other bytes.
    Different,
}

fn pool_file(target: &Path, deb_path: &Path, deb: &Incoming) -> Result<PoolFile, AptError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| AptError::Io {
            path: path.to_owned(),
            source,
        })
    };
    let existing = match std::fs::read(target) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PoolFile::Missing),
        Err(source) => {
            return Err(AptError::Io {
                path: target.to_owned(),
                source,
            })
        }
    };
    if existing.len() as u64 == deb.size
        && hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&existing)) == deb.sha256
    {
        return Ok(PoolFile::Same);
    }
    let incoming = read(deb_path)?;
    Ok(if incoming.starts_with(&existing) {
        PoolFile::Truncated
    } else {
        PoolFile::Different
    })
}

/// Copies each .deb to its pool place durably: into a temporary file
/// beside it, all data synced, then renamed over the target. The renames'
/// directories are left in the returned batch, to be synced before the
/// publish that refers to them (or at once when nothing is published).
fn write_pool(writes: &[(&PathBuf, PathBuf)]) -> Result<SyncBatch, AptError> {
    let mut batch = SyncBatch::default();
    let mut staged = Vec::new();
    for (from, to) in writes {
        let err = |source| AptError::Io {
            path: to.clone(),
            source,
        };
        let dir = crate::fsutil::parent(to);
        fsutil::create_dirs(dir, &mut batch)?;
        let tmp = tempfile::Builder::new()
            .prefix(".incoming-")
            .tempfile_in(dir)
            .map_err(err)?;
        std::fs::copy(from, tmp.path()).map_err(err)?;
        fsutil::set_mode(tmp.path(), 0o644).map_err(err)?;
        batch.data(tmp.path());
        staged.push((tmp, to));
    }
    batch.commit()?;
    for (tmp, to) in staged {
        tmp.persist(to).map_err(|e| AptError::Io {
            path: to.clone(),
            source: e.error,
        })?;
        batch.dir(crate::fsutil::parent(to));
    }
    Ok(batch)
}

/// Pool files of `old` that `new` no longer lists anywhere.
fn dropped_files(old: &State, new: &State) -> Vec<String> {
    let live: HashSet<&str> = new
        .indexes
        .values()
        .flatten()
        .map(|e| e.filename.as_str())
        .collect();
    old.indexes
        .values()
        .flatten()
        .map(|e| e.filename.as_str())
        .filter(|f| !live.contains(f))
        .map(str::to_owned)
        .collect()
}

/// `name` matches every version; `name=version` one version (all architectures).
fn matches(entry: &Entry, spec: &str) -> bool {
    match spec.split_once('=') {
        Some((name, version)) => {
            entry.package == name
                && crate::version::DebVersion::parse(version).is_ok_and(|v| v == entry.version)
        }
        None => entry.package == spec,
    }
}

/// Keeps the newest `keep` versions of each (package, architecture); returns what was dropped.
fn prune(entries: &mut Vec<Entry>, keep: usize) -> Vec<Entry> {
    let mut groups: HashMap<(String, String), Vec<crate::version::DebVersion>> = HashMap::new();
    for e in entries.iter() {
        groups
            .entry((e.package.clone(), e.architecture.clone()))
            .or_default()
            .push(e.version.clone());
    }
    let mut cut: HashMap<(String, String), crate::version::DebVersion> = HashMap::new();
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
        });
    *entries = kept;
    dropped
}

/// Sets the mtime of every regular file under `dir` that is not a by-hash
/// entry (those are content-addressed and rightly stay "unmodified").
fn touch_tree(dir: &Path, stamp: i64) -> Result<(), AptError> {
    let time =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(stamp).unwrap_or(0));
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        let entries = std::fs::read_dir(&current).map_err(|source| AptError::Io {
            path: current.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && entry.file_name() != "by-hash" {
                stack.push(path);
            } else if kind.is_file() {
                let file =
                    File::options()
                        .write(true)
                        .open(&path)
                        .map_err(|source| AptError::Io {
                            path: path.clone(),
                            source,
                        })?;
                file.set_modified(time)
                    .map_err(|source| AptError::Io { path, source })?;
            }
        }
    }
    Ok(())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_paths_follow_debian() {
        assert_eq!(
            pool_path("main", "hello", "hello_1_all.deb"),
            "pool/main/h/hello/hello_1_all.deb"
        );
        assert_eq!(
            pool_path("main", "libfoo", "libfoo1_1_amd64.deb"),
            "pool/main/libf/libfoo/libfoo1_1_amd64.deb"
        );
        assert_eq!(
            pool_path("contrib", "lib", "lib_1_all.deb"),
            "pool/contrib/l/lib/lib_1_all.deb"
        );
    }
}
