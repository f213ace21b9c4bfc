//! What the host keeps of a guest's output, and why it is bounded.
//!
//! Everything a guest writes is untrusted: a package's maintainer script or
//! test runs as root in the guest and can print an endless line, gigabytes
//! of output, or flood the kernel console. The host reads the job port a
//! bounded line at a time ([`LineReader`]), keeps a bounded amount of each
//! test's output ([`Kept`]), streams a bounded amount per run, and copies
//! at most [`MAX_CONSOLE_LOG`] bytes of the kernel console into the run's
//! `console.log` ([`copy_capped`]). Whatever is cut is replaced by a marker
//! that says so, and the rest is read and dropped so the guest is not
//! blocked by a full pipe.

use std::io::{self, Read, Write};

/// The output kept per test (for the JUnit report); later lines are dropped.
pub const MAX_TEST_OUTPUT: usize = 512 * 1024;
/// The guest output streamed to the user per run; later lines are dropped.
pub const MAX_STREAMED: usize = 16 * 1024 * 1024;
/// The kernel console bytes written to `console.log`.
pub const MAX_CONSOLE_LOG: u64 = 1024 * 1024;

pub use crate::lines::{Line, LineReader, MAX_LINE};

/// Text kept up to a limit; what comes after is counted, not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept {
    text: String,
    max: usize,
    dropped: u64,
}

impl Kept {
    /// An empty buffer keeping at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            text: String::new(),
            max,
            dropped: 0,
        }
    }

    /// Appends a line (and `\n`) when it fits whole; returns whether it did.
    pub fn push_line(&mut self, line: &str) -> bool {
        if self.dropped == 0 && self.text.len() + line.len() < self.max {
            self.text.push_str(line);
            self.text.push('\n');
            true
        } else {
            self.dropped += line.len() as u64 + 1;
            false
        }
    }

    /// Whether something was dropped.
    pub fn is_cut(&self) -> bool {
        self.dropped > 0
    }

    /// The kept text, ending with a marker when something was dropped.
    pub fn into_text(self) -> String {
        if self.dropped == 0 {
            self.text
        } else {
            format!(
                "{}[git-buildkit: output cut at {} bytes, {} more bytes dropped]\n",
                self.text,
                self.text.len(),
                self.dropped
            )
        }
    }
}

/// Copies `from` into `to` until the end of `from`, writing at most `max`
/// bytes and then a marker line; the rest is read and dropped. Returns the
/// number of bytes read.
pub fn copy_capped(from: &mut impl Read, to: &mut impl Write, max: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    let mut total = 0u64;
    let mut marked = false;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        let room = usize::try_from(max.saturating_sub(written)).unwrap_or(usize::MAX);
        let take = n.min(room);
        if take > 0 {
            to.write_all(&buf[..take])?;
            written += take as u64;
        }
        if take < n && !marked {
            writeln!(
                to,
                "\n[git-buildkit: the console log stops here: it reached its limit of {max} bytes]"
            )?;
            to.flush()?;
            marked = true;
        }
    }
    to.flush()?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut reader = LineReader::new(io::BufReader::with_capacity(7, input), max);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().expect("read") {
            out.push(line);
        }
        out
    }

    fn line(text: &str, dropped: u64) -> Line {
        Line {
            text: text.to_owned(),
            dropped,
        }
    }

    #[test]
    fn lines_are_cut_at_the_limit_and_the_rest_dropped() {
        assert_eq!(
            lines(b"short\nexactly10!\n0123456789abcdef\n\nlast", 10),
            [
                line("short", 0),
                line("exactly10!", 0),
                line("0123456789", 6),
                line("", 0),
                line("last", 0),
            ]
        );
        // The serial line's \r\n ends a line as \n does.
        assert_eq!(
            lines(b"serial\r\n0123456789abc\r\n\r\n", 10),
            [line("serial", 0), line("0123456789", 3), line("", 0)]
        );
        assert_eq!(lines(b"", 10), []);
        assert_eq!(
            line("0123456789", 6).shown(),
            "0123456789 [git-buildkit: line cut, 6 more bytes dropped]"
        );
    }

    #[test]
    fn an_endless_line_is_read_in_constant_memory() {
        // 64 MiB without a newline, then one: only the limit is held.
        let endless = io::repeat(b'x').take(64 << 20).chain(&b"\nnext\n"[..]);
        let mut reader = LineReader::new(io::BufReader::new(endless), 1000);
        let first = reader.next_line().expect("read").expect("line");
        assert_eq!(first.text.len(), 1000);
        assert_eq!(first.dropped, (64 << 20) - 1000);
        assert_eq!(reader.next_line().expect("read"), Some(line("next", 0)));
        assert_eq!(reader.next_line().expect("read"), None);
    }

    #[test]
    fn kept_output_stops_at_its_limit_with_a_marker() {
        let mut kept = Kept::new(12);
        assert!(kept.push_line("hello"));
        assert!(!kept.push_line("world!"));
        assert!(!kept.push_line("x"));
        assert!(kept.is_cut());
        assert_eq!(
            kept.into_text(),
            "hello\n[git-buildkit: output cut at 6 bytes, 9 more bytes dropped]\n"
        );
        let mut whole = Kept::new(100);
        whole.push_line("a");
        assert_eq!(whole.into_text(), "a\n");
    }

    #[test]
    fn the_console_copy_is_capped_and_drains_the_rest() {
        let mut input = io::repeat(b'c').take(1 << 20);
        let mut out = Vec::new();
        let read = copy_capped(&mut input, &mut out, 100).expect("copy");
        assert_eq!(read, 1 << 20);
        let mut want = "c".repeat(100);
        want.push_str(
            "\n[git-buildkit: the console log stops here: it reached its limit of 100 bytes]\n",
        );
        assert_eq!(String::from_utf8(out).expect("utf8"), want);
        let mut out = Vec::new();
        copy_capped(&mut &b"boot\n"[..], &mut out, 100).expect("copy");
        assert_eq!(out, b"boot\n");
    }
}
