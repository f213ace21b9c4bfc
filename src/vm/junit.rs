//! JUnit XML reports of a VM test run, the format CI systems (Jenkins'
//! junit plugin, GitLab's `artifacts:reports:junit`) read to show test
//! results.
//!
//! JUnit XML has no single schema; we write the subset both read:
//! `<testsuites>` holding one `<testsuite>` (one per Debian suite of a
//! suite matrix) with its counts, `time`,
//! `timestamp` and `hostname`, and a `<testcase>` per test with at most one
//! `<failure>`, `<error>` (the test bed broke, not the test) or `<skipped>`,
//! and the captured output in `<system-out>`. Times have three decimals.
//!
//! Test output holds whatever apt and the test printed, including colour
//! escapes (`\x1b[31m`), and a single character XML 1.0 forbids makes the
//! whole report unreadable to a strict parser. Such characters (controls
//! other than tab, newline and carriage return; U+FFFE and U+FFFF) become
//! U+FFFD: the reader sees that something was there, and nothing else of
//! the output is lost. Everything is escaped as character data; there is
//! no CDATA, so a `]]>` in the output needs no special case.

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The test passed.
    Passed,
    /// The test ran and failed.
    Failed {
        /// Why, in one line.
        message: &'a str,
    },
    /// The test did not run.
    Skipped {
        /// Why not.
        message: &'a str,
    },
    /// The test bed broke (not the test): boot, install or a timeout.
    Error {
        /// What broke.
        message: &'a str,
    },
}

/// One test of the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Case<'a> {
    /// The test's name.
    pub name: &'a str,
    /// The group CI systems file it under (e.g. the package and version).
    pub classname: &'a str,
    /// How long it ran; a negative or non-finite value counts as 0.
    pub seconds: f64,
    /// How it ended.
    pub outcome: Outcome<'a>,
    /// Captured output, goes in `<system-out>` (left out when empty).
    pub output: &'a str,
}

/// One `<testsuite>`: a named group of cases run on `hostname`, started
/// at `timestamp` (ISO 8601). A suite matrix has one per Debian suite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suite<'a> {
    /// The name CI systems show for the group.
    pub name: &'a str,
    /// When it started.
    pub timestamp: &'a str,
    /// Where it ran.
    pub hostname: &'a str,
    /// Its cases.
    pub cases: &'a [Case<'a>],
}

/// The JUnit XML document for one suite of tests run on `hostname`, started
/// at `timestamp` (ISO 8601).
pub fn junit_xml(suite: &str, timestamp: &str, hostname: &str, cases: &[Case<'_>]) -> String {
    let one = Suite {
        name: suite,
        timestamp,
        hostname,
        cases,
    };
    junit_suites_xml(suite, &[one])
}

/// The JUnit XML document for several suites (one `<testsuite>` each),
/// under one `<testsuites>` named `name` with the totals.
pub fn junit_suites_xml(name: &str, suites: &[Suite<'_>]) -> String {
    let all: Vec<&Case<'_>> = suites.iter().flat_map(|s| s.cases).collect();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"{}\" {}>\n",
        escape(name, Context::Attribute),
        counts(&all)
    ));
    for suite in suites {
        let cases: Vec<&Case<'_>> = suite.cases.iter().collect();
        xml.push_str(&format!(
            "  <testsuite name=\"{}\" {} timestamp=\"{}\" hostname=\"{}\">\n",
            escape(suite.name, Context::Attribute),
            counts(&cases),
            escape(suite.timestamp, Context::Attribute),
            escape(suite.hostname, Context::Attribute),
        ));
        for case in suite.cases {
            push_case(&mut xml, case);
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// The count and time attributes of a group of cases.
fn counts(cases: &[&Case<'_>]) -> String {
    let count =
        |wanted: fn(&Outcome<'_>) -> bool| cases.iter().filter(|c| wanted(&c.outcome)).count();
    let failures = count(|o| matches!(o, Outcome::Failed { .. }));
    let errors = count(|o| matches!(o, Outcome::Error { .. }));
    let skipped = count(|o| matches!(o, Outcome::Skipped { .. }));
    let total: f64 = cases.iter().map(|c| finite_seconds(c.seconds)).sum();
    format!(
        "tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{}\"",
        cases.len(),
        format_seconds(total),
    )
}

/// Appends one `<testcase>` element.
fn push_case(xml: &mut String, case: &Case<'_>) {
    xml.push_str(&format!(
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
        escape(case.name, Context::Attribute),
        escape(case.classname, Context::Attribute),
        format_seconds(case.seconds),
    ));
    let verdict = match case.outcome {
        Outcome::Passed => None,
        Outcome::Failed { message } => Some(("failure", message)),
        Outcome::Error { message } => Some(("error", message)),
        Outcome::Skipped { message } => Some(("skipped", message)),
    };
    if verdict.is_none() && case.output.is_empty() {
        xml.push_str("/>\n");
        return;
    }
    xml.push_str(">\n");
    if let Some((element, message)) = verdict {
        xml.push_str(&format!(
            "      <{element} message=\"{}\"/>\n",
            escape(message, Context::Attribute)
        ));
    }
    if !case.output.is_empty() {
        xml.push_str(&format!(
            "      <system-out>{}</system-out>\n",
            escape(case.output, Context::Text)
        ));
    }
    xml.push_str("    </testcase>\n");
}

/// Seconds as JUnit wants them: three decimals, never negative or NaN.
fn format_seconds(seconds: f64) -> String {
    format!("{:.3}", finite_seconds(seconds))
}

fn finite_seconds(seconds: f64) -> f64 {
    if seconds.is_finite() && seconds > 0.0 {
        seconds
    } else {
        0.0
    }
}

/// Where escaped text goes: attribute values also need tab, newline and
/// carriage return as character references, or a parser's attribute-value
/// normalisation turns them into spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Attribute,
    Text,
}

/// `text` as XML character data: markup characters escaped, characters XML
/// 1.0 forbids replaced with U+FFFD.
fn escape(text: &str, context: Context) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A literal CR would be read back as a line feed.
            '\r' => out.push_str("&#13;"),
            '\n' if context == Context::Attribute => out.push_str("&#10;"),
            '\t' if context == Context::Attribute => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push(char::REPLACEMENT_CHARACTER),
        }
    }
    out
}

/// XML 1.0's `Char` production (<https://www.w3.org/TR/xml/#charsets>);
/// Rust's `char` already excludes the surrogates.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn case<'a>(name: &'a str, seconds: f64, outcome: Outcome<'a>, output: &'a str) -> Case<'a> {
        Case {
            name,
            classname: "foo_1.2.0",
            seconds,
            outcome,
            output,
        }
    }

    fn sample() -> Vec<Case<'static>> {
        vec![
            case("smoke", 1.5, Outcome::Passed, ""),
            case("command1", 0.25, Outcome::Passed, "ok\n"),
            case(
                "upgrade",
                2.0,
                Outcome::Failed {
                    message: "exit status 1",
                },
                "E: broken\n",
            ),
            case(
                "net",
                0.0,
                Outcome::Skipped {
                    message: "restriction needs-internet: the guest has no internet",
                },
                "",
            ),
            case(
                "boot",
                60.0004,
                Outcome::Error {
                    message: "the guest did not boot in 60 s",
                },
                "",
            ),
        ]
    }

    #[test]
    fn a_whole_report() {
        let xml = junit_xml("foo 1.2.0", "2026-05-01T12:00:00Z", "builder", &sample());
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="foo 1.2.0" tests="5" failures="1" errors="1" skipped="1" time="63.750">
  <testsuite name="foo 1.2.0" tests="5" failures="1" errors="1" skipped="1" time="63.750" timestamp="2026-05-01T12:00:00Z" hostname="builder">
    <testcase name="smoke" classname="foo_1.2.0" time="1.500"/>
    <testcase name="command1" classname="foo_1.2.0" time="0.250">
      <system-out>ok
</system-out>
    </testcase>
    <testcase name="upgrade" classname="foo_1.2.0" time="2.000">
      <failure message="exit status 1"/>
      <system-out>E: broken
</system-out>
    </testcase>
    <testcase name="net" classname="foo_1.2.0" time="0.000">
      <skipped message="restriction needs-internet: the guest has no internet"/>
    </testcase>
    <testcase name="boot" classname="foo_1.2.0" time="60.000">
      <error message="the guest did not boot in 60 s"/>
    </testcase>
  </testsuite>
</testsuites>
"#;
        assert_eq!(xml, expected);
        assert_eq!(well_formed(&xml), Ok(()));
    }

    #[test]
    fn an_empty_suite() {
        let xml = junit_xml("foo", "2026-05-01T12:00:00Z", "h", &[]);
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="foo" tests="0" failures="0" errors="0" skipped="0" time="0.000">
  <testsuite name="foo" tests="0" failures="0" errors="0" skipped="0" time="0.000" timestamp="2026-05-01T12:00:00Z" hostname="h">
  </testsuite>
</testsuites>
"#;
        assert_eq!(xml, expected);
    }

    #[test]
    fn times_have_three_decimals_and_are_never_negative() {
        let formatted = [
            1.23456,
            0.0004,
            0.0005001,
            -3.0,
            f64::NAN,
            f64::INFINITY,
            12345.0,
        ]
        .map(format_seconds);
        assert_eq!(
            formatted,
            [
                "1.235",
                "0.000",
                "0.001",
                "0.000",
                "0.000",
                "0.000",
                "12345.000"
            ]
            .map(String::from)
        );
    }

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            escape(r#"a & b < c > d "e" 'f'"#, Context::Text),
            "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;"
        );
        assert_eq!(
            escape("x]]>y <![CDATA[z", Context::Text),
            "x]]&gt;y &lt;![CDATA[z"
        );
    }

    #[test]
    fn whitespace_survives_in_text_and_attributes() {
        assert_eq!(escape("a\tb\nc\r\nd", Context::Text), "a\tb\nc&#13;\nd");
        assert_eq!(
            escape("a\tb\nc\r\nd", Context::Attribute),
            "a&#9;b&#10;c&#13;&#10;d"
        );
    }

    #[test]
    fn characters_xml_forbids_become_replacement_characters() {
        assert_eq!(
            escape(
                "\x1b[31mred\x1b[0m \0\x07\x7f\u{FFFE}\u{FFFF}é😀",
                Context::Text
            ),
            "\u{FFFD}[31mred\u{FFFD}[0m \u{FFFD}\u{FFFD}\x7f\u{FFFD}\u{FFFD}é😀"
        );
    }

    #[test]
    fn hostile_text_everywhere_stays_well_formed() {
        let nasty = "<a href=\"x\">&amp; ]]> \x1b[1m' \r\n\t\0 </testcase>";
        let cases = [
            Case {
                name: nasty,
                classname: nasty,
                seconds: 1.0,
                outcome: Outcome::Failed { message: nasty },
                output: nasty,
            },
            Case {
                name: "b",
                classname: "c",
                seconds: 1.0,
                outcome: Outcome::Error { message: nasty },
                output: nasty,
            },
        ];
        let xml = junit_xml(nasty, nasty, nasty, &cases);
        assert_eq!(well_formed(&xml), Ok(()));
        assert_eq!(xml.matches("<testcase ").count(), 2);
        assert_eq!(xml.matches("</testcase>").count(), 2);
        if let Some(result) = python_parses(&xml) {
            assert_eq!(result, Ok(()));
        }
        if let Some(result) = xmllint_accepts(&xml) {
            assert_eq!(result, Ok(()));
        }
    }

    #[test]
    fn the_sample_report_passes_xml_parsers_that_are_installed() {
        let xml = junit_xml("foo", "2026-05-01T12:00:00Z", "h", &sample());
        if let Some(result) = python_parses(&xml) {
            assert_eq!(result, Ok(()));
        }
        if let Some(result) = xmllint_accepts(&xml) {
            assert_eq!(result, Ok(()));
        }
    }

    #[test]
    fn the_external_checks_reject_a_broken_document() {
        let verdicts = [python_parses("<a><b></a>"), xmllint_accepts("<a><b></a>")];
        for verdict in verdicts.into_iter().flatten() {
            assert!(verdict.is_err(), "a broken document was accepted");
        }
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a><b></a>").is_err());
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\u{1b}</a>").is_err());
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>&nbsp;</a>").is_err());
    }

    /// Python's expat parser on the document; None when python3 is absent.
    fn python_parses(xml: &str) -> Option<Result<(), String>> {
        external_check(
            "python3",
            &[
                "-c",
                "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])",
            ],
            xml,
        )
    }

    /// libxml2's `xmllint --noout`; None when it is not installed.
    fn xmllint_accepts(xml: &str) -> Option<Result<(), String>> {
        external_check("xmllint", &["--noout"], xml)
    }

    /// Runs `program args… FILE` on the document; None when the program
    /// cannot be started (not installed), so the check is skipped.
    fn external_check(program: &str, args: &[&str], xml: &str) -> Option<Result<(), String>> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("report.xml");
        std::fs::write(&path, xml).expect("the report is written");
        let cmd = crate::process::Cmd::new(program)
            .args(args.iter().copied())
            .arg(&path);
        match cmd.output() {
            Ok(_) => Some(Ok(())),
            // Not installed, or a shim (pyenv) without a program behind it.
            Err(crate::process::ProcessError::Start { .. })
            | Err(crate::process::ProcessError::Exit { code: 127, .. }) => None,
            Err(err) => Some(Err(format!("{err}: {}", err.output()))),
        }
    }

    /// A small well-formedness check: one root element, every tag closed in
    /// order, attribute values quoted, only known entities and character
    /// references, no character XML 1.0 forbids.
    fn well_formed(xml: &str) -> Result<(), String> {
        let body = xml
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
            .ok_or("no XML declaration")?;
        if let Some(bad) = body.chars().find(|c| !is_xml_char(*c)) {
            return Err(format!("forbidden character {bad:?}"));
        }
        let mut open: Vec<&str> = Vec::new();
        let mut roots = 0;
        let mut rest = body;
        while let Some(start) = rest.find('<') {
            check_text(&rest[..start])?;
            if open.is_empty() && !rest[..start].trim().is_empty() {
                return Err("text outside the root element".to_owned());
            }
            let end = rest[start..].find('>').ok_or("unterminated tag")? + start;
            let tag = &rest[start + 1..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                match open.pop() {
                    Some(top) if top == name => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
                continue;
            }
            let (inner, empty) = match tag.strip_suffix('/') {
                Some(inner) => (inner, true),
                None => (tag, false),
            };
            let name = check_tag(inner)?;
            if open.is_empty() {
                roots += 1;
            }
            if !empty {
                open.push(name);
            }
        }
        check_text(rest)?;
        match (roots, open.as_slice(), rest.trim()) {
            (1, [], "") => Ok(()),
            _ => Err(format!(
                "{roots} roots, unclosed {open:?}, trailing {rest:?}"
            )),
        }
    }

    /// Checks `name attr="value" …` and returns the name.
    fn check_tag(tag: &str) -> Result<&str, String> {
        let (name, mut attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("bad tag name in <{tag}>"));
        }
        while !attrs.trim().is_empty() {
            let (key, after) = attrs
                .trim_start()
                .split_once("=\"")
                .ok_or(format!("bad attribute in <{tag}>"))?;
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(format!("bad attribute name {key:?}"));
            }
            let (value, after) = after.split_once('"').ok_or("unterminated attribute")?;
            if value.contains(['<', '\n', '\t', '\r']) {
                return Err(format!("raw < or whitespace in attribute {value:?}"));
            }
            check_text(value)?;
            attrs = after;
        }
        Ok(name)
    }

    /// Every `&` starts a known entity or a character reference; no `>`.
    fn check_text(text: &str) -> Result<(), String> {
        if text.contains('>') {
            return Err(format!("raw > in {text:?}"));
        }
        for (at, _) in text.match_indices('&') {
            let reference = &text[at..];
            let end = reference
                .find(';')
                .ok_or(format!("unterminated & in {text:?}"))?;
            let name = &reference[1..end];
            let known = ["amp", "lt", "gt", "quot", "apos"].contains(&name)
                || name
                    .strip_prefix('#')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if !known {
                return Err(format!("unknown reference &{name};"));
            }
        }
        Ok(())
    }
}
