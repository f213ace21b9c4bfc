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

/// Symbols files near the valid ones: headers, symbols, tags, fields.
fn near_symbols() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "lib[a-z]{1,4}\\.so\\.[0-9] [a-z0-9]{1,6} #MINVER#",
        " [a-z_]{1,6}@(Base|V_[0-9]) [0-9]:?[0-9.~+-]{0,6}( [0-9]{1,3})?",
        " \\((c\\+\\+|symver|regex|optional|arch=[a-z! ]{0,8})(\\|[a-z]{0,5})?\\)[\"']?[a-z_@*.]{0,8}[\"']? [0-9.]{1,4}",
        "#(MISSING|DEPRECATED): [0-9.]{0,3}#? ?[a-z@]{0,5} [0-9]{0,2}",
        "\\| [a-z0-9]{0,5}( #MINVER#)?",
        "\\* [A-Za-z-]{0,12}:[ a-z-]{0,8}",
        "(\\([a-z]{0,3}\\))?#include \"[./a-z]{0,8}\"",
        any::<String>(),
    ];
    proptest::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn symbols_and_shlibs_text_never_panics(text in near_symbols(), soname in "lib[a-z]{1,4}(\\.so\\.[0-9]|-[0-9]\\.so)?") {
        use crate::debhelper::shlibs::{shlibs_file, symbols};
        if let Ok(file) = symbols::SymbolFile::parse(&text, "amd64") {
            for object in file.objects.values() {
                let _ = object.smallest_version(0);
            }
        }
        let _ = symbols::has_soname(&text, &soname);
        let _ = shlibs_file::lookup(&text, &soname);
        let _ = shlibs_file::split_soname(&soname);
    }
}
