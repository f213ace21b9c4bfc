//! The vm-test stage: the tag's packages, just published, installed in a
//! throw-away VM from that repository, and the smoke tests run there. The
//! verdict, the accelerator and the phase timings go into the record. With
//! `[vm] suites`, on each suite's image side by side: one record per suite,
//! and the stage passes (so a gated run promotes) only if every suite did.

use super::run::Work;
use super::vm_matrix::test_suites;
use super::vm_plan::{plan_vm_test, TagTestOptions};
use super::{Record, StepError, VmRecord, VmSeconds};
use crate::vm::matrix::{Matrix, MatrixKind, SuiteOutcome};
use crate::vm::run::{self, AccelChoice};
use crate::vm::{ImageStore, Verdict, VerdictKind};

impl Work<'_> {
    /// The vm-test stage: the tag's packages as published in
    /// `record.repo` (its `suite` is the one tested: the staging suite of a
    /// gated run), and for a gated run the upgrade from the released
    /// versions of the release suite.
    pub(super) fn vm_test(&mut self, record: &mut Record) -> Result<(), StepError> {
        let upgrade_from = if self.gated {
            self.target.clone()
        } else {
            None
        };
        let published = record
            .repo
            .as_ref()
            .map(|r| (r.path.clone(), r.suite.clone()));
        let Some((apt_dir, suite)) = published else {
            return Err(StepError::VmUnpublished);
        };
        let options = TagTestOptions {
            image: None,
            accel: AccelChoice::Auto,
            mode: None,
            keep: false,
            forwards: Vec::new(),
            apt_dir,
            suite: Some(suite),
            upgrade_from,
            serve_program: self.options.serve_program.clone(),
            cold: false,
            archive: self.options.foreign.clone(),
        };
        let store = &ImageStore::at(self.options.paths.vm_cache_dir().map_err(|source| {
            StepError::Locate {
                what: "VM image cache",
                source,
            }
        })?);
        if let Some(suites) = self.config.vm.as_ref().and_then(|vm| vm.suite_names()) {
            let matrix = test_suites(
                self.repo,
                self.tag,
                &self.commit,
                self.config,
                store,
                &options,
                &suites,
                self.listener,
            )?;
            record.vm_suites = matrix_records(&matrix);
            return match matrix.kind() {
                MatrixKind::Passed => Ok(()),
                _ => Err(StepError::VmMatrix {
                    code: matrix.exit_code(),
                    detail: matrix.failures().join(", "),
                }),
            };
        }
        let (spec, skipped) = plan_vm_test(
            self.repo,
            self.tag,
            &self.commit,
            self.config,
            store,
            &options,
            self.listener,
        )?;
        let mut verdict = run::run(store, &spec, self.listener)?;
        verdict.tests.extend(skipped);
        record.vm = Some(vm_record(&verdict));
        gate(&verdict)
    }
}

/// The stage's outcome: a verdict other than passed stops the pipeline,
/// with the test bed's error or the failed tests.
fn gate(verdict: &Verdict) -> Result<(), StepError> {
    match verdict.verdict {
        VerdictKind::Passed => Ok(()),
        kind => Err(StepError::VmVerdict {
            kind,
            detail: match &verdict.error {
                Some(error) => error.lines().next().unwrap_or_default().to_owned(),
                None => verdict
                    .tests
                    .iter()
                    .filter(|t| t.outcome == crate::vm::TestOutcome::Fail && !t.flaky)
                    .map(|t| {
                        format!(
                            "{} failed ({})",
                            t.name,
                            t.reason.as_deref().unwrap_or("failed")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        }),
    }
}

/// One record per suite of a matrix; a suite that could not run has its
/// error and empty fields.
fn matrix_records(matrix: &Matrix) -> Vec<VmRecord> {
    matrix
        .suites
        .iter()
        .map(|s| {
            let record = match &s.outcome {
                SuiteOutcome::Ran(verdict) => vm_record(verdict),
                SuiteOutcome::Error { message, .. } => VmRecord {
                    suite: None,
                    verdict: "error".into(),
                    accel: String::new(),
                    mode: String::new(),
                    start: None,
                    image: String::new(),
                    image_key: String::new(),
                    passed: 0,
                    failed: 0,
                    skipped: 0,
                    seconds: VmSeconds::default(),
                    error: Some(message.clone()),
                    upgrade: None,
                },
            };
            VmRecord {
                suite: Some(s.suite.clone()),
                ..record
            }
        })
        .collect()
}

fn vm_record(verdict: &Verdict) -> VmRecord {
    let (passed, failed, skipped) = verdict.counts();
    let p = &verdict.phases;
    VmRecord {
        suite: None,
        verdict: match verdict.verdict {
            VerdictKind::Passed => "passed",
            VerdictKind::Failed => "failed",
            VerdictKind::TestbedFailed => "testbed-failed",
        }
        .to_owned(),
        accel: verdict.accel.name().to_owned(),
        mode: verdict.mode.name().to_owned(),
        start: Some(verdict.start.word().to_owned()),
        image: verdict.image.clone(),
        image_key: verdict.image_key.clone(),
        passed,
        failed,
        skipped,
        seconds: VmSeconds {
            boot: p.boot,
            restore: p.restore,
            update: p.update,
            install: p.install,
            test: p.test,
            total: p.total,
        },
        error: verdict.error.clone(),
        upgrade: verdict.upgrade.clone(),
    }
}
