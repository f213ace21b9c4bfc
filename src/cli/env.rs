//! What the CLI reads from the environment, shared by the command files so
//! that none of them imports another: the key store and its passphrase, the
//! user's directories ([`git_buildkit::paths`]), the repository a command
//! works on when none is named, and the pipeline's options.

use std::path::PathBuf;

use git_buildkit::config::RepoConfig;
use git_buildkit::git::Repo;
use git_buildkit::package::PackageError;
use git_buildkit::paths::{Env, PathsError};
use git_buildkit::pipeline::PipelineOptions;
use git_buildkit::sign::KeyStore;

use super::error::usage;
use super::CliError;

const PASSPHRASE_ENV: &str = "BUILDKIT_KEY_PASSPHRASE";
const PASSPHRASE_FILE_ENV: &str = "BUILDKIT_KEY_PASSPHRASE_FILE";

/// The key store: `--store DIR`, else `BUILDKIT_KEY_STORE` or the XDG
/// location ([`git_buildkit::paths::Env::keys_dir`]). Commands without a
/// `--store` argument pass `None`.
pub fn key_store(dir: Option<PathBuf>) -> Result<KeyStore, CliError> {
    match dir.filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => Ok(KeyStore::at(dir)),
        None => KeyStore::default_location().map_err(CliError::from),
    }
}

/// The passphrase from `BUILDKIT_KEY_PASSPHRASE`, or from the first line of
/// the file named by `BUILDKIT_KEY_PASSPHRASE_FILE`; none when neither is
/// set (an empty variable counts as unset).
pub fn passphrase() -> Result<Option<String>, CliError> {
    let direct = std::env::var_os(PASSPHRASE_ENV).filter(|v| !v.is_empty());
    let file = std::env::var_os(PASSPHRASE_FILE_ENV).filter(|v| !v.is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(usage(anyhow::anyhow!(
            "both {PASSPHRASE_ENV} and {PASSPHRASE_FILE_ENV} are set"
        ))
        .hint("set only one of them")),
        (Some(value), None) => value
            .into_string()
            .map(Some)
            .map_err(|_| usage(anyhow::anyhow!("{PASSPHRASE_ENV} is not valid UTF-8"))),
        (None, Some(path)) => {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                usage(anyhow::Error::new(e).context(format!(
                    "could not read the passphrase file {} ({PASSPHRASE_FILE_ENV})",
                    path.display()
                )))
            })?;
            match first_line(&text) {
                "" => Err(usage(anyhow::anyhow!(
                    "the passphrase file {} is empty",
                    path.display()
                ))),
                line => Ok(Some(line.to_owned())),
            }
        }
        (None, None) => Ok(None),
    }
}

/// The first line without its line ending, as `gpg --passphrase-file` reads it.
fn first_line(text: &str) -> &str {
    let line = text.split('\n').next().unwrap_or_default();
    line.strip_suffix('\r').unwrap_or(line)
}

/// The pipeline's options from the environment: the key store, the
/// passphrase, the user's directories, this program for the VM's repository
/// connections.
pub fn pipeline_options(force: bool) -> Result<PipelineOptions, CliError> {
    Ok(PipelineOptions {
        force,
        keys: key_store(None)?,
        passphrase: passphrase()?,
        paths: Env::current(),
        serve_program: std::env::current_exe().map_err(usage)?,
        foreign: Some(super::cache::foreign_libraries()),
    })
}

/// The apt repository directory: as typed on the command line (relative to
/// the current directory), else the project's (`[repo] path` of
/// .buildkit.toml at HEAD, relative to the work tree; else the per-project
/// default; see [`git_buildkit::pipeline::repo_dir`]).
pub fn repo_path(explicit: Option<PathBuf>) -> Result<PathBuf, CliError> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    let cwd = std::env::current_dir().map_err(usage)?;
    let repo = Repo::discover(&cwd).map_err(|e| {
        usage(e).hint("give the repository path, or run inside a project with a .buildkit.toml")
    })?;
    let settings = head_repo_config(&repo)?;
    git_buildkit::pipeline::repo_dir(&repo, &settings, &Env::current())
        .map_err(|e| locate_error("apt repository", e))
}

/// `[repo]` of HEAD's .buildkit.toml; the defaults when there is no commit
/// yet or no file. A .buildkit.toml that does not parse is an error, not a
/// reason to use another repository.
pub fn head_repo_config(repo: &Repo) -> Result<RepoConfig, CliError> {
    let config = match repo.resolve("HEAD") {
        Ok(head) => match git_buildkit::package::load_config(repo, &head, "HEAD") {
            Ok(config) => Some(config),
            Err(PackageError::NoConfig { .. }) => None,
            Err(e) => return Err(CliError::from(e)),
        },
        Err(_) => None,
    };
    Ok(config.and_then(|c| c.repo).unwrap_or_default())
}

/// The suite of snapshot builds: `[repo] snapshots` of HEAD's
/// .buildkit.toml when run inside a project, else `snapshots`.
pub fn snapshots_suite() -> Result<String, CliError> {
    let cwd = std::env::current_dir().map_err(usage)?;
    match Repo::discover(&cwd) {
        Ok(repo) => Ok(head_repo_config(&repo)?.snapshots_suite()),
        Err(_) => Ok(RepoConfig::default().snapshots_suite()),
    }
}

/// A directory that could not be located, as a usage error with its hint.
pub fn locate_error(what: &str, e: PathsError) -> CliError {
    CliError::new(
        e.exit_code(),
        anyhow::Error::new(e).context(format!("cannot locate the {what}")),
    )
    .hint("set HOME to your home directory, or name the directory")
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn passphrase_file_gives_its_first_line() {
        assert_eq!(first_line("secret\n"), "secret");
        assert_eq!(first_line("secret\r\nignored\n"), "secret");
        assert_eq!(first_line("with spaces  "), "with spaces  ");
        assert_eq!(first_line("\nsecond"), "");
        assert_eq!(first_line(""), "");
    }
}
