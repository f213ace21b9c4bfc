//! The history a package's changelog tells: the version tags up to the one
//! packaged, each with the subjects of its commits.

use super::{PackageError, ResolvedVersion};
use crate::changelog;
use crate::git::{CommitInfo, Repo};
use crate::version::TagScheme;

/// The changelog's line for what a work tree build adds to its commit.
const WORKTREE_CHANGE: &str =
    "Built from the work tree with its uncommitted changes: a trial build, not a release.";

/// The releases a changelog covers: each version tag up to the one packaged,
/// with the commit subjects since the previous one.
pub(super) struct History {
    releases: Vec<(semver::Version, i64, Vec<String>)>,
    snapshot: Option<(ResolvedVersion, i64, Vec<String>)>,
}

impl History {
    pub(super) fn collect(
        repo: &Repo,
        scheme: &TagScheme,
        version: &ResolvedVersion,
        commit: &CommitInfo,
    ) -> Result<Self, PackageError> {
        let mut tags: Vec<_> = repo
            .tags()?
            .into_iter()
            .filter_map(|t| scheme.parse_tag(&t.name).ok().map(|v| (v, t.commit)))
            .filter(|(v, _)| *v <= version.semver)
            .collect();
        tags.sort_by(|a, b| a.0.cmp(&b.0));
        tags.dedup_by(|a, b| a.0 == b.0);
        let mut releases = Vec::new();
        let mut previous: Option<&CommitInfo> = None;
        for (semver, tag_commit) in &tags {
            let changes = subjects(repo, &tag_commit.id, previous.map(|p| p.id.as_str()))?;
            releases.push((semver.clone(), tag_commit.time, changes));
            previous = Some(tag_commit);
        }
        releases.reverse();
        let snapshot = match (&version.snapshot, &version.worktree, previous) {
            (Some(_), None, Some(base)) => Some((
                version.clone(),
                commit.time,
                subjects(repo, &commit.id, Some(&base.id))?,
            )),
            // A work tree build: the commits since the tag (all without
            // one), then what no commit holds yet.
            (_, Some(_), base) => {
                let mut changes = subjects(repo, &commit.id, base.map(|b| b.id.as_str()))?;
                changes.push(WORKTREE_CHANGE.to_owned());
                Some((version.clone(), commit.time, changes))
            }
            _ => None,
        };
        Ok(Self { releases, snapshot })
    }

    /// Whether the changelog has a single entry: the package's first
    /// release, an "initial upload" to lintian.
    pub(super) fn is_first(&self) -> bool {
        self.releases.len() + usize::from(self.snapshot.is_some()) == 1
    }

    pub(super) fn changelog(
        &self,
        scheme: &TagScheme,
        package: &str,
        maintainer: &str,
    ) -> Result<String, PackageError> {
        let mut entries = Vec::new();
        if let Some((version, time, changes)) = &self.snapshot {
            entries.push(changelog::Entry {
                version: version.debian(scheme)?.to_string(),
                time: *time,
                changes: changes.clone(),
            });
        }
        for (semver, time, changes) in &self.releases {
            let version = scheme
                .debian_version(semver)
                .map_err(|source| PackageError::BadTag {
                    tag: scheme.tag_name(semver),
                    source,
                })?;
            entries.push(changelog::Entry {
                version: version.to_string(),
                time: *time,
                changes: changes.clone(),
            });
        }
        Ok(changelog::render(package, maintainer, &entries))
    }
}

fn subjects(repo: &Repo, tip: &str, hide: Option<&str>) -> Result<Vec<String>, PackageError> {
    Ok(repo
        .log(tip, hide)?
        .into_iter()
        .map(|e| e.subject)
        .collect())
}
