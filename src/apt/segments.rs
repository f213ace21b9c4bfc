//! Packages indexes assembled from cached, separately compressed pieces.
//!
//! A suite's stanzas, in their sorted order, are cut into pieces at points
//! chosen by the stanzas themselves (content-defined cuts, as rsync and
//! backup tools cut files): a piece ends after a package whose name hashes
//! to 0 modulo [`CUT_EVERY`], once it holds [`MIN_PIECE`] bytes; past
//! [`SOFT_MAX`] (suites of long stanzas) after a name whose hash is 0
//! modulo [`CUT_EVERY_LONG`]; and at [`HARD_MAX`] whatever the names.
//! Adding or removing a package changes the piece it falls in; the cuts
//! elsewhere stay where they were.
//!
//! Each piece is compressed once as one xz block and as a raw deflate run
//! ending in a sync flush, cached by the hash of its text (the deflate run
//! also by the 32 KiB before it, its dictionary). An index is then the
//! pieces joined into ONE ordinary gzip member and ONE ordinary xz stream
//! (with an index we write ourselves): a republish of a 10,000-package
//! suite compresses one or two pieces instead of megabytes, and any gzip or
//! xz reader (apt's included) sees a standard file. Sorted pieces keep
//! neighbours that share a source, a maintainer and dependencies together,
//! and each deflate run refers back into the text before it as one stream
//! would, so the files are about as small as compressing them whole.

use std::collections::hash_map::Entry::Vacant;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{fsutil, AptError};

/// A cut is allowed after a package whose name hash is 0 modulo this: on
/// average every 256th package name.
const CUT_EVERY: u64 = 256;
/// No cut before a piece holds this many bytes (keeps pieces compressible).
const MIN_PIECE: usize = 16 << 10;
/// Past this size a piece ends at the next name whose hash is 0 modulo
/// [`CUT_EVERY_LONG`]: still chosen by the names, so a change before it
/// does not move it (a cut by size would move with every added byte).
const SOFT_MAX: usize = 256 << 10;
/// See [`SOFT_MAX`]: on average 16 names further.
const CUT_EVERY_LONG: u64 = 16;
/// A piece is cut at this size whatever the names (bounds the work of a
/// change; only a run of thousands of names can reach it).
const HARD_MAX: usize = 1 << 20;
/// The cache file's first line: its layout, the compression settings and
/// the tool's version (a new version may compress differently, and a
/// repository's indexes should depend on their text, not on the cache's
/// history); a cache of any other line is empty.
const MAGIC: &str = concat!(
    "git-buildkit segments 3 gzip-9 xz-6 ",
    env!("CARGO_PKG_VERSION"),
    "\n"
);

/// One piece's xz block.
#[derive(Debug, Clone)]
struct XzBlock {
    block: Vec<u8>,
    unpadded: u64,
}

/// Compressed pieces: xz blocks by the SHA-256 of their text, deflate runs
/// by [`deflate_key`] (their text and their dictionary).
#[derive(Debug, Default)]
pub struct SegmentCache {
    xz: HashMap<[u8; 32], XzBlock>,
    deflate: HashMap<[u8; 32], Vec<u8>>,
}

/// A Packages file in its three forms.
#[derive(Debug)]
pub struct Index {
    /// Plain text.
    pub text: Vec<u8>,
    /// `Packages.gz`.
    pub gz: Vec<u8>,
    /// `Packages.xz`.
    pub xz: Vec<u8>,
}

/// The text of stanzas `(package, stanza)`, in their order, cut into
/// pieces (each stanza followed by its blank line; no piece is empty).
pub fn pieces<'a>(stanzas: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut stanzas = stanzas.into_iter().peekable();
    while let Some((package, text)) = stanzas.next() {
        piece.push_str(text);
        piece.push('\n');
        // Versions of one package stay together when the names allow a cut.
        let more_of_it = stanzas.peek().is_some_and(|(next, _)| *next == package);
        let hash = name_hash(package);
        let natural = (piece.len() >= MIN_PIECE && hash.is_multiple_of(CUT_EVERY))
            || (piece.len() >= SOFT_MAX && hash.is_multiple_of(CUT_EVERY_LONG));
        if (natural && !more_of_it) || piece.len() >= HARD_MAX {
            pieces.push(std::mem::take(&mut piece));
        }
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// FNV-1a of a package name: stable across runs, versions and machines.
fn name_hash(package: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in package.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The cache key of a deflate run: its text's hash and the dictionary it
/// was compressed with (the same text after other text compresses differently).
fn deflate_key(text_key: &[u8; 32], dictionary: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(text_key);
    hasher.update((dictionary.len() as u64).to_le_bytes());
    hasher.update(dictionary);
    hasher.finalize().into()
}

/// What a build must compress: piece `i`'s xz block or its deflate run.
#[derive(Debug, Clone, Copy)]
enum Job {
    Xz(usize),
    Deflate(usize),
}

/// A compressed form, as a [`Job`] made it, with its cache key.
enum Made {
    Xz([u8; 32], XzBlock),
    Deflate([u8; 32], Vec<u8>),
}

impl SegmentCache {
    /// Loads a cache file; a missing, damaged or older file is an empty cache.
    pub fn load(path: &Path) -> Self {
        let Ok(bytes) = std::fs::read(path) else {
            return Self::default();
        };
        Self::decode(&bytes).unwrap_or_default()
    }

    pub(crate) fn decode(mut bytes: &[u8]) -> Option<Self> {
        fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            let (head, tail) = (bytes.get(..n)?, bytes.get(n..)?);
            *bytes = tail;
            Some(head)
        }
        fn u64_of(bytes: &mut &[u8]) -> Option<u64> {
            Some(u64::from_le_bytes(take(bytes, 8)?.try_into().ok()?))
        }
        fn blob(bytes: &mut &[u8]) -> Option<Vec<u8>> {
            let len = usize::try_from(u64_of(bytes)?).ok()?;
            Some(take(bytes, len)?.to_vec())
        }
        if take(&mut bytes, MAGIC.len())? != MAGIC.as_bytes() {
            return None;
        }
        // A damaged byte in a block would be published, signed and kept.
        let sum = take(&mut bytes, 32)?;
        if Sha256::digest(bytes).as_slice() != sum {
            return None;
        }
        let mut cache = Self::default();
        for _ in 0..u64_of(&mut bytes)? {
            let key = take(&mut bytes, 32)?.try_into().ok()?;
            let unpadded = u64_of(&mut bytes)?;
            let block = blob(&mut bytes)?;
            cache.xz.insert(key, XzBlock { block, unpadded });
        }
        for _ in 0..u64_of(&mut bytes)? {
            let key = take(&mut bytes, 32)?.try_into().ok()?;
            cache.deflate.insert(key, blob(&mut bytes)?);
        }
        bytes.is_empty().then_some(cache)
    }

    /// Writes the cache atomically (entries in key order: the same cache,
    /// the same bytes), after [`MAGIC`] and the SHA-256 of the rest. Not
    /// synced: a cache lost to a power cut is rebuilt by the next publish.
    pub fn save(&self, path: &Path) -> Result<(), AptError> {
        let mut out = Vec::new();
        let put = |n: usize, out: &mut Vec<u8>| out.extend_from_slice(&(n as u64).to_le_bytes());
        let mut xz: Vec<_> = self.xz.iter().collect();
        xz.sort_by_key(|(key, _)| *key);
        put(xz.len(), &mut out);
        for (key, piece) in xz {
            out.extend_from_slice(key);
            out.extend_from_slice(&piece.unpadded.to_le_bytes());
            put(piece.block.len(), &mut out);
            out.extend_from_slice(&piece.block);
        }
        let mut deflate: Vec<_> = self.deflate.iter().collect();
        deflate.sort_by_key(|(key, _)| *key);
        put(deflate.len(), &mut out);
        for (key, run) in deflate {
            out.extend_from_slice(key);
            put(run.len(), &mut out);
            out.extend_from_slice(run);
        }
        let mut file = MAGIC.as_bytes().to_vec();
        file.extend_from_slice(&Sha256::digest(&out));
        file.extend_from_slice(&out);
        fsutil::write_atomic(path, &file, crate::fsutil::Durability::Unsynced)
    }

    /// Builds an index from its pieces (see [`pieces`]; empty ones are
    /// skipped), compressing only what neither `self` nor `used` holds;
    /// every compressed form used is recorded in `used`.
    pub fn build(&self, pieces: &[String], used: &mut SegmentCache) -> Result<Index, AptError> {
        let pieces: Vec<&[u8]> = pieces
            .iter()
            .map(|p| p.as_bytes())
            .filter(|p| !p.is_empty())
            .collect();
        let text = pieces.concat();
        // Each piece's dictionary (the text before it, up to deflate's
        // window), its xz key and its deflate key.
        let mut keys = Vec::with_capacity(pieces.len());
        let mut start = 0usize;
        for piece in &pieces {
            let dictionary = start.saturating_sub(crate::deb::DEFLATE_WINDOW)..start;
            let xz_key: [u8; 32] = Sha256::digest(piece).into();
            let deflate_key = deflate_key(&xz_key, &text[dictionary.clone()]);
            keys.push((dictionary, xz_key, deflate_key));
            start += piece.len();
        }
        let mut jobs = Vec::new();
        for (i, (_, xz_key, deflate_key)) in keys.iter().enumerate() {
            if !self.xz.contains_key(xz_key) && !used.xz.contains_key(xz_key) {
                jobs.push(Job::Xz(i));
            }
            if !self.deflate.contains_key(deflate_key) && !used.deflate.contains_key(deflate_key) {
                jobs.push(Job::Deflate(i));
            }
        }
        let made = super::parallel::map(
            &jobs,
            super::parallel::cores(),
            "a compression thread panicked",
            |job| match *job {
                Job::Xz(i) => Ok(Made::Xz(keys[i].1, compress_xz(pieces[i])?)),
                Job::Deflate(i) => {
                    let (dictionary, _, key) = &keys[i];
                    let dictionary = &text[dictionary.clone()];
                    crate::deb::deflate_piece(pieces[i], dictionary, flate2::Compression::new(9))
                        .map(|run| Made::Deflate(*key, run))
                        .map_err(index_io)
                }
            },
        )?;
        for made in made {
            match made {
                Made::Xz(key, block) => used.xz.insert(key, block).map(drop),
                Made::Deflate(key, run) => used.deflate.insert(key, run).map(drop),
            };
        }
        // What this index reuses from earlier publishes becomes part of the next cache.
        for (_, xz_key, deflate_key) in &keys {
            if let (Vacant(slot), Some(block)) = (used.xz.entry(*xz_key), self.xz.get(xz_key)) {
                slot.insert(block.clone());
            }
            if let (Vacant(slot), Some(run)) = (
                used.deflate.entry(*deflate_key),
                self.deflate.get(deflate_key),
            ) {
                slot.insert(run.clone());
            }
        }
        let lost = || AptError::BadIndex {
            reason: "segment cache lost a piece",
        };
        let mut blocks = Vec::with_capacity(pieces.len());
        let mut runs = Vec::with_capacity(pieces.len());
        for (piece, (_, xz_key, deflate_key)) in pieces.iter().zip(&keys) {
            blocks.push((used.xz.get(xz_key).ok_or_else(lost)?, piece.len() as u64));
            runs.push(used.deflate.get(deflate_key).ok_or_else(lost)?.as_slice());
        }
        Ok(Index {
            gz: join_gzip(&runs, &text),
            xz: join_xz(&blocks),
            text,
        })
    }
}

fn index_io(source: std::io::Error) -> AptError {
    AptError::Io {
        path: "Packages".into(),
        source,
    }
}

/// One xz block of `text`, at xz's default level (6, as `xz` and dak use).
fn compress_xz(text: &[u8]) -> Result<XzBlock, AptError> {
    // Preset 6 with the dictionary cut down to the piece: the same output
    // size, without allocating and clearing an 8 MiB match finder per piece.
    let lzma_err = |e: liblzma::stream::Error| index_io(std::io::Error::other(e));
    let mut options = liblzma::stream::LzmaOptions::new_preset(6).map_err(lzma_err)?;
    let dict = u32::try_from(text.len().next_power_of_two())
        .unwrap_or(u32::MAX)
        .clamp(4096, 8 << 20);
    options.dict_size(dict);
    let mut filters = liblzma::stream::Filters::new();
    filters.lzma2(&options);
    let stream =
        liblzma::stream::Stream::new_stream_encoder(&filters, liblzma::stream::Check::Crc64)
            .map_err(lzma_err)?;
    let mut xz = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    xz.write_all(text).map_err(index_io)?;
    let stream = xz.finish().map_err(index_io)?;
    let (block, unpadded) = single_block(&stream).ok_or(AptError::BadIndex {
        reason: "liblzma wrote an unexpected stream",
    })?;
    Ok(XzBlock { block, unpadded })
}

const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];
/// Stream flags: check type CRC64.
const XZ_FLAGS: [u8; 2] = [0, 4];

/// The one block of a single-block xz stream, and its unpadded size (xz file format 1.1.0).
fn single_block(stream: &[u8]) -> Option<(Vec<u8>, u64)> {
    if stream.len() < 24 || stream[..6] != XZ_MAGIC || stream[6..8] != XZ_FLAGS {
        return None;
    }
    let footer = &stream[stream.len() - 12..];
    let backward = u32::from_le_bytes(footer[4..8].try_into().ok()?);
    let index_len = (usize::try_from(backward).ok()? + 1) * 4;
    let index = stream.get(stream.len() - 12 - index_len..stream.len() - 12)?;
    let mut pos = 1;
    let count = read_varint(index, &mut pos)?;
    if index[0] != 0 || count != 1 {
        return None;
    }
    let unpadded = read_varint(index, &mut pos)?;
    let block_len = usize::try_from(unpadded.div_ceil(4) * 4).ok()?;
    Some((stream.get(12..12 + block_len)?.to_vec(), unpadded))
}

fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..63).step_by(7) {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// One xz stream: header, the blocks, an index of them, the footer.
fn join_xz(blocks: &[(&XzBlock, u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&XZ_MAGIC);
    out.extend_from_slice(&XZ_FLAGS);
    out.extend_from_slice(&crc32fast::hash(&XZ_FLAGS).to_le_bytes());
    for (piece, _) in blocks {
        out.extend_from_slice(&piece.block);
    }
    let mut index = vec![0u8];
    write_varint(&mut index, blocks.len() as u64);
    for (piece, text_len) in blocks {
        write_varint(&mut index, piece.unpadded);
        write_varint(&mut index, *text_len);
    }
    while index.len() % 4 != 0 {
        index.push(0);
    }
    let index_crc = crc32fast::hash(&index);
    index.extend_from_slice(&index_crc.to_le_bytes());
    out.extend_from_slice(&index);
    let backward = u32::try_from(index.len() / 4 - 1).unwrap_or(u32::MAX);
    let mut tail = backward.to_le_bytes().to_vec();
    tail.extend_from_slice(&XZ_FLAGS);
    out.extend_from_slice(&crc32fast::hash(&tail).to_le_bytes());
    out.extend_from_slice(&tail);
    out.extend_from_slice(b"YZ");
    out
}

/// One gzip member of `text`: its pieces' sync-flushed deflate runs, a
/// final empty block, the trailer.
fn join_gzip(runs: &[&[u8]], text: &[u8]) -> Vec<u8> {
    let mut out = crate::deb::GZIP_HEADER.to_vec();
    for run in runs {
        out.extend_from_slice(run);
    }
    // A final, empty block with fixed Huffman codes: BFINAL=1, BTYPE=01, end-of-block.
    out.extend_from_slice(&[0x03, 0x00]);
    out.extend_from_slice(&crc32fast::hash(text).to_le_bytes());
    out.extend_from_slice(&((text.len() as u64 & 0xffff_ffff) as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn check(pieces: &[String]) -> Index {
        let cache = SegmentCache::default();
        let mut used = SegmentCache::default();
        let index = cache.build(pieces, &mut used).expect("build");
        let want: String = pieces.concat();
        assert_eq!(index.text, want.as_bytes());
        let mut gz = String::new();
        flate2::read::GzDecoder::new(&index.gz[..])
            .read_to_string(&mut gz)
            .expect("gunzip");
        assert_eq!(gz, want);
        let mut xz = String::new();
        liblzma::read::XzDecoder::new(&index.xz[..])
            .read_to_string(&mut xz)
            .expect("unxz");
        assert_eq!(xz, want);
        // The real tools agree (xz -t checks the index and every block's CRC64).
        for (tool, bytes) in [("gzip", &index.gz), ("xz", &index.xz)] {
            let mut child = std::process::Command::new(tool)
                .args(["-dc"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect(tool);
            let mut stdin = child.stdin.take().expect("stdin");
            let data = bytes.clone();
            let writer = std::thread::spawn(move || stdin.write_all(&data));
            let out = child.wait_with_output().expect("wait");
            writer.join().expect("join").expect("write");
            assert!(out.status.success(), "{tool} rejects the index");
            assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{tool}");
        }
        // A cache round trip gives the same bytes without recompressing.
        let dir = tempfile::tempdir().expect("tmp");
        used.save(&dir.path().join("c")).expect("save");
        let loaded = SegmentCache::load(&dir.path().join("c"));
        assert_eq!(
            (loaded.xz.len(), loaded.deflate.len()),
            (used.xz.len(), used.deflate.len())
        );
        let mut again = SegmentCache::default();
        let second = loaded.build(pieces, &mut again).expect("rebuild");
        assert!(second.gz == index.gz && second.xz == index.xz);
        index
    }

    /// `count` stanzas of a plausible suite, sorted by name, with neighbours
    /// that share a source and dependencies (as real suites do).
    fn suite(count: usize, skip: Option<usize>) -> Vec<(String, String)> {
        (0..count)
            .filter(|&i| Some(i) != skip)
            .map(|i| {
                let name = format!("lib{:05}-{}", i / 3, ["bin", "dev", "doc"][i % 3]);
                let text = format!(
                    "Package: {name}\nSource: lib{src:05}\nVersion: 1.{src}-1\nArchitecture: amd64\nMaintainer: Team {team} <team{team}@example.org>\nDepends: libc6 (>= 2.36), lib{src:05}-common (= 1.{src}-1)\nFilename: pool/main/l/lib{src:05}/{name}_1.{src}-1_amd64.deb\nSize: {size}\nSHA256: {sha:064x}\nDescription: part {i} of library {src}\n\n",
                    src = i / 3,
                    team = i / 40,
                    size = 1000 + i * 7,
                    sha = (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
                );
                (name, text[..text.len() - 1].to_owned())
            })
            .collect()
    }

    fn cut(stanzas: &[(String, String)]) -> Vec<String> {
        pieces(stanzas.iter().map(|(p, t)| (p.as_str(), t.as_str())))
    }

    #[test]
    fn joined_indexes_are_standard_gzip_and_xz() {
        check(&[]);
        check(&[String::new()]);
        check(&["Package: a\nVersion: 1\n\n".to_owned()]);
        let many: Vec<String> = (0..20)
            .map(|i| {
                format!(
                    "Package: p{i}\nVersion: {i}\nDescription: {}\n\n",
                    "text ".repeat(i * 50)
                )
            })
            .collect();
        check(&many);
        // Pieces longer than deflate's window, each referring back into the one before.
        check(&cut(&suite(3000, None)));
    }

    #[test]
    fn cuts_are_chosen_by_the_names_so_one_change_moves_one_piece() {
        let before = cut(&suite(6000, None));
        assert!(before.len() > 4, "{} pieces", before.len());
        assert!(before.iter().all(|p| p.len() <= HARD_MAX + 1024));
        assert_eq!(
            before.concat(),
            suite(6000, None)
                .iter()
                .map(|(_, t)| format!("{t}\n"))
                .collect::<String>()
        );
        // One package gone from the middle: every other piece is unchanged.
        let after = cut(&suite(6000, Some(3001)));
        let new: Vec<_> = after.iter().filter(|p| !before.contains(p)).collect();
        assert_eq!(new.len(), 1, "{} pieces changed", new.len());
        assert_eq!(after.len(), before.len());

        // So a republish compresses one xz block and two deflate runs (the
        // changed piece, and the next one, whose dictionary changed).
        let mut first = SegmentCache::default();
        SegmentCache::default()
            .build(&before, &mut first)
            .expect("build");
        let mut second = SegmentCache::default();
        let index = first.build(&after, &mut second).expect("rebuild");
        let fresh_xz = second
            .xz
            .keys()
            .filter(|k| !first.xz.contains_key(*k))
            .count();
        let fresh_deflate = second
            .deflate
            .keys()
            .filter(|k| !first.deflate.contains_key(*k))
            .count();
        assert_eq!((fresh_xz, fresh_deflate), (1, 2));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&index.gz[..])
            .read_to_string(&mut text)
            .expect("gunzip");
        assert_eq!(text, after.concat());
    }

    #[test]
    fn pieces_compress_about_as_well_as_the_whole_text() {
        let pieces = cut(&suite(6000, None));
        let index = check(&pieces);
        let whole_gz = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
            e.write_all(&index.text).expect("gzip");
            e.finish().expect("gzip").len()
        };
        let whole_xz = {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(&index.text).expect("xz");
            e.finish().expect("xz").len()
        };
        // Deflate's dictionary makes the runs one stream in all but the
        // flush markers; each xz block restarts its model and its
        // dictionary (on this corpus of unrelated digests ~15%; buckets of
        // 48 stanzas cost over 50%).
        assert!(
            index.gz.len() * 100 <= whole_gz * 101,
            "gz {} vs {whole_gz}",
            index.gz.len()
        );
        assert!(
            index.xz.len() * 100 <= whole_xz * 120,
            "xz {} vs {whole_xz}",
            index.xz.len()
        );
    }

    #[test]
    fn versions_of_one_package_stay_in_one_piece_and_huge_stanzas_stand_alone() {
        let mut stanzas = suite(3000, None);
        // Every name that could end a piece gets a second version right after it.
        let mut with_versions = Vec::new();
        for (name, text) in stanzas.drain(..) {
            let cuts_here = name_hash(&name).is_multiple_of(CUT_EVERY);
            with_versions.push((name.clone(), text.clone()));
            if cuts_here {
                with_versions.push((name, text.replace("Version: 1.", "Version: 0.")));
            }
        }
        let pieces = cut(&with_versions);
        for pair in pieces.windows(2) {
            let last = pair[0].trim_end().rsplit("\n\n").next().unwrap_or_default();
            let first = pair[1].lines().next().unwrap_or_default();
            assert_ne!(
                last.lines().next(),
                Some(first),
                "a package split across pieces"
            );
        }
        // A stanza bigger than a piece may be is one piece, not an error.
        let huge = format!(
            "Package: huge\nDescription: x\n {}\n",
            "y".repeat(HARD_MAX * 2)
        );
        let alone = pieces_of(&[
            ("a", "Package: a\n"),
            ("huge", &huge),
            ("z", "Package: z\n"),
        ]);
        assert_eq!(alone.len(), 2);
        assert!(alone[0].ends_with(&format!("{huge}\n")));
    }

    fn pieces_of(stanzas: &[(&str, &str)]) -> Vec<String> {
        pieces(stanzas.iter().copied())
    }

    #[test]
    fn caches_of_an_older_layout_or_damaged_are_empty() {
        assert!(SegmentCache::decode(b"").is_none());
        assert!(SegmentCache::decode(&1u64.to_le_bytes()).is_none());
        let mut used = SegmentCache::default();
        SegmentCache::default()
            .build(&["Package: a\n\n".to_owned()], &mut used)
            .expect("build");
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c");
        used.save(&path).expect("save");
        let mut bytes = std::fs::read(&path).expect("read");
        assert!(SegmentCache::decode(&bytes).is_some());
        bytes.push(0);
        assert!(SegmentCache::decode(&bytes).is_none(), "trailing bytes");
        bytes.truncate(bytes.len() - 2);
        assert!(SegmentCache::decode(&bytes).is_none(), "cut short");
    }
}
