//! Turning the tests a caller hands over as text into the tests a guest
//! runs, on the host and before any VM starts: `[vm] smoke` commands, then
//! DEP-8 tests from the text of a `debian/tests/control`, and what apt
//! installs for them. Where that text comes from (a tagged tree) is the
//! caller's business: see `pipeline::vm_plan`. The `[vm]` values
//! themselves are parsed when the configuration is read (see
//! [`super::values`]).

use super::dep8::{self, Dep8Test, TestKind};
use super::job::{JobTest, TestCommand};
use super::verdict::{TestOutcome, TestResult};

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
    use pretty_assertions::assert_eq;

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
