//! The `[vm]` values a user writes — guest memory, CPUs, each test's time
//! limit and the guest mode — as types that hold the parsed value. They are
//! parsed once, when `.buildkit.toml` is read (so a bad value is an error
//! with its line and column at `package` time, not when a VM starts), and
//! by the CLI for the same options.

use std::fmt;

use serde::Deserialize;

use super::qemu::GuestMode;
use super::VmError;

/// Guest memory by default, in MiB.
pub const DEFAULT_MEMORY_MIB: u32 = 512;
/// Guest CPUs by default.
pub const DEFAULT_CPUS: u32 = 1;
/// Each test's time limit by default, in seconds.
pub const DEFAULT_TIMEOUT: u64 = 300;
/// The longest time limit of a test, in seconds (a day): longer is a typo,
/// and no deadline computed from it can overflow.
pub const MAX_TIMEOUT: u64 = 24 * 3600;
/// The most guest CPUs.
pub const MAX_CPUS: u32 = 64;
/// The guest memory range, in MiB.
const MEMORY_MIB: std::ops::RangeInclusive<u64> = 128..=65536;

/// The mode the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeChoice {
    /// Systemd when a package ships a systemd unit, else fast.
    Auto,
    /// This mode.
    Exactly(GuestMode),
}

impl ModeChoice {
    /// The mode a run boots in: `Auto` is systemd when one of the packages
    /// ships a systemd unit (a fact the caller reads from the packages),
    /// else fast.
    pub fn resolve(self, ships_systemd_unit: bool) -> GuestMode {
        match self {
            ModeChoice::Exactly(mode) => mode,
            ModeChoice::Auto if ships_systemd_unit => GuestMode::Systemd,
            ModeChoice::Auto => GuestMode::Fast,
        }
    }
}

/// Parses `fast`, `systemd` or `auto`.
pub fn parse_mode(text: &str) -> Result<ModeChoice, VmError> {
    match text {
        "auto" => Ok(ModeChoice::Auto),
        "fast" => Ok(ModeChoice::Exactly(GuestMode::Fast)),
        "systemd" => Ok(ModeChoice::Exactly(GuestMode::Systemd)),
        _ => Err(VmError::BadMode {
            text: text.to_owned(),
        }),
    }
}

/// Parses a memory size (`512M`, `1G`, `1536`: MiB without a unit).
pub fn parse_memory(text: &str) -> Result<u32, VmError> {
    let bad = || VmError::BadMemory {
        text: text.to_owned(),
    };
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (number, factor) = match t.char_indices().last() {
        Some((i, 'G' | 'g')) => (&t[..i], 1024),
        Some((i, 'M' | 'm')) => (&t[..i], 1),
        _ => (t, 1),
    };
    match times(number, factor).map_err(|NotDigits| bad())? {
        Some(mib) if MEMORY_MIB.contains(&mib) => Ok(u32::try_from(mib).map_err(|_| bad())?),
        _ => Err(VmError::OutOfRange {
            what: "memory",
            value: text.to_owned(),
            range: "128M to 64G",
        }),
    }
}

/// Parses a size in bytes (`4G`, `500M`, `64K`, `123`; binary units), such
/// as `BUILDKIT_APT_CACHE_SIZE`; `None` when malformed or too large.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (number, factor) = match t.char_indices().last()? {
        (i, 'K' | 'k') => (&t[..i], 1 << 10),
        (i, 'M' | 'm') => (&t[..i], 1 << 20),
        (i, 'G' | 'g') => (&t[..i], 1 << 30),
        (i, 'T' | 't') => (&t[..i], 1 << 40),
        _ => (t, 1),
    };
    times(number, factor).ok().flatten()
}

/// Checks a number of guest CPUs.
pub fn check_cpus(cpus: u32) -> Result<u32, VmError> {
    if (1..=MAX_CPUS).contains(&cpus) {
        Ok(cpus)
    } else {
        Err(VmError::OutOfRange {
            what: "cpus",
            value: cpus.to_string(),
            range: "1 to 64",
        })
    }
}

/// Parses a test's time limit (`90`, `90s`, `5m`, `1h`) into seconds, at
/// most [`MAX_TIMEOUT`].
pub fn parse_duration(text: &str) -> Result<u64, VmError> {
    let bad = || VmError::BadDuration {
        text: text.to_owned(),
    };
    match seconds(text).map_err(|NotDigits| bad())? {
        Some(0) => Err(bad()),
        Some(seconds) if seconds <= MAX_TIMEOUT => Ok(seconds),
        _ => Err(VmError::OutOfRange {
            what: "timeout",
            value: text.to_owned(),
            range: "1s to 24h",
        }),
    }
}

/// Parses an age (`90`, `90s`, `5m`, `1h`, `30d`), such as
/// `cache clean --older-than`'s.
pub fn parse_age(text: &str) -> Result<std::time::Duration, VmError> {
    match seconds(text) {
        Ok(Some(secs)) => Ok(std::time::Duration::from_secs(secs)),
        _ => Err(VmError::BadDuration {
            text: text.to_owned(),
        }),
    }
}

/// `text` as seconds: digits with an optional unit `s`, `m`, `h` or `d`;
/// `None` when it overflows.
fn seconds(text: &str) -> Result<Option<u64>, NotDigits> {
    let t = text.trim();
    let (number, factor) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1),
        Some((i, 'm')) => (&t[..i], 60),
        Some((i, 'h')) => (&t[..i], 3600),
        Some((i, 'd')) => (&t[..i], 86400),
        _ => (t, 1),
    };
    times(number, factor)
}

/// A number that is not only ASCII digits (a sign, a space, nothing).
struct NotDigits;

/// `number` (ASCII digits) times `factor`; `None` when the product does not
/// fit in a u64 (an out-of-range value, not a malformed one).
fn times(number: &str, factor: u64) -> Result<Option<u64>, NotDigits> {
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NotDigits);
    }
    Ok(number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor)))
}

/// Guest memory, in MiB (written `512M`, `1G`, `1536`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory(u32);

impl Memory {
    /// [`DEFAULT_MEMORY_MIB`].
    pub const DEFAULT: Memory = Memory(DEFAULT_MEMORY_MIB);

    /// The size in MiB.
    pub fn mib(self) -> u32 {
        self.0
    }
}

/// A number of guest CPUs, 1 to [`MAX_CPUS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpus(u32);

impl Cpus {
    /// [`DEFAULT_CPUS`].
    pub const DEFAULT: Cpus = Cpus(DEFAULT_CPUS);

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A test's time limit, in whole seconds, 1 to [`MAX_TIMEOUT`] (written
/// `90`, `90s`, `5m`, `1h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimit(u64);

impl TimeLimit {
    /// [`DEFAULT_TIMEOUT`].
    pub const DEFAULT: TimeLimit = TimeLimit(DEFAULT_TIMEOUT);

    /// The limit in seconds.
    pub fn secs(self) -> u64 {
        self.0
    }
}

impl std::str::FromStr for Memory {
    type Err = VmError;
    fn from_str(text: &str) -> Result<Self, VmError> {
        parse_memory(text).map(Memory)
    }
}

impl TryFrom<u32> for Cpus {
    type Error = VmError;
    fn try_from(cpus: u32) -> Result<Self, VmError> {
        check_cpus(cpus).map(Cpus)
    }
}

impl std::str::FromStr for TimeLimit {
    type Err = VmError;
    fn from_str(text: &str) -> Result<Self, VmError> {
        parse_duration(text).map(TimeLimit)
    }
}

impl std::str::FromStr for ModeChoice {
    type Err = VmError;
    fn from_str(text: &str) -> Result<Self, VmError> {
        parse_mode(text)
    }
}

/// Deserializes a string with `FromStr`; the error's text is the message,
/// and the deserializer (toml) adds where the value is.
fn from_text<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

impl<'de> Deserialize<'de> for Memory {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d)
    }
}

impl<'de> Deserialize<'de> for Cpus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Cpus::try_from(u32::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for TimeLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d)
    }
}

impl<'de> Deserialize<'de> for ModeChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn sizes_durations_modes() {
        assert_eq!(parse_memory("512M").expect("M"), 512);
        assert_eq!(parse_memory("1G").expect("G"), 1024);
        assert_eq!(parse_memory("1GiB").expect("GiB"), 1024);
        assert_eq!(parse_memory("768").expect("plain"), 768);
        for bad in ["", "64M", "lots", "-1G", "99999999G", "+512M"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_memory("18014398509481984G")
                .expect_err("overflow")
                .to_string(),
            "memory 18014398509481984G is out of range (128M to 64G)"
        );
        assert_eq!(parse_duration("90").expect("plain"), 90);
        assert_eq!(parse_duration("90s").expect("s"), 90);
        assert_eq!(parse_duration("5m").expect("m"), 300);
        assert_eq!(parse_duration("1h").expect("h"), 3600);
        assert_eq!(parse_age("30d").expect("d").as_secs(), 30 * 86400);
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size("500m"), Some(500 << 20));
        assert_eq!(parse_size("123"), Some(123));
        for bad in ["", "G", "-1G", "1.5G", "4 G", "99999999999999T"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        assert_eq!(parse_age("0").expect("zero").as_secs(), 0);
        assert!(parse_age("-1d").is_err() && parse_age("d").is_err());
        for bad in ["", "0s", "5 minutes", "m", "+5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("24h").expect("a day"), MAX_TIMEOUT);
        // Values whose deadlines (now + limit + margin) would overflow.
        for huge in [
            "5124095576030431h",
            "18446744073709551615",
            "99999999999999999999s",
            "25h",
        ] {
            assert_eq!(
                parse_duration(huge).expect_err(huge).to_string(),
                format!("timeout {huge} is out of range (1s to 24h)")
            );
        }
        assert_eq!(check_cpus(64).expect("64"), 64);
        assert_eq!(
            check_cpus(0).expect_err("0").to_string(),
            "cpus 0 is out of range (1 to 64)"
        );
        assert_eq!(parse_mode("auto").expect("auto"), ModeChoice::Auto);
        assert_eq!(
            parse_mode("systemd").expect("systemd"),
            ModeChoice::Exactly(GuestMode::Systemd)
        );
        assert_eq!(
            parse_mode("fastest").expect_err("bad").to_string(),
            "invalid VM mode \"fastest\" (fast, systemd or auto)"
        );
    }

    #[test]
    fn the_types_hold_the_parsed_value() {
        assert_eq!("1G".parse::<Memory>().expect("1G").mib(), 1024);
        assert_eq!(Memory::DEFAULT.mib(), 512);
        assert_eq!("5m".parse::<TimeLimit>().expect("5m").secs(), 300);
        assert_eq!(TimeLimit::DEFAULT.secs(), 300);
        assert_eq!(Cpus::try_from(4).expect("4").get(), 4);
        assert_eq!(Cpus::DEFAULT.get(), 1);
        assert_eq!(
            "fast".parse::<ModeChoice>().expect("fast"),
            ModeChoice::Exactly(GuestMode::Fast)
        );
        assert_eq!(
            Cpus::try_from(65).expect_err("65").to_string(),
            "cpus 65 is out of range (1 to 64)"
        );
    }
}
