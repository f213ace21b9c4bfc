//! `symbols` files (deb-symbols(5)) read as dpkg-shlibdeps reads them
//! (`Dpkg::Shlibs::SymbolFile::parse`, `Dpkg::Shlibs::Symbol::parse_symbolspec`).
//!
//! Only what dpkg-shlibdeps uses is kept: per SONAME, the dependency
//! templates (the header's and the `| …` alternatives), the `* Field:`
//! lines, and the plain symbols with their minimal version and template
//! index. Patterns (`(c++)`, `(symver)`, `(regex)`, `*@VERSION`) are parsed
//! and set aside: dpkg-shlibdeps looks symbols up by exact name only
//! (`lookup_symbol`), so a pattern never raises a version there either.
//! `#include` is not followed: installed files never have it, and a
//! hostile file must not make us open other files.

use std::collections::HashMap;

use crate::version::DebVersion;

/// The part of a symbols file about one SONAME.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SymbolObject {
    /// Dependency templates: the header's first, then the `| …` lines.
    pub deps: Vec<String>,
    /// `* Name: value` lines (`Build-Depends-Package`, `Ignore-Blacklist-Groups`).
    pub fields: HashMap<String, String>,
    /// Plain symbols by `name@version`.
    pub symbols: HashMap<String, Symbol>,
}

/// One symbol line.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    /// The first version of the library that has it.
    pub minver: DebVersion,
    /// Which dependency template applies (0 = the header's).
    pub dep_id: usize,
    /// Written as `#MISSING: v#` or `#DEPRECATED: v#`: not looked up any more.
    pub deprecated: bool,
}

/// A parsed symbols file: its objects by SONAME.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SymbolFile {
    /// The objects, by SONAME.
    pub objects: HashMap<String, SymbolObject>,
}

/// A symbols file line that dpkg refuses outright.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("symbols file line {line}: symbol information must be preceded by a header")]
pub struct SymbolsError {
    /// The 1-based line number.
    pub line: usize,
}

impl SymbolFile {
    /// Parses `text` for architecture `arch` (symbols tagged `(arch=…)` for
    /// other architectures are left out). Lines dpkg only warns about are
    /// skipped.
    pub fn parse(text: &str, arch: &str) -> Result<SymbolFile, SymbolsError> {
        let mut file = SymbolFile::default();
        let mut current: Option<String> = None;
        for (index, line) in text.lines().enumerate() {
            if let Some((deprecated, spec)) = symbol_line(line) {
                let Some(soname) = &current else {
                    return Err(SymbolsError { line: index + 1 });
                };
                if let Some((name, symbol)) = parse_symbol(spec, deprecated, arch) {
                    if let Some(object) = file.objects.get_mut(soname) {
                        object.symbols.insert(name, symbol);
                    }
                }
            } else if line.is_empty() || line.starts_with('#') || is_include(line) {
                continue;
            } else if let Some(alt) = line.strip_prefix('|') {
                if let Some(object) = current.as_ref().and_then(|s| file.objects.get_mut(s)) {
                    object.deps.push(alt.trim_start().to_owned());
                }
            } else if let Some(field) = line.strip_prefix('*') {
                if let (Some(object), Some((name, value))) = (
                    current.as_ref().and_then(|s| file.objects.get_mut(s)),
                    field.split_once(':'),
                ) {
                    let value = value.trim();
                    if !value.is_empty() && !name.trim().is_empty() {
                        object
                            .fields
                            .insert(capitalize(name.trim()), value.to_owned());
                    }
                }
            } else if let Some((soname, template)) = line.split_once(char::is_whitespace) {
                let object = file.objects.entry(soname.to_owned()).or_default();
                object.deps = vec![template.trim_start().to_owned()];
                current = Some(soname.to_owned());
            }
        }
        Ok(file)
    }
}

/// A symbol line: indented, or `#MISSING: v#`/`#DEPRECATED: v#` then the
/// spec. Returns whether it is deprecated and the spec.
fn symbol_line(line: &str) -> Option<(bool, &str)> {
    if line.starts_with(char::is_whitespace) {
        return Some((false, line.trim_start()));
    }
    for prefix in ["#MISSING: ", "#DEPRECATED: "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            let (version, spec) = rest.split_once('#')?;
            if version.is_empty() {
                return None;
            }
            return Some((true, spec.trim_start()));
        }
    }
    None
}

/// `#include "file"` with an optional tag spec before it.
fn is_include(line: &str) -> bool {
    let rest = match line.strip_prefix('(') {
        Some(rest) => rest.split_once(')').map_or("", |(_, r)| r),
        None => line,
    };
    rest.starts_with("#include")
}

/// dpkg's `field_capitalize`: each `-`-separated word capitalised.
fn capitalize(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A symbol spec: `[(tags)]name minver [dep_id]`, or a quoted name. `None`
/// for a pattern, a symbol of another architecture, or a line dpkg skips.
fn parse_symbol(spec: &str, deprecated: bool, arch: &str) -> Option<(String, Symbol)> {
    let (tags, rest) = match spec.strip_prefix('(') {
        Some(after) => {
            let (tags, rest) = after.split_once(')')?;
            (tags, rest)
        }
        None => ("", spec),
    };
    let (name, rest) = match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let inner = &rest[1..];
            let end = inner.find(quote)?;
            (&inner[..end], &inner[end + 1..])
        }
        _ => {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        }
    };
    if name.is_empty() {
        return None;
    }
    // `^\s(\S+)(?:\s(\d+))?`: exactly one blank before the version.
    let mut chars = rest.chars();
    if !chars.next().is_some_and(char::is_whitespace) {
        return None;
    }
    let mut fields = chars.as_str().split(char::is_whitespace);
    let minver = fields.next().filter(|v| !v.is_empty())?;
    let dep_id = match fields.next() {
        Some(id) => leading_digits(id).parse().unwrap_or(0),
        None => 0,
    };
    let mut is_pattern = name.starts_with("*@");
    for tag in tags.split('|') {
        let (tag_name, value) = tag.split_once('=').unwrap_or((tag, ""));
        match tag_name.trim() {
            "c++" | "symver" | "regex" => is_pattern = true,
            "arch" if !arch_matches(value, arch) => return None,
            _ => {}
        }
    }
    if is_pattern {
        return None;
    }
    let minver = DebVersion::parse(minver).ok()?;
    Some((
        name.to_owned(),
        Symbol {
            minver,
            dep_id,
            deprecated,
        },
    ))
}

fn leading_digits(s: &str) -> &str {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    &s[..end]
}

/// Whether an `arch=` list (`amd64 i386`, `!armel !armhf`) includes `arch`.
/// Wildcards (`any-amd64`, `linux-any`) are compared loosely: a list we
/// cannot judge keeps the symbol.
fn arch_matches(list: &str, arch: &str) -> bool {
    let entries: Vec<&str> = list.split_whitespace().collect();
    let negated = entries.iter().any(|e| e.starts_with('!'));
    if negated {
        return !entries.iter().any(|e| e.strip_prefix('!') == Some(arch));
    }
    entries
        .iter()
        .any(|e| *e == arch || e.contains("any") || *e == "all")
}

impl SymbolObject {
    /// The smallest minimal version of the symbols using template `dep_id`
    /// (dpkg's `get_smallest_version`, deprecated symbols included).
    pub fn smallest_version(&self, dep_id: usize) -> Option<&DebVersion> {
        self.symbols
            .values()
            .filter(|s| s.dep_id == dep_id)
            .map(|s| &s.minver)
            .min()
    }
}

/// Whether a symbols file has a header line for `soname`
/// (dpkg's `symfile_has_soname`: a line starting with it and a space).
pub fn has_soname(text: &str, soname: &str) -> bool {
    text.lines().any(|line| {
        line.strip_prefix(soname)
            .is_some_and(|r| r.starts_with(' '))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> DebVersion {
        DebVersion::parse(s).expect("test version")
    }

    #[test]
    fn reads_headers_alternatives_fields_and_symbols() {
        let text = "\
libz.so.1 zlib1g #MINVER#
| zlib-alt #MINVER#
* Build-Depends-Package: zlib1g-dev
 adler32@Base 1:1.1.4
 zlibVersion@ZLIB_1.2.0 1:1.2.0 1
#MISSING: 1.3# gone@Base 1:1.0
 (c++)\"ns::f()@Base\" 1.0
 *@ZLIB_9 9
 (arch=armel)armonly@Base 5
 (arch=!armel)notarmel@Base 1:2
 (optional)opt@Base 1:1.2.1
";
        let file = SymbolFile::parse(text, "amd64").expect("parses");
        let object = &file.objects["libz.so.1"];
        assert_eq!(object.deps, vec!["zlib1g #MINVER#", "zlib-alt #MINVER#"]);
        assert_eq!(object.fields["Build-Depends-Package"], "zlib1g-dev");
        let mut names: Vec<_> = object.symbols.keys().cloned().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "adler32@Base",
                "gone@Base",
                "notarmel@Base",
                "opt@Base",
                "zlibVersion@ZLIB_1.2.0"
            ]
        );
        assert_eq!(object.symbols["zlibVersion@ZLIB_1.2.0"].dep_id, 1);
        assert!(object.symbols["gone@Base"].deprecated);
        assert_eq!(object.smallest_version(0), Some(&v("1:1.0")));
        assert_eq!(object.smallest_version(1), Some(&v("1:1.2.0")));
    }

    #[test]
    fn a_symbol_before_any_header_is_an_error() {
        assert_eq!(
            SymbolFile::parse("# c\n foo@Base 1\n", "amd64"),
            Err(SymbolsError { line: 2 })
        );
    }

    #[test]
    fn hostile_lines_are_skipped() {
        let text = "libx.so.1 x #MINVER#\n (\n (unclosed foo 1\n \"unterminated 1\n bad@Base not-a-version!\n x@Base\n*\n|\n#include \"/etc/passwd\"\n";
        let file = SymbolFile::parse(text, "amd64").expect("parses");
        assert!(file.objects["libx.so.1"].symbols.is_empty());
        assert_eq!(file.objects["libx.so.1"].deps, vec!["x #MINVER#", ""]);
    }

    #[test]
    fn has_soname_wants_the_name_then_a_space() {
        assert!(has_soname("libz.so.1 zlib1g #MINVER#\n", "libz.so.1"));
        assert!(!has_soname("libz.so.10 zlib #MINVER#\n", "libz.so.1"));
    }
}
