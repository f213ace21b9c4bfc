//! The command line: clap definitions, one file per command group, and the
//! mapping of results to output and exit codes. The only place that prints.

mod bump;
mod cache;
mod deb;
mod docs;
mod doctor;
mod env;
mod error;
mod flow;
mod flow_cmds;
mod hooks;
mod key;
mod mirror;
mod package;
mod pipeline;
mod python;
mod repo;
mod template;
mod ui;
mod verify;
mod version;
mod vm;
mod vm_matrix;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use git_buildkit::exit::ExitCode as Exit;

pub use error::CliError;
pub use ui::Ui;

/// From a version tag to a tested Debian package in a signed apt repository.
///
/// Installed as `git-buildkit`, so git runs it as `git buildkit ...`.
#[derive(Debug, Parser)]
#[command(
    name = "git-buildkit",
    bin_name = "git buildkit",
    version,
    max_term_width = 100
)]
#[command(after_help = "Examples:
  git buildkit package v1.2.0 -o dist/     .debs of the tagged commit
  git buildkit deb info dist/hello_1.2.0-1_all.deb
  git buildkit version --next minor
  git buildkit key generate --name 'Hello Packages' --email ops@example.com
  git buildkit repo init ~/repos/hello && git buildkit repo add ~/repos/hello dist/*.deb

Exit codes: 0 success, 1 the work failed, 2 usage or configuration error,
3 the test bed failed.")]
pub struct Cli {
    /// Run as if started in DIR (like `git -C`).
    #[arg(short = 'C', global = true, value_name = "DIR", id = "chdir")]
    pub chdir: Option<PathBuf>,
    /// When to colour diagnostics (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ui::ColorChoice,
    /// Only errors and warnings on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    // A variant without a doc comment takes its help from its Args struct's
    // doc comment (a doc comment here would replace that longer text).
    Package(package::Args),
    /// Build and inspect .deb files directly.
    #[command(subcommand)]
    #[command(after_help = "Examples:
  git buildkit deb build pkgroot -o dist/
  git buildkit deb info dist/hello_1.2.0-1_all.deb")]
    Deb(deb::Command),
    /// Set the repository up for the branch workflow (main, develop, gitflow.* config, [flow]).
    Init(flow::InitArgs),
    /// Feature branches: start, finish, list, publish, track, pull, delete, rebase, checkout, diff, rename.
    #[command(
        subcommand,
        after_help = "Examples:
  git buildkit feature start login
  git buildkit feature finish login"
    )]
    Feature(flow::TopicCommand),
    /// Bugfix branches: start, finish, list, publish, track, pull, delete, rebase, checkout, diff, rename.
    #[command(
        subcommand,
        after_help = "Examples:
  git buildkit bugfix start crash
  git buildkit bugfix finish crash"
    )]
    Bugfix(flow::TopicCommand),
    /// Release branches: start, finish (merge, tag, back-merge), list, publish, track, rebase, delete, rename.
    #[command(
        subcommand,
        after_help = "Examples:
  git buildkit release start 1.3.0
  git buildkit release finish -m 'Release 1.3.0'"
    )]
    Release(flow::VersionedCommand),
    /// Hotfix branches: start from main, finish into main and develop; list, publish, track, rebase, delete, rename.
    #[command(
        subcommand,
        after_help = "Examples:
  git buildkit hotfix start 1.3.1
  git buildkit hotfix finish"
    )]
    Hotfix(flow::VersionedCommand),
    /// Support branches: start, list, rebase.
    #[command(
        subcommand,
        after_help = "Examples:
  git buildkit support start 1.x v1.3.0"
    )]
    Support(flow::SupportCommand),
    /// A finish stopped by a conflict: status, continue, abort; and config (`git flow config`).
    #[command(
        subcommand,
        after_help = "Examples:
  git buildkit flow status
  git buildkit flow continue"
    )]
    Flow(flow::FlowCommand),
    /// Manage the apt repository: init, add, remove, list, copy, clone, publish, serve, verify.
    #[command(subcommand)]
    #[command(after_help = "Examples:
  git buildkit repo init ~/repos/hello --suite stable --arch amd64
  git buildkit repo add ~/repos/hello dist/*.deb
  git buildkit repo serve ~/repos/hello --bind 127.0.0.1:8080")]
    Repo(repo::Command),
    /// Manage the OpenPGP keys that sign apt repositories.
    #[command(subcommand)]
    #[command(after_help = "Examples:
  git buildkit key generate --name 'Example Archive' --email apt@example.org
  git buildkit key export -o example-archive-keyring.gpg
  git buildkit key list")]
    Key(key::Command),
    New(template::NewArgs),
    /// Templates: create one from a tree, update a project from its template, list.
    #[command(subcommand)]
    #[command(after_help = "Examples:
  git buildkit template create ~/src/ckan ckan-site --var name=ckan --var domain=ckan.example.org
  git buildkit template update
  git buildkit template list")]
    Template(template::Command),
    Version(version::Args),
    Pipeline(pipeline::Args),
    Show(pipeline::ShowArgs),
    Promote(pipeline::PromoteArgs),
    Verify(verify::Args),
    Doctor(doctor::Args),
    Jobs(hooks::JobsArgs),
    /// Install, remove or run the git hooks that start the pipeline on a new version tag.
    #[command(subcommand)]
    #[command(after_help = "Examples:
  git buildkit hooks install
  git buildkit hooks uninstall
  git buildkit jobs")]
    Hooks(hooks::Command),
    /// Base images for VM tests: create, list, shell, destroy.
    #[command(subcommand)]
    #[command(after_help = "Examples:
  git buildkit vm create
  git buildkit vm list
  git buildkit vm destroy default")]
    Vm(vm::Command),
    VmTest(vm::TestArgs),
    /// The caching apt proxy for VM guests and `vm create`: status, clean, serve.
    #[command(subcommand)]
    #[command(after_help = "Examples:
  git buildkit cache status
  git buildkit cache clean --older-than 30d
  git buildkit cache serve --port 3142")]
    Cache(cache::Command),
    /// Python wheels as .deb files: python deb.
    #[command(subcommand)]
    #[command(after_help = "Examples:
  git buildkit python deb wheels/*.whl -o debs/ --app myapp")]
    Python(python::Command),
    /// Print a shell completion script.
    Completions(docs::CompletionsArgs),
    /// Write the man pages into a directory.
    #[command(hide = true)]
    Man(docs::ManArgs),
    /// Render one template from stdin under memory and CPU limits (the
    /// child process of every rendering).
    #[command(name = "__render", hide = true)]
    Render,
}

/// Parses argv, runs the command and turns the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            };
            let _ = e.print();
            return ExitCode::from(code.code());
        }
    };
    let ui = Ui::new(cli.color, cli.quiet);
    // Every template this process renders, it renders in a limited child.
    if let Ok(exe) = std::env::current_exe() {
        git_buildkit::template::render_in_children(exe);
    }
    if let Some(dir) = &cli.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            ui.error(
                &anyhow::Error::new(e).context(format!("cannot change to {}", dir.display())),
                None,
                None,
            );
            return ExitCode::from(Exit::Usage.code());
        }
    }
    let result = match cli.command {
        Command::Package(args) => package::run(&ui, args),
        Command::Deb(command) => deb::run(&ui, command),
        Command::New(args) => template::new(&ui, args),
        Command::Render => template::serve_render(),
        Command::Template(command) => template::run(&ui, command),
        Command::Version(args) => version::run(&ui, args),
        Command::Init(args) => flow::run_init(&ui, args),
        Command::Feature(command) => {
            flow::run_topic(&ui, git_buildkit::flow::BranchType::Feature, command)
        }
        Command::Bugfix(command) => {
            flow::run_topic(&ui, git_buildkit::flow::BranchType::Bugfix, command)
        }
        Command::Release(command) => {
            flow::run_versioned(&ui, git_buildkit::flow::BranchType::Release, command)
        }
        Command::Hotfix(command) => {
            flow::run_versioned(&ui, git_buildkit::flow::BranchType::Hotfix, command)
        }
        Command::Support(command) => flow::run_support(&ui, command),
        Command::Flow(command) => flow::run_flow(&ui, command),
        Command::Repo(command) => repo::run(&ui, command),
        Command::Key(command) => key::run(&ui, command),
        Command::Pipeline(args) => pipeline::run(&ui, args),
        Command::Show(args) => pipeline::show(&ui, args),
        Command::Promote(args) => pipeline::promote(&ui, args),
        Command::Verify(args) => verify::run(&ui, args),
        Command::Doctor(args) => doctor::run(&ui, args),
        Command::Jobs(args) => hooks::jobs(&ui, args),
        Command::Hooks(command) => hooks::run(&ui, command),
        Command::Vm(command) => vm::run(&ui, command),
        Command::VmTest(args) => vm::test(&ui, args),
        Command::Cache(command) => cache::run(&ui, command),
        Command::Python(command) => python::run(&ui, command),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(&ui, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.silent {
                ui.error(&e.error, e.detail.as_deref(), e.hint.as_deref());
            }
            ExitCode::from(e.code.code())
        }
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(ui: &Ui, value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(error::failed)?;
    ui.out(&text);
    Ok(())
}

/// The repository the command runs in.
pub fn open_repo() -> Result<git_buildkit::git::Repo, CliError> {
    let cwd = std::env::current_dir().map_err(error::usage)?;
    Ok(git_buildkit::git::Repo::discover(&cwd)?)
}
