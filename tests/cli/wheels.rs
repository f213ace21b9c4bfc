//! Wheels made by the tests, with the `zip` crate: a right RECORD unless a
//! test breaks it on purpose.

use std::io::Write;
use std::path::{Path, PathBuf};

use git_buildkit::python::record::urlsafe_b64 as b64;
use sha2::Digest;

/// How a crafted wheel is broken, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    None,
    /// RECORD's digest of the first file is wrong.
    BadHash,
}

/// Writes `dir/<name>-<version>-py3-none-any.whl` holding `files` (path,
/// contents) and a dist-info with `metadata` (the METADATA text) and
/// `entry_points`.
pub fn craft_wheel(
    dir: &Path,
    name: &str,
    version: &str,
    files: &[(&str, &[u8])],
    metadata: &str,
    entry_points: Option<&str>,
    flaw: Flaw,
) -> PathBuf {
    std::fs::create_dir_all(dir).expect("wheel dir");
    let path = dir.join(format!("{name}-{version}-py3-none-any.whl"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("wheel"));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    let info = format!("{name}-{version}.dist-info");
    let mut all: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(p, b)| ((*p).to_owned(), b.to_vec()))
        .collect();
    all.push((format!("{info}/METADATA"), metadata.as_bytes().to_vec()));
    all.push((
        format!("{info}/WHEEL"),
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
    ));
    if let Some(e) = entry_points {
        all.push((format!("{info}/entry_points.txt"), e.as_bytes().to_vec()));
    }
    let mut record = String::new();
    for (i, (p, b)) in all.iter().enumerate() {
        zip.start_file(p.as_str(), options).expect("member");
        zip.write_all(b).expect("write");
        let mut digest = b64(&sha2::Sha256::digest(b));
        if flaw == Flaw::BadHash && i == 0 {
            digest = b64(&sha2::Sha256::digest(b"something else"));
        }
        record.push_str(&format!("{p},sha256={digest},{}\n", b.len()));
    }
    record.push_str(&format!("{info}/RECORD,,\n"));
    zip.start_file(format!("{info}/RECORD"), options)
        .expect("record");
    zip.write_all(record.as_bytes()).expect("write");
    zip.finish().expect("finish");
    path
}

/// METADATA of `name` `version` requiring `requires`.
pub fn metadata(name: &str, version: &str, requires: &[&str]) -> String {
    let mut m = format!(
        "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test distribution {name}\nLicense: MIT\n"
    );
    for r in requires {
        m.push_str(&format!("Requires-Dist: {r}\n"));
    }
    m.push_str("\nA test distribution.\n");
    m
}
