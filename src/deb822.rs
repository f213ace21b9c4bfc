//! deb822 paragraphs (`deb822(5)`): the one reader and writer of the
//! `Name: value` stanzas that binary control files, Packages indexes, DEP-8
//! test control files and apt's `.sources` files share.
//!
//! The reader knows the structure only: paragraphs separated by empty
//! lines, fields, continuation lines, comment lines, and the line number of
//! everything for errors. What a field name may be, which fields are
//! required and what a value means belong to each format's own module
//! ([`crate::deb::Control`], [`crate::apt::Entry`], `vm::dep8`), which
//! check them with [`is_field_name`] and their own rules.
//!
//! The rules, and where they come from:
//! - a line is cut at `\n`, and a `\r` before it is dropped (as
//!   [`str::lines`] does), so CRLF text reads as LF text;
//! - a line starting with a space or a tab continues the field before it;
//!   its leading whitespace is dropped, and it joins the value after a
//!   `\n`. A continuation line that holds only whitespace is an empty line
//!   of the value, as dpkg reads it (`lib/dpkg/parse.c`); formats that
//!   forbid it (a control file writes it as ` .`) refuse it themselves;
//! - any other line holding only whitespace, or nothing, ends a paragraph;
//!   several in a row are one separator;
//! - with [`Comments::Allowed`], a line whose first character is `#` is
//!   dropped wherever it is: it neither ends a paragraph nor breaks a
//!   continuation (deb822(5); apt's `pkgTagFile` with `SUPPORT_COMMENTS`).
//!   With [`Comments::Refused`] it is read like any other line, and since
//!   no field name starts with `#`, it cannot pass as a field.
//!
//! Which formats allow comments: deb822(5) permits them in source control
//! files (`debian/control`), and apt and autopkgtest accept them in
//! `.sources` files and `debian/tests/control`. apt reads Packages indexes
//! without comment support, so [`crate::apt::Entry`] refuses them. Binary
//! `DEBIAN/control` files have always been read here with comments
//! dropped: a comment line can never be a field, and refusing it would
//! only turn away a package for a line that carries nothing.

use std::fmt;

/// Whether `#` at the start of a line starts a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comments {
    /// The line is dropped (control files, DEP-8, `.sources`).
    Allowed,
    /// The line is read as any other (Packages indexes).
    Refused,
}

/// One field: its name as written before the colon (not checked; see
/// [`is_field_name`]), its value and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The text before the first `:`, as written.
    pub name: String,
    /// The value: the first line without surrounding whitespace, then each
    /// continuation line without its leading whitespace, joined by `\n`.
    pub value: String,
    /// 1-based line number of the `Name:` line.
    pub line: usize,
}

/// One paragraph (stanza).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph<'a> {
    /// 1-based line number of its first field.
    pub line: usize,
    /// 1-based line number of the empty line that ended it (`None` at the
    /// end of the text).
    pub end: Option<usize>,
    /// Its text from the start of the first field's line to the end of its
    /// last line, without the final line break (comment lines within it
    /// included).
    pub text: &'a str,
    /// The fields in order.
    pub fields: Vec<Field>,
}

impl Paragraph<'_> {
    /// The first field called `name` (case-insensitively, as deb822 compares names).
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The value of the first field called `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|f| f.value.as_str())
    }
}

/// A line the reader cannot place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Deb822Error {
    /// A line that is neither a field, a continuation, a comment nor empty.
    #[error("line {line} is not a field (no colon): {text:?}")]
    NotAField { line: usize, text: String },
    /// A continuation line with no field before it in its paragraph.
    #[error("line {line} is a continuation line before any field: {text:?}")]
    OrphanContinuation { line: usize, text: String },
}

impl Deb822Error {
    /// The 1-based line number the error is about.
    pub fn line(&self) -> usize {
        match self {
            Deb822Error::NotAField { line, .. } | Deb822Error::OrphanContinuation { line, .. } => {
                *line
            }
        }
    }

    /// The text of that line.
    pub fn text(&self) -> &str {
        match self {
            Deb822Error::NotAField { text, .. } | Deb822Error::OrphanContinuation { text, .. } => {
                text
            }
        }
    }
}

/// Reads `text` into its paragraphs, in order (none for empty text).
pub fn parse(text: &str, comments: Comments) -> Result<Vec<Paragraph<'_>>, Deb822Error> {
    let mut paragraphs = Vec::new();
    let mut current: Option<Paragraph<'_>> = None;
    // Byte offset of the current paragraph's first line.
    let mut start = 0;
    for (index, (offset, line)) in lines(text).enumerate() {
        let number = index + 1;
        if comments == Comments::Allowed && line.starts_with('#') {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if indented {
            let Some(paragraph) = current.as_mut() else {
                if line.trim().is_empty() {
                    continue;
                }
                return Err(Deb822Error::OrphanContinuation {
                    line: number,
                    text: line.to_owned(),
                });
            };
            let field = paragraph
                .fields
                .last_mut()
                .expect("a paragraph starts with a field");
            field.value.push('\n');
            field.value.push_str(line.trim_start());
            paragraph.text = &text[start..offset + line.len()];
            continue;
        }
        if line.trim().is_empty() {
            if let Some(mut paragraph) = current.take() {
                paragraph.end = Some(number);
                paragraphs.push(paragraph);
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(Deb822Error::NotAField {
                line: number,
                text: line.to_owned(),
            });
        };
        let paragraph = current.get_or_insert_with(|| {
            start = offset;
            Paragraph {
                line: number,
                end: None,
                text: "",
                fields: Vec::new(),
            }
        });
        paragraph.fields.push(Field {
            name: name.to_owned(),
            value: value.trim().to_owned(),
            line: number,
        });
        paragraph.text = &text[start..offset + line.len()];
    }
    paragraphs.extend(current);
    Ok(paragraphs)
}

/// Each line of `text` with the byte offset it starts at, without its
/// `\n` or `\r\n` (the same lines as [`str::lines`]).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |offset, raw| {
        let at = *offset;
        *offset += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        Some((at, line.strip_suffix('\r').unwrap_or(line)))
    })
}

/// Whether `name` may name a field: printable US-ASCII without `:` or
/// space, not starting with `#` or `-` (deb822(5)).
pub fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['#', '-'])
        && name
            .bytes()
            .all(|b| (b'!'..=b'~').contains(&b) && b != b':')
}

/// Writes one field: `Name: value`, each further line of the value (split
/// at `\n`) on a continuation line after one space; an empty first line
/// gives `Name:` alone. The value's lines are written as they are: a
/// format whose empty lines must read `.` checks that before.
pub fn write_field(out: &mut impl fmt::Write, name: &str, value: &str) -> fmt::Result {
    let mut lines = value.split('\n');
    let first = lines.next().unwrap_or_default();
    if first.is_empty() {
        writeln!(out, "{name}:")?;
    } else {
        writeln!(out, "{name}: {first}")?;
    }
    for line in lines {
        writeln!(out, " {line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn field(name: &str, value: &str, line: usize) -> Field {
        Field {
            name: name.into(),
            value: value.into(),
            line,
        }
    }

    #[test]
    fn paragraphs_fields_and_positions() {
        let text = "\n\nA: 1\nB:  two words \n\n\n \nC:\n x\n";
        let got = parse(text, Comments::Allowed).expect("parses");
        assert_eq!(
            got,
            vec![
                Paragraph {
                    line: 3,
                    end: Some(5),
                    text: "A: 1\nB:  two words ",
                    fields: vec![field("A", "1", 3), field("B", "two words", 4)],
                },
                Paragraph {
                    line: 8,
                    end: None,
                    text: "C:\n x",
                    fields: vec![field("C", "\nx", 8)],
                },
            ]
        );
        assert_eq!(got[1].value("c"), Some("\nx"));
        assert_eq!(got[1].get("D"), None);
        assert!(parse("", Comments::Allowed).expect("empty").is_empty());
        assert!(parse("\n \n\t\n", Comments::Allowed)
            .expect("blank")
            .is_empty());
    }

    #[test]
    fn continuation_lines_keep_dots_and_empty_lines() {
        let text = "Description: short\n Long text.\n .\n\tMore.  \n \n";
        let got = parse(text, Comments::Refused).expect("parses");
        assert_eq!(
            got[0].fields,
            vec![field("Description", "short\nLong text.\n.\nMore.  \n", 1)]
        );
        assert_eq!(
            got[0].text,
            "Description: short\n Long text.\n .\n\tMore.  \n "
        );
    }

    #[test]
    fn comment_lines_are_one_rule_and_a_parameter() {
        let text = "# head\nA: 1\n# inside\n x\n#B: 2\n\n# between\n\nC: 3\n";
        let got = parse(text, Comments::Allowed).expect("parses");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].fields, vec![field("A", "1\nx", 2)]);
        assert_eq!(got[0].text, "A: 1\n# inside\n x");
        assert_eq!(got[0].end, Some(6));
        assert_eq!(got[1].fields, vec![field("C", "3", 9)]);
        // An indented `#` is not a comment: it continues the field.
        let got = parse("A: 1\n # not a comment\n", Comments::Allowed).expect("parses");
        assert_eq!(got[0].fields, vec![field("A", "1\n# not a comment", 1)]);
        // Refused: read as a line like any other, here a field named "#B".
        let got = parse("A: 1\n#B: 2\n", Comments::Refused).expect("parses");
        assert_eq!(got[0].fields[1], field("#B", "2", 2));
        assert!(!is_field_name(&got[0].fields[1].name));
        let err = parse("A: 1\n# note\n", Comments::Refused).expect_err("not a field");
        assert_eq!(
            err,
            Deb822Error::NotAField {
                line: 2,
                text: "# note".into()
            }
        );
    }

    #[test]
    fn crlf_reads_as_lf() {
        let got = parse("A: 1\r\n x\r\n\r\nB: 2\r\n", Comments::Allowed).expect("parses");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].fields, vec![field("A", "1\nx", 1)]);
        assert_eq!(got[0].text, "A: 1\r\n x");
        assert_eq!(got[0].end, Some(3));
        assert_eq!(got[1].fields, vec![field("B", "2", 4)]);
    }

    #[test]
    fn errors_carry_the_line() {
        let err = parse("A: 1\nno colon here\n", Comments::Allowed).expect_err("bad");
        assert_eq!(err.line(), 2);
        assert_eq!(err.text(), "no colon here");
        assert_eq!(
            err.to_string(),
            "line 2 is not a field (no colon): \"no colon here\""
        );
        let err = parse("A: 1\n\n continued\n", Comments::Allowed).expect_err("orphan");
        assert_eq!(
            err,
            Deb822Error::OrphanContinuation {
                line: 3,
                text: " continued".into()
            }
        );
        // A whitespace-only line before any field is blank, not an orphan.
        assert!(parse("  \nA: 1\n", Comments::Allowed).is_ok());
    }

    #[test]
    fn field_names_follow_deb822() {
        for good in ["Package", "X-Custom", "a#b", "Checksums-Sha256"] {
            assert!(is_field_name(good), "{good}");
        }
        for bad in ["", "#x", "-x", "a b", "a:b", "é"] {
            assert!(!is_field_name(bad), "{bad}");
        }
    }

    #[test]
    fn written_fields_read_back() {
        let mut out = String::new();
        write_field(&mut out, "Description", "short\nLong.\n.\nMore.").expect("write");
        write_field(&mut out, "Files", "\na 1 x").expect("write");
        assert_eq!(
            out,
            "Description: short\n Long.\n .\n More.\nFiles:\n a 1 x\n"
        );
        let got = parse(&out, Comments::Refused).expect("parses");
        assert_eq!(
            got[0].fields,
            vec![
                field("Description", "short\nLong.\n.\nMore.", 1),
                field("Files", "\na 1 x", 5),
            ]
        );
    }
}
