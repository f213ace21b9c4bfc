//! Running the pipeline of a locked tag: what the caller provides
//! ([`PipelineOptions`]), the stages in order with the state carried between
//! them, the package stage, and the record written as the note at the end,
//! whatever the outcome ([`Outcome`], or [`PipelineError::Failed`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use super::note::write_note;
use super::{
    dist_dir, error_chain, read_note, stages, tag_commit, PackageRecord, PipelineError, Record,
    RunLock, RunResult, Stage, StageRecord, StageResult, Step, StepError, NOTES_REF,
};
use crate::config::Config;
use crate::deb::WrittenDeb;
use crate::debhelper::foreign::ForeignLibraries;
use crate::git::Repo;
use crate::package::{self, PackageRequest};
use crate::paths;
use crate::progress::Listener;
use crate::sign::KeyStore;
use crate::time::unix_now;

/// What the caller provides besides the tag (see [`lock`](super::lock())).
#[derive(Clone)]
pub struct PipelineOptions {
    /// Run even when the tag's note says it already succeeded.
    pub force: bool,
    /// The keys: the default one creates a repository, the repository's own signs it.
    pub keys: KeyStore,
    /// The passphrase of the secret key, if it is protected.
    pub passphrase: Option<String>,
    /// The user's directories: where repositories without `[repo] path`
    /// go, `~/` in it, the VM images of the vm-test stage.
    pub paths: paths::Env,
    /// The program a VM's repository connections run (this binary).
    pub serve_program: PathBuf,
    /// Where another architecture's library information comes from.
    pub foreign: Option<std::sync::Arc<dyn ForeignLibraries>>,
}

impl fmt::Debug for PipelineOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineOptions")
            .field("force", &self.force)
            .field("keys", &self.keys)
            .field("passphrase", &self.passphrase.as_ref().map(|_| "<hidden>"))
            .field("paths", &self.paths)
            .field("serve_program", &self.serve_program)
            .field("foreign", &self.foreign)
            .finish()
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every stage succeeded (or was skipped); the record is the new note.
    Ran(Record),
    /// The tag's note already said it succeeded; nothing was done.
    AlreadyPublished(Record),
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
                // Promoted by hand counts as done too: a rerun would lose the reason.
                Ok(record)
                    if record.tag == tag
                        && (record.result == RunResult::Succeeded
                            || record.promotion.as_ref().is_some_and(|p| p.by_hand)) =>
                {
                    return Ok(Outcome::AlreadyPublished(record));
                }
                Ok(_) => {}
                Err(e) => listener.warn(&format!("{e}; it will be replaced")),
            }
        }
    }
    let mut record = Record::new(tag, &commit.id, unix_now());
    let loaded = package::load_config(repo, &commit, tag)
        .map_err(StepError::from)
        .map(|config| (stages(&config), config));
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
        commit: commit.clone(),
        gated: stages.contains(&Stage::Promote),
        tested_after_release: stages.contains(&Stage::VmTest) && !stages.contains(&Stage::Promote),
        target: None,
    };
    let mut failure = None;
    for (i, stage) in stages.iter().enumerate() {
        let clock = Instant::now();
        let result = work.run_stage(*stage, &mut record);
        let entry = &mut record.stages[i];
        entry.ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(()) => entry.result = StageResult::Succeeded,
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

/// The state carried from stage to stage.
pub(super) struct Work<'a> {
    pub(super) repo: &'a Repo,
    pub(super) tag: &'a str,
    pub(super) config: &'a Config,
    pub(super) options: &'a PipelineOptions,
    pub(super) listener: &'a dyn Listener,
    pub(super) debs: Vec<WrittenDeb>,
    pub(super) commit: crate::git::CommitInfo,
    /// The run ends in a promote stage: publish goes to the staging suite.
    pub(super) gated: bool,
    /// The run tests in a VM what it already published into the release suite.
    pub(super) tested_after_release: bool,
    /// The release suite, once publish has opened the repository.
    pub(super) target: Option<String>,
}

impl Work<'_> {
    fn run_stage(&mut self, stage: Stage, record: &mut Record) -> Result<(), StepError> {
        match stage {
            Stage::Package => self.package(record),
            Stage::Publish => self.publish(record),
            Stage::VmTest => self.vm_test(record),
            Stage::Promote => self.promote(record),
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
            allow_unresolved: false,
            foreign: self.options.foreign.clone(),
        };
        let outcome = package::package(self.repo, &request, self.listener).inspect_err(|e| {
            record.output = e
                .build_output()
                .filter(|o| !o.is_empty())
                .map(str::to_owned);
        })?;
        record.commands.clone_from(&outcome.builds);
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
        record.python = outcome.python;
        self.debs = outcome.debs;
        Ok(())
    }
}
