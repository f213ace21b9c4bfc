//! A test's `Depends`: `@` expanded to the source's binary packages; the
//! entries the runner cannot expand (`@builddeps@`, `@recommends@`, `@` with
//! a version) kept verbatim with the reason the test is skipped.

use super::skip::NO_RECOMMENDS;
use super::stanza::push_unique;

/// The or-groups of a `Depends` value with `@` expanded to `binaries`, and
/// why the test cannot run if an entry cannot be expanded (such an entry is
/// kept verbatim, for the report).
pub(super) fn expand_depends(value: &str, binaries: &[String]) -> (Vec<String>, Option<String>) {
    let mut depends = Vec::new();
    let mut skip = None;
    for group in value.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        let why = match group {
            "@" => {
                for binary in binaries {
                    push_unique(&mut depends, binary);
                }
                continue;
            }
            "@builddeps@" => "the guest does not install build dependencies",
            "@recommends@" => NO_RECOMMENDS,
            _ if group.contains('@') => "only a bare @ is expanded",
            _ => {
                push_unique(&mut depends, group);
                continue;
            }
        };
        push_unique(&mut depends, group);
        skip.get_or_insert_with(|| format!("Depends {group}: {why}"));
    }
    (depends, skip)
}

#[cfg(test)]
mod tests {
    use crate::vm::dep8::fixtures::summary;
    use pretty_assertions::assert_eq;

    #[test]
    fn depends_expands_at_and_keeps_the_rest_verbatim() {
        let text = "\
Tests: default

Tests: empty
Depends:

Tests: mixed
Depends: python3 (>= 3.9), @, foo, , bar | baz,
";
        assert_eq!(
            summary(text),
            "\
default: script debian/tests/default [foo, libfoo1]
empty: script debian/tests/empty []
mixed: script debian/tests/mixed [python3 (>= 3.9), foo, libfoo1, bar | baz]
"
        );
    }

    #[test]
    fn builddeps_recommends_and_needs_recommends_skip_the_test() {
        let text = "\
Tests: a
Depends: @, @builddeps@

Tests: b
Depends: @recommends@, bar

Tests: c
Depends: @ (>= 1.0)

Tests: d
Restrictions: needs-recommends
";
        assert_eq!(
            summary(text),
            "\
a: script debian/tests/a [foo, libfoo1, @builddeps@] \
SKIP Depends @builddeps@: the guest does not install build dependencies
b: script debian/tests/b [@recommends@, bar] \
SKIP Depends @recommends@: the runner does not know the Recommends of the source's packages
c: script debian/tests/c [@ (>= 1.0)] SKIP Depends @ (>= 1.0): only a bare @ is expanded
d: script debian/tests/d [foo, libfoo1] restrictions=needs-recommends \
SKIP restriction needs-recommends: the runner does not know the Recommends of the source's packages
"
        );
    }

    #[test]
    fn needs_sudo_adds_sudo_to_the_dependencies() {
        assert_eq!(
            summary("Tests: a\nDepends: bar\nRestrictions: needs-sudo\n"),
            "a: script debian/tests/a [bar, sudo] restrictions=needs-sudo\n"
        );
    }
}
