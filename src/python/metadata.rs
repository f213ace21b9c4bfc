//! `METADATA` (core metadata 1.0 to 2.4: RFC 822 headers, the body being
//! the long description).
use std::str::FromStr;

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
    /// `License`.
    pub license: Option<String>,
    /// `License-Expression` (2.4).
    pub license_expression: Option<String>,
    /// `License-File` (2.4), paths relative to `.dist-info/licenses/`.
    pub license_files: Vec<String>,
    /// `Classifier: License :: ...` entries.
    pub license_classifiers: Vec<String>,
    /// `Author`, else `Author-email`.
    pub author: Option<String>,
    /// `Home-page`, else the first `Project-URL`.
    pub home_page: Option<String>,
    /// The long description (the body, or `Description`).
    pub description: Option<String>,
}

/// The header fields of an RFC 822 style text, in order, and its body.
fn headers(text: &str) -> (Vec<(String, String)>, Option<String>) {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut lines = text.lines();
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim_start().trim_start_matches('|'));
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let body: String = lines.collect::<Vec<_>>().join("\n");
    let body = body.trim();
    (fields, (!body.is_empty()).then(|| body.to_owned()))
}

/// A PEP 508 requirement, parsed only when its name and extras are
/// well-formed: pep508_rs panics on some malformed names (`a_ b`), so they
/// are refused here first, and a panic left in it becomes an error.
pub fn requirement(text: &str) -> Result<pep508_rs::Requirement, String> {
    let well_formed = |name: &str| {
        let b = name.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    };
    let head = text.split(';').next().unwrap_or("").trim_start();
    let name_end = head
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(head.len());
    if !text.is_ascii() || !well_formed(&head[..name_end]) {
        return Err(format!(
            "{:?} is not a distribution name",
            &head[..name_end]
        ));
    }
    if let Some(extras) = head[name_end..].trim_start().strip_prefix('[') {
        let list = extras.split(']').next().unwrap_or("");
        if !list
            .split(',')
            .map(str::trim)
            .all(|e| e.is_empty() || well_formed(e))
        {
            return Err(format!("[{list}] are not extra names"));
        }
    }
    std::panic::catch_unwind(|| pep508_rs::Requirement::from_str(text))
        .map_err(|_| "not a requirement pep508_rs can read".to_owned())?
        .map_err(|e| e.to_string())
}

impl Metadata {
    /// Parses `text`; a missing `Name` or `Version` is an error.
    pub fn parse(text: &str, origin: &str) -> Result<Self, PythonError> {
        let (fields, body) = headers(text);
        let one = |name: &str| {
            fields
                .iter()
                .find(|(n, v)| n == name && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        let all = |name: &str| {
            fields
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        };
        let missing = |field: &str| PythonError::Metadata {
            origin: origin.to_owned(),
            reason: format!("no {field} field"),
        };
        let pep = |reason: String| PythonError::Pep {
            origin: origin.to_owned(),
            reason,
        };
        // pep440_rs and pep508_rs index strings by byte and can panic on
        // multi-byte characters: what they read must be ASCII.
        let ascii = |field: &str, value: &str| {
            if value.is_ascii() {
                Ok(())
            } else {
                Err(pep(format!("{field} {value:?} is not ASCII")))
            }
        };
        let name = one("name").ok_or_else(|| missing("Name"))?;
        let version = one("version").ok_or_else(|| missing("Version"))?;
        ascii("Version", &version)?;
        ascii("Name", &name)?;
        let version = pep440_rs::Version::from_str(&version)
            .map_err(|e| pep(format!("Version {version:?}: {e}")))?;
        let mut requires_dist = Vec::new();
        for r in all("requires-dist") {
            ascii("Requires-Dist", &r)?;
            requires_dist
                .push(requirement(&r).map_err(|e| pep(format!("Requires-Dist {r:?}: {e}")))?);
        }
        let requires_python = one("requires-python")
            .map(|r| {
                ascii("Requires-Python", &r)?;
                pep440_rs::VersionSpecifiers::from_str(&r)
                    .map_err(|e| pep(format!("Requires-Python {r:?}: {e}")))
            })
            .transpose()?;
        Ok(Self {
            name,
            version,
            summary: one("summary"),
            requires_dist,
            requires_python,
            license: one("license"),
            license_expression: one("license-expression"),
            license_files: all("license-file"),
            license_classifiers: all("classifier")
                .into_iter()
                .filter(|c| c.starts_with("License ::"))
                .collect(),
            author: one("author").or_else(|| one("author-email")),
            home_page: one("home-page").or_else(|| {
                all("project-url")
                    .into_iter()
                    .find_map(|u| u.split_once(',').map(|(_, url)| url.trim().to_owned()))
            }),
            description: body.or_else(|| one("description")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUESTS: &str = "Metadata-Version: 2.4\nName: requests\nVersion: 2.34.2\nSummary: Python HTTP for Humans.\nHome-page: https://requests.readthedocs.io\nAuthor: Kenneth Reitz\nLicense: Apache-2.0\nClassifier: License :: OSI Approved :: Apache Software License\nRequires-Python: >=3.9\nLicense-File: LICENSE\nRequires-Dist: charset_normalizer<4,>=2\nRequires-Dist: idna<4,>=2.5\nRequires-Dist: PySocks!=1.5.7,>=1.5.6; extra == \"socks\"\nProvides-Extra: socks\n\n# Requests\n\nlong text\n";

    #[test]
    fn requests_metadata_is_read() {
        let m = Metadata::parse(REQUESTS, "METADATA").expect("parses");
        assert_eq!(m.name, "requests");
        assert_eq!(m.version.to_string(), "2.34.2");
        assert_eq!(m.requires_dist.len(), 3);
        assert_eq!(m.license_files, ["LICENSE"]);
        assert_eq!(m.license_classifiers.len(), 1);
        assert_eq!(m.description.as_deref(), Some("# Requests\n\nlong text"));
        assert_eq!(
            m.home_page.as_deref(),
            Some("https://requests.readthedocs.io")
        );
    }

    #[test]
    fn a_missing_name_or_version_is_named() {
        let e = Metadata::parse("Metadata-Version: 2.1\nVersion: 1.0\n", "x/METADATA")
            .expect_err("no name");
        assert_eq!(e.to_string(), "x/METADATA: no Name field");
        let e = Metadata::parse("Name: x\n", "M").expect_err("no version");
        assert_eq!(e.to_string(), "M: no Version field");
        assert!(Metadata::parse("Name: x\nVersion: not a version\n", "M").is_err());
        assert!(Metadata::parse("Name: x\nVersion: 1\nRequires-Dist: ((\n", "M").is_err());
    }
}
