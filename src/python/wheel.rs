//! A wheel file opened and checked: its name, metadata, entry points and
//! every member with the scheme it installs into. (helper A)
use std::path::{Path, PathBuf};

use super::entry_points::EntryPoint;
use super::filename::WheelName;
use super::metadata::Metadata;
use super::PythonError;

/// Where a member of a wheel installs (the install schemes of PEP 427).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Pure modules (site-packages).
    Purelib,
    /// Platform-specific modules (site-packages).
    Platlib,
    /// `.data/scripts/`.
    Scripts,
    /// `.data/headers/`.
    Headers,
    /// `.data/data/` (relative to the prefix, `/usr`).
    Data,
}

/// One member of a wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFile {
    /// Its index in the zip archive.
    pub index: usize,
    /// Its path in the archive.
    pub zip_path: String,
    /// Where it installs.
    pub scheme: Scheme,
    /// Its path relative to the scheme's directory.
    pub rel: String,
    /// Its permission bits (0o644 or 0o755).
    pub mode: u32,
    /// Its size in bytes.
    pub size: u64,
}

/// A wheel, checked against its `RECORD`.
#[derive(Debug, Clone)]
pub struct Wheel {
    /// The file.
    pub path: PathBuf,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its parsed file name.
    pub name: WheelName,
    /// `.dist-info/METADATA`.
    pub metadata: Metadata,
    /// `Root-Is-Purelib` of `.dist-info/WHEEL`.
    pub root_is_purelib: bool,
    /// Its console and GUI scripts.
    pub entry_points: Vec<EntryPoint>,
    /// Every member to install (dist-info's RECORD, INSTALLER, REQUESTED,
    /// direct_url.json and signatures, and any `.pyc`, are not listed).
    pub files: Vec<WheelFile>,
    /// The `.dist-info` directory's name.
    pub dist_info: String,
    /// The newest member time, in seconds since the epoch.
    pub newest_mtime: u64,
}

impl Wheel {
    /// Opens and checks `path`.
    pub fn open(path: &Path) -> Result<Self, PythonError> {
        todo!("A: {}", path.display())
    }

    /// Writes every member of `files` under `dir` (`dir/<zip_path>`), with
    /// its mode; returns nothing else. Paths are checked: nothing leaves `dir`.
    pub fn extract(&self, dir: &Path) -> Result<(), PythonError> {
        todo!("A: {}", dir.display())
    }

    /// A dist-info member's bytes (for licence files), at most `limit`.
    pub fn read_member(&self, zip_path: &str, limit: u64) -> Result<Vec<u8>, PythonError> {
        todo!("A: {zip_path} {limit}")
    }
}
