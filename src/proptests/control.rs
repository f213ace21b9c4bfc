//! Control stanzas and the fields that become paths: parsing never panics,
//! a stanza written reads back equal, and whatever passes validation is
//! safe to join into a pool path.

use proptest::prelude::*;

use super::{apply_text, config, edits};
use crate::apt::pool_path;
use crate::deb::{check_architecture, check_package_name, check_source, Control};

const VALID: &str = "Package: hello\nSource: hello-src (1:1.0-1)\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: A <a@example.com>\nDepends: libc6 (>= 2.36), dash\nDescription: greets\n Long text.\n .\n More.\n";

/// A field name deb822 allows, in the usual capitalised form.
fn field_name() -> impl Strategy<Value = String> {
    "[A-Z][A-Za-z0-9]{0,6}(-[A-Z][a-z0-9]{0,5})?"
}

/// A value deb822 can write: lines without control characters, every
/// continuation line non-empty (an empty one is written as `.`).
fn field_value() -> impl Strategy<Value = String> {
    let first = "[ -~¡-ÿ]{0,20}".prop_map(|s| s.trim().to_owned());
    let rest = proptest::collection::vec(
        "[!-~][ -~]{0,15}".prop_map(|s| s.trim_end().to_owned()),
        0..3,
    );
    (first, rest).prop_map(|(first, rest)| {
        let mut value = first;
        for line in rest {
            value.push('\n');
            value.push_str(&line);
        }
        value
    })
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn parsing_any_text_never_panics(text in any::<String>()) {
        if let Ok(control) = Control::parse(&text) {
            let _ = control.validate();
            let _ = control.source_name();
        }
    }

    #[test]
    fn parsing_damaged_stanzas_never_panics(edits in edits(8)) {
        let text = apply_text(VALID, &edits);
        if let Ok(control) = Control::parse(&text) {
            if control.validate().is_ok() {
                // Valid means safe to name files with, whatever the edits did.
                let source = control.source_name().expect("validated source");
                for part in [source, control.package().unwrap_or_default(), control.architecture().unwrap_or_default()] {
                    prop_assert!(!part.contains('/') && part != ".." && part.is_ascii(), "{part:?}");
                }
            }
        }
    }

    #[test]
    fn written_stanzas_read_back_equal(
        fields in proptest::collection::btree_map(field_name(), field_value(), 1..8)
    ) {
        let mut control = Control::new();
        for (name, value) in &fields {
            // Names differing only in case are one field to deb822.
            if control.get(name).is_none() {
                control.push(name, value).expect("push");
            }
        }
        let text = control.to_string();
        let parsed = Control::parse(&text).expect("reads back");
        prop_assert_eq!(parsed, control);
    }

    #[test]
    fn accepted_names_are_plain_path_components(text in any::<String>()) {
        let plain = |s: &str| !s.is_empty() && s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if check_package_name(&text).is_ok() {
            prop_assert!(plain(&text));
        }
        if let Ok(name) = check_source(&text) {
            prop_assert!(plain(name));
        }
        if check_architecture(&text).is_ok() {
            prop_assert!(plain(&text));
        }
        // pool_path is total, even on names that were never checked.
        let _ = pool_path("main", &text, "x.deb");
    }

    #[test]
    fn near_valid_source_fields_never_panic(edits in edits(4)) {
        let _ = check_source(&apply_text("libhello (1:2.0~rc1-3)", &edits));
    }
}
