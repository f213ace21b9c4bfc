//! `deb build DIR`: a package from a directory laid out for `dpkg-deb
//! --build` (DEBIAN/control and scripts, then the file tree), packed as
//! given, with dpkg-deb's checks and root ownership (`--root-owner-group`).

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::writer::{DirStamp, OnDisk};
use super::{
    Compression, Control, ControlFile, DataTree, DebError, EntryKind, FileSource, PackageSpec,
};

/// Reads `dir` into a spec; entries keep their modes and their mtimes,
/// clamped to `mtime` when the package is written (as dpkg-deb clamps them
/// to `SOURCE_DATE_EPOCH`, or to the current time without it).
pub fn spec_from_dir(
    dir: &Path,
    mtime: u64,
    compression: Compression,
) -> Result<PackageSpec, DebError> {
    let read_err = |path: &Path| {
        let path = path.to_owned();
        move |source| DebError::Read { path, source }
    };
    let debian = dir.join("DEBIAN");
    let control_path = debian.join("control");
    if !control_path.is_file() {
        return Err(DebError::NoControl {
            dir: dir.to_owned(),
        });
    }
    let text = std::fs::read_to_string(&control_path).map_err(read_err(&control_path))?;
    let stamp = |path: &Path| {
        std::fs::metadata(path)
            .map(|meta| DirStamp {
                mode: meta.permissions().mode() & 0o7777,
                mtime: mtime_of(&meta),
            })
            .map_err(read_err(path))
    };
    let mut control_mtimes = BTreeMap::new();
    control_mtimes.insert("control".to_owned(), stamp(&control_path)?.mtime);
    let control = Control::parse(&text)?;
    control.validate()?;

    let mut control_files = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&debian)
        .map_err(read_err(&debian))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_err(&debian))?;
    names.sort_by_key(std::fs::DirEntry::file_name);
    for entry in names {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "control" {
            continue;
        }
        let meta = entry.metadata().map_err(read_err(&entry.path()))?;
        if !meta.is_file() {
            return Err(DebError::BadControlMember {
                name,
                reason: "it is not a regular file",
            });
        }
        let mode = meta.permissions().mode() & 0o7777;
        let is_script =
            ["preinst", "postinst", "prerm", "postrm", "config"].contains(&name.as_str());
        // dpkg-deb: maintainer scripts must be between 0555 and 0775.
        if is_script && (mode & 0o555 != 0o555 || mode & !0o775 != 0) {
            return Err(DebError::BadControlMember {
                name,
                reason: "maintainer scripts need permissions between 0555 and 0775",
            });
        }
        let bytes = std::fs::read(entry.path()).map_err(read_err(&entry.path()))?;
        control_mtimes.insert(name.clone(), mtime_of(&meta));
        control_files.push(ControlFile { name, mode, bytes });
    }

    let mut data = DataTree::new();
    walk(dir, "", &mut data, true)?;
    Ok(PackageSpec {
        control,
        control_files,
        data,
        compression,
        mtime,
        generate: false,
        on_disk: Some(OnDisk {
            root: stamp(dir)?,
            control_dir: stamp(&debian)?,
            control_mtimes,
        }),
    })
}

/// An mtime before 1970 is packed as 0, as it cannot be written unsigned.
fn mtime_of(meta: &std::fs::Metadata) -> u64 {
    u64::try_from(meta.mtime()).unwrap_or(0)
}

fn walk(dir: &Path, prefix: &str, data: &mut DataTree, top: bool) -> Result<(), DebError> {
    let read_err = |path: &Path| {
        let path = path.to_owned();
        move |source| DebError::Read { path, source }
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_err(dir))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_err(dir))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if top && name == "DEBIAN" {
            continue;
        }
        let path = entry.path();
        let dest = format!("{prefix}/{name}");
        let meta = std::fs::symlink_metadata(&path).map_err(read_err(&path))?;
        let mode = meta.permissions().mode() & 0o7777;
        let mtime = Some(mtime_of(&meta));
        let kind = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).map_err(read_err(&path))?;
            EntryKind::Symlink {
                target: target.to_string_lossy().into_owned(),
            }
        } else if meta.is_dir() {
            EntryKind::Dir
        } else if meta.is_file() {
            EntryKind::File {
                source: FileSource::Path(path.clone()),
                size: meta.len(),
            }
        } else {
            return Err(DebError::UnsafePath {
                path: dest,
                reason: "devices, fifos and sockets cannot be packaged",
            });
        };
        let is_dir = kind == EntryKind::Dir;
        data.insert(&dest, kind, mode, mtime)?;
        if is_dir {
            walk(&path, &dest, data, false)?;
        }
    }
    Ok(())
}
