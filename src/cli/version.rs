//! `git buildkit version`.

use git_buildkit::package::{latest_version, load_config};
use git_buildkit::version::TagScheme;

use super::bump::{bump, Level};
use super::error::usage;
use super::{open_repo, print_json, CliError, Ui};

/// Print the current version: the highest version tag of the repository.
///
/// The tag prefix comes from .buildkit.toml at HEAD ([flow.prefix]
/// version-tag, default "v").
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit version                 1.2.0
  git buildkit version --next minor    1.3.0
  git buildkit version --json")]
pub struct Args {
    /// Print the next version at this level instead.
    #[arg(long, value_name = "LEVEL", value_enum)]
    pub next: Option<Level>,
    /// Print the Debian version (1.2.0-1) instead of the semver.
    #[arg(long)]
    pub debian: bool,
    /// Print tag, version and Debian version as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(ui: &Ui, args: Args) -> Result<(), CliError> {
    let repo = open_repo()?;
    let scheme = match repo.resolve("HEAD") {
        Ok(head) => match load_config(&repo, &head, "HEAD") {
            Ok(config) => config.tag_scheme(config.packages.first()),
            Err(git_buildkit::package::PackageError::NoConfig { .. }) => TagScheme::default(),
            Err(e) => return Err(e.into()),
        },
        Err(_) => TagScheme::default(),
    };
    let Some((tag, current)) = latest_version(&repo, &scheme)? else {
        return Err(usage(anyhow::anyhow!(
            "no version tags ({}X.Y.Z) in this repository",
            scheme.prefix
        ))
        .hint(format!(
            "create one with `git tag -a {}0.1.0 -m 0.1.0`",
            scheme.prefix
        )));
    };
    let version = match args.next {
        None => current,
        Some(level) => bump(&current, level),
    };
    let debian = scheme.debian_version(&version).map_err(usage)?;
    if args.json {
        let tag_of = scheme.tag_name(&version);
        return print_json(
            ui,
            &serde_json::json!({
                "tag": if args.next.is_some() { tag_of } else { tag },
                "version": version.to_string(),
                "debian_version": debian.to_string(),
            }),
        );
    }
    ui.out(&if args.debian {
        debian.to_string()
    } else {
        version.to_string()
    });
    Ok(())
}
