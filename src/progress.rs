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
