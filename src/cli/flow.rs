//! The branch workflow: `init`, `feature|bugfix|release|hotfix|support ...`
//! and `flow status|continue|abort`.

use git_buildkit::flow::{
    self, AbortOptions, BranchType, FinishOptions, FlowError, FlowSettings, Outcome,
    SettingsSource, StartOptions,
};
use git_buildkit::progress::Listener;

use super::bump::{bump, Level};
use super::{print_json, CliError, Ui};

/// Set the repository up for the branch workflow.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit init              main and develop, gitflow.* config, .buildkit.toml [flow], tag hooks
  git buildkit init --defaults   the same, never asking (the default: nothing is asked)")]
pub struct InitArgs {
    /// Accept the defaults (gitflow-avh's `-d`); kept for habit, nothing is asked anyway.
    #[arg(short, long)]
    pub defaults: bool,
    /// Print the resolved settings as JSON.
    #[arg(long)]
    pub json: bool,
    /// Do not install the tag hooks that run the pipeline.
    #[arg(long)]
    pub no_hooks: bool,
}

/// Feature or bugfix branches (from and back into develop).
#[derive(Debug, clap::Subcommand)]
pub enum TopicCommand {
    /// Start a branch from develop (or BASE) and check it out.
    #[command(after_help = "Examples:
  git buildkit feature start login
  git buildkit bugfix start crash-on-empty develop")]
    Start {
        /// The name (without the prefix).
        name: String,
        /// Start from this commit instead of develop.
        base: Option<String>,
    },
    /// Merge the branch into develop and delete it (a one-commit branch fast-forwards, as in git-flow).
    #[command(after_help = "Examples:
  git buildkit feature finish login
  git buildkit feature finish            (the current branch)")]
    Finish {
        /// The name (default: the current branch).
        name: Option<String>,
        /// Always make a merge commit.
        #[arg(long)]
        no_ff: bool,
        /// Keep the branch.
        #[arg(short, long)]
        keep: bool,
        /// Push develop afterwards.
        #[arg(short, long)]
        push: bool,
    },
    /// List the open branches.
    #[command(after_help = "Examples:
  git buildkit feature list")]
    List,
    #[command(flatten)]
    Branch(super::flow_cmds::TopicBranchCommand),
}

/// Release or hotfix branches (into main with a version tag, then back).
#[derive(Debug, clap::Subcommand)]
pub enum VersionedCommand {
    /// Start the branch for VERSION (or the next --bump level) and bump the version files.
    ///
    /// The version files are `[flow] version-files` of .buildkit.toml; a
    /// file's `regex` has one capture group around the version and matches
    /// per line (`^` and `$` are the start and end of any line):
    ///
    ///   version-files = [{ path = "Cargo.toml" }, { path = "VERSION", regex = '^(.*)$' }]
    ///
    /// All or nothing: the version, the tag, the base, a clean work tree and
    /// every version file and pattern are checked before the branch is
    /// created; on any failure no branch is left and the checkout is as it was.
    #[command(after_help = "Examples:
  git buildkit release start 1.3.0
  git buildkit release start --bump minor
  git buildkit hotfix start 1.3.1")]
    Start {
        /// The version (semver, above every version tag).
        version: Option<String>,
        /// Compute the version from the latest tag instead.
        #[arg(long, value_enum, conflicts_with = "version")]
        bump: Option<Level>,
        /// Start from this commit instead of the default base.
        #[arg(long)]
        base: Option<String>,
    },
    /// Merge into main, tag, merge the tag back into develop, delete the branch.
    #[command(after_help = "Examples:
  git buildkit release finish -m 'Release 1.3.0'
  git buildkit release finish --sign --push
  git buildkit hotfix finish 1.3.1 --no-pipeline")]
    Finish {
        /// The version (default: from the current branch).
        version: Option<String>,
        /// The tag message.
        #[arg(short, long)]
        message: Option<String>,
        /// Sign the tag with your git signing key.
        #[arg(short, long)]
        sign: bool,
        /// Push main, develop and the new tag.
        #[arg(short, long)]
        push: bool,
        /// Keep the branch.
        #[arg(short, long)]
        keep: bool,
        /// Do not let the tag hook start the pipeline.
        #[arg(long)]
        no_pipeline: bool,
        /// Fetch the remote first; refuse when a branch is behind it.
        #[arg(short = 'F', long)]
        fetch: bool,
    },
    /// List the open branches.
    #[command(after_help = "Examples:
  git buildkit release list")]
    List,
    #[command(flatten)]
    Branch(super::flow_cmds::VersionedBranchCommand),
}

/// Support branches (long-lived maintenance lines).
#[derive(Debug, clap::Subcommand)]
pub enum SupportCommand {
    /// Start support/NAME from BASE (a version tag, usually).
    #[command(after_help = "Examples:
  git buildkit support start 1.x v1.3.0")]
    Start {
        /// The name.
        name: String,
        /// Where it starts.
        base: String,
    },
    /// List the support branches.
    #[command(after_help = "Examples:
  git buildkit support list")]
    List,
    #[command(flatten)]
    Branch(super::flow_cmds::SupportBranchCommand),
}

/// A finish stopped by a conflict.
#[derive(Debug, clap::Subcommand)]
pub enum FlowCommand {
    /// Explain where a finish stopped and what to do.
    #[command(after_help = "Examples:
  git buildkit flow status")]
    Status {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Resume the finish after resolving the conflict and committing.
    #[command(after_help = "Examples:
  git buildkit flow continue           after resolving and committing:
                                       git add -A && git commit --no-edit")]
    Continue,
    /// Undo the whole finish: branches and tags back where they were.
    ///
    /// Refuses, and says what would be lost, when a branch has commits made
    /// since the finish stopped (including the merge you concluded) or the
    /// work tree has uncommitted changes other than the stopped merge's
    /// files; --force drops them. The refs are put back in one transaction
    /// that expects each at the value just checked: a concurrent change
    /// makes the abort fail instead of being overwritten.
    #[command(after_help = "Examples:
  git buildkit flow abort
  git buildkit flow abort --force      also drop commits and changes made since the stop")]
    Abort {
        /// Abort even if commits made since the stop or uncommitted changes are lost.
        #[arg(long)]
        force: bool,
    },
    /// Show or set gitflow-avh's settings, as `git flow config` does.
    #[command(after_help = "Examples:
  git buildkit flow config                      list (the default)
  git buildkit flow config set develop dev
  git buildkit flow config base feature/login")]
    Config(super::flow_cmds::ConfigArgs),
}

fn settings() -> Result<FlowSettings, CliError> {
    let repo = super::open_repo()?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| {
            super::error::usage(anyhow::anyhow!("the branch workflow needs a work tree"))
        })?
        .to_owned();
    FlowSettings::load(&workdir).map_err(CliError::from)
}

/// `init`.
pub fn run_init(ui: &Ui, args: InitArgs) -> Result<(), CliError> {
    let repo = super::open_repo()?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| super::error::usage(anyhow::anyhow!("init needs a work tree")))?
        .to_owned();
    let outcome = flow::init(&workdir)?;
    let source = match outcome.source {
        SettingsSource::BuildkitToml => "[flow] of .buildkit.toml",
        SettingsSource::GitConfig => "gitflow.* git config (git flow init)",
        SettingsSource::Defaults => "defaults",
    };
    ui.note(&format!("branch names and prefixes from {source}"));
    for action in &outcome.actions {
        ui.status("Init", action);
    }
    if !args.no_hooks {
        super::hooks::install(ui, &[])?;
    }
    if args.json {
        return print_json(ui, &outcome.settings);
    }
    let s = &outcome.settings;
    ui.out(&format!("main: {}\ndevelop: {}\nprefixes: feature {} bugfix {} release {} hotfix {} support {} version tag {:?}", s.main, s.develop, s.feature, s.bugfix, s.release, s.hotfix, s.support, s.version_tag));
    Ok(())
}

/// `feature|bugfix ...`.
pub fn run_topic(ui: &Ui, kind: BranchType, command: TopicCommand) -> Result<(), CliError> {
    let settings = settings()?;
    match command {
        TopicCommand::Start { name, base } => {
            let branch = flow::start(&settings, kind, &name, &StartOptions { base })?;
            ui.status("Started", &branch);
            ui.out(&branch);
            Ok(())
        }
        TopicCommand::Finish {
            name,
            no_ff,
            keep,
            push,
        } => {
            let options = FinishOptions {
                no_ff,
                keep,
                push,
                ..FinishOptions::default()
            };
            let outcome = flow::finish(&settings, kind, name.as_deref(), &options, ui);
            report(ui, outcome)
        }
        TopicCommand::List => list(ui, &settings, kind),
        TopicCommand::Branch(command) => super::flow_cmds::topic(ui, &settings, kind, command),
    }
}

/// `release|hotfix ...`.
pub fn run_versioned(ui: &Ui, kind: BranchType, command: VersionedCommand) -> Result<(), CliError> {
    let settings = settings()?;
    match command {
        VersionedCommand::Start {
            version,
            bump: level,
            base,
        } => {
            let version = match (version, level) {
                (Some(v), _) => v,
                (None, Some(level)) => {
                    let latest = flow::latest_tag(&settings)?
                        .map_or_else(|| semver::Version::new(0, 0, 0), |(_, v)| v);
                    bump(&latest, level).to_string()
                }
                (None, None) => {
                    return Err(super::error::usage(anyhow::anyhow!(
                        "give the version, or --bump major|minor|patch"
                    )))
                }
            };
            let branch = flow::start(&settings, kind, &version, &StartOptions { base })?;
            ui.status("Started", &branch);
            ui.out(&branch);
            Ok(())
        }
        VersionedCommand::Finish {
            version,
            message,
            sign,
            push,
            keep,
            no_pipeline,
            fetch,
        } => {
            let options = FinishOptions {
                fetch,
                message,
                sign,
                push,
                keep,
                no_pipeline,
                no_ff: true,
            };
            report(
                ui,
                flow::finish(&settings, kind, version.as_deref(), &options, ui),
            )
        }
        VersionedCommand::List => list(ui, &settings, kind),
        VersionedCommand::Branch(command) => {
            super::flow_cmds::versioned(ui, &settings, kind, command)
        }
    }
}

/// `support ...`.
pub fn run_support(ui: &Ui, command: SupportCommand) -> Result<(), CliError> {
    let settings = settings()?;
    match command {
        SupportCommand::Start { name, base } => {
            let branch = flow::start(
                &settings,
                BranchType::Support,
                &name,
                &StartOptions { base: Some(base) },
            )?;
            ui.status("Started", &branch);
            ui.out(&branch);
            Ok(())
        }
        SupportCommand::List => list(ui, &settings, BranchType::Support),
        SupportCommand::Branch(command) => super::flow_cmds::support(ui, &settings, command),
    }
}

/// `flow ...`.
pub fn run_flow(ui: &Ui, command: FlowCommand) -> Result<(), CliError> {
    let settings = settings()?;
    match command {
        FlowCommand::Status { json } => {
            let state = flow::status(&settings)?;
            if json {
                return print_json(ui, &state);
            }
            let Some(state) = state else {
                ui.out("no finish in progress");
                return Ok(());
            };
            ui.out(&format!(
                "finishing {} ({})",
                state.branch,
                state.kind.name()
            ));
            for (index, step) in state.steps.iter().enumerate() {
                let mark = if index < state.done {
                    "done   "
                } else if state.stopped_at == Some(index) {
                    "STOPPED"
                } else {
                    "pending"
                };
                ui.out(&format!("  {mark} {}", step.describe()));
            }
            if state.stopped_at.is_some() {
                ui.out("resolve the conflicts, `git add` the files and `git commit`, then `git buildkit flow continue`;");
                ui.out(
                    "or `git buildkit flow abort` to put every branch and tag back where it was",
                );
            }
            Ok(())
        }
        FlowCommand::Continue => report(ui, flow::continue_finish(&settings, ui)),
        FlowCommand::Config(args) => super::flow_cmds::config(ui, &settings, args),
        FlowCommand::Abort { force } => {
            let state = flow::abort(&settings, AbortOptions { force })?;
            ui.status(
                "Aborted",
                &format!(
                    "finish of {}: branches and tags restored, back on {}",
                    state.branch, state.original_head
                ),
            );
            Ok(())
        }
    }
}

fn list(ui: &Ui, settings: &FlowSettings, kind: BranchType) -> Result<(), CliError> {
    for branch in flow::list(settings, kind)? {
        ui.out(&branch);
    }
    Ok(())
}

fn report(ui: &Ui, outcome: Result<Outcome, FlowError>) -> Result<(), CliError> {
    let outcome = outcome?;
    ui.status("Finished", &outcome.branch);
    if let Some(tag) = &outcome.tag {
        say_pipeline(ui, tag);
        ui.out(tag);
    }
    Ok(())
}

/// Says whether the new tag's hook started the pipeline, and how to follow
/// it (the job runs in the background, so nothing else would say so).
fn say_pipeline(ui: &Ui, tag: &str) {
    let Ok(repo) = super::open_repo() else {
        return;
    };
    let jobs = git_buildkit::hooks::Jobs::of(&repo);
    let started = jobs
        .list(&repo)
        .is_ok_and(|list| list.iter().any(|job| job.tag == tag));
    if started {
        ui.note(&format!(
            "the tag hook started the pipeline for {tag} in the background: follow it with `git buildkit jobs --wait` (log: {}), then `git buildkit show {tag}`",
            jobs.log_path(tag).display()
        ));
    } else {
        ui.note(&format!(
            "no pipeline started for {tag} (no tag hook, or it was told not to): run it with `git buildkit pipeline {tag}`"
        ));
    }
}
