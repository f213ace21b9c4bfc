//! A parsed DEP-8 test as the runner needs it: what it runs, what it
//! installs first, its restrictions and the architectures it runs on.

/// What a test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestKind {
    /// A script named by `Tests`: its path relative to the repository root,
    /// e.g. `debian/tests/smoke`.
    Script(String),
    /// A `Test-Command` shell line, run under `bash -ec`.
    Command(String),
}

/// One test of a `debian/tests/control` file, as the runner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep8Test {
    /// The name autopkgtest gives it: the script's name, or `commandN`.
    pub name: String,
    /// The script or command to run.
    pub kind: TestKind,
    /// What to install with apt first, one or-group each, `@` expanded.
    pub depends: Vec<String>,
    /// The stanza's restrictions as written, without repeats.
    pub restrictions: Vec<String>,
    /// The stanza's `Architecture` list as written (empty: any); see
    /// [`Dep8Test::runs_on`].
    pub architectures: Vec<String>,
    /// Why the test will not run, if it will not.
    pub skip: Option<String>,
}

impl Dep8Test {
    /// Output on stderr does not fail the test (`allow-stderr`).
    pub fn allows_stderr(&self) -> bool {
        self.has("allow-stderr")
    }

    /// Exit status 77 means "skipped", not "failed" (`skippable`).
    pub fn is_skippable(&self) -> bool {
        self.has("skippable")
    }

    /// A failure is reported but does not fail the run (`flaky`).
    pub fn is_flaky(&self) -> bool {
        self.has("flaky")
    }

    /// A pass says little about the package (`superficial`).
    pub fn is_superficial(&self) -> bool {
        self.has("superficial")
    }

    /// Whether the `Architecture` field admits the Debian architecture
    /// `arch` (e.g. `amd64`).
    ///
    /// Wildcards are matched for a Linux guest only: `any`, `linux-any`,
    /// `linux-ARCH` and `any-CPU` (with the CPU of the common Debian ports),
    /// not dpkg's whole tuple table. A list of `!arch` entries excludes; a
    /// mixed list is skipped when parsed.
    pub fn runs_on(&self, arch: &str) -> bool {
        if self.architectures.is_empty() {
            return true;
        }
        if self.architectures.iter().all(|a| a.starts_with('!')) {
            return !self
                .architectures
                .iter()
                .any(|a| arch_matches(arch, a.trim_start_matches('!')));
        }
        self.architectures.iter().any(|a| arch_matches(arch, a))
    }

    fn has(&self, restriction: &str) -> bool {
        self.restrictions.iter().any(|r| r == restriction)
    }
}

/// dpkg's architecture wildcards, as far as a Linux guest needs them.
fn arch_matches(arch: &str, pattern: &str) -> bool {
    let cpu = match arch {
        "armel" | "armhf" => "arm",
        "x32" => "amd64",
        other => other,
    };
    pattern == "any"
        || pattern == arch
        || pattern == "linux-any"
        || pattern.strip_prefix("linux-") == Some(arch)
        || pattern.strip_prefix("any-") == Some(cpu)
}

#[cfg(test)]
mod tests {
    use crate::vm::dep8::fixtures::parse_ok;
    use pretty_assertions::assert_eq;

    #[test]
    fn restriction_helpers() {
        let tests = parse_ok(
            "Tests: a\nRestrictions: allow-stderr skippable\n\n\
             Tests: b\nRestrictions: flaky,superficial,flaky\n",
        );
        let flags: Vec<_> = tests
            .iter()
            .map(|t| {
                (
                    t.allows_stderr(),
                    t.is_skippable(),
                    t.is_flaky(),
                    t.is_superficial(),
                )
            })
            .collect();
        assert_eq!(
            flags,
            [(true, true, false, false), (false, false, true, true)]
        );
        assert_eq!(tests[1].restrictions, ["flaky", "superficial"]);
    }

    #[test]
    fn architecture_lists() {
        let text = "\
Tests: any
Architecture: any

Tests: some
Architecture: amd64, arm64

Tests: not
Architecture: !armhf !i386

Tests: wild
Architecture: any-arm linux-riscv64

Tests: mixed
Architecture: amd64 !i386

Tests: all
Architecture: all
";
        let runs: Vec<(String, [bool; 4], Option<String>)> = parse_ok(text)
            .into_iter()
            .map(|t| {
                let on = ["amd64", "arm64", "armhf", "riscv64"].map(|a| t.runs_on(a));
                (t.name, on, t.skip)
            })
            .collect();
        let row =
            |name: &str, on, skip: Option<&str>| (name.to_owned(), on, skip.map(String::from));
        assert_eq!(
            runs,
            [
                row("any", [true, true, true, true], None),
                row("some", [true, true, false, false], None),
                row("not", [true, true, false, true], None),
                row("wild", [false, false, true, true], None),
                row(
                    "mixed",
                    [true, false, false, false],
                    Some("Architecture mixes !arch with arch")
                ),
                row(
                    "all",
                    [false; 4],
                    Some("Architecture: all is not allowed for a test")
                ),
            ]
        );
    }
}
