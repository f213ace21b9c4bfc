//! The repository's Packages files for real stanzas (`scripts/bench-index`).
//!
//! Reads a Packages file as the Debian archive writes it, keeps its first
//! COUNT stanzas and writes them as `repo add` would publish stanzas of
//! that text (no MD5sum, SHA1 or SHA512; sorted; cut into pieces and
//! compressed by the repository's own code) to DIR/Packages, .gz and .xz.
//! The text is the archive's: its one-line Description and
//! Description-md5 stay (a .deb added to our repository brings its full
//! Description instead).
//!
//!     cargo run --release --example index_sizes -- PACKAGES COUNT DIR

use std::io::Write;
use std::process::ExitCode;

use git_buildkit::apt::segments::{self, SegmentCache};
use git_buildkit::apt::Entry;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, count, dir] = args.as_slice() else {
        let _ = writeln!(std::io::stderr(), "usage: index_sizes PACKAGES COUNT DIR");
        return ExitCode::from(2);
    };
    match run(input, count, dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "index_sizes: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(input: &str, count: &str, dir: &str) -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = count.parse()?;
    let text = std::fs::read_to_string(input)?;
    let mut entries = Entry::parse_many(&text)?;
    entries.truncate(count);
    // The order a publish writes: package, version, architecture.
    entries.sort_by(Entry::index_order);
    let pieces = segments::pieces(
        entries
            .iter()
            .map(|e| (e.package.as_str(), e.text.as_str())),
    );
    let started = std::time::Instant::now();
    let index = SegmentCache::default().build(&pieces, &mut SegmentCache::default())?;
    let _ = writeln!(
        std::io::stderr(),
        "{} stanzas in {} pieces, compressed in {:.2} s",
        entries.len(),
        pieces.len(),
        started.elapsed().as_secs_f64()
    );
    let dir = std::path::Path::new(dir);
    std::fs::write(dir.join("Packages"), &index.text)?;
    std::fs::write(dir.join("Packages.gz"), &index.gz)?;
    std::fs::write(dir.join("Packages.xz"), &index.xz)?;
    Ok(())
}
