//! Lock files: pinned `requirements.txt` (with `--hash`) and `pylock.toml`
//! (PEP 751). (helper A)
use super::PythonError;

/// One pinned distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The distribution, PEP 503-normalised.
    pub name: String,
    /// The exact version.
    pub version: String,
    /// Accepted SHA-256 digests (hex), possibly none.
    pub sha256: Vec<String>,
    /// A wheel file name, when the lock names one.
    pub file: Option<String>,
    /// A marker kept for evaluation on the target, as written.
    pub marker: Option<String>,
}

/// `name==version [--hash=sha256:...]...` lines with `\` continuations;
/// anything that is not an exact pin is an error.
pub fn parse_requirements_lock(text: &str, origin: &str) -> Result<Vec<Pin>, PythonError> {
    todo!("A: {text} {origin}")
}

/// A `pylock.toml` (lock-version 1.x).
pub fn parse_pylock(text: &str, origin: &str) -> Result<Vec<Pin>, PythonError> {
    todo!("A: {text} {origin}")
}
