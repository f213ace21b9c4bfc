//! The control stanza of a binary package (`deb-control(5)`): an ordered list
//! of fields, parsed and written in deb822 syntax, validated the way
//! `dpkg-deb --build` validates it.

use std::fmt;

use crate::deb822::{self, Comments};
use crate::version::DebVersion;

use super::fields::{check_architecture, check_package_name, check_source};

/// The order dpkg-gencontrol writes the fields of a binary package in; fields
/// not listed here follow in the order they were added.
pub const FIELD_ORDER: &[&str] = &[
    "Package",
    "Source",
    "Version",
    "Architecture",
    "Essential",
    "Multi-Arch",
    "Maintainer",
    "Installed-Size",
    "Pre-Depends",
    "Depends",
    "Recommends",
    "Suggests",
    "Enhances",
    "Breaks",
    "Conflicts",
    "Provides",
    "Replaces",
    "Section",
    "Priority",
    "Homepage",
    "Description",
];

/// Why a control stanza was refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// A mandatory field is absent or empty.
    #[error("the control file has no {field} field")]
    Missing { field: &'static str },
    /// A field name uses characters deb822 does not allow.
    #[error("invalid control field name {name:?}")]
    BadFieldName { name: String },
    /// A field appears twice.
    #[error("duplicate control field {name:?}")]
    Duplicate { name: String },
    /// A field value cannot be written as deb822 (an empty line, a control character).
    #[error("invalid value for control field {name}: {reason}")]
    BadValue { name: String, reason: &'static str },
    /// The package name breaks Debian Policy 5.6.1.
    #[error("invalid package name {name:?}: names use lowercase letters, digits and + - . and start with a letter or digit, at least two characters")]
    BadPackageName { name: String },
    /// The Source field is not `name` or `name (version)` (Policy 5.6.1).
    #[error("invalid Source field {value:?}: it must be a package name, optionally followed by \" (version)\"")]
    BadSource { value: String },
    /// The Architecture field is not one architecture name (Policy 5.6.8).
    #[error("invalid Architecture field {value:?}: an architecture is one lowercase name such as amd64 or all")]
    BadArchitecture { value: String },
    /// The version does not parse as a Debian version.
    #[error("invalid Version field")]
    BadVersion(#[source] crate::version::VersionError),
    /// A line could not be parsed as deb822.
    #[error("line {line} of the control file is not a field: {text:?}")]
    Syntax { line: usize, text: String },
}

/// A binary package's control stanza: fields in order, names as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Control {
    fields: Vec<(String, String)>,
}

impl Control {
    /// An empty stanza.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one deb822 stanza (the text of a `DEBIAN/control` file).
    /// Comment lines are dropped (see [`crate::deb822`] for why); a
    /// second stanza is an error, at the empty line that ended the first.
    pub fn parse(text: &str) -> Result<Self, ControlError> {
        let syntax = |line: usize, text: &str| ControlError::Syntax {
            line,
            text: text.to_owned(),
        };
        let paragraphs =
            deb822::parse(text, Comments::Allowed).map_err(|e| syntax(e.line(), e.text()))?;
        let mut control = Control::new();
        let mut paragraphs = paragraphs.into_iter();
        let Some(first) = paragraphs.next() else {
            return Ok(control);
        };
        if paragraphs.next().is_some() {
            let line = first.end.unwrap_or(first.line);
            return Err(syntax(line, text.lines().nth(line - 1).unwrap_or_default()));
        }
        for field in first.fields {
            control.push(&field.name, &field.value)?;
        }
        Ok(control)
    }

    /// A stanza of the given fields, in order (test fixtures).
    #[cfg(test)]
    pub(crate) fn of(fields: &[(&str, &str)]) -> Self {
        let mut control = Control::new();
        for (name, value) in fields {
            control.push(name, value).expect("a fixture's field");
        }
        control
    }

    /// Adds a field at the end; a multi-line value uses `\n` between lines and
    /// `.` for an empty line, as deb822 writes it after the leading space.
    pub fn push(&mut self, name: &str, value: &str) -> Result<(), ControlError> {
        check_field_name(name)?;
        if self.get(name).is_some() {
            return Err(ControlError::Duplicate {
                name: name.to_owned(),
            });
        }
        self.fields.push((name.to_owned(), value.to_owned()));
        Ok(())
    }

    /// Sets a field, replacing its value where it exists.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ControlError> {
        check_field_name(name)?;
        match self
            .fields
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => *v = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
        Ok(())
    }

    /// Removes a field (names compare case-insensitively).
    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The value of a field (names compare case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The fields in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Reorders the fields as dpkg-gencontrol would write them.
    pub fn sort_canonical(&mut self) {
        let rank = |name: &str| {
            FIELD_ORDER
                .iter()
                .position(|known| known.eq_ignore_ascii_case(name))
                .unwrap_or(FIELD_ORDER.len() - 1)
        };
        // Unknown fields go just before Description, which stays last.
        self.fields.sort_by_key(|(name, _)| {
            let r = rank(name);
            if name.eq_ignore_ascii_case("Description") {
                r + 1
            } else {
                r
            }
        });
    }

    /// The package name.
    pub fn package(&self) -> Option<&str> {
        self.get("Package")
    }

    /// The version field.
    pub fn version(&self) -> Option<&str> {
        self.get("Version")
    }

    /// The architecture field.
    pub fn architecture(&self) -> Option<&str> {
        self.get("Architecture")
    }

    /// The source package name: `Source:` without its `(version)`, else the
    /// package name. Only meaningful after [`Control::validate`].
    pub fn source_name(&self) -> Option<&str> {
        match self.get("Source") {
            Some(source) => check_source(source).ok(),
            None => self.package(),
        }
    }

    /// Checks what `dpkg-deb --build` checks: Package, Version and
    /// Architecture present and well-formed, Source well-formed when present,
    /// and every value writable. A stanza that passes can name files and
    /// pool directories safely.
    pub fn validate(&self) -> Result<(), ControlError> {
        let package = self.require("Package")?;
        check_package_name(package)?;
        if let Some(source) = self.get("Source") {
            check_source(source)?;
        }
        let version = self.require("Version")?;
        DebVersion::parse(version).map_err(ControlError::BadVersion)?;
        check_architecture(self.require("Architecture")?)?;
        for (name, value) in &self.fields {
            check_value(name, value)?;
        }
        Ok(())
    }

    fn require(&self, field: &'static str) -> Result<&str, ControlError> {
        match self.get(field) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ControlError::Missing { field }),
        }
    }
}

impl fmt::Display for Control {
    /// deb822: `Name: value`, continuation lines indented by one space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.fields {
            deb822::write_field(f, name, value)?;
        }
        Ok(())
    }
}

fn check_field_name(name: &str) -> Result<(), ControlError> {
    if deb822::is_field_name(name) {
        Ok(())
    } else {
        Err(ControlError::BadFieldName {
            name: name.to_owned(),
        })
    }
}

fn check_value(name: &str, value: &str) -> Result<(), ControlError> {
    let bad = |reason| ControlError::BadValue {
        name: name.to_owned(),
        reason,
    };
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(bad("it contains a control character"));
    }
    if value.split('\n').skip(1).any(|line| line.trim().is_empty()) {
        return Err(bad("an empty continuation line must be written as \".\""));
    }
    if value.ends_with('\n') {
        return Err(bad("it ends with an empty line"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn parse_and_write_round_trip() {
        let text = "Package: hello\nVersion: 1.0-1\nArchitecture: all\nMaintainer: A <a@b.c>\nDescription: greets\n Long text.\n .\n More.\n";
        let control = Control::parse(text).expect("parses");
        assert_eq!(
            control.get("description"),
            Some("greets\nLong text.\n.\nMore.")
        );
        assert_eq!(control.to_string(), text);
        control.validate().expect("valid");
    }

    #[test]
    fn comment_lines_are_dropped_and_a_second_stanza_is_refused_where_it_starts() {
        let text =
            "# made by hand\nPackage: hello\n# note\nDescription: greets\n# inside\n More.\n\n\n";
        let control = Control::parse(text).expect("parses");
        assert_eq!(
            control.fields().collect::<Vec<_>>(),
            [("Package", "hello"), ("Description", "greets\nMore.")]
        );
        let err = Control::parse("Package: a\n# c\n\nVersion: 1\n").expect_err("two stanzas");
        assert_eq!(
            err.to_string(),
            "line 3 of the control file is not a field: \"\""
        );
        let err = Control::parse("Package: a\r\n\r\n \r\nb: 1\r\n").expect_err("crlf");
        assert_eq!(
            err.to_string(),
            "line 2 of the control file is not a field: \"\""
        );
        let err = Control::parse("Package: a\n\n continued\n").expect_err("orphan");
        assert_eq!(
            err.to_string(),
            "line 3 of the control file is not a field: \" continued\""
        );
    }

    #[test]
    fn canonical_order_puts_description_last() {
        let mut c = Control::of(&[
            ("Description", "d"),
            ("X-Custom", "x"),
            ("Depends", "libc6"),
            ("Version", "1"),
            ("Package", "pk"),
        ]);
        c.sort_canonical();
        let names: Vec<_> = c.fields().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["Package", "Version", "Depends", "X-Custom", "Description"]
        );
    }

    #[test]
    fn rejects_what_dpkg_deb_rejects() {
        let cases = [
            ("Version: 1\nArchitecture: all\n", "the control file has no Package field"),
            ("Package: Hello\nVersion: 1\nArchitecture: all\n", "invalid package name \"Hello\": names use lowercase letters, digits and + - . and start with a letter or digit, at least two characters"),
            ("Package: hello\nVersion: x1\nArchitecture: all\n", "invalid Version field"),
            ("Package: hello\nVersion: 1\n", "the control file has no Architecture field"),
            ("Package: hello\nVersion: 1\nArchitecture: all\nDescription: a\n \n", "invalid value for control field Description: an empty continuation line must be written as \".\""),
        ];
        for (text, want) in cases {
            let err = Control::parse(text)
                .and_then(|c| c.validate())
                .expect_err(text);
            assert_eq!(err.to_string(), want, "{text}");
        }
        let err = Control::parse("Package: a\nPackage: b\n").expect_err("dup");
        assert_eq!(err.to_string(), "duplicate control field \"Package\"");
        let err = Control::parse("Package hello\n").expect_err("syntax");
        assert_eq!(
            err.to_string(),
            "line 1 of the control file is not a field: \"Package hello\""
        );
    }
}
