//! The job a guest runs, written on the host as one bash script (the image
//! only knows how to mount the job disk and start it), and the framed lines
//! it reports back with.
//!
//! The script installs the tag's packages with apt from the served, signed
//! repository, then runs each test under `timeout`, streaming its output,
//! and reports phases and results as lines starting with a marker that holds
//! a per-run nonce, so a test printing look-alike lines cannot forge a
//! verdict. A missing `END` frame means the test bed broke, not a test.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::qemu::REPO_ADDRESS;
use super::sources::GuestDebian;
use super::upgrade::Phase;

/// Where the job disk is mounted in the guest.
pub const JOB_MOUNT: &str = "/run/bk/job";

/// What a test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestCommand {
    /// A shell command, run with `bash -ec`.
    Shell(String),
    /// A script shipped on the job disk, relative to its `src/` directory
    /// (e.g. `debian/tests/smoke`), run directly.
    Script(String),
}

/// One test of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTest {
    /// Its name (a safe token: `smoke1`, a DEP-8 test name, `command1`).
    pub name: String,
    /// What it runs.
    pub command: TestCommand,
    /// Output on stderr does not fail it (DEP-8 `allow-stderr`; always
    /// for `[vm] smoke` commands).
    pub allow_stderr: bool,
    /// Exit status 77 means skipped (DEP-8 `skippable`).
    pub skippable: bool,
    /// A failure does not fail the run (DEP-8 `flaky`).
    pub flaky: bool,
}

/// Everything the guest's script needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The run's marker nonce.
    pub nonce: String,
    /// The repository's suite and component.
    pub suite: String,
    /// The component.
    pub component: String,
    /// What `apt-get install` gets: `name=version` of the tag's packages,
    /// then the tests' other dependencies.
    pub install: Vec<String>,
    /// The tests, in order.
    pub tests: Vec<JobTest>,
    /// Each test's time limit in seconds.
    pub test_timeout: u64,
    /// The Debian archive, through the caching proxy, when the packages
    /// need it.
    pub debian: Option<GuestDebian>,
    /// The upgrade test, when the suite users install from has an
    /// earlier version.
    pub upgrade: Option<Upgrade>,
    /// Whether apt installs Recommends (`[vm] recommends`, default true).
    pub recommends: bool,
}

/// The upgrade test of a job: the released versions installed and tested
/// first, then upgraded to [`Job::install`], purged, and installed cleanly
/// (see [`super::upgrade`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The suite holding the released versions (same repository, same key).
    pub suite: String,
    /// What the first `apt-get install` gets: `name=version` of the
    /// released versions, then the tests' other dependencies.
    pub install: Vec<String>,
    /// The released version of each of the tag's packages that has one
    /// (name, version); a package new in this release is installed at the
    /// upgrade.
    pub from: Vec<(String, String)>,
    /// The packages purged before the clean reinstall: the tag's.
    pub purge: Vec<String>,
}

impl Job {
    /// The tests the guest runs, in order, each once per test phase: as
    /// planned without an upgrade test; with one, named after their phase
    /// (`released/smoke1`, `upgraded/smoke1`, `reinstalled/smoke1`), a
    /// failure against the released versions not counted (`flaky`).
    pub fn runs(&self) -> Vec<JobTest> {
        if self.upgrade.is_none() {
            return self.tests.clone();
        }
        let mut runs = Vec::new();
        for phase in Phase::ALL {
            let Some(prefix) = phase.test_prefix() else {
                continue;
            };
            runs.extend(self.tests.iter().map(|t| JobTest {
                name: format!("{prefix}{}", t.name),
                flaky: t.flaky || !phase.counts(),
                ..t.clone()
            }));
        }
        runs
    }
}

/// A fresh random token for a run's frame marker ([`Job::nonce`]).
pub fn nonce() -> String {
    random_hex(8)
}

/// `count` random bytes from the kernel, as hex; without /dev/urandom, the
/// clock and the process id stand in (never all zeros).
pub fn random_hex(count: usize) -> String {
    let mut bytes = vec![0u8; count];
    if let Ok(mut file) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = file.read_exact(&mut bytes);
    }
    if bytes.iter().all(|&b| b == 0) {
        let stand_in = (crate::time::unix_nanos() ^ u64::from(std::process::id())).to_le_bytes();
        for (byte, from) in bytes.iter_mut().zip(stand_in.iter().cycle()) {
            *byte = *from;
        }
    }
    hex::encode(bytes)
}

/// Quotes `text` for a POSIX shell.
pub fn sh_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=+./:@%,".contains(&b))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The marker that starts every frame of a run.
pub fn marker(nonce: &str) -> String {
    format!("@@bk:{nonce} ")
}

/// The bash script the guest runs (`run.sh` on the job disk).
pub fn script(job: &Job) -> String {
    build(job, None)
}

/// The script of a kept run: the same job, but when it ends (whatever its
/// outcome) the guest stays up and the job port becomes the channel of
/// `vm exec`, served by the agent on the job disk
/// ([`super::exec::AGENT_FILE`]) with the frames of `exec_nonce`.
pub fn kept_script(job: &Job, exec_nonce: &str) -> String {
    build(job, Some(exec_nonce))
}

fn build(job: &Job, exec_nonce: Option<&str>) -> String {
    let mut s = String::new();
    let marker = marker(&job.nonce);
    s.push_str(SCRIPT_HEAD);
    let _ = writeln!(s, "marker={}", sh_quote(&marker));
    s.push_str(SCRIPT_FUNCTIONS);
    if let Some(nonce) = exec_nonce {
        let _ = writeln!(s, "xmarker={}", sh_quote(&super::exec::marker(nonce)));
        let _ = writeln!(s, "agent={}", sh_quote(super::exec::AGENT_FILE));
        s.push_str(SCRIPT_KEPT_END);
    }
    let source = format!(
        "deb [signed-by=/etc/apt/keyrings/git-buildkit.gpg] http://{REPO_ADDRESS}/ {} {}",
        job.suite, job.component
    );
    let _ = writeln!(s, "source={}", sh_quote(&source));
    let debian = job.debian.as_ref().map(GuestDebian::source_line);
    let _ = writeln!(
        s,
        "debian_source={}",
        sh_quote(debian.as_deref().unwrap_or(""))
    );
    let _ = writeln!(s, "install=({})", words(&job.install));
    let _ = writeln!(s, "recommends={}", u8::from(job.recommends));
    let Some(upgrade) = &job.upgrade else {
        s.push_str(SCRIPT_SETUP);
        s.push_str(SCRIPT_INSTALL);
        tests(&mut s, job, &job.tests);
        s.push_str("end \"$failed\"\n");
        return s;
    };
    let released = format!(
        "deb [signed-by=/etc/apt/keyrings/git-buildkit.gpg] http://{REPO_ADDRESS}/ {} {}",
        upgrade.suite, job.component
    );
    let _ = writeln!(s, "released_source={}", sh_quote(&released));
    let _ = writeln!(s, "released=({})", words(&upgrade.install));
    let _ = writeln!(s, "purge=({})", words(&upgrade.purge));
    s.push_str(SCRIPT_SETUP);
    s.push_str(SCRIPT_RELEASED);
    let runs = job.runs();
    let of = |phase: Phase| -> Vec<JobTest> {
        let prefix = phase.test_prefix().unwrap_or_default();
        runs.iter()
            .filter(|t| t.name.starts_with(prefix))
            .cloned()
            .collect()
    };
    tests(&mut s, job, &of(Phase::TestReleased));
    s.push_str("if step upgrade apt-get -q install -y \"${install[@]}\"; then\n");
    s.push_str("    frame PHASE \"name=test-upgraded\"\n");
    tests(&mut s, job, &of(Phase::TestUpgraded));
    s.push_str("else\n    failed=1\nfi\n");
    s.push_str(
        "if step purge apt-get -q purge -y \"${purge[@]}\" &&\n    \
         step reinstall apt-get -q install -y \"${install[@]}\"; then\n",
    );
    s.push_str("    frame PHASE \"name=test-reinstalled\"\n");
    tests(&mut s, job, &of(Phase::TestReinstalled));
    s.push_str("else\n    failed=1\nfi\n");
    s.push_str("end \"$failed\"\n");
    s
}

/// Words for a bash array, each quoted.
fn words(items: &[String]) -> String {
    items
        .iter()
        .map(|p| sh_quote(p))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `run_test` line per test.
fn tests(s: &mut String, job: &Job, tests: &[JobTest]) {
    for test in tests {
        let flag = |b: bool| if b { "yes" } else { "no" };
        let _ = write!(
            s,
            "run_test {} {} {} {} {} -- ",
            sh_quote(&test.name),
            job.test_timeout,
            flag(test.allow_stderr),
            flag(test.skippable),
            flag(test.flaky),
        );
        match &test.command {
            TestCommand::Shell(command) => {
                let _ = writeln!(s, "@tmp bash -ec {}", sh_quote(command));
            }
            TestCommand::Script(path) => {
                let _ = writeln!(s, "\"$job/src\" {}", sh_quote(&format!("./{path}")));
            }
        }
    }
}

const SCRIPT_HEAD: &str = r#"#!/bin/bash
# Written by git-buildkit for one run: install the tag's packages from its
# signed repository, run the tests, report phases and results as framed lines.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root
job=/run/bk/job
"#;

const SCRIPT_FUNCTIONS: &str = r#"# Builtins where they do: under emulation every program started costs.
frame() {
    local kind=$1 up _
    shift
    read -r up _ </proc/uptime
    printf '%s%s uptime=%s %s\n' "$marker" "$kind" "$up" "$*"
}
end() { sync; frame END "rc=$1"; exit 0; }
failed=0
# run_test NAME LIMIT ALLOW_STDERR SKIPPABLE FLAKY -- DIR COMMAND...
run_test() {
    local name=$1 limit=$2 allow_stderr=$3 skippable=$4 flaky=$5 dir=$7
    shift 7
    local tmp errf start rc result reason=""
    tmp=$(mktemp -d)
    # Smoke commands run in a fresh temporary directory, DEP-8 tests in src/.
    [ "$dir" = @tmp ] && dir=$tmp
    errf=$(mktemp)
    frame TEST-START "name=$name"
    read -r start _ </proc/uptime
    { (cd "$dir" && AUTOPKGTEST_TMP=$tmp AUTOPKGTEST_ARTIFACTS=/run/bk/artifacts \
        timeout -k 5 "$limit" "$@" </dev/null) 2>&1 1>&3 3>&- | tee "$errf" 3>&-; } 3>&1
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ] && [ -s "$errf" ] && [ "$allow_stderr" = no ]; then
        result=FAIL reason="it wrote to stderr"
    elif [ "$rc" -eq 0 ]; then
        result=PASS
    elif [ "$rc" -eq 77 ] && [ "$skippable" = yes ]; then
        result=SKIP reason="exit status 77 (skippable)"
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        result=FAIL reason="timed out after ${limit}s"
    else
        result=FAIL reason="exit status $rc"
    fi
    if [ "$result" = FAIL ] && [ "$flaky" = no ]; then failed=1; fi
    frame TEST "name=$name result=$result rc=$rc start=$start reason=$reason"
    rm -rf "$tmp" "$errf"
}
"#;

const SCRIPT_KEPT_END: &str = r#"# A kept run: the guest stays up after its job, for `vm exec` on the job
# port (raw, no echo: the agent reads requests there).
end() {
    sync
    frame END "rc=$1"
    stty -F /dev/ttyS1 raw -echo 2>/dev/null
    exec perl "$job/$agent" /dev/ttyS1 "$xmarker" </dev/null >/dev/null 2>&1
}
"#;

const SCRIPT_SETUP: &str = r#"frame BEGIN "mode=${BK_MODE:-fast} kernel=$(</proc/sys/kernel/osrelease)"
mkdir -p /run/bk/artifacts /etc/apt/keyrings
if ! printf 'link set lo up\nlink set eth0 up\naddr add 10.0.2.15/24 dev eth0\n' | ip -batch -; then
    frame SETUP-FAILED "reason=network setup"
    end 3
fi
cp "$job/key.gpg" /etc/apt/keyrings/git-buildkit.gpg
[ "$recommends" = 1 ] || echo 'APT::Install-Recommends "false";' >/etc/apt/apt.conf.d/91buildkit-recommends
echo "$source" >/etc/apt/sources.list.d/git-buildkit.list
[ -z "${released_source:-}" ] || echo "$released_source" >>/etc/apt/sources.list.d/git-buildkit.list
[ -z "$debian_source" ] || echo "$debian_source" >/etc/apt/sources.list.d/debian.list
frame PHASE "name=update"
apt-get -q update --error-on=any
rc=$?
if [ "$rc" -ne 0 ]; then
    frame SETUP-FAILED "rc=$rc reason=apt-get update"
    end 3
fi
"#;

const SCRIPT_INSTALL: &str = r#"frame PHASE "name=install"
apt-get -q install -y "${install[@]}"
rc=$?
if [ "$rc" -ne 0 ]; then
    frame SETUP-FAILED "rc=$rc reason=apt-get install"
    end 3
fi
frame PHASE "name=test"
"#;

/// The upgrade test's start: the released versions installed (a failure
/// there is the test bed's, as an install is), and `step`, which runs an
/// apt step whose failure is a test failure. Its stdin is /dev/null, so
/// that dpkg's conffile prompt reads end of file and fails instead of
/// waiting for an answer.
const SCRIPT_RELEASED: &str = r#"# step NAME COMMAND...: an apt step of the upgrade test, its end framed.
step() {
    local name=$1 rc
    shift
    frame PHASE "name=$name"
    "$@" </dev/null
    rc=$?
    frame STEP "name=$name rc=$rc"
    return "$rc"
}
frame PHASE "name=install-released"
apt-get -q install -y "${released[@]}" </dev/null
rc=$?
if [ "$rc" -ne 0 ]; then
    frame SETUP-FAILED "rc=$rc reason=apt-get install of the released versions"
    end 3
fi
frame PHASE "name=test-released"
"#;

/// What a framed line reports: the words the guest script writes after
/// the marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// `BEGIN`: the guest script started.
    Begin,
    /// `PHASE`: a phase (`name=update`, `install`, `test`) started.
    Phase,
    /// `TEST-START`: a test started.
    TestStart,
    /// `TEST`: a test ended, with its result.
    Test,
    /// `SETUP-FAILED`: the network, apt-get update or install failed.
    SetupFailed,
    /// `STEP`: an apt step of the upgrade test ended (`name=upgrade rc=0`).
    Step,
    /// `END`: the guest script ended.
    End,
}

impl FrameKind {
    /// Every kind.
    pub const ALL: [FrameKind; 7] = [
        FrameKind::Begin,
        FrameKind::Phase,
        FrameKind::TestStart,
        FrameKind::Test,
        FrameKind::SetupFailed,
        FrameKind::Step,
        FrameKind::End,
    ];

    /// The word the guest writes.
    pub fn word(self) -> &'static str {
        match self {
            FrameKind::Begin => "BEGIN",
            FrameKind::Phase => "PHASE",
            FrameKind::TestStart => "TEST-START",
            FrameKind::Test => "TEST",
            FrameKind::SetupFailed => "SETUP-FAILED",
            FrameKind::Step => "STEP",
            FrameKind::End => "END",
        }
    }

    /// The kind written as `word`.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.word() == word)
    }
}

/// One framed line from the guest.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// What it reports.
    pub kind: FrameKind,
    /// The guest's uptime in seconds when it was written.
    pub uptime: f64,
    /// Its `key=value` fields; `reason` (always last) keeps its spaces.
    pub fields: BTreeMap<String, String>,
}

impl Frame {
    /// A field's value, or "".
    pub fn field(&self, key: &str) -> &str {
        self.fields.get(key).map_or("", String::as_str)
    }
}

/// Splits a line of the job port into the test output before the marker
/// (if any) and the frame after it (if any). The guest's serial line ends
/// in `\r\n`; the `\r` is dropped.
pub fn split_line<'a>(line: &'a str, marker: &str) -> (&'a str, Option<Frame>) {
    let line = line.trim_end_matches(['\r', '\n']);
    let Some(at) = line.find(marker) else {
        return (line, None);
    };
    let (output, rest) = line.split_at(at);
    (output, parse_frame(&rest[marker.len()..]))
}

fn parse_frame(text: &str) -> Option<Frame> {
    let (kind, mut rest) = text.split_once(' ').unwrap_or((text, ""));
    // A kind this version does not know is ignored, like a broken frame.
    let kind = FrameKind::from_word(kind)?;
    let mut fields = BTreeMap::new();
    let mut uptime = None;
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        if let Some(reason) = rest.strip_prefix("reason=") {
            fields.insert("reason".to_owned(), reason.trim_end().to_owned());
            break;
        }
        let (word, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        rest = tail;
        let (key, value) = word.split_once('=')?;
        if key == "uptime" {
            uptime = value.parse().ok();
        } else {
            fields.insert(key.to_owned(), value.to_owned());
        }
    }
    Some(Frame {
        kind,
        uptime: uptime?,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn job() -> Job {
        Job {
            nonce: "n0nce".into(),
            suite: "stable".into(),
            component: "main".into(),
            install: vec!["hello=1.0.0-1".into(), "python3".into()],
            tests: vec![
                JobTest {
                    name: "smoke1".into(),
                    command: TestCommand::Shell("hello --version | grep -q 'it''s'".into()),
                    allow_stderr: true,
                    skippable: false,
                    flaky: false,
                },
                JobTest {
                    name: "upstream".into(),
                    command: TestCommand::Script("debian/tests/upstream".into()),
                    allow_stderr: false,
                    skippable: true,
                    flaky: false,
                },
            ],
            test_timeout: 30,
            recommends: true,
            debian: None,
            upgrade: None,
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("hello=1.0-1"), "hello=1.0-1");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote("$(reboot)"), "'$(reboot)'");
    }

    #[test]
    fn the_script_names_everything_once() {
        let text = script(&job());
        for want in [
            "marker='@@bk:n0nce '\n",
            "source='deb [signed-by=/etc/apt/keyrings/git-buildkit.gpg] http://10.0.2.100/ stable main'\n",
            "install=(hello=1.0.0-1 python3)\n",
            "run_test smoke1 30 yes no no -- @tmp bash -ec 'hello --version | grep -q '\\''it'\\'''\\''s'\\'''\n",
            "run_test upstream 30 no yes no -- \"$job/src\" ./debian/tests/upstream\n",
            "end \"$failed\"\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        // Recommends: apt's default unless `[vm] recommends = false`.
        assert!(text.contains("recommends=1\n"), "{text}");
        let without = script(&Job {
            recommends: false,
            ..job()
        });
        assert!(without.contains("recommends=0\n"), "{without}");
        assert!(
            without.contains("echo 'APT::Install-Recommends \"false\";' >/etc/apt/apt.conf.d/"),
            "{without}"
        );
    }

    fn upgrade_job() -> Job {
        Job {
            upgrade: Some(Upgrade {
                suite: "stable".into(),
                install: vec!["hello=0.9.0-1".into(), "python3".into()],
                from: vec![("hello".into(), "0.9.0-1".into())],
                purge: vec!["hello".into()],
            }),
            ..job()
        }
    }

    #[test]
    fn an_upgrade_job_runs_each_test_once_per_phase() {
        let runs: Vec<(String, bool)> = upgrade_job()
            .runs()
            .into_iter()
            .map(|t| (t.name, t.flaky))
            .collect();
        let want = [
            ("released/smoke1", true),
            ("released/upstream", true),
            ("upgraded/smoke1", false),
            ("upgraded/upstream", false),
            ("reinstalled/smoke1", false),
            ("reinstalled/upstream", false),
        ]
        .map(|(n, f)| (n.to_owned(), f));
        assert_eq!(runs, want);
        assert_eq!(
            job().runs(),
            job().tests,
            "without an upgrade test, the tests as planned"
        );
    }

    #[test]
    fn the_upgrade_script_adds_the_released_suite_and_its_phases() {
        let text = script(&upgrade_job());
        for want in [
            "released_source='deb [signed-by=/etc/apt/keyrings/git-buildkit.gpg] http://10.0.2.100/ stable main'\n",
            "released=(hello=0.9.0-1 python3)\n",
            "purge=(hello)\n",
            "install=(hello=1.0.0-1 python3)\n",
            "frame PHASE \"name=install-released\"\napt-get -q install -y \"${released[@]}\" </dev/null\n",
            "run_test released/smoke1 30 yes no yes -- @tmp bash -ec ",
            "if step upgrade apt-get -q install -y \"${install[@]}\"; then\n    frame PHASE \"name=test-upgraded\"\nrun_test upgraded/smoke1 30 yes no no",
            "if step purge apt-get -q purge -y \"${purge[@]}\" &&\n    step reinstall apt-get -q install -y \"${install[@]}\"; then\n",
            "run_test reinstalled/upstream 30 no yes no -- \"$job/src\" ./debian/tests/upstream\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(!text.contains("frame PHASE \"name=install\"\n"), "{text}");
        assert!(
            text.ends_with("else\n    failed=1\nfi\nend \"$failed\"\n"),
            "{text}"
        );
        // Without an upgrade test, nothing of it.
        let plain = script(&job());
        assert!(!plain.contains("install-released"), "{plain}");
        assert!(!plain.contains("step "), "{plain}");
    }

    #[test]
    fn a_step_frames_its_end_and_reads_eof_on_stdin() {
        // `step` run on the host with a stub frame: its command's stdin is
        // /dev/null (a conffile prompt reads end of file), its status kept.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.sh");
        let uptime = dir.path().join("uptime");
        std::fs::write(&uptime, "1.50 1.20\n").expect("uptime");
        let released = &SCRIPT_RELEASED[..SCRIPT_RELEASED
            .find("frame PHASE \"name=install-released")
            .expect("step")];
        let body = format!(
            "marker='@@bk:x '\n{}{released}{}",
            SCRIPT_FUNCTIONS.replace("/proc/uptime", &uptime.to_string_lossy()),
            r#"
step upgrade bash -c 'read -r answer || exit 7'
echo "rc=$?"
step purge true
"#
        );
        std::fs::write(&path, body).expect("write");
        let out = std::process::Command::new("bash")
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .output()
            .expect("bash");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let frames: Vec<(FrameKind, String, String)> = stdout
            .lines()
            .filter_map(|l| split_line(l, "@@bk:x ").1)
            .map(|f| (f.kind, f.field("name").to_owned(), f.field("rc").to_owned()))
            .collect();
        let want = [
            (FrameKind::Phase, "upgrade", ""),
            (FrameKind::Step, "upgrade", "7"),
            (FrameKind::Phase, "purge", ""),
            (FrameKind::Step, "purge", "0"),
        ]
        .map(|(k, n, rc)| (k, n.to_owned(), rc.to_owned()));
        assert_eq!(frames, want, "{stdout}");
        assert!(stdout.contains("rc=7\n"), "{stdout}");
    }

    #[test]
    fn a_kept_script_hands_the_port_to_the_agent_at_its_end() {
        let kept = kept_script(&job(), "x0");
        let plain = script(&job());
        assert!(kept.contains("xmarker='@@bkx:x0 '\n"), "{kept}");
        assert!(
            kept.contains("exec perl \"$job/$agent\" /dev/ttyS1 \"$xmarker\""),
            "{kept}"
        );
        // The new end() comes before the setup, whose failures call it too.
        let end_at = kept.find("\nend() {\n    sync").expect("end");
        assert!(end_at < kept.find("frame BEGIN").expect("begin"));
        assert!(!plain.contains("perl"), "{plain}");
        assert!(kept.ends_with("end \"$failed\"\n"));
    }

    #[test]
    fn the_script_is_valid_bash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run.sh");
        std::fs::write(&path, script(&job())).expect("write");
        let out = std::process::Command::new("bash")
            .arg("-n")
            .arg(&path)
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(
            &path,
            format!("{}\n{}", kept_script(&job(), "x0"), script(&upgrade_job())),
        )
        .expect("write");
        let out = std::process::Command::new("bash")
            .arg("-n")
            .arg(&path)
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn run_test_reports_each_outcome() {
        // The test runner of the script, run on the host with a stub frame.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.sh");
        let uptime = dir.path().join("uptime");
        std::fs::write(&uptime, "1.50 1.20\n").expect("uptime");
        let body = format!(
            "marker='@@bk:x '\n{}{}",
            SCRIPT_FUNCTIONS.replace("/proc/uptime", &uptime.to_string_lossy()),
            r#"
run_test pass 10 no no no -- @tmp bash -ec 'echo hi; pwd'
run_test err 10 no no no -- @tmp bash -ec 'echo oops >&2'
run_test errok 10 yes no no -- @tmp bash -ec 'echo fine >&2'
run_test skip 10 no yes no -- @tmp bash -ec 'exit 77'
run_test slow 1 no no no -- @tmp bash -ec 'sleep 30'
run_test flaky 10 no no yes -- @tmp bash -ec 'exit 2'
echo "failed=$failed"
"#
        );
        std::fs::write(&path, body).expect("write");
        let out = std::process::Command::new("bash")
            .arg(&path)
            .output()
            .expect("bash");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let results: Vec<(String, String, String)> = stdout
            .lines()
            .filter_map(|l| split_line(l, "@@bk:x ").1)
            .filter(|f| f.kind == FrameKind::Test)
            .map(|f| {
                (
                    f.field("name").to_owned(),
                    f.field("result").to_owned(),
                    f.field("reason").to_owned(),
                )
            })
            .collect();
        let want = [
            ("pass", "PASS", ""),
            ("err", "FAIL", "it wrote to stderr"),
            ("errok", "PASS", ""),
            ("skip", "SKIP", "exit status 77 (skippable)"),
            ("slow", "FAIL", "timed out after 1s"),
            ("flaky", "FAIL", "exit status 2"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(results, want, "{stdout}");
        assert!(stdout.contains("hi\n"), "{stdout}");
        assert!(stdout.ends_with("failed=1\n"), "{stdout}");
    }

    #[test]
    fn frames_split_from_output() {
        let marker = marker("abc");
        let (out, frame) = split_line("partial@@bk:abc TEST uptime=3.25 name=smoke1 result=FAIL rc=1 start=2.00 reason=exit status 1\r\n", &marker);
        assert_eq!(out, "partial");
        let frame = frame.expect("frame");
        assert_eq!(frame.kind, FrameKind::Test);
        assert_eq!(frame.uptime, 3.25);
        assert_eq!(frame.field("name"), "smoke1");
        assert_eq!(frame.field("reason"), "exit status 1");
        assert_eq!(frame.field("missing"), "");
        assert_eq!(
            split_line("plain output\r", &marker),
            ("plain output", None)
        );
        // Another run's marker, or a broken frame, is output.
        assert_eq!(
            split_line("@@bk:other END uptime=1 rc=0", &marker),
            ("@@bk:other END uptime=1 rc=0", None)
        );
        assert_eq!(split_line("@@bk:abc END rc=0", &marker).1, None);
        assert_eq!(split_line("@@bk:abc DONE uptime=1", &marker).1, None);
        let end = split_line("@@bk:abc END uptime=9.5 rc=0", &marker).1;
        assert_eq!(end.expect("end").field("rc"), "0");
    }
}
