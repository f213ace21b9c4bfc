//! What differs between two `.deb` files: which ar member (debian-binary,
//! control.tar.*, data.tar.*) and, inside a tarball, which entries were
//! added, removed or changed (content, size, mode, owner, mtime, type,
//! link target).
//!
//! One side (the file a repository serves) is hostile: [`diff_debs`] is
//! only called once [`crate::deb::read_deb`] accepted it, which bounds its
//! records and entry counts; here, besides, each decompressed tarball is
//! capped and contents are hashed as they stream, never held.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::deb::{read_ar_header, Compression, Limits};

/// At most this many entry differences are listed per member.
pub const MAX_LISTED: usize = 50;

/// Bytes the rebuilt data.tar may expand to while it is compared (the
/// served one is held to a multiple of the rebuilt one; control.tar has its
/// own, smaller, limit from [`Limits::DEFAULT`]).
const MAX_DATA_TAR: u64 = 64 << 30;

/// One difference between the expected (rebuilt) and the actual (served) package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DebDiff {
    /// A member only the served file has.
    MemberAdded { member: String },
    /// A member the served file lacks.
    MemberRemoved { member: String },
    /// The member in this place has another name (another compression).
    MemberRenamed { expected: String, served: String },
    /// The member's bytes differ; `files` says how, for a tarball.
    MemberChanged {
        member: String,
        files: Vec<EntryDiff>,
        /// Entry differences left out of `files` ([`MAX_LISTED`]).
        more: usize,
        /// Why its entries could not be compared, if they could not.
        unreadable: Option<String>,
    },
    /// Every member is the same, yet the files differ (ar headers, padding,
    /// trailing bytes).
    Container,
}

/// How one entry of a tarball differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryDiff {
    /// The path as stored (`./usr/bin/hello`).
    pub path: String,
    /// `added` (only served), `removed` (only rebuilt) or `changed`.
    pub change: &'static str,
    /// For `changed`: which of content, size, mode, owner, mtime, type, link.
    pub fields: Vec<&'static str>,
}

impl std::fmt::Display for EntryDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.fields.is_empty() {
            write!(f, "{} {}", self.path, self.change)
        } else {
            write!(
                f,
                "{} {} ({})",
                self.path,
                self.change,
                self.fields.join(", ")
            )
        }
    }
}

impl std::fmt::Display for DebDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DebDiff::MemberAdded { member } => write!(f, "member {member} only in the served file"),
            DebDiff::MemberRemoved { member } => {
                write!(f, "member {member} missing from the served file")
            }
            DebDiff::MemberRenamed { expected, served } => {
                write!(f, "member {served} where {expected} was built")
            }
            DebDiff::MemberChanged {
                member,
                files,
                more,
                unreadable,
            } => {
                write!(f, "member {member} differs")?;
                if let Some(reason) = unreadable {
                    write!(f, " (its entries cannot be compared: {reason})")?;
                }
                for file in files {
                    write!(f, "\n  {file}")?;
                }
                if *more > 0 {
                    write!(f, "\n  and {more} more")?;
                }
                Ok(())
            }
            DebDiff::Container => write!(
                f,
                "the members are identical; the ar container differs (headers, padding or trailing bytes)"
            ),
        }
    }
}

/// One ar member: name, where its data starts, its size, its SHA-256.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    offset: u64,
    size: u64,
    sha256: Vec<u8>,
}

/// The members of the ar archive at `path`, hashed.
fn members(path: &Path) -> Result<Vec<Member>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut input = BufReader::new(file);
    let mut magic = [0u8; 8];
    input
        .read_exact(&mut magic)
        .map_err(|_| "it is not an ar archive".to_owned())?;
    if &magic != b"!<arch>\n" {
        return Err("it is not an ar archive".into());
    }
    let mut offset = 8u64;
    let mut out = Vec::new();
    while let Some(header) = read_ar_header(&mut input).map_err(|e| format!("{e:?}"))? {
        offset += 60;
        let mut hasher = Sha256::new();
        let copied = std::io::copy(
            &mut (&mut input).take(header.size),
            &mut HashSink(&mut hasher),
        )
        .map_err(|e| e.to_string())?;
        if copied != header.size {
            return Err(format!("{} is truncated", header.name));
        }
        out.push(Member {
            name: header.name,
            offset,
            size: header.size,
            sha256: hasher.finalize().to_vec(),
        });
        offset += header.size;
        if header.size % 2 == 1 {
            let mut pad = [0u8; 1];
            if input.read(&mut pad).map_err(|e| e.to_string())? == 1 {
                offset += 1;
            }
        }
    }
    Ok(out)
}

struct HashSink<'a>(&'a mut Sha256);

impl std::io::Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The role of a member: `debian-binary`, `control.tar`, `data.tar`, or its name.
fn role(name: &str) -> &str {
    match name.find(".tar") {
        Some(i) if name.starts_with("control.tar") || name.starts_with("data.tar") => {
            &name[..i + 4]
        }
        _ => name,
    }
}

/// The differences between the package at `expected` and the one at
/// `served` (already accepted by [`crate::deb::read_deb`]).
pub fn diff_debs(expected: &Path, served: &Path) -> Result<Vec<DebDiff>, String> {
    let ours = members(expected).map_err(|e| format!("the rebuilt package: {e}"))?;
    let theirs = members(served)?;
    let mut diffs = Vec::new();
    let mut matched = vec![false; theirs.len()];
    for member in &ours {
        let found = theirs
            .iter()
            .enumerate()
            .find(|(i, t)| !matched[*i] && role(&t.name) == role(&member.name));
        let Some((i, other)) = found else {
            diffs.push(DebDiff::MemberRemoved {
                member: member.name.clone(),
            });
            continue;
        };
        matched[i] = true;
        if other.name != member.name {
            diffs.push(DebDiff::MemberRenamed {
                expected: member.name.clone(),
                served: other.name.clone(),
            });
        }
        if other.sha256 == member.sha256 {
            continue;
        }
        let (files, more, unreadable) = if role(&member.name).ends_with(".tar") {
            match diff_tarballs(expected, member, served, other) {
                Ok((files, more)) => (files, more, None),
                Err(reason) => (Vec::new(), 0, Some(reason)),
            }
        } else {
            (Vec::new(), 0, None)
        };
        diffs.push(DebDiff::MemberChanged {
            member: other.name.clone(),
            files,
            more,
            unreadable,
        });
    }
    for (i, other) in theirs.iter().enumerate() {
        if !matched[i] {
            diffs.push(DebDiff::MemberAdded {
                member: other.name.clone(),
            });
        }
    }
    if diffs.is_empty() {
        diffs.push(DebDiff::Container);
    }
    Ok(diffs)
}

/// What is compared of one tar entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Facts {
    kind: u8,
    mode: u32,
    owner: (u64, u64, String, String),
    mtime: u64,
    size: u64,
    link: Option<String>,
    sha256: Vec<u8>,
}

/// The entry differences of two tarball members, the first [`MAX_LISTED`]
/// and how many more.
fn diff_tarballs(
    expected: &Path,
    ours: &Member,
    served: &Path,
    theirs: &Member,
) -> Result<(Vec<EntryDiff>, usize), String> {
    let a = entries(expected, ours, MAX_DATA_TAR)
        .map_err(|e| format!("the rebuilt {}: {e}", ours.name))?;
    // The served side may expand to 4 times what was rebuilt (256 MiB at
    // least), not more: a bomb costs little time.
    let rebuilt: u64 = a.values().map(|f| f.size.saturating_add(512)).sum();
    let b = entries(served, theirs, rebuilt.saturating_mul(4).max(256 << 20))?;
    let mut all = Vec::new();
    for (path, facts) in &a {
        match b.get(path) {
            None => all.push(EntryDiff {
                path: path.clone(),
                change: "removed",
                fields: Vec::new(),
            }),
            Some(other) if other != facts => all.push(EntryDiff {
                path: path.clone(),
                change: "changed",
                fields: changed_fields(facts, other),
            }),
            Some(_) => {}
        }
    }
    for path in b.keys().filter(|p| !a.contains_key(*p)) {
        all.push(EntryDiff {
            path: path.clone(),
            change: "added",
            fields: Vec::new(),
        });
    }
    all.sort_by(|x, y| x.path.cmp(&y.path));
    let more = all.len().saturating_sub(MAX_LISTED);
    all.truncate(MAX_LISTED);
    Ok((all, more))
}

fn changed_fields(a: &Facts, b: &Facts) -> Vec<&'static str> {
    [
        ("type", a.kind != b.kind),
        ("content", a.sha256 != b.sha256),
        ("size", a.size != b.size),
        ("mode", a.mode != b.mode),
        ("owner", a.owner != b.owner),
        ("mtime", a.mtime != b.mtime),
        ("link target", a.link != b.link),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect()
}

/// The entries of the tarball member `member` of the file at `path`, by
/// path, each with its content's hash. Bounded: the decompressed size, the
/// number of entries; data.tar expands to at most `data_cap` bytes.
fn entries(path: &Path, member: &Member, data_cap: u64) -> Result<BTreeMap<String, Facts>, String> {
    let limits = Limits::DEFAULT;
    let compression = Compression::from_member_name(&member.name)
        .ok_or_else(|| format!("unknown compression of {}", member.name))?;
    let (cap, max_entries) = if member.name.starts_with("control.tar") {
        (limits.control_tar, limits.control_entries)
    } else {
        (data_cap, limits.data_entries)
    };
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    file.seek(SeekFrom::Start(member.offset))
        .map_err(|e| e.to_string())?;
    let raw = BufReader::new(file).take(member.size);
    let decoder = compression
        .decoder(raw)
        .map_err(|e| format!("{}: {e}", member.name))?;
    let mut archive = tar::Archive::new(Capped {
        inner: decoder,
        left: cap,
    });
    let mut out = BTreeMap::new();
    let list = archive
        .entries()
        .map_err(|e| format!("{}: {e}", member.name))?;
    for entry in list {
        let mut entry = entry.map_err(|e| format!("{}: damaged entry ({e})", member.name))?;
        if out.len() >= max_entries {
            return Err(format!(
                "{} has more than {max_entries} entries",
                member.name
            ));
        }
        let header = entry.header().clone();
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        let mut hasher = Sha256::new();
        std::io::copy(&mut entry, &mut HashSink(&mut hasher))
            .map_err(|e| format!("{}: {name}: {e}", member.name))?;
        let text = |v: Result<Option<&str>, std::str::Utf8Error>| {
            v.ok().flatten().unwrap_or("").to_owned()
        };
        out.insert(
            name,
            Facts {
                kind: header.entry_type().as_byte(),
                mode: header.mode().unwrap_or(0),
                owner: (
                    header.uid().unwrap_or(0),
                    header.gid().unwrap_or(0),
                    text(header.username()),
                    text(header.groupname()),
                ),
                mtime: header.mtime().unwrap_or(0),
                size: header.entry_size().unwrap_or(0),
                link,
                sha256: hasher.finalize().to_vec(),
            },
        );
    }
    Ok(out)
}

/// Fails a read past `left` decompressed bytes (a bomb stops there).
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self
            .left
            .checked_sub(n as u64)
            .ok_or_else(|| std::io::Error::other("it expands beyond the size limit"))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb::{write_deb, Control, DataTree, PackageSpec};
    use pretty_assertions::assert_eq;

    fn deb(
        dir: &Path,
        files: &[(&str, &[u8], u32)],
        compression: Compression,
    ) -> std::path::PathBuf {
        let control = Control::of(&[
            ("Package", "hello"),
            ("Version", "1.0"),
            ("Architecture", "all"),
            ("Maintainer", "T <t@example.com>"),
            ("Description", "d"),
        ]);
        let mut data = DataTree::new();
        for (path, bytes, mode) in files {
            data.add_bytes(path, bytes.to_vec(), *mode).expect("file");
        }
        let spec = PackageSpec {
            control,
            control_files: Vec::new(),
            data,
            compression,
            mtime: 0,
            generate: false,
            on_disk: None,
        };
        std::fs::create_dir_all(dir).expect("mkdir");
        write_deb(&spec, dir).expect("write").path
    }

    #[test]
    fn names_the_member_and_each_changed_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = deb(
            &tmp.path().join("a"),
            &[("/usr/bin/hello", b"one", 0o755), ("/etc/x", b"x", 0o644)],
            Compression::Gzip,
        );
        let b = deb(
            &tmp.path().join("b"),
            &[("/usr/bin/hello", b"two", 0o700), ("/etc/y", b"y", 0o644)],
            Compression::Gzip,
        );
        let diffs = diff_debs(&a, &b).expect("diff");
        // Without generated md5sums, control.tar is the same.
        assert_eq!(diffs.len(), 1, "{diffs:#?}");
        let data = &diffs[0];
        assert_eq!(
            data.to_string(),
            "member data.tar.gz differs\n  ./etc/x removed\n  ./etc/y added\n  ./usr/bin/hello changed (content, mode)"
        );
        assert_eq!(diff_debs(&a, &a).expect("same"), vec![DebDiff::Container]);
    }

    #[test]
    fn another_compression_is_a_renamed_member() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let files: &[(&str, &[u8], u32)] = &[("/usr/bin/hello", b"one", 0o755)];
        let a = deb(&tmp.path().join("a"), files, Compression::Gzip);
        let b = deb(&tmp.path().join("b"), files, Compression::Xz);
        let diffs = diff_debs(&a, &b).expect("diff");
        assert!(
            diffs.contains(&DebDiff::MemberRenamed {
                expected: "data.tar.gz".into(),
                served: "data.tar.xz".into()
            }),
            "{diffs:#?}"
        );
    }
}
