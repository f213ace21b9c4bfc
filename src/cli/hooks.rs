//! `git buildkit hooks install|uninstall|run` and `git buildkit jobs`: the
//! git hooks that start the pipeline when a version tag appears, and the
//! jobs they started.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use git_buildkit::hooks::{
    self, invoker, Hook, HookCall, Installed, Job, JobState, Jobs, RefSource, Uninstalled,
};
use git_buildkit::pipeline::error_chain;
use git_buildkit::progress::Listener;
use git_buildkit::time::{signed, ymd_hm};

use git_buildkit::exit::ExitCode;

use super::env::key_store;
use super::{open_repo, print_json, CliError, Ui};

const HOOK_NAMES: [&str; 2] = ["reference-transaction", "post-receive"];

/// The git hooks that start `git buildkit pipeline TAG` on a new version tag.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Install the hooks into this repository's hooks directory.
    ///
    /// In a work tree this is reference-transaction (git 2.28 or later),
    /// which sees `git tag` and every other way a tag is made; in a bare
    /// repository it is post-receive, which sees pushed tags. A new tag
    /// named [flow.prefix] version-tag (else git config
    /// gitflow.prefix.versiontag, else "v") and a digit starts the pipeline
    /// in the background; the pipelines of one repository run one at a time,
    /// the others wait as queued, and `git buildkit jobs` lists them.
    ///
    /// Tags that arrive by `git fetch` (also pull and clone, which fetch)
    /// start nothing unless the .buildkit.toml at HEAD says `[hooks]
    /// on-fetch = true`: a clone that fetches a hundred tags does not build
    /// a hundred releases. The hook tells a fetch by the git command that
    /// runs it (Linux: /proc/PID/cmdline); a git alias for fetch is not
    /// recognised.
    ///
    /// core.hooksPath is respected. A hook already there is kept as
    /// HOOK.pre-buildkit and run first, with the same arguments and input;
    /// its exit status stays the hook's. BUILDKIT_NO_PIPELINE=1 in the
    /// environment of a git command keeps its tags from starting a job.
    #[command(after_help = "Examples:
  git buildkit hooks install
  git buildkit -C /srv/git/hello.git hooks install          (a bare server repository)
  git buildkit hooks install --hook reference-transaction --hook post-receive")]
    Install {
        /// A hook to install (repeatable); default: the one for this kind of repository.
        #[arg(long = "hook", value_name = "HOOK", value_parser = HOOK_NAMES)]
        hooks: Vec<String>,
    },
    /// Remove the hooks and put back the ones they replaced, byte for byte.
    #[command(after_help = "Examples:
  git buildkit hooks uninstall")]
    Uninstall,
    /// Run a hook: what the installed scripts do, with git's arguments and input.
    ///
    /// Runs the kept HOOK.pre-buildkit first and exits with its status; then
    /// starts a job for each new version tag. Never fails because of
    /// git-buildkit itself: its errors are shown and logged in
    /// <git-dir>/buildkit/hooks.log.
    #[command(after_help = "Examples:
  git buildkit hooks run reference-transaction committed < updates
  echo \"$old $new refs/tags/v1.2.0\" | git buildkit hooks run post-receive")]
    Run {
        /// The directory of the hook script, which holds the kept hook (the scripts pass it).
        #[arg(long, value_name = "DIR", hide = true)]
        hooks_dir: Option<PathBuf>,
        /// The hook.
        #[arg(value_name = "HOOK", value_parser = HOOK_NAMES)]
        hook: String,
        /// The hook's arguments.
        #[arg(
            value_name = "ARGS",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        args: Vec<String>,
    },
}

/// List the pipeline jobs the hooks started, and their state.
///
/// The jobs of one repository run one at a time, oldest first: a tag made
/// while another's pipeline runs waits as queued. A job is queued, running,
/// succeeded or failed; a job that died without a result (killed, a reboot)
/// shows as failed. Each has its exit code, start and end times and the log
/// of its output.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit jobs
  git buildkit jobs --wait          # the running pipeline's output until every job ended
  git buildkit jobs --json | jq -r '.[] | select(.state == \"failed\") | .log'")]
pub struct JobsArgs {
    /// Print a JSON array (tag, commit, state, trigger, pid, exit_code,
    /// queued, started, finished in Unix seconds, order: the place in the
    /// queue, log).
    #[arg(long)]
    pub json: bool,
    /// Wait until no job is queued or running, showing the output of each
    /// as it runs (unless --quiet); exit 1 if one of the jobs waited for failed.
    #[arg(long)]
    pub wait: bool,
    /// Run the queued jobs one after the other until none is left (what
    /// the hooks start in the background).
    #[arg(long, hide = true)]
    pub work: bool,
}

/// Runs a `hooks` command.
pub fn run(ui: &Ui, command: Command) -> Result<(), CliError> {
    match command {
        Command::Install { hooks } => install(ui, &hooks),
        Command::Uninstall => uninstall(ui),
        Command::Run {
            hooks_dir,
            hook,
            args,
        } => run_hook(ui, hooks_dir, &hook, &args),
    }
}

/// Installs the named hooks (default: the ones for this kind of repository).
pub fn install(ui: &Ui, names: &[String]) -> Result<(), CliError> {
    let repo = open_repo()?;
    let dir = hooks::hooks_dir(&repo)?;
    let mut chosen: Vec<Hook> = Vec::new();
    for hook in names.iter().filter_map(|n| Hook::from_name(n)) {
        if !chosen.contains(&hook) {
            chosen.push(hook);
        }
    }
    if chosen.is_empty() {
        chosen = hooks::default_hooks(&repo);
    }
    let exe = std::env::current_exe().map_err(super::error::failed)?;
    for hook in chosen {
        let path = dir.join(hook.name());
        match hooks::install(&dir, hook, &exe)? {
            Installed::New => ui.status("Installed", &path.display().to_string()),
            Installed::Updated => ui.status("Updated", &path.display().to_string()),
            Installed::Chained { kept } => ui.status(
                "Installed",
                &format!(
                    "{}; it runs the hook that was there first, now {}",
                    path.display(),
                    kept.display()
                ),
            ),
        }
        ui.out(&path.display().to_string());
    }
    if matches!(
        key_store(None).map(|k| k.default_fingerprint()),
        Ok(Ok(None))
    ) {
        ui.warn("the key store has no default key, which a new repository needs: create one with `git buildkit key generate --name NAME --email EMAIL`");
    }
    Ok(())
}

fn uninstall(ui: &Ui) -> Result<(), CliError> {
    let repo = open_repo()?;
    let dir = hooks::hooks_dir(&repo)?;
    for hook in Hook::ALL {
        let path = dir.join(hook.name());
        match hooks::uninstall(&dir, hook)? {
            Uninstalled::Removed => ui.status("Removed", &path.display().to_string()),
            Uninstalled::Restored { restored } => ui.status(
                "Restored",
                &format!("{} (the hook that was there before)", restored.display()),
            ),
            Uninstalled::NotInstalled => {}
            Uninstalled::Foreign { kept } => {
                let also = kept.map_or(String::new(), |k| format!("; {} is left too", k.display()));
                ui.warn(&format!(
                    "{} is not a git-buildkit hook: left alone{also}",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

fn run_hook(
    ui: &Ui,
    hooks_dir: Option<PathBuf>,
    name: &str,
    args: &[String],
) -> Result<(), CliError> {
    let Some(hook) = Hook::from_name(name) else {
        return Ok(());
    };
    let mut input = Vec::new();
    let stdin = std::io::stdin();
    // git always gives input; a person trying the command may not.
    let read = if stdin.is_terminal() {
        Ok(0)
    } else {
        stdin.lock().read_to_end(&mut input)
    };
    if let Err(e) = read {
        ui.err_line(&format!(
            "buildkit: warning: could not read the hook's input: {e}"
        ));
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("git-buildkit"));
    let disabled = std::env::var("BUILDKIT_NO_PIPELINE").is_ok_and(|v| !v.is_empty() && v != "0");
    let source = match hook {
        Hook::ReferenceTransaction => invoker::source_of(&invoker::ancestors()),
        Hook::PostReceive => RefSource::Local,
    };
    let report = hooks::run(&HookCall {
        hook,
        args,
        input: &input,
        hooks_dir: hooks_dir.as_deref(),
        cwd: &cwd,
        exe: &exe,
        pipeline_enabled: !disabled,
        source,
    });
    for action in &report.actions {
        ui.err_line(&format!("buildkit: {action}"));
    }
    for error in &report.errors {
        ui.err_line(&format!("buildkit: warning: {}", error_chain(error)));
    }
    if let (false, Some(log)) = (report.errors.is_empty(), &report.log) {
        ui.err_line(&format!("buildkit: (logged in {})", log.display()));
    }
    if report.exit_code == 0 {
        return Ok(());
    }
    // The kept hook's status, for git; it has spoken for itself.
    Err(CliError::new(
        ExitCode::Status(report.exit_code),
        anyhow::anyhow!("{name} failed"),
    )
    .silent())
}

/// Lists the jobs.
pub fn jobs(ui: &Ui, args: JobsArgs) -> Result<(), CliError> {
    let repo = open_repo()?;
    if args.work {
        return work(ui, &repo);
    }
    let (jobs, failed) = if args.wait {
        wait(ui, &repo)?
    } else {
        (Jobs::of(&repo).list(&repo)?, Vec::new())
    };
    if args.json {
        print_json(ui, &jobs)?;
    } else {
        list(ui, &jobs);
    }
    match failed.as_slice() {
        [] => Ok(()),
        tags => Err(CliError::new(
            ExitCode::Failed,
            anyhow::anyhow!("the pipeline failed for {}", tags.join(", ")),
        )
        .hint("`git buildkit show TAG` says which stage failed and why")),
    }
}

/// Waits until no job is queued or running, streaming each one's log to
/// stderr as it grows (from the start of its current run: a tag run again
/// appends to its log); returns the jobs and the tags of those waited for
/// that failed. A job queued after the wait began counts even if it ended
/// between two looks.
fn wait(ui: &Ui, repo: &git_buildkit::git::Repo) -> Result<(Vec<Job>, Vec<String>), CliError> {
    let jobs = Jobs::of(repo);
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let pending = |job: &Job| matches!(job.state, JobState::Queued | JobState::Running);
    let mut waited: Vec<String> = Vec::new();
    // How much of each waited-for log has been shown.
    let mut shown: Vec<(PathBuf, u64)> = Vec::new();
    loop {
        let list = jobs.list(repo)?;
        for job in list.iter().filter(|j| pending(j) || j.queued >= since) {
            if !waited.contains(&job.tag) {
                waited.push(job.tag.clone());
                shown.push((job.log.clone(), current_run_start(&job.log)));
            }
        }
        let done = !list.iter().any(pending);
        if !ui.quiet() {
            for (log, offset) in &mut shown {
                // Everything at the end; a bounded part on each look before.
                show_new_output(log, offset, if done { u64::MAX } else { 1 << 20 });
            }
        }
        if done {
            let failed = list
                .iter()
                .filter(|j| waited.contains(&j.tag) && j.state == JobState::Failed)
                .map(|j| j.tag.clone())
                .collect();
            return Ok((list, failed));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Where the current run of a job starts in its log: its last `==> `
/// header line (each run appends one), else the start.
fn current_run_start(log: &std::path::Path) -> u64 {
    let Ok(bytes) = std::fs::read(log) else {
        return 0;
    };
    bytes
        .windows(5)
        .rposition(|w| w == b"\n==> ")
        .map_or(0, |i| i as u64 + 1)
}

/// Copies at most `limit` bytes that `log` gained past `offset` to stderr.
fn show_new_output(log: &std::path::Path, offset: &mut u64, limit: u64) {
    use std::io::{Seek, SeekFrom, Write};
    let Ok(mut file) = std::fs::File::open(log) else {
        return;
    };
    if file.seek(SeekFrom::Start(*offset)).is_err() {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    if let Ok(n) = std::io::copy(&mut file.take(limit), &mut stderr) {
        *offset += n;
    }
    let _ = stderr.flush();
}

/// The jobs, one line each with its detail, or a note when there are none.
fn list(ui: &Ui, jobs: &[Job]) {
    if jobs.is_empty() {
        ui.note("no jobs; after `git buildkit hooks install`, each new version tag starts one");
    }
    for job in jobs {
        ui.out(&job_line(job));
        if let Some(detail) = &job.detail {
            ui.out(&format!("  {detail}"));
        }
    }
}

/// The worker: runs the queue, one line per job it ran (to `.worker.log`).
fn work(ui: &Ui, repo: &git_buildkit::git::Repo) -> Result<(), CliError> {
    let exe = std::env::current_exe().map_err(super::error::failed)?;
    let dir = repo.cwd().to_owned();
    let ran = Jobs::of(repo).work(&exe, &dir)?;
    for job in &ran {
        ui.out(&job_line(job));
    }
    Ok(())
}

/// `TAG  STATE[ (exit N)]  TIMES  log PATH`.
fn job_line(job: &Job) -> String {
    let when = |secs: u64| format!("{} UTC", ymd_hm(signed(secs)));
    let state = match job.exit_code {
        Some(code) => format!("{} (exit {code})", job.state.name()),
        None => job.state.name().to_owned(),
    };
    let times = match (job.started, job.finished) {
        (Some(start), Some(end)) => format!("started {}, ended {}", when(start), when(end)),
        (Some(start), None) => format!("started {}", when(start)),
        (None, _) => format!("queued {}", when(job.queued)),
    };
    format!("{}  {state}  {times}  log {}", job.tag, job.log.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use git_buildkit::hooks::JobState;
    use pretty_assertions::assert_eq;

    #[test]
    fn job_lines() {
        let mut job = Job {
            tag: "v1.2.0".into(),
            commit: "c0ffee".into(),
            state: JobState::Queued,
            trigger: "reference-transaction".into(),
            pid: Some(7),
            exit_code: None,
            queued: 1_767_261_600,
            order: 1,
            started: None,
            finished: None,
            log: PathBuf::from("/r/.git/buildkit/jobs/v1.2.0.log"),
            detail: None,
        };
        assert_eq!(
            job_line(&job),
            "v1.2.0  queued  queued 2026-01-01 10:00 UTC  log /r/.git/buildkit/jobs/v1.2.0.log"
        );
        job.state = JobState::Failed;
        job.exit_code = Some(1);
        job.started = Some(1_767_261_600);
        job.finished = Some(1_767_261_720);
        assert_eq!(
            job_line(&job),
            "v1.2.0  failed (exit 1)  started 2026-01-01 10:00 UTC, ended 2026-01-01 10:02 UTC  log /r/.git/buildkit/jobs/v1.2.0.log"
        );
    }
}
