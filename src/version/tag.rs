//! Version tags: a prefix and a semantic version, mapped to a Debian
//! version that keeps semver precedence as far as dpkg's ordering allows.

use super::debian::validate_parts;
use super::{DebVersion, VersionError};

/// How a version tag maps to a Debian version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagScheme {
    /// The text before the semantic version in a tag name, `v` by default.
    pub prefix: String,
    /// The Debian revision of the packaged versions, `1` by default; empty for a native version.
    pub revision: String,
}

impl Default for TagScheme {
    fn default() -> Self {
        Self {
            prefix: "v".to_owned(),
            revision: "1".to_owned(),
        }
    }
}

impl TagScheme {
    /// Parses a tag name like `v1.2.0-rc.1` into its semantic version, refusing build metadata.
    pub fn parse_tag(&self, tag: &str) -> Result<semver::Version, VersionError> {
        let version = tag.strip_prefix(self.prefix.as_str()).ok_or_else(|| {
            VersionError::MissingTagPrefix {
                tag: tag.to_owned(),
                prefix: self.prefix.clone(),
            }
        })?;
        let parsed = semver::Version::parse(version).map_err(|source| VersionError::NotSemver {
            tag: tag.to_owned(),
            version: version.to_owned(),
            source,
        })?;
        if !parsed.build.is_empty() {
            return Err(VersionError::TagBuildMetadata {
                tag: tag.to_owned(),
            });
        }
        Ok(parsed)
    }

    /// Whether a tag name is a version tag of this scheme, that is whether it parses.
    pub fn is_version_tag(&self, tag: &str) -> bool {
        self.parse_tag(tag).is_ok()
    }

    /// The Debian version of a semantic version: `1.2.0` is `1.2.0-1`, `1.2.0-rc.1` is
    /// `1.2.0~rc.1-1`, with the scheme's revision (none when it is empty).
    pub fn debian_version(&self, v: &semver::Version) -> Result<DebVersion, VersionError> {
        if !v.build.is_empty() {
            return Err(VersionError::BuildMetadata { version: v.clone() });
        }
        let mut upstream = format!("{}.{}.{}", v.major, v.minor, v.patch);
        // The pre-release goes after a '~', so that every pre-release sorts before its
        // release, as in semver. Digits, letters and '.' are kept: dpkg compares runs of
        // digits as numbers and letters by ASCII, as semver compares numeric and alphanumeric
        // identifiers, so `rc.2 < rc.10` and `alpha < alpha.1 < alpha.beta < beta` hold in
        // both. A '-' cannot stay, as it would be taken for the revision separator (and is
        // refused in a native version): it becomes '+', which never occurs in a pre-release
        // ('+' starts build metadata), so the mapping stays one-to-one on strings, and an
        // identifier still sorts before one it is a prefix of (`rc < rc-1` as `rc < rc+1`).
        //
        // Known divergences between semver precedence and dpkg order of the mapped versions,
        // all rare in real tags (the test `prerelease_divergences` checks each):
        // - dpkg compares digits inside alphanumeric identifiers as numbers, semver as ASCII:
        //   semver has `a10 < a9` and `a < a0`, dpkg `a10 > a9` and `a == a0`, so distinct
        //   tags such as `v1.0.0-rc1` and `v1.0.0-rc01` map to versions that dpkg finds equal;
        // - semver sorts numeric identifiers before alphanumeric ones, dpkg compares the
        //   leading digits: `2 < 1a` in semver, `2 > 1a` in dpkg;
        // - '-' sorts before digits and letters in semver, '+' after them in dpkg:
        //   `a-b < a1` and `a-b < aa` in semver, `a+b > a1` and `a+b > aa` in dpkg;
        // - '.' ends an identifier in semver and is a plain character in dpkg: `rc.1 < rc1`
        //   and `a.b < a-b` in semver, `rc.1 > rc1` and `a.b > a+b` in dpkg.
        if !v.pre.is_empty() {
            upstream.push('~');
            for character in v.pre.as_str().chars() {
                match character {
                    '-' => upstream.push('+'),
                    c if c.is_ascii_alphanumeric() || c == '.' => upstream.push(c),
                    _ => {
                        return Err(VersionError::UnrepresentablePrerelease {
                            version: v.clone(),
                            character,
                        })
                    }
                }
            }
        }
        let version = DebVersion {
            epoch: 0,
            upstream,
            revision: self.revision.clone(),
        };
        validate_parts(&version.upstream, &version.revision, false).map_err(|reason| {
            VersionError::InvalidDebVersion {
                input: version.to_string(),
                reason,
            }
        })?;
        Ok(version)
    }

    /// The Debian version for a tag name, parsed with [`TagScheme::parse_tag`].
    pub fn tag_to_debian(&self, tag: &str) -> Result<DebVersion, VersionError> {
        self.debian_version(&self.parse_tag(tag)?)
    }

    /// The tag name of a version: the prefix followed by the version.
    pub fn tag_name(&self, v: &semver::Version) -> String {
        format!("{}{v}", self.prefix)
    }
}
