//! Shell completions and man pages, generated from the same clap
//! definitions as `--help` so the three never disagree.

use std::path::PathBuf;

use clap::CommandFactory;

use super::error::failed;
use super::{Cli, CliError, Ui};

/// Print a completion script for a shell.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit completions bash > ~/.local/share/bash-completion/completions/git-buildkit
  git buildkit completions zsh > ~/.zfunc/_git-buildkit")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Write man pages: one per command, and buildkit.toml.5 (`man 5 buildkit.toml`).
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Output directory.
    pub dir: PathBuf,
}

/// Prints the completion script on stdout.
pub fn completions(args: CompletionsArgs) -> Result<(), CliError> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "git-buildkit",
        &mut std::io::stdout(),
    );
    Ok(())
}

/// Writes git-buildkit.1, one page per subcommand (git-buildkit-package.1,
/// ...) and buildkit.toml.5, the configuration's reference.
pub fn man(ui: &Ui, args: ManArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&args.dir).map_err(failed)?;
    let command = Cli::command().name("git-buildkit");
    clap_mangen::generate_to(command, &args.dir).map_err(failed)?;
    let config_page = args.dir.join("buildkit.toml.5");
    std::fs::write(&config_page, git_buildkit::config::reference::man_page()).map_err(|e| {
        failed(anyhow::Error::new(e).context(format!("could not write {}", config_page.display())))
    })?;
    ui.out(&args.dir.display().to_string());
    Ok(())
}
