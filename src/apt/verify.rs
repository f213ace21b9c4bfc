//! `repo verify`: what apt would check, without apt — signatures by the
//! repository's key, every index listed in Release with its size and
//! digests (by-hash copies included), and every pool file a Packages entry
//! names. Also the repair: rebuild the index cache from the published
//! Packages files, or from the pool when those are gone too.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256, Sha512};

use super::entry::{Entry, Incoming};
use super::repo::{index_component, pool_path, AptRepo, State};
use super::AptError;
use crate::deb822::{self, Comments, Deb822Error};

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The file concerned, relative to the repository.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

/// Checks the published generation like a client would; an empty list means clean.
pub fn verify(repo: &AptRepo) -> Result<Vec<Finding>, AptError> {
    let root = repo.root();
    let mut findings = Vec::new();
    let mut find = |path: &str, problem: String| {
        findings.push(Finding {
            path: path.to_owned(),
            problem,
        })
    };
    let key = match std::fs::read(root.join("key.gpg")) {
        Ok(k) => k,
        Err(_) => {
            find("key.gpg", "the public key is missing".into());
            return Ok(findings);
        }
    };
    if repo.current_generation()?.is_none() || !root.join("dists").is_dir() {
        find("dists", "no published generation".into());
        return Ok(findings);
    }
    let read = |path: &str| std::fs::read(root.join(path)).ok();
    let mut pool = BTreeMap::new();
    for suite in &repo.settings().suites {
        check_suite(
            &read,
            &key,
            &format!("dists/{}", suite.name),
            &mut find,
            &mut pool,
        );
    }
    for entry in pool.values() {
        check_pool_file(entry, read(&entry.filename).as_deref(), &mut find);
    }
    Ok(findings)
}

/// Checks one suite's Release files, their signatures and every index
/// they list, each also by its by-hash copy; collects the pool files the
/// Packages indexes name (by file name) for the caller to check. `read`
/// gives a file's bytes by its path relative to the repository.
pub(crate) fn check_suite(
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
    key: &[u8],
    base: &str,
    find: &mut dyn FnMut(&str, String),
    pool: &mut BTreeMap<String, Entry>,
) {
    let name = |file: &str| format!("{base}/{file}");
    let (Some(release), Some(inrelease), Some(detached)) = (
        read(&name("Release")),
        read(&name("InRelease")),
        read(&name("Release.gpg")),
    ) else {
        find(base, "Release, InRelease or Release.gpg is missing".into());
        return;
    };
    match crate::sign::verify_clearsigned(key, &inrelease) {
        Ok(text) if text == release => {}
        Ok(_) => find(
            &name("InRelease"),
            "signed text differs from Release".into(),
        ),
        Err(e) => find(&name("InRelease"), format!("bad signature: {e}")),
    }
    if let Err(e) = crate::sign::verify_detached(key, &release, &detached) {
        find(&name("Release.gpg"), format!("bad signature: {e}"));
    }
    let text = String::from_utf8_lossy(&release);
    let entries = release_entries(&text).unwrap_or_else(|e| {
        find(&name("Release"), format!("not a deb822 file: {e}"));
        Vec::new()
    });
    for (algo, digest, size, path) in entries {
        check_listed(read, &name(&path), algo, &digest, size, find, pool);
    }
}

/// Checks an index file the Release lists: its size and digest, its
/// by-hash copy, and for a Packages index collects the pool files it names.
fn check_listed(
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
    full: &str,
    algo: &str,
    digest: &str,
    size: u64,
    find: &mut dyn FnMut(&str, String),
    pool: &mut BTreeMap<String, Entry>,
) {
    let hash = |bytes: &[u8]| match algo {
        "SHA256" => Some(hex::encode(Sha256::digest(bytes))),
        "SHA512" => Some(hex::encode(Sha512::digest(bytes))),
        _ => None,
    };
    let Some(bytes) = read(full) else {
        find(full, "listed in Release but missing".into());
        return;
    };
    let Some(actual) = hash(&bytes) else { return };
    if bytes.len() as u64 != size || actual != digest {
        find(full, format!("size or {algo} differs from Release"));
    }
    let dir = full.rsplit_once('/').map_or("", |(dir, _)| dir);
    let by_hash = format!("{dir}/by-hash/{algo}/{digest}");
    match read(&by_hash) {
        None => find(full, format!("by-hash/{algo}/{digest} is missing")),
        Some(copy) if hash(&copy).as_deref() != Some(digest) => {
            find(&by_hash, format!("content differs from its {algo} name"))
        }
        Some(_) => {}
    }
    if full.ends_with("/Packages") && algo == "SHA256" {
        // A damaged index is a finding like any other, not the end of the check.
        match Entry::parse_many(&String::from_utf8_lossy(&bytes)) {
            Ok(entries) => {
                for entry in entries {
                    pool.insert(entry.filename.clone(), entry);
                }
            }
            Err(e) => find(full, format!("not a Packages index: {e}")),
        }
    }
}

/// Checks a pool file's bytes (`None`: missing) against its Packages entry.
pub(crate) fn check_pool_file(
    entry: &Entry,
    bytes: Option<&[u8]>,
    find: &mut dyn FnMut(&str, String),
) {
    match bytes {
        Some(bytes)
            if bytes.len() as u64 == entry.size
                && hex::encode(Sha256::digest(bytes)) == entry.sha256 => {}
        Some(_) => find(
            &entry.filename,
            "size or SHA256 differs from its Packages entry".into(),
        ),
        None => find(
            &entry.filename,
            "named by a Packages entry but missing from the pool".into(),
        ),
    }
}

/// (algorithm, digest, size, path) of the SHA256 and SHA512 lists of a Release file.
pub fn release_entries(
    text: &str,
) -> Result<Vec<(&'static str, String, u64, String)>, Deb822Error> {
    let mut out = Vec::new();
    let paragraphs = deb822::parse(text, Comments::Refused)?;
    let Some(release) = paragraphs.first() else {
        return Ok(out);
    };
    for algo in ["SHA256", "SHA512"] {
        for line in release.value(algo).unwrap_or_default().split('\n') {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let [digest, size, path] = parts[..] {
                out.push((
                    algo,
                    digest.to_owned(),
                    size.parse().unwrap_or(0),
                    path.to_owned(),
                ));
            }
        }
    }
    Ok(out)
}

impl AptRepo {
    /// Rebuilds the index cache — from the published Packages files when
    /// they are readable, else from the .deb files of the pool (into the
    /// default suite) — and publishes a fresh generation.
    pub fn repair(&self, key: &crate::sign::SigningKey) -> Result<u64, AptError> {
        // Settings as they are under the lock: a suite added since this
        // value was opened must not be dropped.
        let (_lock, this) = match self.locked() {
            Ok(locked) => locked,
            Err(_) => (self.lock()?, self.clone()),
        };
        let state = match this.state() {
            Ok(state) => state,
            Err(_) => this
                .state_from_dists()
                .or_else(|_| this.state_from_pool())?,
        };
        this.publish_signed(
            &state,
            &[],
            key,
            super::fsutil::SyncBatch::default(),
            super::repo::Signing::Fresh,
        )
    }

    fn state_from_dists(&self) -> Result<State, AptError> {
        let mut state = State::default();
        for suite in &self.settings().suites {
            for component in &self.settings().components {
                // `<component>/debug` is published only when it has packages.
                let debug = index_component(component, true);
                for (index, required) in [(component.clone(), true), (debug, false)] {
                    let mut seen = BTreeMap::new();
                    for arch in &self.settings().architectures {
                        let path = self
                            .root()
                            .join("dists")
                            .join(&suite.name)
                            .join(&index)
                            .join(format!("binary-{arch}"))
                            .join("Packages");
                        let text = match std::fs::read_to_string(&path) {
                            Ok(text) => text,
                            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                                continue
                            }
                            Err(source) => return Err(AptError::Io { path, source }),
                        };
                        for entry in Entry::parse_many(&text)? {
                            seen.insert(entry.filename.clone(), entry);
                        }
                    }
                    if required || !seen.is_empty() {
                        state
                            .indexes
                            .insert((suite.name.clone(), index), seen.into_values().collect());
                    }
                }
            }
        }
        Ok(state)
    }

    fn state_from_pool(&self) -> Result<State, AptError> {
        let mut state = State::default();
        let pool = self.root().join("pool");
        let mut stack = vec![pool.clone()];
        let suite = self.settings().default_suite().to_owned();
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|source| AptError::Io {
                path: dir.clone(),
                source,
            })?;
            for item in entries.flatten() {
                let path = item.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "deb" && e != "ddeb") {
                    continue;
                }
                let Ok(deb) = Incoming::read(&path) else {
                    continue;
                };
                let rel = path.strip_prefix(&pool).map_err(|_| AptError::BadIndex {
                    reason: "pool path outside the pool",
                })?;
                let component = rel
                    .components()
                    .next()
                    .and_then(|c| c.as_os_str().to_str())
                    .unwrap_or(self.settings().default_component())
                    .to_owned();
                let filename = pool_path(&component, deb.source(), &deb.file_name());
                state
                    .indexes
                    .entry((suite.clone(), index_component(&component, deb.is_debug())))
                    .or_default()
                    .push(deb.entry(&filename)?);
            }
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::apt::{IndexFile, Release};

    #[test]
    fn release_lists_read_back() {
        let files = [
            IndexFile::new("main/binary-amd64/Packages".into(), b"abc"),
            IndexFile::new("main/binary-amd64/Packages.gz".into(), &[0; 1000]),
        ];
        let text = Release {
            origin: "O",
            label: "L",
            suite: "stable",
            codename: "bookworm",
            description: "D",
            date: 0,
            architectures: &["amd64".to_owned()],
            components: &["main".to_owned()],
        }
        .render(&files);
        let got = release_entries(&text).expect("parses");
        let want: Vec<_> = ["SHA256", "SHA512"]
            .into_iter()
            .flat_map(|algo| {
                files.iter().map(move |f| {
                    let digest = if algo == "SHA256" {
                        &f.sha256
                    } else {
                        &f.sha512
                    };
                    (algo, digest.clone(), f.size, f.path.clone())
                })
            })
            .collect();
        assert_eq!(got, want);
        let err = release_entries("Origin: O\nnot a field\n").expect_err("damaged");
        assert_eq!(err.line(), 2);
    }
}
