//! `shlibs` files (deb-shlibs(5)) read as dpkg-shlibdeps reads them
//! (`extract_from_shlibs`, `split_soname`).

/// Splits a SONAME into library name and version the way dpkg does:
/// `libfoo.so.1.2` gives (`libfoo`, `1.2`), `libfoo-1.2.so` gives
/// (`libfoo`, `1.2`); anything else `None`.
pub fn split_soname(soname: &str) -> Option<(&str, &str)> {
    // `^(.+)\.so\.(.+)$`, greedy: the last `.so.` that leaves text on both sides.
    if let Some(at) = soname
        .rmatch_indices(".so.")
        .map(|(i, _)| i)
        .find(|&i| i > 0 && i + 4 < soname.len())
    {
        return Some((&soname[..at], &soname[at + 4..]));
    }
    // `^(.+)-(\d.*)\.so$`, greedy: the last `-` followed by a digit.
    let stem = soname.strip_suffix(".so")?;
    let at = stem
        .match_indices('-')
        .map(|(i, _)| i)
        .rev()
        .find(|&i| i > 0 && stem[i + 1..].starts_with(|c: char| c.is_ascii_digit()))?;
    Some((&stem[..at], &stem[at + 1..]))
}

/// The dependency a `shlibs` file gives for `soname` (for `.deb` packages):
/// `None` when it has no line for it; `Some("")` when the line has no
/// dependency. A `deb:` typed line wins over untyped ones; of untyped
/// lines, the first.
pub fn lookup(text: &str, soname: &str) -> Option<String> {
    let (name, version) = split_soname(soname)?;
    let mut found = None;
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with('#') {
            continue;
        }
        let Some(entry) = parse_line(line) else {
            continue;
        };
        if entry.library != name || entry.version != version {
            continue;
        }
        match entry.kind {
            Some("deb") => return Some(entry.depends.to_owned()),
            Some(_) => {}
            None => {
                found.get_or_insert_with(|| entry.depends.to_owned());
            }
        }
    }
    found
}

/// One line: `[type: ]library version [dependencies]`.
struct Line<'a> {
    kind: Option<&'a str>,
    library: &'a str,
    version: &'a str,
    depends: &'a str,
}

fn parse_line(line: &str) -> Option<Line<'_>> {
    let line = line.trim_start();
    let mut words = line.split_whitespace();
    let first = words.next()?;
    let (kind, library) = match first.strip_suffix(':') {
        Some(kind) if !kind.is_empty() => (Some(kind), words.next()?),
        _ => (None, first),
    };
    let version = words.next()?;
    // The rest of the line after the version, as written.
    let after_version = &line[version.as_ptr() as usize - line.as_ptr() as usize + version.len()..];
    let depends = after_version.trim();
    if depends.len() == 1 {
        // `(\S.*\S)` needs two characters: dpkg calls such a line bad.
        return None;
    }
    Some(Line {
        kind,
        library,
        version,
        depends,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sonames_like_dpkg() {
        assert_eq!(split_soname("libz.so.1"), Some(("libz", "1")));
        assert_eq!(split_soname("libfoo.so.1.so.2"), Some(("libfoo.so.1", "2")));
        assert_eq!(split_soname("libdb-5.3.so"), Some(("libdb", "5.3")));
        assert_eq!(split_soname("libfoo.so"), None);
        assert_eq!(split_soname(".so.1"), None);
        assert_eq!(
            split_soname("ld-linux-x86-64.so.2"),
            Some(("ld-linux-x86-64", "2"))
        );
    }

    #[test]
    fn finds_the_dependency_deb_typed_first() {
        let text = "\
# comment
libz 1 zlib1g (>= 1:1.2.0)
libz 1 zlib-second
udeb: libz 1 zlib1g-udeb
libssl 3 libssl3 (>= 3.0.0)
libempty 1
";
        assert_eq!(
            lookup(text, "libz.so.1").as_deref(),
            Some("zlib1g (>= 1:1.2.0)")
        );
        assert_eq!(
            lookup(text, "libssl.so.3").as_deref(),
            Some("libssl3 (>= 3.0.0)")
        );
        assert_eq!(lookup(text, "libempty.so.1").as_deref(), Some(""));
        assert_eq!(lookup(text, "libz.so.2"), None);
        assert_eq!(
            lookup("libz 1 a\ndeb: libz 1 typed (= 1)\n", "libz.so.1").as_deref(),
            Some("typed (= 1)")
        );
    }

    #[test]
    fn hostile_text_gives_nothing() {
        for text in [
            "",
            ":",
            "deb:",
            "libz",
            "libz 1 x",
            "\u{0}\u{0} 1",
            "deb: libz",
        ] {
            assert_eq!(lookup(text, "libz.so.1"), None, "{text:?}");
        }
    }
}
