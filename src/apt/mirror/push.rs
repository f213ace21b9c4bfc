//! `repo push`: make the mirror hold what the local repository publishes,
//! uploading only what it lacks, in an order that keeps every client
//! consistent (see [`Phase`]), under the mirror's lease, and ending with
//! one conditional write of the manifest.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use super::lease::{Lease, TTL};
use super::local::{self, Object, Phase, Snapshot};
use super::manifest::{self, Manifest, MANIFEST};
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

/// How often a long push says how far it is.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
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
    let remote = connection.connect()?;
    let mut lease = Lease::acquire(&remote, options.wait, listener)?;
    // Taken under the lease: a push that waited pushes what the repository
    // publishes now, not what it published when the push started.
    let result = local::snapshot(repo, connection.url.plus_workaround).and_then(|snapshot| {
        Push {
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
        .run()
    });
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

/// Where an upload stands: for progress lines and checkpoints.
struct Progress {
    done: usize,
    said: Instant,
    since_checkpoint: u64,
    checkpointed: Instant,
}

impl Progress {
    fn new() -> Self {
        Progress {
            done: 0,
            said: Instant::now(),
            since_checkpoint: 0,
            checkpointed: Instant::now(),
        }
    }

    fn checkpoint_due(&self) -> bool {
        self.since_checkpoint >= CHECKPOINT_OBJECTS
            || self.checkpointed.elapsed() >= CHECKPOINT_EVERY
    }
}

/// The phases, in the order they are uploaded.
const PHASES: [Phase; 5] = [
    Phase::Pool,
    Phase::ByHash,
    Phase::Index,
    Phase::Release,
    Phase::InRelease,
];

impl Push<'_, '_> {
    fn run(mut self) -> Result<PushReport, MirrorError> {
        let (mut manifest, e_tag) = self.read_manifest()?;
        self.check_ownership(&manifest)?;
        let pending: Vec<&Object> = self
            .snapshot
            .objects
            .iter()
            .filter(|o| !manifest.holds(&o.key, &o.id))
            .collect();
        self.report.skipped = (self.snapshot.objects.len() - pending.len()) as u64;
        self.announce(&pending);
        let e_tag = self.upload(&pending, &mut manifest, e_tag)?;
        let changed = self.retire(&mut manifest)?;
        if !pending.is_empty()
            || changed
            || !manifest.complete
            || manifest.generation != self.snapshot.generation
        {
            manifest.pushed_by = self.snapshot.id.clone();
            manifest.generation = self.snapshot.generation;
            manifest.pushed_at = self.remote.block_on(self.lease.server_now())?;
            manifest.packages = self.snapshot.packages.clone();
            manifest.complete = true;
            self.commit(&mut manifest, e_tag)?;
        }
        Ok(self.report)
    }

    /// Says what the push will upload.
    fn announce(&self, pending: &[&Object]) {
        if pending.is_empty() {
            return;
        }
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
                self.remote.url()
            ),
        );
    }

    /// Uploads `pending` phase by phase, recording each object in the
    /// manifest, with checkpoints during the content-addressed phases.
    /// The manifest's entity tag after the checkpoints.
    fn upload(
        &mut self,
        pending: &[&Object],
        manifest: &mut Manifest,
        mut e_tag: Option<String>,
    ) -> Result<Option<String>, MirrorError> {
        let remote = self.remote;
        let mut replacing = false;
        let mut progress = Progress::new();
        for phase in PHASES {
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
                    self.wait_for_next_second(pending)?;
                    replacing = true;
                }
                // What follows changes what clients see: only a push that
                // certainly holds the lease may do it.
                remote.block_on(self.lease.renew())?;
            }
            for chunk in items.chunks(CHUNK) {
                let jobs = self.options.jobs;
                let outcomes =
                    remote.block_on(renewing(self.lease, upload_all(remote, chunk, jobs)))?;
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
                }
                progress.done += chunk.len();
                progress.since_checkpoint += chunk.len() as u64;
                if progress.said.elapsed() >= PROGRESS_EVERY && progress.done < pending.len() {
                    let what = format!(
                        "{} of {} objects ({})",
                        progress.done,
                        pending.len(),
                        human_size(self.report.bytes)
                    );
                    self.listener.status("Pushed", &what);
                    progress.said = Instant::now();
                }
                if phase.immutable() && progress.checkpoint_due() {
                    // An interrupted push resumes from here.
                    manifest.complete = false;
                    e_tag = Some(self.commit(manifest, e_tag)?);
                    progress.since_checkpoint = 0;
                    progress.checkpointed = Instant::now();
                }
            }
        }
        Ok(e_tag)
    }

    /// Waits until the server's clock is past the second in which the
    /// files this push replaces were last written: S3 dates objects to the
    /// second and answers a client's `If-Modified-Since` in that same second
    /// with 304, so apt would keep the old `InRelease`.
    fn wait_for_next_second(&mut self, pending: &[&Object]) -> Result<(), MirrorError> {
        let remote = self.remote;
        let mut last = None;
        for object in pending.iter().filter(|o| o.phase == Phase::InRelease) {
            if let Some(stored) = remote.block_on(remote.stored(&object.key))? {
                last = last.max(Some(stored.modified));
            }
        }
        let Some(last) = last else { return Ok(()) };
        // The server clock is known to the second from below: waiting for
        // it to read `last + 1` leaves the server at least there.
        let now = remote.block_on(self.lease.server_now())?;
        let ahead = last.saturating_add(1).saturating_sub(now);
        if let Ok(ahead) = u64::try_from(ahead) {
            std::thread::sleep(Duration::from_secs(ahead.min(3)));
        }
        Ok(())
    }

    /// The mirror's manifest and its entity tag (none on a first push).
    /// With `--force`, checked against a listing of the bucket: what it
    /// claims and the bucket lacks (or holds with another size) is pushed
    /// again, what the bucket holds and it does not know is adopted (and
    /// retired like any object no longer wanted), and an unreadable one is
    /// rebuilt from the listing.
    fn read_manifest(&self) -> Result<(Manifest, Option<String>), MirrorError> {
        let remote = self.remote;
        let fetched = remote.block_on(remote.get_capped(MANIFEST, manifest::MAX_BYTES));
        let fetched = match fetched {
            Err(e @ MirrorError::TooLarge { .. }) if !self.options.force => return Err(e),
            Err(MirrorError::TooLarge { .. }) => None,
            other => other?,
        };
        let e_tag = fetched.as_ref().and_then(|f| f.e_tag.clone());
        let parsed = fetched.map(|f| Manifest::parse(&f.bytes));
        let mut manifest = match parsed {
            None => Manifest::new(),
            Some(Ok(manifest)) => manifest,
            Some(Err(reason)) if !self.options.force => {
                return Err(MirrorError::BadManifest {
                    url: remote.url().to_string(),
                    reason,
                })
            }
            Some(Err(reason)) => {
                self.listener.warn(&format!(
                    "the mirror's manifest is damaged ({reason}): rebuilt from a listing of the bucket"
                ));
                Manifest::new()
            }
        };
        if self.options.force {
            let listed = remote.block_on(remote.list(""))?;
            let local_sizes: std::collections::HashMap<&str, u64> = self
                .snapshot
                .objects
                .iter()
                .filter_map(|o| o.size().map(|n| (o.key.as_str(), n)))
                .collect();
            manifest.objects.retain(|key, _| {
                let size = listed.get(key);
                size.is_some()
                    && local_sizes
                        .get(key.as_str())
                        .is_none_or(|n| Some(n) == size)
            });
            for key in listed.keys().filter(|k| manifest::valid_key(k)) {
                manifest
                    .objects
                    .entry(key.clone())
                    .or_insert_with(|| manifest::LISTED.to_owned());
            }
        }
        Ok((manifest, e_tag))
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
        let before = manifest.superseded.clone();
        let newly_superseded = manifest
            .objects
            .keys()
            .any(|key| !wanted.contains(key.as_str()) && !before.contains_key(key));
        // The server's time is needed only when something is retired.
        let now = if newly_superseded || !before.is_empty() {
            self.remote.block_on(self.lease.server_now())?
        } else {
            0
        };
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
        if !expired.is_empty() {
            // Deleting is safe only for the push that holds the lease.
            remote.block_on(self.lease.renew())?;
            let jobs = self.options.jobs.max(1);
            let deletes = futures::stream::iter(expired.iter())
                .map(|key| remote.delete(key))
                .buffer_unordered(jobs)
                .try_collect::<Vec<()>>();
            remote.block_on(renewing(self.lease, deletes))?;
        }
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

/// Runs `work` while renewing the lease every third of its TTL; fails as
/// soon as a renewal does (the lease was taken over: stop before doing more).
async fn renewing<T>(
    lease: &mut Lease<'_>,
    work: impl std::future::Future<Output = Result<T, MirrorError>>,
) -> Result<T, MirrorError> {
    let renew = async {
        loop {
            tokio::time::sleep(TTL / 3).await;
            if let Err(e) = lease.renew().await {
                return e;
            }
        }
    };
    futures::pin_mut!(work);
    futures::pin_mut!(renew);
    match futures::future::select(work, renew).await {
        futures::future::Either::Left((result, _)) => result,
        futures::future::Either::Right((error, _)) => Err(error),
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
    // A content-addressed object is uploaded only if its bytes are what its
    // id says: a damaged local file would be served, and cached, for good.
    let matches = match object.id.split_once(':') {
        Some(("sha256", digest)) => digest == sha,
        Some(("sha512", digest)) => digest == hex::encode(sha2::Sha512::digest(&bytes)),
        _ => false,
    };
    if object.phase.immutable() && !matches {
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
