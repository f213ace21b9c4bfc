//! All output of the binary goes through [`Ui`]: results on stdout, progress
//! and diagnostics on stderr, colours only on a terminal and never with
//! `NO_COLOR`.

use std::io::{IsTerminal, Write};

use git_buildkit::progress::Listener;

/// When to colour stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The terminal, as the commands see it.
#[derive(Debug, Clone)]
pub struct Ui {
    color: bool,
    out_color: bool,
    quiet: bool,
}

/// The colour of a marked word on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Green: it works.
    Good,
    /// Yellow: it works, worse, or is missing and optional.
    Warn,
    /// Red: it is missing and needed.
    Bad,
    /// No colour.
    Plain,
}

const GREEN: &str = "\x1b[1;32m";
const YELLOW: &str = "\x1b[1;33m";
const RED: &str = "\x1b[1;31m";
const CYAN: &str = "\x1b[1;36m";
const RESET: &str = "\x1b[0m";

impl Ui {
    /// Decides colours from the choice, the environment and the terminal.
    pub fn new(choice: ColorChoice, quiet: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let wanted = |terminal: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && !dumb && terminal,
        };
        Self {
            color: wanted(std::io::stderr().is_terminal()),
            out_color: wanted(std::io::stdout().is_terminal()),
            quiet,
        }
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// Whether `--quiet` was given.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// One line of result on stdout. A closed pipe (`| head`) is not an error.
    pub fn out(&self, line: &str) {
        let mut stdout = std::io::stdout().lock();
        let line = for_terminal(line, stdout.is_terminal());
        let _ = writeln!(stdout, "{line}");
    }

    /// One line of result on stdout that starts with `word` in `tone`'s
    /// colour (when stdout takes colours), then `rest`.
    pub fn out_marked(&self, tone: Tone, word: &str, rest: &str) {
        let style = match tone {
            Tone::Good => Some(GREEN),
            Tone::Warn => Some(YELLOW),
            Tone::Bad => Some(RED),
            Tone::Plain => None,
        };
        let mut stdout = std::io::stdout().lock();
        let terminal = stdout.is_terminal();
        let word = for_terminal(word, terminal);
        let rest = for_terminal(rest, terminal);
        let _ = match style {
            Some(style) if self.out_color => writeln!(stdout, "{style}{word}{RESET}{rest}"),
            _ => writeln!(stdout, "{word}{rest}"),
        };
    }

    /// A line on stderr.
    pub fn err_line(&self, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    /// A line on stderr unless `--quiet` (access logs, chatter).
    pub fn info_line(&self, line: &str) {
        if !self.quiet {
            self.err_line(line);
        }
    }

    /// Renders an error with its causes and hint.
    pub fn error(&self, error: &anyhow::Error, detail: Option<&str>, hint: Option<&str>) {
        self.err_line(&format!("{} {error}", self.paint(RED, "error:")));
        for cause in error.chain().skip(1) {
            self.err_line(&format!("  {} {cause}", self.paint(RED, "caused by:")));
        }
        if let Some(detail) = detail {
            for line in detail.lines() {
                self.err_line(&format!("  {line}"));
            }
        }
        if let Some(hint) = hint {
            self.err_line(&format!("{} {hint}", self.paint(CYAN, "hint:")));
        }
    }
}

/// Text for a terminal: control characters (but tabs and newlines) shown
/// as `?`, so that a name from a hostile .deb, note or guest cannot move
/// the cursor or retitle the window. Pipes get the bytes as they are.
fn for_terminal(text: &str, terminal: bool) -> std::borrow::Cow<'_, str> {
    if terminal
        && text
            .chars()
            .any(|c| c.is_control() && c != '\t' && c != '\n')
    {
        text.chars()
            .map(|c| {
                if c.is_control() && c != '\t' && c != '\n' {
                    '?'
                } else {
                    c
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

impl Listener for Ui {
    fn status(&self, verb: &str, what: &str) {
        if !self.quiet {
            let what = for_terminal(what, std::io::stderr().is_terminal());
            self.err_line(&format!(
                "{} {what}",
                self.paint(GREEN, &format!("{verb:>12}"))
            ));
        }
    }

    fn note(&self, text: &str) {
        if !self.quiet {
            let text = for_terminal(text, std::io::stderr().is_terminal());
            self.err_line(&format!("{} {text}", self.paint(CYAN, "note:")));
        }
    }

    fn warn(&self, text: &str) {
        let text = for_terminal(text, std::io::stderr().is_terminal());
        self.err_line(&format!("{} {text}", self.paint(YELLOW, "warning:")));
    }

    fn output(&self) -> Box<dyn Write + Send + '_> {
        if self.quiet {
            Box::new(std::io::sink())
        } else {
            Box::new(std::io::stderr())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::for_terminal;

    #[test]
    fn a_terminal_never_gets_control_characters_from_text() {
        let hostile = "usr/bin/\x1b]0;owned\x07x\tok\n";
        assert_eq!(for_terminal(hostile, true), "usr/bin/?]0;owned?x\tok\n");
        assert_eq!(for_terminal(hostile, false), hostile);
        assert_eq!(for_terminal("plain", true), "plain");
    }
}
