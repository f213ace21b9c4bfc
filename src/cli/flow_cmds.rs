//! gitflow-avh's branch commands besides start, finish and list:
//! `publish`, `track`, `pull`/`update`, `delete`, `rebase`, `checkout`/`co`,
//! `diff`, `rename`, and `flow config`. Flattened into the `feature`,
//! `bugfix`, `release`, `hotfix` and `support` command groups of `flow.rs`.

use std::io::Write;
use std::path::PathBuf;

use git_buildkit::flow::{self, config, BranchType, DeleteOptions, Done, FlowSettings};
use git_buildkit::progress::Listener;

use super::{CliError, Ui};

/// `delete`'s arguments.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The name (without the prefix).
    name: String,
    /// Delete it even if it is not merged (default: gitflow.<kind>.delete.force).
    #[arg(short, long, overrides_with = "no_force")]
    force: bool,
    /// Refuse an unmerged branch, whatever git config says.
    #[arg(long, alias = "noforce")]
    no_force: bool,
    /// Delete the origin's branch too (default: gitflow.<kind>.delete.remote).
    #[arg(short, long, overrides_with = "no_remote")]
    remote: bool,
    /// Keep the origin's branch, whatever git config says.
    #[arg(long, alias = "noremote")]
    no_remote: bool,
}

/// `rebase`'s arguments.
#[derive(Debug, clap::Args)]
pub struct RebaseArgs {
    /// The name (default: the current branch).
    name: Option<String>,
    /// An interactive rebase (default: gitflow.<kind>.rebase.interactive).
    #[arg(short, long, overrides_with = "no_interactive")]
    interactive: bool,
    /// Not interactive, whatever git config says.
    #[arg(long, alias = "nointeractive")]
    no_interactive: bool,
    /// Refused: git removed `rebase --preserve-merges` in 2.34 (use `git rebase --rebase-merges`).
    #[arg(short, long, overrides_with = "no_preserve_merges")]
    preserve_merges: bool,
    /// Do not preserve merges, whatever gitflow.<kind>.rebase.preserve-merges says.
    #[arg(long, alias = "nopreserve-merges")]
    no_preserve_merges: bool,
}

/// Feature and bugfix commands besides start, finish and list.
#[derive(Debug, clap::Subcommand)]
pub enum TopicBranchCommand {
    /// Push the branch to the origin as a new branch and track it.
    ///
    /// Refuses a dirty work tree and a branch the origin already has (avh
    /// 1.12.3 pushes over it: its check looks for the wrong ref).
    #[command(after_help = "Examples:
  git buildkit feature publish login
  git buildkit feature publish          (the current branch)")]
    Publish {
        /// The name (default: the current branch).
        name: Option<String>,
    },
    /// Check out a new local branch tracking the origin's branch.
    #[command(after_help = "Examples:
  git buildkit feature track login")]
    Track {
        /// The name (without the prefix).
        name: String,
    },
    /// Pull the branch from REMOTE: merge (or rebase) into the checked-out
    /// branch, or create it from the remote's.
    ///
    /// Refuses to pull one branch into another (the branch of the name must
    /// be checked out when it exists here), a dirty tree and an unknown
    /// remote. With divergent branches git refuses unless -r or pull.rebase
    /// or pull.ff says how to reconcile them.
    #[command(
        visible_alias = "update",
        after_help = "Examples:
  git buildkit feature pull origin login
  git buildkit feature pull -r origin    (the current branch, rebased)"
    )]
    Pull {
        /// The remote to pull from.
        remote: String,
        /// The name (default: the current branch).
        name: Option<String>,
        /// Rebase instead of merging.
        #[arg(short, long)]
        rebase: bool,
    },
    /// Delete the branch (when merged into its base, or with -f), with -r the origin's too.
    #[command(after_help = "Examples:
  git buildkit feature delete login
  git buildkit feature delete -f -r login   unmerged, and on the origin too")]
    Delete(DeleteArgs),
    /// Rebase the branch onto its base (recorded at start, else develop).
    #[command(after_help = "Examples:
  git buildkit feature rebase
  git buildkit feature rebase -i login")]
    Rebase(RebaseArgs),
    /// Check out the branch NAME, or the one branch whose name starts with NAME.
    #[command(
        visible_alias = "co",
        after_help = "Examples:
  git buildkit feature checkout login
  git buildkit feature co log           the one feature branch starting with log"
    )]
    Checkout {
        /// The name or the start of it (without the prefix).
        #[arg(default_value = "")]
        name: String,
    },
    /// Show the changes of the branch since its base (`git diff BASE...BRANCH`).
    #[command(after_help = "Examples:
  git buildkit feature diff
  git buildkit feature diff login")]
    Diff {
        /// The name (default: the current branch).
        name: Option<String>,
    },
    /// Rename the branch (default: the current one) to NEW_NAME.
    #[command(after_help = "Examples:
  git buildkit feature rename sign-in          (the current branch)
  git buildkit feature rename sign-in login")]
    Rename {
        /// The new name (without the prefix).
        new_name: String,
        /// The name (default: the current branch).
        name: Option<String>,
    },
}

/// Release and hotfix commands besides start, finish and list.
#[derive(Debug, clap::Subcommand)]
pub enum VersionedBranchCommand {
    /// Push the branch to the origin as a new branch and track it.
    ///
    /// Refuses a dirty work tree and a branch the origin already has.
    #[command(after_help = "Examples:
  git buildkit release publish 1.3.0
  git buildkit hotfix publish           (the current branch)")]
    Publish {
        /// The version (default: the current branch).
        version: Option<String>,
    },
    /// Check out a new local branch tracking the origin's branch.
    #[command(after_help = "Examples:
  git buildkit release track 1.3.0")]
    Track {
        /// The version.
        version: String,
    },
    /// Rebase the branch onto its base (recorded at start, else develop).
    #[command(after_help = "Examples:
  git buildkit release rebase")]
    Rebase(RebaseArgs),
    /// Delete the branch (when merged into main and its base, or with -f), with -r the origin's too.
    #[command(after_help = "Examples:
  git buildkit release delete 1.3.0
  git buildkit hotfix delete -f 1.3.1")]
    Delete(DeleteArgs),
    /// Rename the branch (default: the current one) to NEW_VERSION.
    #[command(after_help = "Examples:
  git buildkit hotfix rename 1.3.2 1.3.1")]
    Rename {
        /// The new version.
        new_version: String,
        /// The version (default: the current branch).
        version: Option<String>,
    },
}

/// Support commands besides start and list.
#[derive(Debug, clap::Subcommand)]
pub enum SupportBranchCommand {
    /// Rebase the branch onto its recorded base (else develop), as avh does.
    #[command(after_help = "Examples:
  git buildkit support rebase 1.x")]
    Rebase(RebaseArgs),
}

/// `flow config`: gitflow-avh's `git flow config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: Option<ConfigCommand>,
    /// Use the repository's config file.
    #[arg(long, global = true, conflicts_with_all = ["global", "system", "file"])]
    local: bool,
    /// Use the user's config file.
    #[arg(long, global = true, conflicts_with_all = ["system", "file"])]
    global: bool,
    /// Use the system's config file.
    #[arg(long, global = true, conflicts_with = "file")]
    system: bool,
    /// Use this config file.
    #[arg(long, global = true, value_name = "PATH")]
    file: Option<PathBuf>,
}

/// `flow config ...`.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Show the branch names and prefixes in git config (the default).
    ///
    /// When `[flow]` of .buildkit.toml sets one, it wins for git-buildkit
    /// and the line says so.
    #[command(after_help = "Examples:
  git buildkit flow config
  git buildkit flow config list --global")]
    List,
    /// Set an option: master, develop, feature, bugfix, release, hotfix,
    /// support, versiontagprefix or allowmultihotfix (gitflow.* keys).
    #[command(after_help = "Examples:
  git buildkit flow config set feature feat/
  git buildkit flow config set allowmultihotfix true")]
    Set {
        /// The option (case-insensitive).
        option: String,
        /// The value.
        value: String,
    },
    /// Show (or with --set, set) the base recorded for a branch.
    #[command(after_help = "Examples:
  git buildkit flow config base feature/login
  git buildkit flow config base --set feature/login release/1.3.0")]
    Base {
        /// Set the base instead of showing it.
        #[arg(long)]
        set: bool,
        /// Show it (the default).
        #[arg(long, conflicts_with = "set")]
        get: bool,
        /// The branch (full name).
        branch: String,
        /// The base to record (with --set).
        base: Option<String>,
    },
}

fn tri(yes: bool, no: bool) -> Option<bool> {
    match (yes, no) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

fn done(ui: &Ui, verb: &str, done: &Done) {
    for warning in &done.warnings {
        ui.warn(warning);
    }
    ui.status(verb, &done.branch);
    ui.note(&format!("you are now on branch {}", done.current));
    ui.out(&done.branch);
}

fn delete(ui: &Ui, s: &FlowSettings, kind: BranchType, a: DeleteArgs) -> Result<(), CliError> {
    let options = DeleteOptions {
        force: tri(a.force, a.no_force),
        remote: tri(a.remote, a.no_remote),
    };
    done(ui, "Deleted", &flow::delete(s, kind, &a.name, options)?);
    Ok(())
}

fn rebase(ui: &Ui, s: &FlowSettings, kind: BranchType, a: RebaseArgs) -> Result<(), CliError> {
    let options = flow::RebaseOptions {
        interactive: tri(a.interactive, a.no_interactive),
        preserve_merges: tri(a.preserve_merges, a.no_preserve_merges),
    };
    done(
        ui,
        "Rebased",
        &flow::rebase(s, kind, a.name.as_deref(), options)?,
    );
    Ok(())
}

/// `feature|bugfix publish|track|pull|delete|rebase|checkout|diff|rename`.
pub fn topic(
    ui: &Ui,
    s: &FlowSettings,
    kind: BranchType,
    command: TopicBranchCommand,
) -> Result<(), CliError> {
    match command {
        TopicBranchCommand::Publish { name } => {
            done(ui, "Published", &flow::publish(s, kind, name.as_deref())?);
        }
        TopicBranchCommand::Track { name } => done(ui, "Tracking", &flow::track(s, kind, &name)?),
        TopicBranchCommand::Pull {
            remote,
            name,
            rebase,
        } => done(
            ui,
            "Pulled",
            &flow::pull(s, kind, &remote, name.as_deref(), rebase)?,
        ),
        TopicBranchCommand::Delete(args) => delete(ui, s, kind, args)?,
        TopicBranchCommand::Rebase(args) => rebase(ui, s, kind, args)?,
        TopicBranchCommand::Checkout { name } => {
            done(ui, "Checked out", &flow::checkout(s, kind, &name)?);
        }
        TopicBranchCommand::Diff { name } => {
            let diff = flow::diff(s, kind, name.as_deref())?;
            // A closed pipe (`| head`) is not an error.
            let _ = std::io::stdout().lock().write_all(&diff);
        }
        TopicBranchCommand::Rename { new_name, name } => done(
            ui,
            "Renamed",
            &flow::rename(s, kind, &new_name, name.as_deref())?,
        ),
    }
    Ok(())
}

/// `release|hotfix publish|track|rebase|delete|rename`.
pub fn versioned(
    ui: &Ui,
    s: &FlowSettings,
    kind: BranchType,
    command: VersionedBranchCommand,
) -> Result<(), CliError> {
    match command {
        VersionedBranchCommand::Publish { version } => {
            done(
                ui,
                "Published",
                &flow::publish(s, kind, version.as_deref())?,
            );
        }
        VersionedBranchCommand::Track { version } => {
            done(ui, "Tracking", &flow::track(s, kind, &version)?);
        }
        VersionedBranchCommand::Rebase(args) => rebase(ui, s, kind, args)?,
        VersionedBranchCommand::Delete(args) => delete(ui, s, kind, args)?,
        VersionedBranchCommand::Rename {
            new_version,
            version,
        } => done(
            ui,
            "Renamed",
            &flow::rename(s, kind, &new_version, version.as_deref())?,
        ),
    }
    Ok(())
}

/// `support rebase`.
pub fn support(ui: &Ui, s: &FlowSettings, command: SupportBranchCommand) -> Result<(), CliError> {
    match command {
        SupportBranchCommand::Rebase(args) => rebase(ui, s, BranchType::Support, args),
    }
}

/// `flow config [list|set|base]`.
pub fn config(ui: &Ui, s: &FlowSettings, args: ConfigArgs) -> Result<(), CliError> {
    let scope = match (&args.file, args.local, args.global, args.system) {
        (Some(path), ..) => config::Scope::File(path.clone()),
        (_, true, _, _) => config::Scope::Local,
        (_, _, true, _) => config::Scope::Global,
        (_, _, _, true) => config::Scope::System,
        _ => config::Scope::Default,
    };
    match args.command.unwrap_or(ConfigCommand::List) {
        ConfigCommand::List => {
            for setting in config::list(s, &scope)? {
                // avh's line, trailing space included.
                ui.out(&format!("{}: {} ", setting.label, setting.value));
                if let Some(toml) = setting.toml.filter(|t| *t != setting.value) {
                    ui.note(&format!(
                        "[flow] of .buildkit.toml overrides {} for git-buildkit: {toml:?}",
                        setting.key
                    ));
                }
            }
        }
        ConfigCommand::Set { option, value } => {
            let outcome = config::set(s, &scope, &option, &value)?;
            if let Some(branch) = &outcome.created {
                ui.status("Created", &format!("{branch} from origin/{branch}"));
            }
            ui.out("Summary of actions:");
            ui.out(&format!("- {}", scope.describe()));
            ui.out(&format!(
                "- {} set to {}",
                outcome.setting.label, outcome.setting.value
            ));
            if let Some(toml) = outcome.setting.toml.filter(|t| *t != value) {
                ui.warn(&format!(
                    "[flow] of .buildkit.toml sets {} to {toml:?}, which git-buildkit uses instead (git flow uses the new value)",
                    outcome.setting.key
                ));
            }
        }
        ConfigCommand::Base {
            set, branch, base, ..
        } => match (set, base) {
            (true, Some(base)) => {
                config::set_base(s, &branch, &base)?;
                ui.out(&format!(
                    "Base branch for branch '{branch}' set to '{base}'"
                ));
            }
            (true, None) => {
                return Err(super::error::usage(anyhow::anyhow!(
                    "no base given: flow config base --set BRANCH BASE"
                )))
            }
            (false, _) => match config::base(s, &branch) {
                Some(base) => ui.out(&format!(
                    "Base branch for branch '{branch}' set to '{base}'"
                )),
                None => ui.out(&format!("Base branch not set for branch '{branch}'")),
            },
        },
    }
    Ok(())
}
