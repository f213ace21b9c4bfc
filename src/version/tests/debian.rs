use super::*;

#[test]
fn parse_valid() {
    let cases: &[(&str, u32, &str, &str)] = &[
        ("1.0", 0, "1.0", ""),
        ("0", 0, "0", ""),
        ("1.0-1", 0, "1.0", "1"),
        ("1:1.0-1", 1, "1.0", "1"),
        ("0:1.0", 0, "1.0", ""),
        ("001:1.0", 1, "1.0", ""),
        ("2147483647:1", 2_147_483_647, "1", ""),
        ("1.0-1-2", 0, "1.0-1", "2"),
        ("2:1.0:3-1", 2, "1.0:3", "1"),
        ("1:2:3", 1, "2:3", ""),
        (
            "1.0~rc1+dfsg.2-0ubuntu1~18.04",
            0,
            "1.0~rc1+dfsg.2",
            "0ubuntu1~18.04",
        ),
        ("1.0-~", 0, "1.0", "~"),
        ("1.0-a", 0, "1.0", "a"),
        ("1a", 0, "1a", ""),
        ("1.", 0, "1.", ""),
        ("1~~+.Za", 0, "1~~+.Za", ""),
        ("1.0--1", 0, "1.0-", "1"),
    ];
    for &(input, epoch, upstream, revision) in cases {
        let v = deb(input);
        assert_eq!(
            (v.epoch, v.upstream.as_str(), v.revision.as_str()),
            (epoch, upstream, revision),
            "parsing {input:?}"
        );
        let via_from_str: DebVersion = input.parse().expect("FromStr agrees with parse");
        assert_eq!(via_from_str.upstream, v.upstream);
    }
}

#[test]
fn parse_invalid() {
    use DebVersionReason as R;
    let cases: &[(&str, DebVersionReason)] = &[
        ("", R::Empty),
        (" 1.0", R::Whitespace),
        ("1.0 ", R::Whitespace),
        ("1 .0", R::Whitespace),
        ("1.0\t", R::Whitespace),
        ("1.0\n", R::Whitespace),
        (":1.0", R::EmptyEpoch),
        ("a:1.0", R::EpochNotNumber),
        ("-1:1.0", R::EpochNotNumber),
        ("+1:1.0", R::EpochNotNumber),
        ("1.0:1", R::EpochNotNumber),
        ("2147483648:1.0", R::EpochTooLarge),
        ("99999999999999999999:1", R::EpochTooLarge),
        ("1:", R::EmptyUpstream),
        ("-1", R::EmptyUpstream),
        ("1:-1", R::EmptyUpstream),
        ("1.0-", R::EmptyRevision),
        ("1:1.0-", R::EmptyRevision),
        ("a1.0", R::UpstreamStartsWithNonDigit),
        ("~1", R::UpstreamStartsWithNonDigit),
        (".1-1", R::UpstreamStartsWithNonDigit),
        ("1.0_1", R::InvalidUpstreamChar('_')),
        ("1.0é", R::InvalidUpstreamChar('é')),
        ("1.0/1-1", R::InvalidUpstreamChar('/')),
        ("1.0-1_2", R::InvalidRevisionChar('_')),
        ("1:1.0-1:2", R::InvalidRevisionChar(':')),
        ("1.0-1,2", R::InvalidRevisionChar(',')),
    ];
    for &(input, expected) in cases {
        match DebVersion::parse(input) {
            Err(VersionError::InvalidDebVersion { input: got, reason }) => {
                assert_eq!(got, input);
                assert_eq!(reason, expected, "parsing {input:?}");
            }
            other => panic!("parsing {input:?} should fail with {expected:?}, got {other:?}"),
        }
    }
}

#[test]
fn error_messages() {
    let err = DebVersion::parse("1.0_1").expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid Debian version \"1.0_1\": invalid character '_' in the upstream version"
    );
    let err = DebVersion::parse("1.0-").expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid Debian version \"1.0-\": the revision after the last '-' is empty"
    );
    let err = TagScheme::default()
        .parse_tag("v1.2.0+build.5")
        .expect_err("build metadata");
    assert_eq!(
        err.to_string(),
        "build metadata is not allowed in a version tag: \"v1.2.0+build.5\""
    );
    let err = TagScheme::default()
        .parse_tag("1.2.0")
        .expect_err("no prefix");
    assert_eq!(
        err.to_string(),
        "tag \"1.2.0\" does not start with the version tag prefix \"v\""
    );
    let err = TagScheme::default()
        .parse_tag("v1.2")
        .expect_err("not semver");
    assert_eq!(
        err.to_string(),
        "\"1.2\" in tag \"v1.2\" is not a semantic version"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn display_round_trip() {
    let cases: &[(&str, &str)] = &[
        ("1.0", "1.0"),
        ("1.0-1", "1.0-1"),
        ("0:1.0", "1.0"),
        ("0:1.0-1", "1.0-1"),
        ("001:1.0-1", "1:1.0-1"),
        ("3:1.0~rc1-0ubuntu1", "3:1.0~rc1-0ubuntu1"),
        ("0:1:2", "0:1:2"),
        ("1.0-1-2", "1.0-1-2"),
        ("1.00", "1.00"),
    ];
    for &(input, display) in cases {
        let v = deb(input);
        assert_eq!(v.to_string(), display, "displaying {input:?}");
        let back = deb(&v.to_string());
        assert_eq!(back, v);
        assert_eq!(
            (back.epoch, &back.upstream, &back.revision),
            (v.epoch, &v.upstream, &v.revision),
            "round trip of {input:?} keeps the parts"
        );
    }
}

#[test]
fn known_dpkg_comparisons() {
    for &(a, expected, b) in KNOWN_COMPARISONS {
        let (va, vb) = (deb(a), deb(b));
        assert_eq!(va.cmp(&vb), expected, "{a} vs {b}");
        assert_eq!(vb.cmp(&va), expected.reverse(), "{b} vs {a}");
        assert_eq!(va == vb, expected == Equal, "{a} == {b}");
        assert_eq!(va.partial_cmp(&vb), Some(expected));
        if expected == Equal {
            assert_eq!(hash_of(&va), hash_of(&vb), "hashes of {a} and {b}");
        }
    }
}

#[test]
fn equal_versions_collapse_in_a_hash_set() {
    let set: std::collections::HashSet<DebVersion> =
        ["1.0", "1.00", "0:1.0", "1.0-0", "1.", "001.0-00"]
            .iter()
            .map(|s| deb(s))
            .collect();
    assert_eq!(set.len(), 1);
    let set: std::collections::HashSet<DebVersion> = ["1.0a", "1.a", "1.0", "1.0.0"]
        .iter()
        .map(|s| deb(s))
        .collect();
    assert_eq!(set.len(), 4);
}
