//! PEP 440 versions as Debian versions, and version specifiers as Debian
//! relations. The mapping keeps the order: for any two PEP 440 versions,
//! `dpkg --compare-versions` orders the Debian ones as PEP 440 orders them
//! (pre-releases and dev releases sort before the release through `~`).
use pep440_rs::{Operator, PrereleaseKind, Version, VersionSpecifiers};

/// The Debian upstream version of a PEP 440 version: `2!1.0rc1` →
/// `2:1.0~rc1`, `1.0.dev3` → `1.0~~dev3`, `1.0a1.dev2` → `1.0~a1~dev2`,
/// `1.0.post1` → `1.0+post1`, `1.0+abc.1` → `1.0+local.abc.1`. A
/// post-release is written with `+`, which dpkg sorts below `.`, so
/// `1.0.post1` stays below `1.0.1`; a local version with `+local.`, which
/// sorts below `+post`, so `1.0+abc` stays below `1.0.post1`.
pub fn debian_upstream(v: &Version) -> String {
    let mut out = String::new();
    if v.epoch() > 0 {
        out.push_str(&format!("{}:", v.epoch()));
    }
    out.push_str(&release(v.release()));
    if let Some(pre) = v.pre() {
        let kind = match pre.kind {
            PrereleaseKind::Alpha => "a",
            PrereleaseKind::Beta => "b",
            PrereleaseKind::Rc => "rc",
        };
        out.push_str(&format!("~{kind}{}", pre.number));
    }
    if let Some(post) = v.post() {
        out.push_str(&format!("+post{post}"));
    }
    if let Some(dev) = v.dev() {
        let tildes = if v.pre().is_some() || v.post().is_some() {
            "~"
        } else {
            "~~"
        };
        out.push_str(&format!("{tildes}dev{dev}"));
    }
    if !v.local().is_empty() {
        let local: Vec<String> = v
            .local()
            .iter()
            .map(|s| match s {
                pep440_rs::LocalSegment::String(s) => s.clone(),
                pep440_rs::LocalSegment::Number(n) => n.to_string(),
            })
            .collect();
        out.push_str(&format!("+local.{}", local.join(".")));
    }
    out
}

fn release(parts: &[u64]) -> String {
    let parts: Vec<String> = parts.iter().map(u64::to_string).collect();
    parts.join(".")
}

/// The version with trailing zero components of its release removed
/// (`2.0.0` → `2`): PEP 440 says `2.0 == 2.0.0`, dpkg says `2.0 < 2.0.0`,
/// so a bound is written in its shortest form.
fn trimmed(v: &Version) -> String {
    if v.pre().is_some() || v.post().is_some() || v.dev().is_some() || !v.local().is_empty() {
        // `1.0.post1` trimmed to `1+post1` would sort below `1.0`.
        return debian_upstream(v);
    }
    let mut parts = v.release().to_vec();
    while parts.len() > 1 && parts.last() == Some(&0) {
        parts.pop();
    }
    debian_upstream(&v.clone().with_release(parts))
}

/// The release after `v` at the precision given (`1.4.*` → `1.5`).
fn next(v: &Version, len: usize) -> String {
    let mut parts: Vec<u64> = v.release().iter().copied().take(len.max(1)).collect();
    if let Some(last) = parts.last_mut() {
        *last += 1;
    }
    let epoch = if v.epoch() > 0 {
        format!("{}:", v.epoch())
    } else {
        String::new()
    };
    format!("{epoch}{}", release(&parts))
}

/// The relations on `pkg` that `spec` translates to. `built` is the
/// version of `pkg` that is packaged with it (with `revision`), when known:
/// then `==` becomes an exact `(= version-revision)`.
pub fn relations(
    pkg: &str,
    spec: &VersionSpecifiers,
    built: Option<(&Version, &str)>,
) -> Vec<String> {
    let mut out = Vec::new();
    for s in spec.iter() {
        let v = s.version();
        let exact = || match built {
            Some((b, rev)) => vec![format!("{pkg} (= {}-{rev})", debian_upstream(b))],
            None => vec![
                format!("{pkg} (>= {})", debian_upstream(v)),
                format!("{pkg} (<< {}+~)", debian_upstream(v)),
            ],
        };
        let rels = match s.operator() {
            Operator::GreaterThanEqual => vec![format!("{pkg} (>= {})", trimmed(v))],
            Operator::GreaterThan => vec![format!("{pkg} (>> {}+~)", debian_upstream(v))],
            Operator::LessThan => vec![format!("{pkg} (<< {}~~)", trimmed(v))],
            Operator::LessThanEqual => match built {
                // pip chose `b` <= v: the bound in the form dpkg compares
                // with the package's own version (`2.0` built for `<=2`).
                Some((b, rev)) => vec![format!("{pkg} (<= {}-{rev})", debian_upstream(b))],
                None => vec![format!("{pkg} (<< {}+~)", debian_upstream(v))],
            },
            Operator::Equal | Operator::ExactEqual => exact(),
            Operator::EqualStar => vec![
                format!("{pkg} (>= {}~~)", release(v.release())),
                format!("{pkg} (<< {}~~)", next(v, v.release().len())),
            ],
            Operator::TildeEqual => vec![
                format!("{pkg} (>= {})", trimmed(v)),
                format!("{pkg} (<< {}~~)", next(v, v.release().len() - 1)),
            ],
            Operator::NotEqual | Operator::NotEqualStar => Vec::new(),
        };
        out.extend(rels);
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// PEP 440 versions in increasing order.
    const ORDER: &[&str] = &[
        "0.9",
        "1.0.dev3",
        "1.0a1.dev2",
        "1.0a1",
        "1.0a1.post1",
        "1.0b2",
        "1.0rc1",
        "1.0",
        "1.0+abc.1",
        "1.0.post1.dev2",
        "1.0.post1",
        "1.0.1",
        "1.1",
        "1!0.1",
    ];

    fn v(s: &str) -> Version {
        Version::from_str(s).expect("version")
    }

    #[test]
    fn versions_map_as_the_table_says() {
        for (pep, deb) in [
            ("2!1.0", "2:1.0"),
            ("1.0.dev3", "1.0~~dev3"),
            ("1.0a1.dev2", "1.0~a1~dev2"),
            ("1.0.post1.dev2", "1.0+post1~dev2"),
            ("1.0-1", "1.0+post1"),
            ("1.0c1", "1.0~rc1"),
            ("2026.10.19.post1", "2026.10.19+post1"),
            ("1.0+abc.1", "1.0+local.abc.1"),
        ] {
            assert_eq!(debian_upstream(&v(pep)), deb, "{pep}");
        }
    }

    #[test]
    fn dpkg_orders_the_debian_versions_as_pep_440_orders_them() {
        for pair in ORDER.windows(2) {
            let (a, b) = (debian_upstream(&v(pair[0])), debian_upstream(&v(pair[1])));
            assert!(v(pair[0]) < v(pair[1]));
            let status = std::process::Command::new("dpkg")
                .args([
                    "--compare-versions",
                    &format!("{a}-1"),
                    "lt",
                    &format!("{b}-1"),
                ])
                .status()
                .expect("dpkg");
            assert!(status.success(), "dpkg: {a} is not before {b}");
        }
    }

    #[test]
    fn specifiers_become_relations() {
        let spec = |s: &str| VersionSpecifiers::from_str(s).expect("spec");
        assert_eq!(
            relations("p", &spec(">=2.0.0,<3"), None),
            ["p (>= 2)", "p (<< 3~~)"]
        );
        assert_eq!(
            relations("p", &spec("~=1.4.2"), None),
            ["p (>= 1.4.2)", "p (<< 1.5~~)"]
        );
        assert_eq!(
            relations("p", &spec("==1.4.*"), None),
            ["p (>= 1.4~~)", "p (<< 1.5~~)"]
        );
        assert_eq!(
            relations("p", &spec("==2.0"), Some((&v("2.0.0"), "1"))),
            ["p (= 2.0.0-1)"]
        );
        assert_eq!(
            relations("p", &spec("!=1.5.7,>=1.5.6"), None),
            ["p (>= 1.5.6)"]
        );
        assert_eq!(relations("p", &spec("<=2.0"), None), ["p (<< 2.0+~)"]);
        // Review: a bound shorter than the version built, and a trimmed
        // post-release, must still hold for what was built.
        assert_eq!(
            relations("p", &spec("<=2"), Some((&v("2.0"), "1"))),
            ["p (<= 2.0-1)"]
        );
        assert_eq!(
            relations("p", &spec(">=1.0.post1"), None),
            ["p (>= 1.0+post1)"]
        );
    }
}
