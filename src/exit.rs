//! The exit codes, decided in one place from the typed errors.
//!
//! The documented contract (README, `git buildkit --help`): `0` success,
//! `1` the work failed (a build error, a damaged file, a failed test),
//! `2` a usage or configuration error (what the user fixes by asking
//! differently), `3` the test bed failed (the VM did not boot, the install
//! failed before any test ran). An interrupted VM exits 130, as a shell
//! reports SIGINT.
//!
//! Every error type of the library gets its code here, and only here: the
//! CLI renders any error with the code of [`ExitCode`]'s mapping, and the
//! pipeline records the same codes. An error that wraps another (a
//! repository's signing error, a VM test's packaging error) takes the code
//! of the one it wraps, so the same failure exits the same way whichever
//! command met it.

use std::fmt;

use crate::apt::AptError;
use crate::deb::DebError;
use crate::flow::FlowError;
use crate::git::GitError;
use crate::hooks::HookError;
use crate::package::PackageError;
use crate::paths::PathsError;
use crate::pipeline::{PipelineError, StepError, VerifyError, VmPlanError};
use crate::proxy::ProxyError;
use crate::sign::SignError;
use crate::template::TemplateError;
use crate::vm::{VerdictKind, VmError};

/// How a command ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: it did what was asked.
    Success,
    /// 1: the work failed (a build, a damaged file, a failed test).
    Failed,
    /// 2: usage or configuration; asking differently fixes it.
    Usage,
    /// 3: the test bed failed, so there is no verdict on the tests.
    Testbed,
    /// 130: interrupted by a signal (SIGINT), as a shell reports it.
    Interrupted,
    /// Another program's status, handed on unchanged (a chained git hook's).
    Status(u8),
}

impl ExitCode {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failed => 1,
            ExitCode::Usage => 2,
            ExitCode::Testbed => 3,
            ExitCode::Interrupted => 130,
            ExitCode::Status(code) => code,
        }
    }

    /// Whether it is [`ExitCode::Success`] (or a status of 0).
    pub fn is_success(self) -> bool {
        self.code() == 0
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// `assert_eq!(error.exit_code(), 2)` reads as the documented number.
impl PartialEq<u8> for ExitCode {
    fn eq(&self, other: &u8) -> bool {
        self.code() == *other
    }
}

impl VerdictKind {
    /// Passed 0, failed 1, the test bed failed 3.
    pub fn exit_code(self) -> ExitCode {
        match self {
            VerdictKind::Passed => ExitCode::Success,
            VerdictKind::Failed => ExitCode::Failed,
            VerdictKind::TestbedFailed => ExitCode::Testbed,
        }
    }
}

impl SignError {
    /// Usage for what the user fixes by asking differently (a key name, a
    /// passphrase, the user ID, where the store is), failed otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self.root() {
            SignError::InvalidUserId { .. }
            | SignError::NoSecret { .. }
            | SignError::MissingPassphrase { .. }
            | SignError::WrongPassphrase { .. }
            | SignError::NoHome { .. }
            | SignError::NoDefaultKey { .. }
            | SignError::UnknownKey { .. }
            | SignError::AmbiguousKey { .. }
            | SignError::BadKeySpec { .. } => ExitCode::Usage,
            _ => ExitCode::Failed,
        }
    }
}

impl crate::apt::mirror::MirrorError {
    /// Usage for what the user fixes in the URL, the credentials or the
    /// bucket; failed for the rest (a request that failed after retries,
    /// another push, a conflict); the local repository's as it decides.
    pub fn exit_code(&self) -> ExitCode {
        use crate::apt::mirror::MirrorError as E;
        match self {
            E::BadUrl { .. }
            | E::BadKey { .. }
            | E::NoCredentials { .. }
            | E::NoBucket { .. }
            | E::Denied { .. }
            | E::NotAllowed { .. }
            | E::BadAllow(_) => ExitCode::Usage,
            E::Apt(e) => e.exit_code(),
            _ => ExitCode::Failed,
        }
    }
}

impl AptError {
    /// Failed for a file that could not be accessed; a signing error as
    /// signing decides (the same key problem exits the same way from `repo`
    /// and from the pipeline); usage for everything the user asked of the
    /// repository (names, suites, packages it refuses).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            AptError::Sign(e) => e.exit_code(),
            AptError::Io { .. } => ExitCode::Failed,
            _ => ExitCode::Usage,
        }
    }
}

impl DebError {
    /// A damaged or unreadable file, or a failed write, is failed work; a
    /// bad directory or control file is usage.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            DebError::Corrupt { .. }
            | DebError::Read { .. }
            | DebError::Write { .. }
            | DebError::ReadSource { .. } => ExitCode::Failed,
            _ => ExitCode::Usage,
        }
    }
}

impl PackageError {
    /// Failed when the build or writing failed, usage for the
    /// configuration, the tag and the rest of what was asked.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            PackageError::Build { .. }
            | PackageError::Test { .. }
            | PackageError::BuildTimeout { .. }
            | PackageError::Strip { .. }
            | PackageError::BadElf { .. }
            | PackageError::UnresolvedLibraries { .. }
            | PackageError::Shlibs { .. }
            | PackageError::Foreign { .. }
            | PackageError::NoSandbox { .. }
            | PackageError::BuildPathInPackage { .. }
            | PackageError::Python(_)
            | PackageError::Io { .. } => ExitCode::Failed,
            PackageError::Deb {
                source: DebError::Write { .. } | DebError::ReadSource { .. },
                ..
            } => ExitCode::Failed,
            _ => ExitCode::Usage,
        }
    }
}

impl GitError {
    /// Usage: not a repository, an unknown revision, a work tree git refuses.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Usage
    }
}

impl ProxyError {
    /// Failed for the cache's own files; the test bed failed when the
    /// proxy cannot run (no apt-config, no TLS client, no connection).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            ProxyError::OpenCache { .. }
            | ProxyError::ReadCache { .. }
            | ProxyError::Remove { .. } => ExitCode::Failed,
            _ => ExitCode::Testbed,
        }
    }
}

impl TemplateError {
    /// Failed when files could not be written, git failed or a merge
    /// stopped with conflicts; usage for what was asked (names, values,
    /// a template that does not render).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            TemplateError::Io { .. } | TemplateError::Git(_) | TemplateError::Conflicts { .. } => {
                ExitCode::Failed
            }
            TemplateError::Flow(e) => e.exit_code(),
            _ => ExitCode::Usage,
        }
    }
}

impl PathsError {
    /// Usage: the environment does not say where the user's files are.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Usage
    }
}

impl FlowError {
    /// Failed when the work stopped (a conflict, a hook, git), usage otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            FlowError::Conflict { .. }
            | FlowError::HookRefused { .. }
            | FlowError::Git(_)
            | FlowError::Io { .. }
            | FlowError::MergeUnresolved { .. }
            | FlowError::RefsChanged { .. }
            | FlowError::SquashConflict { .. }
            | FlowError::RebaseConflict { .. }
            | FlowError::Stopped { .. } => ExitCode::Failed,
            _ => ExitCode::Usage,
        }
    }
}

impl HookError {
    /// Usage when the user fixes it by asking differently; a pipeline
    /// error as the pipeline decides; failed otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            HookError::ChainTaken { .. } | HookError::Git(_) => ExitCode::Usage,
            HookError::Pipeline(e) => e.exit_code(),
            _ => ExitCode::Failed,
        }
    }
}

impl VmError {
    /// Usage for bad input, interrupted, else the test bed failed.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            VmError::BadName { .. }
            | VmError::BadMemory { .. }
            | VmError::BadDuration { .. }
            | VmError::BadMode { .. }
            | VmError::BadForward { .. }
            | VmError::PortBusy { .. }
            | VmError::StdinTooLarge { .. }
            | VmError::OutOfRange { .. }
            | VmError::NoImage { .. }
            | VmError::NoSuiteImage { .. }
            | VmError::SuiteMismatch { .. }
            | VmError::DuplicateSuite { .. }
            | VmError::NoRun { .. } => ExitCode::Usage,
            VmError::Interrupted => ExitCode::Interrupted,
            _ => ExitCode::Testbed,
        }
    }
}

impl VmPlanError {
    /// Usage for a tag that names no packages or tests it does not have,
    /// and a malformed `debian/tests/control`; the wrapped error's own code
    /// for the image and the packaging; else the test bed failed (the
    /// repository, its key, a package not published in it).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            VmPlanError::Dep8(_)
            | VmPlanError::MissingScript { .. }
            | VmPlanError::NoPackages { .. } => ExitCode::Usage,
            VmPlanError::Vm(e) => e.exit_code(),
            VmPlanError::Package(e) => e.exit_code(),
            VmPlanError::Proxy(e) => e.exit_code(),
            _ => ExitCode::Testbed,
        }
    }
}

impl StepError {
    /// Each wrapped error's own code; usage for an unlocated directory or a
    /// VM test with nothing published; a VM test's verdict.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            StepError::Package(e) => e.exit_code(),
            StepError::Locate { .. }
            | StepError::VmUnpublished
            | StepError::Unpublished { .. }
            | StepError::NothingToPromote { .. }
            | StepError::StagingIsRelease { .. } => ExitCode::Usage,
            StepError::NotStaged { .. } => ExitCode::Failed,
            StepError::Apt(e) => e.exit_code(),
            StepError::Sign(e) => e.exit_code(),
            StepError::Io { .. } | StepError::SourceRelease(_) => ExitCode::Failed,
            StepError::Mirror(e) => e.exit_code(),
            StepError::VmPlan(e) => e.exit_code(),
            StepError::Vm(e) => e.exit_code(),
            StepError::VmVerdict { kind, .. } => kind.exit_code(),
            StepError::VmMatrix { code, .. } => *code,
        }
    }
}

impl VerifyError {
    /// Usage when there is nothing to compare with (no record, nothing
    /// published: run the pipeline first); the wrapped error's own code;
    /// failed otherwise. A verdict (identical or not) is not an error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            VerifyError::NoRecord { .. } | VerifyError::NotPublished { .. } => ExitCode::Usage,
            VerifyError::Pipeline(e) => e.exit_code(),
            VerifyError::Rebuild { source, .. } => source.exit_code(),
            VerifyError::Apt(e) => e.exit_code(),
            VerifyError::Source(_) | VerifyError::Io { .. } => ExitCode::Failed,
        }
    }
}

impl PipelineError {
    /// Usage for a name that is not a (version) tag and git's refusals; a
    /// failed step's own code; failed otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            PipelineError::NotATag { .. }
            | PipelineError::NotAVersionTag { .. }
            | PipelineError::Git(_) => ExitCode::Usage,
            PipelineError::Failed { source, .. } | PipelineError::Promote { source, .. } => {
                source.exit_code()
            }
            PipelineError::NoRecord { .. } => ExitCode::Usage,
            _ => ExitCode::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn codes_are_the_documented_numbers() {
        let codes = [
            ExitCode::Success,
            ExitCode::Failed,
            ExitCode::Usage,
            ExitCode::Testbed,
            ExitCode::Interrupted,
            ExitCode::Status(42),
        ]
        .map(ExitCode::code);
        assert_eq!(codes, [0, 1, 2, 3, 130, 42]);
        assert_eq!(VerdictKind::Passed.exit_code(), 0);
        assert_eq!(VerdictKind::Failed.exit_code(), 1);
        assert_eq!(VerdictKind::TestbedFailed.exit_code(), 3);
    }

    /// Issue 10: a signing error inside a repository operation exits as the
    /// signing error does — from `repo` (it was always 1 there), from the
    /// pipeline's publish step, and loading the key directly.
    #[test]
    fn a_signing_error_has_one_code_whichever_path_it_takes() {
        let usage = || SignError::MissingPassphrase {
            fingerprint: "K".into(),
        };
        let failed = || SignError::NoSigningKey {
            fingerprint: "K".into(),
        };
        let cases: [(&dyn Fn() -> SignError, ExitCode); 2] =
            [(&usage, ExitCode::Usage), (&failed, ExitCode::Failed)];
        for (sign, want) in cases {
            let codes = [
                sign().exit_code(),
                AptError::Sign(sign()).exit_code(),
                StepError::Apt(AptError::Sign(sign())).exit_code(),
                StepError::Sign(sign()).exit_code(),
            ];
            assert_eq!(codes, [want; 4]);
        }
    }
}
