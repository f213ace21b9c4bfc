//! The `git-buildkit` binary: argv in, exit code out. Everything else lives
//! in `cli/` (clap, printing) and the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
