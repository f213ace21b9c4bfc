//! Writes a `.deb`: data.tar first (streamed through the compressor into a
//! temporary file beside the target, hashing each file for `md5sums` on the
//! way), then control.tar in memory, then the ar container, and finally a
//! rename, so the output directory never holds a partial package.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use sha2::Sha256;

use super::compress::{gzip_encoder, Compression};
use super::control::Control;
use super::tar::TarWriter;
use super::tree::{DataTree, EntryKind, FileSource};
use super::{ar, DebError};

/// A file of control.tar other than `control` itself (scripts, conffiles, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlFile {
    /// The name inside control.tar, e.g. `postinst`.
    pub name: String,
    /// Permission bits.
    pub mode: u32,
    /// The contents.
    pub bytes: Vec<u8>,
}

/// Everything needed to write one package.
#[derive(Debug, Clone)]
pub struct PackageSpec {
    /// The control stanza.
    pub control: Control,
    /// Extra control members (maintainer scripts, `conffiles`, `triggers`...).
    pub control_files: Vec<ControlFile>,
    /// The files the package installs.
    pub data: DataTree,
    /// Member compression.
    pub compression: Compression,
    /// The timestamp of every entry (`SOURCE_DATE_EPOCH`); later mtimes are clamped to it.
    pub mtime: u64,
    /// Add what dpkg-gencontrol and dh_md5sums would: `Installed-Size` and
    /// `md5sums`. Off for `deb build DIR`, which, like `dpkg-deb --build`,
    /// packs the control directory as given.
    pub generate: bool,
    /// For `deb build DIR`: the modes and mtimes found on disk for what is
    /// not a data file. `None`: `./` is 0755 and everything carries `mtime`.
    pub on_disk: Option<OnDisk>,
}

/// The mode and mtime of a directory on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirStamp {
    /// Permission bits.
    pub mode: u32,
    /// Modification time in seconds.
    pub mtime: u64,
}

/// What `deb build DIR` packs from disk besides the data files, as
/// dpkg-deb's `tar --clamp-mtime` packs it: real mtimes, never later than
/// the package's timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDisk {
    /// DIR itself: the `./` entry of data.tar.
    pub root: DirStamp,
    /// DIR/DEBIAN: the `./` entry of control.tar.
    pub control_dir: DirStamp,
    /// The mtime of each file of DIR/DEBIAN by name, `control` included.
    pub control_mtimes: BTreeMap<String, u64>,
}

/// A package written to disk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WrittenDeb {
    /// Package name.
    pub name: String,
    /// Debian version.
    pub version: String,
    /// Architecture.
    pub architecture: String,
    /// Where it was written.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
}

/// Writes `spec` as `<name>_<version>_<arch>.deb` into `out_dir`.
pub fn write_deb(spec: &PackageSpec, out_dir: &Path) -> Result<WrittenDeb, DebError> {
    let control = checked_control(spec)?;
    let name = control.package().unwrap_or_default().to_owned();
    let version = control.version().unwrap_or_default().to_owned();
    let architecture = control.architecture().unwrap_or_default().to_owned();

    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| DebError::Write { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(write_err(out_dir))?;
    let mut data = tempfile::Builder::new()
        .prefix(".buildkit-data-")
        .tempfile_in(out_dir)
        .map_err(write_err(out_dir))?;
    let md5sums = write_data_tar(spec, data.as_file_mut())?;
    let data_size = data
        .as_file()
        .stream_position()
        .map_err(write_err(data.path()))?;
    data.as_file_mut()
        .rewind()
        .map_err(write_err(data.path()))?;
    let control_tar = control_tar(
        &control_files(spec, &control, md5sums),
        spec.compression,
        spec.mtime,
        spec.on_disk.as_ref(),
    )
    .map_err(write_err(out_dir))?;

    // Debian file names carry the version without its epoch (Policy 3.1.1).
    let file_version = version.split_once(':').map_or(version.as_str(), |(_, v)| v);
    let path = out_dir.join(format!(
        "{name}_{file_version}_{architecture}.{}",
        file_extension(&control)
    ));
    let mut out = tempfile::Builder::new()
        .prefix(".buildkit-deb-")
        .tempfile_in(out_dir)
        .map_err(write_err(out_dir))?;
    let ext = spec.compression.extension();
    let members: [(String, u64, Box<dyn Read + '_>); 3] = [
        ("debian-binary".into(), 4, Box::new(&b"2.0\n"[..])),
        (
            format!("control.tar{ext}"),
            control_tar.len() as u64,
            Box::new(&control_tar[..]),
        ),
        (
            format!("data.tar{ext}"),
            data_size,
            Box::new(data.as_file_mut()),
        ),
    ];
    let (size, sha256) =
        write_ar(out.as_file_mut(), spec.mtime, members).map_err(write_err(&path))?;
    set_readable(out.path()).map_err(write_err(&path))?;
    out.persist(&path).map_err(|e| DebError::Write {
        path: path.clone(),
        source: e.error,
    })?;
    Ok(WrittenDeb {
        name,
        version,
        architecture,
        path,
        size,
        sha256,
    })
}

/// The control stanza as it goes into the package: validated, and with
/// `generate`, with its Installed-Size and in canonical field order; the
/// spec's conffiles are checked against its data tree.
fn checked_control(spec: &PackageSpec) -> Result<Control, DebError> {
    let mut control = spec.control.clone();
    control.validate()?;
    if spec.generate {
        control.set(
            "Installed-Size",
            &spec.data.installed_size_kib().to_string(),
        )?;
        control.sort_canonical();
        control = place_debug_fields(&control)?;
    }
    for file in &spec.control_files {
        if file.name == "conffiles" {
            check_conffiles(&file.bytes, &spec.data)?;
        }
    }
    Ok(control)
}

/// `ddeb` for a debug symbols package (`Package-Type: ddeb`, as
/// dh_gencontrol writes it where dbgsym packages are `.ddeb` files), else `deb`.
fn file_extension(control: &Control) -> &'static str {
    match control.get("Package-Type") {
        Some("ddeb") => "ddeb",
        _ => "deb",
    }
}

/// The fields of a dbgsym package that [`Control::sort_canonical`] does
/// not know, where dpkg-gencontrol writes them (`Dpkg::Control::FieldsCore`):
/// `Package-Type` right after `Package`, `Auto-Built-Package` just before
/// `Architecture`, and `Build-Ids`, unknown to dpkg, after everything.
fn place_debug_fields(control: &Control) -> Result<Control, DebError> {
    const MOVED: [&str; 3] = ["Package-Type", "Auto-Built-Package", "Build-Ids"];
    let moved = |name: &str| MOVED.iter().any(|m| m.eq_ignore_ascii_case(name));
    if !control.fields().any(|(name, _)| moved(name)) {
        return Ok(control.clone());
    }
    let mut placed = Control::new();
    let push_moved = |placed: &mut Control, field: &str| match control.get(field) {
        Some(value) => placed.push(field, value),
        None => Ok(()),
    };
    for (name, value) in control.fields().filter(|(name, _)| !moved(name)) {
        if name.eq_ignore_ascii_case("Architecture") {
            push_moved(&mut placed, "Auto-Built-Package")?;
        }
        placed.push(name, value)?;
        if name.eq_ignore_ascii_case("Package") {
            push_moved(&mut placed, "Package-Type")?;
        }
    }
    push_moved(&mut placed, "Build-Ids")?;
    Ok(placed)
}

/// The members of `control.tar`: the spec's own files, `md5sums` when
/// generated (and not empty), and `control` last.
fn control_files(spec: &PackageSpec, control: &Control, md5sums: String) -> Vec<ControlFile> {
    let mut files = spec.control_files.clone();
    if spec.generate && !md5sums.is_empty() {
        files.push(ControlFile {
            name: "md5sums".into(),
            mode: 0o644,
            bytes: md5sums.into_bytes(),
        });
    }
    files.push(ControlFile {
        name: "control".into(),
        mode: 0o644,
        bytes: control.to_string().into_bytes(),
    });
    files
}

/// Writes the `ar` archive of `members` into `file` and syncs it; returns
/// its size and SHA-256.
fn write_ar<'a>(
    file: &mut File,
    mtime: u64,
    members: [(String, u64, Box<dyn Read + 'a>); 3],
) -> std::io::Result<(u64, String)> {
    let mut hashed = HashWriter::new(BufWriter::new(&mut *file));
    ar::write(&mut hashed, mtime, members)?;
    let written = hashed.finish()?;
    file.sync_all()?;
    Ok(written)
}

/// Streams the data tree as a compressed tar into `out` and returns the
/// `md5sums` text for its regular files.
fn write_data_tar(spec: &PackageSpec, out: &mut File) -> Result<String, DebError> {
    let io_err = |source| DebError::Write {
        path: PathBuf::from("data.tar"),
        source,
    };
    let encoder = spec
        .compression
        .encoder(BufWriter::new(out))
        .map_err(io_err)?;
    let mut tar = TarWriter::new(encoder);
    let root = spec.on_disk.as_ref().map_or(
        DirStamp {
            mode: 0o755,
            mtime: spec.mtime,
        },
        |d| d.root,
    );
    tar.dir("./", root.mode, root.mtime.min(spec.mtime))
        .map_err(io_err)?;
    let mut md5sums = String::new();
    for (path, entry) in spec.data.ordered() {
        let mtime = entry.mtime.map_or(spec.mtime, |m| m.min(spec.mtime));
        match &entry.kind {
            EntryKind::Dir => tar
                .dir(&format!("./{path}/"), entry.mode, mtime)
                .map_err(io_err)?,
            EntryKind::Symlink { target } => tar
                .symlink(&format!("./{path}"), target, mtime)
                .map_err(io_err)?,
            EntryKind::File { source, size } => {
                let mut hasher = Md5::new();
                let name = format!("./{path}");
                match source {
                    FileSource::Bytes(bytes) => {
                        hasher.update(bytes);
                        tar.file(&name, entry.mode, mtime, *size, &bytes[..])
                            .map_err(io_err)?;
                    }
                    FileSource::Path(src) => {
                        let read_err = |source| DebError::ReadSource {
                            path: src.clone(),
                            source,
                        };
                        let file = File::open(src).map_err(read_err)?;
                        let reader = HashReader {
                            inner: file,
                            hasher: &mut hasher,
                        };
                        tar.file(&name, entry.mode, mtime, *size, reader)
                            .map_err(read_err)?;
                    }
                }
                md5sums.push_str(&format!("{}  {path}\n", hex::encode(hasher.finalize())));
            }
        }
    }
    let encoder = tar.finish().map_err(io_err)?;
    let mut buffered = encoder.finish().map_err(io_err)?;
    buffered.flush().map_err(io_err)?;
    Ok(md5sums)
}

/// control.tar: `./` then the files sorted by name, all root-owned, as
/// dpkg-deb writes it.
fn control_tar(
    files: &[ControlFile],
    compression: Compression,
    mtime: u64,
    on_disk: Option<&OnDisk>,
) -> io::Result<Vec<u8>> {
    let mut sorted: Vec<&ControlFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut tar = TarWriter::new(compression.encoder(Vec::new())?);
    let (dir_mode, dir_mtime) = on_disk.map_or((0o755, mtime), |d| {
        (d.control_dir.mode, d.control_dir.mtime.min(mtime))
    });
    tar.dir("./", dir_mode, dir_mtime)?;
    for file in sorted {
        let name = format!("./{}", file.name);
        let file_mtime = on_disk
            .and_then(|d| d.control_mtimes.get(&file.name))
            .map_or(mtime, |&m| m.min(mtime));
        tar.file(
            &name,
            file.mode,
            file_mtime,
            file.bytes.len() as u64,
            &file.bytes[..],
        )?;
    }
    tar.finish()?.finish()
}

/// dpkg-deb refuses a conffile that is not a regular file of the package.
fn check_conffiles(text: &[u8], data: &DataTree) -> Result<(), DebError> {
    for line in String::from_utf8_lossy(text).lines() {
        let path = line
            .strip_prefix("remove-on-upgrade ")
            .unwrap_or(line)
            .trim();
        if !path.is_empty() && (!path.starts_with('/') || !data.is_file(path)) {
            return Err(DebError::BadConffile {
                path: path.to_owned(),
            });
        }
    }
    Ok(())
}

/// `gzip -9n` of `bytes` (for changelogs and man pages).
pub fn gzip_n(bytes: &[u8]) -> Vec<u8> {
    let mut enc = gzip_encoder(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Temporary files are created 0600; a package is an ordinary 0644 file.
fn set_readable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

struct HashReader<'a, R> {
    inner: R,
    hasher: &'a mut Md5,
}

impl<R: Read> Read for HashReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    fn finish(mut self) -> io::Result<(u64, String)> {
        self.inner.flush()?;
        Ok((self.size, hex::encode(self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
