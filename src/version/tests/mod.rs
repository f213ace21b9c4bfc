//! Tests of [`super::debian`] and [`super::tag`], and their agreement with
//! the real `dpkg --compare-versions`; the fixtures they share are here.

mod debian;
mod dpkg;
mod tag;

use super::*;
use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
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
