//! DEP-8 `debian/tests/control`: any text, and a valid file damaged, gives
//! tests or an error, never a panic.

use proptest::prelude::*;

use super::{apply_text, config, edits};
use crate::vm::dep8::parse;

const VALID: &str = "\
# comment
Tests: smoke, upgrade
Depends: @, python3 (>= 3.9) [amd64] | python3-minimal
Restrictions: allow-stderr, needs-root, flaky
Architecture: amd64 !i386 any-arm64

Test-Command: set -x;
  foo --version;
\tfoo --help | grep -q Usage
Depends: @builddeps@, @recommends@
Tests-Directory: debian/tests/sub
Classes: desktop
";

fn binaries() -> Vec<String> {
    vec!["foo".to_owned(), "libfoo1".to_owned()]
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn any_text_never_panics(text in any::<String>()) {
        let _ = parse(&text, "debian/tests/control", &binaries());
    }

    #[test]
    fn damaged_control_files_never_panic(edits in edits(8)) {
        let _ = parse(&apply_text(VALID, &edits), "debian/tests/control", &binaries());
    }

    #[test]
    fn plausible_fields_never_panic(
        field in "(Tests|Test-Command|Depends|Restrictions|Architecture|Tests-Directory|Features|Classes|X-Y)",
        value in "[ -~\t\n]{0,40}",
    ) {
        let _ = parse(&format!("Tests: a\n{field}: {value}\n"), "debian/tests/control", &binaries());
    }
}

#[test]
fn the_sample_parses() {
    parse(VALID, "debian/tests/control", &binaries()).expect("valid");
}
