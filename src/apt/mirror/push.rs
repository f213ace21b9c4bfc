//! `repo push`: make the mirror hold what the local repository publishes,
//! uploading only what it lacks, in an order that keeps every client
//! consistent (see [`Phase`]), under the mirror's lease, and ending with
//! one conditional write of the manifest.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use super::lease::Lease;
use super::local::{self, Object, Phase, Snapshot};
use super::manifest::{Manifest, MANIFEST};
use super::remote::{Caching, Mode, Remote, Stored, Written};
use super::{Connection, MirrorError};
use crate::apt::repo::AptRepo;
use crate::progress::{human_size, Listener};

/// How a push behaves.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Push even if the mirror holds packages another repository pushed
    /// (they are dropped from its indexes), or a damaged manifest.
    pub force: bool,
    /// How long to wait for another push's lease.
    pub wait: Duration,
    /// Requests in flight at once.
    pub jobs: usize,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            force: false,
            wait: Duration::from_secs(300),
            jobs: 16,
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PushReport {
    /// The mirror.
    pub url: String,
    /// The local generation it now mirrors.
    pub generation: u64,
    /// Objects written.
    pub uploaded: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Objects the manifest already had.
    pub skipped: u64,
    /// Objects found in place from an interrupted push (not written again).
    pub present: u64,
    /// Superseded objects deleted (their grace period was over).
    pub deleted: u64,
    /// Superseded objects kept for their grace period.
    pub waiting: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// Milliseconds.
    pub millis: u64,
}

/// Objects uploaded between lease renewals and checkpoints.
const CHUNK: usize = 64;
/// A checkpoint of the manifest after this many new immutable objects…
const CHECKPOINT_OBJECTS: u64 = 256;
/// …or this long.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// Pushes the repository to the mirror.
pub fn push(
    repo: &AptRepo,
    connection: &Connection,
    options: &PushOptions,
    listener: &dyn Listener,
) -> Result<PushReport, MirrorError> {
    let started = Instant::now();
    let snapshot = local::snapshot(repo, connection.url.plus_workaround)?;
    let remote = connection.connect()?;
    let mut lease = Lease::acquire(&remote, options.wait, listener)?;
    let result = Push {
        remote: &remote,
        lease: &mut lease,
        snapshot: &snapshot,
        options,
        listener,
        report: PushReport {
            url: remote.url().to_string(),
            generation: snapshot.generation,
            ..PushReport::default()
        },
    }
    .run();
    let released = lease.release();
    let mut report = result?;
    released?;
    report.requests = remote.requests();
    report.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

struct Push<'a, 'r> {
    remote: &'r Remote,
    lease: &'a mut Lease<'r>,
    snapshot: &'a Snapshot,
    options: &'a PushOptions,
    listener: &'a dyn Listener,
    report: PushReport,
}

/// What one upload met.
enum Uploaded {
    Written(u64),
    Present,
}

impl Push<'_, '_> {
    fn run(mut self) -> Result<PushReport, MirrorError> {
        let remote = self.remote;
        let (mut manifest, mut e_tag) = self.read_manifest()?;
        self.check_ownership(&manifest)?;
        let pending: Vec<&Object> = self
            .snapshot
            .objects
            .iter()
            .filter(|o| !manifest.holds(&o.key, &o.id))
            .collect();
        self.report.skipped = (self.snapshot.objects.len() - pending.len()) as u64;
        if !pending.is_empty() {
            let bytes: u64 = pending
                .iter()
                .filter_map(|o| match &o.source {
                    local::Source::Bytes(b) => Some(b.len() as u64),
                    local::Source::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
                })
                .sum();
            self.listener.status(
                "Pushing",
                &format!(
                    "{} of {} objects ({}) to {}",
                    pending.len(),
                    self.snapshot.objects.len(),
                    human_size(bytes),
                    remote.url()
                ),
            );
        }
        let mut replacing = false;
        let mut since_checkpoint = 0u64;
        let mut last_checkpoint = Instant::now();
        for phase in [
            Phase::Pool,
            Phase::ByHash,
            Phase::Index,
            Phase::Release,
            Phase::InRelease,
        ] {
            let items: Vec<&Object> = pending
                .iter()
                .copied()
                .filter(|o| o.phase == phase)
                .collect();
            if items.is_empty() {
                continue;
            }
            if !phase.immutable() {
                if !replacing {
                    wait_for_next_second(manifest.replaced_at_ms);
                    replacing = true;
                }
                // What follows changes what clients see: only a push that
                // certainly holds the lease may do it.
                remote.block_on(self.lease.renew())?;
            }
            for chunk in items.chunks(CHUNK) {
                remote.block_on(self.lease.renew_if_due())?;
                let outcomes = remote.block_on(upload_all(remote, chunk, self.options.jobs))?;
                for (object, outcome) in chunk.iter().zip(outcomes) {
                    match outcome {
                        Uploaded::Written(n) => {
                            self.report.uploaded += 1;
                            self.report.bytes += n;
                        }
                        Uploaded::Present => self.report.present += 1,
                    }
                    manifest
                        .objects
                        .insert(object.key.clone(), object.id.clone());
                    manifest.superseded.remove(&object.key);
                    since_checkpoint += 1;
                }
                let due = since_checkpoint >= CHECKPOINT_OBJECTS
                    || last_checkpoint.elapsed() >= CHECKPOINT_EVERY;
                if phase.immutable() && due {
                    // An interrupted push resumes from here.
                    manifest.complete = false;
                    e_tag = Some(self.commit(&mut manifest, e_tag)?);
                    since_checkpoint = 0;
                    last_checkpoint = Instant::now();
                }
            }
        }
        if replacing {
            manifest.replaced_at_ms = now_ms();
        }
        let changed = self.retire(&mut manifest)?;
        if !pending.is_empty()
            || changed
            || !manifest.complete
            || manifest.generation != self.snapshot.generation
        {
            manifest.pushed_by = self.snapshot.id.clone();
            manifest.generation = self.snapshot.generation;
            manifest.pushed_at = now();
            manifest.packages = self.snapshot.packages.clone();
            manifest.complete = true;
            self.commit(&mut manifest, e_tag)?;
        }
        Ok(self.report)
    }

    /// The mirror's manifest and its entity tag (none on a first push).
    fn read_manifest(&self) -> Result<(Manifest, Option<String>), MirrorError> {
        let remote = self.remote;
        let Some(fetched) = remote.block_on(remote.get(MANIFEST))? else {
            return Ok((Manifest::new(), None));
        };
        match Manifest::parse(&fetched.bytes) {
            Ok(manifest) => Ok((manifest, fetched.e_tag)),
            Err(reason) if self.options.force => {
                self.listener.warn(&format!(
                    "the mirror's manifest is unreadable ({reason}): every object is compared again"
                ));
                Ok((Manifest::new(), fetched.e_tag))
            }
            Err(reason) => Err(MirrorError::BadManifest {
                url: remote.url().to_string(),
                reason,
            }),
        }
    }

    /// Refuses a push that would drop another repository's packages from
    /// the mirror, or put an older state of this one over a newer.
    fn check_ownership(&self, manifest: &Manifest) -> Result<(), MirrorError> {
        if self.options.force || manifest.pushed_by.is_empty() {
            return Ok(());
        }
        let url = self.remote.url().to_string();
        if manifest.pushed_by != self.snapshot.id {
            let dropped: Vec<String> = manifest
                .packages
                .difference(&self.snapshot.packages)
                .cloned()
                .collect();
            if !dropped.is_empty() {
                return Err(MirrorError::WouldDrop { url, dropped });
            }
        } else if manifest.complete && manifest.generation > self.snapshot.generation {
            return Err(MirrorError::Older {
                url,
                mirrored: manifest.generation,
                local: self.snapshot.generation,
            });
        }
        Ok(())
    }

    /// Marks objects no longer wanted as superseded (from now) and deletes
    /// those whose grace period is over. Whether the manifest changed.
    fn retire(&mut self, manifest: &mut Manifest) -> Result<bool, MirrorError> {
        let wanted: BTreeSet<&str> = self
            .snapshot
            .objects
            .iter()
            .map(|o| o.key.as_str())
            .collect();
        let now = now();
        let before = manifest.superseded.clone();
        for key in manifest.objects.keys() {
            if !wanted.contains(key.as_str()) {
                manifest.superseded.entry(key.clone()).or_insert(now);
            }
        }
        let objects = &manifest.objects;
        manifest
            .superseded
            .retain(|key, _| objects.contains_key(key) && !wanted.contains(key.as_str()));
        let grace = self.snapshot.grace;
        let expired: Vec<String> = manifest
            .superseded
            .iter()
            .filter(|(_, since)| now.saturating_sub(**since) >= grace)
            .map(|(key, _)| key.clone())
            .collect();
        let remote = self.remote;
        remote.block_on(async {
            futures::stream::iter(expired.iter())
                .map(|key| remote.delete(key))
                .buffer_unordered(self.options.jobs.max(1))
                .try_collect::<Vec<()>>()
                .await
        })?;
        for key in &expired {
            manifest.superseded.remove(key);
            manifest.objects.remove(key);
        }
        self.report.deleted = expired.len() as u64;
        self.report.waiting = manifest.superseded.len() as u64;
        Ok(!expired.is_empty() || manifest.superseded != before)
    }

    /// Writes the manifest over the version `e_tag` (or as a new object);
    /// its new entity tag.
    fn commit(
        &mut self,
        manifest: &mut Manifest,
        e_tag: Option<String>,
    ) -> Result<String, MirrorError> {
        let remote = self.remote;
        manifest.serial += 1;
        let bytes = manifest.to_bytes();
        let mode = e_tag.map_or(Mode::Create, Mode::Update);
        match remote.block_on(remote.put_unique(MANIFEST, bytes, mode))? {
            Written::Done(tag) => Ok(tag.unwrap_or_default()),
            Written::Refused => Err(MirrorError::Changed {
                url: remote.url().to_string(),
            }),
        }
    }
}

fn now() -> i64 {
    crate::time::signed(crate::time::unix_now())
}

fn now_ms() -> i64 {
    i64::try_from(crate::time::unix_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Sleeps until a second has passed since `replaced_at_ms`, so that what
/// this push replaces gets a later `Last-Modified` than what it replaces
/// (see [`Manifest::replaced_at_ms`]).
fn wait_for_next_second(replaced_at_ms: i64) {
    let wait = replaced_at_ms.saturating_add(1000).saturating_sub(now_ms());
    if let Ok(wait) = u64::try_from(wait) {
        std::thread::sleep(Duration::from_millis(wait.min(1000)));
    }
}

/// Uploads `objects` with up to `jobs` requests in flight; results in order.
async fn upload_all(
    remote: &Remote,
    objects: &[&Object],
    jobs: usize,
) -> Result<Vec<Uploaded>, MirrorError> {
    futures::stream::iter(objects.iter())
        .map(|object| upload(remote, object))
        .buffered(jobs.max(1))
        .try_collect()
        .await
}

/// Uploads one object: content-addressed ones only if absent (an object
/// found in place must have the same digest), the others over what is there.
async fn upload(remote: &Remote, object: &Object) -> Result<Uploaded, MirrorError> {
    let bytes = object.source.read()?;
    let sha = hex::encode(Sha256::digest(&bytes));
    if object.phase == Phase::Pool && object.id != format!("sha256:{sha}") {
        return Err(MirrorError::LocalDamaged {
            key: object.key.clone(),
        });
    }
    let size = bytes.len() as u64;
    let (mode, caching) = if object.phase.immutable() {
        (Mode::Create, Caching::Immutable)
    } else {
        (Mode::Overwrite, Caching::Revalidate)
    };
    match remote.put(&object.key, bytes, mode, &sha, caching).await? {
        Written::Done(_) => Ok(Uploaded::Written(size)),
        // A by-hash key is its content's digest.
        Written::Refused if object.phase == Phase::ByHash => Ok(Uploaded::Present),
        Written::Refused => {
            let stored = match remote.stored(&object.key).await? {
                Some(Stored {
                    sha256: Some(stored),
                    ..
                }) => Some(stored),
                // Put there by another tool: read it to compare.
                Some(Stored { sha256: None, .. }) => remote
                    .get(&object.key)
                    .await?
                    .map(|f| hex::encode(Sha256::digest(&f.bytes))),
                None => None,
            };
            if stored.as_deref() == Some(sha.as_str()) {
                Ok(Uploaded::Present)
            } else {
                Err(MirrorError::Conflict {
                    url: remote.url().to_string(),
                    key: object.key.clone(),
                })
            }
        }
    }
}
