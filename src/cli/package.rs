//! `git buildkit package [REF]`.

use std::path::PathBuf;

use git_buildkit::deb::Compression;
use git_buildkit::deb::WrittenDeb;
use git_buildkit::package::{package, package_worktree, PackageRequest, Source};

use super::{open_repo, print_json, CliError, Ui};

/// Build the .deb packages of a revision.
///
/// The revision's tree is exported to a clean temporary directory, its own
/// .buildkit.toml is read, the build command runs there, and each
/// [[package]] becomes a reproducible .deb. Uncommitted changes never reach
/// a package, except with --worktree. The path of each .deb is printed on
/// stdout, one per line.
///
/// --worktree packages the work tree as it is now instead, with its
/// .buildkit.toml from disk, to try a change out without committing it:
/// the files of `git ls-files -co --exclude-standard` (tracked files with
/// their changes, untracked files that are not ignored; the -o directory
/// left out), copied into the same clean export directory, built and
/// tested the same way, with SOURCE_DATE_EPOCH the HEAD commit's time. Its
/// version is HEAD's with `wt` and a hash of the files (1.2.0+0.wt0123456789-1,
/// 1.2.0+3.gabc1234.wt0123456789-1 after a snapshot's, 0.0.0~wt0123456789-1
/// before the first tag): above the commit's own, below the next commit's
/// and the next release; `repo add` refuses it unless --allow-worktree,
/// and the pipeline never builds one.
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
  git buildkit package --worktree -o /tmp/try  the work tree as it is, a trial build
  BUILDKIT_WHEELHOUSE=~/wheels git buildkit package v2.0.0   a Python app, offline

Every .buildkit.toml key, with its type and default: man 5 buildkit.toml")]
pub struct Args {
    /// The revision to package (a tag, branch or commit).
    #[arg(value_name = "REF", default_value = None, conflicts_with = "worktree")]
    pub rev: Option<String>,
    /// Package the work tree as it is now, uncommitted changes and its
    /// .buildkit.toml included: a trial build, never a release.
    #[arg(long)]
    pub worktree: bool,
    /// Directory for the .deb files.
    #[arg(short, long, value_name = "DIR", default_value = "dist")]
    pub output: PathBuf,
    /// Compression of the package members, overriding .buildkit.toml.
    #[arg(short = 'Z', long, value_name = "xz|gzip|zstd|none")]
    pub compression: Option<Compression>,
    /// Print a JSON array of the packages (name, version, architecture, path, size, sha256,
    /// source: "commit" or "worktree").
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
    let outcome = match args.worktree {
        true => package_worktree(&repo, &request, ui)?,
        false => package(&repo, &request, ui)?,
    };
    if args.json {
        let debs: Vec<JsonDeb<'_>> = outcome
            .debs
            .iter()
            .map(|deb| JsonDeb {
                deb,
                source: outcome.source,
            })
            .collect();
        return print_json(ui, &debs);
    }
    for deb in &outcome.debs {
        ui.out(&deb.path.display().to_string());
    }
    Ok(())
}

/// One package in `--json`: the written .deb and where its files came from.
#[derive(serde::Serialize)]
struct JsonDeb<'a> {
    #[serde(flatten)]
    deb: &'a WrittenDeb,
    source: Source,
}
