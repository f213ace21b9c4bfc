//! What the tests of every part of the parser share: a file's origin, and
//! parsing a control file into its tests, its error or a one-line-per-test
//! summary.

use super::{parse, Dep8Test, TestKind};

pub(super) const ORIGIN: &str = "v1.2.0:debian/tests/control";

pub(super) fn parse_ok(text: &str) -> Vec<Dep8Test> {
    let binaries = ["foo".to_owned(), "libfoo1".to_owned()];
    parse(text, ORIGIN, &binaries).expect("the control file parses")
}

/// The error message without the `origin:` prefix every message has.
pub(super) fn parse_err(text: &str) -> String {
    let binaries = ["foo".to_owned()];
    match parse(text, ORIGIN, &binaries) {
        Ok(tests) => panic!("expected an error, got {tests:?}"),
        Err(err) => {
            let message = err.to_string();
            let prefix = format!("{ORIGIN}:");
            match message.strip_prefix(&prefix) {
                Some(rest) => rest.to_owned(),
                None => panic!("{message:?} does not start with the origin"),
            }
        }
    }
}

/// Every field of every test, one line per test, so a test can compare
/// the whole result as text.
pub(super) fn summary(text: &str) -> String {
    let mut out = String::new();
    for test in parse_ok(text) {
        let kind = match &test.kind {
            TestKind::Script(path) => format!("script {path}"),
            TestKind::Command(command) => format!("command {command:?}"),
        };
        out.push_str(&format!(
            "{}: {kind} [{}]",
            test.name,
            test.depends.join(", ")
        ));
        if !test.restrictions.is_empty() {
            out.push_str(&format!(" restrictions={}", test.restrictions.join(",")));
        }
        if !test.architectures.is_empty() {
            out.push_str(&format!(" arch={}", test.architectures.join(",")));
        }
        if let Some(why) = &test.skip {
            out.push_str(&format!(" SKIP {why}"));
        }
        out.push('\n');
    }
    out
}
