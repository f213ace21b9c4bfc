//! PEP 440 versions as Debian versions, and version specifiers as Debian
//! relations. (helper A)

/// The Debian upstream version of a PEP 440 version, ordering as PEP 440
/// does under `dpkg --compare-versions`.
pub fn debian_upstream(v: &pep440_rs::Version) -> String {
    todo!("A: {v}")
}

/// The relations on `pkg` that `spec` translates to.
pub fn relations(
    pkg: &str,
    spec: &pep440_rs::VersionSpecifiers,
    built: Option<&pep440_rs::Version>,
) -> Vec<String> {
    todo!("A: {pkg} {spec} {built:?}")
}
