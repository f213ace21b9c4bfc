//! The record of a run: what ran, what it built and where it published,
//! stored as the JSON text of the tagged commit's note. Its fields are the
//! note's format ([`RECORD_SCHEMA`]), so they change only with care.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::PipelineError;

/// The version of the record format, stored in each note.
pub const RECORD_SCHEMA: u32 = 1;

/// The outcome of a run, as stored in the note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`RECORD_SCHEMA`] of the writer.
    pub schema: u32,
    /// The tag run.
    pub tag: String,
    /// The commit it points at (the note's object).
    pub commit: String,
    /// The tag's version (semver), once the configuration was read.
    pub version: Option<String>,
    /// Succeeded or failed.
    pub result: RunResult,
    /// The step that failed: `config` or a stage name.
    pub failed_stage: Option<String>,
    /// The error of the failed step, with its causes, `: `-separated.
    pub error: Option<String>,
    /// Each configured stage, in order.
    pub stages: Vec<StageRecord>,
    /// The packages built.
    pub packages: Vec<PackageRecord>,
    /// For each `kind = "python"` package, the distributions built: the
    /// resolved versions with their wheels' hashes, so the build can be
    /// repeated (or locked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub python: Vec<crate::package::python::PythonReport>,
    /// Where they were published.
    pub repo: Option<RepoRecord>,
    /// The VM test's verdict (a single run: no `[vm] suites`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<VmRecord>,
    /// The VM test's verdict on each suite of `[vm] suites`, in order
    /// (each with its `suite`); a single run has `vm` instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vm_suites: Vec<VmRecord>,
    /// The build and test commands that ran, with their durations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<crate::package::BuildReport>,
    /// The last lines the failed build or test command printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The copy of the tested packages into the release suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<PromotionRecord>,
    /// The tag's source release, once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_release: Option<super::SourceRelease>,
    /// Start, in seconds since the Unix epoch.
    pub started: u64,
    /// End, in seconds since the Unix epoch.
    pub finished: u64,
    /// The program that wrote the record.
    pub tool: String,
}

/// Whether a run succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    /// Every stage succeeded or was skipped.
    Succeeded,
    /// A step failed.
    Failed,
}

/// What became of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageResult {
    /// It ran and succeeded.
    Succeeded,
    /// It ran and failed.
    Failed,
    /// It was not run, for the reason in `detail`.
    Skipped,
    /// An earlier step failed.
    NotRun,
}

/// One stage of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    /// The stage name (a string, so records of later versions stay readable).
    pub name: String,
    /// What became of it.
    pub result: StageResult,
    /// Its duration in milliseconds.
    pub ms: u64,
    /// Why it was skipped.
    pub detail: Option<String>,
}

/// One package of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    /// Package name.
    pub name: String,
    /// Debian version.
    pub version: String,
    /// Architecture.
    pub architecture: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the .deb, lowercase hex.
    pub sha256: String,
    /// Its path in the repository (apt's `Filename:`), once published.
    pub filename: Option<String>,
}

/// Where a record's packages were published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRecord {
    /// The repository directory.
    pub path: PathBuf,
    /// The suite.
    pub suite: String,
    /// The component.
    pub component: String,
    /// The generation published (unchanged when every package was already there).
    pub generation: u64,
    /// Whether this run created the repository.
    pub created: bool,
}

/// A promotion: the packages of the staging suite, the same files, copied
/// into the release suite in one publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionRecord {
    /// The suite they were tested in.
    pub from: String,
    /// The release suite.
    pub to: String,
    /// `name=version` of each package copied (already there: listed too).
    pub packages: Vec<String>,
    /// The generation published.
    pub generation: u64,
    /// Versions retention dropped from the release suite.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<String>,
    /// Promoted by hand (`git buildkit promote`), not by a run.
    pub by_hand: bool,
    /// Why, for a promotion by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When, in seconds since the Unix epoch.
    pub at: u64,
}

/// The VM test of a record (of one suite of a matrix).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmRecord {
    /// The Debian suite, in a matrix (`[vm] suites`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// `passed`, `failed` or `testbed-failed`; in a matrix, `error` for a
    /// suite that could not be planned or run (`error` says why, and the
    /// other fields are empty).
    pub verdict: String,
    /// The accelerator: `kvm` or `tcg`.
    pub accel: String,
    /// The guest mode: `fast` or `systemd`.
    pub mode: String,
    /// `warm` (restored from the image's snapshot) or `cold` (booted);
    /// absent in notes written before warm starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// The image name and its recipe key.
    pub image: String,
    /// The image's recipe key.
    pub image_key: String,
    /// Tests passed, failed, skipped.
    pub passed: usize,
    /// Tests failed.
    pub failed: usize,
    /// Tests skipped.
    pub skipped: usize,
    /// Seconds: boot, update, install, test, total.
    pub seconds: VmSeconds,
    /// Why the test bed failed.
    pub error: Option<String>,
    /// The upgrade test: the versions upgraded from and each phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<crate::vm::verdict::UpgradeReport>,
}

/// Phase durations of a VM test, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmSeconds {
    /// Start of qemu to the job's first line.
    pub boot: f64,
    /// A warm start: qemu's start to the restored guest running (part of
    /// `boot`).
    #[serde(default)]
    pub restore: f64,
    /// `apt-get update`.
    pub update: f64,
    /// `apt-get install`.
    pub install: f64,
    /// The tests.
    pub test: f64,
    /// Everything.
    pub total: f64,
}

impl Record {
    pub(super) fn new(tag: &str, commit: &str, started: u64) -> Self {
        Self {
            schema: RECORD_SCHEMA,
            tag: tag.to_owned(),
            commit: commit.to_owned(),
            version: None,
            result: RunResult::Succeeded,
            failed_stage: None,
            error: None,
            stages: Vec::new(),
            packages: Vec::new(),
            python: Vec::new(),
            repo: None,
            vm: None,
            vm_suites: Vec::new(),
            commands: Vec::new(),
            output: None,
            promotion: None,
            source_release: None,
            started,
            finished: started,
            tool: concat!("git-buildkit ", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// The VM test's verdicts: the single run's, or each suite's.
    pub fn vm_records(&self) -> impl Iterator<Item = &VmRecord> {
        self.vm.iter().chain(&self.vm_suites)
    }

    /// The note's text: pretty JSON and a newline (stable under git's stripspace).
    pub fn to_note(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .expect("a record is plain data and always serializes");
        text.push('\n');
        text
    }

    pub(super) fn result_word(&self) -> &'static str {
        match self.result {
            RunResult::Succeeded => "success",
            RunResult::Failed => "failure",
        }
    }

    /// Parses a note written by [`Record::to_note`].
    pub fn from_note(text: &str, commit: &str) -> Result<Self, PipelineError> {
        serde_json::from_str(text).map_err(|source| PipelineError::BadNote {
            commit: commit.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn records_round_trip_through_their_note_text() {
        let mut record = Record::new("v1.2.0", "0123abcd", 1_767_261_600);
        record.tool = "git-buildkit 0.0.0".into();
        record.version = Some("1.2.0".into());
        record.result = RunResult::Failed;
        record.failed_stage = Some("publish".into());
        record.error = Some("could not access /repo: denied".into());
        record.stages = vec![
            StageRecord {
                name: "package".into(),
                result: StageResult::Succeeded,
                ms: 812,
                detail: None,
            },
            StageRecord {
                name: "vm-test".into(),
                result: StageResult::NotRun,
                ms: 0,
                detail: None,
            },
        ];
        record.packages = vec![PackageRecord {
            name: "hello".into(),
            version: "1.2.0-1".into(),
            architecture: "all".into(),
            size: 2048,
            sha256: "ab".repeat(32),
            filename: None,
        }];
        let text = record.to_note();
        assert_eq!(
            text,
            format!(
                r#"{{
  "schema": 1,
  "tag": "v1.2.0",
  "commit": "0123abcd",
  "version": "1.2.0",
  "result": "failed",
  "failed_stage": "publish",
  "error": "could not access /repo: denied",
  "stages": [
    {{
      "name": "package",
      "result": "succeeded",
      "ms": 812,
      "detail": null
    }},
    {{
      "name": "vm-test",
      "result": "not-run",
      "ms": 0,
      "detail": null
    }}
  ],
  "packages": [
    {{
      "name": "hello",
      "version": "1.2.0-1",
      "architecture": "all",
      "size": 2048,
      "sha256": "{}",
      "filename": null
    }}
  ],
  "repo": null,
  "started": 1767261600,
  "finished": 1767261600,
  "tool": "git-buildkit 0.0.0"
}}
"#,
                "ab".repeat(32)
            )
        );
        assert_eq!(
            Record::from_note(&text, "0123abcd").expect("parses"),
            record
        );
        let error = Record::from_note("not json", "0123abcd").expect_err("bad");
        assert_eq!(
            error.to_string(),
            "the refs/notes/buildkit note of 0123abcd is not a pipeline record"
        );
    }

    #[test]
    fn a_vm_record_without_an_upgrade_test_reads_and_writes_as_before() {
        use crate::vm::verdict::{PhaseReport, PhaseResult, UpgradeReport, UpgradedFrom};
        let old = r#"{"verdict": "passed", "accel": "tcg", "mode": "fast", "image": "default",
            "image_key": "k", "passed": 1, "failed": 0, "skipped": 0,
            "seconds": {"boot": 1.0, "update": 2.0, "install": 3.0, "test": 4.0, "total": 10.0},
            "error": null}"#;
        let mut vm: VmRecord = serde_json::from_str(old).expect("an old note's record");
        assert_eq!((vm.upgrade.as_ref(), vm.suite.as_ref()), (None, None));
        let json = serde_json::to_string(&vm).expect("json");
        assert!(!json.contains("upgrade"), "{json}");
        vm.upgrade = Some(UpgradeReport {
            suite: "stable".into(),
            from: vec![UpgradedFrom {
                package: "hello".into(),
                version: "1.1.0-1".into(),
            }],
            phases: vec![PhaseReport {
                name: "upgrade".into(),
                result: PhaseResult::Failed,
                seconds: 6.5,
                detail: Some(
                    "hello's postinst failed (exit status 1) while upgrading from 1.1.0-1".into(),
                ),
            }],
        });
        let json = serde_json::to_string(&vm).expect("json");
        assert!(
            json.ends_with(
                r#""upgrade":{"suite":"stable","from":[{"package":"hello","version":"1.1.0-1"}],"phases":[{"name":"upgrade","result":"failed","seconds":6.5,"detail":"hello's postinst failed (exit status 1) while upgrading from 1.1.0-1"}]}}"#
            ),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<VmRecord>(&json).expect("reads"), vm);
    }

    #[test]
    fn a_record_with_one_vm_record_reads_and_writes_as_before_and_a_matrix_keeps_each_suite() {
        let vm = r#"{"verdict": "passed", "accel": "tcg", "mode": "fast", "image": "default",
            "image_key": "k", "passed": 1, "failed": 0, "skipped": 0,
            "seconds": {"boot": 1.0, "update": 2.0, "install": 3.0, "test": 4.0, "total": 10.0},
            "error": null}"#;
        let old = format!(
            r#"{{"schema": 1, "tag": "v1.0.0", "commit": "c0ffee", "version": "1.0.0",
            "result": "succeeded", "failed_stage": null, "error": null, "stages": [],
            "packages": [], "repo": null, "vm": {vm}, "started": 1, "finished": 2,
            "tool": "git-buildkit 0.1.0"}}"#
        );
        let record = Record::from_note(&old, "c0ffee").expect("an old note");
        assert_eq!(record.vm_suites, []);
        let single: Vec<(Option<&str>, &str)> = record
            .vm_records()
            .map(|v| (v.suite.as_deref(), v.verdict.as_str()))
            .collect();
        assert_eq!(single, [(None, "passed")]);
        let text = record.to_note();
        assert!(
            !text.contains("vm_suites") && !text.contains("\"suite\""),
            "{text}"
        );
        assert_eq!(Record::from_note(&text, "c0ffee").expect("reads"), record);

        let mut matrix = record.clone();
        let one = matrix.vm.take().expect("vm");
        matrix.vm_suites = ["bookworm", "trixie"]
            .map(|suite| VmRecord {
                suite: Some(suite.into()),
                ..one.clone()
            })
            .to_vec();
        let text = matrix.to_note();
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(json.get("vm"), None, "{text}");
        let suites: Vec<&str> = json["vm_suites"]
            .as_array()
            .expect("vm_suites")
            .iter()
            .map(|v| v["suite"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(suites, ["bookworm", "trixie"]);
        let back = Record::from_note(&text, "c0ffee").expect("reads");
        assert_eq!(back, matrix);
        assert_eq!(back.vm_records().count(), 2);
    }
}
