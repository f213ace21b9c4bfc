//! The suite matrix: the same tests of a tag on several Debian releases
//! (`[vm] suites`, `vm-test --on`), one image per suite, one verdict per
//! suite and one overall verdict from them.
//!
//! Which image tests suite S: the image named S (it must hold S: an image
//! named `trixie` built without `--suite trixie` holds this machine's
//! suite, and testing it as trixie would be a lie); else the `default`
//! image when its recipe is S; else an error naming the command that
//! builds it. A suite that could not be planned or run (a dependency
//! Debian S does not carry) is that suite's error, not the others'.
//!
//! The overall verdict is the worst of the suites', in the order passed,
//! failed, test bed failed, error; the exit code is the worst suite's
//! (a test bed failure, 3, beats a test failure, 1: one suite had no
//! verdict at all, as [`VerdictKind::exit_code`] says of a single run;
//! an error has its own code, 2 for usage, 3 for the test bed).

use serde::Serialize;

use super::image::check_name;
use super::{junit, Image, ImageStore, TestOutcome, Verdict, VerdictKind, VmError, DEFAULT_IMAGE};
use crate::exit::ExitCode;

/// Checks the suites of a matrix: each a valid name (the rules of image
/// names: it names one), none twice. On error, the index of the culprit.
pub fn check_suites<'a>(suites: impl IntoIterator<Item = &'a str>) -> Result<(), (usize, VmError)> {
    let mut seen = std::collections::HashSet::new();
    for (i, suite) in suites.into_iter().enumerate() {
        check_name("suite", suite).map_err(|e| (i, e))?;
        if !seen.insert(suite) {
            return Err((
                i,
                VmError::DuplicateSuite {
                    suite: suite.to_owned(),
                },
            ));
        }
    }
    Ok(())
}

/// The image that tests `suite` (see the module's documentation).
pub fn image_for_suite(store: &ImageStore, suite: &str) -> Result<Image, VmError> {
    let found = |name: &str| match store.find(name) {
        Ok(image) => Ok(Some(image)),
        Err(VmError::NoImage { .. }) => Ok(None),
        Err(e) => Err(e),
    };
    let named = found(suite)?;
    let default = match &named {
        None if suite != DEFAULT_IMAGE => found(DEFAULT_IMAGE)?,
        _ => None,
    };
    let recipe_suite =
        |image: &Option<Image>| image.as_ref().map(|i| i.manifest.recipe.suite.clone());
    match choose(
        suite,
        recipe_suite(&named).as_deref(),
        recipe_suite(&default).as_deref(),
    )? {
        Choice::Named => named,
        Choice::Default => default,
    }
    .ok_or_else(|| VmError::NoSuiteImage {
        suite: suite.to_owned(),
    })
}

/// Which image [`image_for_suite`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The one named after the suite.
    Named,
    /// The default image.
    Default,
}

/// The choice for `suite` from the suites of the image named after it and
/// of the default image (`None`: no such image).
pub fn choose(suite: &str, named: Option<&str>, default: Option<&str>) -> Result<Choice, VmError> {
    match (named, default) {
        (Some(actual), _) if actual == suite => Ok(Choice::Named),
        (Some(actual), _) => Err(VmError::SuiteMismatch {
            suite: suite.to_owned(),
            actual: actual.to_owned(),
        }),
        (None, Some(actual)) if actual == suite => Ok(Choice::Default),
        (None, _) => Err(VmError::NoSuiteImage {
            suite: suite.to_owned(),
        }),
    }
}

/// What became of one suite.
#[derive(Debug, Clone)]
pub enum SuiteOutcome {
    /// It ran and gave a verdict.
    Ran(Box<Verdict>),
    /// It could not be planned or run: the error with its causes.
    Error {
        /// The error and its causes, `: `-separated.
        message: String,
        /// Its exit code.
        code: ExitCode,
    },
}

/// One suite of a matrix and what became of it.
#[derive(Debug, Clone)]
pub struct SuiteVerdict {
    /// The Debian suite.
    pub suite: String,
    /// Its outcome.
    pub outcome: SuiteOutcome,
}

/// How a suite (or the whole matrix) ended, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatrixKind {
    /// Every test passed.
    Passed,
    /// A test failed.
    Failed,
    /// The test bed failed: no verdict on the tests.
    TestbedFailed,
    /// It could not be planned or run.
    Error,
}

impl MatrixKind {
    /// The word shown to users.
    pub fn word(self) -> &'static str {
        match self {
            MatrixKind::Passed => "PASS",
            MatrixKind::Failed => "FAIL",
            MatrixKind::TestbedFailed => "TESTBED-FAILURE",
            MatrixKind::Error => "ERROR",
        }
    }
}

impl SuiteVerdict {
    /// How it ended.
    pub fn kind(&self) -> MatrixKind {
        match &self.outcome {
            SuiteOutcome::Ran(verdict) => match verdict.verdict {
                VerdictKind::Passed => MatrixKind::Passed,
                VerdictKind::Failed => MatrixKind::Failed,
                VerdictKind::TestbedFailed => MatrixKind::TestbedFailed,
            },
            SuiteOutcome::Error { .. } => MatrixKind::Error,
        }
    }

    /// Its exit code.
    pub fn exit_code(&self) -> ExitCode {
        match &self.outcome {
            SuiteOutcome::Ran(verdict) => verdict.verdict.exit_code(),
            SuiteOutcome::Error { code, .. } => *code,
        }
    }

    /// What went wrong, in a few words (`None` when it passed): the failed
    /// tests, or the first line of the test bed's error, or the error.
    pub fn problem(&self) -> Option<String> {
        match &self.outcome {
            SuiteOutcome::Ran(verdict) => match verdict.verdict {
                VerdictKind::Passed => None,
                VerdictKind::Failed => Some(
                    verdict
                        .tests
                        .iter()
                        .filter(|t| t.outcome == TestOutcome::Fail && !t.flaky)
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                VerdictKind::TestbedFailed => Some(
                    verdict
                        .error
                        .as_deref()
                        .and_then(|e| e.lines().next())
                        .unwrap_or("the test bed failed")
                        .to_owned(),
                ),
            },
            SuiteOutcome::Error { message, .. } => Some(message.clone()),
        }
    }

    /// Its line of the matrix: `bookworm: PASS 3.1 s`, `trixie: FAIL
    /// (smoke2) 3.4 s`, `sid: ERROR (there is no VM image for Debian sid)`.
    pub fn line(&self) -> String {
        let problem = self
            .problem()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let seconds = match &self.outcome {
            SuiteOutcome::Ran(verdict) => format!(" {:.1} s", verdict.phases.total),
            SuiteOutcome::Error { .. } => String::new(),
        };
        format!("{}: {}{problem}{seconds}", self.suite, self.kind().word())
    }
}

/// The verdicts of a tag's suites, in the order they were asked for.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// The tag tested.
    pub tag: String,
    /// Each suite.
    pub suites: Vec<SuiteVerdict>,
}

impl Matrix {
    /// The worst suite's kind (passed for an empty matrix).
    pub fn kind(&self) -> MatrixKind {
        self.suites
            .iter()
            .map(SuiteVerdict::kind)
            .max()
            .unwrap_or(MatrixKind::Passed)
    }

    /// The exit code: the first worst suite's.
    pub fn exit_code(&self) -> ExitCode {
        let worst = self.kind();
        self.suites
            .iter()
            .find(|s| s.kind() == worst)
            .map_or(ExitCode::Success, SuiteVerdict::exit_code)
    }

    /// The suites that did not pass, as `suite (problem)`.
    pub fn failures(&self) -> Vec<String> {
        self.suites
            .iter()
            .filter_map(|s| {
                s.problem().map(|p| {
                    let what = match s.kind() {
                        MatrixKind::Failed => format!("{p} failed"),
                        MatrixKind::TestbedFailed => format!("the test bed failed: {p}"),
                        _ => p,
                    };
                    format!("{} ({what})", s.suite)
                })
            })
            .collect()
    }

    /// The JUnit XML: one `<testsuite>` per suite, named after it (and its
    /// cases filed under `vm-test.SUITE.MODE`, so that CI systems that
    /// group by class show the suite too); a suite that could not run is
    /// one `error` case.
    pub fn junit(&self, timestamp: &str, hostname: &str) -> String {
        let names: Vec<(String, String)> = self
            .suites
            .iter()
            .map(|s| match &s.outcome {
                SuiteOutcome::Ran(verdict) => (
                    format!("{}: {}", s.suite, verdict.junit_name()),
                    format!("vm-test.{}.{}", s.suite, verdict.mode.name()),
                ),
                SuiteOutcome::Error { .. } => (
                    format!("{}: git-buildkit vm-test {}", s.suite, self.tag),
                    format!("vm-test.{}", s.suite),
                ),
            })
            .collect();
        let cases: Vec<Vec<junit::Case<'_>>> = self
            .suites
            .iter()
            .zip(&names)
            .map(|(s, (_, classname))| match &s.outcome {
                SuiteOutcome::Ran(verdict) => verdict.junit_cases(classname),
                SuiteOutcome::Error { message, .. } => vec![junit::Case {
                    name: "plan",
                    classname,
                    seconds: 0.0,
                    outcome: junit::Outcome::Error { message },
                    output: "",
                }],
            })
            .collect();
        let suites: Vec<junit::Suite<'_>> = names
            .iter()
            .zip(&cases)
            .map(|((name, _), cases)| junit::Suite {
                name,
                timestamp,
                hostname,
                cases,
            })
            .collect();
        junit::junit_suites_xml(&format!("git-buildkit vm-test {}", self.tag), &suites)
    }
}

/// `vm-test --json` of a matrix: `{"tag", "verdict", "suites": [...]}`,
/// each suite the verdict object of a single run with `suite` first, or
/// `{"suite", "verdict": "error", "error", "exit_code"}`.
impl Serialize for Matrix {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Ran<'a> {
            suite: &'a str,
            #[serde(flatten)]
            verdict: &'a Verdict,
        }
        #[derive(Serialize)]
        struct Failed<'a> {
            suite: &'a str,
            verdict: MatrixKind,
            error: &'a str,
            exit_code: u8,
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Entry<'a> {
            Ran(Ran<'a>),
            Failed(Failed<'a>),
        }
        #[derive(Serialize)]
        struct Whole<'a> {
            tag: &'a str,
            verdict: MatrixKind,
            suites: Vec<Entry<'a>>,
        }
        let suites = self
            .suites
            .iter()
            .map(|s| match &s.outcome {
                SuiteOutcome::Ran(verdict) => Entry::Ran(Ran {
                    suite: &s.suite,
                    verdict,
                }),
                SuiteOutcome::Error { message, code } => Entry::Failed(Failed {
                    suite: &s.suite,
                    verdict: MatrixKind::Error,
                    error: message,
                    exit_code: code.code(),
                }),
            })
            .collect();
        Whole {
            tag: &self.tag,
            verdict: self.kind(),
            suites,
        }
        .serialize(serializer)
    }
}

/// Runs `work` on each item, up to `limit` at a time (at least one), on
/// scoped threads; the results in the items' order.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    limit: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..limit.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let result = work(item);
                *results[i]
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .expect("every item was taken by a worker, which stored its result")
        })
        .collect()
}

/// How many suites run at once: the cores this process may use.
pub fn parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::verdict::{Phases, TestResult};
    use crate::vm::{Accel, GuestMode};
    use pretty_assertions::assert_eq;

    #[test]
    fn suites_are_names_and_listed_once() {
        assert_eq!(
            check_suites(["bookworm", "trixie"]).map_err(|e| e.0),
            Ok(())
        );
        let cases: [(&[&str], usize, &str); 5] = [
            (
                &["bookworm", ""],
                1,
                "invalid suite \"\": use letters, digits, '.', '_' and '-'",
            ),
            (
                &["a/b"],
                0,
                "invalid suite \"a/b\": use letters, digits, '.', '_' and '-'",
            ),
            (
                &[".."],
                0,
                "invalid suite \"..\": use letters, digits, '.', '_' and '-'",
            ),
            (
                &["-rf"],
                0,
                "invalid suite \"-rf\": use letters, digits, '.', '_' and '-'",
            ),
            (
                &["trixie", "bookworm", "trixie"],
                2,
                "suite \"trixie\" is listed twice",
            ),
        ];
        for (suites, index, message) in cases {
            let (i, e) = check_suites(suites.iter().copied()).expect_err("bad");
            assert_eq!((i, e.to_string().as_str()), (index, message), "{suites:?}");
        }
    }

    #[test]
    fn a_suite_is_tested_on_its_own_image_else_on_a_default_of_that_suite() {
        let ok = |named, default| choose("trixie", named, default).map_err(|e| e.to_string());
        assert_eq!(ok(Some("trixie"), Some("bookworm")), Ok(Choice::Named));
        assert_eq!(ok(None, Some("trixie")), Ok(Choice::Default));
        assert_eq!(ok(Some("trixie"), Some("trixie")), Ok(Choice::Named));
        assert_eq!(
            ok(None, Some("bookworm")),
            Err("there is no VM image for Debian trixie".into())
        );
        assert_eq!(
            ok(None, None),
            Err("there is no VM image for Debian trixie".into())
        );
        assert_eq!(
            ok(Some("bookworm"), Some("trixie")),
            Err("the VM image \"trixie\" is Debian bookworm, not trixie".into())
        );
        let hint = VmError::NoSuiteImage {
            suite: "trixie".into(),
        }
        .hint();
        assert_eq!(
            hint.as_deref(),
            Some("build it with `git buildkit vm create trixie --suite trixie` (about a minute; cached afterwards)")
        );
        assert_eq!(
            VmError::NoSuiteImage {
                suite: "trixie".into()
            }
            .exit_code(),
            2
        );
    }

    fn verdict(kind: VerdictKind, tests: &[(&str, TestOutcome)], total: f64) -> Verdict {
        Verdict {
            run_id: "v1.0.0-x".into(),
            verdict: kind,
            error: (kind == VerdictKind::TestbedFailed)
                .then(|| "apt-get install failed\nE: Unable to locate package greet".into()),
            accel: Accel::Tcg,
            mode: GuestMode::Fast,
            start: crate::vm::verdict::Start::Cold,
            snapshot: None,
            image: "default".into(),
            image_key: "k".into(),
            packages: vec!["greet=1.0.0-1".into()],
            tests: tests
                .iter()
                .map(|(name, outcome)| TestResult {
                    name: (*name).into(),
                    command: "true".into(),
                    outcome: *outcome,
                    reason: None,
                    exit_code: Some(0),
                    flaky: false,
                    seconds: 0.5,
                    output: String::new(),
                })
                .collect(),
            phases: Phases {
                total,
                ..Phases::default()
            },
            kept: None,
            forwards: Vec::new(),
            running: false,
            upgrade: None,
        }
    }

    fn ran(suite: &str, verdict: Verdict) -> SuiteVerdict {
        SuiteVerdict {
            suite: suite.into(),
            outcome: SuiteOutcome::Ran(Box::new(verdict)),
        }
    }

    fn error(suite: &str, code: ExitCode) -> SuiteVerdict {
        SuiteVerdict {
            suite: suite.into(),
            outcome: SuiteOutcome::Error {
                message: "no package carries libfoo1".into(),
                code,
            },
        }
    }

    #[test]
    fn the_overall_verdict_and_exit_code_are_the_worst_suites() {
        use TestOutcome::{Fail, Pass};
        let pass = || {
            ran(
                "bookworm",
                verdict(VerdictKind::Passed, &[("smoke1", Pass)], 3.12),
            )
        };
        let fail = || {
            ran(
                "trixie",
                verdict(
                    VerdictKind::Failed,
                    &[("smoke1", Pass), ("smoke2", Fail)],
                    3.4,
                ),
            )
        };
        let broken = || ran("sid", verdict(VerdictKind::TestbedFailed, &[], 9.0));
        let matrix = |suites: Vec<SuiteVerdict>| Matrix {
            tag: "v1.0.0".into(),
            suites,
        };
        let cases = [
            (matrix(vec![pass()]), MatrixKind::Passed, 0),
            (matrix(vec![pass(), fail()]), MatrixKind::Failed, 1),
            (
                matrix(vec![fail(), broken(), pass()]),
                MatrixKind::TestbedFailed,
                3,
            ),
            (
                matrix(vec![broken(), error("sid", ExitCode::Usage)]),
                MatrixKind::Error,
                2,
            ),
            (
                matrix(vec![fail(), error("sid", ExitCode::Testbed)]),
                MatrixKind::Error,
                3,
            ),
        ];
        for (m, kind, code) in cases {
            assert_eq!(
                (m.kind(), m.exit_code().code()),
                (kind, code),
                "{:?}",
                m.suites
            );
        }
        let m = matrix(vec![
            pass(),
            fail(),
            broken(),
            error("experimental", ExitCode::Testbed),
        ]);
        let lines: Vec<String> = m.suites.iter().map(SuiteVerdict::line).collect();
        assert_eq!(
            lines,
            [
                "bookworm: PASS 3.1 s",
                "trixie: FAIL (smoke2) 3.4 s",
                "sid: TESTBED-FAILURE (apt-get install failed) 9.0 s",
                "experimental: ERROR (no package carries libfoo1)",
            ]
        );
        assert_eq!(
            m.failures(),
            [
                "trixie (smoke2 failed)",
                "sid (the test bed failed: apt-get install failed)",
                "experimental (no package carries libfoo1)",
            ]
        );
    }

    #[test]
    fn the_json_has_one_verdict_object_per_suite() {
        let m = Matrix {
            tag: "v1.0.0".into(),
            suites: vec![
                ran("bookworm", verdict(VerdictKind::Passed, &[], 3.0)),
                error("trixie", ExitCode::Testbed),
            ],
        };
        let json = serde_json::to_value(&m).expect("json");
        let mut single =
            serde_json::to_value(verdict(VerdictKind::Passed, &[], 3.0)).expect("json");
        single
            .as_object_mut()
            .expect("an object")
            .insert("suite".into(), "bookworm".into());
        assert_eq!(
            json,
            serde_json::json!({
                "tag": "v1.0.0",
                "verdict": "error",
                "suites": [
                    single,
                    {"suite": "trixie", "verdict": "error", "error": "no package carries libfoo1", "exit_code": 3},
                ],
            })
        );
        let text = serde_json::to_string(&m).expect("json");
        assert!(
            text.starts_with(
                r#"{"tag":"v1.0.0","verdict":"error","suites":[{"suite":"bookworm","run_id":"#
            ),
            "{text}"
        );
    }

    #[test]
    fn the_junit_report_has_one_testsuite_per_suite() {
        use TestOutcome::{Fail, Pass};
        let m = Matrix {
            tag: "v1.0.0".into(),
            suites: vec![
                ran(
                    "bookworm",
                    verdict(VerdictKind::Passed, &[("smoke1", Pass)], 3.0),
                ),
                ran(
                    "trixie",
                    verdict(VerdictKind::Failed, &[("smoke1", Fail)], 3.0),
                ),
                error("sid", ExitCode::Testbed),
            ],
        };
        let xml = m.junit("2026-12-01T00:00:00Z", "h");
        assert_eq!(
            xml,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="git-buildkit vm-test v1.0.0" tests="3" failures="1" errors="1" skipped="0" time="1.000">
  <testsuite name="bookworm: git-buildkit vm-test greet=1.0.0-1" tests="1" failures="0" errors="0" skipped="0" time="0.500" timestamp="2026-12-01T00:00:00Z" hostname="h">
    <testcase name="smoke1" classname="vm-test.bookworm.fast" time="0.500"/>
  </testsuite>
  <testsuite name="trixie: git-buildkit vm-test greet=1.0.0-1" tests="1" failures="1" errors="0" skipped="0" time="0.500" timestamp="2026-12-01T00:00:00Z" hostname="h">
    <testcase name="smoke1" classname="vm-test.trixie.fast" time="0.500">
      <failure message="failed"/>
    </testcase>
  </testsuite>
  <testsuite name="sid: git-buildkit vm-test v1.0.0" tests="1" failures="0" errors="1" skipped="0" time="0.000" timestamp="2026-12-01T00:00:00Z" hostname="h">
    <testcase name="plan" classname="vm-test.sid" time="0.000">
      <error message="no package carries libfoo1"/>
    </testcase>
  </testsuite>
</testsuites>
"#
        );
    }

    #[test]
    fn work_runs_side_by_side_up_to_the_limit_and_keeps_the_order() {
        let running = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        let items: Vec<u64> = (0..6).collect();
        let results = in_parallel(&items, 2, |i| {
            use std::sync::atomic::Ordering::SeqCst;
            let now = running.fetch_add(1, SeqCst) + 1;
            most.fetch_max(now, SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(30));
            running.fetch_sub(1, SeqCst);
            i * 10
        });
        assert_eq!(results, [0, 10, 20, 30, 40, 50]);
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(in_parallel(&[] as &[u8], 4, |_| 1), Vec::<i32>::new());
    }
}
