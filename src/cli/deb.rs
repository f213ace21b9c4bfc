//! `git buildkit deb build|info|depends`: the .deb format without git.

use std::path::PathBuf;

use git_buildkit::deb::{read_deb, spec_from_dir, write_deb, Compression, InfoEntryKind};
use git_buildkit::time::{unix_now, ymd_hm};

use super::error::usage;
use super::{print_json, CliError, Ui};

/// Build and inspect .deb files.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Pack a directory into a .deb, like `dpkg-deb --build --root-owner-group`.
    ///
    /// DIR holds DEBIAN/control (and maintainer scripts, conffiles...) plus
    /// the file tree to install. Entries are sorted, owned by root and keep
    /// their modification times, clamped to SOURCE_DATE_EPOCH when it is set
    /// (to the current time otherwise), as dpkg-deb does. Package, Source,
    /// Version and Architecture must follow Debian Policy's syntax.
    #[command(after_help = "Examples:
  git buildkit deb build pkgroot/ -o dist/
  SOURCE_DATE_EPOCH=1700000000 git buildkit deb build pkgroot/ -Z gzip")]
    Build {
        /// The directory to pack.
        dir: PathBuf,
        /// Directory for the .deb file.
        #[arg(short, long, value_name = "DIR", default_value = ".")]
        output: PathBuf,
        /// Member compression.
        #[arg(
            short = 'Z',
            long,
            value_name = "xz|gzip|zstd|none",
            default_value = "xz"
        )]
        compression: Compression,
    },
    /// Show a .deb's control fields and file list, like `dpkg-deb -I` and `-c`.
    #[command(after_help = "Examples:
  git buildkit deb info dist/hello_1.2.0-1_all.deb
  git buildkit deb info --json dist/hello_1.2.0-1_all.deb | jq .control.Version")]
    Info {
        /// The package file.
        file: PathBuf,
        /// Print everything as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the Depends of ELF files as dpkg-shlibdeps computes it.
    ///
    /// Each file's DT_NEEDED libraries are looked up as ld.so finds them and
    /// mapped to their packages and minimum versions through dpkg's
    /// database (DPKG_ADMINDIR, else /var/lib/dpkg): the symbols and shlibs
    /// files of the installed packages. This is what ${shlibs} stands for
    /// in a package. A library that maps to no package is named on stderr
    /// and the exit status is 1.
    #[command(after_help = "Examples:
  git buildkit deb depends build/zhello
  git buildkit deb depends --json target/release/myapp | jq -r .depends")]
    Depends {
        /// The ELF files (executables, shared libraries).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print {\"depends\": \"…\", \"unresolved\": [{file, library, reason}]} as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command.
pub fn run(ui: &Ui, command: Command) -> Result<(), CliError> {
    match command {
        Command::Build {
            dir,
            output,
            compression,
        } => {
            let mtime = source_date_epoch()?.unwrap_or_else(unix_now);
            let spec = spec_from_dir(&dir, mtime, compression)?;
            let written = write_deb(&spec, &output)?;
            ui.out(&written.path.display().to_string());
            Ok(())
        }
        Command::Depends { files, json } => depends(ui, &files, json),
        Command::Info { file, json } => {
            let info = read_deb(&file)?;
            if json {
                return print_json(ui, &info);
            }
            ui.out(&format!(
                " new Debian package, version 2.0, {} bytes, {}",
                info.size,
                info.members.join(" ")
            ));
            ui.out("");
            ui.out(info.control.to_string().trim_end());
            ui.out("");
            for entry in &info.files {
                let link = entry
                    .link
                    .as_ref()
                    .map(|l| format!(" -> {l}"))
                    .unwrap_or_default();
                ui.out(&format!(
                    "{}{} {}/{} {:>10} {} {}{link}",
                    type_char(entry.kind),
                    permissions(entry.mode),
                    entry.owner,
                    entry.group,
                    entry.size,
                    ymd_hm(i64::try_from(entry.mtime).unwrap_or(0)),
                    entry.path
                ));
            }
            Ok(())
        }
    }
}

fn depends(ui: &Ui, files: &[PathBuf], json: bool) -> Result<(), CliError> {
    use git_buildkit::debhelper::DependsError;
    let resolution = git_buildkit::debhelper::depends_of_files(files).map_err(|e| match e {
        DependsError::NotElf { .. } | DependsError::Foreign { .. } => usage(e),
        DependsError::Read { .. } | DependsError::Shlibs(_) => {
            CliError::new(git_buildkit::exit::ExitCode::Failed, e)
        }
    })?;
    let depends = resolution.depends.join(", ");
    if json {
        let unresolved: Vec<_> = resolution
            .unresolved
            .iter()
            .map(|u| serde_json::json!({"file": u.file, "library": u.library, "reason": u.reason}))
            .collect();
        print_json(
            ui,
            &serde_json::json!({"depends": depends, "unresolved": unresolved}),
        )?;
    } else {
        ui.out(&depends);
    }
    if resolution.unresolved.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = resolution
        .unresolved
        .iter()
        .map(|u| format!("{} needs {}: {}", u.file, u.library, u.reason))
        .collect();
    Err(CliError::new(
        git_buildkit::exit::ExitCode::Failed,
        anyhow::anyhow!("a library maps to no package:\n  {}", lines.join("\n  ")),
    ))
}

fn source_date_epoch() -> Result<Option<u64>, CliError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            usage(anyhow::anyhow!(
                "SOURCE_DATE_EPOCH={text:?} is not a number of seconds"
            ))
        }),
        Err(_) => Ok(None),
    }
}

fn type_char(kind: InfoEntryKind) -> char {
    match kind {
        InfoEntryKind::Dir => 'd',
        InfoEntryKind::Symlink => 'l',
        InfoEntryKind::Hardlink => 'h',
        InfoEntryKind::File => '-',
        InfoEntryKind::Other => '?',
    }
}

/// `rwxr-sr-x` with setuid, setgid and sticky bits, as ls and dpkg-deb show them.
fn permissions(mode: u32) -> String {
    let special = [(0o4000, 's', 'S'), (0o2000, 's', 'S'), (0o1000, 't', 'T')];
    let mut s = String::with_capacity(9);
    for (index, shift) in [6, 3, 0].into_iter().enumerate() {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let (bit, on, off) = special[index];
        s.push(match (mode & bit != 0, bits & 1 != 0) {
            (true, true) => on,
            (true, false) => off,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}
