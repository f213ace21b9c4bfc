//! Which version a revision is packaged as: the version tag on it, or the
//! nearest one below it as a snapshot (`1.2.0+3.gabc1234`).

use super::PackageError;
use crate::git::{CommitInfo, Repo};
use crate::version::{DebVersion, TagScheme};

/// The version a commit is packaged as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedVersion {
    /// The tag the commit carries, or the nearest one below it.
    pub tag: String,
    /// The tag's version.
    pub semver: semver::Version,
    /// Commits since the tag and the abbreviated id, for untagged commits.
    pub snapshot: Option<(u32, String)>,
}

impl ResolvedVersion {
    /// The Debian version: the tag's, with `+N.gHASH` appended to the
    /// upstream part for a snapshot, which sorts after the tag and before
    /// the next release.
    pub fn debian(&self, scheme: &TagScheme) -> Result<DebVersion, PackageError> {
        let mut version =
            scheme
                .debian_version(&self.semver)
                .map_err(|source| PackageError::BadTag {
                    tag: self.tag.clone(),
                    source,
                })?;
        if let Some((count, hash)) = &self.snapshot {
            version.upstream = format!("{}+{count}.g{hash}", version.upstream);
        }
        Ok(version)
    }

    /// The version as the build sees it in `BUILDKIT_VERSION`.
    pub fn display(&self) -> String {
        match &self.snapshot {
            Some((count, hash)) => format!("{}+{count}.g{hash}", self.semver),
            None => self.semver.to_string(),
        }
    }
}

/// Finds the version of `commit`: the highest version tag on it (or `rev`
/// itself when it names a version tag), else the nearest one below it as a snapshot.
pub fn resolve_version(
    repo: &Repo,
    scheme: &TagScheme,
    rev: &str,
    commit: &CommitInfo,
) -> Result<ResolvedVersion, PackageError> {
    let bad_tag = |tag: &str| {
        let tag = tag.to_owned();
        move |source| PackageError::BadTag { tag, source }
    };
    let tags = repo.tags()?;
    if let Some(tag) = tags.iter().find(|t| t.name == rev) {
        if tag.name.starts_with(&scheme.prefix) {
            let semver = scheme.parse_tag(&tag.name).map_err(bad_tag(&tag.name))?;
            return Ok(ResolvedVersion {
                tag: tag.name.clone(),
                semver,
                snapshot: None,
            });
        }
    }
    let on_commit = tags
        .iter()
        .filter(|t| t.commit.id == commit.id)
        .filter_map(|t| scheme.parse_tag(&t.name).ok().map(|v| (v, &t.name)))
        .max();
    if let Some((semver, name)) = on_commit {
        return Ok(ResolvedVersion {
            tag: name.clone(),
            semver,
            snapshot: None,
        });
    }
    match repo.describe(&commit.id, &scheme.prefix)? {
        Some((tag, count, hash)) => {
            let semver = scheme.parse_tag(&tag).map_err(bad_tag(&tag))?;
            Ok(ResolvedVersion {
                tag,
                semver,
                snapshot: Some((count, hash)),
            })
        }
        None => Err(PackageError::NoVersionTag {
            rev: rev.to_owned(),
            prefix: scheme.prefix.clone(),
        }),
    }
}

/// The highest version tag of the repository.
pub fn latest_version(
    repo: &Repo,
    scheme: &TagScheme,
) -> Result<Option<(String, semver::Version)>, PackageError> {
    Ok(repo
        .tags()?
        .into_iter()
        .filter_map(|t| scheme.parse_tag(&t.name).ok().map(|v| (v, t.name)))
        .max()
        .map(|(v, name)| (name, v)))
}
