//! Frames the guest writes on its job port: any line gives test output and
//! perhaps a frame, never a panic, and a frame written as the guest writes
//! it reads back.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::{apply_text, config, edits};
use crate::vm::job::{marker, split_line};

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn any_line_never_panics(line in any::<String>(), other in any::<String>()) {
        let _ = split_line(&line, &marker("3f9a"));
        let _ = split_line(&line, &other);
    }

    #[test]
    fn damaged_frames_never_panic(edits in edits(6)) {
        let marker = marker("3f9a");
        let line = format!("output{marker}TEST uptime=12.5 name=smoke rc=1 reason=exit status 1\r\n");
        let _ = split_line(&apply_text(&line, &edits), &marker);
    }

    #[test]
    fn written_frames_read_back(
        output in "[ -~]{0,20}",
        kind in "(BEGIN|PHASE|TEST-START|TEST|END)",
        uptime in 0u32..1_000_000,
        fields in proptest::collection::btree_map("[a-z]{1,8}", "[!-~]{0,10}", 0..4),
        reason in proptest::option::of("[ -~]{0,30}"),
    ) {
        let marker = marker("3f9a");
        prop_assume!(!output.contains(&marker));
        let mut fields: BTreeMap<String, String> = fields
            .into_iter()
            .filter(|(k, _)| k != "reason" && k != "uptime")
            .collect();
        let mut line = format!("{output}{marker}{kind} uptime={uptime}");
        for (key, value) in &fields {
            line.push_str(&format!(" {key}={value}"));
        }
        if let Some(reason) = &reason {
            line.push_str(&format!(" reason={reason}"));
            fields.insert("reason".to_owned(), reason.trim_end().to_owned());
        }
        line.push_str("\r\n");
        let (before, frame) = split_line(&line, &marker);
        prop_assert_eq!(before, output.as_str());
        let frame = frame.expect("a frame");
        prop_assert_eq!(frame.kind.word(), kind);
        prop_assert_eq!(frame.uptime, f64::from(uptime));
        prop_assert_eq!(frame.fields, fields);
    }
}
