//! `repo verify s3://…`: reads a mirror back over the S3 API and checks it
//! as apt would — the same checks as a local `repo verify` (signatures,
//! every index listed in Release by size and digest, its by-hash copies,
//! every pool file a Packages entry names), on the bytes the bucket holds.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt};

use super::remote::Remote;
use super::{Connection, MirrorError};
use crate::apt::verify::{check_pool_file, check_suite, Finding};
use crate::apt::Entry;
use crate::progress::Listener;

/// What was checked and found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RemoteReport {
    /// The mirror.
    pub url: String,
    /// The suites found in its manifest.
    pub suites: Vec<String>,
    /// Pool files read back.
    pub pool_files: u64,
    /// What is wrong (empty: clean).
    pub findings: Vec<Finding>,
    /// HTTP requests made.
    pub requests: u64,
}

/// Verifies the mirror against `key` (the repository's public key, binary
/// OpenPGP); without one, against the key the mirror itself publishes.
/// The suites are those the bucket holds under `dists/`, whatever any
/// manifest says.
pub fn verify(
    connection: &Connection,
    key: Option<Vec<u8>>,
    jobs: usize,
    listener: &dyn Listener,
) -> Result<RemoteReport, MirrorError> {
    let remote = connection.connect()?;
    let url = remote.url().to_string();
    if !remote.block_on(remote.bucket_exists())? {
        return Err(MirrorError::NoBucket { url });
    }
    let suites = remote.block_on(remote.subdirectories("dists"))?;
    let mut findings = Vec::new();
    if suites.is_empty() {
        findings.push(Finding {
            path: "dists".into(),
            problem: "no suite: nothing was pushed here".into(),
        });
    }
    let key = match key {
        Some(key) => key,
        None => {
            listener.warn("checking against the key the mirror publishes (key.gpg): give --key to check it is yours");
            remote
                .block_on(remote.get_capped("key.gpg", 1 << 20))?
                .map(|f| f.bytes)
                .unwrap_or_default()
        }
    };
    let pool = check_indexes(&remote, &key, &suites, &mut findings)?;
    if !pool.is_empty() {
        listener.status(
            "Reading",
            &format!("{} pool files back from {url}", pool.len()),
        );
    }
    let mut find = |path: &str, problem: String| {
        findings.push(Finding {
            path: path.to_owned(),
            problem,
        })
    };
    for (entry, bytes) in read_back(&remote, &pool, jobs)? {
        check_pool_file(entry, bytes.as_deref(), &mut find);
    }
    findings.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(RemoteReport {
        url,
        suites,
        pool_files: pool.len() as u64,
        findings,
        requests: remote.requests(),
    })
}

/// Checks every suite's Release files and indexes as the bucket holds
/// them (each file read once: Release lists every file under two
/// digests); the pool files the indexes name.
fn check_indexes(
    remote: &Remote,
    key: &[u8],
    suites: &[String],
    findings: &mut Vec<Finding>,
) -> Result<BTreeMap<String, Entry>, MirrorError> {
    let failure: RefCell<Option<MirrorError>> = RefCell::new(None);
    let cache: RefCell<HashMap<String, Option<Vec<u8>>>> = RefCell::new(HashMap::new());
    let read = |path: &str| -> Option<Vec<u8>> {
        if let Some(hit) = cache.borrow().get(path) {
            return hit.clone();
        }
        let got = match remote.block_on(remote.get_capped(path, MAX_INDEX)) {
            Ok(got) => got.map(|f| f.bytes),
            Err(e) => {
                failure.borrow_mut().get_or_insert(e);
                None
            }
        };
        cache.borrow_mut().insert(path.to_owned(), got.clone());
        got
    };
    let mut find = |path: &str, problem: String| {
        findings.push(Finding {
            path: path.to_owned(),
            problem,
        })
    };
    let mut pool = BTreeMap::new();
    for suite in suites {
        check_suite(&read, key, &format!("dists/{suite}"), &mut find, &mut pool);
    }
    match failure.into_inner() {
        Some(e) => Err(e),
        None => Ok(pool),
    }
}

/// The largest index file read back (an uncompressed Packages of a very
/// large repository).
const MAX_INDEX: u64 = 1 << 30;

/// A pool entry and the bytes the mirror holds for it (`None`: missing).
type ReadBack<'p> = (&'p Entry, Option<Vec<u8>>);

/// The pool files the indexes name, read back with up to `jobs` requests
/// in flight.
fn read_back<'p>(
    remote: &Remote,
    pool: &'p BTreeMap<String, Entry>,
    jobs: usize,
) -> Result<Vec<ReadBack<'p>>, MirrorError> {
    remote.block_on(
        futures::stream::iter(pool.values())
            .map(|entry| async move {
                // Larger than the index says is wrong already: not read.
                let got = match remote.get_capped(&entry.filename, entry.size).await {
                    Err(MirrorError::TooLarge { .. }) => Some(Vec::new()),
                    other => other?.map(|f| f.bytes),
                };
                Ok::<_, MirrorError>((entry, got))
            })
            .buffer_unordered(jobs.max(1))
            .try_collect::<Vec<_>>(),
    )
}
