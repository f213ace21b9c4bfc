//! `template update`: a generated project takes its template's later
//! changes by a three-way merge, as copier and cruft do it.
//!
//! Each rendering of the template is a commit of its own, marked with a
//! `Template-Render:` trailer: `new` makes the project's first commit one,
//! and each update commits the new rendering on top of the previous one
//! (never on the user's branch) and merges it. The merge's base is then
//! the last rendering, "ours" is the project as the user made it, and
//! "theirs" the new rendering: only what the template changed since is
//! applied, and where the user changed the same lines git leaves conflict
//! markers, as for any merge.

use std::path::Path;

use super::tree::{write_files, Record, Template, RECORD};
use super::{TemplateError, Vars};
use crate::git::{git, Untracked};

/// The trailer that marks a commit holding a rendering of the template.
pub const TRAILER: &str = "Template-Render";

/// What `template update` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum UpdateOutcome {
    /// The template renders as it did last time: nothing to merge.
    UpToDate,
    /// The new rendering was merged.
    Merged {
        /// The rendering's commit.
        render: String,
        /// The merge commit.
        merge: String,
    },
}

/// The trailer naming the rendering's tree: a commit whose tree is not
/// that one (a squash or rebase that copied the message) is no rendering.
pub const TREE_TRAILER: &str = "Template-Tree";

/// The message of a rendering's commit, of the tree `tree`.
pub fn render_message(summary: &str, template: &str, tree: &str) -> String {
    format!("{summary}\n\n{TRAILER}: {template}\n{TREE_TRAILER}: {tree}\n")
}

/// The newest commit reachable from HEAD that holds a rendering: its
/// message has both trailers and its tree is the one named.
fn last_rendering(workdir: &Path) -> Result<Option<String>, TemplateError> {
    let log = crate::git::text(
        workdir,
        &[
            "log",
            "--topo-order",
            &format!("--grep=^{TRAILER}: "),
            "--format=%H %T%n%B%x00",
            "HEAD",
        ],
    )?;
    for entry in log.split('\0') {
        let entry = entry.trim_start_matches('\n');
        let Some((ids, body)) = entry.split_once('\n') else {
            continue;
        };
        let Some((commit, tree)) = ids.split_once(' ') else {
            continue;
        };
        let named = body.lines().find_map(|l| {
            l.strip_prefix(TREE_TRAILER)
                .and_then(|r| r.strip_prefix(": "))
        });
        if named.map(str::trim) == Some(tree) {
            return Ok(Some(commit.to_owned()));
        }
    }
    Ok(None)
}

/// Brings the project at `workdir` up to date with its template (found in
/// `user_dir` as `new` found it), with `set` overriding recorded values
/// and giving values to variables the template has gained.
pub fn update(
    workdir: &Path,
    user_dir: Option<&Path>,
    set: &Vars,
) -> Result<UpdateOutcome, TemplateError> {
    let record_path = workdir.join(RECORD);
    let text = std::fs::read_to_string(&record_path)
        .map_err(|_| TemplateError::NotGenerated(workdir.to_owned()))?;
    let record = Record::parse(&text, RECORD)?;
    let template = Template::find(&record.template, user_dir)?;
    // Recorded values of variables the template no longer has are dropped.
    let mut given: Vars = record
        .values
        .into_iter()
        .filter(|(name, _)| template.variables.iter().any(|v| &v.name == name))
        .collect();
    given.extend(set.clone());
    let values = template.values(&given, &mut |_, _| None)?;
    let files = template.render_project(&values)?;

    if crate::git::is_dirty(workdir, Untracked::Ignored)? {
        return Err(TemplateError::Dirty);
    }
    // The flow's main takes merges from release and hotfix branches only.
    let branch = crate::git::text(workdir, &["symbolic-ref", "--quiet", "--short", "HEAD"])
        .unwrap_or_default();
    let main = crate::flow::FlowSettings::load(workdir)
        .map(|s| s.main)
        .unwrap_or_else(|_| "main".into());
    if branch == main {
        return Err(TemplateError::OnMain(branch));
    }
    let Some(last) = last_rendering(workdir)? else {
        return Err(TemplateError::NoRendering(workdir.to_owned()));
    };
    let tree = tree_of(workdir, &files)?;
    let last_tree = crate::git::text(workdir, &["rev-parse", &format!("{last}^{{tree}}")])?;
    if tree == last_tree {
        return Ok(UpdateOutcome::UpToDate);
    }
    let message = render_message(
        &format!("Render the template {} again", template.name),
        &template.name,
        &tree,
    );
    let render = crate::git::text(
        workdir,
        &["commit-tree", &tree, "-p", &last, "-m", &message],
    )?;
    let merged = git(workdir)
        .args([
            "merge",
            "--no-ff",
            "--no-edit",
            "-m",
            &format!("Merge the changes of the template {}", template.name),
            &render,
        ])
        .output();
    if merged.is_err() {
        let conflicted = crate::git::text(workdir, &["diff", "--name-only", "--diff-filter=U"])?;
        if conflicted.is_empty() {
            merged?;
        }
        return Err(TemplateError::Conflicts {
            files: conflicted.lines().map(str::to_owned).collect(),
        });
    }
    let merge = crate::git::text(workdir, &["rev-parse", "HEAD"])?;
    Ok(UpdateOutcome::Merged { render, merge })
}

/// The git tree of `files` (written as blobs into the project's object
/// store), made in a scratch work tree and index so that the project's own
/// are untouched. What the project's `.gitignore` ignores is left out, as
/// it was from the first commit.
fn tree_of(workdir: &Path, files: &[super::RenderedFile]) -> Result<String, TemplateError> {
    let scratch = tempfile::Builder::new()
        .prefix("buildkit-render-")
        .tempdir()
        .map_err(|source| TemplateError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let tree_dir = scratch.path().join("tree");
    std::fs::create_dir(&tree_dir).map_err(|source| TemplateError::Io {
        path: tree_dir.clone(),
        source,
    })?;
    write_files(&tree_dir, files)?;
    let index = scratch.path().join("index");
    let git_dir = crate::git::text(workdir, &["rev-parse", "--absolute-git-dir"])?;
    let with_scratch = || {
        git(&tree_dir)
            .env("GIT_DIR", &git_dir)
            .env("GIT_WORK_TREE", &tree_dir)
            .env("GIT_INDEX_FILE", &index)
    };
    with_scratch().args(["add", "--all"]).output()?;
    let out = with_scratch().args(["write-tree"]).output()?;
    Ok(String::from_utf8_lossy(&out).trim().to_owned())
}
