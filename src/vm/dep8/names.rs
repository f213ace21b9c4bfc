//! Where a test's script lives: test names that must be plain file names,
//! and the `Tests-Directory` they are joined to.

/// The default for `Tests-Directory`.
pub(super) const DEFAULT_TESTS_DIRECTORY: &str = "debian/tests";

/// A relative directory inside the source tree, `.` components dropped.
pub(super) fn normalise_directory(path: &str) -> Result<String, &'static str> {
    if path.is_empty() {
        return Err("is empty");
    }
    if path.starts_with('/') {
        return Err("must be relative to the source tree");
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.contains(&"..") {
        return Err("must not leave the source tree");
    }
    Ok(parts.join("/"))
}

/// A test name must be a plain file name: the runner joins it to the tests
/// directory and uses it in file names of its own.
pub(super) fn check_test_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("it is empty")
    } else if name == "." || name == ".." {
        Err("it is . or ..")
    } else if name.contains('/') {
        Err("it contains /")
    } else if name.starts_with('-') {
        Err("it starts with -")
    } else if name.chars().any(char::is_control) {
        Err("it contains a control character")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::vm::dep8::fixtures::summary;
    use pretty_assertions::assert_eq;

    #[test]
    fn tests_with_several_names_and_a_tests_directory() {
        let text = "\
Tests: smoke, upgrade cli-help,
 man

Tests: unit
Tests-Directory: ./tests/dep8/
Depends: python3 (>= 3.9), foo | bar

Tests: top
Tests-Directory: .
";
        assert_eq!(
            summary(text),
            "\
smoke: script debian/tests/smoke [foo, libfoo1]
upgrade: script debian/tests/upgrade [foo, libfoo1]
cli-help: script debian/tests/cli-help [foo, libfoo1]
man: script debian/tests/man [foo, libfoo1]
unit: script tests/dep8/unit [python3 (>= 3.9), foo | bar]
top: script top [foo, libfoo1]
"
        );
    }

    #[test]
    fn the_test_name_feature_names_a_command_without_a_number() {
        let text = "\
Test-Command: true
Features: test-name=smoke, some-other-feature

Test-Command: false
";
        assert_eq!(
            summary(text),
            "\
smoke: command \"true\" [foo, libfoo1]
command1: command \"false\" [foo, libfoo1]
"
        );
    }
}
