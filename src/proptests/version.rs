//! Debian versions and version tags: parsing never panics, a parsed version
//! writes and reads back the same, and the ordering is a total order that
//! agrees with equality and hashing.

use std::cmp::Ordering;
use std::hash::{BuildHasher, RandomState};

use proptest::prelude::*;

use super::{apply_text, config, edits};
use crate::version::{DebVersion, TagScheme};

/// Versions near the valid ones: epochs, tildes, revisions, colons, dashes.
fn near_version() -> impl Strategy<Value = String> {
    "([0-9]{1,11}:)?[0-9a-zA-Z][0-9a-zA-Z.+~:-]{0,10}(-[0-9a-zA-Z.+~]{0,5})?"
}

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn any_text_never_panics(text in any::<String>()) {
        let _ = DebVersion::parse(&text);
        let scheme = TagScheme::default();
        if let Ok(v) = scheme.parse_tag(&text) {
            let _ = scheme.debian_version(&v);
        }
        let _ = scheme.tag_to_debian(&text);
    }

    #[test]
    fn parsed_versions_write_and_read_back(text in near_version()) {
        if let Ok(v) = DebVersion::parse(&text) {
            let written = v.to_string();
            let again = DebVersion::parse(&written).expect("written version parses");
            prop_assert_eq!(again.to_string(), written);
            prop_assert_eq!((again.epoch, &again.upstream, &again.revision), (v.epoch, &v.upstream, &v.revision));
        }
    }

    #[test]
    fn ordering_is_consistent(a in near_version(), b in near_version(), c in near_version()) {
        let (Ok(a), Ok(b), Ok(c)) = (DebVersion::parse(&a), DebVersion::parse(&b), DebVersion::parse(&c)) else {
            return Ok(());
        };
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a.cmp(&a), Ordering::Equal);
        if a <= b && b <= c {
            prop_assert!(a <= c);
        }
        if a == b {
            let hasher = RandomState::new();
            prop_assert_eq!(hasher.hash_one(&a), hasher.hash_one(&b));
        }
    }

    #[test]
    fn damaged_tags_never_panic(edits in edits(4)) {
        let scheme = TagScheme::default();
        let _ = scheme.tag_to_debian(&apply_text("v1.2.0-rc.1", &edits));
        let _ = DebVersion::parse(&apply_text("2:1.0~rc1+dfsg-3", &edits));
    }
}
