//! Reads a `.deb` natively, like `dpkg-deb --info` and `--contents`: checks
//! the container (magic, member order, format version), decompresses both
//! tarballs completely (so truncation is caught) and refuses entries whose
//! paths could escape the root.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::compress::Compression;
use super::control::Control;
use super::DebError;

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
}

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
    let mut magic = [0u8; 8];
    let mut reader = BufReader::new(file);
    if reader.read_exact(&mut magic).is_err() || &magic != b"!<arch>\n" {
        return Err(corrupt("it is not an ar archive".into()));
    }
    let mut archive = ::ar::Archive::new(std::io::Cursor::new(magic).chain(reader));
    let mut members = Vec::new();
    let mut control = None;
    let mut control_files = Vec::new();
    let mut files = Vec::new();
    let mut compression = Compression::None;
    while let Some(entry) = archive.next_entry() {
        let mut entry = entry.map_err(|e| corrupt(format!("damaged ar member header ({e})")))?;
        let name = String::from_utf8_lossy(entry.header().identifier())
            .trim_end_matches('/')
            .to_owned();
        let expected = entry.header().size();
        match members.len() {
            0 => {
                let mut text = String::new();
                entry
                    .read_to_string(&mut text)
                    .map_err(|e| corrupt(format!("unreadable debian-binary ({e})")))?;
                if name != "debian-binary" {
                    return Err(corrupt(format!(
                        "the first member is {name:?}, not debian-binary"
                    )));
                }
                if !text.starts_with("2.") {
                    return Err(corrupt(format!(
                        "unsupported format version {:?}",
                        text.trim_end()
                    )));
                }
            }
            1 | 2 => {
                let want = if members.len() == 1 {
                    "control.tar"
                } else {
                    "data.tar"
                };
                let Some(c) =
                    Compression::from_member_name(&name).filter(|_| name.starts_with(want))
                else {
                    return Err(corrupt(format!(
                        "member {} is {name:?}, expected {want}[.xz|.gz|.zst]",
                        members.len() + 1
                    )));
                };
                compression = c;
                let mut counted = CountingReader {
                    inner: &mut entry,
                    count: 0,
                };
                let entries = read_tar(
                    c.decoder(&mut counted)
                        .map_err(|e| corrupt(format!("{name}: {e}")))?,
                    want == "control.tar",
                )
                .map_err(|reason| corrupt(format!("{name}: {reason}")))?;
                // Read what the tar reader left (padding) so truncation shows.
                std::io::copy(&mut counted, &mut std::io::sink())
                    .map_err(|e| corrupt(format!("{name}: {e}")))?;
                if counted.count != expected {
                    return Err(corrupt(format!(
                        "{name} is truncated ({} of {expected} bytes)",
                        counted.count
                    )));
                }
                if want == "control.tar" {
                    let (infos, text) = entries;
                    let text =
                        text.ok_or_else(|| corrupt("control.tar has no control file".into()))?;
                    control = Some(
                        Control::parse(&text).map_err(|e| corrupt(format!("control file: {e}")))?,
                    );
                    control_files = infos;
                } else {
                    files = entries.0;
                }
            }
            // Members after data.tar are allowed (signatures, deb(5)).
            _ => {}
        }
        members.push(name);
    }
    if members.len() < 3 {
        return Err(corrupt(format!(
            "it has {} of the 3 required members",
            members.len()
        )));
    }
    let control = control.ok_or_else(|| corrupt("no control data".into()))?;
    Ok(DebInfo {
        path: path.to_owned(),
        size,
        members,
        compression,
        control,
        control_files,
        files,
    })
}

/// Lists a tarball, returning its entries and, for control.tar, the text of `./control`.
fn read_tar(
    input: impl Read,
    want_control: bool,
) -> Result<(Vec<EntryInfo>, Option<String>), String> {
    let mut archive = tar::Archive::new(input);
    let mut infos = Vec::new();
    let mut control = None;
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| format!("damaged tar entry ({e})"))?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        check_entry_path(&path)?;
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::Hardlink,
            _ => EntryKind::Other,
        };
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        let header = entry.header();
        let info = EntryInfo {
            path: path.clone(),
            kind,
            mode: header.mode().map_err(|e| e.to_string())?,
            owner: header.username().ok().flatten().unwrap_or("").to_owned(),
            group: header.groupname().ok().flatten().unwrap_or("").to_owned(),
            size: header.size().map_err(|e| e.to_string())?,
            mtime: header.mtime().map_err(|e| e.to_string())?,
            link,
        };
        if want_control && kind == EntryKind::File && path.trim_start_matches("./") == "control" {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| format!("unreadable control file ({e})"))?;
            control = Some(text);
        } else {
            std::io::copy(&mut entry, &mut std::io::sink())
                .map_err(|e| format!("damaged data for {path} ({e})"))?;
        }
        infos.push(info);
    }
    Ok((infos, control))
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
