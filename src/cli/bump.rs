//! The version bump levels, shared by `version --next` and
//! `release start --bump` (and so kept out of either command's file).

/// A semver component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Level {
    /// X.0.0
    Major,
    /// x.Y.0
    Minor,
    /// x.y.Z
    Patch,
}

/// The next version: a pre-release is finished by a bump of its own level
/// (1.3.0-rc.1 → 1.3.0 for minor), as semver tools do.
pub fn bump(v: &semver::Version, level: Level) -> semver::Version {
    let pre = !v.pre.is_empty();
    let (major, minor, patch) = match level {
        Level::Major if pre && v.minor == 0 && v.patch == 0 => (v.major, 0, 0),
        Level::Major => (v.major + 1, 0, 0),
        Level::Minor if pre && v.patch == 0 => (v.major, v.minor, 0),
        Level::Minor => (v.major, v.minor + 1, 0),
        Level::Patch if pre => (v.major, v.minor, v.patch),
        Level::Patch => (v.major, v.minor, v.patch + 1),
    };
    semver::Version::new(major, minor, patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn bumps_like_semver_tools() {
        let v = |s: &str| semver::Version::parse(s).expect("semver");
        let cases = [
            ("1.2.3", Level::Major, "2.0.0"),
            ("1.2.3", Level::Minor, "1.3.0"),
            ("1.2.3", Level::Patch, "1.2.4"),
            ("1.3.0-rc.1", Level::Minor, "1.3.0"),
            ("1.3.0-rc.1", Level::Major, "2.0.0"),
            ("2.0.0-rc.1", Level::Major, "2.0.0"),
            ("1.2.4-rc.1", Level::Patch, "1.2.4"),
        ];
        for (from, level, want) in cases {
            assert_eq!(bump(&v(from), level).to_string(), want, "{from} {level:?}");
        }
    }
}
