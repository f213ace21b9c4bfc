//! Why a test will not run in our throw-away root VM: a field autopkgtest
//! does not know, an `Architecture` list it refuses, or a restriction the
//! guest cannot meet.

use super::stanza::Stanza;

/// The fields autopkgtest knows; any other skips the stanza.
const KNOWN_FIELDS: &[&str] = &[
    "Tests",
    "Test-Command",
    "Depends",
    "Restrictions",
    "Features",
    "Classes",
    "Architecture",
    "Tests-Directory",
];

/// Restrictions a throw-away root VM meets (`needs-sudo`: we run as root).
const SUPPORTED_RESTRICTIONS: &[&str] = &[
    "allow-stderr",
    "needs-root",
    "skippable",
    "superficial",
    "flaky",
    "breaks-testbed",
    "isolation-container",
    "isolation-machine",
    "hint-testsuite-triggers",
    "skip-not-installable",
    "needs-sudo",
];

/// Why `@recommends@` and `needs-recommends` skip a test.
pub(super) const NO_RECOMMENDS: &str =
    "the runner does not know the Recommends of the source's packages";

/// The first field autopkgtest does not know, as a skip reason.
pub(super) fn unknown_field(stanza: &Stanza) -> Option<String> {
    stanza
        .fields
        .iter()
        .find(|f| !KNOWN_FIELDS.iter().any(|k| k.eq_ignore_ascii_case(&f.name)))
        .map(|f| format!("unknown field {}", f.name))
}

/// Architecture lists autopkgtest refuses whatever the testbed.
pub(super) fn architecture_skip(architectures: &[String]) -> Option<String> {
    if architectures.iter().any(|a| a == "all") {
        return Some("Architecture: all is not allowed for a test".to_owned());
    }
    let negated = architectures.iter().filter(|a| a.starts_with('!')).count();
    if negated != 0 && negated != architectures.len() {
        return Some("Architecture mixes !arch with arch".to_owned());
    }
    None
}

/// Why the runner cannot honour a restriction; None when it can.
pub(super) fn restriction_skip(restriction: &str) -> Option<String> {
    if SUPPORTED_RESTRICTIONS.contains(&restriction) {
        return None;
    }
    let why = match restriction {
        "needs-internet" => "the guest has no internet",
        "needs-reboot" => "the runner does not reboot the guest during a test",
        "build-needed" => "no source tree in the guest to build",
        "rw-build-tree" => "no source tree in the guest",
        "needs-recommends" => NO_RECOMMENDS,
        _ => return Some(format!("unknown restriction {restriction}")),
    };
    Some(format!("restriction {restriction}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::dep8::fixtures::summary;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_stanza_with_an_unknown_field_is_skipped_and_still_numbered() {
        let text = "\
Test-Command: true
X-Custom: yes

Test-Command: false

Tests: a b
Test-Timeout: 10
";
        assert_eq!(
            summary(text),
            "\
command1: command \"true\" [foo, libfoo1] SKIP unknown field X-Custom
command2: command \"false\" [foo, libfoo1]
a: script debian/tests/a [foo, libfoo1] SKIP unknown field Test-Timeout
b: script debian/tests/b [foo, libfoo1] SKIP unknown field Test-Timeout
"
        );
    }

    #[test]
    fn restrictions_the_guest_cannot_meet_skip_the_test() {
        let text = "\
Tests: a
Restrictions: needs-root, needs-quantum-computer

Test-Command: curl https://deb.debian.org
Depends: curl
Restrictions: needs-internet

Tests: b
Restrictions: rw-build-tree, needs-internet
";
        assert_eq!(
            summary(text),
            "\
a: script debian/tests/a [foo, libfoo1] restrictions=needs-root,needs-quantum-computer \
SKIP unknown restriction needs-quantum-computer
command1: command \"curl https://deb.debian.org\" [curl] restrictions=needs-internet \
SKIP restriction needs-internet: the guest has no internet
b: script debian/tests/b [foo, libfoo1] restrictions=rw-build-tree,needs-internet \
SKIP restriction rw-build-tree: no source tree in the guest
"
        );
    }

    #[test]
    fn every_restriction_is_classified() {
        // autopkgtest compares restrictions case-sensitively: Needs-Root is unknown.
        let expected = "\
allow-stderr: runs
needs-root: runs
skippable: runs
superficial: runs
flaky: runs
breaks-testbed: runs
isolation-container: runs
isolation-machine: runs
hint-testsuite-triggers: runs
skip-not-installable: runs
needs-sudo: runs
needs-internet: restriction needs-internet: the guest has no internet
needs-reboot: restriction needs-reboot: the runner does not reboot the guest during a test
build-needed: restriction build-needed: no source tree in the guest to build
rw-build-tree: restriction rw-build-tree: no source tree in the guest
needs-recommends: restriction needs-recommends: \
the runner does not know the Recommends of the source's packages
Needs-Root: unknown restriction Needs-Root
";
        let got: String = expected
            .lines()
            .filter_map(|line| line.split_once(": "))
            .map(|(restriction, _)| {
                let why = restriction_skip(restriction).unwrap_or_else(|| "runs".to_owned());
                format!("{restriction}: {why}\n")
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn an_unknown_field_is_the_first_reason_to_skip() {
        let text = "Tests: a\nRestrictions: needs-internet\nDepends: @builddeps@\nX-Y: z\n";
        assert_eq!(
            summary(text),
            "a: script debian/tests/a [@builddeps@] restrictions=needs-internet \
SKIP unknown field X-Y\n"
        );
    }
}
