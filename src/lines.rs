//! Reading lines of untrusted output with a bound on each: a build command
//! or a VM guest can print an endless line, and the host must hold no more
//! than a limit of it. What is cut is counted and shown with a marker.

use std::io::{self, BufRead};

/// The longest line kept of a build's or a guest's output; the rest of a
/// longer line is dropped (a real line is far shorter).
pub const MAX_LINE: usize = 64 * 1024;

/// One line of output, without its end (`\n` or the serial line's
/// `\r\n`); `dropped` bytes of it were cut because it was longer than the
/// reader's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's first bytes (lossy UTF-8), without `\n`.
    pub text: String,
    /// How many bytes were cut.
    pub dropped: u64,
}

impl Line {
    /// The line as shown: its text, and a marker when it was cut.
    pub fn shown(&self) -> String {
        if self.dropped == 0 {
            self.text.clone()
        } else {
            format!(
                "{} [git-buildkit: line cut, {} more bytes dropped]",
                self.text, self.dropped
            )
        }
    }
}

/// Reads lines of at most `max` bytes from a stream, never holding more.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    max: usize,
}

impl<R: BufRead> LineReader<R> {
    /// A reader keeping at most `max` bytes per line.
    pub fn new(inner: R, max: usize) -> Self {
        Self { inner, max }
    }

    /// The next line, or `None` at the end of the stream. A last line
    /// without `\n` is a line too.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        let mut kept: Vec<u8> = Vec::new();
        let mut dropped = 0u64;
        let mut any = false;
        let mut last = None;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            any = true;
            let (chunk, ended) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            let room = self.max.saturating_sub(kept.len());
            let take = chunk.len().min(room);
            kept.extend_from_slice(&chunk[..take]);
            dropped += (chunk.len() - take) as u64;
            last = chunk.last().copied().or(last);
            let used = ended.unwrap_or(buf.len());
            self.inner.consume(used);
            if ended.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if last == Some(b'\r') {
            if dropped > 0 {
                dropped -= 1;
            } else {
                kept.pop();
            }
        }
        Ok(Some(Line {
            text: String::from_utf8_lossy(&kept).into_owned(),
            dropped,
        }))
    }
}
