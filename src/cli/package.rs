//! `git buildkit package [REF]`.

use std::path::PathBuf;

use git_buildkit::deb::Compression;
use git_buildkit::package::{package, PackageRequest};

use super::{open_repo, print_json, CliError, Ui};

/// Build the .deb packages of a revision.
///
/// The revision's tree is exported to a clean temporary directory, its own
/// .buildkit.toml is read, the build command runs there, and each
/// [[package]] becomes a reproducible .deb. Uncommitted changes never reach
/// a package. The path of each .deb is printed on stdout, one per line.
///
/// The build command gets a clean environment: PATH (Debian's default),
/// LANG=C.UTF-8, a throw-away HOME and TMPDIR, SOURCE_DATE_EPOCH (the commit
/// time), BUILDKIT_VERSION, BUILDKIT_TAG, BUILDKIT_COMMIT, and the caller's
/// values of the variables `build-env` names; never a passphrase. Where
/// bubblewrap works it runs in a bwrap sandbox: the system read-only, only
/// the build directory writable, the caller's home and key store hidden, no
/// network unless `network = true` (`sandbox = "none"` runs it as the
/// caller; `sandbox = "bwrap"` refuses to run without one). After
/// `build-timeout` (default 30m) it is killed with every process it
/// started, and whatever it leaves running is killed when it exits.
///
/// A [[package]] with kind = "python" becomes the project's wheel and one
/// .deb per runtime dependency (or one bundle), resolved by Debian's pip in
/// the same sandbox, from the package index, a lock file, or the wheels of
/// BUILDKIT_WHEELHOUSE=DIR alone (no network). Any packaged file that holds
/// the build directory's path is an error (see allow-build-path).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit package v1.2.0 -o dist/        the tagged release
  git buildkit package                        HEAD (a snapshot version if untagged)
  git buildkit package --json | jq -r '.[].sha256'
  BUILDKIT_WHEELHOUSE=~/wheels git buildkit package v2.0.0   a Python app, offline")]
pub struct Args {
    /// The revision to package (a tag, branch or commit).
    #[arg(value_name = "REF", default_value = None)]
    pub rev: Option<String>,
    /// Directory for the .deb files.
    #[arg(short, long, value_name = "DIR", default_value = "dist")]
    pub output: PathBuf,
    /// Compression of the package members, overriding .buildkit.toml.
    #[arg(short = 'Z', long, value_name = "xz|gzip|zstd|none")]
    pub compression: Option<Compression>,
    /// Print a JSON array of the packages (name, version, architecture, path, size, sha256).
    #[arg(long)]
    pub json: bool,
    /// Package even when a library an ELF file needs maps to no installed
    /// package: that dependency is left out of ${shlibs}, with a warning.
    #[arg(long)]
    pub allow_unresolved: bool,
}

/// Runs the command.
pub fn run(ui: &Ui, args: Args) -> Result<(), CliError> {
    let repo = open_repo()?;
    let request = PackageRequest {
        rev: args.rev,
        out_dir: args.output,
        compression: args.compression,
        allow_unresolved: args.allow_unresolved,
        foreign: Some(super::cache::foreign_libraries()),
    };
    let outcome = package(&repo, &request, ui)?;
    if args.json {
        return print_json(ui, &outcome.debs);
    }
    for deb in &outcome.debs {
        ui.out(&deb.path.display().to_string());
    }
    Ok(())
}
