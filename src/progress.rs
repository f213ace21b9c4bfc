//! How the library reports progress without printing: the caller passes a
//! [`Listener`] (the CLI renders it on stderr; tests collect it).

use std::io::Write;

/// Receives progress from long-running library calls.
pub trait Listener: Send + Sync {
    /// A step started, e.g. `("Building", "hello 1.2.0-1")`.
    fn status(&self, verb: &str, what: &str);
    /// Something the user should know that is not a problem.
    fn note(&self, text: &str);
    /// Something that may be a problem.
    fn warn(&self, text: &str);
    /// Where a child program's output is streamed (a build command).
    fn output(&self) -> Box<dyn Write + Send + '_>;
}

/// A listener that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Listener for Silent {
    fn status(&self, _: &str, _: &str) {}
    fn note(&self, _: &str) {}
    fn warn(&self, _: &str) {}
    fn output(&self) -> Box<dyn Write + Send + '_> {
        Box::new(std::io::sink())
    }
}

/// A listener that passes everything on with a prefix (`[trixie] `) at
/// the start of each line: the runs of a suite matrix share the terminal,
/// and their lines stay readable (and greppable) side by side. Streamed
/// output is held until its line is complete, then written in one piece.
pub struct Prefixed<'a> {
    inner: &'a dyn Listener,
    prefix: String,
}

impl<'a> Prefixed<'a> {
    /// Prefixes what goes to `inner` with `prefix` (empty: passes it on as is).
    pub fn new(inner: &'a dyn Listener, prefix: String) -> Self {
        Self { inner, prefix }
    }
}

impl std::fmt::Debug for Prefixed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefixed")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Listener for Prefixed<'_> {
    fn status(&self, verb: &str, what: &str) {
        self.inner.status(verb, &format!("{}{what}", self.prefix));
    }
    fn note(&self, text: &str) {
        self.inner.note(&format!("{}{text}", self.prefix));
    }
    fn warn(&self, text: &str) {
        self.inner.warn(&format!("{}{text}", self.prefix));
    }
    fn output(&self) -> Box<dyn Write + Send + '_> {
        if self.prefix.is_empty() {
            return self.inner.output();
        }
        Box::new(PrefixedLines {
            inner: self.inner.output(),
            prefix: self.prefix.as_bytes(),
            line: Vec::new(),
        })
    }
}

/// The writer of [`Prefixed::output`]: whole lines, each with the prefix.
struct PrefixedLines<'a> {
    inner: Box<dyn Write + Send + 'a>,
    prefix: &'a [u8],
    line: Vec<u8>,
}

impl PrefixedLines<'_> {
    fn emit(&mut self, end: usize) -> std::io::Result<()> {
        let mut whole = self.prefix.to_vec();
        whole.extend(self.line.drain(..end));
        if whole.last() != Some(&b'\n') {
            whole.push(b'\n');
        }
        self.inner.write_all(&whole)
    }
}

impl Write for PrefixedLines<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        while let Some(end) = self.line.iter().position(|&b| b == b'\n') {
            self.emit(end + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // A partial line waits for its end: flushing it would split it.
        self.inner.flush()
    }
}

impl Drop for PrefixedLines<'_> {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            let end = self.line.len();
            let _ = self.emit(end);
        }
    }
}

/// Bytes as people read them: `12 B`, `320.0 KiB`, `1.5 GiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Collects what it is given.
    #[derive(Default)]
    struct Collect {
        lines: Mutex<Vec<String>>,
        output: std::sync::Arc<Mutex<Vec<u8>>>,
    }

    struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Listener for Collect {
        fn status(&self, verb: &str, what: &str) {
            self.lines
                .lock()
                .expect("lock")
                .push(format!("{verb} {what}"));
        }
        fn note(&self, text: &str) {
            self.lines
                .lock()
                .expect("lock")
                .push(format!("note: {text}"));
        }
        fn warn(&self, text: &str) {
            self.lines
                .lock()
                .expect("lock")
                .push(format!("warning: {text}"));
        }
        fn output(&self) -> Box<dyn Write + Send + '_> {
            Box::new(Shared(std::sync::Arc::clone(&self.output)))
        }
    }

    #[test]
    fn every_line_gets_the_prefix_and_partial_lines_wait_for_their_end() {
        let collect = Collect::default();
        let prefixed = Prefixed::new(&collect, "[trixie] ".into());
        prefixed.status("Booting", "the guest");
        prefixed.note("a");
        prefixed.warn("b");
        {
            let mut out = prefixed.output();
            out.write_all(b"one\ntw").expect("write");
            out.flush().expect("flush");
            assert_eq!(*collect.output.lock().expect("lock"), b"[trixie] one\n");
            out.write_all(b"o\nthree\n\nfour").expect("write");
        }
        assert_eq!(
            String::from_utf8_lossy(&collect.output.lock().expect("lock")),
            "[trixie] one\n[trixie] two\n[trixie] three\n[trixie] \n[trixie] four\n"
        );
        assert_eq!(
            *collect.lines.lock().expect("lock"),
            [
                "Booting [trixie] the guest",
                "note: [trixie] a",
                "warning: [trixie] b"
            ]
        );
    }
}
