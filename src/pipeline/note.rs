//! The git note that holds a run's record (`refs/notes/buildkit` on the
//! tagged commit): finding the tag's commit, reading the note, and
//! replacing it one writer at a time. The only place that runs
//! `git notes`.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::{buildkit_dir, PipelineError, Record};
use crate::git::{git, CommitInfo, Repo};
use crate::process::ProcessError;

/// The notes ref holding the records (`git notes --ref=buildkit`).
pub const NOTES_REF: &str = "refs/notes/buildkit";

/// The commit `tag` (a tag, not any revision) points at.
pub fn tag_commit(repo: &Repo, tag: &str) -> Result<CommitInfo, PipelineError> {
    repo.tags()?
        .into_iter()
        .find(|t| t.name == tag)
        .map(|t| t.commit)
        .ok_or_else(|| PipelineError::NotATag {
            tag: tag.to_owned(),
        })
}

/// The raw note of `commit`, if it has one.
pub fn read_note(repo: &Repo, commit: &str) -> Result<Option<String>, PipelineError> {
    let result = git(repo.cwd())
        .args(["notes", &format!("--ref={}", notes_name()), "show", commit])
        .output();
    match result {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(ProcessError::Exit {
            code: 1, output, ..
        }) if output.contains("no note found") => Ok(None),
        Err(source) => Err(PipelineError::ReadNote {
            commit: commit.to_owned(),
            source,
        }),
    }
}

/// The record of `tag`'s commit, with the note's text, if it has one.
pub fn record_of(repo: &Repo, tag: &str) -> Result<Option<(Record, String)>, PipelineError> {
    let commit = tag_commit(repo, tag)?;
    let Some(text) = read_note(repo, &commit.id)? else {
        return Ok(None);
    };
    let record = Record::from_note(&text, &commit.id)?;
    Ok(Some((record, text)))
}

/// `buildkit` for `--ref=`.
pub(super) fn notes_name() -> &'static str {
    NOTES_REF.trim_start_matches("refs/notes/")
}

/// Replaces the note of `commit` with `text`. Runs of different tags write
/// notes one at a time (git would refuse a second writer of the notes ref).
pub(super) fn write_note(repo: &Repo, commit: &str, text: &str) -> Result<(), PipelineError> {
    let dir = buildkit_dir(repo);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PipelineError::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let lock_path = dir.join("notes.lock");
    let guard = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    guard.lock().map_err(io(&lock_path))?;
    let mut file = tempfile::Builder::new()
        .prefix("note-")
        .tempfile_in(&dir)
        .map_err(io(&dir))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .map_err(io(file.path()))?;
    let note = |identity: &[&str]| {
        git(repo.cwd())
            .args(identity)
            .args([
                "notes",
                &format!("--ref={}", notes_name()),
                "add",
                "-f",
                "-F",
            ])
            .arg(file.path())
            .arg(commit)
            .output()
    };
    let result = match note(&[]) {
        // A server account often has no user.email; the note still needs a committer.
        Err(ProcessError::Exit { output, .. })
            if output.contains("Please tell me who you are")
                || output.contains("unable to auto-detect email address") =>
        {
            note(&[
                "-c",
                "user.name=git-buildkit",
                "-c",
                "user.email=git-buildkit@localhost",
            ])
        }
        other => other,
    };
    result
        .map(|_| ())
        .map_err(|source| PipelineError::WriteNote {
            commit: commit.to_owned(),
            source,
        })
}
