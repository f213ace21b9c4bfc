//! The uncompressed kernel inside a Debian `vmlinuz` (a bzImage), so qemu
//! can boot it through the PVH entry point.
//!
//! A bzImage starts with real-mode setup code and a small decompressor that
//! inflates the compressed `vmlinux` it carries. Under TCG (no KVM) that
//! decompression costs about two seconds per boot, and our smoke tests boot
//! once per test. qemu can boot the ELF `vmlinux` directly when it has a PVH
//! note (Debian's amd64 kernels do), so we unpack it once on the host.
//!
//! The payload is located through the boot protocol's setup header
//! (`payload_offset`, protocol 2.08+, see
//! <https://www.kernel.org/doc/html/latest/arch/x86/boot.html>); when that
//! fails we fall back to scanning for a compression magic. Debian compresses
//! with xz up to bookworm (6.1) and with zstd from trixie (6.12) on; gzip
//! costs two lines more.

use std::io::Read;

/// The first bytes of an ELF file.
const ELF_MAGIC: &[u8] = b"\x7fELF";

/// A compression format a bzImage payload may use, with its magic bytes.
#[derive(Debug, Clone, Copy)]
enum Format {
    Xz,
    Gzip,
    Zstd,
}

impl Format {
    const ALL: [Format; 3] = [Format::Xz, Format::Gzip, Format::Zstd];

    fn magic(self) -> &'static [u8] {
        match self {
            Format::Xz => b"\xfd7zXZ\x00",
            Format::Gzip => b"\x1f\x8b\x08",
            Format::Zstd => b"\x28\xb5\x2f\xfd",
        }
    }

    /// Decodes the one compressed stream at the start of `data`, ignoring
    /// whatever follows it (the kernel build appends the decompressed size).
    fn decode(self, data: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let read = match self {
            // The single-stream decoder stops at the end of the first stream.
            Format::Xz => liblzma::bufread::XzDecoder::new(data).read_to_end(&mut out),
            // `GzDecoder` reads one member and leaves the rest unread.
            Format::Gzip => flate2::bufread::GzDecoder::new(data).read_to_end(&mut out),
            Format::Zstd => zstd::stream::read::Decoder::with_buffer(data)
                .and_then(|decoder| decoder.single_frame().read_to_end(&mut out)),
        };
        read.ok().map(|_| out)
    }
}

/// The uncompressed ELF kernel inside a bzImage compressed with xz or zstd
/// (Debian's amd64 kernels) or gzip, for PVH direct boot (saves 2–4 s per
/// boot under TCG).
///
/// None when the image holds no such stream or the stream does not decode
/// to an ELF file.
pub fn extract_vmlinux(bzimage: &[u8]) -> Option<Vec<u8>> {
    if let Some(payload) = setup_header_payload(bzimage) {
        let elf = Format::ALL
            .into_iter()
            .filter(|format| payload.starts_with(format.magic()))
            .find_map(|format| decode_elf(format, payload));
        if elf.is_some() {
            return elf;
        }
    }
    // No usable setup header: try every place a stream could start.
    Format::ALL.into_iter().find_map(|format| {
        offsets_of(bzimage, format.magic()).find_map(|at| decode_elf(format, &bzimage[at..]))
    })
}

/// Decodes a stream and keeps the result only when it is an ELF file.
fn decode_elf(format: Format, data: &[u8]) -> Option<Vec<u8>> {
    format.decode(data).filter(|out| out.starts_with(ELF_MAGIC))
}

/// The compressed payload named by the bzImage setup header, when the image
/// has one (boot protocol 2.08 or later).
fn setup_header_payload(bzimage: &[u8]) -> Option<&[u8]> {
    const SETUP_SECTS: usize = 0x1f1;
    const HEADER_MAGIC: usize = 0x202;
    const VERSION: usize = 0x206;
    const PAYLOAD_OFFSET: usize = 0x248;
    const PAYLOAD_LENGTH: usize = 0x24c;

    if bzimage.get(HEADER_MAGIC..HEADER_MAGIC + 4)? != b"HdrS"
        || read_u16(bzimage, VERSION)? < 0x208
    {
        return None;
    }
    // A zero sector count means 4, for compatibility with ancient images.
    let setup_sects = match *bzimage.get(SETUP_SECTS)? {
        0 => 4,
        n => usize::from(n),
    };
    // The payload offset counts from the protected-mode code, which follows
    // the boot sector and the setup sectors.
    let start =
        (setup_sects + 1) * 512 + usize::try_from(read_u32(bzimage, PAYLOAD_OFFSET)?).ok()?;
    let length = usize::try_from(read_u32(bzimage, PAYLOAD_LENGTH)?).ok()?;
    bzimage.get(start..start.checked_add(length)?)
}

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// Every offset at which `needle` occurs in `haystack`, in order.
fn offsets_of<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(move |(_, window)| *window == needle)
        .map(|(at, _)| at)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::io::Write;

    fn fake_elf() -> Vec<u8> {
        let mut elf = ELF_MAGIC.to_vec();
        elf.extend((0..10_000u32).map(|i| (i % 251) as u8));
        elf
    }

    /// `data` xz-compressed (also used by the initrd's tests).
    pub(crate) fn xz(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        liblzma::read::XzEncoder::new(data, 6)
            .read_to_end(&mut out)
            .expect("xz encode");
        out
    }

    /// Junk that holds no compression magic, like a bzImage's setup code.
    fn junk(len: usize) -> Vec<u8> {
        vec![0x90; len]
    }

    fn concat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn extracts_xz_payload_between_junk() {
        let elf = fake_elf();
        // The kernel build appends the size after the stream, then more code.
        let image = concat(&[&junk(3000), &xz(&elf), &[1, 2, 3, 4], &junk(500)]);
        assert_eq!(extract_vmlinux(&image), Some(elf));
    }

    #[test]
    fn skips_a_false_magic_before_the_real_stream() {
        let elf = fake_elf();
        let image = concat(&[&junk(10), b"\xfd7zXZ\x00garbage", &xz(&elf), &junk(10)]);
        assert_eq!(extract_vmlinux(&image), Some(elf));
    }

    #[test]
    fn uses_the_setup_header_payload() {
        let elf = fake_elf();
        let payload = xz(&elf);
        // setup_sects = 1, so protected-mode code starts at 1024.
        let mut image = junk(1024);
        image[0x1f1] = 1;
        image[0x202..0x206].copy_from_slice(b"HdrS");
        image[0x206..0x208].copy_from_slice(&0x20fu16.to_le_bytes());
        image[0x248..0x24c].copy_from_slice(&100u32.to_le_bytes());
        let length = u32::try_from(payload.len()).expect("small payload");
        image[0x24c..0x250].copy_from_slice(&length.to_le_bytes());
        image.extend(junk(100));
        image.extend(&payload);
        image.extend(junk(64));
        assert_eq!(setup_header_payload(&image), Some(payload.as_slice()));
        assert_eq!(extract_vmlinux(&image), Some(elf));
    }

    #[test]
    fn extracts_gzip_payload() {
        let elf = fake_elf();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&elf).expect("gzip encode");
        let image = concat(&[&junk(700), &gz.finish().expect("gzip finish"), &junk(50)]);
        assert_eq!(extract_vmlinux(&image), Some(elf));
    }

    #[test]
    fn extracts_zstd_payload() {
        let elf = fake_elf();
        let image = concat(&[
            &junk(700),
            &zstd::encode_all(elf.as_slice(), 3).expect("zstd encode"),
            &junk(50),
        ]);
        assert_eq!(extract_vmlinux(&image), Some(elf));
    }

    #[test]
    fn none_without_a_compressed_stream() {
        assert_eq!(extract_vmlinux(&junk(5000)), None);
        assert_eq!(extract_vmlinux(&[]), None);
    }

    #[test]
    fn none_when_the_stream_is_not_elf() {
        let image = concat(&[&junk(100), &xz(b"MZ not an ELF file"), &junk(100)]);
        assert_eq!(extract_vmlinux(&image), None);
    }
}
