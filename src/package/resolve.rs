//! Which version a revision is packaged as: the version tag on it, or the
//! nearest one below it as a snapshot (`1.2.0+3.gabc1234`); a work tree's
//! build (`package --worktree`) adds `wt<hash>` to that (see
//! [`worktree_of`]).

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
    /// For a build of the work tree: the short hash of its files (the
    /// tag is then empty when no version tag is at or below HEAD).
    pub worktree: Option<String>,
}

/// The marker of a work tree build in a version: `wt` and the hash.
const WORKTREE_MARK: &str = "wt";

/// The length of a work tree build's hash in its version.
pub(super) const WORKTREE_HASH_LEN: usize = 10;

/// Whether a Debian version is a work tree build's (`1.2.0+0.wt0123456789-1`,
/// `1.2.0+3.gabc1234.wt0123456789-1`, `0.0.0~wt0123456789-1`): the last
/// part of its upstream version is `wt` and the hash. `repo add` refuses
/// such a package unless told otherwise.
pub fn worktree_of(version: &str) -> bool {
    let upstream = version.rsplit_once('-').map_or(version, |(u, _)| u);
    let last = upstream.rsplit(['+', '.', '~']).next().unwrap_or_default();
    last.strip_prefix(WORKTREE_MARK).is_some_and(|hash| {
        hash.len() == WORKTREE_HASH_LEN && hash.bytes().all(|b| b.is_ascii_hexdigit())
    }) && upstream.len() > last.len()
}

impl ResolvedVersion {
    /// The Debian version: the tag's, with `+N.gHASH` appended to the
    /// upstream part for a snapshot, which sorts after the tag and before
    /// the next release. A work tree build appends `+0.wtHASH` (zero
    /// commits after the tag; `.wtHASH` after a snapshot's `+N.gHASH`): it
    /// sorts just above the commit it was made on and below the next
    /// commit's snapshot and the next release, so the next real build
    /// replaces it (`+wtHASH` alone would sort above every snapshot of the
    /// tag, as dpkg puts letters after digits). Without any version tag it is
    /// `0.0.0~wtHASH`, below every release.
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
        if let Some(mark) = self.worktree_suffix() {
            version.upstream.push_str(&mark);
        }
        Ok(version)
    }

    /// The version as the build sees it in `BUILDKIT_VERSION`.
    pub fn display(&self) -> String {
        let base = match &self.snapshot {
            Some((count, hash)) => format!("{}+{count}.g{hash}", self.semver),
            None => self.semver.to_string(),
        };
        format!("{base}{}", self.worktree_suffix().unwrap_or_default())
    }

    /// What a work tree build appends to the version of its commit: `+0.wtHASH`,
    /// `.wtHASH` after a snapshot's `+N.gHASH` (one `+` keeps it semver),
    /// nothing without a tag (the hash is then the pre-release of 0.0.0).
    fn worktree_suffix(&self) -> Option<String> {
        let hash = self.worktree.as_ref()?;
        if self.tag.is_empty() {
            return None;
        }
        let glue = if self.snapshot.is_some() { "." } else { "+0." };
        Some(format!("{glue}{WORKTREE_MARK}{hash}"))
    }

    /// The version of a work tree build with no version tag at or below
    /// HEAD: `0.0.0-wtHASH`, Debian `0.0.0~wtHASH`, below every release.
    pub(super) fn untagged_worktree(hash: &str) -> Self {
        let pre = semver::Prerelease::new(&format!("{WORKTREE_MARK}{hash}"))
            .expect("wt and hex digits form a pre-release identifier");
        Self {
            tag: String::new(),
            semver: semver::Version {
                pre,
                ..semver::Version::new(0, 0, 0)
            },
            snapshot: None,
            worktree: Some(hash.to_owned()),
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
                worktree: None,
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
            worktree: None,
        });
    }
    match repo.describe(&commit.id, &scheme.prefix)? {
        Some((tag, count, hash)) => {
            let semver = scheme.parse_tag(&tag).map_err(bad_tag(&tag))?;
            Ok(ResolvedVersion {
                tag,
                semver,
                snapshot: Some((count, hash)),
                worktree: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn version(
        tag: &str,
        snapshot: Option<(u32, &str)>,
        worktree: Option<&str>,
    ) -> ResolvedVersion {
        ResolvedVersion {
            tag: tag.to_owned(),
            semver: semver::Version::parse(tag.trim_start_matches('v')).expect("semver"),
            snapshot: snapshot.map(|(n, h)| (n, h.to_owned())),
            worktree: worktree.map(str::to_owned),
        }
    }

    fn debian(v: &ResolvedVersion) -> String {
        v.debian(&TagScheme::default()).expect("debian").to_string()
    }

    #[test]
    fn worktree_versions_sit_between_their_commit_and_the_next() {
        let hash = "0123456789";
        let on_tag = version("v1.2.0", None, Some(hash));
        let on_snapshot = version("v1.2.0", Some((3, "abc1234")), Some(hash));
        let untagged = ResolvedVersion::untagged_worktree(hash);
        let got = [&on_tag, &on_snapshot, &untagged].map(|v| (v.display(), debian(v)));
        assert_eq!(
            got,
            [
                (
                    "1.2.0+0.wt0123456789".into(),
                    "1.2.0+0.wt0123456789-1".into()
                ),
                (
                    "1.2.0+3.gabc1234.wt0123456789".into(),
                    "1.2.0+3.gabc1234.wt0123456789-1".into()
                ),
                ("0.0.0-wt0123456789".into(), "0.0.0~wt0123456789-1".into()),
            ]
        );
        // Each below the next, in dpkg's order (DebVersion's is dpkg's).
        let order = [
            "0.0.0~wt0123456789-1",
            "0.0.1~rc.1-1",
            "1.2.0-1",
            "1.2.0+0.wt0123456789-1",
            "1.2.0+1.gfedcba9-1",
            "1.2.0+3.gabc1234-1",
            "1.2.0+3.gabc1234.wt0123456789-1",
            "1.2.0+4.g0000000-1",
            "1.2.1~rc.1-1",
            "1.2.1-1",
        ];
        let parsed: Vec<DebVersion> = order
            .iter()
            .map(|v| DebVersion::parse(v).expect("version"))
            .collect();
        for pair in parsed.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn worktree_versions_are_told_from_releases_and_snapshots() {
        for (v, want) in [
            ("1.2.0+0.wt0123456789-1", true),
            ("1.2.0+3.gabc1234.wt0123456789-1", true),
            ("0.0.0~wt0123456789-1", true),
            ("1:1.2.0+0.wtabcdefabcd-2", true),
            ("1.2.0+0.wt0123456789", true),
            ("1.2.0-1", false),
            ("1.2.0+3.gabc1234-1", false),
            ("1.2.0+wt-1", false),
            ("1.2.0+0.wt012345678-1", false),
            ("1.2.0+0.wt012345678g-1", false),
            ("wt0123456789-1", false),
            ("1.2.0-wt0123456789", false),
        ] {
            assert_eq!(worktree_of(v), want, "{v}");
        }
    }
}
