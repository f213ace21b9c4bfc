//! The readers of a wheel's text files and of lock files (issue 13): any
//! text, and a valid file damaged, gives a value or an error, never a
//! panic; a version's Debian form keeps PEP 440's order.

use std::str::FromStr;

use proptest::prelude::*;

use super::{apply_text, config, edits};
use crate::python::entry_points::console_scripts;
use crate::python::filename::WheelName;
use crate::python::lock::{parse_pylock, parse_requirements_lock};
use crate::python::metadata::Metadata;
use crate::python::record::parse_record;
use crate::python::version::debian_upstream;

const METADATA: &str = "Metadata-Version: 2.4\nName: requests\nVersion: 2.34.2\nSummary: Python HTTP for Humans.\nRequires-Python: >=3.9\nRequires-Dist: charset_normalizer<4,>=2\nRequires-Dist: PySocks!=1.5.7,>=1.5.6; extra == \"socks\"\nLicense-File: LICENSE\n\n# Requests\n";
const RECORD: &str = "a/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\"a/x,y.py\",,\na-1.dist-info/RECORD,,\n";
const ENTRY_POINTS: &str =
    "[console_scripts]\nhttp = httpie.__main__:main\n[gui_scripts]\ng = pkg.gui:run [extra]\n";
const LOCK: &str = "requests==2.34.2 \\\n    --hash=sha256:2a0d60c172f83ac6ab31e4554906c0f3b3588d37b5cb939b1c061f4907e278e0\nidna==3.20 ; python_version >= '3.8'\n";
const PYLOCK: &str = "lock-version = \"1.0\"\n[[packages]]\nname = \"idna\"\nversion = \"3.20\"\n[[packages.wheels]]\nname = \"idna-3.20-py3-none-any.whl\"\nhashes = { sha256 = \"ab7ae7122974553370f0bdb919e1a960b2cd1bc1ef0276416d896db81c14582c\" }\n";

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn any_text_never_panics_the_wheel_and_lock_readers(text in any::<String>()) {
        let _ = WheelName::parse(&text).map(|n| (n.debian_arch().ok(), n.min_glibc(), n.cpython_abi()));
        let _ = Metadata::parse(&text, "M");
        let _ = parse_record(&text, "R");
        let _ = console_scripts(&text, "E");
        let _ = parse_requirements_lock(&text, "L");
        let _ = parse_pylock(&text, "P");
    }

    #[test]
    fn damaged_files_never_panic_the_readers(edits in edits(8)) {
        let _ = Metadata::parse(&apply_text(METADATA, &edits), "M");
        let _ = parse_record(&apply_text(RECORD, &edits), "R");
        let _ = console_scripts(&apply_text(ENTRY_POINTS, &edits), "E");
        let _ = parse_requirements_lock(&apply_text(LOCK, &edits), "L");
        let _ = parse_pylock(&apply_text(PYLOCK, &edits), "P");
        let _ = WheelName::parse(&apply_text("charset_normalizer-3.5.3-cp311-cp311-manylinux_2_17_x86_64.whl", &edits));
    }

    #[test]
    fn debian_versions_keep_pep_440_order(
        a in (0u64..3, 0u64..3, 0u64..3, 0usize..4, 0u64..3, proptest::option::of(0u64..3), proptest::option::of(0u64..3)),
        b in (0u64..3, 0u64..3, 0u64..3, 0usize..4, 0u64..3, proptest::option::of(0u64..3), proptest::option::of(0u64..3)),
    ) {
        let text = |(x, y, z, pre, n, post, dev): (u64, u64, u64, usize, u64, Option<u64>, Option<u64>)| {
            let mut s = format!("{x}.{y}.{z}");
            if pre > 0 {
                s.push_str(&format!("{}{n}", ["", "a", "b", "rc"][pre]));
            }
            if let Some(p) = post {
                s.push_str(&format!(".post{p}"));
            }
            if let Some(d) = dev {
                s.push_str(&format!(".dev{d}"));
            }
            s
        };
        let (va, vb) = (pep440_rs::Version::from_str(&text(a)).expect("a"), pep440_rs::Version::from_str(&text(b)).expect("b"));
        let (da, db) = (
            crate::version::DebVersion::parse(&format!("{}-1", debian_upstream(&va))).expect("debian a"),
            crate::version::DebVersion::parse(&format!("{}-1", debian_upstream(&vb))).expect("debian b"),
        );
        prop_assert_eq!(va.cmp(&vb), da.cmp(&db), "{} vs {}: {} vs {}", va, vb, da, db);
    }
}
