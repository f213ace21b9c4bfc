//! The outcome of a VM test: each test's result, the phases' timings, and
//! the verdict that decides the exit code (0 passed, 1 a test failed, 3 the
//! test bed failed). Serialized as `vm-test --json` prints it and as the
//! pipeline note records it.

use serde::{Deserialize, Serialize};

use super::junit;
use super::qemu::{Accel, GuestMode};

/// What the run proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    /// Installed, and every test passed (or was skipped, or is flaky).
    Passed,
    /// Installed, and a test failed.
    Failed,
    /// The VM, the network or the install failed: no verdict on the tests.
    TestbedFailed,
}

impl VerdictKind {
    /// The word shown to users.
    pub fn word(self) -> &'static str {
        match self {
            VerdictKind::Passed => "PASS",
            VerdictKind::Failed => "FAIL",
            VerdictKind::TestbedFailed => "TESTBED-FAILURE",
        }
    }
}

/// One test's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestOutcome {
    /// It passed.
    Pass,
    /// It failed.
    Fail,
    /// It did not run (or asked to be skipped).
    Skip,
}

impl TestOutcome {
    /// The outcome a `TEST` frame's `result` reports: `PASS`, `SKIP`, and
    /// anything else (`FAIL`, or a word we do not know) a failure.
    pub fn from_guest(result: &str) -> Self {
        match result {
            "PASS" => TestOutcome::Pass,
            "SKIP" => TestOutcome::Skip,
            _ => TestOutcome::Fail,
        }
    }
}

/// One test's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    /// Its name.
    pub name: String,
    /// What it ran.
    pub command: String,
    /// Its outcome.
    pub outcome: TestOutcome,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// Its exit status, when it ran.
    pub exit_code: Option<i32>,
    /// A failure does not fail the run (DEP-8 `flaky`).
    pub flaky: bool,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// Its output (stdout and stderr, as the guest interleaved them).
    #[serde(skip)]
    pub output: String,
}

/// Durations of the phases, in seconds of host wall time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Phases {
    /// Preparing the overlay and the job disk (and, the first time, saving
    /// the warm snapshot).
    pub prepare: f64,
    /// A warm start: from starting qemu to the restored guest running
    /// (part of `boot`); 0 for a cold boot.
    pub restore: f64,
    /// Saving the warm snapshot, when this run did (part of `prepare`).
    pub save: f64,
    /// From starting qemu to the job's first line.
    pub boot: f64,
    /// `apt-get update` against the served repository.
    pub update: f64,
    /// `apt-get install` of the packages (with an upgrade test, of the
    /// released versions).
    pub install: f64,
    /// The tests (with an upgrade test, every phase after the released
    /// versions' install: see [`Verdict::upgrade`]).
    pub test: f64,
    /// Everything, start to verdict.
    pub total: f64,
}

/// How a run's guest started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Start {
    /// Booted.
    Cold,
    /// Restored from the image's warm snapshot.
    Warm,
}

impl Start {
    /// The word used in output.
    pub fn word(self) -> &'static str {
        match self {
            Start::Cold => "cold",
            Start::Warm => "warm",
        }
    }
}

/// The result of one VM test run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The run's id (its directory under the store's `runs/`).
    pub run_id: String,
    /// The verdict.
    pub verdict: VerdictKind,
    /// Why the test bed failed.
    pub error: Option<String>,
    /// The accelerator used.
    pub accel: Accel,
    /// The guest mode.
    pub mode: GuestMode,
    /// Whether the guest was restored from a warm snapshot or booted.
    pub start: Start,
    /// The warm snapshot restored (its key), when `start` is warm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// The image name and its key.
    pub image: String,
    /// The image's recipe key.
    pub image_key: String,
    /// The packages installed (`name=version`).
    pub packages: Vec<String>,
    /// Each test.
    pub tests: Vec<TestResult>,
    /// Phase timings.
    pub phases: Phases,
    /// Where the run is kept (`--keep`).
    pub kept: Option<std::path::PathBuf>,
    /// A kept run's guest ports reachable from 127.0.0.1 (while it runs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forwards: Vec<super::qemu::Forward>,
    /// A kept run's VM stayed up, for `vm exec`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub running: bool,
    /// The upgrade test, when the run had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeReport>,
}

/// What the upgrade test of a run did: the versions it upgraded from and
/// each phase (see [`super::upgrade::Phase`]). The pipeline note records it
/// as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpgradeReport {
    /// The suite the released versions came from.
    pub suite: String,
    /// Each package's released version (the tag's packages new in this
    /// release are not listed).
    pub from: Vec<UpgradedFrom>,
    /// Each phase, in order.
    pub phases: Vec<PhaseReport>,
}

/// A package's version before the upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradedFrom {
    /// The package.
    pub package: String,
    /// Its released version.
    pub version: String,
}

/// One phase of an upgrade test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// Its name (`install-released`, `test-released`, `upgrade`, …).
    pub name: String,
    /// What became of it.
    pub result: PhaseResult,
    /// How long it took, in seconds of host wall time.
    pub seconds: f64,
    /// What failed, or why it did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What became of a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseResult {
    /// It ran and passed.
    Passed,
    /// It ran and failed.
    Failed,
    /// It did not run.
    NotRun,
}

impl PhaseResult {
    /// The word shown to users.
    pub fn word(self) -> &'static str {
        match self {
            PhaseResult::Passed => "passed",
            PhaseResult::Failed => "failed",
            PhaseResult::NotRun => "not run",
        }
    }
}

impl Verdict {
    /// Counts of (passed, failed, skipped) tests.
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |o| self.tests.iter().filter(|t| t.outcome == o).count();
        (
            count(TestOutcome::Pass),
            count(TestOutcome::Fail),
            count(TestOutcome::Skip),
        )
    }

    /// The JUnit XML of the run; a test-bed failure is one `error` case.
    pub fn junit(&self, timestamp: &str, hostname: &str) -> String {
        let classname = format!("vm-test.{}", self.mode.name());
        junit::junit_xml(
            &self.junit_name(),
            timestamp,
            hostname,
            &self.junit_cases(&classname),
        )
    }

    /// The name of the run's JUnit suite: the packages tested.
    pub fn junit_name(&self) -> String {
        format!("git-buildkit vm-test {}", self.packages.join(" "))
    }

    /// The JUnit cases of the run, filed under `classname`; a test-bed
    /// failure is one `error` case.
    pub fn junit_cases<'a>(&'a self, classname: &'a str) -> Vec<junit::Case<'a>> {
        let mut cases: Vec<junit::Case<'a>> = self
            .tests
            .iter()
            .map(|t| junit::Case {
                name: &t.name,
                classname,
                seconds: t.seconds,
                outcome: match t.outcome {
                    TestOutcome::Pass => junit::Outcome::Passed,
                    TestOutcome::Fail => junit::Outcome::Failed {
                        message: t.reason.as_deref().unwrap_or("failed"),
                    },
                    TestOutcome::Skip => junit::Outcome::Skipped {
                        message: t.reason.as_deref().unwrap_or("skipped"),
                    },
                },
                output: &t.output,
            })
            .collect();
        if let (VerdictKind::TestbedFailed, Some(error)) = (self.verdict, &self.error) {
            cases.push(junit::Case {
                name: "testbed",
                classname,
                seconds: self.phases.total,
                outcome: junit::Outcome::Error { message: error },
                output: "",
            });
        }
        cases
    }
}
