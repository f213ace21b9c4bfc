//! Turning stanzas into tests: which field a stanza's tests come from, how
//! they are named, and what each inherits from its stanza.

use super::depends::expand_depends;
use super::model::{Dep8Test, TestKind};
use super::names::{check_test_name, normalise_directory, DEFAULT_TESTS_DIRECTORY};
use super::skip::{architecture_skip, restriction_skip, unknown_field};
use super::stanza::{push_unique, read_stanzas, split_list, unique, Field, Stanza};
use super::Dep8Error;

/// Parses a `debian/tests/control` file into its tests, in file order.
///
/// `origin` names the file in errors (e.g. `v1.2.0:debian/tests/control`);
/// `binaries` are the source's binary packages, what `@` stands for in
/// `Depends`.
pub fn parse(text: &str, origin: &str, binaries: &[String]) -> Result<Vec<Dep8Test>, Dep8Error> {
    let mut parser = Parser {
        origin,
        binaries,
        commands: 0,
        tests: Vec::new(),
    };
    for stanza in read_stanzas(text, origin)? {
        parser.stanza(&stanza)?;
    }
    Ok(parser.tests)
}

/// The field a stanza's tests come from.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Tests(&'a Field),
    Command(&'a Field),
}

/// Turns stanzas into tests, numbering `Test-Command` stanzas as it goes.
#[derive(Debug)]
struct Parser<'a> {
    origin: &'a str,
    binaries: &'a [String],
    commands: usize,
    tests: Vec<Dep8Test>,
}

impl Parser<'_> {
    fn stanza(&mut self, stanza: &Stanza) -> Result<(), Dep8Error> {
        let file = self.origin;
        let origin = || file.to_owned();
        let source = match (stanza.get("Tests"), stanza.get("Test-Command")) {
            (Some(tests), None) => Source::Tests(tests),
            (None, Some(command)) => Source::Command(command),
            (Some(tests), Some(command)) => {
                return Err(Dep8Error::TestsAndCommand {
                    origin: origin(),
                    line: tests.line.max(command.line),
                })
            }
            (None, None) => {
                return Err(Dep8Error::NoTest {
                    origin: origin(),
                    line: stanza.line,
                })
            }
        };
        let test_name = self.test_name_feature(stanza)?;
        let restrictions = unique(split_list(stanza.value("Restrictions").unwrap_or("")));
        let architectures = unique(split_list(stanza.value("Architecture").unwrap_or("")));
        let (mut depends, depends_skip) =
            expand_depends(stanza.value("Depends").unwrap_or("@"), self.binaries);
        if restrictions.iter().any(|r| r == "needs-sudo") {
            push_unique(&mut depends, "sudo");
        }
        let skip = unknown_field(stanza)
            .or_else(|| architecture_skip(&architectures))
            .or_else(|| restrictions.iter().find_map(|r| restriction_skip(r)))
            .or(depends_skip);
        let template = Dep8Test {
            name: String::new(),
            kind: TestKind::Command(String::new()),
            depends,
            restrictions,
            architectures,
            skip,
        };
        match source {
            Source::Tests(tests) => {
                if let Some((_, line)) = test_name {
                    return Err(Dep8Error::BadTestNameFeature {
                        origin: origin(),
                        line,
                        reason: "test-name names a Test-Command, not Tests",
                    });
                }
                self.push_scripts(stanza, tests, &template)
            }
            Source::Command(command) => {
                self.push_command(command, test_name.map(|(name, _)| name), template)
            }
        }
    }

    /// One test per name of a `Tests` field, each a script in the stanza's
    /// tests directory, and otherwise like `template`.
    fn push_scripts(
        &mut self,
        stanza: &Stanza,
        tests: &Field,
        template: &Dep8Test,
    ) -> Result<(), Dep8Error> {
        let names = split_list(&tests.value);
        if names.is_empty() {
            return Err(Dep8Error::EmptyTests {
                origin: self.origin.to_owned(),
                line: tests.line,
            });
        }
        let directory = self.tests_directory(stanza)?;
        for name in names {
            check_test_name(&name).map_err(|reason| Dep8Error::UnsafeTestName {
                origin: self.origin.to_owned(),
                line: tests.line,
                name: name.clone(),
                reason,
            })?;
            let path = match directory.as_str() {
                "" => name.clone(),
                dir => format!("{dir}/{name}"),
            };
            self.tests.push(Dep8Test {
                name,
                kind: TestKind::Script(path),
                ..template.clone()
            });
        }
        Ok(())
    }

    /// The test of a `Test-Command`, named by the `test-name` feature or
    /// `commandN` in file order, and otherwise like `template`.
    fn push_command(
        &mut self,
        command: &Field,
        test_name: Option<String>,
        template: Dep8Test,
    ) -> Result<(), Dep8Error> {
        if command.value.is_empty() {
            return Err(Dep8Error::EmptyCommand {
                origin: self.origin.to_owned(),
                line: command.line,
            });
        }
        let name = test_name.unwrap_or_else(|| {
            self.commands += 1;
            format!("command{}", self.commands)
        });
        self.tests.push(Dep8Test {
            name,
            kind: TestKind::Command(command.value.clone()),
            ..template
        });
        Ok(())
    }

    /// The `test-name=NAME` feature with the line of `Features`, if given.
    fn test_name_feature(&self, stanza: &Stanza) -> Result<Option<(String, usize)>, Dep8Error> {
        let Some(features) = stanza.get("Features") else {
            return Ok(None);
        };
        let bad = |reason| Dep8Error::BadTestNameFeature {
            origin: self.origin.to_owned(),
            line: features.line,
            reason,
        };
        let mut found = None;
        for feature in split_list(&features.value) {
            let name = match feature.split_once('=') {
                Some(("test-name", name)) => name,
                None if feature == "test-name" => return Err(bad("test-name=NAME needs a name")),
                // Unknown features are ignored, as the document says.
                _ => continue,
            };
            if found.is_some() {
                return Err(bad("only one test-name is allowed"));
            }
            check_test_name(name).map_err(|reason| Dep8Error::UnsafeTestName {
                origin: self.origin.to_owned(),
                line: features.line,
                name: name.to_owned(),
                reason,
            })?;
            found = Some((name.to_owned(), features.line));
        }
        Ok(found)
    }

    /// `Tests-Directory` normalised (no `.`, no trailing `/`), or the default.
    fn tests_directory(&self, stanza: &Stanza) -> Result<String, Dep8Error> {
        let Some(field) = stanza.get("Tests-Directory") else {
            return Ok(DEFAULT_TESTS_DIRECTORY.to_owned());
        };
        normalise_directory(&field.value).map_err(|reason| Dep8Error::BadTestsDirectory {
            origin: self.origin.to_owned(),
            line: field.line,
            path: field.value.clone(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::dep8::fixtures::{parse_err, parse_ok, ORIGIN};
    use pretty_assertions::assert_eq;

    #[test]
    fn the_documents_minimal_example() {
        let tests = parse_ok(
            "Test-Command: foo-cli --list --verbose\nDepends: foo\nRestrictions: needs-root\n",
        );
        let expected = Dep8Test {
            name: "command1".to_owned(),
            kind: TestKind::Command("foo-cli --list --verbose".to_owned()),
            depends: vec!["foo".to_owned()],
            restrictions: vec!["needs-root".to_owned()],
            architectures: Vec::new(),
            skip: None,
        };
        assert_eq!(tests, vec![expected]);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            "Tests: a\n\n# comment\n\n\nDepends: foo\nRestrictions: needs-root\n",
            "Tests: a\nDepends: foo\nTest-Command: true\n",
            "Test-Command: true\n\nTests: , \n",
            "Test-Command:\nDepends: foo\n",
            "# comment\n  Tests: a\n",
            "Tests: a\n\n continued\n",
            "Tests: a\nDepends foo\n",
            "Tests: a\nTest Command: true\n",
            "Tests: a\nDepends: foo\n\nTests: b\nDepends: foo\ndepends: bar\n",
            "Tests: a\n\nTests: ok\n  ../etc/passwd\n",
            "Tests: ..\n",
            "Tests: -rf\n",
            "Tests: a\nTests-Directory: /srv/tests\n",
            "Tests: a\nTests-Directory: tests/../../x\n",
            "Tests: a\nFeatures: test-name=x\n",
            "Test-Command: true\nFeatures: test-name\n",
            "Test-Command: true\nFeatures: test-name=a test-name=b\n",
            "Test-Command: true\nFeatures: test-name=a/b\n",
            // Errors win over skipping: this stanza has an unknown field too.
            "Tests: a\nX-Unknown: 1\nTest-Command: true\n",
        ];
        let got: String = cases.iter().map(|text| parse_err(text) + "\n").collect();
        assert_eq!(
            got,
            r#"6: a stanza needs Tests or Test-Command
3: a stanza may have Tests or Test-Command, not both
3: the Tests field names no test
1: the Test-Command field is empty
2: a continuation line comes before any field
3: a continuation line comes before any field
2: not a field (no colon): "Depends foo"
2: invalid field name "Test Command"
6: field depends appears twice in the stanza
3: test name "../etc/passwd" is not a safe file name: it contains /
1: test name ".." is not a safe file name: it is . or ..
1: test name "-rf" is not a safe file name: it starts with -
2: Tests-Directory "/srv/tests" must be relative to the source tree
2: Tests-Directory "tests/../../x" must not leave the source tree
2: invalid test-name feature: test-name names a Test-Command, not Tests
2: invalid test-name feature: test-name=NAME needs a name
2: invalid test-name feature: only one test-name is allowed
2: test name "a/b" is not a safe file name: it contains /
3: a stanza may have Tests or Test-Command, not both
"#
        );
    }

    #[test]
    fn the_message_starts_with_the_origin() {
        let binaries = ["foo".to_owned()];
        let err = parse("\n\nDepends: foo\n", ORIGIN, &binaries).expect_err("no test");
        assert_eq!(
            err.to_string(),
            "v1.2.0:debian/tests/control:3: a stanza needs Tests or Test-Command"
        );
    }
}
