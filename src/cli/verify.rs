//! `git buildkit verify TAG`: rebuild a tag and compare it, byte for byte,
//! with its note and with what the repository serves.

use std::path::PathBuf;

use git_buildkit::pipeline::{self, VerifyError, VerifyOptions, VerifyReport};

use super::error::{failed, package_detail};
use super::{open_repo, print_json, CliError, Ui};

/// Rebuild a published tag from scratch and compare it with what was published.
///
/// The tag's packages are built again into a temporary directory (the
/// tag's dist directory and the repository are not touched), then each one
/// is compared byte for byte with the sha256 its note records and with the
/// .deb the repository serves (the note's pool path, else the package found
/// by name and version); the source release too, when one was published:
/// the tarball rebuilt from the tag, its SHA256SUMS line, and the signature
/// under the repository's key.gpg. What differs is named: the package, the ar member
/// (debian-binary, control.tar.*, data.tar.*) and the files inside it
/// (added, removed, or changed: content, size, mode, owner, mtime, type,
/// link target). A served file that is missing, truncated or not a package
/// is a difference, never a crash.
///
/// Exit codes: 0 everything is identical; 1 something differs (or the
/// rebuild failed); 2 there is nothing to compare with: the tag has no
/// note, or its pipeline published nothing (a script can tell "tampered"
/// from "never published"), or a usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit verify v1.2.0
  git buildkit verify v1.2.0 --repo /srv/mirror/hello     a copy of the repository
  git buildkit verify v1.2.0 --json | jq '.checks[].differences'")]
pub struct Args {
    /// The version tag.
    #[arg(value_name = "TAG")]
    pub tag: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Compare with the repository in DIR instead of the one in the note
    /// (a mirror or a copy of what is served).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
}

/// Runs `verify`.
pub fn run(ui: &Ui, args: Args) -> Result<(), CliError> {
    let repo = open_repo()?;
    let options = VerifyOptions {
        repo: args.repo.clone(),
        foreign: Some(super::cache::foreign_libraries()),
    };
    let report = pipeline::verify(&repo, &args.tag, &options, ui).map_err(verify_error)?;
    if args.json {
        print_json(ui, &report)?;
    } else {
        for line in summary(&report) {
            ui.out(&line);
        }
    }
    if report.identical {
        Ok(())
    } else {
        Err(failed(anyhow::anyhow!(
            "{} differs from what was published",
            args.tag
        )))
    }
}

/// The report as lines: one per check, its differences indented under it.
fn summary(report: &VerifyReport) -> Vec<String> {
    let mut lines = Vec::new();
    for check in &report.checks {
        let what = format!("{} {} {}", check.name, check.version, check.architecture);
        if check.differences.is_empty() {
            lines.push(format!("identical  {what}"));
            continue;
        }
        lines.push(format!("DIFFERS    {what}"));
        for difference in &check.differences {
            for (i, line) in difference.to_string().lines().enumerate() {
                let lead = if i == 0 { "  - " } else { "    " };
                lines.push(format!("{lead}{line}"));
            }
        }
    }
    lines.push(if report.identical {
        format!(
            "{}: the rebuild is identical to what is published",
            report.tag
        )
    } else {
        format!("{}: the rebuild differs from what is published", report.tag)
    });
    lines
}

fn verify_error(e: VerifyError) -> CliError {
    let detail = match &e {
        VerifyError::Rebuild { source, .. } => package_detail(source),
        _ => None,
    };
    let hint = e.hint();
    CliError {
        detail,
        hint,
        ..CliError::new(e.exit_code(), e)
    }
}
