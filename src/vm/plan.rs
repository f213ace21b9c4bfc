//! Turning a tag's configuration into a test plan, on the host and before
//! any VM starts: the tests (`[vm] smoke` commands, then DEP-8 tests from
//! `debian/tests/control`), what apt installs, the guest mode chosen from
//! the packages' contents, and the `[vm]` values parsed (memory, timeout).

use super::dep8::{self, Dep8Test, TestKind};
use super::job::{JobTest, TestCommand};
use super::qemu::GuestMode;
use super::verdict::{TestOutcome, TestResult};
use super::VmError;
use crate::deb::EntryInfo;

/// Defaults of `[vm]`.
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
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
    {
        Some(mib) if MEMORY_MIB.contains(&mib) => Ok(u32::try_from(mib).map_err(|_| bad())?),
        _ => Err(VmError::OutOfRange {
            what: "memory",
            value: text.to_owned(),
            range: "128M to 64G",
        }),
    }
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
    let t = text.trim();
    let (number, factor) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1),
        Some((i, 'm')) => (&t[..i], 60),
        Some((i, 'h')) => (&t[..i], 3600),
        _ => (t, 1),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
    {
        Some(0) => Err(bad()),
        Some(seconds) if seconds <= MAX_TIMEOUT => Ok(seconds),
        _ => Err(VmError::OutOfRange {
            what: "timeout",
            value: text.to_owned(),
            range: "1s to 24h",
        }),
    }
}

/// Whether a package's files need a running systemd: a unit under
/// `lib/systemd/system` or `usr/lib/systemd/system`.
pub fn ships_systemd_unit(files: &[EntryInfo]) -> bool {
    files.iter().any(|f| {
        let path = f.path.trim_start_matches("./");
        (path.starts_with("lib/systemd/system/") || path.starts_with("usr/lib/systemd/system/"))
            && [".service", ".socket", ".timer"]
                .iter()
                .any(|ext| path.ends_with(ext))
    })
}

/// The tests of a run and what they need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// What the guest runs, in order.
    pub tests: Vec<JobTest>,
    /// DEP-8 tests that will not run, already as results.
    pub skipped: Vec<TestResult>,
    /// Packages the tests depend on besides the tag's (for apt).
    pub depends: Vec<String>,
    /// DEP-8 scripts to put on the job disk (paths as in the repository).
    pub scripts: Vec<String>,
}

/// Plans the tests: each `smoke` command (`smoke1`, `smoke2`, …; their
/// stderr is allowed), then each DEP-8 test of `dep8` (text and origin).
/// `binaries` are the tag's package names (DEP-8's `@`).
pub fn plan(
    smoke: &[String],
    dep8: Option<(&str, &str)>,
    binaries: &[String],
    arch: &str,
) -> Result<Plan, dep8::Dep8Error> {
    let mut plan = Plan::default();
    for (i, command) in smoke.iter().enumerate() {
        plan.tests.push(JobTest {
            name: format!("smoke{}", i + 1),
            command: TestCommand::Shell(command.clone()),
            allow_stderr: true,
            skippable: false,
            flaky: false,
        });
    }
    let Some((text, origin)) = dep8 else {
        return Ok(plan);
    };
    for test in dep8::parse(text, origin, binaries)? {
        let skip = test
            .skip
            .clone()
            .or_else(|| (!test.runs_on(arch)).then(|| format!("not for architecture {arch}")));
        if let Some(reason) = skip {
            plan.skipped.push(skipped(&test, reason));
            continue;
        }
        for dep in &test.depends {
            if let Some(name) = first_alternative(dep) {
                if !binaries.contains(&name) && !plan.depends.contains(&name) {
                    plan.depends.push(name);
                }
            }
        }
        let command = match &test.kind {
            TestKind::Script(path) => {
                plan.scripts.push(path.clone());
                TestCommand::Script(path.clone())
            }
            TestKind::Command(text) => TestCommand::Shell(text.clone()),
        };
        plan.tests.push(JobTest {
            name: test.name.clone(),
            command,
            allow_stderr: test.allows_stderr(),
            skippable: test.is_skippable(),
            flaky: test.is_flaky(),
        });
    }
    Ok(plan)
}

/// The package apt installs for a dependency: the first alternative,
/// without its version constraint or architecture qualifier (apt's command
/// line takes names).
fn first_alternative(dep: &str) -> Option<String> {
    let first = dep.split('|').next()?.trim();
    let name = first
        .split(|c: char| c.is_whitespace() || c == '(' || c == '[' || c == ':')
        .next()?
        .trim();
    (!name.is_empty()).then(|| name.to_owned())
}

fn skipped(test: &Dep8Test, reason: String) -> TestResult {
    TestResult {
        name: test.name.clone(),
        command: match &test.kind {
            TestKind::Script(path) => path.clone(),
            TestKind::Command(text) => text.clone(),
        },
        outcome: TestOutcome::Skip,
        reason: Some(reason),
        exit_code: None,
        flaky: test.is_flaky(),
        seconds: 0.0,
        output: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb::InfoEntryKind as EntryKind;
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

    fn entry(path: &str) -> EntryInfo {
        EntryInfo {
            path: path.to_owned(),
            kind: EntryKind::File,
            mode: 0o644,
            owner: "root".into(),
            group: "root".into(),
            size: 1,
            mtime: 0,
            link: None,
        }
    }

    #[test]
    fn units_choose_systemd() {
        assert!(!ships_systemd_unit(&[entry("./usr/bin/hello")]));
        assert!(!ships_systemd_unit(&[entry("./usr/lib/systemd/system/")]));
        assert!(ships_systemd_unit(&[entry(
            "./lib/systemd/system/hello.service"
        )]));
        assert!(ships_systemd_unit(&[entry(
            "./usr/lib/systemd/system/hello.socket"
        )]));
    }

    #[test]
    fn smoke_then_dep8() {
        let control = "Tests: upstream\nDepends: @, python3 (>= 3.9) | python3-minimal\n\n\
                       Test-Command: hello --list\nRestrictions: allow-stderr, flaky\n\n\
                       Test-Command: ping -c1 deb.debian.org\nRestrictions: needs-internet\n";
        let plan = plan(
            &["hello --version".into()],
            Some((control, "v1.0.0:debian/tests/control")),
            &["hello".into()],
            "amd64",
        )
        .expect("plan");
        let names: Vec<&str> = plan.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["smoke1", "upstream", "command1"]);
        assert!(plan.tests[0].allow_stderr);
        assert!(!plan.tests[1].allow_stderr);
        assert!(plan.tests[2].allow_stderr && plan.tests[2].flaky);
        assert_eq!(
            plan.tests[1].command,
            TestCommand::Script("debian/tests/upstream".into())
        );
        assert_eq!(plan.depends, ["python3"]);
        assert_eq!(plan.scripts, ["debian/tests/upstream"]);
        assert_eq!(plan.skipped.len(), 1);
        assert_eq!(plan.skipped[0].name, "command2");
        assert_eq!(plan.skipped[0].outcome, TestOutcome::Skip);
    }
}
