//! ELF files: reading never panics, whatever the bytes; a real library
//! with bytes flipped, cut and spliced gives a value or an error.

use proptest::prelude::*;

use super::{apply, config, edits};
use crate::debhelper::elf::{Abi, Elf};

fn zlib() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        std::fs::read("/usr/lib/x86_64-linux-gnu/libz.so.1")
            .or_else(|_| std::fs::read("/lib/x86_64-linux-gnu/libz.so.1"))
            .expect("zlib1g is installed")
    })
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn any_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..512), elf in any::<bool>()) {
        if elf && bytes.len() >= 4 {
            bytes[..4].copy_from_slice(b"\x7fELF");
        }
        let _ = Elf::parse(&bytes);
        let _ = Abi::from_header(&bytes);
    }

    #[test]
    fn an_edited_library_never_panics(edits in edits(8)) {
        let bytes = apply(zlib(), &edits);
        if let Ok(Some(elf)) = Elf::parse(&bytes) {
            let _ = elf.debian_arch();
        }
    }

    #[test]
    fn a_truncated_library_never_panics(len in 0usize..140_000) {
        let bytes = zlib();
        let _ = Elf::parse(&bytes[..len.min(bytes.len())]);
    }
}
