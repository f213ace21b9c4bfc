//! `git buildkit doctor`: the checks of [`git_buildkit::doctor`] as a
//! table (or JSON), and exit 1 when a required one fails.

use git_buildkit::doctor::{self, Check, Group, Report, Status};
use git_buildkit::exit::ExitCode;

use super::error::usage;
use super::ui::Tone;
use super::{print_json, CliError, Ui};

/// What works here, what does not, and the command that fixes each problem.
///
/// Checks the tools (git, dpkg-deb, lintian), what VM tests need (qemu,
/// qemu-img, mmdebstrap, mke2fs, KVM, a base image, the apt cache and the
/// host's apt mirrors), the build sandbox (bubblewrap), the signing keys,
/// the project's .buildkit.toml and apt repository (its directory, its
/// published index, its key in the key store, and its [repo] url when that
/// is on 127.0.0.1), and the free disk space of the data directory, the VM
/// image cache and TMPDIR (a warning below 5 GiB).
///
/// Required everywhere: git (2.28 or newer, for the tag hooks; the flow
/// commands need 2.38, else a warning) and dpkg-deb. Required by the
/// project the command runs in (its .buildkit.toml at HEAD, else the work
/// tree's): qemu, qemu-img, mmdebstrap, mke2fs and the base image when it
/// has [vm]; a signing key when its pipeline publishes (the default stages
/// do); bubblewrap when a package says sandbox = "bwrap"; the repository
/// when [repo] path names one that is there. KVM is never required: without
/// it VM tests run under TCG, software emulation, about ten times slower.
///
/// Each check is `ok`, `warn` (works, worse than it could, or is made when
/// first needed), `missing` (required here, and missing or unusable; in
/// JSON `missing-required`), `optional` (missing or unusable, not required
/// here; `missing-optional`) or `skipped` (nothing to check, such as the
/// repository outside a project). The doctor boots nothing, creates nothing
/// and reaches no host but 127.0.0.1; it takes about a second.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit doctor
  git buildkit doctor --json | jq -r '.checks[] | select(.status != \"ok\") | .fix // empty'
  git buildkit -C ~/src/hello doctor          (with what that project needs)

Exit codes: 0 every required check passes, 1 a required check fails.")]
pub struct Args {
    /// Print JSON: the checks (group, name, status, required, detail, fix) and a summary.
    #[arg(long)]
    pub json: bool,
}

/// Runs the checks and prints them.
pub fn run(ui: &Ui, args: Args) -> Result<(), CliError> {
    let cwd = std::env::current_dir().map_err(usage)?;
    let report = doctor::examine(&doctor::Context::current(cwd));
    if args.json {
        print_json(ui, &report)?;
    } else {
        print_table(ui, &report);
    }
    if report.passed() {
        Ok(())
    } else {
        let missing = report.summary.missing_required;
        Err(CliError::new(
            ExitCode::Failed,
            anyhow::anyhow!("{missing} required check(s) failed"),
        )
        .silent())
    }
}

/// The checks under their groups' headings, each problem with its fix.
fn print_table(ui: &Ui, report: &Report) {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for group in Group::ALL {
        let checks: Vec<&Check> = report.checks.iter().filter(|c| c.group == group).collect();
        if checks.is_empty() {
            continue;
        }
        ui.out(group.title());
        for check in checks {
            let word = format!("  {:<8}", check.status.word());
            ui.out_marked(
                tone(check.status),
                &word,
                &format!(" {:<width$}  {}", check.name, check.detail),
            );
            if let Some(fix) = &check.fix {
                ui.out(&format!("  {:<8} {:<width$}  fix: {fix}", "", ""));
            }
        }
    }
    let s = &report.summary;
    let verdict = if s.passed {
        "every required check passes"
    } else {
        "a required check fails"
    };
    ui.out_marked(
        if s.passed { Tone::Good } else { Tone::Bad },
        verdict,
        &format!(
            ": {} ok, {} warn, {} missing, {} optional missing, {} skipped",
            s.ok, s.warn, s.missing_required, s.missing_optional, s.skipped
        ),
    );
}

fn tone(status: Status) -> Tone {
    match status {
        Status::Ok => Tone::Good,
        Status::Warn | Status::MissingOptional => Tone::Warn,
        Status::MissingRequired => Tone::Bad,
        Status::Skipped => Tone::Plain,
    }
}
