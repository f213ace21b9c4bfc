//! `git buildkit pipeline TAG` and `git buildkit show TAG`: run the
//! pipeline of a version tag, and read back its record (the git note).

use git_buildkit::git::Repo;
use git_buildkit::hooks::Jobs;
use git_buildkit::pipeline::{
    self, error_chain, Outcome, PipelineError, PromotionRecord, Record, RepoRecord, RunResult,
    StageResult, VmRecord, NOTES_REF,
};
use git_buildkit::progress::Listener;
use git_buildkit::time::{signed, ymd_hm};

use super::env::pipeline_options;
use super::error::failed;
use super::{open_repo, print_json, CliError, Ui};

/// Build, publish and record a version tag: the pipeline a new tag starts.
///
/// The stages are `[hooks] on-tag` of the tag's own .buildkit.toml
/// (default: package, publish; with a `[vm]` table package, publish,
/// vm-test, promote). package builds in a clean export of the tag, runs the
/// project's `test` command there, and writes the .debs into
/// <git-dir>/buildkit/dist/TAG/; publish adds them to the `[repo]`
/// repository, creating it with the default signing key when it does not
/// exist yet. The outcome — packages and their hashes, repository, timings,
/// or the error — is stored as a git note on the tagged commit
/// (refs/notes/buildkit; see `git buildkit show`).
///
/// A gated run (one that ends in promote) publishes into the staging suite
/// (`[repo] staging`, default `<suite>-staging`); vm-test installs the
/// packages from there in a throw-away VM — first the release suite's
/// earlier version, then the upgrade — and runs the smoke tests; only when
/// it passes does promote copy the same files into the release suite
/// (`[repo] suite`) in one atomic publish. A failed or crashed test leaves
/// the release suite byte for byte as it was (`git buildkit promote` can
/// still promote by hand, with a reason).
///
/// A tag whose note says it succeeded is not run again unless --force, and
/// only one run of a tag happens at a time; a run while another tag's
/// pipeline of the same repository runs waits for it to end. Exit codes: 0 success (or
/// already published), 1 a stage failed (or a VM test), 2 usage or
/// configuration, 3 the VM test bed failed.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit pipeline v1.2.0                  test, package, staging, VM test, promote, record
  git buildkit pipeline v1.2.0 --force          again, although it succeeded
  git buildkit pipeline v1.2.0 --json | jq -r '.packages[].sha256'")]
pub struct Args {
    /// The version tag.
    #[arg(value_name = "TAG")]
    pub tag: String,
    /// Run even if the tag's record says it already succeeded.
    #[arg(long)]
    pub force: bool,
    /// Print the record as JSON (the note's text).
    #[arg(long)]
    pub json: bool,
    /// Run as a hook's background job: keep the job state; a run already
    /// in progress is not an error.
    #[arg(long, hide = true)]
    pub job: bool,
}

/// Print the pipeline record of a tag: the git note on its commit.
///
/// The record is JSON in refs/notes/buildkit (`git notes --ref=buildkit show
/// TAG^{commit}` prints it too). --json prints it as stored.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit show v1.2.0
  git buildkit show v1.2.0 --json | jq -r '.result, .packages[].sha256'")]
pub struct ShowArgs {
    /// The version tag.
    #[arg(value_name = "TAG")]
    pub tag: String,
    /// Print the record's JSON.
    #[arg(long)]
    pub json: bool,
}

/// Promote a tag by hand: its packages from the staging suite into the release suite.
///
/// A gated run (`[hooks] on-tag` ending in promote, the default with a
/// `[vm]` table) publishes a tag's packages into the staging suite
/// (`[repo] staging`, default `<suite>-staging`), tests them in a VM from
/// there, and promotes them into the release suite (`[repo] suite`) only
/// when the test passes. `promote` does that last step by hand, whatever
/// the run's verdict: the very files the run published (checked against the
/// SHA-256 in the tag's record) are copied into the release suite in one
/// atomic, signed publish, and the reason is recorded in the tag's note.
///
/// Exit codes: 0 promoted, 1 the staging suite no longer holds the files
/// the run built, 2 usage (no record, nothing staged, no such suite).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit promote v2.1.0 --reason 'VM test flaky on TCG; checked by hand'
  git buildkit promote v2.1.0 --to stable --reason 'hotfix approved' --json")]
pub struct PromoteArgs {
    /// The version tag.
    #[arg(value_name = "TAG")]
    pub tag: String,
    /// Why it is promoted by hand (recorded in the tag's note).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// The release suite (default: [repo] suite of the tag's .buildkit.toml).
    #[arg(long, value_name = "SUITE")]
    pub to: Option<String>,
    /// Print the updated record as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `promote`.
pub fn promote(ui: &Ui, args: PromoteArgs) -> Result<(), CliError> {
    let repo = open_repo()?;
    if args.reason.trim().is_empty() {
        return Err(super::error::usage(anyhow::anyhow!(
            "--reason must say why the tag is promoted by hand"
        )));
    }
    let options = pipeline_options(false)?;
    let _repository = pipeline::lock_repository(&repo, ui)?;
    let record = pipeline::promote(
        &repo,
        &args.tag,
        args.to.as_deref(),
        &args.reason,
        &options,
        ui,
    )?;
    if args.json {
        return print_json(ui, &record);
    }
    if let Some(promotion) = &record.promotion {
        ui.out(&format!(
            "promoted {} ({}) from {} to {}",
            record.tag,
            promotion.packages.join(", "),
            promotion.from,
            promotion.to
        ));
    }
    Ok(())
}

/// Runs the pipeline.
pub fn run(ui: &Ui, args: Args) -> Result<(), CliError> {
    let repo = open_repo()?;
    let lock = match pipeline::lock(&repo, &args.tag) {
        Err(PipelineError::AlreadyRunning { .. }) if args.job => {
            ui.note(&format!(
                "the pipeline of {} is already running; this job stops",
                args.tag
            ));
            if let Err(e) = Jobs::of(&repo).mark_superseded(&args.tag) {
                ui.warn(&error_chain(&e));
            }
            return Ok(());
        }
        other => other?,
    };
    // One pipeline of the repository at a time, whoever started it.
    let _repository = pipeline::lock_repository(&repo, ui)?;
    let jobs = args.job.then(|| Jobs::of(&repo));
    let commit = pipeline::tag_commit(&repo, &args.tag)
        .map(|c| c.id)
        .unwrap_or_default();
    if let Some(jobs) = &jobs {
        if let Err(e) = jobs.mark_running(&args.tag, &commit) {
            ui.warn(&error_chain(&e));
        }
    }
    let result = execute(ui, &repo, &lock, &args);
    if let Some(jobs) = &jobs {
        let code = result.as_ref().err().map_or(0, |e| e.code.code());
        if let Err(e) = jobs.mark_finished(&args.tag, &commit, code) {
            ui.warn(&error_chain(&e));
        }
    }
    result
}

fn execute(ui: &Ui, repo: &Repo, lock: &pipeline::RunLock, args: &Args) -> Result<(), CliError> {
    let options = pipeline_options(args.force)?;
    match pipeline::run(repo, lock, &options, ui)? {
        Outcome::Ran(record) if args.json => print_json(ui, &record),
        Outcome::Ran(record) => {
            for line in summary(&record) {
                ui.out(&line);
            }
            Ok(())
        }
        Outcome::AlreadyPublished(record) => {
            ui.note(&format!(
                "{} is already published (record of {} UTC); --force runs it again",
                record.tag,
                ymd_hm(signed(record.finished))
            ));
            if args.json {
                print_json(ui, &record)?;
            }
            Ok(())
        }
    }
}

/// Prints a tag's record.
pub fn show(ui: &Ui, args: ShowArgs) -> Result<(), CliError> {
    let repo = open_repo()?;
    let Some((record, text)) = pipeline::record_of(&repo, &args.tag)? else {
        return Err(failed(anyhow::anyhow!(
            "{} has no pipeline record (no {NOTES_REF} note on its commit)",
            args.tag
        ))
        .hint(format!(
            "`git buildkit pipeline {0}` runs it; records made elsewhere arrive with `git fetch origin {NOTES_REF}:{NOTES_REF}`",
            args.tag
        )));
    };
    if record.tag != args.tag {
        // One note per commit: another tag of the same commit ran last.
        ui.note(&format!(
            "the record is of {}, which points at the same commit",
            record.tag
        ));
    }
    if args.json {
        ui.out(text.trim_end());
        return Ok(());
    }
    for line in summary(&record) {
        ui.out(&line);
    }
    Ok(())
}

/// The record as the lines `show` prints.
fn summary(record: &Record) -> Vec<String> {
    let mut lines = vec![match (&record.result, &record.failed_stage) {
        (RunResult::Failed, Some(step)) => format!("{} failed at {step}", record.tag),
        (RunResult::Failed, None) => format!("{} failed", record.tag),
        (RunResult::Succeeded, _) => format!("{} succeeded", record.tag),
    }];
    let mut field = |name: &str, value: String| lines.push(format!("{name:<11}{value}"));
    if let Some(error) = &record.error {
        field("error", error.clone());
    }
    field("commit", record.commit.clone());
    if let Some(version) = &record.version {
        field("version", version.clone());
    }
    field("started", format!("{} UTC", ymd_hm(signed(record.started))));
    field(
        "finished",
        format!("{} UTC", ymd_hm(signed(record.finished))),
    );
    let mut label = "stages";
    for stage in &record.stages {
        let what = match stage.result {
            StageResult::Succeeded => format!("succeeded in {} ms", stage.ms),
            StageResult::Failed => format!("failed after {} ms", stage.ms),
            StageResult::Skipped => format!(
                "skipped: {}",
                stage.detail.as_deref().unwrap_or("no reason given")
            ),
            StageResult::NotRun => "not run".to_owned(),
        };
        field(label, format!("{:<9}{what}", stage.name));
        label = "";
    }
    label = "commands";
    for command in &record.commands {
        let purpose = match command.purpose {
            git_buildkit::package::Purpose::Build => "build",
            git_buildkit::package::Purpose::Test => "test",
        };
        field(
            label,
            format!(
                "{purpose:<9}`{}` in {:.1}s",
                command.command, command.seconds
            ),
        );
        label = "";
    }
    if let Some(output) = &record.output {
        label = "output";
        for line in output.lines() {
            field(label, line.to_owned());
            label = "";
        }
    }
    label = "packages";
    for package in &record.packages {
        field(
            label,
            format!(
                "{} {} {}, {} bytes, sha256 {}",
                package.name, package.version, package.architecture, package.size, package.sha256
            ),
        );
        if let Some(filename) = &package.filename {
            field("", format!("  {filename}"));
        }
        label = "";
    }
    if let Some(repo) = &record.repo {
        field("repository", repo_summary(repo));
    }
    label = "vm-test";
    for vm in record.vm_records() {
        field(label, vm_summary(vm));
        if let Some(upgrade) = &vm.upgrade {
            for line in super::vm::upgrade_lines(upgrade) {
                field("", line);
            }
        }
        label = "";
    }
    if let Some(promotion) = &record.promotion {
        field("promoted", promotion_summary(promotion));
    }
    if let Some(release) = &record.source_release {
        field(
            "source",
            format!(
                "{} (sha256 {}), signed SHA256SUMS",
                release
                    .path
                    .join(release.tarball().unwrap_or_default())
                    .display(),
                release.sha256
            ),
        );
    }
    lines
}

/// The `promoted` line of a record.
fn promotion_summary(promotion: &PromotionRecord) -> String {
    let mut text = format!(
        "{} -> {} at {} UTC (generation {})",
        promotion.from,
        promotion.to,
        ymd_hm(signed(promotion.at)),
        promotion.generation
    );
    if promotion.by_hand {
        text.push_str(&format!(
            ", by hand: {}",
            promotion.reason.as_deref().unwrap_or("no reason given")
        ));
    }
    if !promotion.pruned.is_empty() {
        text.push_str(&format!(
            "; retention dropped {}",
            promotion.pruned.join(", ")
        ));
    }
    text
}

/// The `repository` line of a record.
fn repo_summary(repo: &RepoRecord) -> String {
    format!(
        "{} (suite {}, component {}, generation {}{})",
        repo.path.display(),
        repo.suite,
        repo.component,
        repo.generation,
        if repo.created { ", created" } else { "" }
    )
}

/// The `vm-test` line of a record.
fn vm_summary(vm: &VmRecord) -> String {
    let t = &vm.seconds;
    let suite = vm
        .suite
        .as_deref()
        .map(|s| format!("{s}: "))
        .unwrap_or_default();
    if vm.verdict == "error" {
        return format!(
            "{suite}error: {}",
            vm.error.as_deref().unwrap_or("no reason given")
        );
    }
    let start = match vm.start.as_deref() {
        Some("warm") => format!(", warm (restore {:.1}s)", t.restore),
        _ => String::new(),
    };
    suite
        + &format!(
            "{} ({} passed, {} failed, {} skipped) on image {} ({}), {} {}{start}; \
         boot {:.1}s, update {:.1}s, install {:.1}s, tests {:.1}s, total {:.1}s",
            vm.verdict,
            vm.passed,
            vm.failed,
            vm.skipped,
            vm.image,
            vm.image_key,
            vm.accel,
            vm.mode,
            t.boot,
            t.update,
            t.install,
            t.test,
            t.total
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use git_buildkit::pipeline::{PackageRecord, StageRecord};
    use pretty_assertions::assert_eq;
    use std::path::PathBuf;

    fn record(json: &str) -> Record {
        Record::from_note(json, "c0ffee").expect("record")
    }

    #[test]
    fn summaries() {
        let ok = Record {
            schema: 1,
            tag: "v1.2.0".into(),
            commit: "c0ffee".into(),
            version: Some("1.2.0".into()),
            result: RunResult::Succeeded,
            failed_stage: None,
            error: None,
            stages: vec![
                StageRecord {
                    name: "package".into(),
                    result: StageResult::Succeeded,
                    ms: 812,
                    detail: None,
                },
                StageRecord {
                    name: "publish".into(),
                    result: StageResult::Succeeded,
                    ms: 95,
                    detail: None,
                },
                StageRecord {
                    name: "vm-test".into(),
                    result: StageResult::Skipped,
                    ms: 0,
                    detail: Some("not available yet".into()),
                },
            ],
            python: Vec::new(),
            packages: vec![PackageRecord {
                name: "hello".into(),
                version: "1.2.0-1".into(),
                architecture: "all".into(),
                size: 2048,
                sha256: "ab12".into(),
                filename: Some("pool/main/h/hello/hello_1.2.0-1_all.deb".into()),
            }],
            repo: Some(RepoRecord {
                path: PathBuf::from("/srv/repo"),
                suite: "stable".into(),
                component: "main".into(),
                generation: 3,
                created: true,
            }),
            vm: None,
            vm_suites: Vec::new(),
            commands: Vec::new(),
            output: None,
            promotion: None,
            source_release: None,
            started: 1_767_261_600,
            finished: 1_767_261_660,
            tool: "git-buildkit 0.1.0".into(),
        };
        assert_eq!(
            summary(&ok).join("\n"),
            "v1.2.0 succeeded
commit     c0ffee
version    1.2.0
started    2026-01-01 10:00 UTC
finished   2026-01-01 10:01 UTC
stages     package  succeeded in 812 ms
           publish  succeeded in 95 ms
           vm-test  skipped: not available yet
packages   hello 1.2.0-1 all, 2048 bytes, sha256 ab12
             pool/main/h/hello/hello_1.2.0-1_all.deb
repository /srv/repo (suite stable, component main, generation 3, created)"
        );
        let failed = record(
            r#"{"schema":1,"tag":"v1.2.0","commit":"c0ffee","version":null,"result":"failed",
                "failed_stage":"config","error":"bad file","stages":[],"packages":[],"repo":null,
                "started":0,"finished":0,"tool":"git-buildkit 0.1.0","later":"ignored"}"#,
        );
        assert_eq!(
            summary(&failed).join("\n"),
            "v1.2.0 failed at config
error      bad file
commit     c0ffee
started    1970-01-01 00:00 UTC
finished   1970-01-01 00:00 UTC"
        );
    }

    #[test]
    fn show_has_a_line_per_suite_of_a_matrix() {
        let vm = |suite: &str, verdict: &str, error: &str| {
            format!(
                r#"{{"suite":"{suite}","verdict":"{verdict}","accel":"tcg","mode":"fast","image":"default",
                "image_key":"k","passed":1,"failed":0,"skipped":0,"error":{error},
                "seconds":{{"boot":1.0,"update":2.0,"install":3.0,"test":4.0,"total":10.0}}}}"#
            )
        };
        let matrix = record(&format!(
            r#"{{"schema":1,"tag":"v1.2.0","commit":"c0ffee","version":"1.2.0","result":"failed",
                "failed_stage":"vm-test","error":"not every suite passed: trixie (no image)","stages":[],
                "packages":[],"repo":null,"vm_suites":[{},{}],
                "started":0,"finished":0,"tool":"git-buildkit 0.1.0"}}"#,
            vm("bookworm", "passed", "null"),
            vm(
                "trixie",
                "error",
                "\"there is no VM image for Debian trixie\""
            ),
        ));
        assert_eq!(
            summary(&matrix).join("\n"),
            "v1.2.0 failed at vm-test
error      not every suite passed: trixie (no image)
commit     c0ffee
version    1.2.0
started    1970-01-01 00:00 UTC
finished   1970-01-01 00:00 UTC
vm-test    bookworm: passed (1 passed, 0 failed, 0 skipped) on image default (k), tcg fast; boot 1.0s, update 2.0s, install 3.0s, tests 4.0s, total 10.0s
           trixie: error: there is no VM image for Debian trixie"
        );
    }
}
