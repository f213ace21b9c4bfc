//! `git buildkit version`.

use git_buildkit::package::{latest_version, load_config};
use git_buildkit::version::TagScheme;

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

/// A semver component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Level {
    /// X.0.0
    Major,
    /// x.Y.0
    Minor,
    /// x.y.Z
    Patch,
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

/// The next version: a pre-release is finished by a bump of its own level
/// (1.3.0-rc.1 → 1.3.0 for minor), as semver tools do.
pub fn bump(v: &semver::Version, level: Level) -> semver::Version {
    let pre = !v.pre.is_empty();
    let (major, minor, patch) = match level {
        Level::Major if pre && v.minor == 0 && v.patch == 0 => (v.major, 0, 0),
        Level::Major => (v.major + 1, 0, 0),
        Level::Minor if pre && v.patch == 0 => (v.major, v.minor, 0),
        Level::Minor => (v.major, v.minor + 1, 0),
        Level::Patch if pre => (v.major, v.minor, v.patch),
        Level::Patch => (v.major, v.minor, v.patch + 1),
    };
    semver::Version::new(major, minor, patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_like_semver_tools() {
        let v = |s: &str| semver::Version::parse(s).expect("semver");
        let cases = [
            ("1.2.3", Level::Major, "2.0.0"),
            ("1.2.3", Level::Minor, "1.3.0"),
            ("1.2.3", Level::Patch, "1.2.4"),
            ("1.3.0-rc.1", Level::Minor, "1.3.0"),
            ("1.3.0-rc.1", Level::Major, "2.0.0"),
            ("2.0.0-rc.1", Level::Major, "2.0.0"),
            ("1.2.4-rc.1", Level::Patch, "1.2.4"),
        ];
        for (from, level, want) in cases {
            assert_eq!(bump(&v(from), level).to_string(), want, "{from} {level:?}");
        }
    }
}
