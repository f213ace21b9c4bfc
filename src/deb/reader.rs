//! Reads a `.deb` natively, like `dpkg-deb --info` and `--contents`: checks
//! the container (magic, member order, format version), decompresses both
//! tarballs completely (so truncation is caught) and refuses entries whose
//! paths could escape the root.
//!
//! A `.deb` given to `repo add` is untrusted, so reading one is bounded:
//! nothing is held in memory whose size the file merely claims. The
//! decompressed control.tar, the `control` file, long-name records, the
//! number of entries and the xz decoder's memory all have limits
//! ([`Limits`]) far above any real package and far below a compression
//! bomb; data.tar is streamed, never held.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::ar::{read_header, HeaderError, MemberHeader};
use super::compress::Compression;
use super::control::Control;
use super::DebError;

/// What reading a `.deb` may take. The defaults ([`Limits::DEFAULT`]) are
/// far above what Debian's largest packages need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of control.tar once decompressed (scripts, md5sums, control).
    pub control_tar: u64,
    /// Bytes of the `control` file itself.
    pub control_file: u64,
    /// Entries of control.tar.
    pub control_entries: usize,
    /// Entries of data.tar (each one is listed in memory).
    pub data_entries: usize,
    /// Bytes of one GNU long-name/long-link or pax record (a path, in effect).
    pub record: u64,
    /// Bytes of the `debian-binary` member.
    pub debian_binary: u64,
}

impl Limits {
    /// 64 MiB of control.tar, a 4 MiB control file, 10,000 control entries,
    /// 1,000,000 data entries, 64 KiB records, 1 KiB of debian-binary.
    pub const DEFAULT: Limits = Limits {
        control_tar: 64 << 20,
        control_file: 4 << 20,
        control_entries: 10_000,
        data_entries: 1_000_000,
        record: 64 << 10,
        debian_binary: 1024,
    };
}

/// What kind of tar entry a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// A hard link.
    Hardlink,
    /// Anything else (devices, fifos).
    Other,
}

/// One entry of control.tar or data.tar.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EntryInfo {
    /// The path as stored (`./usr/bin/hello`).
    pub path: String,
    /// Entry kind.
    pub kind: EntryKind,
    /// Permission bits.
    pub mode: u32,
    /// Owner and group names.
    pub owner: String,
    /// Group name.
    pub group: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time.
    pub mtime: u64,
    /// Link target for symlinks and hard links.
    pub link: Option<String>,
}

/// A package read back from disk.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DebInfo {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// The ar members in order.
    pub members: Vec<String>,
    /// The compression of the tarballs.
    pub compression: Compression,
    /// The control stanza.
    #[serde(serialize_with = "control_as_map")]
    pub control: Control,
    /// The entries of control.tar.
    pub control_files: Vec<EntryInfo>,
    /// The entries of data.tar.
    pub files: Vec<EntryInfo>,
    /// The contents of the `shlibs` and `symbols` control files, when
    /// present (each within the control file's size limit).
    #[serde(skip)]
    pub library_info: BTreeMap<String, Vec<u8>>,
}

/// Control files read whole, by name.
type Kept = BTreeMap<String, Vec<u8>>;

/// The control files kept in [`DebInfo::library_info`].
const LIBRARY_INFO: &[&str] = &["shlibs", "symbols"];

fn control_as_map<S: serde::Serializer>(control: &Control, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(None)?;
    for (name, value) in control.fields() {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

/// Reads and checks the package at `path`.
pub fn read_deb(path: &Path) -> Result<DebInfo, DebError> {
    let limits = &Limits::DEFAULT;
    let corrupt = |reason: String| DebError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let file = File::open(path).map_err(|source| DebError::Read {
        path: path.to_owned(),
        source,
    })?;
    let size = file
        .metadata()
        .map_err(|source| DebError::Read {
            path: path.to_owned(),
            source,
        })?
        .len();
    let mut info = read_from(BufReader::new(file), size, limits).map_err(corrupt)?;
    info.path = path.to_owned();
    Ok(info)
}

/// The control stanza from the bytes of control.tar's `control` file
/// (already checked to be UTF-8).
fn parse_control(bytes: Option<Vec<u8>>) -> Result<Control, String> {
    let bytes = bytes.ok_or("control.tar has no control file")?;
    Control::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| format!("control file: {e}"))
}

/// Reads a package from `input` (`size` bytes); the error is the reason it is not valid.
pub(crate) fn read_from(
    mut input: impl Read,
    size: u64,
    limits: &Limits,
) -> Result<DebInfo, String> {
    let mut magic = [0u8; 8];
    if input.read_exact(&mut magic).is_err() || &magic != b"!<arch>\n" {
        return Err("it is not an ar archive".into());
    }
    let mut members = Vec::new();
    let mut control = None;
    let mut control_files = Vec::new();
    let mut files = Vec::new();
    let mut compression = Compression::None;
    let mut library_info = BTreeMap::new();
    while let Some(header) = next_header(&mut input, members.len() + 1)? {
        let name = header.name;
        let expected = header.size;
        let mut counted = CountingReader {
            inner: (&mut input).take(expected),
            count: 0,
        };
        match members.len() {
            0 => check_debian_binary(&mut counted, &name, expected, limits)?,
            1 | 2 => {
                let tarball = if members.len() == 1 {
                    Tarball::Control
                } else {
                    Tarball::Data
                };
                let (c, entries, mut texts) =
                    read_tarball(&mut counted, &name, members.len() + 1, tarball, limits)?;
                compression = c;
                match tarball {
                    Tarball::Control => {
                        control = Some(parse_control(texts.remove("control"))?);
                        (control_files, library_info) = (entries, texts);
                    }
                    Tarball::Data => files = entries,
                }
            }
            // Members after data.tar are allowed (signatures, deb(5)).
            _ => {
                std::io::copy(&mut counted, &mut std::io::sink())
                    .map_err(|e| format!("{name}: {e}"))?;
            }
        }
        if counted.count != expected {
            return Err(format!(
                "{name} is truncated ({} of {expected} bytes)",
                counted.count
            ));
        }
        // Members are padded to an even length; the padding byte may be
        // missing after the last member, as dpkg tolerates.
        if expected % 2 == 1 {
            let mut pad = [0u8; 1];
            let _ = input.read(&mut pad);
        }
        members.push(name);
    }
    if members.len() < 3 {
        return Err(format!(
            "it has {} of the 3 required members",
            members.len()
        ));
    }
    let control = control.ok_or("no control data")?;
    Ok(DebInfo {
        path: PathBuf::new(),
        size,
        members,
        compression,
        control,
        control_files,
        files,
        library_info,
    })
}

/// The header of member number `position`, or `None` at the end of the archive.
fn next_header(input: &mut impl Read, position: usize) -> Result<Option<MemberHeader>, String> {
    match read_header(input) {
        Ok(header) => Ok(header),
        Err(HeaderError::Truncated) => {
            Err(format!("it ends inside the header of member {position}"))
        }
        Err(HeaderError::Damaged(what)) => Err(format!(
            "damaged ar member header ({what}) for member {position}"
        )),
    }
}

/// Checks the first member, `debian-binary` (`expected` bytes at `input`).
fn check_debian_binary(
    input: &mut impl Read,
    name: &str,
    expected: u64,
    limits: &Limits,
) -> Result<(), String> {
    if name != "debian-binary" {
        return Err(format!("the first member is {name:?}, not debian-binary"));
    }
    if expected > limits.debian_binary {
        return Err(format!(
            "debian-binary is {expected} bytes, more than {}",
            limits.debian_binary
        ));
    }
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| format!("unreadable debian-binary ({e})"))?;
    if !bytes.starts_with(b"2.") {
        return Err(format!(
            "unsupported format version {:?}",
            String::from_utf8_lossy(&bytes).trim_end()
        ));
    }
    Ok(())
}

/// Reads member number `position`, called `name`, which must be `tarball`:
/// its compression, its entries and (for control.tar) the control text and
/// the [`LIBRARY_INFO`] files by name.
/// The member is read to its end, so that truncation shows.
fn read_tarball(
    input: &mut impl Read,
    name: &str,
    position: usize,
    tarball: Tarball,
    limits: &Limits,
) -> Result<(Compression, Vec<EntryInfo>, Kept), String> {
    let want = tarball.name();
    let Some(compression) = Compression::from_member_name(name).filter(|_| name.starts_with(want))
    else {
        return Err(format!(
            "member {position} is {name:?}, expected {want}[.xz|.gz|.zst]"
        ));
    };
    let (entries, text) = {
        let decoder = compression
            .decoder(&mut *input)
            .map_err(|e| format!("{name}: {e}"))?;
        let cap = match tarball {
            Tarball::Control => limits.control_tar,
            Tarball::Data => u64::MAX,
        };
        let mut bounded = Bounded {
            inner: decoder,
            left: cap,
            exceeded: false,
        };
        let result = read_tar(&mut bounded, tarball, limits);
        if bounded.exceeded {
            return Err(format!(
                "{name} expands to more than {cap} bytes; refusing it (a compression bomb?)"
            ));
        }
        result.map_err(|reason| format!("{name}: {reason}"))?
    };
    // Read what the tar reader left (padding) so truncation shows.
    std::io::copy(input, &mut std::io::sink()).map_err(|e| format!("{name}: {e}"))?;
    Ok((compression, entries, text))
}

/// Which of the two tarballs of a .deb is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tarball {
    /// `control.tar*`: small, bounded, holds `./control`.
    Control,
    /// `data.tar*`: the files to install.
    Data,
}

impl Tarball {
    /// The member name without its compression suffix.
    fn name(self) -> &'static str {
        match self {
            Tarball::Control => "control.tar",
            Tarball::Data => "data.tar",
        }
    }

    /// How many entries it may have.
    fn max_entries(self, limits: &Limits) -> usize {
        match self {
            Tarball::Control => limits.control_entries,
            Tarball::Data => limits.data_entries,
        }
    }
}

/// Lists a tarball, returning its entries and, for control.tar, the
/// contents of `./control` and the [`LIBRARY_INFO`] files by name. Runs the tar crate in raw mode and reads GNU long names and
/// pax records itself, because the crate would read a record of any
/// claimed size into memory.
fn read_tar(
    input: impl Read,
    tarball: Tarball,
    limits: &Limits,
) -> Result<(Vec<EntryInfo>, Kept), String> {
    let max_entries = tarball.max_entries(limits);
    let mut archive = tar::Archive::new(input);
    let mut infos = Vec::new();
    let mut kept = BTreeMap::new();
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut pax: Option<Vec<u8>> = None;
    let entries = archive.entries().map_err(|e| e.to_string())?.raw(true);
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("damaged tar entry ({e})"))?;
        let header = entry.header();
        let entry_type = header.entry_type();
        let size = header.entry_size().map_err(|e| e.to_string())?;
        let record = match entry_type {
            tar::EntryType::GNULongName => Some((&mut long_name, "GNU long name")),
            tar::EntryType::GNULongLink => Some((&mut long_link, "GNU long link")),
            tar::EntryType::XHeader => Some((&mut pax, "pax header")),
            tar::EntryType::XGlobalHeader => None,
            tar::EntryType::GNUSparse => {
                return Err("GNU sparse entries are not supported (dpkg cannot unpack them)".into())
            }
            _ => {
                let info = list_entry(&entry, long_name.take(), long_link.take(), pax.take())?;
                if infos.len() >= max_entries {
                    return Err(format!("it has more than {max_entries} entries"));
                }
                let file = info.path.trim_start_matches("./");
                let keep = tarball == Tarball::Control
                    && info.kind == EntryKind::File
                    && (file == "control" || LIBRARY_INFO.contains(&file));
                if keep {
                    let bytes = read_kept(&mut entry, file, info.size, limits)?;
                    kept.insert(file.to_owned(), bytes);
                } else {
                    std::io::copy(&mut entry, &mut std::io::sink())
                        .map_err(|e| format!("damaged data for {} ({e})", info.path))?;
                }
                infos.push(info);
                continue;
            }
        };
        if size > limits.record {
            return Err(format!(
                "a {} record is {size} bytes, more than {}",
                record
                    .as_ref()
                    .map_or("pax global header", |(_, what)| *what),
                limits.record
            ));
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("damaged tar entry ({e})"))?;
        if let Some((slot, what)) = record {
            if slot.replace(bytes).is_some() {
                return Err(format!("two {what} records for one entry"));
            }
        }
    }
    if long_name.is_some() || long_link.is_some() || pax.is_some() {
        return Err("the archive ends with a record describing no entry".into());
    }
    Ok((infos, kept))
}

/// The bytes of a control file read whole (`size` bytes as listed): at
/// most the control file limit, and UTF-8 for `control` itself.
fn read_kept(
    entry: &mut impl Read,
    file: &str,
    size: u64,
    limits: &Limits,
) -> Result<Vec<u8>, String> {
    if size > limits.control_file {
        return Err(format!(
            "the {file} file is {size} bytes, more than {}",
            limits.control_file
        ));
    }
    let mut bytes = Vec::new();
    entry
        .take(limits.control_file)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("unreadable {file} file ({e})"))?;
    if file == "control" && std::str::from_utf8(&bytes).is_err() {
        return Err("unreadable control file (not UTF-8)".into());
    }
    Ok(bytes)
}

/// The listing of one ordinary entry, with its long name, long link or pax
/// path applied the way GNU tar applies them.
fn list_entry<R: Read>(
    entry: &tar::Entry<'_, R>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
) -> Result<EntryInfo, String> {
    let header = entry.header();
    let mut path = long_name.map(strip_nul);
    let mut link = long_link.map(strip_nul);
    if let Some(pax) = &pax {
        for record in tar::PaxExtensions::new(pax) {
            let record = record.map_err(|_| "damaged pax header".to_owned())?;
            match record.key_bytes() {
                b"path" => path = Some(record.value_bytes().to_vec()),
                b"linkpath" => link = Some(record.value_bytes().to_vec()),
                // The crate skips by the header's size; a pax size that
                // disagrees would make two readers see two archives.
                b"size"
                    if record.value_bytes()
                        != header.entry_size().unwrap_or(0).to_string().as_bytes() =>
                {
                    return Err("a pax size record disagrees with its header".into())
                }
                _ => {}
            }
        }
    }
    let path = path.unwrap_or_else(|| header.path_bytes().into_owned());
    let path = String::from_utf8_lossy(&path).into_owned();
    check_entry_path(&path)?;
    let kind = match header.entry_type() {
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
        tar::EntryType::Symlink => EntryKind::Symlink,
        tar::EntryType::Link => EntryKind::Hardlink,
        _ => EntryKind::Other,
    };
    let link = match kind {
        EntryKind::Symlink | EntryKind::Hardlink => {
            let bytes = link.unwrap_or_else(|| {
                header
                    .link_name_bytes()
                    .map(|l| l.into_owned())
                    .unwrap_or_default()
            });
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => None,
    };
    Ok(EntryInfo {
        path,
        kind,
        mode: header.mode().map_err(|e| e.to_string())?,
        owner: header.username().ok().flatten().unwrap_or("").to_owned(),
        group: header.groupname().ok().flatten().unwrap_or("").to_owned(),
        size: header.entry_size().map_err(|e| e.to_string())?,
        mtime: header.mtime().map_err(|e| e.to_string())?,
        link,
    })
}

/// GNU long names end with a NUL.
fn strip_nul(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

/// An entry must stay inside the root: relative, no `..` component.
fn check_entry_path(path: &str) -> Result<(), String> {
    if path.starts_with('/') || path.split('/').any(|c| c == "..") {
        return Err(format!("unsafe path {path:?} in the archive"));
    }
    Ok(())
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Fails a read once more than `left` bytes came through, and remembers it,
/// so a decompression bomb stops at the limit instead of filling memory or disk.
struct Bounded<R> {
    inner: R,
    left: u64,
    exceeded: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => {
                self.exceeded = true;
                Err(std::io::Error::other("decompressed size limit reached"))
            }
        }
    }
}

/// [`read_from`] on bytes in memory, for the property tests.
#[cfg(test)]
pub(crate) fn read_bytes(bytes: &[u8], limits: &Limits) -> Result<DebInfo, String> {
    read_from(bytes, bytes.len() as u64, limits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb::{write_deb, ControlFile, DataTree, PackageSpec};
    use pretty_assertions::assert_eq;

    fn package() -> Vec<u8> {
        let control = Control::of(&[
            ("Package", "hello"),
            ("Version", "1.0"),
            ("Architecture", "all"),
            ("Description", "d"),
        ]);
        let mut data = DataTree::new();
        data.add_bytes(&format!("/usr/{}", "n".repeat(200)), b"x".to_vec(), 0o644)
            .expect("file");
        let spec = PackageSpec {
            control,
            control_files: vec![ControlFile {
                name: "postinst".into(),
                mode: 0o755,
                bytes: b"#!/bin/sh\n".to_vec(),
            }],
            data,
            compression: Compression::Gzip,
            mtime: 0,
            generate: false,
            on_disk: None,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let written = write_deb(&spec, dir.path()).expect("write");
        std::fs::read(written.path).expect("read")
    }

    #[test]
    fn every_limit_is_a_clear_refusal() {
        let bytes = package();
        let read = |limits: Limits| read_bytes(&bytes, &limits).map(|info| info.files.len());
        assert_eq!(read(Limits::DEFAULT), Ok(3));
        let cases = [
            (
                Limits {
                    debian_binary: 3,
                    ..Limits::DEFAULT
                },
                "debian-binary is 4 bytes, more than 3",
            ),
            (
                Limits {
                    control_tar: 1000,
                    ..Limits::DEFAULT
                },
                "control.tar.gz expands to more than 1000 bytes; refusing it (a compression bomb?)",
            ),
            (
                Limits {
                    control_file: 10,
                    ..Limits::DEFAULT
                },
                "control.tar.gz: the control file is 61 bytes, more than 10",
            ),
            (
                Limits {
                    control_entries: 2,
                    ..Limits::DEFAULT
                },
                "control.tar.gz: it has more than 2 entries",
            ),
            (
                Limits {
                    data_entries: 2,
                    ..Limits::DEFAULT
                },
                "data.tar.gz: it has more than 2 entries",
            ),
            (
                Limits {
                    record: 100,
                    ..Limits::DEFAULT
                },
                "data.tar.gz: a GNU long name record is 207 bytes, more than 100",
            ),
        ];
        for (limits, want) in cases {
            assert_eq!(read(limits), Err(want.to_owned()));
        }
    }
}
