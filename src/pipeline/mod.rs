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
//! A run holds `<git-dir>/buildkit/jobs/<tag>.lock` (see [`lock()`]), so a hook
//! firing twice, or a user running `pipeline` while the hook's job runs,
//! never builds and publishes the same tag twice at once; and a tag whose
//! note says it succeeded is not run again unless forced.
//!
//! One file per concept: [`Stage`]s and their order (`stage`), the
//! [`Record`] of a run (`record`), the git note holding it (`note`), the
//! run lock and state directories (`run_lock`), running the stages (`run`),
//! the publish stage (`publish`), a tag resolved into the plain plan a VM
//! test runs (`vm_plan`), the same on each suite of a matrix (`vm_matrix`),
//! the vm-test stage (`vm_test`), the source release of a tag
//! (`source_release`), `verify`: a tag rebuilt and compared with what was
//! published (`verify`, `deb_diff`), and the errors (`error`).

mod deb_diff;
mod debian_source;
mod error;
mod note;
mod promote;
mod publish;
mod record;
mod run;
mod run_lock;
mod source_release;
mod stage;
mod verify;
mod vm_matrix;
mod vm_plan;
mod vm_test;

pub use self::deb_diff::{DebDiff, EntryDiff};
pub use self::debian_source::DebianNeed;
pub use self::error::{error_chain, PipelineError, StepError, VmPlanError};
pub use self::note::{read_note, record_of, tag_commit, NOTES_REF};
pub use self::promote::promote;
pub use self::publish::{allowed_mirrors, host_arch, project_name, repo_dir};
pub use self::record::{
    PackageRecord, PromotionRecord, Record, RepoRecord, RunResult, StageRecord, StageResult,
    VmRecord, VmSeconds, RECORD_SCHEMA,
};
pub use self::run::{run, Outcome, PipelineOptions};
pub use self::run_lock::{
    buildkit_dir, dist_dir, is_running, job_id, jobs_dir, lock, lock_repository, tag_of_job_id,
    RepositoryLock, RunLock,
};
pub use self::source_release::{
    archive as archive_tag, check_release_name, release_name, write_source_release, write_tarball,
    Attachment, SourceRelease, SourceReleaseError, RELEASES_DIR, SIGNATURE_FILE, SUMS_FILE,
};
pub use self::stage::{check_order as check_stage_order, stages, Stage, Step};
pub use self::verify::{verify, Check, Difference, VerifyError, VerifyOptions, VerifyReport};
pub use self::vm_matrix::test_suites;
pub use self::vm_plan::{plan_vm_test, TagTestOptions};
