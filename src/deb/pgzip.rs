//! Parallel gzip in the manner of pigz: the input is cut into fixed 1 MiB
//! chunks, each compressed as raw deflate on its own core (primed with the
//! previous chunk's last 32 KiB as a dictionary, so the ratio stays close to
//! a single stream), and the pieces are joined into one ordinary gzip member.
//! Every chunk but the last ends with a sync flush (an empty stored block),
//! which keeps the deflate stream byte-aligned and valid to any inflater.
//!
//! The bytes depend only on the input and the chunk size, never on the
//! number of threads, so packages stay reproducible across machines.

use std::io::{self, Write};

use flate2::{Compress, Crc, FlushCompress, Status};

/// Uncompressed bytes per chunk.
const CHUNK: usize = 1 << 20;
/// Deflate's window: the dictionary carried from one chunk to the next.
pub const WINDOW: usize = 32 * 1024;

/// The header of a gzip member as `gzip -9n` writes it: ID1 ID2,
/// CM=deflate, FLG=0, MTIME=0, XFL=2 (best), OS=3 (Unix).
pub const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3];

/// A gzip writer (`gzip -9n` header: no name, mtime 0) compressing on all cores.
#[derive(Debug)]
pub struct ParallelGzEncoder<W: Write> {
    out: W,
    level: flate2::Compression,
    threads: usize,
    /// Full chunks waiting for the next batch, with the dictionary each starts from.
    pending: Vec<(Vec<u8>, Vec<u8>)>,
    current: Vec<u8>,
    /// The last 32 KiB of the input so far: the next chunk's dictionary.
    window: Vec<u8>,
    crc: Crc,
    header_written: bool,
}

impl<W: Write> ParallelGzEncoder<W> {
    /// A new encoder writing to `out`.
    pub fn new(out: W, level: flate2::Compression) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            out,
            level,
            threads,
            pending: Vec::new(),
            current: Vec::with_capacity(CHUNK),
            window: Vec::new(),
            crc: Crc::new(),
            header_written: false,
        }
    }

    /// Uses this many threads (the output does not change).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.out.write_all(&GZIP_HEADER)?;
            self.header_written = true;
        }
        Ok(())
    }

    /// Moves the current chunk to the batch.
    fn seal_chunk(&mut self) {
        let chunk = std::mem::replace(&mut self.current, Vec::with_capacity(CHUNK));
        let dictionary = std::mem::take(&mut self.window);
        let tail = &chunk[chunk.len().saturating_sub(WINDOW)..];
        self.window = if tail.len() == WINDOW {
            tail.to_vec()
        } else {
            // A short chunk (only ever the last) extends the old window.
            let mut w = dictionary.clone();
            w.extend_from_slice(tail);
            w[w.len().saturating_sub(WINDOW)..].to_vec()
        };
        self.pending.push((chunk, dictionary));
    }

    /// Compresses the batch in parallel and writes it in order; `last`
    /// finishes the deflate stream with the batch's final chunk.
    fn flush_batch(&mut self, last: bool) -> io::Result<()> {
        self.write_header()?;
        let batch = std::mem::take(&mut self.pending);
        let count = batch.len();
        let level = self.level;
        let compressed: Vec<io::Result<Vec<u8>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .enumerate()
                .map(|(index, (chunk, dictionary))| {
                    let finish = last && index + 1 == count;
                    scope.spawn(move || deflate_chunk(chunk, dictionary, level, finish))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(io::Error::other("a compression thread panicked")))
                })
                .collect()
        });
        for piece in compressed {
            self.out.write_all(&piece?)?;
        }
        Ok(())
    }

    /// Writes the last chunk and the gzip trailer, returning the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal_chunk();
        self.flush_batch(true)?;
        self.out.write_all(&self.crc.sum().to_le_bytes())?;
        self.out.write_all(&self.crc.amount().to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ParallelGzEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let take = buf.len().min(CHUNK - self.current.len());
        self.current.extend_from_slice(&buf[..take]);
        self.crc.update(&buf[..take]);
        if self.current.len() == CHUNK {
            self.seal_chunk();
            if self.pending.len() >= self.threads {
                self.flush_batch(false)?;
            }
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Raw deflate of `input` ending in a sync flush (an empty stored block), so
/// that pieces compressed apart, on any number of threads, join by plain
/// concatenation into one deflate stream. Whoever joins them closes the
/// stream with a final empty block and wraps it in a gzip header and
/// trailer (the crc32 of the pieces' input), as [`ParallelGzEncoder`] does
/// for its chunks; the repository does the same for the pieces of a
/// Packages file. `dictionary` is the input just before this piece (at most
/// the last 32 KiB count), which the piece may refer back to, as one stream
/// would: the joined stream then compresses as well as one made in one go.
pub fn deflate_piece(
    input: &[u8],
    dictionary: &[u8],
    level: flate2::Compression,
) -> io::Result<Vec<u8>> {
    deflate_chunk(input, dictionary, level, false)
}

/// Raw deflate of one chunk, ending in a sync flush or, for the last, the final block.
fn deflate_chunk(
    input: &[u8],
    dictionary: &[u8],
    level: flate2::Compression,
    finish: bool,
) -> io::Result<Vec<u8>> {
    let mut compress = Compress::new(level, false);
    if !dictionary.is_empty() {
        compress
            .set_dictionary(dictionary)
            .map_err(io::Error::other)?;
    }
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    let flush = if finish {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    loop {
        let consumed = usize::try_from(compress.total_in())
            .unwrap_or(usize::MAX)
            .min(input.len());
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let status = compress
            .compress_vec(&input[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = usize::try_from(compress.total_in()).unwrap_or(0) == input.len();
        let done = match status {
            Status::StreamEnd => true,
            // A sync flush is complete once all input is in and the output had room to spare.
            Status::Ok | Status::BufError => !finish && all_in && out.len() < out.capacity(),
        };
        if done {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                // Half text-like, half noise, so chunks compress differently.
                if (i / 4096) % 2 == 0 {
                    b"lorem ipsum dolor "[i % 18]
                } else {
                    state as u8
                }
            })
            .collect()
    }

    fn encode(data: &[u8], threads: usize) -> Vec<u8> {
        let mut enc =
            ParallelGzEncoder::new(Vec::new(), flate2::Compression::best()).with_threads(threads);
        for piece in data.chunks(7000) {
            enc.write_all(piece).expect("write");
        }
        enc.finish().expect("finish")
    }

    #[test]
    fn output_is_standard_gzip_independent_of_thread_count() {
        for len in [0, 10, CHUNK - 1, CHUNK, 3 * CHUNK + 12_345] {
            let data = sample(len);
            let one = encode(&data, 1);
            let four = encode(&data, 4);
            assert!(
                one == four,
                "{len} bytes: output depends on the thread count"
            );
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&one[..])
                .read_to_end(&mut back)
                .expect("gunzip");
            assert!(back == data, "{len} bytes: round trip failed");
            // The real gzip agrees, CRC and length included.
            let mut child = std::process::Command::new("gzip")
                .args(["-t"])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .expect("gzip");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(&one)
                .expect("pipe");
            assert!(
                child.wait().expect("wait").success(),
                "{len} bytes: gzip -t rejects it"
            );
        }
    }
}
