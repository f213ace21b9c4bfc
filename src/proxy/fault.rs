//! The fault log: one JSON line per request the proxy could not answer
//! from upstream or its cache, so that a VM test's verdict can name the
//! package that could not be fetched (issue 11, item 4). The file is
//! appended to with `O_APPEND` by every proxy process of a run and is
//! bounded, so a guest retrying in a loop cannot fill the disk.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Most lines a fault log holds; later faults are dropped.
pub const MAX_FAULTS: usize = 100;

/// One request the proxy answered with an error, or cut short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The upstream URL.
    pub url: String,
    /// The path below the mirror's root (`pool/main/j/jq/jq_1.6-2.1_amd64.deb`).
    pub path: String,
    /// The status the client got (502, 504, 404; 502 also for a body cut short).
    pub status: u16,
    /// Why, in a few words.
    pub reason: String,
}

/// Appends `fault` to the log at `path`, unless it already holds
/// [`MAX_FAULTS`] lines. Failing to log is not an error of the request.
pub(crate) fn append(path: &Path, fault: &Fault) {
    let lines = std::fs::File::open(path)
        .map(|file| BufReader::new(file).lines().count())
        .unwrap_or(0);
    if lines >= MAX_FAULTS {
        return;
    }
    let Ok(mut line) = serde_json::to_string(fault) else {
        return;
    };
    line.push('\n');
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        // One write per line: appends of concurrent processes do not mix.
        let _ = file.write_all(line.as_bytes());
    }
}

/// The faults logged at `path`; none when it does not exist. Lines that
/// are not faults (a torn write) are skipped.
pub fn read_faults(path: &Path) -> Vec<Fault> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The package and version a pool path names:
/// `pool/main/j/jq/jq_1.6-2.1_amd64.deb` → `("jq", "1.6-2.1")`. A
/// [`Fault`]'s path is decoded already (the proxy's route decodes it once),
/// so nothing is decoded here; a name with a control character is `None`,
/// as is what is not a `.deb` or `.udeb` named `name_version_arch`.
pub fn package_of(path: &str) -> Option<(String, String)> {
    let name = path.rsplit('/').next()?;
    if name.chars().any(char::is_control) {
        return None;
    }
    let stem = name
        .strip_suffix(".deb")
        .or_else(|| name.strip_suffix(".udeb"))?;
    let mut parts = stem.split('_');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(package), Some(version), Some(_arch), None)
            if !package.is_empty() && !version.is_empty() =>
        {
            Some((package.to_owned(), version.to_owned()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn names_the_package_of_a_pool_path() {
        assert_eq!(
            package_of("pool/main/j/jq/jq_1.6-2.1_amd64.deb"),
            Some(("jq".to_owned(), "1.6-2.1".to_owned()))
        );
        assert_eq!(
            package_of("pool/main/s/sys/libfoo_1:2.0~rc1_all.udeb"),
            Some(("libfoo".to_owned(), "1:2.0~rc1".to_owned()))
        );
        // Decoded once already: an escape stays text, a control byte is refused.
        assert_eq!(
            package_of("pool/main/x/x/x_1%1b_all.deb"),
            Some(("x".to_owned(), "1%1b".to_owned()))
        );
        assert_eq!(package_of("pool/main/x/x/x_1\x1b_all.deb"), None);
        for path in [
            "dists/bookworm/InRelease",
            "pool/main/j/jq/jq_1.6.dsc",
            "pool/main/j/jq/jq_amd64.deb",
            "pool/main/j/jq/_1_amd64.deb",
            "pool/x/a_1_2_3.deb",
        ] {
            assert_eq!(package_of(path), None, "{path}");
        }
    }

    #[test]
    fn the_log_is_bounded_and_reads_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = dir.path().join("faults.jsonl");
        assert_eq!(read_faults(&log), []);
        let fault = |i: usize| Fault {
            url: format!("http://m/debian/pool/x{i}"),
            path: format!("pool/x{i}"),
            status: 502,
            reason: "upstream unreachable".to_owned(),
        };
        for i in 0..MAX_FAULTS + 5 {
            append(&log, &fault(i));
        }
        let read = read_faults(&log);
        assert_eq!(read.len(), MAX_FAULTS);
        assert_eq!(read[0], fault(0));
        assert_eq!(read[MAX_FAULTS - 1], fault(MAX_FAULTS - 1));
    }
}
