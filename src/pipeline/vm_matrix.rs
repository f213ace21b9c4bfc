//! A tag's VM test on each Debian suite of a matrix (`[vm] suites`,
//! `vm-test --on`): every suite's image found first (a missing one is said
//! before anything boots), each suite planned as a single run is, with its
//! image (so the Debian source and the dependency check are that image's
//! suite), then the runs side by side, as many at once as this process has
//! cores. A suite that cannot be planned or run (a dependency Debian trixie
//! does not carry) is that suite's error; the others still run.
//!
//! While more than one suite runs, every line of progress and of the
//! guests' streamed output starts with `[suite] `: the runs take seconds
//! to minutes under emulation, so they stream live rather than stay quiet
//! until their summary, and the prefix keeps the lines apart (and lets a
//! CI log be grepped per suite).

use super::error::error_chain;
use super::vm_plan::{plan_vm_test, TagTestOptions};
use crate::config::Config;
use crate::git::{CommitInfo, Repo};
use crate::progress::{Listener, Prefixed};
use crate::vm::matrix::{
    image_for_suite, in_parallel, parallelism, Matrix, SuiteOutcome, SuiteVerdict,
};
use crate::vm::run;
use crate::vm::{ImageStore, VmError};

/// Tests `tag` on each of `suites` (checked names, in the order given);
/// `options.image` is ignored: each suite has its own image.
///
/// Long function: plan each suite, run the planned ones side by side, then
/// gather the outcomes in the suites' order; the per-suite listeners and
/// outcome slots are shared by all three steps.
#[allow(clippy::too_many_arguments)] // plan_vm_test's six, and the suites
pub fn test_suites(
    repo: &Repo,
    tag: &str,
    commit: &CommitInfo,
    config: &Config,
    store: &ImageStore,
    options: &TagTestOptions,
    suites: &[String],
    listener: &dyn Listener,
) -> Result<Matrix, VmError> {
    let images = suites
        .iter()
        .map(|suite| image_for_suite(store, suite))
        .collect::<Result<Vec<_>, _>>()?;
    let several = suites.len() > 1;
    let listeners: Vec<Prefixed<'_>> = suites
        .iter()
        .map(|suite| {
            let prefix = if several {
                format!("[{suite}] ")
            } else {
                String::new()
            };
            Prefixed::new(listener, prefix)
        })
        .collect();
    let limit = parallelism();
    let said: Vec<String> = suites
        .iter()
        .zip(&images)
        .map(|(suite, image)| format!("{suite} (image {})", image.name))
        .collect();
    listener.note(&format!(
        "testing on {}, {} at a time",
        said.join(", "),
        limit.min(suites.len())
    ));
    let mut outcomes: Vec<Option<SuiteOutcome>> = vec![None; suites.len()];
    let mut planned = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let options = TagTestOptions {
            image: Some(image.name.clone()),
            ..options.clone()
        };
        match plan_vm_test(repo, tag, commit, config, store, &options, &listeners[i]) {
            Ok((mut spec, skipped)) => {
                if several {
                    spec.label = format!("{tag}-{}", suites[i]);
                }
                planned.push((i, spec, skipped));
            }
            Err(e) => {
                let message = error_chain(&e);
                listeners[i].warn(&format!("not tested: {message}"));
                outcomes[i] = Some(SuiteOutcome::Error {
                    message,
                    code: e.exit_code(),
                });
            }
        }
    }
    let results = in_parallel(&planned, limit, |(i, spec, _)| {
        run::run(store, spec, &listeners[*i])
    });
    let mut interrupted = false;
    for ((i, _, skipped), result) in planned.into_iter().zip(results) {
        outcomes[i] = Some(match result {
            Ok(mut verdict) => {
                verdict.tests.extend(skipped);
                SuiteOutcome::Ran(Box::new(verdict))
            }
            Err(VmError::Interrupted) => {
                interrupted = true;
                continue;
            }
            Err(e) => SuiteOutcome::Error {
                message: error_chain(&e),
                code: e.exit_code(),
            },
        });
    }
    if interrupted {
        return Err(VmError::Interrupted);
    }
    Ok(Matrix {
        tag: tag.to_owned(),
        suites: suites
            .iter()
            .zip(outcomes)
            .map(|(suite, outcome)| SuiteVerdict {
                suite: suite.clone(),
                outcome: outcome.expect("every suite was planned, and either failed there or ran"),
            })
            .collect(),
    })
}
