//! `repo push` and `repo verify s3://…`: the repository's mirrors in
//! S3-compatible object storage.

use std::path::{Path, PathBuf};
use std::time::Duration;

use git_buildkit::apt::mirror::{self, Connection, Lookup, MirrorUrl, PushOptions};
use git_buildkit::apt::AptRepo;
use git_buildkit::progress::Listener;

use super::env::repo_path;
use super::error::{failed, usage};
use super::{print_json, CliError, Ui};

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The repository.
    pub path: Option<PathBuf>,
    /// The mirror, `s3://BUCKET/PREFIX?endpoint=URL&region=NAME` (repeatable;
    /// default: every `[repo] mirror` of the project's .buildkit.toml).
    #[arg(long = "to", value_name = "URL")]
    pub to: Vec<String>,
    /// Push even when the mirror holds packages another repository pushed
    /// (they leave its indexes), a newer state of this repository, or a
    /// damaged manifest.
    #[arg(long)]
    pub force: bool,
    /// Seconds to wait for another push to the same mirror to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub wait: u64,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
    /// JSON output: an array with one report per mirror.
    #[arg(long)]
    pub json: bool,
}

/// Credentials and region from the environment and `~/.aws`.
fn connection(url: MirrorUrl, writing: bool) -> Result<Connection, CliError> {
    let var = |name: &str| std::env::var(name).ok();
    let lookup = Lookup {
        var: &var,
        home: std::env::var_os("HOME").map(PathBuf::from),
    };
    Connection::new(url, &lookup, writing).map_err(CliError::from)
}

fn parse(url: &str) -> Result<MirrorUrl, CliError> {
    url.parse::<MirrorUrl>().map_err(CliError::from)
}

/// `repo push`.
pub fn cmd_repo_push(ui: &Ui, args: PushArgs) -> Result<(), CliError> {
    let PushArgs {
        path,
        to,
        force,
        wait,
        jobs,
        json,
    } = args;
    let urls: Vec<MirrorUrl> = if to.is_empty() {
        project_mirrors()?
    } else {
        to.iter().map(|u| parse(u)).collect::<Result<_, _>>()?
    };
    if urls.is_empty() {
        return Err(usage(anyhow::anyhow!("no mirror to push to"))
            .hint("give --to s3://BUCKET/PREFIX, or set [repo] mirror in .buildkit.toml"));
    }
    let repo = AptRepo::open(&repo_path(path)?)?;
    let options = PushOptions {
        force,
        wait: Duration::from_secs(wait),
        jobs: usize::try_from(jobs).unwrap_or(16),
    };
    let mut reports = Vec::new();
    for url in urls {
        let connection = connection(url, true)?;
        let report = mirror::push(&repo, &connection, &options, ui)?;
        if !json {
            ui.status(
                "Pushed",
                &format!(
                    "generation {} to {}: {} uploaded ({}), {} unchanged, {} deleted, {} kept for the grace period; {} requests in {:.1} s",
                    report.generation,
                    report.url,
                    report.uploaded,
                    git_buildkit::progress::human_size(report.bytes),
                    report.skipped + report.present,
                    report.deleted,
                    report.waiting,
                    report.requests,
                    report.millis as f64 / 1000.0
                ),
            );
        }
        reports.push(report);
    }
    if json {
        print_json(ui, &reports)?;
    }
    Ok(())
}

/// `repo verify s3://…`.
pub fn cmd_verify_mirror(
    ui: &Ui,
    url: &str,
    key: Option<&Path>,
    json: bool,
) -> Result<(), CliError> {
    let connection = connection(parse(url)?, false)?;
    let key = match key {
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            usage(
                anyhow::Error::new(e).context(format!("could not read the key {}", path.display())),
            )
        })?),
        // Inside a project: its repository's key.
        None => repo_path(None)
            .ok()
            .and_then(|path| std::fs::read(path.join("key.gpg")).ok()),
    };
    let report = mirror::verify(&connection, key, 16, ui)?;
    if json {
        print_json(ui, &report)?;
    } else {
        for f in &report.findings {
            ui.out(&format!("{}: {}", f.path, f.problem));
        }
    }
    if report.findings.is_empty() {
        ui.status(
            "Verified",
            &format!(
                "{} ({} suites, {} pool files read back; {} requests)",
                report.url,
                report.suites.len(),
                report.pool_files,
                report.requests
            ),
        );
        Ok(())
    } else {
        Err(failed(anyhow::anyhow!(
            "{} problem(s) found in {}",
            report.findings.len(),
            report.url
        ))
        .hint("`git buildkit repo push` uploads what is missing or differs"))
    }
}

/// `[repo] mirror` of HEAD's .buildkit.toml when run inside a project,
/// each one the build host allows (as for the pipeline: the file comes
/// with the commits).
fn project_mirrors() -> Result<Vec<MirrorUrl>, CliError> {
    let cwd = std::env::current_dir().map_err(usage)?;
    let Ok(repo) = git_buildkit::git::Repo::discover(&cwd) else {
        return Ok(Vec::new());
    };
    let mirrors = super::env::head_repo_config(&repo)?.mirrors();
    let allowed = git_buildkit::pipeline::allowed_mirrors(repo.cwd())?;
    for url in &mirrors {
        mirror::check_allowed(url, &allowed)?;
    }
    Ok(mirrors)
}
