//! Property tests over every parser that reads outside input (issue 9, item
//! 4): the `.deb` reader, control stanzas, Packages entries and the index
//! cache, Debian versions and tags, `.buildkit.toml`, DEP-8 control files,
//! HTTP request heads, targets and ranges, and the guest's frames.
//!
//! Each parser gets arbitrary bytes and structured near-valid input (valid
//! files with bytes flipped, cut, spliced) and must return, never panic;
//! where a writer exists, what it writes reads back the same. They live
//! here, apart from the parsers, so that the files they test stay small
//! and other work on those files does not collide with them.
//!
//! `make test` runs each property a few thousand times (about 20 s in
//! total, debug build); `PROPTEST_CASES=N` sets the count for every
//! property, and `make fuzz` runs them for about an hour.

mod config;
mod control;
mod deb_reader;
mod dep8;
mod elf;
mod frames;
mod http;
mod index;
mod python;
mod version;

use proptest::prelude::*;
use proptest::test_runner::Config;

/// The runner settings: `default_cases` unless `PROPTEST_CASES` says
/// otherwise, and no regression files written into the source tree (a
/// failure prints its minimal input; fix it and add a unit test).
pub(crate) fn config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// One edit of a byte string: a near-miss of a valid input.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    /// Replace the byte at (position modulo length).
    Set(usize, u8),
    /// Insert bytes at the position.
    Insert(usize, Vec<u8>),
    /// Remove up to `n` bytes at the position.
    Remove(usize, usize),
    /// Cut everything from the position on.
    Truncate(usize),
    /// Copy a slice of the input to another place (duplicates structure).
    Splice(usize, usize, usize),
}

/// Up to `max` edits.
pub(crate) fn edits(max: usize) -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Set(p, b)),
        2 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(p, b)| Edit::Insert(p, b)),
        2 => (any::<usize>(), 1usize..64).prop_map(|(p, n)| Edit::Remove(p, n)),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => (any::<usize>(), any::<usize>(), 1usize..256)
            .prop_map(|(from, to, n)| Edit::Splice(from, to, n)),
    ];
    proptest::collection::vec(edit, 1..=max)
}

/// `input` with the edits applied.
pub(crate) fn apply(input: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = input.to_vec();
    for edit in edits {
        let at = |p: usize, out: &Vec<u8>| {
            if out.is_empty() {
                0
            } else {
                p % (out.len() + 1)
            }
        };
        match edit {
            Edit::Set(p, b) => {
                if !out.is_empty() {
                    let i = p % out.len();
                    out[i] = *b;
                }
            }
            Edit::Insert(p, bytes) => {
                let i = at(*p, &out);
                out.splice(i..i, bytes.iter().copied());
            }
            Edit::Remove(p, n) => {
                let i = at(*p, &out);
                let end = (i + n).min(out.len());
                out.drain(i..end);
            }
            Edit::Truncate(p) => {
                let i = at(*p, &out);
                out.truncate(i);
            }
            Edit::Splice(from, to, n) => {
                let i = at(*from, &out);
                let end = (i + n).min(out.len());
                let piece: Vec<u8> = out[i..end].to_vec();
                let j = at(*to, &out);
                out.splice(j..j, piece);
            }
        }
    }
    out
}

/// Text edits: byte edits on the UTF-8, read back lossily.
pub(crate) fn apply_text(input: &str, edits: &[Edit]) -> String {
    String::from_utf8_lossy(&apply(input.as_bytes(), edits)).into_owned()
}
