use super::*;

#[test]
fn tag_mapping() {
    enum Expect {
        Deb(&'static str),
        MissingPrefix,
        NotSemver,
        BuildMetadata,
        InvalidRevision(DebVersionReason),
    }
    let default = TagScheme::default();
    let release = TagScheme {
        prefix: "release-".to_owned(),
        revision: "1".to_owned(),
    };
    let ubuntu = TagScheme {
        prefix: "v".to_owned(),
        revision: "0ubuntu1".to_owned(),
    };
    let native = TagScheme {
        prefix: "v".to_owned(),
        revision: String::new(),
    };
    let bare = TagScheme {
        prefix: String::new(),
        revision: "1".to_owned(),
    };
    let bad_revision = TagScheme {
        prefix: "v".to_owned(),
        revision: "1-2".to_owned(),
    };
    let cases: Vec<(&TagScheme, &str, Expect)> = vec![
        (&default, "v1.2.0", Expect::Deb("1.2.0-1")),
        (&default, "v1.2.0-rc.1", Expect::Deb("1.2.0~rc.1-1")),
        (&default, "v0.0.0", Expect::Deb("0.0.0-1")),
        (
            &default,
            "v10.20.30-alpha.beta.1",
            Expect::Deb("10.20.30~alpha.beta.1-1"),
        ),
        (&default, "v1.0.0-x-y-z.--", Expect::Deb("1.0.0~x+y+z.++-1")),
        (&default, "1.2.0", Expect::MissingPrefix),
        (&default, "V1.2.0", Expect::MissingPrefix),
        (&default, "release-1.2.0", Expect::MissingPrefix),
        (&default, "v1.2", Expect::NotSemver),
        (&default, "v", Expect::NotSemver),
        (&default, "vv1.2.0", Expect::NotSemver),
        (&default, "v1.2.0 ", Expect::NotSemver),
        (&default, "v01.2.0", Expect::NotSemver),
        (&default, "v1.2.0-rc.01", Expect::NotSemver),
        (&default, "v1.2.0+build.5", Expect::BuildMetadata),
        (&default, "v1.2.0-rc.1+build.5", Expect::BuildMetadata),
        (&release, "release-1.2.0", Expect::Deb("1.2.0-1")),
        (&release, "release-2.0.0-beta", Expect::Deb("2.0.0~beta-1")),
        (&release, "v1.2.0", Expect::MissingPrefix),
        (&ubuntu, "v1.2.0", Expect::Deb("1.2.0-0ubuntu1")),
        (&ubuntu, "v1.2.0-rc.1", Expect::Deb("1.2.0~rc.1-0ubuntu1")),
        (&native, "v1.2.0", Expect::Deb("1.2.0")),
        (&native, "v1.2.0-rc-1", Expect::Deb("1.2.0~rc+1")),
        (&bare, "1.2.0", Expect::Deb("1.2.0-1")),
        (&bare, "v1.2.0", Expect::NotSemver),
        (
            &bad_revision,
            "v1.2.0",
            Expect::InvalidRevision(DebVersionReason::InvalidRevisionChar('-')),
        ),
    ];
    for (scheme, tag, expected) in cases {
        let got = scheme.tag_to_debian(tag);
        match (expected, &got) {
            (Expect::Deb(want), Ok(v)) => {
                assert_eq!(v.to_string(), want, "{tag} with {scheme:?}");
                assert!(scheme.is_version_tag(tag));
                let parsed = scheme.parse_tag(tag).expect("a mapped tag parses");
                assert_eq!(scheme.tag_name(&parsed), tag);
                assert_eq!(DebVersion::parse(want).expect("mapped version parses"), *v);
            }
            (Expect::MissingPrefix, Err(VersionError::MissingTagPrefix { tag: t, prefix }))
                if t == tag && *prefix == scheme.prefix =>
            {
                assert!(!scheme.is_version_tag(tag));
            }
            (Expect::NotSemver, Err(VersionError::NotSemver { tag: t, .. })) if t == tag => {
                assert!(!scheme.is_version_tag(tag));
            }
            (Expect::BuildMetadata, Err(VersionError::TagBuildMetadata { tag: t })) if t == tag => {
                assert!(!scheme.is_version_tag(tag));
            }
            (
                Expect::InvalidRevision(want),
                Err(VersionError::InvalidDebVersion { reason, .. }),
            ) if *reason == want => {
                // The tag itself is fine; only the scheme's revision is wrong.
                assert!(scheme.is_version_tag(tag));
            }
            _ => panic!("unexpected result for {tag:?} with {scheme:?}: {got:?}"),
        }
    }
}

#[test]
fn debian_version_refuses_build_metadata() {
    let v = semver("1.2.0+build.5");
    assert!(matches!(
        TagScheme::default().debian_version(&v),
        Err(VersionError::BuildMetadata { version }) if version == v
    ));
}

#[test]
fn tag_names() {
    let scheme = TagScheme::default();
    assert_eq!(scheme.tag_name(&semver("1.2.0-rc.1")), "v1.2.0-rc.1");
    let scheme = TagScheme {
        prefix: "release-".to_owned(),
        ..TagScheme::default()
    };
    assert_eq!(scheme.tag_name(&semver("3.0.0")), "release-3.0.0");
    assert!(scheme.is_version_tag("release-3.0.0"));
    assert!(!scheme.is_version_tag("release-3.0"));
    assert!(!scheme.is_version_tag("v3.0.0"));
}

#[test]
fn semver_precedence_maps_to_dpkg_order() {
    for (i, a) in SEMVER_ORDER.iter().enumerate() {
        for b in &SEMVER_ORDER[i + 1..] {
            assert_eq!(
                semver(a).cmp_precedence(&semver(b)),
                Less,
                "semver {a} < {b}"
            );
            assert_eq!(mapped(a).cmp(&mapped(b)), Less, "debian {a} < {b}");
        }
    }
    let mut shuffled: Vec<DebVersion> = SEMVER_ORDER.iter().rev().map(|s| mapped(s)).collect();
    shuffled.sort();
    let sorted: Vec<String> = shuffled.iter().map(ToString::to_string).collect();
    let expected: Vec<String> = SEMVER_ORDER.iter().map(|s| mapped(s).to_string()).collect();
    assert_eq!(sorted, expected);
}

#[test]
fn prerelease_divergences() {
    for &(a, dpkg_order, b) in PRERELEASE_DIVERGENCES {
        assert_eq!(
            semver(a).cmp_precedence(&semver(b)),
            Less,
            "semver {a} < {b}"
        );
        assert_eq!(mapped(a).cmp(&mapped(b)), dpkg_order, "debian {a} vs {b}");
    }
}

#[test]
fn snapshot_versions_are_told_from_releases() {
    use crate::version::snapshot_of;
    assert_eq!(snapshot_of("1.2.0+3.gabc1234-1"), Some((3, "1.2.0")));
    assert_eq!(
        snapshot_of("1:1.2.0~rc1+12.g0123456789ab-2"),
        Some((12, "1.2.0~rc1"))
    );
    assert_eq!(snapshot_of("1.2.0+3.gabc1234"), Some((3, "1.2.0")));
    for release in [
        "1.2.0-1",
        "1.2.0+dfsg-1",
        "1.2.0+3.gxyz1234-1",
        "1.2.0+3.gabc12-1",
        "+3.gabc1234-1",
        "1.2.0+x.gabc1234-1",
    ] {
        assert_eq!(snapshot_of(release), None, "{release}");
    }
}
