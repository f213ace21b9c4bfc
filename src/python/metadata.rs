//! `METADATA` (core metadata 1.0 to 2.4: RFC 822 headers, the body being
//! the long description). (helper A)
use super::PythonError;

/// What packaging needs from a distribution's metadata.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// `Name`.
    pub name: String,
    /// `Version`.
    pub version: pep440_rs::Version,
    /// `Summary`.
    pub summary: Option<String>,
    /// `Requires-Dist`, markers included.
    pub requires_dist: Vec<pep508_rs::Requirement>,
    /// `Requires-Python`.
    pub requires_python: Option<pep440_rs::VersionSpecifiers>,
    /// `Provides-Extra`.
    pub provides_extra: Vec<String>,
    /// `License`.
    pub license: Option<String>,
    /// `License-Expression` (2.4).
    pub license_expression: Option<String>,
    /// `License-File` (2.4), paths relative to `.dist-info/licenses/`.
    pub license_files: Vec<String>,
    /// `Classifier: License :: ...` entries.
    pub license_classifiers: Vec<String>,
    /// `Author` / `Author-email`.
    pub author: Option<String>,
    /// `Home-page`, else the first `Project-URL`.
    pub home_page: Option<String>,
    /// `Project-URL` entries (label, URL).
    pub project_urls: Vec<(String, String)>,
    /// The long description (the body, or `Description`).
    pub description: Option<String>,
}

impl Metadata {
    /// Parses `text`; a missing `Name` or `Version` is an error.
    pub fn parse(text: &str, origin: &str) -> Result<Self, PythonError> {
        todo!("A: {text} {origin}")
    }
}
