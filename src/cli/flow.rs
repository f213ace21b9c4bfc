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
    /// Merge the branch into its base (develop) and delete it (a one-commit branch fast-forwards, as in git-flow).
    ///
    /// Options are gitflow-avh's; each boolean one also has a `--no-…` form
    /// (`--no-squash`), which overrides a default set in git config as avh
    /// reads it (`git config gitflow.feature.finish.squash true`). Nothing is
    /// pushed without --push; with it, the base is pushed before the remote
    /// branch is deleted, so a pull request for it closes as merged.
    #[command(after_help = "Examples:
  git buildkit feature finish login
  git buildkit feature finish            (the current branch)
  git buildkit feature finish -S login   one squashed commit on develop
  git buildkit feature finish -r --push  rebase onto develop, merge, push develop, delete origin's branch
  git buildkit bugfix finish -k crash    keep the branch")]
    Finish {
        /// The name (default: the current branch).
        name: Option<String>,
        #[command(flatten)]
        flags: FinishFlags,
        /// Rebase the branch onto its base before merging.
        #[arg(short, long)]
        rebase: bool,
        #[arg(long, hide = true, alias = "norebase", overrides_with = "rebase")]
        no_rebase: bool,
        /// With --rebase: keep merges (git's --rebase-merges; avh's -p, whose --preserve-merges git removed).
        #[arg(short, long, alias = "preserve_merges")]
        preserve_merges: bool,
        /// Push the base, then delete the remote branch (avh: no short flag; -p is --preserve-merges).
        #[arg(long)]
        push: bool,
        #[arg(long, hide = true, alias = "nopush", overrides_with = "push")]
        no_push: bool,
        /// Always make a merge commit.
        #[arg(long)]
        no_ff: bool,
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
    ///
    /// Options are gitflow-avh's; each boolean one also has a `--no-…` form
    /// (`--no-push`), which overrides a default set in git config as avh
    /// reads it (`git config gitflow.release.finish.push true`). Nothing is
    /// pushed without --push (or --pushproduction, --pushdevelop,
    /// --pushtag); with it, develop, main and the tag are pushed before the
    /// remote branch is deleted.
    #[command(after_help = "Examples:
  git buildkit release finish -m 'Release 1.3.0'
  git buildkit release finish --sign --push
  git buildkit release finish -S -m 'Release 1.3.0'   one squashed commit on main
  git buildkit release finish -m 'CI release' --nodevelopmerge   main and the tag only
  git buildkit hotfix finish 1.3.1 --no-pipeline
  git buildkit hotfix finish -n -b       no tag; merge the branch itself back into develop")]
    Finish {
        /// The version (default: from the current branch).
        version: Option<String>,
        #[command(flatten)]
        flags: FinishFlags,
        /// The tag message.
        #[arg(short, long)]
        message: Option<String>,
        /// Push develop, main and the tag, then delete the remote branch.
        #[arg(short, long)]
        push: bool,
        #[arg(long, hide = true, alias = "nopush", overrides_with = "push")]
        no_push: bool,
        /// The tag message from a file.
        #[arg(short = 'f', long, alias = "messagefile", conflicts_with = "message")]
        message_file: Option<std::path::PathBuf>,
        /// Sign the tag with your git signing key.
        #[arg(short, long)]
        sign: bool,
        #[arg(long, hide = true, alias = "nosign", overrides_with = "sign")]
        no_sign: bool,
        /// Sign the tag with this key (implies --sign).
        #[arg(short = 'u', long, alias = "signingkey", value_name = "KEY")]
        signing_key: Option<String>,
        /// Push main only (of what --push pushes).
        #[arg(long, alias = "push-production")]
        pushproduction: bool,
        /// Push develop (or the release a hotfix went back into) only.
        #[arg(long, alias = "push-develop")]
        pushdevelop: bool,
        /// Push the tag only.
        #[arg(long, alias = "push-tag")]
        pushtag: bool,
        /// Make no tag (and start no pipeline).
        #[arg(short = 'n', long, alias = "notag")]
        no_tag: bool,
        /// Merge the branch itself back into develop, not the tag.
        #[arg(short = 'b', long, alias = "nobackmerge")]
        no_back_merge: bool,
        /// A release: do not merge back into develop at all (a finish in CI).
        #[arg(long, alias = "no-develop-merge")]
        nodevelopmerge: bool,
        /// The tag's name after the version-tag prefix (default: the version).
        #[arg(short = 'T', long, alias = "tagname", value_name = "NAME")]
        tag_name: Option<String>,
        /// Do not let the tag hook start the pipeline.
        #[arg(long)]
        no_pipeline: bool,
    },
    /// List the open branches.
    #[command(after_help = "Examples:
  git buildkit release list")]
    List,
    #[command(flatten)]
    Branch(super::flow_cmds::VersionedBranchCommand),
}

/// Finish options of every branch type, with gitflow-avh's names and
/// short flags. Each boolean one has a hidden `--no-…` form (and avh's
/// `--no…` spelling), for overriding a `gitflow.<type>.finish.*` default.
#[derive(Debug, clap::Args)]
pub struct FinishFlags {
    /// Fetch the branch and its base from the remote first; refuse when one is behind it.
    #[arg(short = 'F', long)]
    fetch: bool,
    #[arg(long, hide = true, alias = "nofetch", overrides_with = "fetch")]
    no_fetch: bool,
    /// Keep the branch, local and remote.
    #[arg(short, long)]
    keep: bool,
    #[arg(long, hide = true, alias = "nokeep", overrides_with = "keep")]
    no_keep: bool,
    /// Keep the remote branch.
    #[arg(long, alias = "keepremote")]
    keep_remote: bool,
    #[arg(
        long,
        hide = true,
        alias = "nokeepremote",
        overrides_with = "keep_remote"
    )]
    no_keep_remote: bool,
    /// Keep the local branch.
    #[arg(long, alias = "keeplocal")]
    keep_local: bool,
    #[arg(
        long,
        hide = true,
        alias = "nokeeplocal",
        overrides_with = "keep_local"
    )]
    no_keep_local: bool,
    /// Delete the local branch even if git does not see it merged (`git branch -D`).
    #[arg(short = 'D', long, alias = "force_delete")]
    force_delete: bool,
    #[arg(
        long,
        hide = true,
        alias = "noforce_delete",
        overrides_with = "force_delete"
    )]
    no_force_delete: bool,
    /// Squash the branch into one commit.
    #[arg(short = 'S', long)]
    squash: bool,
    #[arg(long, hide = true, alias = "nosquash", overrides_with = "squash")]
    no_squash: bool,
    /// With --squash: avh's message, "Merged <type> branch '<branch>'" and the branch's log.
    #[arg(long)]
    squash_info: bool,
    #[arg(
        long,
        hide = true,
        alias = "nosquash-info",
        overrides_with = "squash_info"
    )]
    no_squash_info: bool,
}

/// A boolean option: given on (`--x`), given off (`--no-x`), else avh's
/// git config default `gitflow.<type>.finish.<key>`, else off.
fn pick(
    settings: &FlowSettings,
    kind: BranchType,
    (on, off): (bool, bool),
    key: &str,
) -> Result<bool, FlowError> {
    Ok(on || (!off && settings.flag(kind, "finish", key)?.unwrap_or(false)))
}

impl FinishFlags {
    /// The shared options, resolved against `settings`' defaults.
    fn resolve(
        &self,
        settings: &FlowSettings,
        kind: BranchType,
    ) -> Result<FinishOptions, FlowError> {
        let pick = |given, key| pick(settings, kind, given, key);
        Ok(FinishOptions {
            fetch: pick((self.fetch, self.no_fetch), "fetch")?,
            keep: pick((self.keep, self.no_keep), "keep")?,
            keep_remote: pick((self.keep_remote, self.no_keep_remote), "keepremote")?,
            keep_local: pick((self.keep_local, self.no_keep_local), "keeplocal")?,
            force_delete: pick((self.force_delete, self.no_force_delete), "force-delete")?,
            squash: pick((self.squash, self.no_squash), "squash")?,
            squash_info: pick((self.squash_info, self.no_squash_info), "squash-info")?,
            ..FinishOptions::default()
        })
    }
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
            flags,
            rebase,
            no_rebase,
            preserve_merges,
            push,
            no_push,
            no_ff,
        } => {
            let pick = |given, key| pick(&settings, kind, given, key);
            let options = FinishOptions {
                push: pick((push, no_push), "push")?,
                rebase: pick((rebase, no_rebase), "rebase")?,
                rebase_merges: pick((preserve_merges, false), "preserve-merges")?,
                no_ff: pick((no_ff, false), "no-ff")?,
                ..flags.resolve(&settings, kind)?
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
            flags,
            push,
            no_push,
            message,
            message_file,
            sign,
            no_sign,
            signing_key,
            pushproduction,
            pushdevelop,
            pushtag,
            no_tag,
            no_back_merge,
            nodevelopmerge,
            tag_name,
            no_pipeline,
        } => {
            let pick = |given, key| pick(&settings, kind, given, key);
            let option = |value: Option<String>, key| {
                value.or_else(|| settings.option(kind, "finish", key).map(str::to_owned))
            };
            let message_file = option(
                message_file.map(|p| p.to_string_lossy().into_owned()),
                "messagefile",
            )
            .map(|p| std::path::absolute(&p).unwrap_or_else(|_| p.into()));
            let options = FinishOptions {
                push: pick((push, no_push), "push")?,
                message: option(message, "message"),
                message_file,
                sign: pick((sign, no_sign), "sign")?,
                signing_key: option(signing_key, "signingkey"),
                push_main: pick((pushproduction, false), "pushproduction")?,
                push_develop: pick((pushdevelop, false), "pushdevelop")?,
                push_tag: pick((pushtag, false), "pushtag")?,
                no_tag: pick((no_tag, false), "notag")?,
                no_back_merge: pick((no_back_merge, false), "nobackmerge")?,
                no_develop_merge: pick((nodevelopmerge, false), "nodevelopmerge")?,
                tag_name,
                no_pipeline,
                no_ff: true,
                ..flags.resolve(&settings, kind)?
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
