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

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The largest epoch dpkg accepts (`INT_MAX` in its `parseversion`).
const MAX_EPOCH: u32 = 2_147_483_647;

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

/// Why a string is not a valid Debian version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebVersionReason {
    /// The string is empty.
    Empty,
    /// The string contains whitespace.
    Whitespace,
    /// Nothing comes before the `:` that ends the epoch.
    EmptyEpoch,
    /// What comes before the first `:` is not a decimal number.
    EpochNotNumber,
    /// The epoch is larger than dpkg accepts.
    EpochTooLarge,
    /// The upstream version is empty.
    EmptyUpstream,
    /// The upstream version does not start with a digit.
    UpstreamStartsWithNonDigit,
    /// The upstream version contains a character that is not allowed there.
    InvalidUpstreamChar(char),
    /// Nothing comes after the last `-`.
    EmptyRevision,
    /// The revision contains a character that is not allowed there.
    InvalidRevisionChar(char),
}

impl fmt::Display for DebVersionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the version is empty"),
            Self::Whitespace => f.write_str("it contains whitespace"),
            Self::EmptyEpoch => f.write_str("the epoch before ':' is empty"),
            Self::EpochNotNumber => f.write_str("the epoch before ':' is not a decimal number"),
            Self::EpochTooLarge => write!(f, "the epoch is larger than {MAX_EPOCH}"),
            Self::EmptyUpstream => f.write_str("the upstream version is empty"),
            Self::UpstreamStartsWithNonDigit => {
                f.write_str("the upstream version does not start with a digit")
            }
            Self::InvalidUpstreamChar(c) => {
                write!(f, "invalid character {c:?} in the upstream version")
            }
            Self::EmptyRevision => f.write_str("the revision after the last '-' is empty"),
            Self::InvalidRevisionChar(c) => write!(f, "invalid character {c:?} in the revision"),
        }
    }
}

/// A Debian package version: `[epoch:]upstream[-revision]`.
///
/// Equality, hashing and ordering follow dpkg, not the strings: `1.0`, `1.00`, `0:1.0` and
/// `1.0-0` are all equal, while [`fmt::Display`] prints the strings as they were parsed.
#[derive(Debug, Clone)]
pub struct DebVersion {
    /// The epoch, 0 when absent.
    pub epoch: u32,
    /// The upstream version, which starts with a digit.
    pub upstream: String,
    /// The Debian revision, empty when absent.
    pub revision: String,
}

impl DebVersion {
    /// Parses a Debian version following the rules of deb-version(7) as dpkg enforces them.
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        Self::parse_parts(s).map_err(|reason| VersionError::InvalidDebVersion {
            input: s.to_owned(),
            reason,
        })
    }

    fn parse_parts(s: &str) -> Result<Self, DebVersionReason> {
        if s.is_empty() {
            return Err(DebVersionReason::Empty);
        }
        if s.chars().any(char::is_whitespace) {
            return Err(DebVersionReason::Whitespace);
        }
        // Like dpkg: the epoch ends at the first ':', the revision starts after the last '-'.
        let (epoch, rest) = match s.split_once(':') {
            Some((epoch, rest)) => (Some(parse_epoch(epoch)?), rest),
            None => (None, s),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((_, "")) => return Err(DebVersionReason::EmptyRevision),
            Some((upstream, revision)) => (upstream, revision),
            None => (rest, ""),
        };
        validate_parts(upstream, revision, epoch.is_some())?;
        Ok(Self {
            epoch: epoch.unwrap_or(0),
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
        })
    }
}

/// Parses the epoch, the text before the first `:`.
fn parse_epoch(s: &str) -> Result<u32, DebVersionReason> {
    if s.is_empty() {
        return Err(DebVersionReason::EmptyEpoch);
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DebVersionReason::EpochNotNumber);
    }
    // Only digits are left, so parsing fails only on overflow.
    match s.parse::<u32>() {
        Ok(epoch) if epoch <= MAX_EPOCH => Ok(epoch),
        _ => Err(DebVersionReason::EpochTooLarge),
    }
}

/// Checks the upstream version and the revision; `epoch_written` tells whether an epoch (and
/// so a `:` before the upstream version) is written.
fn validate_parts(
    upstream: &str,
    revision: &str,
    epoch_written: bool,
) -> Result<(), DebVersionReason> {
    let mut chars = upstream.chars();
    match chars.next() {
        None => return Err(DebVersionReason::EmptyUpstream),
        Some(c) if !c.is_ascii_digit() => return Err(DebVersionReason::UpstreamStartsWithNonDigit),
        Some(_) => {}
    }
    let upstream_char_ok = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '.' | '+' | '~')
            || (c == '-' && !revision.is_empty())
            || (c == ':' && epoch_written)
    };
    if let Some(c) = chars.find(|&c| !upstream_char_ok(c)) {
        return Err(DebVersionReason::InvalidUpstreamChar(c));
    }
    let revision_char_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~');
    if let Some(c) = revision.chars().find(|&c| !revision_char_ok(c)) {
        return Err(DebVersionReason::InvalidRevisionChar(c));
    }
    Ok(())
}

impl fmt::Display for DebVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A zero epoch is written only when the upstream version contains a ':', which would
        // otherwise be read as the end of an epoch.
        if self.epoch != 0 || self.upstream.contains(':') {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.upstream)?;
        if !self.revision.is_empty() {
            write!(f, "-{}", self.revision)?;
        }
        Ok(())
    }
}

impl FromStr for DebVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Ord for DebVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

impl PartialOrd for DebVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DebVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DebVersion {}

impl Hash for DebVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.epoch.hash(state);
        hash_part(&self.upstream, state);
        hash_part(&self.revision, state);
    }
}

/// Splits a version part into dpkg's alternating runs: each item is a run of non-digits
/// (empty only at the start) and the run of digits after it, without its leading zeros
/// (empty for zero, and at the end of a string that ends with a non-digit).
fn segments(s: &str) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = s.as_bytes();
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let text_len = rest
            .iter()
            .position(u8::is_ascii_digit)
            .unwrap_or(rest.len());
        let (text, after_text) = rest.split_at(text_len);
        let digits_len = after_text
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(after_text.len());
        let (digits, after_digits) = after_text.split_at(digits_len);
        rest = after_digits;
        let zeros = digits.iter().take_while(|&&b| b == b'0').count();
        Some((text, &digits[zeros..]))
    })
}

/// Compares two upstream versions or two revisions exactly like dpkg's `verrevcmp`.
///
/// Both strings are compared as sequences of (non-digit run, digit run) pairs, a string that
/// runs out counting as empty pairs: non-digit runs character by character, where `~` sorts
/// before the end of the run, which sorts before letters, which sort before all other
/// characters; digit runs as numbers of any length.
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let mut a = segments(a);
    let mut b = segments(b);
    loop {
        let (a_text, a_digits, b_text, b_digits) = match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let (a_text, a_digits) = x.unwrap_or_default();
                let (b_text, b_digits) = y.unwrap_or_default();
                (a_text, a_digits, b_text, b_digits)
            }
        };
        let order = compare_text(a_text, b_text).then_with(|| {
            // Without leading zeros, a longer run of digits is a larger number.
            a_digits
                .len()
                .cmp(&b_digits.len())
                .then_with(|| a_digits.cmp(b_digits))
        });
        if order.is_ne() {
            return order;
        }
    }
}

/// Compares two runs of non-digits with dpkg's character weights.
fn compare_text(a: &[u8], b: &[u8]) -> Ordering {
    (0..a.len().max(b.len()))
        .map(|i| weight(a.get(i).copied()).cmp(&weight(b.get(i).copied())))
        .find(|order| order.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// The weight of a non-digit character in dpkg's `order`; `None` is the end of the run.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// Hashes a version part so that parts that `verrevcmp` finds equal hash the same.
///
/// Equal parts have the same segments up to trailing empty ones, and an empty segment (no
/// text, zero) can only be the first one, so leaving out empty segments is enough.
fn hash_part<H: Hasher>(s: &str, state: &mut H) {
    let mut count = 0_usize;
    for (text, digits) in segments(s) {
        if text.is_empty() && digits.is_empty() {
            continue;
        }
        text.hash(state);
        digits.hash(state);
        count += 1;
    }
    count.hash(state);
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    use Ordering::{Equal, Greater, Less};

    fn deb(s: &str) -> DebVersion {
        DebVersion::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn semver(s: &str) -> semver::Version {
        semver::Version::parse(s).unwrap_or_else(|e| panic!("{s:?} should be semver: {e}"))
    }

    fn hash_of(v: &DebVersion) -> u64 {
        let mut hasher = DefaultHasher::new();
        v.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn parse_valid() {
        let cases: &[(&str, u32, &str, &str)] = &[
            ("1.0", 0, "1.0", ""),
            ("0", 0, "0", ""),
            ("1.0-1", 0, "1.0", "1"),
            ("1:1.0-1", 1, "1.0", "1"),
            ("0:1.0", 0, "1.0", ""),
            ("001:1.0", 1, "1.0", ""),
            ("2147483647:1", 2_147_483_647, "1", ""),
            ("1.0-1-2", 0, "1.0-1", "2"),
            ("2:1.0:3-1", 2, "1.0:3", "1"),
            ("1:2:3", 1, "2:3", ""),
            (
                "1.0~rc1+dfsg.2-0ubuntu1~18.04",
                0,
                "1.0~rc1+dfsg.2",
                "0ubuntu1~18.04",
            ),
            ("1.0-~", 0, "1.0", "~"),
            ("1.0-a", 0, "1.0", "a"),
            ("1a", 0, "1a", ""),
            ("1.", 0, "1.", ""),
            ("1~~+.Za", 0, "1~~+.Za", ""),
            ("1.0--1", 0, "1.0-", "1"),
        ];
        for &(input, epoch, upstream, revision) in cases {
            let v = deb(input);
            assert_eq!(
                (v.epoch, v.upstream.as_str(), v.revision.as_str()),
                (epoch, upstream, revision),
                "parsing {input:?}"
            );
            let via_from_str: DebVersion = input.parse().expect("FromStr agrees with parse");
            assert_eq!(via_from_str.upstream, v.upstream);
        }
    }

    #[test]
    fn parse_invalid() {
        use DebVersionReason as R;
        let cases: &[(&str, DebVersionReason)] = &[
            ("", R::Empty),
            (" 1.0", R::Whitespace),
            ("1.0 ", R::Whitespace),
            ("1 .0", R::Whitespace),
            ("1.0\t", R::Whitespace),
            ("1.0\n", R::Whitespace),
            (":1.0", R::EmptyEpoch),
            ("a:1.0", R::EpochNotNumber),
            ("-1:1.0", R::EpochNotNumber),
            ("+1:1.0", R::EpochNotNumber),
            ("1.0:1", R::EpochNotNumber),
            ("2147483648:1.0", R::EpochTooLarge),
            ("99999999999999999999:1", R::EpochTooLarge),
            ("1:", R::EmptyUpstream),
            ("-1", R::EmptyUpstream),
            ("1:-1", R::EmptyUpstream),
            ("1.0-", R::EmptyRevision),
            ("1:1.0-", R::EmptyRevision),
            ("a1.0", R::UpstreamStartsWithNonDigit),
            ("~1", R::UpstreamStartsWithNonDigit),
            (".1-1", R::UpstreamStartsWithNonDigit),
            ("1.0_1", R::InvalidUpstreamChar('_')),
            ("1.0é", R::InvalidUpstreamChar('é')),
            ("1.0/1-1", R::InvalidUpstreamChar('/')),
            ("1.0-1_2", R::InvalidRevisionChar('_')),
            ("1:1.0-1:2", R::InvalidRevisionChar(':')),
            ("1.0-1,2", R::InvalidRevisionChar(',')),
        ];
        for &(input, expected) in cases {
            match DebVersion::parse(input) {
                Err(VersionError::InvalidDebVersion { input: got, reason }) => {
                    assert_eq!(got, input);
                    assert_eq!(reason, expected, "parsing {input:?}");
                }
                other => panic!("parsing {input:?} should fail with {expected:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn error_messages() {
        let err = DebVersion::parse("1.0_1").expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "invalid Debian version \"1.0_1\": invalid character '_' in the upstream version"
        );
        let err = DebVersion::parse("1.0-").expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "invalid Debian version \"1.0-\": the revision after the last '-' is empty"
        );
        let err = TagScheme::default()
            .parse_tag("v1.2.0+build.5")
            .expect_err("build metadata");
        assert_eq!(
            err.to_string(),
            "build metadata is not allowed in a version tag: \"v1.2.0+build.5\""
        );
        let err = TagScheme::default()
            .parse_tag("1.2.0")
            .expect_err("no prefix");
        assert_eq!(
            err.to_string(),
            "tag \"1.2.0\" does not start with the version tag prefix \"v\""
        );
        let err = TagScheme::default()
            .parse_tag("v1.2")
            .expect_err("not semver");
        assert_eq!(
            err.to_string(),
            "\"1.2\" in tag \"v1.2\" is not a semantic version"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn display_round_trip() {
        let cases: &[(&str, &str)] = &[
            ("1.0", "1.0"),
            ("1.0-1", "1.0-1"),
            ("0:1.0", "1.0"),
            ("0:1.0-1", "1.0-1"),
            ("001:1.0-1", "1:1.0-1"),
            ("3:1.0~rc1-0ubuntu1", "3:1.0~rc1-0ubuntu1"),
            ("0:1:2", "0:1:2"),
            ("1.0-1-2", "1.0-1-2"),
            ("1.00", "1.00"),
        ];
        for &(input, display) in cases {
            let v = deb(input);
            assert_eq!(v.to_string(), display, "displaying {input:?}");
            let back = deb(&v.to_string());
            assert_eq!(back, v);
            assert_eq!(
                (back.epoch, &back.upstream, &back.revision),
                (v.epoch, &v.upstream, &v.revision),
                "round trip of {input:?} keeps the parts"
            );
        }
    }

    /// Comparisons checked against dpkg (the agreement test runs them through dpkg too).
    const KNOWN_COMPARISONS: &[(&str, Ordering, &str)] = &[
        ("1.0~rc1", Less, "1.0"),
        ("1:0.1", Greater, "2.0"),
        ("1.0-1", Less, "1.0-1.1"),
        ("1.0a", Greater, "1.0"),
        ("1.0+", Greater, "1.0"),
        ("1.0~", Less, "1.0"),
        ("1.0~~", Less, "1.0~"),
        ("1.0~~a", Less, "1.0~"),
        ("1.0~~a", Greater, "1.0~~"),
        ("1.0a~", Less, "1.0a"),
        ("1.0", Equal, "1.00"),
        ("1.0", Equal, "0:1.0"),
        ("1.0", Equal, "1.0-0"),
        ("0:0", Equal, "0"),
        ("1.", Equal, "1.0"),
        ("1.0a", Less, "1.a"),
        ("1.0a", Equal, "1.00a"),
        ("0001.0", Equal, "1.0"),
        ("1.01", Equal, "1.1"),
        ("1.2", Less, "1.10"),
        ("1.0", Less, "1.0.0"),
        ("1.0-1", Greater, "1.0"),
        ("1.0-a", Greater, "1.0"),
        ("1.0-~", Less, "1.0"),
        ("1.0a", Less, "1.0+"),
        ("1.0A", Less, "1.0a"),
        ("1.0Z", Less, "1.0a"),
        ("1.0.", Greater, "1.0+"),
        ("2:0", Greater, "1:99999"),
        ("1:1.0-1", Greater, "0:9.9-9"),
        ("1.0-1ubuntu1", Greater, "1.0-1"),
        ("1.0-1~bpo1", Less, "1.0-1"),
        ("1.0+dfsg-1", Greater, "1.0-1"),
        ("1.0~rc1", Less, "1.0~rc2"),
        ("1.0~rc9", Less, "1.0~rc10"),
        ("1.0~alpha", Less, "1.0~beta"),
        ("7.6p2-4", Greater, "7.6-0"),
        ("1.0.3-3", Greater, "1.0-1"),
        ("1.3", Greater, "1.2.2-2"),
        ("1:1.18.36:5.4", Less, "1:1.18.36:5.5"),
        (
            "123456789012345678901234567890",
            Less,
            "123456789012345678901234567891",
        ),
        ("99999999999999999999999", Greater, "9999999999999999999999"),
        ("1.000000000000000000000000001", Equal, "1.1"),
        ("1.0-01", Equal, "1.0-1"),
    ];

    #[test]
    fn known_dpkg_comparisons() {
        for &(a, expected, b) in KNOWN_COMPARISONS {
            let (va, vb) = (deb(a), deb(b));
            assert_eq!(va.cmp(&vb), expected, "{a} vs {b}");
            assert_eq!(vb.cmp(&va), expected.reverse(), "{b} vs {a}");
            assert_eq!(va == vb, expected == Equal, "{a} == {b}");
            assert_eq!(va.partial_cmp(&vb), Some(expected));
            if expected == Equal {
                assert_eq!(hash_of(&va), hash_of(&vb), "hashes of {a} and {b}");
            }
        }
    }

    #[test]
    fn equal_versions_collapse_in_a_hash_set() {
        let set: std::collections::HashSet<DebVersion> =
            ["1.0", "1.00", "0:1.0", "1.0-0", "1.", "001.0-00"]
                .iter()
                .map(|s| deb(s))
                .collect();
        assert_eq!(set.len(), 1);
        let set: std::collections::HashSet<DebVersion> = ["1.0a", "1.a", "1.0", "1.0.0"]
            .iter()
            .map(|s| deb(s))
            .collect();
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn tag_mapping() {
        enum Expect {
            Deb(&'static str),
            MissingPrefix,
            NotSemver,
            BuildMetadata,
            InvalidRevision(DebVersionReason),
        }
        let default = TagScheme::default();
        let release = TagScheme {
            prefix: "release-".to_owned(),
            revision: "1".to_owned(),
        };
        let ubuntu = TagScheme {
            prefix: "v".to_owned(),
            revision: "0ubuntu1".to_owned(),
        };
        let native = TagScheme {
            prefix: "v".to_owned(),
            revision: String::new(),
        };
        let bare = TagScheme {
            prefix: String::new(),
            revision: "1".to_owned(),
        };
        let bad_revision = TagScheme {
            prefix: "v".to_owned(),
            revision: "1-2".to_owned(),
        };
        let cases: Vec<(&TagScheme, &str, Expect)> = vec![
            (&default, "v1.2.0", Expect::Deb("1.2.0-1")),
            (&default, "v1.2.0-rc.1", Expect::Deb("1.2.0~rc.1-1")),
            (&default, "v0.0.0", Expect::Deb("0.0.0-1")),
            (
                &default,
                "v10.20.30-alpha.beta.1",
                Expect::Deb("10.20.30~alpha.beta.1-1"),
            ),
            (&default, "v1.0.0-x-y-z.--", Expect::Deb("1.0.0~x+y+z.++-1")),
            (&default, "1.2.0", Expect::MissingPrefix),
            (&default, "V1.2.0", Expect::MissingPrefix),
            (&default, "release-1.2.0", Expect::MissingPrefix),
            (&default, "v1.2", Expect::NotSemver),
            (&default, "v", Expect::NotSemver),
            (&default, "vv1.2.0", Expect::NotSemver),
            (&default, "v1.2.0 ", Expect::NotSemver),
            (&default, "v01.2.0", Expect::NotSemver),
            (&default, "v1.2.0-rc.01", Expect::NotSemver),
            (&default, "v1.2.0+build.5", Expect::BuildMetadata),
            (&default, "v1.2.0-rc.1+build.5", Expect::BuildMetadata),
            (&release, "release-1.2.0", Expect::Deb("1.2.0-1")),
            (&release, "release-2.0.0-beta", Expect::Deb("2.0.0~beta-1")),
            (&release, "v1.2.0", Expect::MissingPrefix),
            (&ubuntu, "v1.2.0", Expect::Deb("1.2.0-0ubuntu1")),
            (&ubuntu, "v1.2.0-rc.1", Expect::Deb("1.2.0~rc.1-0ubuntu1")),
            (&native, "v1.2.0", Expect::Deb("1.2.0")),
            (&native, "v1.2.0-rc-1", Expect::Deb("1.2.0~rc+1")),
            (&bare, "1.2.0", Expect::Deb("1.2.0-1")),
            (&bare, "v1.2.0", Expect::NotSemver),
            (
                &bad_revision,
                "v1.2.0",
                Expect::InvalidRevision(DebVersionReason::InvalidRevisionChar('-')),
            ),
        ];
        for (scheme, tag, expected) in cases {
            let got = scheme.tag_to_debian(tag);
            match (expected, &got) {
                (Expect::Deb(want), Ok(v)) => {
                    assert_eq!(v.to_string(), want, "{tag} with {scheme:?}");
                    assert!(scheme.is_version_tag(tag));
                    let parsed = scheme.parse_tag(tag).expect("a mapped tag parses");
                    assert_eq!(scheme.tag_name(&parsed), tag);
                    assert_eq!(DebVersion::parse(want).expect("mapped version parses"), *v);
                }
                (Expect::MissingPrefix, Err(VersionError::MissingTagPrefix { tag: t, prefix }))
                    if t == tag && *prefix == scheme.prefix =>
                {
                    assert!(!scheme.is_version_tag(tag));
                }
                (Expect::NotSemver, Err(VersionError::NotSemver { tag: t, .. })) if t == tag => {
                    assert!(!scheme.is_version_tag(tag));
                }
                (Expect::BuildMetadata, Err(VersionError::TagBuildMetadata { tag: t }))
                    if t == tag =>
                {
                    assert!(!scheme.is_version_tag(tag));
                }
                (
                    Expect::InvalidRevision(want),
                    Err(VersionError::InvalidDebVersion { reason, .. }),
                ) if *reason == want => {
                    // The tag itself is fine; only the scheme's revision is wrong.
                    assert!(scheme.is_version_tag(tag));
                }
                _ => panic!("unexpected result for {tag:?} with {scheme:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn debian_version_refuses_build_metadata() {
        let v = semver("1.2.0+build.5");
        assert!(matches!(
            TagScheme::default().debian_version(&v),
            Err(VersionError::BuildMetadata { version }) if version == v
        ));
    }

    #[test]
    fn tag_names() {
        let scheme = TagScheme::default();
        assert_eq!(scheme.tag_name(&semver("1.2.0-rc.1")), "v1.2.0-rc.1");
        let scheme = TagScheme {
            prefix: "release-".to_owned(),
            ..TagScheme::default()
        };
        assert_eq!(scheme.tag_name(&semver("3.0.0")), "release-3.0.0");
        assert!(scheme.is_version_tag("release-3.0.0"));
        assert!(!scheme.is_version_tag("release-3.0"));
        assert!(!scheme.is_version_tag("v3.0.0"));
    }

    /// Semantic versions in increasing precedence whose mapped Debian versions dpkg sorts the
    /// same way.
    const SEMVER_ORDER: &[&str] = &[
        "0.0.1-alpha",
        "0.0.1",
        "0.1.0-rc.1",
        "0.1.0",
        "0.9.0",
        "0.10.0",
        "1.0.0-0.3.7",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0-rc.1.1",
        "1.0.0-rc.2",
        "1.0.0-rc.10",
        "1.0.0-x-y-z.--",
        "1.0.0",
        "1.0.1-RC.1",
        "1.0.1-beta",
        "1.0.1-beta-2",
        "1.0.1-rc",
        "1.0.1-rc-final",
        "1.0.1",
        "1.1.0-alpha",
        "1.1.0",
        "1.2.0-rc.1",
        "1.2.0-rc.2",
        "1.2.0",
        "1.10.0",
        "2.0.0-0",
        "2.0.0-1",
        "2.0.0-9",
        "2.0.0-10",
        "2.0.0-10.a",
        "2.0.0-a",
        "2.0.0",
        "10.0.0",
        "18446744073709551615.0.0",
    ];

    fn mapped(s: &str) -> DebVersion {
        TagScheme::default()
            .debian_version(&semver(s))
            .unwrap_or_else(|e| panic!("{s} should map: {e}"))
    }

    #[test]
    fn semver_precedence_maps_to_dpkg_order() {
        for (i, a) in SEMVER_ORDER.iter().enumerate() {
            for b in &SEMVER_ORDER[i + 1..] {
                assert_eq!(
                    semver(a).cmp_precedence(&semver(b)),
                    Less,
                    "semver {a} < {b}"
                );
                assert_eq!(mapped(a).cmp(&mapped(b)), Less, "debian {a} < {b}");
            }
        }
        let mut shuffled: Vec<DebVersion> = SEMVER_ORDER.iter().rev().map(|s| mapped(s)).collect();
        shuffled.sort();
        let sorted: Vec<String> = shuffled.iter().map(ToString::to_string).collect();
        let expected: Vec<String> = SEMVER_ORDER.iter().map(|s| mapped(s).to_string()).collect();
        assert_eq!(sorted, expected);
    }

    /// Pairs where semver precedence and dpkg's order of the mapped versions disagree, with
    /// the dpkg order; semver has the first before the second in each.
    const PRERELEASE_DIVERGENCES: &[(&str, Ordering, &str)] = &[
        ("1.0.0-a10", Greater, "1.0.0-a9"),
        ("1.0.0-a", Equal, "1.0.0-a0"),
        ("1.0.0-rc01", Equal, "1.0.0-rc1"),
        ("1.0.0-2", Greater, "1.0.0-1a"),
        ("1.0.0-a-b", Greater, "1.0.0-a1"),
        ("1.0.0-a-b", Greater, "1.0.0-aa"),
        ("1.0.0-rc.1", Greater, "1.0.0-rc1"),
        ("1.0.0-a.b", Greater, "1.0.0-a-b"),
    ];

    #[test]
    fn prerelease_divergences() {
        for &(a, dpkg_order, b) in PRERELEASE_DIVERGENCES {
            assert_eq!(
                semver(a).cmp_precedence(&semver(b)),
                Less,
                "semver {a} < {b}"
            );
            assert_eq!(mapped(a).cmp(&mapped(b)), dpkg_order, "debian {a} vs {b}");
        }
    }

    // --- Agreement with the real dpkg ---------------------------------------------------

    /// A tiny deterministic PRNG (SplitMix64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).expect("below n fits in usize")
        }

        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }

        fn digit(&mut self) -> char {
            char::from(b'0' + u8::try_from(self.below(10)).expect("a digit"))
        }
    }

    /// A generated version, kept in parts so that mutations keep it valid.
    #[derive(Clone)]
    struct Parts {
        epoch: Option<String>,
        upstream: String,
        revision: Option<String>,
    }

    impl Parts {
        fn render(&self) -> String {
            let mut s = String::new();
            if let Some(epoch) = &self.epoch {
                s.push_str(epoch);
                s.push(':');
            }
            s.push_str(&self.upstream);
            if let Some(revision) = &self.revision {
                s.push('-');
                s.push_str(revision);
            }
            s
        }
    }

    fn gen_digits(rng: &mut Rng) -> String {
        match rng.below(12) {
            0 => "0".repeat(1 + rng.below(3)),
            1 => format!("{}{}", "0".repeat(1 + rng.below(3)), rng.below(12)),
            2 => (0..21 + rng.below(10)).map(|_| rng.digit()).collect(),
            3 => {
                // Long numbers that share a prefix, so they often compare close.
                let tail: String = (0..rng.below(3)).map(|_| rng.digit()).collect();
                format!("1234567890123456789012{tail}")
            }
            4 => rng.below(1000).to_string(),
            _ => rng.below(12).to_string(),
        }
    }

    fn gen_letters(rng: &mut Rng) -> String {
        if rng.chance(40) {
            rng.pick(&["rc", "alpha", "beta", "dfsg", "ubuntu", "git", "b", "Z"])
                .to_owned()
        } else {
            (0..1 + rng.below(2))
                .map(|_| rng.pick(&["a", "b", "z", "A", "Z"]))
                .collect()
        }
    }

    fn gen_parts(rng: &mut Rng) -> Parts {
        let epoch = rng.chance(30).then(|| {
            if rng.chance(50) {
                rng.below(4).to_string()
            } else {
                rng.pick(&["0", "1", "01", "007", "10", "2147483647", "2147483646"])
                    .to_owned()
            }
        });
        let has_revision = rng.chance(60);
        let mut separators = vec![".", "+", "~", "~~", ".~", "", "+~", "."];
        if has_revision {
            separators.push("-");
        }
        if epoch.is_some() {
            separators.push(":");
        }
        let mut upstream = gen_digits(rng);
        for _ in 0..rng.below(6) {
            upstream.push_str(rng.pick(&separators));
            if rng.chance(45) {
                upstream.push_str(&gen_letters(rng));
            }
            if rng.chance(70) {
                upstream.push_str(&gen_digits(rng));
            }
        }
        let revision = has_revision.then(|| {
            let mut revision = String::new();
            while revision.is_empty() {
                for _ in 0..1 + rng.below(4) {
                    match rng.below(6) {
                        0 | 1 => revision.push_str(&gen_digits(rng)),
                        2 => revision.push_str(&gen_letters(rng)),
                        _ => revision.push_str(rng.pick(&[".", "+", "~", "+b", "~bpo"])),
                    }
                }
            }
            revision
        });
        Parts {
            epoch,
            upstream,
            revision,
        }
    }

    /// Byte positions in `s` (never 0) whose byte satisfies `pred`.
    fn positions(s: &str, pred: impl Fn(u8) -> bool) -> Vec<usize> {
        s.bytes()
            .enumerate()
            .skip(1)
            .filter(|&(_, b)| pred(b))
            .map(|(i, _)| i)
            .collect()
    }

    /// A small change to a version that keeps it valid, so the pair compares close or equal.
    fn mutate(rng: &mut Rng, parts: &Parts) -> Parts {
        let mut p = parts.clone();
        for _ in 0..1 + rng.below(2) {
            match rng.below(14) {
                0 => {
                    p.epoch = if p.upstream.contains(':') || rng.chance(50) {
                        Some(rng.pick(&["0", "1", "01", "2"]).to_owned())
                    } else {
                        None
                    };
                }
                1 => p
                    .upstream
                    .push_str(rng.pick(&["~", "0", ".0", "a", "+", "~~", ".", "00", "1", "Z"])),
                2 => match &mut p.revision {
                    Some(revision) => {
                        revision.push_str(rng.pick(&["~", "0", ".0", "a", "+", "~~", "1"]));
                    }
                    None => p.revision = Some(rng.pick(&["0", "1", "00", "~", "a"]).to_owned()),
                },
                3 => {
                    p.revision = if p.upstream.contains('-') {
                        Some("0".to_owned())
                    } else {
                        None
                    };
                }
                4 | 5 => {
                    // Change a digit (position 0 included: it stays a digit).
                    let digits: Vec<usize> = p
                        .upstream
                        .bytes()
                        .enumerate()
                        .filter(|(_, b)| b.is_ascii_digit())
                        .map(|(i, _)| i)
                        .collect();
                    let i = digits[rng.below(digits.len())];
                    let digit = rng.digit().to_string();
                    p.upstream.replace_range(i..=i, &digit);
                }
                6 => {
                    // Add a leading zero to a run of digits.
                    let bytes = p.upstream.as_bytes();
                    let starts: Vec<usize> = (0..bytes.len())
                        .filter(|&i| {
                            bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit())
                        })
                        .collect();
                    let i = starts[rng.below(starts.len())];
                    p.upstream.insert(i, '0');
                }
                7 if p.upstream.len() > 1 => {
                    p.upstream.pop();
                }
                8 => {
                    let letters = positions(&p.upstream, |b| b.is_ascii_alphabetic());
                    if !letters.is_empty() {
                        let i = letters[rng.below(letters.len())];
                        let flipped = char::from(p.upstream.as_bytes()[i] ^ 0x20).to_string();
                        p.upstream.replace_range(i..=i, &flipped);
                    }
                }
                9 => {
                    let punctuation = positions(&p.upstream, |b| matches!(b, b'.' | b'+' | b'~'));
                    if !punctuation.is_empty() {
                        let i = punctuation[rng.below(punctuation.len())];
                        p.upstream.replace_range(i..=i, rng.pick(&[".", "+", "~"]));
                    }
                }
                10 => {
                    if let Some(revision) = &mut p.revision {
                        let digits = positions(revision, |b| b.is_ascii_digit());
                        if let Some(&i) = digits.first() {
                            revision.replace_range(i..=i, &rng.digit().to_string());
                        } else {
                            revision.insert(0, rng.digit());
                        }
                    }
                }
                11 => {
                    // Insert a character anywhere after the leading digit.
                    let i = 1 + rng.below(p.upstream.len());
                    let c = rng.pick(&["a", "Z", "~", "+", ".", "0", "5", "~~"]);
                    p.upstream.insert_str(i, c);
                }
                12 => {
                    // Replace the tail with a fresh one, keeping a common prefix.
                    let keep = 1 + rng.below(p.upstream.len());
                    p.upstream.truncate(keep);
                    let fresh = gen_parts(rng).upstream;
                    let skip = rng.below(fresh.len());
                    p.upstream.push_str(&fresh[skip..]);
                    if p.upstream.contains(':') && p.epoch.is_none() {
                        p.epoch = Some("0".to_owned());
                    }
                    if p.upstream.contains('-') && p.revision.is_none() {
                        p.revision = Some("1".to_owned());
                    }
                }
                _ => {}
            }
        }
        p
    }

    fn op(order: Ordering) -> &'static str {
        match order {
            Less => "lt",
            Equal => "eq",
            Greater => "gt",
        }
    }

    /// Feeds `lines` to `script`, split over parallel `sh` processes, and returns one output
    /// line per input line; fails if anything is written to standard error.
    fn run_sh_lines(script: &str, lines: &[String]) -> Vec<String> {
        let jobs = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
        let chunk_len = lines.len().div_ceil(jobs).max(1);
        let running: Vec<_> = lines
            .chunks(chunk_len)
            .map(|chunk| {
                let mut child = Command::new("sh")
                    .arg("-c")
                    .arg(script)
                    .env("LC_ALL", "C")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("sh can be started");
                let mut stdin = child.stdin.take().expect("stdin is piped");
                let input: String = chunk.iter().map(|line| format!("{line}\n")).collect();
                let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
                (child, writer, chunk.len())
            })
            .collect();
        let mut answers = Vec::with_capacity(lines.len());
        for (child, writer, expected_len) in running {
            let output = child.wait_with_output().expect("sh runs");
            writer
                .join()
                .expect("the writer thread does not panic")
                .expect("the pairs can be written to sh");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.is_empty(),
                "dpkg complained, so a generated version is invalid for dpkg:\n{stderr}"
            );
            assert!(output.status.success(), "sh failed: {}", output.status);
            let stdout = String::from_utf8(output.stdout).expect("sh prints ASCII");
            let chunk_answers: Vec<String> = stdout.lines().map(str::to_owned).collect();
            assert_eq!(chunk_answers.len(), expected_len, "one answer per pair");
            answers.extend(chunk_answers);
        }
        answers
    }

    fn require_dpkg() {
        match Command::new("dpkg").arg("--version").output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "`dpkg --version` failed ({}); this test needs dpkg",
                output.status
            ),
            Err(e) => panic!(
                "cannot run `dpkg` ({e}): this test compares with `dpkg --compare-versions` and \
                 needs dpkg on PATH (it is always there on Debian)"
            ),
        }
    }

    #[test]
    #[allow(clippy::print_stdout)]
    fn agrees_with_dpkg_compare_versions() {
        require_dpkg();
        let mut rng = Rng(0x5EED_D9C6_0F0F);
        let mut pairs: Vec<(String, String)> = Vec::new();
        for _ in 0..1200 {
            pairs.push((gen_parts(&mut rng).render(), gen_parts(&mut rng).render()));
        }
        for _ in 0..2800 {
            let a = gen_parts(&mut rng);
            let b = if rng.chance(4) {
                // The same version written canonically, e.g. without a zero epoch.
                deb(&a.render()).to_string()
            } else {
                mutate(&mut rng, &a).render()
            };
            if rng.chance(50) {
                pairs.push((a.render(), b));
            } else {
                pairs.push((b, a.render()));
            }
        }
        for &(a, _, b) in KNOWN_COMPARISONS {
            pairs.push((a.to_owned(), b.to_owned()));
        }
        for window in SEMVER_ORDER.windows(2) {
            pairs.push((mapped(window[0]).to_string(), mapped(window[1]).to_string()));
        }
        for &(a, _, b) in PRERELEASE_DIVERGENCES {
            pairs.push((mapped(a).to_string(), mapped(b).to_string()));
        }

        // Our answers, with the checks that need no dpkg.
        let mut ours = Vec::with_capacity(pairs.len());
        let mut queries = Vec::with_capacity(pairs.len());
        for (a, b) in &pairs {
            let (va, vb) = (deb(a), deb(b));
            for (s, v) in [(a, &va), (b, &vb)] {
                let back = deb(&v.to_string());
                assert_eq!(back, *v, "parse(display({s:?})) == {s:?}");
                assert_eq!(
                    (back.epoch, &back.upstream, &back.revision),
                    (v.epoch, &v.upstream, &v.revision)
                );
            }
            let order = va.cmp(&vb);
            assert_eq!(vb.cmp(&va), order.reverse(), "{a} vs {b} is antisymmetric");
            if order == Equal {
                assert_eq!(
                    hash_of(&va),
                    hash_of(&vb),
                    "equal {a} and {b} hash the same"
                );
            }
            ours.push(order);
            queries.push(format!("{a} {} {b}", op(order)));
        }
        let equal = ours.iter().filter(|o| o.is_eq()).count();

        // One dpkg call per pair: dpkg confirms our answer or not.
        let started = Instant::now();
        let confirmations = run_sh_lines(
            r#"while read -r a op b; do
                 if dpkg --compare-versions "$a" "$op" "$b"; then echo yes; else echo no; fi
               done"#,
            &queries,
        );
        let elapsed = started.elapsed();
        let refuted: Vec<usize> = (0..pairs.len())
            .filter(|&i| confirmations[i] != "yes")
            .collect();
        if !refuted.is_empty() {
            // Ask dpkg for its own answer on the pairs it did not confirm.
            let lines: Vec<String> = refuted
                .iter()
                .map(|&i| format!("{} {}", pairs[i].0, pairs[i].1))
                .collect();
            let dpkg = run_sh_lines(
                r#"while read -r a b; do
                     if dpkg --compare-versions "$a" lt "$b"; then echo lt
                     elif dpkg --compare-versions "$a" eq "$b"; then echo eq
                     else echo gt; fi
                   done"#,
                &lines,
            );
            let report: Vec<String> = refuted
                .iter()
                .zip(&dpkg)
                .take(30)
                .map(|(&i, theirs)| {
                    let (a, b) = &pairs[i];
                    format!("{a} vs {b}: ours {}, dpkg {theirs}", op(ours[i]))
                })
                .collect();
            panic!(
                "{} of {} pairs disagree with dpkg --compare-versions:\n{}",
                refuted.len(),
                pairs.len(),
                report.join("\n")
            );
        }
        println!(
            "checked {} version pairs ({equal} equal) against dpkg --compare-versions in {:.1?}",
            pairs.len(),
            elapsed
        );
    }
}
