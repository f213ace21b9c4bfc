//! The pipeline: a version tag in; its packages built, published into the
//! apt repository, and the outcome recorded as a git note on the tagged
//! commit (`refs/notes/buildkit`).
//!
//! The stages come from `[hooks] on-tag` of the tag's own `.buildkit.toml`
//! (default: package, publish) and run in that order, each needing the one
//! before it: package → publish → vm-test. A new stage is a [`Stage`]
//! variant and one arm in `Work::run_stage`; the record keeps one entry per
//! configured stage, so a reader sees what ran, what was skipped and what
//! never started.
//!
//! Why a note: it belongs to the commit, travels with it
//! (`git push origin refs/notes/buildkit`), needs no database, and plain
//! `git notes --ref=buildkit show v1.2.0^{commit}` answers "what did we ship
//! from this tag". There is one note per commit: each run replaces it.
//!
//! A run holds `<git-dir>/buildkit/jobs/<tag>.lock` (see [`lock`]), so a hook
//! firing twice, or a user running `pipeline` while the hook's job runs,
//! never builds and publishes the same tag twice at once; and a tag whose
//! note says it succeeded is not run again unless forced.

use std::fmt;
use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::apt::{AptError, AptRepo, InitOptions};
use crate::config::{Config, RepoConfig, FILE_NAME};
use crate::deb::WrittenDeb;
use crate::git::{git, CommitInfo, GitError, Repo};
use crate::package::{self, PackageError, PackageRequest};
use crate::process::{Cmd, ProcessError};
use crate::progress::Listener;
use crate::sign::{KeyStore, SignError};
use crate::version::VersionError;

/// The notes ref holding the records (`git notes --ref=buildkit`).
pub const NOTES_REF: &str = "refs/notes/buildkit";
/// The version of the record format, stored in each note.
pub const RECORD_SCHEMA: u32 = 1;

/// How long [`lock`] retries before reporting "already running": a probe by
/// [`is_running`] holds the lock for microseconds, a run for its whole length.
const LOCK_PATIENCE: Duration = Duration::from_millis(500);

/// One step of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Build the .deb files of the tag.
    Package,
    /// Add them to the apt repository and publish it.
    Publish,
    /// Install them in a fresh VM and run the smoke commands (not available yet).
    VmTest,
}

impl Stage {
    /// Every stage, in the order they run.
    pub const ALL: [Stage; 3] = [Stage::Package, Stage::Publish, Stage::VmTest];
    /// What runs when `[hooks] on-tag` is absent or empty.
    pub const DEFAULT: [Stage; 2] = [Stage::Package, Stage::Publish];

    /// The name used in `.buildkit.toml` and in the record.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Package => "package",
            Stage::Publish => "publish",
            Stage::VmTest => "vm-test",
        }
    }

    /// The stage called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The stage whose output this one consumes.
    fn needs(self) -> Option<Stage> {
        match self {
            Stage::Package => None,
            Stage::Publish => Some(Stage::Package),
            Stage::VmTest => Some(Stage::Publish),
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a run failed: reading its configuration, or a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reading `.buildkit.toml` and the stage list.
    Config,
    /// A stage.
    Stage(Stage),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Config => f.write_str("config"),
            Step::Stage(stage) => stage.fmt(f),
        }
    }
}

/// Why a step failed; kept, rendered, in the record.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Reading the configuration or building the packages failed.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// `[hooks] on-tag` names a stage that does not exist.
    #[error(
        "{origin}: [hooks] on-tag: unknown stage {stage:?} (known: package, publish, vm-test)"
    )]
    UnknownStage { origin: String, stage: String },
    /// `[hooks] on-tag` names a stage twice.
    #[error("{origin}: [hooks] on-tag lists {stage} twice")]
    DuplicateStage { origin: String, stage: Stage },
    /// `[hooks] on-tag` names a stage without the one it needs before it.
    #[error("{origin}: [hooks] on-tag: {stage} needs {needs} before it")]
    StageOrder {
        origin: String,
        stage: Stage,
        needs: Stage,
    },
    /// The apt repository refused or failed.
    #[error(transparent)]
    Apt(#[from] AptError),
    /// The signing key could not be loaded.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A directory of the run could not be prepared.
    #[error("could not prepare {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StepError {
    /// 2 when the user fixes it by changing configuration or keys, 1 when the work failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            StepError::Package(e) => e.exit_code(),
            StepError::UnknownStage { .. }
            | StepError::DuplicateStage { .. }
            | StepError::StageOrder { .. } => 2,
            StepError::Apt(AptError::Sign(e)) | StepError::Sign(e) => e.exit_code(),
            StepError::Apt(AptError::Io { .. }) | StepError::Io { .. } => 1,
            StepError::Apt(_) => 2,
        }
    }

    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            StepError::Package(e) => e.hint(),
            StepError::UnknownStage { .. }
            | StepError::DuplicateStage { .. }
            | StepError::StageOrder { .. } => Some(
                "on-tag lists stages in their order: package, publish, vm-test; fix it, commit, and tag a new version".into(),
            ),
            StepError::Apt(e) => e.hint(),
            StepError::Sign(e) => e.hint(),
            StepError::Io { .. } => None,
        }
    }
}

/// Why the pipeline did not run, or could not record its outcome.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The name is not a tag of the repository (or its tag does not point at a commit).
    #[error("{tag:?} is not a tag of this repository")]
    NotATag { tag: String },
    /// The tag is not a version tag under the tag's own configuration.
    #[error("{tag} is not a version tag")]
    NotAVersionTag {
        tag: String,
        #[source]
        source: VersionError,
    },
    /// Reading the repository failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// Another run of the same tag holds the lock.
    #[error("a pipeline for {tag} is already running")]
    AlreadyRunning { tag: String, lock: PathBuf },
    /// A file of `<git-dir>/buildkit` could not be used.
    #[error("could not access {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `git notes show` failed.
    #[error("could not read the {NOTES_REF} note of {commit}")]
    ReadNote {
        commit: String,
        #[source]
        source: ProcessError,
    },
    /// `git notes add` failed.
    #[error("could not write the {NOTES_REF} note of {commit}")]
    WriteNote {
        commit: String,
        #[source]
        source: ProcessError,
    },
    /// The note of the commit is not a pipeline record.
    #[error("the {NOTES_REF} note of {commit} is not a pipeline record")]
    BadNote {
        commit: String,
        #[source]
        source: serde_json::Error,
    },
    /// A step failed; the record (already written as the note) says so too.
    #[error("the pipeline of {tag} failed at {step}")]
    Failed {
        tag: String,
        step: Step,
        #[source]
        source: StepError,
        record: Box<Record>,
    },
}

impl PipelineError {
    /// The documented exit code: 1 when the work failed, 2 for usage or configuration.
    pub fn exit_code(&self) -> u8 {
        match self {
            PipelineError::NotATag { .. }
            | PipelineError::NotAVersionTag { .. }
            | PipelineError::Git(_) => 2,
            PipelineError::Failed { source, .. } => source.exit_code(),
            _ => 1,
        }
    }

    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            PipelineError::NotATag { .. } => {
                Some("`git tag --list` shows the tags; the pipeline runs for tags only".into())
            }
            PipelineError::NotAVersionTag { .. } => Some(
                "version tags are the [flow.prefix] version-tag prefix and a semver, like v1.2.0"
                    .into(),
            ),
            PipelineError::AlreadyRunning { .. } => {
                Some("`git buildkit jobs` shows it; run again once it has ended".into())
            }
            PipelineError::BadNote { .. } => Some(format!(
                "`git notes --ref={} remove COMMIT` drops it; --force replaces it",
                notes_name()
            )),
            PipelineError::Failed { source, .. } => source.hint(),
            _ => None,
        }
    }
}

/// The outcome of a run, as stored in the note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// [`RECORD_SCHEMA`] of the writer.
    pub schema: u32,
    /// The tag run.
    pub tag: String,
    /// The commit it points at (the note's object).
    pub commit: String,
    /// The tag's version (semver), once the configuration was read.
    pub version: Option<String>,
    /// Succeeded or failed.
    pub result: RunResult,
    /// The step that failed: `config` or a stage name.
    pub failed_stage: Option<String>,
    /// The error of the failed step, with its causes, `: `-separated.
    pub error: Option<String>,
    /// Each configured stage, in order.
    pub stages: Vec<StageRecord>,
    /// The packages built.
    pub packages: Vec<PackageRecord>,
    /// Where they were published.
    pub repo: Option<RepoRecord>,
    /// Start, in seconds since the Unix epoch.
    pub started: u64,
    /// End, in seconds since the Unix epoch.
    pub finished: u64,
    /// The program that wrote the record.
    pub tool: String,
}

/// Whether a run succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    /// Every stage succeeded or was skipped.
    Succeeded,
    /// A step failed.
    Failed,
}

/// What became of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageResult {
    /// It ran and succeeded.
    Succeeded,
    /// It ran and failed.
    Failed,
    /// It was not run, for the reason in `detail`.
    Skipped,
    /// An earlier step failed.
    NotRun,
}

/// One stage of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    /// The stage name (a string, so records of later versions stay readable).
    pub name: String,
    /// What became of it.
    pub result: StageResult,
    /// Its duration in milliseconds.
    pub ms: u64,
    /// Why it was skipped.
    pub detail: Option<String>,
}

/// One package of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    /// Package name.
    pub name: String,
    /// Debian version.
    pub version: String,
    /// Architecture.
    pub architecture: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the .deb, lowercase hex.
    pub sha256: String,
    /// Its path in the repository (apt's `Filename:`), once published.
    pub filename: Option<String>,
}

/// Where a record's packages were published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRecord {
    /// The repository directory.
    pub path: PathBuf,
    /// The suite.
    pub suite: String,
    /// The component.
    pub component: String,
    /// The generation published (unchanged when every package was already there).
    pub generation: u64,
    /// Whether this run created the repository.
    pub created: bool,
}

impl Record {
    fn new(tag: &str, commit: &str, started: u64) -> Self {
        Self {
            schema: RECORD_SCHEMA,
            tag: tag.to_owned(),
            commit: commit.to_owned(),
            version: None,
            result: RunResult::Succeeded,
            failed_stage: None,
            error: None,
            stages: Vec::new(),
            packages: Vec::new(),
            repo: None,
            started,
            finished: started,
            tool: concat!("git-buildkit ", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// The note's text: pretty JSON and a newline (stable under git's stripspace).
    pub fn to_note(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .expect("a record is plain data and always serializes");
        text.push('\n');
        text
    }

    fn result_word(&self) -> &'static str {
        match self.result {
            RunResult::Succeeded => "success",
            RunResult::Failed => "failure",
        }
    }

    /// Parses a note written by [`Record::to_note`].
    pub fn from_note(text: &str, commit: &str) -> Result<Self, PipelineError> {
        serde_json::from_str(text).map_err(|source| PipelineError::BadNote {
            commit: commit.to_owned(),
            source,
        })
    }
}

/// What the caller provides besides the tag (see [`lock`]).
#[derive(Clone)]
pub struct PipelineOptions {
    /// Run even when the tag's note says it already succeeded.
    pub force: bool,
    /// The keys: the default one creates a repository, the repository's own signs it.
    pub keys: KeyStore,
    /// The passphrase of the secret key, if it is protected.
    pub passphrase: Option<String>,
    /// Where repositories without `[repo] path` go: `<repos_dir>/<project>`.
    pub repos_dir: PathBuf,
    /// The home directory, for `~/` in `[repo] path`.
    pub home: Option<PathBuf>,
}

impl fmt::Debug for PipelineOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineOptions")
            .field("force", &self.force)
            .field("keys", &self.keys)
            .field("passphrase", &self.passphrase.as_ref().map(|_| "<hidden>"))
            .field("repos_dir", &self.repos_dir)
            .field("home", &self.home)
            .finish()
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every stage succeeded (or was skipped); the record is the new note.
    Ran(Record),
    /// The tag's note already said it succeeded; nothing was done.
    AlreadyPublished(Record),
}

/// The lock of one tag's run, held until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    tag: String,
    path: PathBuf,
}

impl RunLock {
    /// The tag it locks.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `<git-common-dir>/buildkit`: where runs keep their state. Linked work
/// trees share it, as they share the tags.
pub fn buildkit_dir(repo: &Repo) -> PathBuf {
    let git_dir = repo.git_dir();
    // gitrepository-layout(5): a linked work tree's git dir names the common one in `commondir`.
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|text| git_dir.join(text.trim_end_matches(['\n', '\r'])))
        .unwrap_or_else(|| git_dir.to_owned());
    common.join("buildkit")
}

/// `<git-dir>/buildkit/jobs`: locks, job states and logs.
pub fn jobs_dir(repo: &Repo) -> PathBuf {
    buildkit_dir(repo).join("jobs")
}

/// `<git-dir>/buildkit/dist/<tag>`: the packages of the tag's last run.
pub fn dist_dir(repo: &Repo, tag: &str) -> PathBuf {
    buildkit_dir(repo).join("dist").join(tag)
}

/// A tag as a file name: `/` (allowed in tags) and `%` percent-encoded.
pub fn job_id(tag: &str) -> String {
    tag.replace('%', "%25").replace('/', "%2F")
}

/// The tag of a [`job_id`].
pub fn tag_of_job_id(id: &str) -> String {
    id.replace("%2F", "/").replace("%25", "%")
}

/// Takes the lock of `tag`'s run, or reports [`PipelineError::AlreadyRunning`].
pub fn lock(repo: &Repo, tag: &str) -> Result<RunLock, PipelineError> {
    let path = jobs_dir(repo).join(format!("{}.lock", job_id(tag)));
    let io = |source| PipelineError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    let deadline = Instant::now() + LOCK_PATIENCE;
    loop {
        match file.try_lock() {
            Ok(()) => {
                return Ok(RunLock {
                    _file: file,
                    tag: tag.to_owned(),
                    path,
                })
            }
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(PipelineError::AlreadyRunning {
                    tag: tag.to_owned(),
                    lock: path,
                })
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
    }
}

/// Whether a run of `tag` holds its lock now. The probe takes a shared lock
/// for an instant, which never blocks another probe; [`lock`] waits out
/// such an instant.
pub fn is_running(repo: &Repo, tag: &str) -> Result<bool, PipelineError> {
    let path = jobs_dir(repo).join(format!("{}.lock", job_id(tag)));
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(PipelineError::Io { path, source }),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(source)) => Err(PipelineError::Io { path, source }),
    }
}

/// The commit `tag` (a tag, not any revision) points at.
pub fn tag_commit(repo: &Repo, tag: &str) -> Result<CommitInfo, PipelineError> {
    repo.tags()?
        .into_iter()
        .find(|t| t.name == tag)
        .map(|t| t.commit)
        .ok_or_else(|| PipelineError::NotATag {
            tag: tag.to_owned(),
        })
}

/// The raw note of `commit`, if it has one.
pub fn read_note(repo: &Repo, commit: &str) -> Result<Option<String>, PipelineError> {
    let result = git(git_cwd(repo))
        .args(["notes", &format!("--ref={}", notes_name()), "show", commit])
        .output();
    match result {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(ProcessError::Exit {
            code: 1, output, ..
        }) if output.contains("no note found") => Ok(None),
        Err(source) => Err(PipelineError::ReadNote {
            commit: commit.to_owned(),
            source,
        }),
    }
}

/// The record of `tag`'s commit, with the note's text, if it has one.
pub fn record_of(repo: &Repo, tag: &str) -> Result<Option<(Record, String)>, PipelineError> {
    let commit = tag_commit(repo, tag)?;
    let Some(text) = read_note(repo, &commit.id)? else {
        return Ok(None);
    };
    let record = Record::from_note(&text, &commit.id)?;
    Ok(Some((record, text)))
}

/// Runs the pipeline of the locked tag: its configured stages in order, then
/// the record as a note on the tagged commit. A tag whose note already says
/// it succeeded is left alone unless `options.force`.
pub fn run(
    repo: &Repo,
    lock: &RunLock,
    options: &PipelineOptions,
    listener: &dyn Listener,
) -> Result<Outcome, PipelineError> {
    let tag = lock.tag();
    let commit = tag_commit(repo, tag)?;
    if !options.force {
        if let Some(text) = read_note(repo, &commit.id)? {
            match Record::from_note(&text, &commit.id) {
                Ok(record) if record.tag == tag && record.result == RunResult::Succeeded => {
                    return Ok(Outcome::AlreadyPublished(record));
                }
                Ok(_) => {}
                Err(e) => listener.warn(&format!("{e}; it will be replaced")),
            }
        }
    }
    let mut record = Record::new(tag, &commit.id, unix_now());
    let origin = format!("{tag}:{FILE_NAME}");
    let loaded = package::load_config(repo, &commit, tag)
        .map_err(StepError::from)
        .and_then(|config| Ok((stages(&config, &origin)?, config)));
    let (stages, config) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return finish(repo, record, Err((Step::Config, e)), listener),
    };
    let scheme = config.tag_scheme(None);
    let version = scheme
        .parse_tag(tag)
        .map_err(|source| PipelineError::NotAVersionTag {
            tag: tag.to_owned(),
            source,
        })?;
    record.version = Some(version.to_string());
    record.stages = stages
        .iter()
        .map(|s| StageRecord {
            name: s.name().to_owned(),
            result: StageResult::NotRun,
            ms: 0,
            detail: None,
        })
        .collect();

    let mut work = Work {
        repo,
        tag,
        config: &config,
        options,
        listener,
        debs: Vec::new(),
    };
    let mut failure = None;
    for (i, stage) in stages.iter().enumerate() {
        let clock = Instant::now();
        let result = work.run_stage(*stage, &mut record);
        let entry = &mut record.stages[i];
        entry.ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(Done::Ran) => entry.result = StageResult::Succeeded,
            Ok(Done::Skipped(why)) => {
                entry.result = StageResult::Skipped;
                entry.detail = Some(why.to_owned());
            }
            Err(e) => {
                entry.result = StageResult::Failed;
                failure = Some((Step::Stage(*stage), e));
                break;
            }
        }
    }
    finish(repo, record, failure.map_or(Ok(()), Err), listener)
}

/// Completes the record, writes the note, and turns a failed step into the error.
fn finish(
    repo: &Repo,
    mut record: Record,
    result: Result<(), (Step, StepError)>,
    listener: &dyn Listener,
) -> Result<Outcome, PipelineError> {
    record.finished = unix_now();
    if let Err((step, e)) = &result {
        record.result = RunResult::Failed;
        record.failed_stage = Some(step.to_string());
        record.error = Some(error_chain(e));
    }
    listener.status(
        "Recording",
        &format!("{} of {} in {NOTES_REF}", record.result_word(), record.tag),
    );
    let written = write_note(repo, &record.commit, &record.to_note());
    match result {
        Ok(()) => written.map(|()| Outcome::Ran(record)),
        Err((step, source)) => {
            if let Err(e) = written {
                listener.warn(&error_chain(&e));
            }
            Err(PipelineError::Failed {
                tag: record.tag.clone(),
                step,
                source,
                record: Box::new(record),
            })
        }
    }
}

/// The stages `config` asks for: `[hooks] on-tag`, or [`Stage::DEFAULT`]
/// when it is absent or empty. `origin` names the file in errors.
pub fn stages(config: &Config, origin: &str) -> Result<Vec<Stage>, StepError> {
    let names = config.hooks.as_ref().map_or(&[][..], |h| &h.on_tag[..]);
    if names.is_empty() {
        return Ok(Stage::DEFAULT.to_vec());
    }
    let mut stages = Vec::new();
    for name in names {
        let stage = Stage::from_name(name).ok_or_else(|| StepError::UnknownStage {
            origin: origin.to_owned(),
            stage: name.clone(),
        })?;
        if stages.contains(&stage) {
            return Err(StepError::DuplicateStage {
                origin: origin.to_owned(),
                stage,
            });
        }
        if let Some(needs) = stage.needs().filter(|n| !stages.contains(n)) {
            return Err(StepError::StageOrder {
                origin: origin.to_owned(),
                stage,
                needs,
            });
        }
        stages.push(stage);
    }
    Ok(stages)
}

enum Done {
    Ran,
    Skipped(&'static str),
}

/// The state carried from stage to stage.
struct Work<'a> {
    repo: &'a Repo,
    tag: &'a str,
    config: &'a Config,
    options: &'a PipelineOptions,
    listener: &'a dyn Listener,
    debs: Vec<WrittenDeb>,
}

impl Work<'_> {
    fn run_stage(&mut self, stage: Stage, record: &mut Record) -> Result<Done, StepError> {
        match stage {
            Stage::Package => {
                self.package(record)?;
                Ok(Done::Ran)
            }
            Stage::Publish => {
                self.publish(record)?;
                Ok(Done::Ran)
            }
            Stage::VmTest => Ok(Done::Skipped("not available yet")),
        }
    }

    fn package(&mut self, record: &mut Record) -> Result<(), StepError> {
        let out_dir = dist_dir(self.repo, self.tag);
        // Packages of an earlier run of the tag must not be published with this one's.
        match std::fs::remove_dir_all(&out_dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StepError::Io {
                    path: out_dir,
                    source: e,
                })
            }
            _ => {}
        }
        let request = PackageRequest {
            rev: Some(self.tag.to_owned()),
            out_dir,
            compression: None,
        };
        let outcome = package::package(self.repo, &request, self.listener)?;
        record.packages = outcome
            .debs
            .iter()
            .map(|d| PackageRecord {
                name: d.name.clone(),
                version: d.version.clone(),
                architecture: d.architecture.clone(),
                size: d.size,
                sha256: d.sha256.clone(),
                filename: None,
            })
            .collect();
        self.debs = outcome.debs;
        Ok(())
    }

    fn publish(&mut self, record: &mut Record) -> Result<(), StepError> {
        let settings = self.config.repo.clone().unwrap_or_default();
        let path = repo_dir(self.repo, &settings, self.options);
        let passphrase = self.options.passphrase.as_deref();
        let (apt, key, created) = match AptRepo::open(&path) {
            Ok(apt) => {
                let key = self
                    .options
                    .keys
                    .load(Some(&apt.settings().key), passphrase)?;
                (apt, key, false)
            }
            Err(AptError::NotARepo { .. }) => {
                let key = self.options.keys.load(None, passphrase)?;
                let options = init_options(&path, &settings, &self.debs);
                self.listener.status(
                    "Creating",
                    &format!(
                        "apt repository {} ({} {}, {}; key {})",
                        path.display(),
                        options.suites.join(" "),
                        options.components.join(" "),
                        options.architectures.join(" "),
                        key.fingerprint()
                    ),
                );
                (AptRepo::init(&path, &options, &key)?, key, true)
            }
            Err(e) => return Err(e.into()),
        };
        let suite = settings
            .suite
            .clone()
            .unwrap_or_else(|| apt.settings().default_suite().to_owned());
        let component = settings
            .components
            .first()
            .cloned()
            .unwrap_or_else(|| apt.settings().default_component().to_owned());
        self.listener.status(
            "Publishing",
            &format!(
                "{} to {} ({suite}/{component})",
                self.debs
                    .iter()
                    .map(|d| format!("{} {}", d.name, d.version))
                    .collect::<Vec<_>>()
                    .join(", "),
                path.display()
            ),
        );
        let paths: Vec<PathBuf> = self.debs.iter().map(|d| d.path.clone()).collect();
        let added = apt.add(&paths, Some(&suite), Some(&component), &key)?;
        let listed = apt.list(Some(&suite))?;
        for package in &mut record.packages {
            package.filename = listed
                .iter()
                .find(|i| {
                    i.component == component
                        && i.package == package.name
                        && i.version == package.version
                        && i.architecture == package.architecture
                        && i.sha256 == package.sha256
                })
                .map(|i| i.filename.clone());
        }
        record.repo = Some(RepoRecord {
            path: apt.root().to_owned(),
            suite,
            component,
            generation: added.generation,
            created,
        });
        Ok(())
    }
}

/// What a repository created by the pipeline looks like: `[repo]`'s suite
/// (else stable) and components (else main), the packages' architectures
/// (else this machine's), named after its directory.
fn init_options(path: &Path, settings: &RepoConfig, debs: &[WrittenDeb]) -> InitOptions {
    let origin = path
        .file_name()
        .map_or("git-buildkit".into(), |n| n.to_string_lossy().into_owned());
    let mut architectures: Vec<String> = debs
        .iter()
        .map(|d| d.architecture.clone())
        .filter(|a| a != "all")
        .collect();
    architectures.sort();
    architectures.dedup();
    if architectures.is_empty() {
        architectures.push(host_arch());
    }
    InitOptions {
        label: origin.clone(),
        description: format!("{origin} packages, published by git-buildkit"),
        origin,
        suites: vec![settings.suite.clone().unwrap_or_else(|| "stable".into())],
        codename: None,
        components: if settings.components.is_empty() {
            vec!["main".into()]
        } else {
            settings.components.clone()
        },
        architectures,
        keep: settings.keep.unwrap_or(0),
    }
}

/// The repository directory: `[repo] path` (`~/` is the home directory; a
/// relative path starts at the work tree, or the git dir of a bare
/// repository), else `<repos_dir>/<project>`.
pub fn repo_dir(repo: &Repo, settings: &RepoConfig, options: &PipelineOptions) -> PathBuf {
    let Some(path) = settings.path.as_deref() else {
        return options.repos_dir.join(project_name(repo));
    };
    let path = match (path.strip_prefix("~/"), &options.home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    };
    if path.is_relative() {
        git_cwd(repo).join(path)
    } else {
        path
    }
}

/// The project's name: its work tree's directory, or the bare repository's
/// without `.git` (`hello.git` → `hello`).
pub fn project_name(repo: &Repo) -> String {
    let dir = match repo.workdir() {
        Some(workdir) => workdir.to_owned(),
        None => repo.git_dir().to_owned(),
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.strip_suffix(".git") {
        Some(stem) if !stem.is_empty() => stem.to_owned(),
        _ if name.is_empty() => "default".to_owned(),
        _ => name,
    }
}

/// dpkg's idea of this machine's architecture, else Rust's mapped to Debian's names.
pub fn host_arch() -> String {
    Cmd::new("dpkg")
        .arg("--print-architecture")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o).trim().to_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| {
            match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                "x86" => "i386",
                "powerpc64" => "ppc64el",
                other => other,
            }
            .to_owned()
        })
}

/// `buildkit` for `--ref=`.
fn notes_name() -> &'static str {
    NOTES_REF.trim_start_matches("refs/notes/")
}

/// Where `git` runs for this repository: the work tree, or the git dir.
fn git_cwd(repo: &Repo) -> &Path {
    repo.workdir().unwrap_or(repo.git_dir())
}

/// Replaces the note of `commit` with `text`. Runs of different tags write
/// notes one at a time (git would refuse a second writer of the notes ref).
fn write_note(repo: &Repo, commit: &str, text: &str) -> Result<(), PipelineError> {
    let dir = buildkit_dir(repo);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PipelineError::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let lock_path = dir.join("notes.lock");
    let guard = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    guard.lock().map_err(io(&lock_path))?;
    let mut file = tempfile::Builder::new()
        .prefix("note-")
        .tempfile_in(&dir)
        .map_err(io(&dir))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .map_err(io(file.path()))?;
    let note = |identity: &[&str]| {
        git(git_cwd(repo))
            .args(identity)
            .args([
                "notes",
                &format!("--ref={}", notes_name()),
                "add",
                "-f",
                "-F",
            ])
            .arg(file.path())
            .arg(commit)
            .output()
    };
    let result = match note(&[]) {
        // A server account often has no user.email; the note still needs a committer.
        Err(ProcessError::Exit { output, .. })
            if output.contains("Please tell me who you are")
                || output.contains("unable to auto-detect email address") =>
        {
            note(&[
                "-c",
                "user.name=git-buildkit",
                "-c",
                "user.email=git-buildkit@localhost",
            ])
        }
        other => other,
    };
    result
        .map(|_| ())
        .map_err(|source| PipelineError::WriteNote {
            commit: commit.to_owned(),
            source,
        })
}

/// An error and its causes, `: `-separated, as one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn config(on_tag: &str) -> Config {
        Config::parse(
            &format!("[hooks]\non-tag = {on_tag}\n"),
            "v1.0.0:.buildkit.toml",
        )
        .expect("config")
    }

    #[test]
    fn stages_default_and_validate() {
        let origin = "v1.0.0:.buildkit.toml";
        assert_eq!(
            stages(&Config::default(), origin).expect("default"),
            vec![Stage::Package, Stage::Publish]
        );
        assert_eq!(
            stages(&config("[]"), origin).expect("empty"),
            vec![Stage::Package, Stage::Publish]
        );
        assert_eq!(
            stages(&config(r#"["package", "publish", "vm-test"]"#), origin).expect("all"),
            vec![Stage::Package, Stage::Publish, Stage::VmTest]
        );
        assert_eq!(
            stages(&config(r#"["package"]"#), origin).expect("package only"),
            vec![Stage::Package]
        );
        let errors = [
            (r#"["package", "deploy"]"#, "v1.0.0:.buildkit.toml: [hooks] on-tag: unknown stage \"deploy\" (known: package, publish, vm-test)"),
            (r#"["package", "package"]"#, "v1.0.0:.buildkit.toml: [hooks] on-tag lists package twice"),
            (r#"["publish", "package"]"#, "v1.0.0:.buildkit.toml: [hooks] on-tag: publish needs package before it"),
            (r#"["package", "vm-test"]"#, "v1.0.0:.buildkit.toml: [hooks] on-tag: vm-test needs publish before it"),
        ];
        for (list, want) in errors {
            let error = stages(&config(list), origin).expect_err(list);
            assert_eq!(error.to_string(), want);
            assert_eq!(error.exit_code(), 2);
        }
    }

    #[test]
    fn job_ids_are_file_names() {
        for (tag, id) in [
            ("v1.2.0", "v1.2.0"),
            ("release/1.2.0", "release%2F1.2.0"),
            ("odd%2Fname", "odd%252Fname"),
        ] {
            assert_eq!(job_id(tag), id);
            assert_eq!(tag_of_job_id(id), tag);
        }
    }

    #[test]
    fn records_round_trip_through_their_note_text() {
        let mut record = Record::new("v1.2.0", "0123abcd", 1_767_261_600);
        record.tool = "git-buildkit 0.0.0".into();
        record.version = Some("1.2.0".into());
        record.result = RunResult::Failed;
        record.failed_stage = Some("publish".into());
        record.error = Some("could not access /repo: denied".into());
        record.stages = vec![
            StageRecord {
                name: "package".into(),
                result: StageResult::Succeeded,
                ms: 812,
                detail: None,
            },
            StageRecord {
                name: "vm-test".into(),
                result: StageResult::NotRun,
                ms: 0,
                detail: None,
            },
        ];
        record.packages = vec![PackageRecord {
            name: "hello".into(),
            version: "1.2.0-1".into(),
            architecture: "all".into(),
            size: 2048,
            sha256: "ab".repeat(32),
            filename: None,
        }];
        let text = record.to_note();
        assert_eq!(
            text,
            format!(
                r#"{{
  "schema": 1,
  "tag": "v1.2.0",
  "commit": "0123abcd",
  "version": "1.2.0",
  "result": "failed",
  "failed_stage": "publish",
  "error": "could not access /repo: denied",
  "stages": [
    {{
      "name": "package",
      "result": "succeeded",
      "ms": 812,
      "detail": null
    }},
    {{
      "name": "vm-test",
      "result": "not-run",
      "ms": 0,
      "detail": null
    }}
  ],
  "packages": [
    {{
      "name": "hello",
      "version": "1.2.0-1",
      "architecture": "all",
      "size": 2048,
      "sha256": "{}",
      "filename": null
    }}
  ],
  "repo": null,
  "started": 1767261600,
  "finished": 1767261600,
  "tool": "git-buildkit 0.0.0"
}}
"#,
                "ab".repeat(32)
            )
        );
        assert_eq!(
            Record::from_note(&text, "0123abcd").expect("parses"),
            record
        );
        let error = Record::from_note("not json", "0123abcd").expect_err("bad");
        assert_eq!(
            error.to_string(),
            "the refs/notes/buildkit note of 0123abcd is not a pipeline record"
        );
    }

    #[test]
    fn error_chains_are_one_line() {
        let error = StepError::Io {
            path: PathBuf::from("/x/dist"),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        };
        assert_eq!(error_chain(&error), "could not prepare /x/dist: denied");
    }
}
