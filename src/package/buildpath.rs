//! No build path in a package: after every build, a packaged file that
//! holds the path of the directory the build ran in (a shebang into a
//! virtualenv made there, a `RECORD`, a `.pc` file, a compiled-in path) is
//! an error naming the files. Such a file works on the build host and
//! nowhere else, and makes the package differ from build to build.
//!
//! The needles are the export on the host and the path the sandbox shows
//! it at; a hit counts only where the path ends (the next byte is not part
//! of a file name), so `/tmp/buildkit/srcx` is not one. Data files are
//! streamed through aho-corasick, `.gz` files decompressed (bounded),
//! symlink targets and control files (maintainer scripts) read too.
//! `-dbgsym` packages are exempt: DWARF names the build directory on
//! purpose. `allow-build-path` globs let listed files through.
use std::io::Read;

use aho_corasick::AhoCorasick;

use super::PackageError;
use crate::deb::{EntryKind, FileSource, PackageSpec};
use crate::progress::Listener;

/// At most this much of a `.gz` file is decompressed to look inside.
const MAX_GUNZIP: u64 = 64 << 20;

/// What to look for, and what may hold it.
#[derive(Debug, Clone, Default)]
pub struct Check {
    /// The paths that must not appear.
    pub needles: Vec<String>,
    /// Globs of package paths allowed to hold them (`allow-build-path`).
    pub allow: Vec<String>,
}

/// `*` any run of characters but `/`, `**` any run, `?` one character.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p {
            [] => s.is_empty(),
            [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| go(rest, &s[i..])),
            [b'*', rest @ ..] => (0..=s.len())
                .take_while(|&i| i == 0 || s[i - 1] != b'/')
                .any(|i| go(rest, &s[i..])),
            [b'?', rest @ ..] => !s.is_empty() && s[0] != b'/' && go(rest, &s[1..]),
            [c, rest @ ..] => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

fn ends_a_path(next: Option<u8>) -> bool {
    !next.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether `reader` holds one of the needles followed by a path's end.
fn holds(ac: &AhoCorasick, mut reader: impl Read) -> std::io::Result<bool> {
    // Overlap each chunk with the previous one's tail, so a needle that
    // spans two reads is found and its next byte is seen.
    let longest = ac.max_pattern_len();
    let mut buf = vec![0u8; 256 * 1024 + longest + 1];
    let mut kept = 0;
    loop {
        let n = reader.read(&mut buf[kept..])?;
        let end = kept + n;
        let last = n == 0;
        for m in ac.find_overlapping_iter(&buf[..end]) {
            let next = buf.get(m.end()).copied().filter(|_| m.end() < end);
            if m.end() == end && !last {
                continue;
            }
            if ends_a_path(next) {
                return Ok(true);
            }
        }
        if last {
            return Ok(false);
        }
        let keep = (longest + 1).min(end);
        buf.copy_within(end - keep..end, 0);
        kept = keep;
    }
}

impl Check {
    // Long function: each kind of content (file, gzip, symlink, control
    // member) read its own way, one loop.
    /// Checks every package but `-dbgsym` ones.
    pub fn run(
        &self,
        packages: &[(&str, &PackageSpec)],
        listener: &dyn Listener,
    ) -> Result<(), PackageError> {
        let needles: Vec<&String> = self.needles.iter().filter(|n| n.len() > 1).collect();
        if needles.is_empty() {
            return Ok(());
        }
        let ac = AhoCorasick::new(&needles).map_err(|e| PackageError::Io {
            path: std::path::PathBuf::from("/"),
            source: std::io::Error::other(e),
        })?;
        let mut found: Vec<(String, String)> = Vec::new();
        let mut allowed: Vec<String> = Vec::new();
        for (name, spec) in packages {
            if name.ends_with("-dbgsym") {
                continue;
            }
            for (path, entry) in spec.data.ordered() {
                let path = format!("/{path}");
                let hit = match &entry.kind {
                    EntryKind::Dir => false,
                    EntryKind::Symlink { target } => holds(&ac, target.as_bytes()).unwrap_or(false),
                    EntryKind::File { source, .. } => {
                        let reader: Box<dyn Read> = match source {
                            FileSource::Bytes(b) => Box::new(&b[..]),
                            FileSource::Path(p) => {
                                Box::new(std::fs::File::open(p).map_err(|source| {
                                    PackageError::Io {
                                        path: p.clone(),
                                        source,
                                    }
                                })?)
                            }
                        };
                        if path.ends_with(".gz") {
                            let mut bytes = Vec::new();
                            reader
                                .take(MAX_GUNZIP * 4)
                                .read_to_end(&mut bytes)
                                .map_err(|source| PackageError::Io {
                                    path: path.clone().into(),
                                    source,
                                })?;
                            let plain =
                                flate2::read::MultiGzDecoder::new(&bytes[..]).take(MAX_GUNZIP);
                            holds(&ac, &bytes[..]).unwrap_or(false)
                                || holds(&ac, plain).unwrap_or(false)
                        } else {
                            holds(&ac, reader).map_err(|source| PackageError::Io {
                                path: path.clone().into(),
                                source,
                            })?
                        }
                    }
                };
                if hit {
                    if self.allow.iter().any(|g| glob_match(g, &path)) {
                        allowed.push(format!("{name}: {path}"));
                    } else {
                        found.push(((*name).to_owned(), path));
                    }
                }
            }
            for file in &spec.control_files {
                if holds(&ac, &file.bytes[..]).unwrap_or(false) {
                    found.push(((*name).to_owned(), format!("DEBIAN/{}", file.name)));
                }
            }
        }
        if !allowed.is_empty() {
            listener.note(&format!(
                "the build's path is in {} (allowed by allow-build-path)",
                allowed.join(", ")
            ));
        }
        if found.is_empty() {
            return Ok(());
        }
        Err(PackageError::BuildPathInPackage {
            path: self.needles.join(" or "),
            files: found,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ac() -> AhoCorasick {
        AhoCorasick::new(["/tmp/buildkit/src"]).expect("automaton")
    }

    #[test]
    fn a_hit_needs_the_end_of_a_path() {
        assert!(holds(&ac(), &b"#!/tmp/buildkit/src/venv/bin/python"[..]).expect("read"));
        assert!(holds(&ac(), &b"x=\"/tmp/buildkit/src\""[..]).expect("read"));
        assert!(holds(&ac(), &b"/tmp/buildkit/src"[..]).expect("read"));
        assert!(!holds(&ac(), &b"/tmp/buildkit/srcfoo and /tmp/buildkit/sr"[..]).expect("read"));
    }

    #[test]
    fn a_needle_across_two_reads_is_found() {
        // A reader that hands out 7 bytes at a time.
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(7).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut text = vec![b'x'; 256 * 1024 - 5];
        text.extend_from_slice(b"/tmp/buildkit/src/bin");
        assert!(holds(&ac(), Slow(&text)).expect("read"));
        let mut text = vec![b'x'; 256 * 1024 - 5];
        text.extend_from_slice(b"/tmp/buildkit/srcbin");
        assert!(!holds(&ac(), Slow(&text)).expect("read"));
    }

    #[test]
    fn globs_match_package_paths() {
        assert!(glob_match("/usr/lib/x/*.pc", "/usr/lib/x/a.pc"));
        assert!(!glob_match("/usr/lib/x/*.pc", "/usr/lib/x/y/a.pc"));
        assert!(glob_match("/usr/lib/x/**", "/usr/lib/x/y/a.pc"));
        assert!(glob_match("/usr/bin/?", "/usr/bin/a"));
    }
}
