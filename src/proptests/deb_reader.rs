//! The `.deb` reader: any bytes give a package or an error, never a panic,
//! and a package's own bytes, damaged, never make it panic either.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::{apply, config, edits};
use crate::deb::{write_deb, Compression, Control, ControlFile, DataTree, Limits, PackageSpec};

/// Small valid packages, one per compression, written by our own writer.
fn valid_debs() -> &'static [Vec<u8>] {
    static DEBS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    DEBS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        Compression::ALL
            .into_iter()
            .map(|compression| {
                let control = Control::of(&[
                    ("Package", "hello"),
                    ("Source", "hello-src (1.0-1)"),
                    ("Version", "1:1.0-1"),
                    ("Architecture", "all"),
                    ("Maintainer", "A <a@example.com>"),
                    ("Description", "greets\nat length"),
                ]);
                let mut data = DataTree::new();
                data.add_bytes("/usr/bin/hello", b"#!/bin/sh\necho hi\n".to_vec(), 0o755)
                    .expect("file");
                let long = format!("/usr/share/{}/x", "d".repeat(120));
                data.add_bytes(&long, vec![7; 3000], 0o644).expect("long");
                data.add_symlink("/usr/bin/hi", "hello").expect("link");
                let spec = PackageSpec {
                    control,
                    control_files: vec![ControlFile {
                        name: "postinst".into(),
                        mode: 0o755,
                        bytes: b"#!/bin/sh\n".to_vec(),
                    }],
                    data,
                    compression,
                    mtime: 1_700_000_000,
                    generate: true,
                    on_disk: None,
                };
                let out = dir.path().join(compression.name());
                let written = write_deb(&spec, &out).expect("write");
                std::fs::read(written.path).expect("read")
            })
            .collect()
    })
}

fn read(bytes: &[u8]) -> Result<crate::deb::DebInfo, String> {
    crate::deb::reader_for_tests(bytes, &Limits::DEFAULT)
}

#[test]
fn valid_packages_read_back() {
    for bytes in valid_debs() {
        let info = read(bytes).expect("valid");
        assert_eq!(info.control.source_name(), Some("hello-src"));
        assert_eq!(info.files.len(), 8);
    }
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read(&bytes);
        let mut with_magic = b"!<arch>\n".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = read(&with_magic);
    }

    #[test]
    fn damaged_packages_never_panic(which in 0usize..4, edits in edits(6)) {
        let valid = &valid_debs()[which];
        let damaged = apply(valid, &edits);
        let _ = read(&damaged);
        // Tight limits take the refusal paths too.
        let tight = Limits {
            control_tar: 4096,
            control_file: 64,
            control_entries: 2,
            data_entries: 3,
            record: 50,
            debian_binary: 2,
        };
        let _ = crate::deb::reader_for_tests(&damaged, &tight);
    }
}
