//! What the mirror must hold, read from the local repository (the source of
//! truth) in one consistent snapshot: under the repository's writer lock,
//! the current generation's `dists` files are read into memory; the pool
//! files and by-hash indexes they name are content-addressed and outlive
//! the lock by the grace period, so they are read while uploading.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::MirrorError;
use crate::apt::repo::AptRepo;
use crate::apt::verify::release_entries;
use crate::apt::AptError;

/// The order of a push: every phase is uploaded before the next starts,
/// so a client sees, at every instant, an `InRelease` whose every file is
/// already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// `.deb` files.
    Pool,
    /// `by-hash/SHA256|SHA512/<digest>` index copies.
    ByHash,
    /// Named indexes (`Packages.xz`, …) and the repository's public key.
    Index,
    /// `Release` and `Release.gpg`.
    Release,
    /// `InRelease`, which apt reads first: the switch.
    InRelease,
}

impl Phase {
    /// Whether the object's key names its content (created once, never replaced).
    pub fn immutable(self) -> bool {
        matches!(self, Phase::Pool | Phase::ByHash)
    }
}

/// Where an object's bytes are.
#[derive(Debug, Clone)]
pub enum Source {
    /// Read under the lock.
    Bytes(Arc<Vec<u8>>),
    /// A content-addressed file, read when uploaded.
    File(PathBuf),
}

impl Source {
    /// The bytes.
    pub fn read(&self) -> Result<Vec<u8>, MirrorError> {
        match self {
            Source::Bytes(bytes) => Ok(bytes.as_ref().clone()),
            Source::File(path) => std::fs::read(path).map_err(|e| io(path, e).into()),
        }
    }
}

/// One object the mirror must hold.
#[derive(Debug, Clone)]
pub struct Object {
    /// Path relative to the repository root (and to the mirror's prefix).
    pub key: String,
    /// `sha256:HEX` (or `sha512:HEX` for a SHA512 by-hash copy).
    pub id: String,
    /// When it is uploaded.
    pub phase: Phase,
    /// Its bytes.
    pub source: Source,
}

impl Object {
    /// Its size in bytes, if it can be known without reading it.
    pub fn size(&self) -> Option<u64> {
        match &self.source {
            Source::Bytes(bytes) => Some(bytes.len() as u64),
            Source::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
        }
    }
}

/// The snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Every object, sorted by phase then key.
    pub objects: Vec<Object>,
    /// The pool files the indexes list.
    pub packages: BTreeSet<String>,
    /// The generation it was taken from.
    pub generation: u64,
    /// The repository's mirror id.
    pub id: String,
    /// The grace period of superseded files, seconds.
    pub grace: i64,
}

/// The file in the repository's private directory naming it to mirrors.
const ID_FILE: &str = ".buildkit/mirror-id";

/// The objects collected so far, by key.
#[derive(Default)]
struct Objects(BTreeMap<String, Object>);

impl Objects {
    fn add(&mut self, key: String, id: String, phase: Phase, source: Source) {
        let object = Object {
            key: key.clone(),
            id,
            phase,
            source,
        };
        self.0.insert(key, object);
    }

    /// Bytes read under the lock, identified by their SHA-256.
    fn add_bytes(&mut self, key: String, phase: Phase, bytes: Vec<u8>) {
        let id = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        self.add(key, id, phase, Source::Bytes(Arc::new(bytes)));
    }
}

/// Takes the snapshot; `plus_twins` adds, for each pool file with a `+`
/// in its name, a copy named with a space (see [`super::MirrorUrl::plus_workaround`]).
pub fn snapshot(repo: &AptRepo, plus_twins: bool) -> Result<Snapshot, MirrorError> {
    let (_lock, repo) = repo.locked()?;
    let root = repo.root().to_owned();
    let generation = repo
        .current_generation()?
        .ok_or_else(|| AptError::NoGeneration { path: root.clone() })?;
    let mut objects = Objects::default();
    add_dists(&mut objects, &repo.generation_dir(generation))?;
    add_top_files(&mut objects, &root)?;
    // Source releases (`releases/NAME/VERSION/…`): written once, complete
    // before they appear (a release being written is a hidden directory).
    for (rel, id, path) in releases(&root)? {
        objects.add(rel, id, Phase::Pool, Source::File(path));
    }
    let packages = add_pool(&mut objects, &repo, plus_twins)?;
    let id = mirror_id(&root)?;
    let mut objects: Vec<Object> = objects.0.into_values().collect();
    objects.sort_by(|a, b| (a.phase, &a.key).cmp(&(b.phase, &b.key)));
    Ok(Snapshot {
        objects,
        packages,
        generation,
        id,
        grace: repo.grace(),
    })
}

/// Every named file of the generation's `dists`, in memory, and the
/// by-hash copies its Release files list.
fn add_dists(objects: &mut Objects, generation_dir: &Path) -> Result<(), MirrorError> {
    for (rel, bytes) in read_tree(&generation_dir.join("dists"), "dists")? {
        let name = rel.rsplit('/').next().unwrap_or(&rel).to_owned();
        let phase = match name.as_str() {
            "InRelease" => Phase::InRelease,
            "Release" | "Release.gpg" => Phase::Release,
            _ => Phase::Index,
        };
        if name == "Release" {
            let suite_dir = rel.trim_end_matches("/Release");
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let entries =
                release_entries(&text).map_err(|source| AptError::IndexSyntax { source })?;
            for (algo, digest, _, path) in entries {
                let dir = Path::new(&path)
                    .parent()
                    .map(|p| p.display().to_string())
                    .filter(|d| !d.is_empty())
                    .map_or(String::new(), |d| format!("{d}/"));
                let rel = format!("{suite_dir}/{dir}by-hash/{algo}/{digest}");
                let file = generation_dir.join(&rel);
                if file.is_file() && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    let id = format!("{}:{digest}", algo.to_ascii_lowercase());
                    objects.add(rel, id, Phase::ByHash, Source::File(file));
                }
            }
        }
        objects.add_bytes(rel, phase, bytes);
    }
    Ok(())
}

/// The error of a file operation on `path`.
fn io(path: &Path, source: std::io::Error) -> AptError {
    AptError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The public key files at the top of the repository.
fn add_top_files(objects: &mut Objects, root: &Path) -> Result<(), MirrorError> {
    for entry in std::fs::read_dir(root).map_err(|e| io(root, e))? {
        let entry = entry.map_err(|e| io(root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(|e| io(&entry.path(), e))?;
        objects.add_bytes(name, Phase::Index, bytes);
    }
    Ok(())
}

/// The pool files the indexes list, with the digests the indexes give;
/// their names.
fn add_pool(
    objects: &mut Objects,
    repo: &AptRepo,
    plus_twins: bool,
) -> Result<BTreeSet<String>, MirrorError> {
    let state = repo.state()?;
    let mut packages = BTreeSet::new();
    for entry in state.indexes.values().flatten() {
        let file = &entry.filename;
        let safe = file.starts_with("pool/")
            && file
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..");
        if !safe {
            return Err(AptError::BadIndex {
                reason: "a Filename outside the pool",
            }
            .into());
        }
        packages.insert(file.clone());
        let id = format!("sha256:{}", entry.sha256);
        let path = repo.root().join(file);
        if plus_twins && file.contains('+') {
            let twin = file.replace('+', " ");
            objects.add(twin, id.clone(), Phase::Pool, Source::File(path.clone()));
        }
        objects.add(file.clone(), id, Phase::Pool, Source::File(path));
    }
    Ok(packages)
}

/// The files of every source release: (key, id, path). Digests come from
/// each release's SHA256SUMS (its own two files are hashed), so a push
/// does not read every tarball again.
fn releases(root: &Path) -> Result<Vec<(String, String, PathBuf)>, MirrorError> {
    let mut out = Vec::new();
    let top = root.join("releases");
    let visible = |dir: &Path| -> Vec<(String, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() || t.is_file()))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .filter(|(name, _)| !name.starts_with('.'))
            .collect();
        found.sort();
        found
    };
    for (name, project) in visible(&top) {
        for (version, dir) in visible(&project).into_iter().filter(|(_, p)| p.is_dir()) {
            let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap_or_default();
            let listed: BTreeMap<&str, &str> = sums
                .lines()
                .filter_map(|l| l.split_once("  "))
                .filter(|(digest, _)| {
                    digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())
                })
                .map(|(digest, file)| (file.trim_start_matches('*'), digest))
                .collect();
            for (file, path) in visible(&dir).into_iter().filter(|(_, p)| p.is_file()) {
                let id = match listed.get(file.as_str()) {
                    Some(digest) => format!("sha256:{digest}"),
                    None => {
                        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
                        format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
                    }
                };
                out.push((format!("releases/{name}/{version}/{file}"), id, path));
            }
        }
    }
    Ok(out)
}

/// Every regular file under `dir` (following links, skipping `by-hash`
/// directories, which the Release files enumerate), as (`prefix/…`, bytes).
fn read_tree(dir: &Path, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, MirrorError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let rel = format!("{prefix}/{name}");
        let meta = std::fs::metadata(&path).map_err(|e| io(&path, e))?;
        if meta.is_dir() {
            if name != "by-hash" {
                out.extend(read_tree(&path, &rel)?);
            }
        } else if meta.is_file() {
            out.push((rel, std::fs::read(&path).map_err(|e| io(&path, e))?));
        }
    }
    Ok(out)
}

/// The repository's mirror id, made on first use: how a mirror tells its
/// own repository's pushes from another's.
fn mirror_id(root: &Path) -> Result<String, MirrorError> {
    let path = root.join(ID_FILE);
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(id.to_owned());
        }
    }
    let mut random = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random));
    read.map_err(|source| AptError::Io {
        path: "/dev/urandom".into(),
        source,
    })?;
    let id = hex::encode(random);
    crate::apt::fsutil::write_atomic(
        &path,
        format!("{id}\n").as_bytes(),
        crate::fsutil::Durability::Synced,
    )?;
    Ok(id)
}
