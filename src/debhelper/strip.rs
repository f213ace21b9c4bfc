//! Stripping as debhelper's `dh_strip` does it at compat 13, with the debug
//! information kept under `/usr/lib/debug/.build-id/` for a `-dbgsym`
//! package (see [`super::dbgsym`]).
//!
//! Which files count, as `dh_strip`'s `testfile` decides: an ELF file whose
//! header says executable or shared object (`ET_EXEC`/`ET_DYN`) is an
//! *executable* when a mode bit says so (a PIE is `ET_DYN` like a library;
//! the execute bit is what tells them apart) and a *shared library*
//! otherwise; a `lib*.a` (not `*_g.a`) that is an `ar` archive is a *static
//! library*. Relocatable objects (`.o`, `.ko`), symlinks, files already
//! under `debug/` and everything else are left alone.
//!
//! binutils does the work (`objcopy`, `strip`, or `<triplet>-objcopy` for a
//! foreign architecture), always on copies in a scratch directory the
//! caller gives, never on the built tree. binutils is deterministic, so the
//! same input gives the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use object::{Architecture, Object};
use sha2::{Digest, Sha256};

use crate::deb::{DataTree, DebError, FileSource};
use crate::process::{Cmd, ProcessError};

/// How long one objcopy or strip run on one file may take.
const TOOL_LIMIT: Duration = Duration::from_secs(120);

/// What the packager asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripOptions {
    /// Strip at all (`strip = false` or `nostrip` turns it off).
    pub strip: bool,
    /// Keep the debug information for a `-dbgsym` package.
    pub dbgsym: bool,
}

/// The kind of file `dh_strip` strips, which decides how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StripKind {
    /// An ELF executable (PIE included): symbols and debug info go.
    Executable,
    /// A shared object: also `--strip-unneeded`; dynamic symbols stay.
    SharedLibrary,
    /// A `lib*.a` archive: only debug info and LTO sections go.
    StaticLibrary,
}

/// The debug files kept from stripping: the data of a `-dbgsym` package.
#[derive(Debug, Clone)]
pub struct DebugFiles {
    /// `/usr/lib/debug/.build-id/xx/yyyy.debug`, 0644 each.
    pub tree: DataTree,
    /// The build ids, sorted, as `Build-Ids:` lists them.
    pub build_ids: Vec<String>,
}

/// What [`strip_tree`] did.
#[derive(Debug, Clone)]
pub struct Stripped {
    /// Every file stripped, by absolute path, with its kind.
    pub files: Vec<(String, StripKind)>,
    /// Files stripped whose debug information could not be kept because
    /// they carry no build id (dh_strip warns "Could not find the BuildID").
    pub without_build_id: Vec<String>,
    /// The debug files, when `dbgsym` was asked for and some were kept.
    pub debug: Option<DebugFiles>,
}

/// Why stripping failed.
#[derive(Debug, thiserror::Error)]
pub enum StripError {
    /// A file of the package could not be read.
    #[error("could not read {path} of the package")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file claims to be ELF but its headers do not parse.
    #[error("{path} looks like an ELF file but cannot be read as one")]
    BadElf {
        path: String,
        #[source]
        source: object::Error,
    },
    /// The scratch directory could not be written.
    #[error("could not write {path}")]
    Scratch {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// objcopy or strip failed on a file.
    #[error("could not strip {path}")]
    Tool {
        path: String,
        #[source]
        source: ProcessError,
    },
    /// The file is for another architecture and its binutils are missing.
    #[error("{path} is built for {machine}, and {tool} is not installed: install the Debian package {package}, or set strip = false")]
    ToolMissing {
        path: String,
        machine: String,
        tool: String,
        package: String,
    },
    /// The file is for an architecture this module has no binutils name for.
    #[error("{path} is built for {machine}, which git-buildkit cannot strip: set strip = false")]
    UnknownMachine { path: String, machine: String },
    /// The data tree refused a change.
    #[error("could not update the package's files")]
    Tree(#[from] DebError),
}

/// One file to strip, classified.
struct Candidate {
    path: String,
    bytes: Vec<u8>,
    kind: StripKind,
    /// For ELF files: the build id (hex) and whether it still has `.symtab`
    /// (file(1)'s "not stripped", which dh_strip requires to keep debug info).
    build_id: Option<String>,
    has_symtab: bool,
    machine: Option<Architecture>,
}

/// Strips every ELF file and static library of `data`, replacing their
/// sources with stripped copies made in `scratch`; with `dbgsym`, returns
/// the debug files in [`Stripped::debug`]. Files with identical bytes
/// (hard links, copies) are stripped once and share the result, as the
/// hard links dh_strip strips in place do.
pub fn strip_tree(
    data: &mut DataTree,
    scratch: &Path,
    options: StripOptions,
) -> Result<Stripped, StripError> {
    let mut stripped = Stripped {
        files: Vec::new(),
        without_build_id: Vec::new(),
        debug: None,
    };
    if !options.strip {
        return Ok(stripped);
    }
    // Only the file being stripped is held in memory: the sources are
    // listed first (the tree changes as copies replace them), read one by one.
    let sources: Vec<(String, FileSource, u32)> = data
        .files()
        .map(|(path, source, mode)| (path, source.clone(), mode))
        .collect();
    // Same bytes stripped the same way, same result (hard links, copies):
    // the copy already made, by kind and content digest.
    let mut done: BTreeMap<(StripKind, [u8; 32]), (PathBuf, u64)> = BTreeMap::new();
    let mut debug_tree = DataTree::new();
    let mut build_ids = Vec::new();
    for (index, (path, source, mode)) in sources.into_iter().enumerate() {
        let Some(candidate) = classify(&path, &source, mode)? else {
            continue;
        };
        stripped.files.push((path.clone(), candidate.kind));
        if candidate.kind != StripKind::StaticLibrary && candidate.build_id.is_none() {
            stripped.without_build_id.push(path.clone());
        }
        let key = (candidate.kind, Sha256::digest(&candidate.bytes).into());
        if let Some((copy, size)) = done.get(&key) {
            data.replace_source(&path, FileSource::Path(copy.clone()), *size)?;
            continue;
        }
        let dir = scratch.join(index.to_string());
        let made = strip_one(&candidate, &dir)?;
        if let Some((build_id, debug_path)) = made.debug {
            let dest = debug_dest(&build_id);
            if !debug_tree.is_file(&dest) {
                let size = file_size(&debug_path)?;
                debug_tree.add_file(&dest, debug_path, size, 0o644)?;
                build_ids.push(build_id);
            }
        }
        let size = file_size(&made.file)?;
        data.replace_source(&path, FileSource::Path(made.file.clone()), size)?;
        done.insert(key, (made.file, size));
    }
    if options.dbgsym && !build_ids.is_empty() {
        build_ids.sort();
        stripped.debug = Some(DebugFiles {
            tree: debug_tree,
            build_ids,
        });
    }
    Ok(stripped)
}

/// Where the debug file of a build id goes: the first two hex digits name
/// a directory, the rest the file, as gdb looks it up.
fn debug_dest(build_id: &str) -> String {
    let (head, rest) = build_id.split_at(2.min(build_id.len()));
    format!("/usr/lib/debug/.build-id/{head}/{rest}.debug")
}

/// The outcome of stripping one file: the stripped copy and, when kept,
/// the build id and debug file.
struct Made {
    file: PathBuf,
    debug: Option<(String, PathBuf)>,
}

/// Decides, as dh_strip's `testfile`, whether and how `path` is stripped.
fn classify(path: &str, source: &FileSource, mode: u32) -> Result<Option<Candidate>, StripError> {
    // dh_strip skips what is already debug information.
    if path.contains("/debug/.build-id/") || is_debug_library(path) || is_guile_object(path) {
        return Ok(None);
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let static_name = name.starts_with("lib") && name.ends_with(".a") && !name.ends_with("_g.a");
    let head = read_head(path, source)?;
    let is_elf = head.starts_with(b"\x7fELF");
    let is_archive = static_name && head.starts_with(b"!<arch>\n");
    if !is_elf && !is_archive {
        return Ok(None);
    }
    if is_elf && !is_exec_or_shared(&head) {
        return Ok(None);
    }
    let bytes = read_all(path, source)?;
    if is_archive {
        return Ok(Some(Candidate {
            path: path.to_owned(),
            bytes,
            kind: StripKind::StaticLibrary,
            build_id: None,
            has_symtab: false,
            machine: None,
        }));
    }
    let bad = |source| StripError::BadElf {
        path: path.to_owned(),
        source,
    };
    let file = object::File::parse(&bytes[..]).map_err(bad)?;
    let build_id = file.build_id().map_err(bad)?.map(hex::encode);
    let has_symtab = file.section_by_name(".symtab").is_some();
    let machine = Some(file.architecture());
    let kind = if mode & 0o111 != 0 {
        StripKind::Executable
    } else {
        StripKind::SharedLibrary
    };
    Ok(Some(Candidate {
        path: path.to_owned(),
        bytes,
        kind,
        build_id,
        has_symtab,
        machine,
    }))
}

/// `debug/.*\.so` in dh_strip: a debug library in a debug directory.
fn is_debug_library(path: &str) -> bool {
    path.find("debug/")
        .is_some_and(|at| path[at..].contains(".so"))
}

/// `/guile/.*\.go$` in dh_strip: Guile objects are ELF but not for strip.
fn is_guile_object(path: &str) -> bool {
    path.find("/guile/")
        .is_some_and(|at| path[at..].ends_with(".go"))
}

/// `e_type` of an ELF header is `ET_EXEC` (2) or `ET_DYN` (3), read in the
/// header's byte order, as Dh_Lib's `is_so_or_exec_elf_file` does.
fn is_exec_or_shared(head: &[u8]) -> bool {
    let Some(&[lo, hi]) = head.get(16..18) else {
        return false;
    };
    let e_type = match head.get(5) {
        Some(2) => u16::from_be_bytes([lo, hi]),
        _ => u16::from_le_bytes([lo, hi]),
    };
    matches!(e_type, 2 | 3)
}

/// The first bytes of a file: enough for the ELF header's type or the
/// `ar` magic.
fn read_head(path: &str, source: &FileSource) -> Result<Vec<u8>, StripError> {
    use std::io::Read;
    match source {
        FileSource::Bytes(bytes) => Ok(bytes.iter().take(64).copied().collect()),
        FileSource::Path(file) => {
            let mut head = Vec::with_capacity(64);
            std::fs::File::open(file)
                .and_then(|f| f.take(64).read_to_end(&mut head))
                .map_err(|source| StripError::Read {
                    path: path.to_owned(),
                    source,
                })?;
            Ok(head)
        }
    }
}

fn read_all(path: &str, source: &FileSource) -> Result<Vec<u8>, StripError> {
    match source {
        FileSource::Bytes(bytes) => Ok(bytes.clone()),
        FileSource::Path(file) => std::fs::read(file).map_err(|source| StripError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn file_size(path: &Path) -> Result<u64, StripError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| StripError::Scratch {
            path: path.to_owned(),
            source,
        })
}

/// Copies one file into `dir` and strips the copy as dh_strip does; keeps
/// its debug information when it has a build id and is not stripped yet.
fn strip_one(candidate: &Candidate, dir: &Path) -> Result<Made, StripError> {
    let scratch_err = |path: &Path| {
        let path = path.to_owned();
        move |source| StripError::Scratch { path, source }
    };
    std::fs::create_dir_all(dir).map_err(scratch_err(dir))?;
    let file = dir.join("file");
    std::fs::write(&file, &candidate.bytes).map_err(scratch_err(&file))?;
    let tools = Tools::for_machine(&candidate.path, candidate.machine)?;
    let run = |program: &str, args: Vec<std::ffi::OsString>| {
        Cmd::new(program)
            .args(args)
            .env("LC_ALL", "C")
            .time_limit(TOOL_LIMIT)
            .output()
            .map(|_| ())
            .map_err(|source| StripError::Tool {
                path: candidate.path.clone(),
                source,
            })
    };
    if candidate.kind == StripKind::StaticLibrary {
        let args = STATIC_LIBRARY_ARGS.iter().map(Into::into);
        run(
            &tools.strip,
            args.chain([file.clone().into_os_string()]).collect(),
        )?;
        return Ok(Made { file, debug: None });
    }
    // The debug file's name is what --add-gnu-debuglink records, so it is
    // named as it will be installed.
    let debug = match (&candidate.build_id, candidate.has_symtab) {
        (Some(id), true) if id.len() > 2 => {
            let debug_path = dir.join(format!("{}.debug", &id[2..]));
            run(
                &tools.objcopy,
                vec![
                    "--only-keep-debug".into(),
                    "--compress-debug-sections".into(),
                    file.clone().into_os_string(),
                    debug_path.clone().into_os_string(),
                ],
            )?;
            Some((id.clone(), debug_path))
        }
        _ => None,
    };
    let mut args: Vec<std::ffi::OsString> = vec![
        "--remove-section=.comment".into(),
        "--remove-section=.note".into(),
    ];
    if candidate.kind == StripKind::SharedLibrary {
        args.push("--strip-unneeded".into());
    }
    args.push(file.clone().into_os_string());
    run(&tools.strip, args)?;
    if let Some((_, debug_path)) = &debug {
        run(
            &tools.objcopy,
            vec![
                "--add-gnu-debuglink".into(),
                debug_path.clone().into_os_string(),
                file.clone().into_os_string(),
            ],
        )?;
    }
    Ok(Made { file, debug })
}

/// dh_strip's `strip` arguments for a static library: debug info, the
/// `.comment`/`.note` sections and LTO bytecode go, members get zero
/// timestamps and owners (`--enable-deterministic-archives`).
const STATIC_LIBRARY_ARGS: [&str; 12] = [
    "--strip-debug",
    "--remove-section=.comment",
    "--remove-section=.note",
    "--enable-deterministic-archives",
    "-R",
    ".gnu.lto_*",
    "-R",
    ".gnu.debuglto_*",
    "-N",
    "__gnu_lto_slim",
    "-N",
    "__gnu_lto_v1",
];

/// The binutils programs for one file's machine.
struct Tools {
    objcopy: String,
    strip: String,
}

impl Tools {
    /// The host's `objcopy`/`strip` for a host file (or an archive, whose
    /// machine is not read), else `<triplet>-objcopy`/`-strip` when on PATH.
    fn for_machine(path: &str, machine: Option<Architecture>) -> Result<Self, StripError> {
        let native = Tools {
            objcopy: "objcopy".into(),
            strip: "strip".into(),
        };
        let Some(machine) = machine else {
            return Ok(native);
        };
        let name = format!("{machine:?}").to_lowercase();
        let Some(triplet) = gnu_triplet(machine) else {
            return Err(StripError::UnknownMachine {
                path: path.to_owned(),
                machine: name,
            });
        };
        if gnu_triplet_of_host() == Some(triplet) {
            return Ok(native);
        }
        let tools = Tools {
            objcopy: format!("{triplet}-objcopy"),
            strip: format!("{triplet}-strip"),
        };
        let path_var = std::env::var_os("PATH").unwrap_or_default();
        if on_path(&path_var, &tools.objcopy) && on_path(&path_var, &tools.strip) {
            Ok(tools)
        } else {
            Err(StripError::ToolMissing {
                path: path.to_owned(),
                machine: name,
                tool: tools.objcopy,
                package: format!("binutils-{}", triplet.replace('_', "-")),
            })
        }
    }
}

/// The GNU triplet Debian's cross binutils are named after.
fn gnu_triplet(machine: Architecture) -> Option<&'static str> {
    Some(match machine {
        Architecture::X86_64 => "x86_64-linux-gnu",
        Architecture::Aarch64 => "aarch64-linux-gnu",
        Architecture::Arm => "arm-linux-gnueabihf",
        Architecture::I386 => "i686-linux-gnu",
        Architecture::Riscv64 => "riscv64-linux-gnu",
        Architecture::PowerPc64 => "powerpc64le-linux-gnu",
        Architecture::S390x => "s390x-linux-gnu",
        _ => return None,
    })
}

fn gnu_triplet_of_host() -> Option<&'static str> {
    Some(match std::env::consts::ARCH {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        "arm" => "arm-linux-gnueabihf",
        "x86" => "i686-linux-gnu",
        "riscv64" => "riscv64-linux-gnu",
        "powerpc64" => "powerpc64le-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        _ => return None,
    })
}

/// Whether `program` is an executable file in one of the `PATH` directories.
fn on_path(path_var: &std::ffi::OsStr, program: &str) -> bool {
    std::env::split_paths(path_var).any(|dir| dir.join(program).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_types_and_names_are_classified_as_dh_strip_does() {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[5] = 1;
        for (e_type, counts) in [(1u8, false), (2, true), (3, true), (4, false)] {
            header[16] = e_type;
            assert_eq!(is_exec_or_shared(&header), counts, "e_type {e_type}");
        }
        assert!(!is_exec_or_shared(b"\x7fELF"));
        assert!(is_debug_library("/usr/lib/debug/usr/lib/libx.so.1"));
        assert!(!is_debug_library("/usr/lib/libx.so.1"));
        assert!(is_guile_object("/usr/lib/guile/3.0/x.go"));
        assert_eq!(
            debug_dest("abcdef"),
            "/usr/lib/debug/.build-id/ab/cdef.debug"
        );
    }

    #[test]
    fn a_truncated_elf_is_an_error_and_a_fake_one_is_left_alone() {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2;
        header[5] = 1;
        header[16] = 3;
        // Section headers claimed far past the end of the file.
        header[40] = 0xff;
        header[41] = 0xff;
        header[60] = 0xff;
        let source = FileSource::Bytes(header);
        let err = classify("/usr/lib/libx.so.1", &source, 0o644)
            .err()
            .expect("a truncated ELF");
        assert!(matches!(err, StripError::BadElf { .. }), "{err}");
        let text = FileSource::Bytes(b"not an ELF file".to_vec());
        assert!(classify("/usr/lib/libfake.so.1", &text, 0o755)
            .expect("text")
            .is_none());
        let archive = FileSource::Bytes(b"!<arch>\n".to_vec());
        assert!(classify("/usr/lib/notlib.a", &archive, 0o644)
            .expect("archive")
            .is_none());
    }
}
