//! DEP-8 test descriptions: `debian/tests/control`, the file autopkgtest
//! reads (`doc/README.package-tests.rst` in autopkgtest,
//! <https://salsa.debian.org/ci-team/autopkgtest/-/blob/master/doc/README.package-tests.rst>).
//!
//! Packagers already describe their as-installed tests this way, so the VM
//! runner reads the same file instead of a format of our own. Where the
//! document is silent we do what autopkgtest's `lib/testdesc.py` does:
//!
//! * `#` starts a comment anywhere on a line, so a `#` inside a
//!   `Test-Command` starts a comment too; a line that only held a comment is
//!   dropped, so it neither ends a stanza nor breaks a continuation;
//! * continuation lines are joined to their field with one space: a
//!   multi-line `Test-Command` is one shell line;
//! * `Test-Command` stanzas are named `command1`, `command2`, … by their
//!   position among such stanzas, unless `Features: test-name=NAME` names
//!   one (which then takes no number);
//! * `needs-sudo` adds `sudo` to the test's dependencies.
//!
//! Our runner is a throw-away VM: root, no internet, no source tree. A test
//! that needs what it cannot offer is *skipped with a reason*, as
//! autopkgtest skips a test its testbed cannot run, and so is a stanza with
//! an unknown field or a test with an unknown restriction. A file
//! autopkgtest would call broken (a stanza with no test, `Tests` and
//! `Test-Command` together, an unsafe test name) is an error.
//!
//! `@recommends@` and the deprecated `needs-recommends` skip the test too:
//! the runner does not know the Recommends of the source's packages, and a
//! test run without what it asked for fails for the wrong reason. A skip is
//! reported; a false failure blocks a release.

use crate::deb822::{self, Comments, Deb822Error};

/// Why a `debian/tests/control` file was refused. Each variant names the
/// file (`origin`) and the 1-based line where the offending stanza or field
/// starts.
#[derive(Debug, thiserror::Error)]
pub enum Dep8Error {
    /// A stanza has neither `Tests` nor `Test-Command`.
    #[error("{origin}:{line}: a stanza needs Tests or Test-Command")]
    NoTest {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// A stanza has both `Tests` and `Test-Command`.
    #[error("{origin}:{line}: a stanza may have Tests or Test-Command, not both")]
    TestsAndCommand {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// `Tests` names no test.
    #[error("{origin}:{line}: the Tests field names no test")]
    EmptyTests {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// `Test-Command` is empty.
    #[error("{origin}:{line}: the Test-Command field is empty")]
    EmptyCommand {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// A continuation line (starting with whitespace) comes before any field.
    #[error("{origin}:{line}: a continuation line comes before any field")]
    OrphanContinuation {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// A line is neither a field, a continuation, a comment nor blank.
    #[error("{origin}:{line}: not a field (no colon): {text:?}")]
    NotAField {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// The line as written.
        text: String,
    },
    /// A field name uses characters deb822 does not allow.
    #[error("{origin}:{line}: invalid field name {name:?}")]
    BadFieldName {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// The field name as written.
        name: String,
    },
    /// A field appears twice in one stanza (names compare case-insensitively).
    #[error("{origin}:{line}: field {name} appears twice in the stanza")]
    DuplicateField {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// The second spelling of the field name.
        name: String,
    },
    /// A test name would not be a plain file name in the tests directory.
    #[error("{origin}:{line}: test name {name:?} is not a safe file name: {reason}")]
    UnsafeTestName {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// The test name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `Tests-Directory` is not a relative path inside the source tree.
    #[error("{origin}:{line}: Tests-Directory {path:?} {reason}")]
    BadTestsDirectory {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// The value as written.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The `test-name` feature is misused.
    #[error("{origin}:{line}: invalid test-name feature: {reason}")]
    BadTestNameFeature {
        /// The file, e.g. `v1.2.0:debian/tests/control`.
        origin: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// What a test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestKind {
    /// A script named by `Tests`: its path relative to the repository root,
    /// e.g. `debian/tests/smoke`.
    Script(String),
    /// A `Test-Command` shell line, run under `bash -ec`.
    Command(String),
}

/// One test of a `debian/tests/control` file, as the runner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep8Test {
    /// The name autopkgtest gives it: the script's name, or `commandN`.
    pub name: String,
    /// The script or command to run.
    pub kind: TestKind,
    /// What to install with apt first, one or-group each, `@` expanded.
    pub depends: Vec<String>,
    /// The stanza's restrictions as written, without repeats.
    pub restrictions: Vec<String>,
    /// The stanza's `Architecture` list as written (empty: any); see
    /// [`Dep8Test::runs_on`].
    pub architectures: Vec<String>,
    /// Why the test will not run, if it will not.
    pub skip: Option<String>,
}

impl Dep8Test {
    /// Output on stderr does not fail the test (`allow-stderr`).
    pub fn allows_stderr(&self) -> bool {
        self.has("allow-stderr")
    }

    /// Exit status 77 means "skipped", not "failed" (`skippable`).
    pub fn is_skippable(&self) -> bool {
        self.has("skippable")
    }

    /// A failure is reported but does not fail the run (`flaky`).
    pub fn is_flaky(&self) -> bool {
        self.has("flaky")
    }

    /// A pass says little about the package (`superficial`).
    pub fn is_superficial(&self) -> bool {
        self.has("superficial")
    }

    /// Whether the `Architecture` field admits the Debian architecture
    /// `arch` (e.g. `amd64`).
    ///
    /// Wildcards are matched for a Linux guest only: `any`, `linux-any`,
    /// `linux-ARCH` and `any-CPU` (with the CPU of the common Debian ports),
    /// not dpkg's whole tuple table. A list of `!arch` entries excludes; a
    /// mixed list is skipped when parsed.
    pub fn runs_on(&self, arch: &str) -> bool {
        if self.architectures.is_empty() {
            return true;
        }
        if self.architectures.iter().all(|a| a.starts_with('!')) {
            return !self
                .architectures
                .iter()
                .any(|a| arch_matches(arch, a.trim_start_matches('!')));
        }
        self.architectures.iter().any(|a| arch_matches(arch, a))
    }

    fn has(&self, restriction: &str) -> bool {
        self.restrictions.iter().any(|r| r == restriction)
    }
}

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
const NO_RECOMMENDS: &str = "the runner does not know the Recommends of the source's packages";

/// The default for `Tests-Directory`.
const DEFAULT_TESTS_DIRECTORY: &str = "debian/tests";

/// One field: its name as written, its value with continuations joined,
/// and the line it starts on.
#[derive(Debug)]
struct Field {
    name: String,
    value: String,
    line: usize,
}

/// One stanza and the line it starts on.
#[derive(Debug)]
struct Stanza {
    line: usize,
    fields: Vec<Field>,
}

impl Stanza {
    fn get(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|f| f.value.as_str())
    }
}

/// Splits the file into stanzas: deb822 ([`crate::deb822`]) after
/// autopkgtest's own comment rule (see [`autopkgtest_lines`]), with a
/// field's lines joined by one space and its name checked.
fn read_stanzas(text: &str, origin: &str) -> Result<Vec<Stanza>, Dep8Error> {
    let cleaned = autopkgtest_lines(text);
    let paragraphs = deb822::parse(&cleaned, Comments::Allowed).map_err(|e| match e {
        Deb822Error::OrphanContinuation { line, .. } => Dep8Error::OrphanContinuation {
            origin: origin.to_owned(),
            line,
        },
        Deb822Error::NotAField { line, .. } => Dep8Error::NotAField {
            origin: origin.to_owned(),
            line,
            text: text.lines().nth(line - 1).unwrap_or_default().to_owned(),
        },
    })?;
    let mut stanzas = Vec::new();
    for paragraph in paragraphs {
        let mut stanza = Stanza {
            line: paragraph.line,
            fields: Vec::new(),
        };
        for field in paragraph.fields {
            let name = field.name.trim_end();
            if !deb822::is_field_name(name) {
                return Err(Dep8Error::BadFieldName {
                    origin: origin.to_owned(),
                    line: field.line,
                    name: name.to_owned(),
                });
            }
            if stanza.get(name).is_some() {
                return Err(Dep8Error::DuplicateField {
                    origin: origin.to_owned(),
                    line: field.line,
                    name: name.to_owned(),
                });
            }
            stanza.fields.push(Field {
                name: name.to_owned(),
                value: join_lines(&field.value),
                line: field.line,
            });
        }
        stanzas.push(stanza);
    }
    Ok(stanzas)
}

/// The text as autopkgtest reads it, line for line (so that line numbers
/// stay): `#` starts a comment anywhere; a line that held only a comment
/// becomes a comment line, which deb822 drops wherever it is; a line that
/// holds only whitespace becomes empty, which ends a stanza.
fn autopkgtest_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for raw in text.lines() {
        match strip_comment(raw) {
            None => out.push('#'),
            Some(content) if content.trim().is_empty() => {}
            Some(content) => out.push_str(content),
        }
        out.push('\n');
    }
    out
}

/// A deb822 value as one line: its lines trimmed, joined by one space.
fn join_lines(value: &str) -> String {
    let mut joined = String::new();
    for line in value.split('\n').map(str::trim) {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line);
    }
    joined
}

/// The line without its comment; None when nothing but a comment was on it
/// (such a line is dropped, as autopkgtest drops it).
fn strip_comment(line: &str) -> Option<&str> {
    match line.find('#') {
        None => Some(line),
        Some(at) => Some(&line[..at]).filter(|before| !before.trim().is_empty()),
    }
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

/// A relative directory inside the source tree, `.` components dropped.
fn normalise_directory(path: &str) -> Result<String, &'static str> {
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
fn check_test_name(name: &str) -> Result<(), &'static str> {
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

/// Splits a list separated by commas and/or whitespace.
fn split_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The items without repeats, first occurrence kept.
fn unique(items: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        push_unique(&mut out, &item);
    }
    out
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|existing| existing == item) {
        list.push(item.to_owned());
    }
}

/// The first field autopkgtest does not know, as a skip reason.
fn unknown_field(stanza: &Stanza) -> Option<String> {
    stanza
        .fields
        .iter()
        .find(|f| !KNOWN_FIELDS.iter().any(|k| k.eq_ignore_ascii_case(&f.name)))
        .map(|f| format!("unknown field {}", f.name))
}

/// Architecture lists autopkgtest refuses whatever the testbed.
fn architecture_skip(architectures: &[String]) -> Option<String> {
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
fn restriction_skip(restriction: &str) -> Option<String> {
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

/// The or-groups of a `Depends` value with `@` expanded to `binaries`, and
/// why the test cannot run if an entry cannot be expanded (such an entry is
/// kept verbatim, for the report).
fn expand_depends(value: &str, binaries: &[String]) -> (Vec<String>, Option<String>) {
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

/// dpkg's architecture wildcards, as far as a Linux guest needs them.
fn arch_matches(arch: &str, pattern: &str) -> bool {
    let cpu = match arch {
        "armel" | "armhf" => "arm",
        "x32" => "amd64",
        other => other,
    };
    pattern == "any"
        || pattern == arch
        || pattern == "linux-any"
        || pattern.strip_prefix("linux-") == Some(arch)
        || pattern.strip_prefix("any-") == Some(cpu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const ORIGIN: &str = "v1.2.0:debian/tests/control";

    fn parse_ok(text: &str) -> Vec<Dep8Test> {
        let binaries = ["foo".to_owned(), "libfoo1".to_owned()];
        parse(text, ORIGIN, &binaries).expect("the control file parses")
    }

    /// The error message without the `origin:` prefix every message has.
    fn parse_err(text: &str) -> String {
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
    fn summary(text: &str) -> String {
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
    fn a_multi_line_test_command_is_joined_with_spaces() {
        let text = "\
Test-Command: set -x;
  foo --version;
\tfoo --help | grep -q Usage

Test-Command:
 foo --version
";
        assert_eq!(
            summary(text),
            "\
command1: command \"set -x; foo --version; foo --help | grep -q Usage\" [foo, libfoo1]
command2: command \"foo --version\" [foo, libfoo1]
"
        );
    }

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
    fn comments_are_dropped_wherever_they_start() {
        let text = "\
# leading comment
Tests: a # the first test
# a comment inside the stanza does not end it
Restrictions: allow-stderr,
  # nor does one between continuation lines
  superficial
   # indented comment

# between stanzas
Test-Command: true # comment
";
        assert_eq!(
            summary(text),
            "\
a: script debian/tests/a [foo, libfoo1] restrictions=allow-stderr,superficial
command1: command \"true\" [foo, libfoo1]
"
        );
    }

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
    fn field_names_are_case_insensitive_and_crlf_is_accepted() {
        let text = "test-command: true\r\nDEPENDS: bar\r\nrestrictions: flaky\r\n\r\nTESTS: a\r\n";
        assert_eq!(
            summary(text),
            "\
command1: command \"true\" [bar] restrictions=flaky
a: script debian/tests/a [foo, libfoo1]
"
        );
    }

    #[test]
    fn an_empty_file_has_no_tests() {
        assert_eq!(summary(""), "");
        assert_eq!(summary("# nothing yet\n\n\n"), "");
    }

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

    #[test]
    fn restriction_helpers() {
        let tests = parse_ok(
            "Tests: a\nRestrictions: allow-stderr skippable\n\n\
             Tests: b\nRestrictions: flaky,superficial,flaky\n",
        );
        let flags: Vec<_> = tests
            .iter()
            .map(|t| {
                (
                    t.allows_stderr(),
                    t.is_skippable(),
                    t.is_flaky(),
                    t.is_superficial(),
                )
            })
            .collect();
        assert_eq!(
            flags,
            [(true, true, false, false), (false, false, true, true)]
        );
        assert_eq!(tests[1].restrictions, ["flaky", "superficial"]);
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

    #[test]
    fn architecture_lists() {
        let text = "\
Tests: any
Architecture: any

Tests: some
Architecture: amd64, arm64

Tests: not
Architecture: !armhf !i386

Tests: wild
Architecture: any-arm linux-riscv64

Tests: mixed
Architecture: amd64 !i386

Tests: all
Architecture: all
";
        let runs: Vec<(String, [bool; 4], Option<String>)> = parse_ok(text)
            .into_iter()
            .map(|t| {
                let on = ["amd64", "arm64", "armhf", "riscv64"].map(|a| t.runs_on(a));
                (t.name, on, t.skip)
            })
            .collect();
        let row =
            |name: &str, on, skip: Option<&str>| (name.to_owned(), on, skip.map(String::from));
        assert_eq!(
            runs,
            [
                row("any", [true, true, true, true], None),
                row("some", [true, true, false, false], None),
                row("not", [true, true, false, true], None),
                row("wild", [false, false, true, true], None),
                row(
                    "mixed",
                    [true, false, false, false],
                    Some("Architecture mixes !arch with arch")
                ),
                row(
                    "all",
                    [false; 4],
                    Some("Architecture: all is not allowed for a test")
                ),
            ]
        );
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
