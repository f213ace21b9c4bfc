//! Packages indexes assembled from cached, independently compressed pieces.
//!
//! A suite's stanzas are spread over buckets by a hash of the package name;
//! each bucket's text is compressed once, as a raw deflate run ending in a
//! sync flush and as one xz block, and cached by the hash of its text. An
//! index is then the buckets' pieces joined into ONE ordinary gzip member
//! and ONE ordinary xz stream (with an index we write ourselves). Adding a
//! package changes one bucket, so a republish of a 10,000-package suite
//! compresses a few kilobytes instead of megabytes, and any gzip or xz
//! reader (apt's included) sees a standard file.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{fsutil, AptError};

/// Stanzas per bucket, roughly.
const BUCKET_TARGET: usize = 48;

/// One bucket's compressed forms.
#[derive(Debug, Clone)]
pub struct Piece {
    text_len: u64,
    crc: u32,
    deflate: Vec<u8>,
    xz_block: Vec<u8>,
    xz_unpadded: u64,
}

/// Pieces by the SHA-256 of their text.
#[derive(Debug, Default)]
pub struct SegmentCache {
    pieces: HashMap<[u8; 32], Piece>,
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

/// How many buckets `count` stanzas are spread over (a power of two, so the
/// layout only changes when the suite doubles).
pub fn bucket_count(count: usize) -> usize {
    (count / BUCKET_TARGET).max(1).next_power_of_two()
}

/// The bucket of a package name (FNV-1a: stable across runs and versions).
pub fn bucket_of(package: &str, buckets: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in package.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash as usize) & (buckets - 1)
}

impl SegmentCache {
    /// Loads a cache file; a missing or damaged file is an empty cache.
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
        let mut pieces = HashMap::new();
        let count = u64_of(&mut bytes)?;
        for _ in 0..count {
            let key: [u8; 32] = take(&mut bytes, 32)?.try_into().ok()?;
            let text_len = u64_of(&mut bytes)?;
            let crc = u32::try_from(u64_of(&mut bytes)?).ok()?;
            let xz_unpadded = u64_of(&mut bytes)?;
            let deflate_len = usize::try_from(u64_of(&mut bytes)?).ok()?;
            let deflate = take(&mut bytes, deflate_len)?.to_vec();
            let xz_len = usize::try_from(u64_of(&mut bytes)?).ok()?;
            let xz_block = take(&mut bytes, xz_len)?.to_vec();
            pieces.insert(
                key,
                Piece {
                    text_len,
                    crc,
                    deflate,
                    xz_block,
                    xz_unpadded,
                },
            );
        }
        Some(Self { pieces })
    }

    /// Writes the cache atomically.
    pub fn save(&self, path: &Path) -> Result<(), AptError> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.pieces.len() as u64).to_le_bytes());
        let mut keys: Vec<_> = self.pieces.keys().collect();
        keys.sort();
        for key in keys {
            let p = &self.pieces[key];
            out.extend_from_slice(key);
            for n in [
                p.text_len,
                u64::from(p.crc),
                p.xz_unpadded,
                p.deflate.len() as u64,
            ] {
                out.extend_from_slice(&n.to_le_bytes());
            }
            out.extend_from_slice(&p.deflate);
            out.extend_from_slice(&(p.xz_block.len() as u64).to_le_bytes());
            out.extend_from_slice(&p.xz_block);
        }
        fsutil::write_atomic(path, &out, crate::fsutil::Durability::Synced)
    }

    /// Builds an index from bucket texts (empty ones are skipped), compressing
    /// only the texts `self` has no piece for; every piece used is recorded in `used`.
    pub fn build(&self, buckets: &[String], used: &mut SegmentCache) -> Result<Index, AptError> {
        let keys: Vec<[u8; 32]> = buckets
            .iter()
            .map(|t| Sha256::digest(t.as_bytes()).into())
            .collect();
        let missing: Vec<usize> = (0..buckets.len())
            .filter(|&i| {
                !buckets[i].is_empty()
                    && !self.pieces.contains_key(&keys[i])
                    && !used.pieces.contains_key(&keys[i])
            })
            .collect();
        let fresh = compress_all(buckets, &missing)?;
        for (i, piece) in missing.into_iter().zip(fresh) {
            used.pieces.insert(keys[i], piece);
        }
        let mut pieces = Vec::new();
        for (i, text) in buckets.iter().enumerate() {
            if text.is_empty() {
                continue;
            }
            let piece = match used.pieces.get(&keys[i]) {
                Some(p) => p.clone(),
                None => self
                    .pieces
                    .get(&keys[i])
                    .cloned()
                    .ok_or(AptError::BadIndex {
                        reason: "segment cache lost a piece",
                    })?,
            };
            used.pieces.insert(keys[i], piece.clone());
            pieces.push(piece);
        }
        let text: Vec<u8> = buckets.concat().into_bytes();
        Ok(Index {
            gz: join_gzip(&pieces),
            xz: join_xz(&pieces),
            text,
        })
    }
}

/// Compresses the given buckets on all cores.
fn compress_all(buckets: &[String], which: &[usize]) -> Result<Vec<Piece>, AptError> {
    super::parallel::map(
        which,
        super::parallel::cores(),
        "a compression thread panicked",
        |&i| compress(buckets[i].as_bytes()),
    )
}

fn compress(text: &[u8]) -> Result<Piece, AptError> {
    let io = |source| AptError::Io {
        path: "Packages".into(),
        source,
    };
    let deflate = crate::deb::deflate_piece(text, flate2::Compression::new(9)).map_err(io)?;
    // Preset 6 with the dictionary cut down to the bucket: the same output
    // size, without allocating and clearing an 8 MiB match finder per bucket.
    let lzma_err = |e: liblzma::stream::Error| io(std::io::Error::other(e));
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
    xz.write_all(text).map_err(io)?;
    let stream = xz.finish().map_err(io)?;
    let (xz_block, xz_unpadded) = single_block(&stream).ok_or(AptError::BadIndex {
        reason: "liblzma wrote an unexpected stream",
    })?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(text);
    Ok(Piece {
        text_len: text.len() as u64,
        crc: crc.finalize(),
        deflate,
        xz_block,
        xz_unpadded,
    })
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

fn crc32(bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(bytes);
    h.finalize()
}

/// One xz stream: header, the blocks, an index of them, the footer.
fn join_xz(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&XZ_MAGIC);
    out.extend_from_slice(&XZ_FLAGS);
    out.extend_from_slice(&crc32(&XZ_FLAGS).to_le_bytes());
    for piece in pieces {
        out.extend_from_slice(&piece.xz_block);
    }
    let mut index = vec![0u8];
    write_varint(&mut index, pieces.len() as u64);
    for piece in pieces {
        write_varint(&mut index, piece.xz_unpadded);
        write_varint(&mut index, piece.text_len);
    }
    while index.len() % 4 != 0 {
        index.push(0);
    }
    let index_crc = crc32(&index);
    index.extend_from_slice(&index_crc.to_le_bytes());
    out.extend_from_slice(&index);
    let backward = u32::try_from(index.len() / 4 - 1).unwrap_or(u32::MAX);
    let mut tail = backward.to_le_bytes().to_vec();
    tail.extend_from_slice(&XZ_FLAGS);
    out.extend_from_slice(&crc32(&tail).to_le_bytes());
    out.extend_from_slice(&tail);
    out.extend_from_slice(b"YZ");
    out
}

/// One gzip member: the sync-flushed deflate runs, a final empty block, the trailer.
fn join_gzip(pieces: &[Piece]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    let mut crc = crc32fast::Hasher::new();
    let mut len = 0u64;
    for piece in pieces {
        out.extend_from_slice(&piece.deflate);
        crc.combine(&crc32fast::Hasher::new_with_initial_len(
            piece.crc,
            piece.text_len,
        ));
        len += piece.text_len;
    }
    // A final, empty block with fixed Huffman codes: BFINAL=1, BTYPE=01, end-of-block.
    out.extend_from_slice(&[0x03, 0x00]);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&((len & 0xffff_ffff) as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn check(buckets: &[String]) {
        let cache = SegmentCache::default();
        let mut used = SegmentCache::default();
        let index = cache.build(buckets, &mut used).expect("build");
        let want: String = buckets.concat();
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
        let mut again = SegmentCache::default();
        let second = loaded.build(buckets, &mut again).expect("rebuild");
        assert!(second.gz == index.gz && second.xz == index.xz);
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
    }

    #[test]
    fn buckets_are_stable_powers_of_two() {
        assert_eq!(bucket_count(0), 1);
        assert_eq!(bucket_count(100), 2);
        assert_eq!(bucket_count(10_000), 256);
        assert_eq!(bucket_of("hello", 256), bucket_of("hello", 256));
        assert!(bucket_of("hello", 256) < 256);
    }
}
