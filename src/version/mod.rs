//! Versions: the mapping from semver version tags to Debian versions, and Debian version
//! parsing and ordering identical to dpkg's.
//!
//! A Debian version is `[epoch:]upstream[-revision]` as described in deb-version(7).
//! [`DebVersion::parse`] accepts exactly the versions that dpkg accepts without a warning
//! (except that dpkg trims surrounding blanks, which are refused here), and the ordering of
//! [`DebVersion`] is the one of `verrevcmp` in dpkg's `lib/dpkg/version.c`: `a < b` here
//! exactly when `dpkg --compare-versions a lt b` succeeds, and `a == b` exactly when
//! `dpkg --compare-versions a eq b` does (so `1.0`, `1.00`, `0:1.0` and `1.0-0` are equal).
//!
//! A version tag is a prefix (by default `v`) followed by a semantic version without build
//! metadata. [`TagScheme`] maps it to a Debian version that keeps semver precedence as far as
//! dpkg's ordering allows: `v1.2.0-rc.1` becomes `1.2.0~rc.1-1`, which sorts before `1.2.0-1`.
//!
//! [`debian`] holds the Debian version and dpkg's ordering, [`tag`] the
//! mapping from version tags; the tests compare both with the real dpkg.

mod debian;
mod tag;
#[cfg(test)]
mod tests;

pub use debian::{DebVersion, DebVersionReason};
pub use tag::TagScheme;

/// A snapshot build's Debian version (`1.2.0+3.gabc1234-1`, what packaging
/// an untagged commit gives): the commits after the release and the
/// release's upstream version. `None` for a release's version.
pub fn snapshot_of(version: &str) -> Option<(u32, &str)> {
    let upstream = version.rsplit_once('-').map_or(version, |(u, _)| u);
    let upstream = upstream.split_once(':').map_or(upstream, |(_, u)| u);
    let (release, tail) = upstream.rsplit_once('+')?;
    let (count, hash) = tail.split_once(".g")?;
    let hex = hash.len() >= 7 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    let count: u32 = count.parse().ok().filter(|_| hex && !release.is_empty())?;
    Some((count, release))
}

/// Everything that can go wrong while parsing versions or mapping tags to Debian versions.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// A string is not a valid Debian version.
    #[error("invalid Debian version {input:?}: {reason}")]
    InvalidDebVersion {
        input: String,
        reason: DebVersionReason,
    },
    /// A tag name does not start with the prefix of the tag scheme.
    #[error("tag {tag:?} does not start with the version tag prefix {prefix:?}")]
    MissingTagPrefix { tag: String, prefix: String },
    /// What follows the prefix in a tag name is not a semantic version.
    #[error("{version:?} in tag {tag:?} is not a semantic version")]
    NotSemver {
        tag: String,
        version: String,
        #[source]
        source: semver::Error,
    },
    /// A tag name carries build metadata (`+...`).
    #[error("build metadata is not allowed in a version tag: {tag:?}")]
    TagBuildMetadata { tag: String },
    /// A semantic version carries build metadata, which has no Debian equivalent.
    #[error("build metadata is not allowed in a packaged version: {version}")]
    BuildMetadata { version: semver::Version },
    /// A pre-release contains a character that cannot be represented in a Debian version.
    #[error("pre-release of {version} contains {character:?}, not representable in Debian")]
    UnrepresentablePrerelease {
        version: semver::Version,
        character: char,
    },
}
