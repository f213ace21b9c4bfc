//! The `Description` field: a synopsis line and an extended description.
//!
//! Debian Policy 5.6.13 wants both, and lintian rejects a package whose
//! extended description is empty (`extended-description-is-empty`). A
//! `description` of one line therefore takes its extended description from
//! the first prose paragraph of the tagged tree's README (headings, badges,
//! lists, code and HTML skipped; Markdown links and emphasis reduced to
//! their text; reflowed to 72 columns): the text a project already wrote to
//! say what it is. With no such paragraph the configuration is refused, with
//! an example of a two-part description, rather than producing a package
//! lintian rejects.

/// The README files looked at, in order.
pub(super) const READMES: &[&str] = &[
    "README.md",
    "README",
    "README.txt",
    "README.markdown",
    "README.rst",
];

/// Wrap width of a reflowed paragraph (lintian warns past 80).
const WIDTH: usize = 72;

/// The control field's value: the synopsis, then the long description
/// with empty lines as `.` (deb822). `fallback` is used when `text` has
/// only a synopsis.
pub(super) fn field(text: &str, fallback: Option<&str>) -> String {
    let mut lines = text.trim().lines();
    let mut out = lines.next().unwrap_or_default().trim().to_owned();
    let mut rest = lines.peekable();
    if rest.peek().is_none() {
        if let Some(extended) = fallback {
            for line in extended.lines() {
                out.push('\n');
                out.push_str(line);
            }
        }
        return out;
    }
    for line in rest {
        out.push('\n');
        out.push_str(if line.trim().is_empty() {
            "."
        } else {
            line.trim_end()
        });
    }
    out
}

/// Whether a description is only a synopsis.
pub(super) fn is_synopsis_only(text: &str) -> bool {
    text.trim().lines().skip(1).all(|l| l.trim().is_empty())
}

/// The first prose paragraph of a README, reflowed; `None` when it has none
/// or only one that repeats `synopsis`.
pub(super) fn readme_paragraph(readme: &str, synopsis: &str) -> Option<String> {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let mut fence: Option<&str> = None;
    for line in readme.lines() {
        let trimmed = line.trim();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
            continue;
        }
        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            fence = Some(marker);
            blocks.push(std::mem::take(&mut block));
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            blocks.push(std::mem::take(&mut block));
            continue;
        }
        block.push(line);
    }
    blocks.push(block);
    let synopsis = simplify(synopsis);
    blocks
        .into_iter()
        .filter(|b| is_prose(b))
        .map(|b| reflow(&inline_text(&b.join(" "))))
        .find(|p| simplify(p) != synopsis)
}

/// A paragraph of sentences: not a heading, list, quote, table, HTML,
/// image, indented code or reStructuredText directive.
fn is_prose(block: &[&str]) -> bool {
    let Some(first) = block.first() else {
        return false;
    };
    if first.starts_with("    ") || first.starts_with('\t') {
        return false;
    }
    let first = first.trim_start();
    let mut chars = first.chars();
    let starts_ok = match (chars.next(), chars.next()) {
        (Some(c), _) if c.is_alphanumeric() || "`\"'".contains(c) => true,
        // Emphasis (`**name** is`), not a list bullet (`* item`).
        (Some('*' | '_'), Some(next)) => !next.is_whitespace(),
        _ => false,
    };
    let numbered = first
        .split_once(['.', ')'])
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    // A heading's underline (Markdown setext, reStructuredText) is a line
    // of one repeated punctuation character.
    let underlined = block.iter().any(|l| {
        let l = l.trim();
        l.len() >= 3
            && l.chars()
                .all(|c| c.is_ascii_punctuation() && l.starts_with(c))
    });
    starts_ok && !numbered && !underlined && block.iter().any(|l| l.contains(' '))
}

/// Markdown inline syntax reduced to its text: `[text](url)` → text,
/// `` `code` `` → code, `**`/`__` emphasis dropped; tabs become spaces.
fn inline_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let link = after.find("](").and_then(|close| {
            after[close + 2..]
                .find(')')
                .map(|end| (&after[..close], close + 2 + end + 1))
        });
        match link {
            Some((label, used)) => {
                out.push_str(&rest[..open]);
                out.push_str(label);
                rest = &after[used..];
            }
            None => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace("**", "")
        .replace("__", "")
        .replace(['`', '\t'], " ")
}

/// Words rewrapped to [`WIDTH`]; no line is a lone `.` (deb822's empty line).
fn reflow(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > WIDTH && word != "." {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines.join("\n")
}

/// Letters and digits only, lowercased: how lintian compares a synopsis
/// with the first line of the extended description.
fn simplify(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_first_prose_paragraph_is_found_and_reflowed() {
        let readme = "# hello\n\n[![build](https://ci/badge.svg)](https://ci)\n\n\
                      Hello\n=====\n\n```sh\nmake install\n```\n\n\
                      - a list item\n- another\n\n<p align=\"center\">x</p>\n\n\
                      **hello** prints a friendly greeting. It is a tiny program used to show\n\
                      how [git-buildkit](https://example.com) turns a `tag` into a\tpackage, and it has a rather long paragraph.\n\n\
                      Second paragraph.\n";
        assert_eq!(
            readme_paragraph(readme, "prints a friendly greeting").as_deref(),
            Some(
                "hello prints a friendly greeting. It is a tiny program used to show how\n\
                 git-buildkit turns a tag into a package, and it has a rather long\n\
                 paragraph."
            )
        );
    }

    #[test]
    fn no_paragraph_or_only_the_synopsis_gives_none() {
        assert_eq!(readme_paragraph("# Title\n\n    code block\n", "x y"), None);
        assert_eq!(
            readme_paragraph("# t\n\nPrints a greeting.\n", "prints a greeting"),
            None
        );
        assert_eq!(
            readme_paragraph("Title\n-----\n\nThe text here.\n", "s"),
            Some("The text here.".into())
        );
    }

    #[test]
    fn the_field_uses_the_fallback_only_for_a_lone_synopsis() {
        assert_eq!(
            field("says hi\n", Some("Long\ntext.")),
            "says hi\nLong\ntext."
        );
        assert_eq!(
            field("says hi\nOwn text.\n\nMore.", Some("unused")),
            "says hi\nOwn text.\n.\nMore."
        );
        assert!(is_synopsis_only("says hi\n  \n"));
        assert!(!is_synopsis_only("says hi\nmore"));
    }

    #[test]
    fn the_field_trims_the_ends_and_keeps_indented_lines() {
        // Leading and trailing blank lines go; a line's leading spaces stay
        // (deb822 shows it verbatim); trailing spaces go; a blank line
        // between paragraphs becomes ".".
        assert_eq!(
            field("\n  says hi  \nText.   \n   \n  indented code\n\n", None),
            "says hi\nText.\n.\n  indented code"
        );
        assert_eq!(field("says hi", None), "says hi");
    }

    #[test]
    fn a_reflowed_paragraph_stays_within_the_width() {
        let words = "word ".repeat(40);
        let paragraph = readme_paragraph(&format!("# t\n\n{words}\n"), "x").expect("found");
        assert!(paragraph.lines().all(|l| l.len() <= WIDTH), "{paragraph}");
        assert_eq!(simplify(&paragraph), simplify(&words));
    }
}
