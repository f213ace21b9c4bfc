//! The compressors a `.deb` member can use, with settings pinned so that the
//! same input always gives the same bytes.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use super::pgzip::ParallelGzEncoder;

/// The most memory the xz decoder may use while reading a package.
const XZ_DECODER_MEMLIMIT: u64 = 256 << 20;

/// How `control.tar` and `data.tar` are compressed (uniformly, as dpkg-deb
/// has done by default since 1.19.0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// xz level 6 (dpkg's default), multi-threaded with the preset's fixed
    /// block size, so the bytes do not depend on the number of cores.
    #[default]
    Xz,
    /// gzip level 9 without a name or timestamp, compressed on all cores.
    Gzip,
    /// zstd level 19; needs dpkg >= 1.21.18 (bookworm's lintian calls it malformed).
    Zstd,
    /// No compression (lintian warns; for debugging).
    None,
}

impl Compression {
    /// The member name suffix: `.xz`, `.gz`, `.zst` or nothing.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Xz => ".xz",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
            Compression::None => "",
        }
    }

    /// The compression a member name's suffix says it has.
    pub fn from_member_name(name: &str) -> Option<Self> {
        let suffix = name
            .strip_prefix("control.tar")
            .or_else(|| name.strip_prefix("data.tar"))?;
        [
            Compression::Xz,
            Compression::Gzip,
            Compression::Zstd,
            Compression::None,
        ]
        .into_iter()
        .find(|c| c.extension() == suffix)
    }

    /// Every choice, for help texts and errors.
    pub const ALL: [Compression; 4] = [
        Compression::Xz,
        Compression::Gzip,
        Compression::Zstd,
        Compression::None,
    ];

    /// The name used in `.buildkit.toml` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Xz => "xz",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::None => "none",
        }
    }

    /// A writer that compresses into `out`; call [`Encoder::finish`].
    pub fn encoder<W: Write>(self, out: W) -> io::Result<Encoder<W>> {
        Ok(match self {
            Compression::Xz => {
                Encoder::Xz(liblzma::write::XzEncoder::new_stream(out, xz_stream()?))
            }
            Compression::Gzip => {
                Encoder::Gzip(ParallelGzEncoder::new(out, flate2::Compression::best()))
            }
            Compression::Zstd => {
                let mut enc = zstd::Encoder::new(out, 19)?;
                enc.include_checksum(true)?;
                Encoder::Zstd(enc)
            }
            Compression::None => Encoder::None(out),
        })
    }

    /// A reader that decompresses `input`.
    pub fn decoder<'a>(self, input: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            // A hostile stream can declare a huge dictionary; xz -9 needs
            // 65 MiB to decode, so 256 MiB refuses only what no packager writes.
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new_stream(
                input,
                liblzma::stream::Stream::new_stream_decoder(XZ_DECODER_MEMLIMIT, 0)
                    .map_err(io::Error::other)?,
            )),
            Compression::Gzip => Box::new(flate2::read::GzDecoder::new(input)),
            Compression::Zstd => Box::new(zstd::Decoder::new(input)?),
            Compression::None => Box::new(input),
        })
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Compression {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Compression::ALL
            .into_iter()
            .find(|c| c.name() == s || c.extension().get(1..) == Some(s))
            .ok_or_else(|| format!("unknown compression {s:?}: choose xz, gzip, zstd or none"))
    }
}

/// A compressing writer for one of the [`Compression`] choices.
#[allow(missing_debug_implementations)]
pub enum Encoder<W: Write> {
    /// xz.
    Xz(liblzma::write::XzEncoder<W>),
    /// gzip.
    Gzip(ParallelGzEncoder<W>),
    /// zstd.
    Zstd(zstd::Encoder<'static, W>),
    /// Plain.
    None(W),
}

impl<W: Write> Encoder<W> {
    /// Flushes the compressor's trailer and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Xz(e) => e.finish(),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
            Encoder::None(w) => Ok(w),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Xz(e) => e.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
            Encoder::None(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Xz(e) => e.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
            Encoder::None(w) => w.flush(),
        }
    }
}

/// xz preset 6 with CRC64 (as xz(1) writes), in liblzma's multi-threaded
/// encoder. Its blocks have a fixed size whatever the thread count, which
/// is what keeps the output reproducible.
fn xz_stream() -> io::Result<liblzma::stream::Stream> {
    let threads =
        std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1));
    xz_stream_with(threads, XZ_BLOCK)
}

/// liblzma's default block size for the preset (3 × the 8 MiB dictionary),
/// as dpkg-deb's multi-threaded xz uses: our packages then have dpkg-deb's
/// bytes. (8 MiB blocks were tried: a little faster, but 9 % larger on a
/// 150 MB tree, because every block starts with an empty dictionary.)
const XZ_BLOCK: u64 = 0;

/// The xz encoder with a thread count and block size (0: the preset's default).
fn xz_stream_with(threads: u32, block_size: u64) -> io::Result<liblzma::stream::Stream> {
    liblzma::stream::MtStreamBuilder::new()
        .threads(threads)
        .block_size(block_size)
        .preset(6)
        .check(liblzma::stream::Check::Crc64)
        .encoder()
        .map_err(io::Error::other)
}

/// `gzip -9n`: best compression, no file name, mtime 0 (lintian's
/// `package-contains-timestamped-gzip`), Unix as the OS byte.
pub fn gzip_encoder<W: Write>(out: W) -> flate2::write::GzEncoder<W> {
    flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(3)
        .write(out, flate2::Compression::best())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xz_output_does_not_depend_on_the_thread_count() {
        let input: Vec<u8> = (0..3_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 27) as u8)
            .collect();
        let run = |threads| {
            let stream = xz_stream_with(threads, 1 << 20).expect("stream");
            let mut enc = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
            enc.write_all(&input).expect("write");
            enc.finish().expect("finish")
        };
        assert!(run(1) == run(3), "xz bytes changed with the thread count");
    }

    #[test]
    fn every_compression_round_trips_and_is_deterministic() {
        let input: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for c in [
            Compression::Xz,
            Compression::Gzip,
            Compression::Zstd,
            Compression::None,
        ] {
            let run = || {
                let mut enc = c.encoder(Vec::new()).expect("encoder");
                enc.write_all(&input).expect("write");
                enc.finish().expect("finish")
            };
            let (a, b) = (run(), run());
            assert!(a == b, "{c:?} is not deterministic");
            let mut back = Vec::new();
            c.decoder(&a[..])
                .expect("decoder")
                .read_to_end(&mut back)
                .expect("decompress");
            assert!(back == input, "{c:?} does not round-trip");
            let name = format!("data.tar{}", c.extension());
            assert_eq!(Compression::from_member_name(&name), Some(c));
            assert_eq!(c.name().parse::<Compression>(), Ok(c));
        }
    }
}
