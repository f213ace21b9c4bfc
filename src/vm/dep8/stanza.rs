//! Reading a `debian/tests/control` file into stanzas and fields the way
//! autopkgtest does (its comment rule, continuations joined by one space),
//! and the list values its fields hold.

use super::Dep8Error;
use crate::deb822::{self, Comments, Deb822Error};

/// One field: its name as written, its value with continuations joined,
/// and the line it starts on.
#[derive(Debug)]
pub(super) struct Field {
    pub(super) name: String,
    pub(super) value: String,
    pub(super) line: usize,
}

/// One stanza and the line it starts on.
#[derive(Debug)]
pub(super) struct Stanza {
    pub(super) line: usize,
    pub(super) fields: Vec<Field>,
}

impl Stanza {
    pub(super) fn get(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub(super) fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|f| f.value.as_str())
    }
}

/// Splits the file into stanzas: deb822 ([`crate::deb822`]) after
/// autopkgtest's own comment rule (see [`autopkgtest_lines`]), with a
/// field's lines joined by one space and its name checked.
pub(super) fn read_stanzas(text: &str, origin: &str) -> Result<Vec<Stanza>, Dep8Error> {
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

/// Splits a list separated by commas and/or whitespace.
pub(super) fn split_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The items without repeats, first occurrence kept.
pub(super) fn unique(items: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        push_unique(&mut out, &item);
    }
    out
}

pub(super) fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|existing| existing == item) {
        list.push(item.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use crate::vm::dep8::fixtures::summary;
    use pretty_assertions::assert_eq;

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
}
