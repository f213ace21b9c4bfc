//! The publish every change ends with: a complete new generation written
//! aside (index cache, Packages, Release and signatures, by-hash links, the
//! grace record), synced, then switched in by one rename of `dists`.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::state::generation_name;
use super::{index_path, AptRepo, State, BY_HASH, DEBUG, GENERATIONS, PRIVATE};
use crate::apt::fsutil::{self, SyncBatch};
use crate::apt::grace::{self, Superseded};
use crate::apt::release::{IndexFile, Release};
use crate::apt::segments::{self, SegmentCache};
use crate::apt::settings::Suite;
use crate::apt::{AptError, Entry};
use crate::sign::SigningKey;
use crate::time;

/// A generation being written.
struct Draft {
    /// `generations/<N>`.
    dir: PathBuf,
    /// Compressed index pieces of earlier publishes.
    cache: SegmentCache,
    /// The pieces this publish uses: the next cache.
    used: SegmentCache,
    /// Everything written, synced before the switch.
    batch: SyncBatch,
    /// By-hash files (relative to the repository) this generation refers to.
    live: BTreeSet<String>,
    /// The by-hash stores of its index directories.
    stores: Vec<PathBuf>,
    /// The publish's time (Release `Date:`, the grace record).
    now: i64,
    /// The generation `dists` pointed at, whose unchanged suites are kept as they were.
    previous: Option<PathBuf>,
    /// Suites whose Release files are the previous generation's, byte for
    /// byte, with the mtime those had.
    kept: Vec<(String, i64)>,
    /// The signing key's public part, which a kept suite's signatures must verify under.
    public_key: Option<Vec<u8>>,
}

/// Whether a publish signs every suite afresh or keeps the Release files
/// of suites whose contents did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signing {
    /// Suites whose indexes are unchanged keep their Release, InRelease
    /// and Release.gpg byte for byte (and their Date): a change to one
    /// suite (a staging publish) leaves the others exactly as they were,
    /// so their clients see nothing new.
    KeepUnchanged,
    /// Every suite gets a new Date and new signatures (`repo publish`, a repair).
    Fresh,
}

impl AptRepo {
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
        batch: SyncBatch,
    ) -> Result<u64, AptError> {
        self.publish_signed(state, dropped, key, batch, Signing::KeepUnchanged)
    }

    /// [`AptRepo::publish`], choosing whether unchanged suites keep their signatures.
    // Long function: the steps of a publish in their one safe order, each a call.
    pub(crate) fn publish_signed(
        &self,
        state: &State,
        dropped: &[String],
        key: &SigningKey,
        batch: SyncBatch,
        signing: Signing,
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
        let mut draft = Draft {
            dir,
            cache: SegmentCache::load(&cache_path),
            used: SegmentCache::default(),
            batch,
            live: BTreeSet::new(),
            stores: Vec::new(),
            now: time::signed(time::unix_now()),
            previous: match signing {
                // Only the repository's own key may vouch for a kept suite.
                Signing::KeepUnchanged if key.fingerprint() == self.settings.key => {
                    previous.map(|p| self.generation_dir(p))
                }
                _ => None,
            },
            kept: Vec::new(),
            public_key: key.public_binary().ok(),
        };
        for suite in &self.settings.suites {
            self.write_suite(&mut draft, state, suite, key)?;
        }
        self.link_codenames(&mut draft)?;
        draft.used.save(&cache_path)?;
        // When each superseded by-hash file stopped being current, recorded
        // in the generation that superseded it.
        let earlier = previous.map_or_else(Superseded::default, |p| {
            Superseded::load(&self.generation_dir(p))
        });
        let step = earlier.advance(
            &draft.live,
            &self.by_hash_files(&draft.stores),
            draft.now,
            self.grace(),
        );
        fsutil::write_new(
            &draft.dir.join(grace::FILE),
            &step.kept.to_json(),
            &mut draft.batch,
        )?;
        touch_tree(&draft.dir.join("dists"), self.stamp(previous, draft.now))?;
        for (suite, mtime) in &draft.kept {
            touch_tree(&draft.dir.join("dists").join(suite), *mtime)?;
        }
        // Everything the new generation refers to reaches the disk before
        // the switch can: a power loss never leaves `dists` pointing at
        // files that are not there.
        draft.batch.commit()?;
        self.switch(generation)?;
        self.collect_generations(generation)?;
        for path in &step.expired {
            let _ = std::fs::remove_file(self.root.join(path));
        }
        if !dropped.is_empty() {
            self.collect_pool(state, dropped, draft.now)?;
        }
        Ok(generation)
    }

    /// One suite: the index cache and Packages files of each component,
    /// then Release, InRelease and Release.gpg over them.
    fn write_suite(
        &self,
        draft: &mut Draft,
        state: &State,
        suite: &Suite,
        key: &SigningKey,
    ) -> Result<(), AptError> {
        let mut files = Vec::new();
        for component in &self.settings.components {
            let entries = state
                .indexes
                .get(&(suite.name.clone(), component.clone()))
                .map_or(&[][..], Vec::as_slice);
            files.extend(self.write_component(draft, &suite.name, component, entries)?);
            // `<component>/debug` only when it has packages: a repository
            // without .ddeb files is the same as before they existed.
            let debug = format!("{component}/{DEBUG}");
            if let Some(entries) = state
                .indexes
                .get(&(suite.name.clone(), debug.clone()))
                .filter(|entries| !entries.is_empty())
            {
                files.extend(self.write_component(draft, &suite.name, &debug, entries)?);
            }
        }
        let release = Release {
            origin: &self.settings.origin,
            label: &self.settings.label,
            suite: &suite.name,
            codename: &suite.codename,
            description: &self.settings.description,
            date: draft.now,
            architectures: &self.settings.architectures,
            components: &self.settings.components,
        }
        .render(&files);
        let suite_dir = draft.dir.join("dists").join(&suite.name);
        if let Some(mtime) = self.keep_unchanged(draft, &suite.name, &release)? {
            draft.kept.push((suite.name.clone(), mtime));
            return Ok(());
        }
        let batch = &mut draft.batch;
        fsutil::write_new(&suite_dir.join("Release"), release.as_bytes(), batch)?;
        fsutil::write_new(
            &suite_dir.join("InRelease"),
            &key.clearsign(release.as_bytes())?,
            batch,
        )?;
        fsutil::write_new(
            &suite_dir.join("Release.gpg"),
            &key.sign_detached(release.as_bytes())?,
            batch,
        )
    }

    /// When the previous generation's Release of `suite` says the same as
    /// `release` but for its Date, copies its Release, InRelease and
    /// Release.gpg into the draft and returns their mtime (seconds).
    fn keep_unchanged(
        &self,
        draft: &mut Draft,
        suite: &str,
        release: &str,
    ) -> Result<Option<i64>, AptError> {
        let Some(previous) = &draft.previous else {
            return Ok(None);
        };
        let old_dir = previous.join("dists").join(suite);
        let Ok(old) = std::fs::read_to_string(old_dir.join("Release")) else {
            return Ok(None);
        };
        if without_date(&old) != without_date(release) {
            return Ok(None);
        }
        let mut copies = Vec::new();
        for name in ["Release", "InRelease", "Release.gpg"] {
            match std::fs::read(old_dir.join(name)) {
                Ok(bytes) => copies.push((name, bytes)),
                // Damaged: sign afresh.
                Err(_) => return Ok(None),
            }
        }
        // Kept only while the signatures hold under today's key and sign
        // this very text (a renewed key or a damaged file: sign afresh).
        let public = draft.public_key.as_deref().unwrap_or_default();
        let holds = crate::sign::verify_clearsigned(public, &copies[1].1)
            .is_ok_and(|text| text == copies[0].1)
            && crate::sign::verify_detached(public, &copies[0].1, &copies[2].1).is_ok();
        if !holds {
            return Ok(None);
        }
        let mtime = std::fs::metadata(old_dir.join("InRelease"))
            .and_then(|m| m.modified())
            .map(|t| time::signed(time::unix_secs(t)))
            .map_err(|source| AptError::Io {
                path: old_dir.join("InRelease"),
                source,
            })?;
        let suite_dir = draft.dir.join("dists").join(suite);
        for (name, bytes) in copies {
            fsutil::write_new(&suite_dir.join(name), &bytes, &mut draft.batch)?;
        }
        Ok(Some(mtime))
    }

    /// One component of a suite: its index cache, sorted, and the Packages
    /// files of each architecture; returns the files Release lists.
    fn write_component(
        &self,
        draft: &mut Draft,
        suite: &str,
        component: &str,
        entries: &[Entry],
    ) -> Result<Vec<IndexFile>, AptError> {
        let mut sorted: Vec<&Entry> = entries.iter().collect();
        sorted.sort_by(|a, b| a.index_order(b));
        let index_text: String = sorted.iter().map(|e| format!("{}\n", e.text)).collect();
        fsutil::write_new(
            &index_path(&draft.dir, suite, component),
            index_text.as_bytes(),
            &mut draft.batch,
        )?;
        let mut files = Vec::new();
        for arch in &self.settings.architectures {
            let chosen: Vec<&Entry> = sorted
                .iter()
                .copied()
                .filter(|e| e.architecture == *arch || e.architecture == "all")
                .collect();
            let rel = format!("{component}/binary-{arch}");
            files.extend(self.write_packages(draft, suite, &rel, &chosen)?);
        }
        Ok(files)
    }

    /// `Packages`, `.gz` and `.xz` of one index directory (`rel`, e.g.
    /// `main/binary-amd64`), each also stored by hash.
    fn write_packages(
        &self,
        draft: &mut Draft,
        suite: &str,
        rel: &str,
        chosen: &[&Entry],
    ) -> Result<Vec<IndexFile>, AptError> {
        let pieces = segments::pieces(chosen.iter().map(|e| (e.package.as_str(), e.text.as_str())));
        let index = draft.cache.build(&pieces, &mut draft.used)?;
        let out = draft.dir.join("dists").join(suite).join(rel);
        let store_rel = format!("{BY_HASH}/{suite}/{rel}");
        let store = self.root.join(&store_rel);
        let mut files = Vec::new();
        for (name, bytes) in [
            ("Packages", &index.text),
            ("Packages.gz", &index.gz),
            ("Packages.xz", &index.xz),
        ] {
            let file = IndexFile::new(format!("{rel}/{name}"), bytes);
            fsutil::write_new(&out.join(name), bytes, &mut draft.batch)?;
            for (algo, digest) in [("SHA256", &file.sha256), ("SHA512", &file.sha512)] {
                let stored = store.join(algo).join(digest);
                if std::fs::metadata(&stored).is_ok_and(|m| m.len() != file.size) {
                    // Cut short by a power loss in a run that never
                    // published it: replaced, not trusted by name.
                    let _ = std::fs::remove_file(&stored);
                }
                fsutil::link_or_copy(&out.join(name), &stored, &mut draft.batch)?;
                draft.live.insert(format!("{store_rel}/{algo}/{digest}"));
            }
            files.push(file);
        }
        // by-hash lives outside the generations, in one store per index
        // directory, so that files of earlier generations stay reachable
        // for the grace period at no cost per publish.
        let link = out.join("by-hash");
        // Up from `<generation>/dists/<suite>/<rel>` to the root.
        let target = Path::new(&"../".repeat(4 + rel.split('/').count())).join(&store_rel);
        std::os::unix::fs::symlink(&target, &link)
            .map_err(|source| AptError::Io { path: link, source })?;
        draft.stores.push(store);
        Ok(files)
    }

    /// Codenames resolve too (`deb ... bookworm main` as well as `stable`).
    fn link_codenames(&self, draft: &mut Draft) -> Result<(), AptError> {
        let dists = draft.dir.join("dists");
        for suite in &self.settings.suites {
            let taken = self
                .settings
                .suites
                .iter()
                .any(|s| s.name == suite.codename);
            if suite.codename != suite.name && !taken {
                let link = dists.join(&suite.codename);
                std::os::unix::fs::symlink(&suite.name, &link)
                    .map_err(|source| AptError::Io { path: link, source })?;
                draft.batch.dir(&dists);
            }
        }
        Ok(())
    }

    /// The mtime of the new generation's files. HTTP caches compare
    /// Last-Modified in whole seconds: a generation published in the same
    /// second as the previous one must still look newer, or `apt-get
    /// update` gets 304 and keeps the old index.
    fn stamp(&self, previous: Option<u64>, now: i64) -> i64 {
        let Some(previous) = previous.map(|p| self.generation_dir(p)) else {
            return now;
        };
        // The newest of the suites: an unchanged one keeps an older mtime.
        self.settings
            .suites
            .iter()
            .filter_map(|s| {
                std::fs::metadata(previous.join("dists").join(&s.name).join("InRelease")).ok()
            })
            .filter_map(|m| m.modified().ok())
            .map(|t| time::signed(time::unix_secs(t)) + 1)
            .fold(now, i64::max)
    }

    /// Points `dists` at `generation` with one rename, synced.
    fn switch(&self, generation: u64) -> Result<(), AptError> {
        let tmp = self.root.join(PRIVATE).join("dists.new");
        let _ = std::fs::remove_file(&tmp);
        let target = Path::new(GENERATIONS)
            .join(generation_name(generation))
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
}

/// A Release text without its `Date:` line.
fn without_date(release: &str) -> String {
    release
        .lines()
        .filter(|line| !line.starts_with("Date:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sets the mtime of every regular file under `dir` that is not a by-hash
/// entry (those are content-addressed and rightly stay "unmodified").
fn touch_tree(dir: &Path, stamp: i64) -> Result<(), AptError> {
    let time = std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(stamp).unwrap_or(0));
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
