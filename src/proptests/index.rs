//! Packages stanzas and the index cache: any text or bytes give entries or
//! an error, never a panic, and entries written as stanzas read back.

use proptest::prelude::*;

use super::{apply, apply_text, config, edits};
use crate::apt::segments::SegmentCache;
use crate::apt::Entry;

const VALID: &str = "Package: hello\nVersion: 1:1.0-1\nArchitecture: amd64\nMaintainer: A <a@example.com>\nFilename: pool/main/h/hello/hello_1.0-1_amd64.deb\nSize: 1234\nMD5sum: 0123\nSHA256: abcd\nDescription: greets\n long\n\nPackage: libfoo1\nVersion: 2\nArchitecture: all\nFilename: pool/main/libf/libfoo/libfoo1_2_all.deb\nSize: 1\nSHA256: ef\n";

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn any_text_never_panics(text in any::<String>()) {
        let _ = Entry::parse_many(&text);
    }

    #[test]
    fn damaged_packages_files_never_panic(edits in edits(8)) {
        if let Ok(entries) = Entry::parse_many(&apply_text(VALID, &edits)) {
            for entry in entries {
                // What parses names a file inside the pool, whatever the edits did.
                prop_assert!(entry.filename.starts_with("pool/"));
                prop_assert!(!entry.filename.split('/').any(|p| p == ".." || p == "." || p.is_empty()));
            }
        }
    }

    #[test]
    fn stanzas_read_back(
        package in "[a-z0-9][a-z0-9+.-]{1,12}",
        version in "[0-9]{1,3}(\\.[0-9a-z~+]{1,4}){0,3}(-[0-9a-z.~+]{1,4})?",
        architecture in "(all|amd64|arm64)",
        size in any::<u64>(),
        sha in "[0-9a-f]{64}",
    ) {
        let filename = format!("pool/main/{}/{package}/{package}_{version}_{architecture}.deb", &package[..1]);
        let text = format!("Package: {package}\nVersion: {version}\nArchitecture: {architecture}\nFilename: {filename}\nSize: {size}\nSHA256: {sha}\n");
        let entries = Entry::parse_many(&format!("{text}\n{text}")).expect("parses");
        prop_assert_eq!(entries.len(), 2);
        let entry = &entries[0];
        prop_assert_eq!(&entry.package, &package);
        prop_assert_eq!(entry.version.to_string(), version);
        prop_assert_eq!(&entry.architecture, &architecture);
        prop_assert_eq!(&entry.filename, &filename);
        prop_assert_eq!(entry.size, size);
        prop_assert_eq!(&entry.sha256, &sha);
        prop_assert_eq!(&entry.text, &text);
    }

    #[test]
    fn any_cache_file_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = SegmentCache::decode(&bytes);
    }

    #[test]
    fn damaged_cache_files_never_panic(edits in edits(6)) {
        let _ = SegmentCache::decode(&apply(valid_cache(), &edits));
    }
}

/// A cache file of two pieces, as `repo add` saves it.
fn valid_cache() -> &'static [u8] {
    static CACHE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        let mut used = SegmentCache::default();
        SegmentCache::default()
            .build(&[VALID.to_owned(), "Package: x\n\n".to_owned()], &mut used)
            .expect("build");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache");
        used.save(&path).expect("save");
        std::fs::read(&path).expect("read")
    })
}
