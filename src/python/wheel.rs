//! A wheel file opened and checked: its name, metadata, entry points and
//! every member with the scheme it installs into.
//!
//! A wheel is outside input: every member path is checked (no absolute
//! path, no `..`, no symlink, no duplicate), every member must be listed in
//! `RECORD` with its SHA-256 and every listed file must be there, and sizes
//! are bounded so a zip bomb is refused instead of filling the disk.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::Digest as _;

use super::entry_points::{console_scripts, EntryPoint};
use super::filename::WheelName;
use super::metadata::Metadata;
use super::names::normalize;
use super::record::{parse_record, urlsafe_b64};
use super::PythonError;

/// The largest member and the largest wheel (uncompressed) accepted.
const MAX_MEMBER: u64 = 1 << 30;
const MAX_TOTAL: u64 = 4 << 30;
/// A member that expands more than this many times (and past 1 MiB) is a bomb.
const MAX_RATIO: u64 = 1000;
/// The largest metadata file read into memory.
const MAX_TEXT: u64 = 16 << 20;

/// Where a member of a wheel installs (the install schemes of PEP 427).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Pure modules (site-packages).
    Purelib,
    /// Platform-specific modules (site-packages).
    Platlib,
    /// `.data/scripts/`.
    Scripts,
    /// `.data/headers/`.
    Headers,
    /// `.data/data/` (relative to the prefix, `/usr`).
    Data,
}

/// One member of a wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFile {
    /// Its index in the zip archive.
    pub index: usize,
    /// Its path in the archive.
    pub zip_path: String,
    /// Where it installs.
    pub scheme: Scheme,
    /// Its path relative to the scheme's directory.
    pub rel: String,
    /// Its permission bits (0o644 or 0o755).
    pub mode: u32,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256 as RECORD gives it (urlsafe base64).
    pub sha256: String,
}

/// A wheel, checked against its `RECORD`.
#[derive(Debug, Clone)]
pub struct Wheel {
    /// The file.
    pub path: PathBuf,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its parsed file name.
    pub name: WheelName,
    /// `.dist-info/METADATA`.
    pub metadata: Metadata,
    /// `Root-Is-Purelib` of `.dist-info/WHEEL`.
    pub root_is_purelib: bool,
    /// Its console and GUI scripts.
    pub entry_points: Vec<EntryPoint>,
    /// Every member to install (dist-info's RECORD, INSTALLER, REQUESTED,
    /// direct_url.json and signatures, and any `.pyc`, are not listed).
    pub files: Vec<WheelFile>,
    /// The `.dist-info` directory's name.
    pub dist_info: String,
    /// The newest member time, in seconds since the epoch.
    pub newest_mtime: u64,
}

/// A member path that cannot leave the directory it is extracted into.
fn safe_member(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains(['\\', '\0'])
        && name
            .trim_end_matches('/')
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Whether a member is left out of the package: what an installer writes
/// for itself, signatures of RECORD, and `__pycache__` (compiled on the
/// target by py3compile instead).
fn left_out(dist_info: &str, name: &str) -> bool {
    let own = name
        .strip_prefix(dist_info)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|f| {
            matches!(
                f,
                "RECORD"
                    | "RECORD.jws"
                    | "RECORD.p7s"
                    | "INSTALLER"
                    | "REQUESTED"
                    | "direct_url.json"
            )
        });
    // A `.pyc` outside `__pycache__` is a sourceless module: kept.
    own || name.split('/').any(|c| c == "__pycache__")
}

/// Copies at most `size` bytes of `input` to `out`, checking the length and
/// the RECORD digest.
fn copy_checked(
    input: &mut impl Read,
    out: &mut impl Write,
    size: u64,
    sha256: &str,
) -> Result<(), String> {
    let mut hasher = sha2::Sha256::new();
    let mut limited = input.take(size + 1);
    let mut buf = vec![0u8; 64 * 1024];
    let mut seen = 0u64;
    loop {
        let n = limited.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        seen += n as u64;
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| e.to_string())?;
    }
    if seen != size {
        return Err(format!("{seen} bytes where the archive says {size}"));
    }
    let digest = urlsafe_b64(&hasher.finalize());
    if digest != sha256 {
        return Err(format!("sha256 {digest} where RECORD says {sha256}"));
    }
    Ok(())
}

impl Wheel {
    // Long function: one pass over the archive's members with every check a
    // wheel from outside needs, in the order the messages should come.
    /// Opens and checks `path`.
    pub fn open(path: &Path) -> Result<Self, PythonError> {
        let bad = |reason: String| PythonError::BadWheel {
            path: path.to_owned(),
            reason,
        };
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| bad("no UTF-8 file name".into()))?;
        let name = WheelName::parse(file_name)?;
        let sha256 = {
            let mut file = File::open(path).map_err(|source| PythonError::Io {
                path: path.to_owned(),
                source,
            })?;
            let mut hasher = sha2::Sha256::new();
            std::io::copy(&mut file, &mut hasher).map_err(|source| PythonError::Io {
                path: path.to_owned(),
                source,
            })?;
            hex::encode(hasher.finalize())
        };
        let mut archive = open_zip(path)?;
        // The zip reader keeps one of two members with the same name.
        if archive.has_duplicate_names() {
            return Err(bad("a member is in the archive twice".into()));
        }
        // The members: names checked, sizes bounded, no links, no twins.
        let mut members: BTreeMap<String, (usize, u64, Option<u32>)> = BTreeMap::new();
        let mut total = 0u64;
        let mut newest = 0i64;
        for index in 0..archive.len() {
            let entry = archive
                .by_index_raw(index)
                .map_err(|e| bad(format!("member {index}: {e}")))?;
            let member = entry
                .name()
                .map_err(|e| bad(format!("member {index}: {e}")))?
                .into_owned();
            if !safe_member(&member) {
                return Err(bad(format!("unsafe member path {member:?}")));
            }
            if entry.is_symlink() {
                return Err(bad(format!("{member} is a symbolic link")));
            }
            if entry.is_dir() {
                continue;
            }
            let (size, packed) = (entry.size(), entry.compressed_size());
            total = total.saturating_add(size);
            if size > MAX_MEMBER || total > MAX_TOTAL {
                return Err(bad(format!(
                    "{member}: larger than this tool accepts ({size} bytes)"
                )));
            }
            if size > 1 << 20 && size / packed.max(1) > MAX_RATIO {
                return Err(bad(format!(
                    "{member}: expands {}-fold (a zip bomb?)",
                    size / packed.max(1)
                )));
            }
            if let Some(t) = entry.last_modified() {
                let secs = crate::time::from_civil(
                    i64::from(t.year()),
                    u32::from(t.month()).max(1),
                    u32::from(t.day()).max(1),
                    u32::from(t.hour()),
                    u32::from(t.minute()),
                    u32::from(t.second()),
                );
                newest = newest.max(secs);
            }
            if members
                .insert(member.clone(), (index, size, entry.unix_mode()))
                .is_some()
            {
                return Err(bad(format!("{member} is in the archive twice")));
            }
        }
        let packed_total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0).max(1);
        if total > 64 << 20 && total / packed_total > MAX_RATIO {
            return Err(bad(format!(
                "expands {}-fold in all (a zip bomb?)",
                total / packed_total
            )));
        }
        // The one .dist-info directory, named after the wheel.
        let infos: std::collections::BTreeSet<&str> = members
            .keys()
            .filter_map(|m| m.split('/').next())
            .filter(|top| top.ends_with(".dist-info"))
            .collect();
        let dist_info = match infos.into_iter().collect::<Vec<_>>()[..] {
            [one] => one.to_owned(),
            [] => return Err(bad("no .dist-info directory".into())),
            ref more => {
                return Err(bad(format!(
                    "several .dist-info directories: {}",
                    more.join(", ")
                )))
            }
        };
        let info_dist = dist_info
            .trim_end_matches(".dist-info")
            .split('-')
            .next()
            .unwrap_or_default();
        if normalize(info_dist) != normalize(&name.dist) {
            return Err(bad(format!("{dist_info} does not belong to {}", name.dist)));
        }
        let mut text = |member: &str| -> Result<Option<String>, PythonError> {
            let Some(&(index, size, _)) = members.get(&format!("{dist_info}/{member}")) else {
                return Ok(None);
            };
            if size > MAX_TEXT {
                return Err(bad(format!("{dist_info}/{member} is too large")));
            }
            let mut entry = archive
                .by_index(index)
                .map_err(|e| bad(format!("{dist_info}/{member}: {e}")))?;
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_TEXT)
                .read_to_end(&mut bytes)
                .map_err(|e| bad(format!("{dist_info}/{member}: {e}")))?;
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| bad(format!("{dist_info}/{member} is not UTF-8")))
        };
        let wheel_text = text("WHEEL")?.ok_or_else(|| bad(format!("no {dist_info}/WHEEL")))?;
        let metadata_text =
            text("METADATA")?.ok_or_else(|| bad(format!("no {dist_info}/METADATA")))?;
        let record_text = text("RECORD")?.ok_or_else(|| bad(format!("no {dist_info}/RECORD")))?;
        let entry_text = text("entry_points.txt")?;
        let root_is_purelib = wheel_fields(&wheel_text, &dist_info).map_err(bad)?;
        let origin = format!("{}: {dist_info}", path.display());
        let metadata = Metadata::parse(&metadata_text, &format!("{origin}/METADATA"))?;
        if normalize(&metadata.name) != normalize(&name.dist) {
            return Err(bad(format!(
                "METADATA names {} in a wheel of {}",
                metadata.name, name.dist
            )));
        }
        if name.version.parse::<pep440_rs::Version>().ok().as_ref() != Some(&metadata.version) {
            return Err(bad(format!(
                "METADATA says version {} in a wheel of version {}",
                metadata.version, name.version
            )));
        }
        let entry_points = match entry_text {
            Some(t) => console_scripts(&t, &format!("{origin}/entry_points.txt"))?,
            None => Vec::new(),
        };
        // Every member in RECORD with a digest, every RECORD file present.
        let record = parse_record(&record_text, &format!("{origin}/RECORD"))?;
        let mut digests: BTreeMap<String, String> = BTreeMap::new();
        for entry in record {
            if !members.contains_key(&entry.path) {
                return Err(bad(format!(
                    "RECORD lists {} which is not in the archive",
                    entry.path
                )));
            }
            if let Some(d) = entry.sha256 {
                digests.insert(entry.path, d);
            }
        }
        let data_dir = format!("{}.data/", dist_info.trim_end_matches(".dist-info"));
        let mut files = Vec::new();
        for (member, &(index, size, unix_mode)) in &members {
            let signature = member == &format!("{dist_info}/RECORD")
                || member == &format!("{dist_info}/RECORD.jws")
                || member == &format!("{dist_info}/RECORD.p7s");
            if signature {
                continue;
            }
            let sha256 = digests
                .get(member)
                .ok_or_else(|| bad(format!("{member} is not in RECORD with a sha256")))?
                .clone();
            if left_out(&dist_info, member) {
                continue;
            }
            let (scheme, rel) = match member.strip_prefix(&data_dir) {
                Some(rest) => {
                    let (scheme, rel) = rest
                        .split_once('/')
                        .ok_or_else(|| bad(format!("{member}: no scheme directory")))?;
                    let scheme = match scheme {
                        "purelib" => Scheme::Purelib,
                        "platlib" => Scheme::Platlib,
                        "scripts" => Scheme::Scripts,
                        "headers" => Scheme::Headers,
                        "data" => Scheme::Data,
                        other => return Err(bad(format!("{member}: unknown scheme {other:?}"))),
                    };
                    (scheme, rel.to_owned())
                }
                None if root_is_purelib => (Scheme::Purelib, member.clone()),
                None => (Scheme::Platlib, member.clone()),
            };
            let executable = unix_mode.is_some_and(|m| m & 0o111 != 0);
            let mode = if executable || scheme == Scheme::Scripts {
                0o755
            } else {
                0o644
            };
            files.push(WheelFile {
                index,
                zip_path: member.clone(),
                scheme,
                rel,
                mode,
                size,
                sha256,
            });
        }
        let wheel = Self {
            path: path.to_owned(),
            sha256,
            name,
            metadata,
            root_is_purelib,
            entry_points,
            files,
            dist_info,
            newest_mtime: u64::try_from(newest).unwrap_or(0),
        };
        // Every byte checked now, so a damaged wheel fails before any work.
        wheel.extract_into(&mut archive, None)?;
        Ok(wheel)
    }

    /// Writes every member of `files` under `dir` (`dir/<zip_path>`), with
    /// its mode, each checked against RECORD as it is written.
    pub fn extract(&self, dir: &Path) -> Result<(), PythonError> {
        let mut archive = open_zip(&self.path)?;
        self.extract_into(&mut archive, Some(dir))
    }

    fn extract_into(
        &self,
        archive: &mut zip::ZipArchive<File>,
        dir: Option<&Path>,
    ) -> Result<(), PythonError> {
        let bad = |reason: String| PythonError::BadWheel {
            path: self.path.clone(),
            reason,
        };
        for f in &self.files {
            let mut entry = archive
                .by_index(f.index)
                .map_err(|e| bad(format!("{}: {e}", f.zip_path)))?;
            let result = match dir {
                None => copy_checked(&mut entry, &mut std::io::sink(), f.size, &f.sha256),
                Some(dir) => {
                    let dest = dir.join(&f.zip_path);
                    let io = |source| PythonError::Io {
                        path: dest.clone(),
                        source,
                    };
                    if let Some(parent) = dest.parent() {
                        std::fs::create_dir_all(parent).map_err(io)?;
                    }
                    let mut out = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&dest)
                        .map_err(io)?;
                    let r = copy_checked(&mut entry, &mut out, f.size, &f.sha256);
                    use std::os::unix::fs::PermissionsExt as _;
                    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(f.mode))
                        .map_err(io)?;
                    r
                }
            };
            result.map_err(|reason| bad(format!("{}: {reason}", f.zip_path)))?;
        }
        Ok(())
    }

    /// A member's bytes (for licence files), at most `limit`.
    pub fn read_member(&self, zip_path: &str, limit: u64) -> Result<Vec<u8>, PythonError> {
        let bad = |reason: String| PythonError::BadWheel {
            path: self.path.clone(),
            reason,
        };
        let f = self
            .files
            .iter()
            .find(|f| f.zip_path == zip_path)
            .ok_or_else(|| bad(format!("no member {zip_path}")))?;
        let mut archive = open_zip(&self.path)?;
        let mut entry = archive
            .by_index(f.index)
            .map_err(|e| bad(format!("{zip_path}: {e}")))?;
        let mut bytes = Vec::new();
        (&mut entry)
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("{zip_path}: {e}")))?;
        Ok(bytes)
    }
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<File>, PythonError> {
    let file = File::open(path).map_err(|source| PythonError::Io {
        path: path.to_owned(),
        source,
    })?;
    zip::ZipArchive::new(file).map_err(|e| PythonError::BadWheel {
        path: path.to_owned(),
        reason: format!("not a zip archive ({e})"),
    })
}

/// `Root-Is-Purelib` of a `WHEEL` file whose `Wheel-Version` is 1.x.
fn wheel_fields(text: &str, dist_info: &str) -> Result<bool, String> {
    let field = |name: &str| {
        text.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        })
    };
    let version =
        field("Wheel-Version").ok_or_else(|| format!("{dist_info}/WHEEL has no Wheel-Version"))?;
    if version.split('.').next() != Some("1") {
        return Err(format!("Wheel-Version {version} is not 1.x"));
    }
    Ok(field("Root-Is-Purelib").is_some_and(|v| v.eq_ignore_ascii_case("true")))
}
