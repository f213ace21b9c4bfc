//! The pipeline's errors: [`StepError`], why one step failed (rendered
//! into the record), [`PipelineError`], why a run did not happen or
//! could not record its outcome, and [`VmPlanError`], why a tag could not
//! be resolved into a VM test; with their exit codes and hints, and
//! [`error_chain`], the one-line form a record and a warning use.

use std::path::PathBuf;

use super::note::notes_name;
use super::{Record, SourceReleaseError, Step, NOTES_REF};
use crate::apt::AptError;
use crate::git::GitError;
use crate::package::PackageError;
use crate::paths::PathsError;
use crate::process::ProcessError;
use crate::sign::SignError;
use crate::version::VersionError;
use crate::vm::dep8::Dep8Error;
use crate::vm::{VerdictKind, VmError};

/// Why a step failed; kept, rendered, in the record.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Reading the configuration or building the packages failed.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The apt repository refused or failed.
    #[error(transparent)]
    Apt(#[from] AptError),
    /// The signing key could not be loaded.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The tag could not be resolved into a VM test.
    #[error(transparent)]
    VmPlan(Box<VmPlanError>),
    /// The VM test could not run.
    #[error(transparent)]
    Vm(Box<VmError>),
    /// The VM test ran and did not pass: `kind` is failed or test bed failed.
    #[error("{}: {detail}", kind.word())]
    VmVerdict { kind: VerdictKind, detail: String },
    /// A suite of `[vm] suites` did not pass: `detail` names each such
    /// suite and why; `code` is the worst suite's exit code.
    #[error("not every suite passed: {detail}")]
    VmMatrix {
        code: crate::exit::ExitCode,
        detail: String,
    },
    /// Pushing the repository to a `[repo] mirror` failed (the local
    /// repository is published; `git buildkit repo push` retries).
    #[error("the repository is published, but pushing it to a mirror failed")]
    Mirror(#[source] Box<crate::apt::mirror::MirrorError>),
    /// The vm-test stage ran without a published repository to install from.
    #[error("not run: vm-test needs the publish stage before it")]
    VmUnpublished,
    /// A stage that needs the tag's packages in a repository ran without them.
    #[error("not run: {stage} needs the packages published first")]
    Unpublished { stage: &'static str },
    /// The staging suite is the release suite under another name.
    #[error("the staging suite is the release suite {suite}: a gated run must not publish there before its VM test")]
    StagingIsRelease { suite: String },
    /// The packages were published straight into the release suite.
    #[error("the packages were published straight into {suite}: there is nothing to promote")]
    NothingToPromote { suite: String },
    /// The staging suite no longer serves a package of the record as it was built.
    #[error("{package} {version} is not in {suite} as the run built it (removed, or other bytes)")]
    NotStaged {
        package: String,
        version: String,
        suite: String,
    },
    /// The source release could not be written.
    #[error(transparent)]
    SourceRelease(Box<SourceReleaseError>),
    /// A directory the run needs could not be located (no `HOME`).
    #[error("cannot locate the {what}")]
    Locate {
        what: &'static str,
        #[source]
        source: PathsError,
    },
    /// A directory of the run could not be prepared.
    #[error("could not prepare {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<VmError> for StepError {
    fn from(e: VmError) -> Self {
        StepError::Vm(Box::new(e))
    }
}

impl From<SourceReleaseError> for StepError {
    fn from(e: SourceReleaseError) -> Self {
        StepError::SourceRelease(Box::new(e))
    }
}

impl From<VmPlanError> for StepError {
    fn from(e: VmPlanError) -> Self {
        StepError::VmPlan(Box::new(e))
    }
}

impl From<crate::apt::mirror::MirrorError> for StepError {
    fn from(e: crate::apt::mirror::MirrorError) -> Self {
        StepError::Mirror(Box::new(e))
    }
}

impl StepError {
    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            StepError::Package(e) => e.hint(),
            StepError::Apt(e) => e.hint(),
            StepError::Sign(e) => e.hint(),
            StepError::VmPlan(e) => e.hint(),
            StepError::Vm(e) => e.hint(),
            StepError::VmVerdict { .. }
            | StepError::VmMatrix { .. }
            | StepError::VmUnpublished => Some(
                "`git buildkit show TAG` has the record; `git buildkit vm-test TAG --keep` reruns it and keeps the VM".into(),
            ),
            StepError::SourceRelease(e) => e.hint(),
            StepError::Mirror(e) => Some(e.hint().map_or_else(
                || "`git buildkit repo push` pushes again when the mirror is reachable".to_owned(),
                |h| format!("{h}; then `git buildkit repo push`"),
            )),
            StepError::Locate { .. } => Some("set HOME to your home directory".into()),
            StepError::Unpublished { .. } | StepError::NotStaged { .. } => Some(
                "run the pipeline again: `git buildkit pipeline TAG --force`".into(),
            ),
            StepError::StagingIsRelease { .. } => Some(
                "set [repo] staging to a suite of its own (not the release suite's name or codename)".into(),
            ),
            StepError::NothingToPromote { .. } => Some(
                "add \"promote\" to [hooks] on-tag so that runs publish into the staging suite first".into(),
            ),
            StepError::Io { .. } => None,
        }
    }
}

/// Why a tag could not be resolved into a VM test: its configuration,
/// its tree, the repository it was published to.
#[derive(Debug, thiserror::Error)]
pub enum VmPlanError {
    /// The image cannot be used (none of that name, damaged).
    #[error(transparent)]
    Vm(#[from] VmError),
    /// Reading the tag's configuration or version failed.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// Reading the repository failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The apt repository could not be read.
    #[error(transparent)]
    Apt(#[from] AptError),
    /// `debian/tests/control` is malformed.
    #[error(transparent)]
    Dep8(#[from] Dep8Error),
    /// The repository's public key could not be read.
    #[error("could not access {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The repository's public key cannot be used.
    #[error("the repository key {path} is not usable")]
    BadKey {
        path: PathBuf,
        #[source]
        source: SignError,
    },
    /// A DEP-8 test script is not in the tagged tree.
    #[error("{origin} names the test {script}, which the tag does not have")]
    MissingScript { origin: String, script: String },
    /// A package of the tag is not in the repository.
    #[error("{name} {version} is not published in {repo} (suite {suite})")]
    NotPublished {
        name: String,
        version: String,
        repo: PathBuf,
        suite: String,
    },
    /// The tag's configuration has no packages.
    #[error("{origin} defines no [[package]]: there is nothing to install")]
    NoPackages { origin: String },
    /// The host's apt mirrors could not be read.
    #[error(transparent)]
    Proxy(#[from] crate::proxy::ProxyError),
    /// The packages need Debian, but the image's mirror is not one the
    /// host's apt uses, so the proxy would refuse it.
    #[error(
        "the image {image} was built from {mirror}, which is not among this host's apt mirrors"
    )]
    MirrorNotAllowed { image: String, mirror: String },
    /// Dependencies no source of the guest has.
    #[error("{} is in none of the guest's sources: {sources}", missing.join(", "))]
    NoSource {
        /// Each missing dependency, with the libraries it carries.
        missing: Vec<String>,
        /// The sources looked in.
        sources: String,
    },
}

impl VmPlanError {
    /// Advice for the user, where there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            VmPlanError::NotPublished { .. } => Some(
                "publish the tag first: `git buildkit pipeline TAG` (or `git buildkit repo add`)"
                    .into(),
            ),
            VmPlanError::MirrorNotAllowed { .. } => Some(
                "the caching proxy fetches only from the mirrors in the host's apt sources: \
                 rebuild the image with `git buildkit vm create --refresh` (it takes the host's \
                 mirror), or set `[vm] debian = false` if the guest needs nothing from Debian"
                    .into(),
            ),
            VmPlanError::NoSource { .. } => Some(
                "publish the library's package into the repository with the tag's, or build \
                 against a library the image's Debian suite has"
                    .into(),
            ),
            VmPlanError::Vm(e) => e.hint(),
            VmPlanError::Package(e) => e.hint(),
            VmPlanError::Apt(e) => e.hint(),
            _ => None,
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
    /// The tag has no record: no run ever published it.
    #[error("{tag} has no record in {NOTES_REF}: it was never run")]
    NoRecord { tag: String },
    /// Promoting by hand failed.
    #[error("could not promote {tag}")]
    Promote {
        tag: String,
        #[source]
        source: StepError,
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
            PipelineError::Failed { source, .. } | PipelineError::Promote { source, .. } => {
                source.hint()
            }
            PipelineError::NoRecord { .. } => {
                Some("run it first: `git buildkit pipeline TAG`".into())
            }
            _ => None,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn error_chains_are_one_line() {
        let error = StepError::Io {
            path: PathBuf::from("/x/dist"),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        };
        assert_eq!(error_chain(&error), "could not prepare /x/dist: denied");
    }
}
