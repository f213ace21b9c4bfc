//! Debian versions (deb-version(7)): parsing exactly as dpkg accepts them,
//! and equality, hashing and ordering as dpkg's `verrevcmp`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use super::VersionError;

/// The largest epoch dpkg accepts (`INT_MAX` in its `parseversion`).
const MAX_EPOCH: u32 = 2_147_483_647;

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
pub(super) fn validate_parts(
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
