//! Generated maintainer-script snippets merged with the project's own
//! scripts, as `dh_installdeb` does.

/// The `#!` line and `set -e` a script we generate alone starts with.
pub const HEADER: &str = "#!/bin/sh\nset -e\n";

/// The token a project script marks the place of the snippets with.
pub const TOKEN: &str = "#DEBHELPER#";

/// The script `script` (`postinst`, `prerm`, ...) with `snippet` merged into
/// the project's `project` text, or `None` when there is neither.
///
/// - No snippet: the project script as it is (its `#DEBHELPER#`, a
///   comment, stays).
/// - No project script: `#!/bin/sh`, `set -e`, the snippet.
/// - A project script with `#DEBHELPER#`: every token replaced by the
///   snippet, as dh_installdeb does.
/// - A project script without the token: debhelper would leave the
///   snippets out, which nobody who shipped a unit expects, so they go
///   where dh puts removal snippets relative to the package's own work:
///   for `preinst` and `postinst` at the end (the project's setup, e.g. a
///   system user, runs before the unit is started), for `prerm` and
///   `postrm` right after the `#!` line (the unit is stopped before the
///   project's clean-up). A postinst that ends with `exit 0` never reaches
///   an appended snippet: put `#DEBHELPER#` where the snippets belong.
pub fn merge(script: &str, project: Option<&[u8]>, snippet: &str) -> Option<Vec<u8>> {
    let Some(project) = project else {
        return (!snippet.is_empty()).then(|| format!("{HEADER}{snippet}").into_bytes());
    };
    if snippet.is_empty() {
        return Some(project.to_vec());
    }
    if contains(project, TOKEN.as_bytes()) {
        return Some(replace_all(project, TOKEN.as_bytes(), snippet.as_bytes()));
    }
    let mut out = Vec::with_capacity(project.len() + snippet.len() + 1);
    if script == "prerm" || script == "postrm" {
        let first_line = project
            .iter()
            .position(|&b| b == b'\n')
            .map_or(project.len(), |i| i + 1);
        out.extend_from_slice(&project[..first_line]);
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.extend_from_slice(snippet.as_bytes());
        out.extend_from_slice(&project[first_line..]);
    } else {
        out.extend_from_slice(project);
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.extend_from_slice(snippet.as_bytes());
    }
    Some(out)
}

/// Whether a script's `#!` line names a POSIX shell (`sh`, `dash`, `bash`,
/// directly or through `env`), where the shell snippets may be put without
/// a `#DEBHELPER#` token.
pub fn is_shell_script(script: &[u8]) -> bool {
    let first = script.split(|&b| b == b'\n').next().unwrap_or_default();
    let Some(line) = first.strip_prefix(b"#!") else {
        return false;
    };
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let mut interpreter = words.next().unwrap_or_default();
    if interpreter.rsplit('/').next() == Some("env") {
        interpreter = words.next().unwrap_or_default();
    }
    matches!(interpreter.rsplit('/').next(), Some("sh" | "dash" | "bash"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len() + with.len());
    let mut rest = haystack;
    while let Some(i) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(with);
        rest = &rest[i + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod shell_tests {
    use super::is_shell_script;

    #[test]
    fn only_posix_shells_take_snippets_without_the_token() {
        for yes in ["#!/bin/sh\n", "#!/bin/bash -e\nx", "#! /usr/bin/env dash\n"] {
            assert!(is_shell_script(yes.as_bytes()), "{yes}");
        }
        for no in [
            "#!/usr/bin/python3\n",
            "#!/usr/bin/perl -w\n",
            "echo hi\n",
            "",
        ] {
            assert!(!is_shell_script(no.as_bytes()), "{no}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_of_our_own_has_the_header() {
        assert_eq!(merge("postinst", None, ""), None);
        assert_eq!(
            merge("postinst", None, "echo a\n").as_deref(),
            Some(&b"#!/bin/sh\nset -e\necho a\n"[..])
        );
    }

    #[test]
    fn the_token_is_replaced_everywhere() {
        let project = b"#!/bin/sh\nset -e\n#DEBHELPER#\necho x #DEBHELPER#\n";
        assert_eq!(
            merge("postinst", Some(project), "S\n").as_deref(),
            Some(&b"#!/bin/sh\nset -e\nS\n\necho x S\n\n"[..])
        );
        assert_eq!(
            merge("postinst", Some(project), "").as_deref(),
            Some(&project[..])
        );
    }

    #[test]
    fn without_the_token_removal_snippets_come_first() {
        assert_eq!(
            merge("postinst", Some(b"#!/bin/sh\necho x"), "S\n").as_deref(),
            Some(&b"#!/bin/sh\necho x\nS\n"[..])
        );
        assert_eq!(
            merge("prerm", Some(b"#!/bin/sh\necho x\n"), "S\n").as_deref(),
            Some(&b"#!/bin/sh\nS\necho x\n"[..])
        );
        assert_eq!(
            merge("postrm", Some(b"#!/bin/sh"), "S\n").as_deref(),
            Some(&b"#!/bin/sh\nS\n"[..])
        );
    }
}
