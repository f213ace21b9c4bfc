//! `changelog.Debian` generated from the version tags and the commits
//! between them, in the format of deb-changelog(5), so that
//! `/usr/share/doc/<pkg>/changelog.Debian.gz` tells a user what changed.

use std::fmt::Write;

use crate::time::rfc2822;

/// One changelog entry: a version and what went into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The Debian version.
    pub version: String,
    /// The release time (the tagged commit's committer time).
    pub time: i64,
    /// Commit subjects, newest first.
    pub changes: Vec<String>,
}

/// Renders entries (newest first) for `package`, signed by `maintainer`.
///
/// Each entry's date is made at least one second later than the entry
/// below it: tags made in the same second would otherwise trip lintian's
/// `latest-changelog-entry-without-new-date`.
pub fn render(package: &str, maintainer: &str, entries: &[Entry]) -> String {
    let mut times: Vec<i64> = entries.iter().map(|e| e.time).collect();
    for i in (0..times.len().saturating_sub(1)).rev() {
        times[i] = times[i].max(times[i + 1] + 1);
    }
    let mut text = String::new();
    for (index, (entry, time)) in entries.iter().zip(times).enumerate() {
        if index > 0 {
            text.push('\n');
        }
        let _ = writeln!(
            text,
            "{package} ({}) unstable; urgency=medium\n",
            entry.version
        );
        if entry.changes.is_empty() {
            let _ = writeln!(text, "  * Release {}.", entry.version);
        }
        for change in &entry.changes {
            wrap_item(&mut text, change);
        }
        let _ = writeln!(text, "\n -- {maintainer}  {}", rfc2822(time));
    }
    text
}

/// `  * text`, wrapped at 80 columns with continuation lines indented by 4
/// (lintian: debian-changelog-line-too-long).
fn wrap_item(out: &mut String, text: &str) {
    let mut line = String::from("  *");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > 80 && line.trim_start() != "*" {
            out.push_str(&line);
            out.push('\n');
            line = String::from("   ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn renders_entries_newest_first_with_wrapping() {
        let long = "word ".repeat(20);
        let entries = [
            Entry {
                version: "1.1.0-1".into(),
                time: 1_700_000_000,
                changes: vec!["Add greeting".into(), long.trim().into()],
            },
            Entry {
                version: "1.0.0-1".into(),
                time: 1_600_000_000,
                changes: vec![],
            },
        ];
        let same_second = [
            Entry {
                version: "2".into(),
                time: 5,
                changes: vec![],
            },
            Entry {
                version: "1".into(),
                time: 5,
                changes: vec![],
            },
        ];
        let dates: Vec<_> = render("p", "J <j@e.com>", &same_second)
            .lines()
            .filter(|l| l.starts_with(" --"))
            .map(str::to_owned)
            .collect();
        assert_eq!(
            dates,
            [
                " -- J <j@e.com>  Thu, 01 Jan 1970 00:00:06 +0000",
                " -- J <j@e.com>  Thu, 01 Jan 1970 00:00:05 +0000"
            ]
        );
        let text = render("hello", "Jane <j@e.com>", &entries);
        let want = "hello (1.1.0-1) unstable; urgency=medium

  * Add greeting
  * word word word word word word word word word word word word word word word
    word word word word word

 -- Jane <j@e.com>  Tue, 14 Nov 2023 22:13:20 +0000

hello (1.0.0-1) unstable; urgency=medium

  * Release 1.0.0-1.

 -- Jane <j@e.com>  Sun, 13 Sep 2020 12:26:40 +0000
";
        assert_eq!(text, want);
    }
}
