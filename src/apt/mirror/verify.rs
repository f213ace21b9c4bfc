//! `repo verify s3://…`: reads a mirror back over the S3 API and checks it
//! as apt would — the same checks as a local `repo verify` (signatures,
//! every index listed in Release by size and digest, its by-hash copies,
//! every pool file a Packages entry names), on the bytes the bucket holds.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt};

use super::manifest::{Manifest, MANIFEST};
use super::{Connection, MirrorError};
use crate::apt::verify::{check_pool_file, check_suite, Finding};
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
pub fn verify(
    connection: &Connection,
    key: Option<Vec<u8>>,
    jobs: usize,
    listener: &dyn Listener,
) -> Result<RemoteReport, MirrorError> {
    let remote = connection.connect()?;
    let url = remote.url().to_string();
    let mut report = RemoteReport {
        url: url.clone(),
        ..RemoteReport::default()
    };
    let mut findings = Vec::new();
    let Some(fetched) = remote.block_on(remote.get(MANIFEST))? else {
        if !remote.block_on(remote.bucket_exists())? {
            return Err(MirrorError::NoBucket { url });
        }
        findings.push(Finding {
            path: MANIFEST.into(),
            problem: "missing: nothing was pushed here".into(),
        });
        report.findings = findings;
        report.requests = remote.requests();
        return Ok(report);
    };
    let manifest = Manifest::parse(&fetched.bytes).map_err(|reason| MirrorError::BadManifest {
        url: url.clone(),
        reason,
    })?;
    report.suites = manifest
        .objects
        .keys()
        .filter_map(|k| k.strip_prefix("dists/")?.strip_suffix("/InRelease"))
        .filter(|s| !s.contains('/'))
        .map(str::to_owned)
        .collect();
    let key = match key {
        Some(key) => key,
        None => {
            listener.warn("checking against the key the mirror publishes (key.gpg): give --key to check it is yours");
            remote
                .block_on(remote.get("key.gpg"))?
                .map(|f| f.bytes)
                .unwrap_or_default()
        }
    };

    // Index files: few, read one by one (each once: Release lists every
    // file under two digests).
    let failure: RefCell<Option<MirrorError>> = RefCell::new(None);
    let cache: RefCell<HashMap<String, Option<Vec<u8>>>> = RefCell::new(HashMap::new());
    let read = |path: &str| -> Option<Vec<u8>> {
        if let Some(hit) = cache.borrow().get(path) {
            return hit.clone();
        }
        let got = match remote.block_on(remote.get(path)) {
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
    for suite in &report.suites {
        check_suite(&read, &key, &format!("dists/{suite}"), &mut find, &mut pool);
    }
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }

    // Pool files: many, read back in parallel.
    if !pool.is_empty() {
        listener.status(
            "Reading",
            &format!("{} pool files back from {url}", pool.len()),
        );
    }
    let client = &remote;
    let read_back = remote.block_on(
        futures::stream::iter(pool.values())
            .map(|entry| async move {
                let remote = client;
                let got = remote.get(&entry.filename).await?;
                Ok::<_, MirrorError>((entry, got.map(|f| f.bytes)))
            })
            .buffer_unordered(jobs.max(1))
            .try_collect::<Vec<_>>(),
    )?;
    for (entry, bytes) in read_back {
        check_pool_file(entry, bytes.as_deref(), &mut find);
    }
    report.pool_files = pool.len() as u64;
    findings.sort_by(|a, b| a.path.cmp(&b.path));
    report.findings = findings;
    report.requests = remote.requests();
    Ok(report)
}
