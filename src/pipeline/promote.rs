//! The promote stage, and promotion by hand: the packages a run published
//! into the staging suite — the very files its VM test installed, checked
//! by their SHA-256 against the record — copied into the release suite in
//! one atomic publish, with retention applied there. Until this step the
//! release suite is untouched, byte for byte: a failed or crashed VM test
//! never reaches the users of a release suite.

use super::note::write_note;
use super::run::Work;
use super::{
    lock, record_of, PipelineError, PipelineOptions, PromotionRecord, Record, StageRecord,
    StageResult, StepError,
};
use crate::apt::{AptRepo, ExactFile};
use crate::config::Config;
use crate::git::Repo;
use crate::progress::Listener;
use crate::time::unix_now;

impl Work<'_> {
    pub(super) fn promote(&mut self, record: &mut Record) -> Result<(), StepError> {
        let Some(target) = self.target.clone() else {
            return Err(StepError::Unpublished { stage: "promote" });
        };
        let promotion = promote_record(
            record,
            &target,
            &self.options.keys,
            self.options.passphrase.as_deref(),
            Release {
                repo: self.repo,
                config: self.config,
                tag: self.tag,
            },
            self.listener,
        )?;
        record.promotion = Some(promotion);
        match &record.repo {
            Some(published) => self.push_mirrors(&AptRepo::open(&published.path)?),
            None => Ok(()),
        }
    }
}

/// What the source release of a promotion needs.
struct Release<'a> {
    repo: &'a Repo,
    config: &'a Config,
    tag: &'a str,
}

/// Copies the record's packages from the suite they were published to
/// into `target`, after checking that the staging suite still serves
/// exactly the files the record names, then publishes the tag's source
/// release beside the repository (into `record`).
// Long function: the checks, the release and the copy in their one order.
fn promote_record(
    record: &mut Record,
    target: &str,
    keys: &crate::sign::KeyStore,
    passphrase: Option<&str>,
    release: Release<'_>,
    listener: &dyn Listener,
) -> Result<PromotionRecord, StepError> {
    let Some(published) = &record.repo else {
        return Err(StepError::Unpublished { stage: "promote" });
    };
    let apt = AptRepo::open(&published.path)?;
    let key = keys.load(Some(&apt.settings().key), passphrase)?;
    // Names as the repository resolves them (a codename names its suite).
    let from = apt.resolve_suite(&published.suite)?;
    let target = apt.resolve_suite(target)?;
    if from == target {
        return Err(StepError::NothingToPromote { suite: target });
    }
    let staged = apt.list(Some(&from))?;
    let mut specs = Vec::new();
    let mut files = Vec::new();
    for package in &record.packages {
        let found = staged.iter().any(|i| {
            i.package == package.name
                && i.version == package.version
                && i.architecture == package.architecture
                && i.sha256 == package.sha256
        });
        if !found {
            return Err(StepError::NotStaged {
                package: package.name.clone(),
                version: package.version.clone(),
                suite: from,
            });
        }
        files.push(ExactFile {
            package: package.name.clone(),
            version: package.version.clone(),
            architecture: package.architecture.clone(),
            sha256: package.sha256.clone(),
        });
        let spec = format!("{}={}", package.name, package.version);
        if !specs.contains(&spec) {
            specs.push(spec);
        }
    }
    listener.status(
        "Promoting",
        &format!("{} from {from} to {target}", specs.join(", ")),
    );
    // The exact files, checked again under the repository's lock.
    let copy = apt.copy_exact(&from, &target, &files, &key)?;
    let pruned = copy.pruned;
    if !pruned.is_empty() {
        listener.note(&format!(
            "retention dropped {} from {target}",
            pruned.join(", ")
        ));
    }
    // Released once promoted: a failed promotion leaves no source release
    // of a version its users never got.
    super::source_release::release_source(
        release.repo,
        release.config,
        release.tag,
        record,
        &apt,
        &key,
        listener,
    )?;
    Ok(PromotionRecord {
        from,
        to: target,
        packages: specs,
        generation: copy.generation,
        pruned,
        by_hand: false,
        reason: None,
        at: unix_now(),
    })
}

/// Promotes `tag` by hand: the packages its last run published into the
/// staging suite go into the release suite (`to`, else `[repo] suite` of
/// the tag, else the repository's first suite), whatever that run's VM
/// verdict, with `reason` recorded in the tag's note.
pub fn promote(
    repo: &Repo,
    tag: &str,
    to: Option<&str>,
    reason: &str,
    options: &PipelineOptions,
    listener: &dyn Listener,
) -> Result<Record, PipelineError> {
    let run_lock = lock(repo, tag)?;
    let Some((mut record, _)) = record_of(repo, run_lock.tag())? else {
        return Err(PipelineError::NoRecord {
            tag: tag.to_owned(),
        });
    };
    let failed = |source| PipelineError::Promote {
        tag: tag.to_owned(),
        source,
    };
    let Some(published) = &record.repo else {
        return Err(failed(StepError::Unpublished { stage: "promote" }));
    };
    let commit = super::tag_commit(repo, tag)?;
    let config = crate::package::load_config(repo, &commit, tag).map_err(|e| failed(e.into()))?;
    let target = match to {
        Some(to) => to.to_owned(),
        None => {
            let apt = AptRepo::open(&published.path).map_err(|e| failed(e.into()))?;
            config
                .repo
                .clone()
                .unwrap_or_default()
                .target_suite(apt.settings().default_suite())
        }
    };
    let promotion = promote_record(
        &mut record,
        &target,
        &options.keys,
        options.passphrase.as_deref(),
        Release {
            repo,
            config: &config,
            tag,
        },
        listener,
    )
    .map_err(failed)?;
    record.promotion = Some(PromotionRecord {
        by_hand: true,
        reason: Some(reason.to_owned()),
        ..promotion
    });
    let detail = format!("by hand: {reason}");
    match record.stages.iter_mut().find(|s| s.name == "promote") {
        Some(stage) => {
            stage.result = StageResult::Succeeded;
            stage.detail = Some(detail);
        }
        None => record.stages.push(StageRecord {
            name: "promote".into(),
            result: StageResult::Succeeded,
            ms: 0,
            detail: Some(detail),
        }),
    }
    write_note(repo, &record.commit, &record.to_note())?;
    Ok(record)
}
