//! `vm-test --on SUITE,…` and `[vm] suites`: which suites a tag is tested
//! on, and the report of a suite matrix (a summary per suite under its
//! heading, a line per suite, JSON, JUnit, the worst suite's exit code).

use git_buildkit::vm::matrix::{Matrix, MatrixKind, SuiteOutcome};

use super::error::{usage, CliError};
use super::vm::{kept_notes, summary, write_junit, TestArgs};
use super::{print_json, Ui};

/// The suites of the matrix: `--on`, else `[vm] suites` unless `--vm`
/// names one image; `None`: a single run. Checked as `[vm] suites` is;
/// several suites cannot share forwarded host ports.
pub(super) fn matrix_suites(
    args: &TestArgs,
    config: &git_buildkit::config::Config,
) -> Result<Option<Vec<String>>, CliError> {
    let vm = config.vm.clone().unwrap_or_default();
    let suites = if !args.on.is_empty() {
        git_buildkit::vm::matrix::check_suites(args.on.iter().map(String::as_str))
            .map_err(|(_, e)| usage(anyhow::anyhow!("--on: {e}")))?;
        args.on.clone()
    } else if args.image.is_some() {
        return Ok(None);
    } else {
        let Some(suites) = vm.suite_names() else {
            return Ok(None);
        };
        suites
    };
    let forwards = !args.forward.is_empty() || (args.keep && !vm.forward.is_empty());
    if suites.len() > 1 && forwards {
        return Err(usage(anyhow::anyhow!(
            "forwarded ports need a single suite: {} VMs cannot share a host port",
            suites.len()
        ))
        .hint("keep one suite with --on SUITE"));
    }
    Ok(Some(suites))
}

/// Prints a matrix's verdicts (text or JSON: each suite's summary under
/// its heading, then a line per suite), writes JUnit (a testsuite per
/// suite), and maps it to the worst suite's exit code.
pub fn report_matrix(
    ui: &Ui,
    matrix: &Matrix,
    json: bool,
    junit: Option<&std::path::Path>,
) -> Result<(), CliError> {
    if let Some(path) = junit {
        write_junit(path, |timestamp, hostname| {
            matrix.junit(timestamp, hostname)
        })?;
    }
    if json {
        print_json(ui, matrix)?;
    } else {
        for line in matrix_summary(matrix) {
            ui.out(&line);
        }
    }
    for suite in &matrix.suites {
        if let SuiteOutcome::Ran(verdict) = &suite.outcome {
            kept_notes(ui, verdict);
        }
    }
    if matrix.kind() == MatrixKind::Passed {
        return Ok(());
    }
    let failures = matrix.failures();
    Err(CliError::new(
        matrix.exit_code(),
        anyhow::anyhow!(
            "{}: {} of {} suites did not pass: {}",
            matrix.tag,
            failures.len(),
            matrix.suites.len(),
            failures.join(", ")
        ),
    ))
}

/// The human summary of a matrix: each suite's under a heading, then one
/// line per suite.
pub fn matrix_summary(matrix: &Matrix) -> Vec<String> {
    let mut lines = Vec::new();
    for suite in &matrix.suites {
        match &suite.outcome {
            SuiteOutcome::Ran(verdict) => {
                lines.push(format!("== {} (image {}) ==", suite.suite, verdict.image));
                lines.extend(summary(&matrix.tag, verdict));
            }
            SuiteOutcome::Error { message, .. } => {
                lines.push(format!("== {} ==", suite.suite));
                lines.push(format!("not tested: {message}"));
            }
        }
    }
    lines.extend(matrix.suites.iter().map(|s| s.line()));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use git_buildkit::exit::ExitCode;
    use git_buildkit::vm::matrix::SuiteVerdict;
    use git_buildkit::vm::verdict::Phases;
    use git_buildkit::vm::{Accel, GuestMode, Verdict, VerdictKind};
    use pretty_assertions::assert_eq;

    #[test]
    fn a_suite_that_could_not_run_says_why_under_its_heading() {
        let passed = Verdict {
            run_id: "v1.0.0-bookworm-abcd".into(),
            verdict: VerdictKind::Passed,
            error: None,
            accel: Accel::Tcg,
            mode: GuestMode::Fast,
            start: git_buildkit::vm::verdict::Start::Cold,
            snapshot: None,
            image: "default".into(),
            image_key: "k".into(),
            packages: vec!["greet=1.0.0-1".into()],
            tests: Vec::new(),
            phases: Phases {
                total: 3.06,
                ..Phases::default()
            },
            kept: None,
            forwards: Vec::new(),
            running: false,
            upgrade: None,
        };
        let matrix = Matrix {
            tag: "v1.0.0".into(),
            suites: vec![
                SuiteVerdict {
                    suite: "bookworm".into(),
                    outcome: SuiteOutcome::Ran(Box::new(passed)),
                },
                SuiteVerdict {
                    suite: "trixie".into(),
                    outcome: SuiteOutcome::Error {
                        message: "no source for libfoo1".into(),
                        code: ExitCode::Testbed,
                    },
                },
            ],
        };
        assert_eq!(
            matrix_summary(&matrix),
            [
                "== bookworm (image default) ==",
                "vm-test v1.0.0: PASS (0 passed, 0 failed, 0 skipped) [tcg fast; boot 0.0s, update 0.0s, install 0.0s, tests 0.0s, total 3.1s]",
                "== trixie ==",
                "not tested: no source for libfoo1",
                "bookworm: PASS 3.1 s",
                "trixie: ERROR (no source for libfoo1)",
            ]
        );
    }
}
