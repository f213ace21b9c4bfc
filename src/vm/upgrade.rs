//! The upgrade test of a run: its phases, and what a failed apt step of
//! it says, read from dpkg's messages in the guest's output.
//!
//! When the suite users install from already has an earlier version of the
//! tag's packages, the guest installs that version first and runs the
//! tests, upgrades to the new version and runs them again, then purges the
//! packages and installs the new version cleanly for a last run of the
//! tests, all in one boot (see [`super::job`]). A maintainer script that
//! fails or a conffile prompt (dpkg reads end of file on stdin, never
//! hangs) fails the run; the message names the package and the script or
//! file, as dpkg said it. The guest's bytes are hostile: what is reported
//! is bounded and free of control characters.

/// One phase of a run with an upgrade test, in the order the guest runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `apt-get install` of the released versions (a failure is the test bed's).
    InstallReleased,
    /// The tests, against the released versions (not counted: see [`Phase::counts`]).
    TestReleased,
    /// `apt-get install` of the new versions over the released ones.
    Upgrade,
    /// The tests, after the upgrade.
    TestUpgraded,
    /// `apt-get purge` of the tag's packages.
    Purge,
    /// `apt-get install` of the new versions on the purged system.
    Reinstall,
    /// The tests, after the clean reinstall.
    TestReinstalled,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 7] = [
        Phase::InstallReleased,
        Phase::TestReleased,
        Phase::Upgrade,
        Phase::TestUpgraded,
        Phase::Purge,
        Phase::Reinstall,
        Phase::TestReinstalled,
    ];

    /// The name the guest's `PHASE` frame and the verdict use.
    pub fn name(self) -> &'static str {
        match self {
            Phase::InstallReleased => "install-released",
            Phase::TestReleased => "test-released",
            Phase::Upgrade => "upgrade",
            Phase::TestUpgraded => "test-upgraded",
            Phase::Purge => "purge",
            Phase::Reinstall => "reinstall",
            Phase::TestReinstalled => "test-reinstalled",
        }
    }

    /// The phase called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The prefix of its tests' names (`released/smoke1`), for a test phase.
    pub fn test_prefix(self) -> Option<&'static str> {
        match self {
            Phase::TestReleased => Some("released/"),
            Phase::TestUpgraded => Some("upgraded/"),
            Phase::TestReinstalled => Some("reinstalled/"),
            _ => None,
        }
    }

    /// Whether it is an apt step whose failure is a test failure (its
    /// result is reported as a test of that name).
    pub fn is_step(self) -> bool {
        matches!(self, Phase::Upgrade | Phase::Purge | Phase::Reinstall)
    }

    /// Whether its tests' failures fail the run. The released versions
    /// run the new tag's tests, which may check what only the new version
    /// does: a failure there is reported, not counted.
    pub fn counts(self) -> bool {
        self != Phase::TestReleased
    }
}

/// The longest package name, path or apt message reported from the guest.
const MAX_WORD: usize = 200;
/// The most dpkg failures one step reports.
const MAX_FAILURES: usize = 4;

/// What dpkg said went wrong for one package.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// A maintainer script failed: the package, the script, and how
    /// (`exit status 1`, `killed by signal (Terminated)`).
    Script {
        package: String,
        script: &'static str,
        how: String,
    },
    /// dpkg asked about a conffile and read end of file.
    Conffile { package: String, path: String },
}

impl Failure {
    fn package(&self) -> &str {
        match self {
            Failure::Script { package, .. } | Failure::Conffile { package, .. } => package,
        }
    }
}

/// Reads the output of one apt step line by line, keeping only what its
/// report needs (bounded, whatever the guest prints).
#[derive(Debug, Default)]
pub struct StepWatch {
    /// The package of the last `dpkg: error processing` line.
    package: Option<String>,
    /// The file of the last `Configuration file '…'` line.
    conffile: Option<String>,
    failures: Vec<Failure>,
    /// apt's first `E:` line.
    apt_error: Option<String>,
}

impl StepWatch {
    /// A watch with nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one line of the step's output.
    pub fn line(&mut self, line: &str) {
        if let Some(at) = line.find("Configuration file '") {
            let rest = &line[at + "Configuration file '".len()..];
            let path = rest.rsplit_once('\'').map_or(rest, |(p, _)| p);
            self.conffile = Some(clean(path));
        }
        if let Some(at) = line.find("error processing package ") {
            let rest = &line[at + "error processing package ".len()..];
            self.package = rest.split_whitespace().next().map(clean);
        } else if let Some(at) = line.find("error processing archive ") {
            // `…/archives/hello_1.1.0-1_all.deb (--unpack):`: the name is
            // the file name's first field.
            let rest = &line[at + "error processing archive ".len()..];
            let file = rest.split_whitespace().next().unwrap_or_default();
            let base = file.rsplit('/').next().unwrap_or_default();
            self.package = base.split('_').next().map(clean);
        }
        if line.contains("end of file on stdin at conffile prompt") {
            let failure = Failure::Conffile {
                package: self.package.clone().unwrap_or_else(|| "?".to_owned()),
                path: self.conffile.clone().unwrap_or_else(|| "?".to_owned()),
            };
            self.push(failure);
        } else if let Some(failure) = self.script_failure(line) {
            self.push(failure);
        }
        if self.apt_error.is_none() {
            if let Some(error) = line.trim_start().strip_prefix("E: ") {
                self.apt_error = Some(clean(error));
            }
        }
    }

    fn push(&mut self, failure: Failure) {
        if self.failures.len() < MAX_FAILURES && !self.failures.contains(&failure) {
            self.failures.push(failure);
        }
    }

    /// A maintainer script's failure as dpkg ≥ 1.19 says it
    /// (`installed hello package post-installation script subprocess
    /// returned error exit status 1`) or as older ones did (`subprocess
    /// installed post-installation script returned error exit status 1`,
    /// the package named on the line before).
    fn script_failure(&self, line: &str) -> Option<Failure> {
        let line = line.trim();
        let (package, kind, how) =
            if let Some((before, after)) = line.split_once(" script subprocess ") {
                let words: Vec<&str> = before.split_whitespace().collect();
                let [.., package, "package", kind] = words.as_slice() else {
                    return None;
                };
                (clean(package), *kind, after)
            } else {
                let rest = line.strip_prefix("subprocess ")?;
                let (before, after) = rest.split_once(" script ")?;
                let kind = before.split_whitespace().last()?;
                (self.package.clone()?, kind, after)
            };
        let script = match kind {
            "pre-installation" => "preinst",
            "post-installation" => "postinst",
            "pre-removal" => "prerm",
            "post-removal" => "postrm",
            _ => return None,
        };
        let how = how.strip_prefix("returned error ").unwrap_or(how);
        let how = how.strip_prefix("was ").unwrap_or(how);
        Some(Failure::Script {
            package,
            script,
            how: clean(how),
        })
    }

    /// The report of the step `phase`, which ended with `rc`: `None` when
    /// it succeeded, else what failed, naming each package and script or
    /// conffile. `from` holds the released version of each package (the
    /// version an upgrade started from).
    pub fn finish(
        self,
        phase: Phase,
        rc: Option<i32>,
        from: &[(String, String)],
    ) -> Option<String> {
        if rc == Some(0) {
            return None;
        }
        let action = |package: &str| match phase {
            Phase::Upgrade => match from.iter().find(|(name, _)| name == package) {
                Some((_, version)) => format!("upgrading from {}", clean(version)),
                None => "installing".to_owned(),
            },
            Phase::Purge => "purging".to_owned(),
            _ => "installing".to_owned(),
        };
        // By package, whatever order dpkg configured them in.
        let mut failures = self.failures;
        failures.sort_by(|a, b| a.package().cmp(b.package()));
        let said: Vec<String> = failures
            .iter()
            .map(|failure| match failure {
                Failure::Script {
                    package,
                    script,
                    how,
                } => format!(
                    "{package}'s {script} failed ({how}) while {}",
                    action(package)
                ),
                Failure::Conffile { package, path } => format!(
                    "conffile prompt for {path} ({package}): modified locally and changed by the new version"
                ),
            })
            .collect();
        if !said.is_empty() {
            return Some(said.join("; "));
        }
        let status = match rc {
            Some(rc) => format!("exit status {rc}"),
            None => "no exit status".to_owned(),
        };
        Some(match self.apt_error {
            Some(error) => format!("apt-get failed ({status}): {error}"),
            None => format!("apt-get failed ({status})"),
        })
    }
}

/// `text` as the guest's bytes may be shown: control characters dropped,
/// at most [`MAX_WORD`] characters.
fn clean(text: &str) -> String {
    let mut kept: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_WORD + 1)
        .collect();
    if kept.chars().count() > MAX_WORD {
        kept = kept.chars().take(MAX_WORD).collect();
        kept.push('…');
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn watch(lines: &str, phase: Phase, rc: i32) -> Option<String> {
        let mut watch = StepWatch::new();
        for line in lines.lines() {
            watch.line(line);
        }
        let from = [("hello".to_owned(), "1.0.0-1".to_owned())];
        watch.finish(phase, Some(rc), &from)
    }

    #[test]
    fn phases_have_one_name_each() {
        for phase in Phase::ALL {
            assert_eq!(Phase::from_name(phase.name()), Some(phase));
        }
        assert_eq!(Phase::from_name("install"), None);
        let counted: Vec<&str> = Phase::ALL
            .into_iter()
            .filter(|p| p.test_prefix().is_some() && p.counts())
            .map(Phase::name)
            .collect();
        assert_eq!(counted, ["test-upgraded", "test-reinstalled"]);
    }

    #[test]
    fn a_failing_postinst_is_named_with_the_version_upgraded_from() {
        let output = "\
Setting up hello (1.1.0-1) ...
dpkg: error processing package hello (--configure):
 installed hello package post-installation script subprocess returned error exit status 1
Errors were encountered while processing:
 hello
E: Sub-process /usr/bin/dpkg returned an error code (1)
";
        assert_eq!(
            watch(output, Phase::Upgrade, 100).as_deref(),
            Some("hello's postinst failed (exit status 1) while upgrading from 1.0.0-1")
        );
        assert_eq!(
            watch(output, Phase::Reinstall, 100).as_deref(),
            Some("hello's postinst failed (exit status 1) while installing")
        );
        assert_eq!(watch(output, Phase::Upgrade, 0), None);
    }

    #[test]
    fn old_dpkg_wording_and_other_scripts() {
        let output = "\
dpkg: error processing package other (--purge):
 subprocess installed post-removal script returned error exit status 2
dpkg: error processing archive /var/cache/apt/archives/hello_1.1.0-1_all.deb (--unpack):
 new hello package pre-installation script subprocess was killed by signal (Terminated)
";
        assert_eq!(
            watch(output, Phase::Purge, 100).as_deref(),
            Some(
                "hello's preinst failed (killed by signal (Terminated)) while purging; \
                 other's postrm failed (exit status 2) while purging"
            )
        );
    }

    #[test]
    fn a_conffile_prompt_names_the_file_and_the_package() {
        let output = "\
Setting up hello (1.1.0-1) ...

Configuration file '/etc/hello.conf'
 ==> Modified (by you or by a script) since installation.
 ==> Package distributor has shipped an updated version.
   What would you like to do about it ?  Your options are:
    Y or I  : install the package maintainer's version
 *** hello.conf (Y/I/N/O/D/Z) [default=N] ? dpkg: error processing package hello (--configure):
 end of file on stdin at conffile prompt
Errors were encountered while processing:
 hello
E: Sub-process /usr/bin/dpkg returned an error code (1)
";
        assert_eq!(
            watch(output, Phase::Upgrade, 100).as_deref(),
            Some(
                "conffile prompt for /etc/hello.conf (hello): modified locally and changed by the new version"
            )
        );
    }

    #[test]
    fn without_dpkg_messages_apt_speaks() {
        let output =
            "Reading package lists...\nE: Version '9' for 'hello' was not found\nE: second\n";
        assert_eq!(
            watch(output, Phase::Upgrade, 100).as_deref(),
            Some("apt-get failed (exit status 100): Version '9' for 'hello' was not found")
        );
        assert_eq!(
            watch("", Phase::Purge, 1).as_deref(),
            Some("apt-get failed (exit status 1)")
        );
    }

    #[test]
    fn hostile_output_is_bounded_and_printable() {
        let long = "x".repeat(10_000);
        let mut output = format!(
            "dpkg: error processing package a\u{1b}[2Jb{long} (--configure):\n \
             installed a\u{7}b package post-installation script subprocess returned error exit status 1\u{1b}]0;pwned\u{7}\n"
        );
        for i in 0..50 {
            output.push_str(&format!(
                " installed p{i} package post-installation script subprocess returned error exit status 1\n"
            ));
        }
        output.push_str(&format!("Configuration file '/etc/{long}'\n"));
        let said = watch(&output, Phase::Reinstall, 100).expect("failed");
        assert!(!said.chars().any(char::is_control), "{said:?}");
        assert!(said.len() < 2_000, "{}", said.len());
        assert!(
            said.starts_with("ab's postinst failed (exit status 1]0;pwned) while installing; "),
            "{said}"
        );
        assert_eq!(said.matches("postinst failed").count(), MAX_FAILURES);
    }
}
