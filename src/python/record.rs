//! `RECORD`: the CSV list of a wheel's files with their hashes. (helper A)
use super::PythonError;

/// One line of `RECORD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    /// The path inside the wheel.
    pub path: String,
    /// The SHA-256 digest (`sha256=` urlsafe base64), if given.
    pub sha256: Option<[u8; 32]>,
    /// The size in bytes, if given.
    pub size: Option<u64>,
}

/// Parses `RECORD` (quoted CSV); weak hashes (md5, sha1) are refused.
pub fn parse_record(text: &str, origin: &str) -> Result<Vec<RecordEntry>, PythonError> {
    todo!("A: {text} {origin}")
}
