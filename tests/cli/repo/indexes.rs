//! The Packages indexes clients download (issue 19): stanzas with only the
//! fields apt needs, and an index of many pieces that apt, gzip and xz read
//! as one ordinary file; a repository written before keeps working and
//! turns compact at its next publish.

use std::path::Path;

use pretty_assertions::assert_eq;

use super::{clean_update, many_debs, Fixture};

fn packages(fx: &Fixture) -> String {
    std::fs::read_to_string(fx.repo.join("dists/stable/main/binary-amd64/Packages"))
        .expect("Packages")
}

/// The index decompressed by the real tools.
fn decompressed(fx: &Fixture, tool: &str, name: &str) -> String {
    let path = fx.repo.join("dists/stable/main/binary-amd64").join(name);
    let run = fx.sb.run(
        &fx.sb.path(""),
        tool,
        &["-dc", path.to_str().expect("utf8")],
    );
    assert_eq!(run.code, 0, "{tool}: {}", run.stderr);
    run.stdout
}

/// The blocks of Packages.xz, as `xz --list` counts them.
fn xz_blocks(fx: &Fixture) -> usize {
    let path = fx.repo.join("dists/stable/main/binary-amd64/Packages.xz");
    let run = fx.sb.run(
        &fx.sb.path(""),
        "xz",
        &["--robot", "--list", path.to_str().expect("utf8")],
    );
    assert_eq!(run.code, 0, "xz --list: {}", run.stderr);
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("file\t"))
        .and_then(|l| l.split('\t').nth(1))
        .and_then(|n| n.parse().ok())
        .expect("xz --list gives the block count")
}

fn add(fx: &Fixture, debs: &[impl AsRef<Path>]) {
    let mut args = vec![
        "repo".to_owned(),
        "add".to_owned(),
        fx.repo_arg().to_owned(),
    ];
    args.extend(debs.iter().map(|d| d.as_ref().display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    fx.bk(&refs).ok();
}

#[test]
fn an_index_of_many_pieces_is_one_ordinary_file_to_apt_gzip_and_xz() {
    let fx = Fixture::new(&[]);
    let debs = many_debs(&fx, "piece", 3000);
    add(&fx, &debs);
    let text = packages(&fx);
    assert!(
        xz_blocks(&fx) >= 3,
        "3,000 stanzas in {} piece(s)",
        xz_blocks(&fx)
    );
    assert_eq!(decompressed(&fx, "gzip", "Packages.gz"), text);
    assert_eq!(decompressed(&fx, "xz", "Packages.xz"), text);
    // Sorted, and each stanza carries SHA256 and none of the digests apt ignores.
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Package: "))
        .collect();
    assert_eq!(names.len(), 3000);
    assert!(names.windows(2).all(|w| w[0] < w[1]), "not sorted");
    assert_eq!(text.matches("\nSHA256: ").count(), 3000);
    for gone in ["MD5sum:", "SHA1:", "SHA512:"] {
        assert!(!text.contains(gone), "a stanza has {gone}");
    }
    let server = fx.serve();
    clean_update(&fx, &server);
    // apt found the last stanza of the last piece, and the bytes it names.
    fx.apt(&server, &["-q", "download", "piece-02999"]).ok();
    let got = fx.sb.path("apt/download/piece-02999_1.0-1_amd64.deb");
    assert_eq!(
        std::fs::read(&got).expect("downloaded"),
        std::fs::read(&debs[2999]).expect("original")
    );

    // One more package: the text gains its stanza, the rest is the same
    // bytes, and apt updates cleanly from the old index to the new one.
    let extra = many_debs(&fx, "piece-01500x", 1);
    add(&fx, &extra);
    let after = packages(&fx);
    let stanza = after
        .split("\n\n")
        .find(|s| s.starts_with("Package: piece-01500x-00000\n"))
        .expect("the new stanza");
    assert_eq!(after.replacen(&format!("{stanza}\n\n"), "", 1), text);
    assert_eq!(decompressed(&fx, "xz", "Packages.xz"), after);
    clean_update(&fx, &server);
    fx.bk(&["repo", "verify", fx.repo_arg()]).ok();
}

#[test]
fn a_repository_written_before_turns_compact_at_its_next_publish() {
    let fx = Fixture::new(&[]);
    let first = fx.deb("oldtimer", "1.0-1", "amd64");
    add(&fx, &[&first]);
    let server = fx.serve();
    clean_update(&fx, &server);
    // What an earlier version left: stanzas with MD5sum and SHA512 in the
    // index cache, and a segment cache of its own layout.
    let generation = std::fs::read_link(fx.repo.join("dists")).expect("link");
    let index = fx
        .repo
        .join(generation.parent().expect("generation"))
        .join("index/stable/main");
    let cache = std::fs::read_to_string(&index).expect("index cache");
    let old = cache.replace(
        "\nSHA256: ",
        "\nMD5sum: 0123456789abcdef0123456789abcdef\nSHA256: ",
    );
    let old = old.replace(
        "\nDescription: ",
        &format!("\nSHA512: {}\nDescription: ", "ab".repeat(64)),
    );
    assert_ne!(old, cache);
    std::fs::write(&index, old).expect("write the old cache");
    std::fs::write(
        fx.repo.join(".buildkit/segments.cache"),
        [&1u64.to_le_bytes()[..], &[7u8; 64]].concat(),
    )
    .expect("write an old segment cache");

    let second = fx.deb("newcomer", "1.0-1", "amd64");
    add(&fx, &[&second]);
    let text = packages(&fx);
    assert_eq!(text.matches("Package: ").count(), 2);
    for gone in ["MD5sum:", "SHA512:"] {
        assert!(!text.contains(gone), "{gone} survived:\n{text}");
    }
    assert_eq!(decompressed(&fx, "xz", "Packages.xz"), text);
    fx.bk(&["repo", "verify", fx.repo_arg()]).ok();
    clean_update(&fx, &server);
    fx.apt(&server, &["-q", "download", "oldtimer"]).ok();
}
