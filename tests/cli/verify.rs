//! Issue 14, requirement 5: `git buildkit verify TAG` rebuilds the tag and
//! compares it byte for byte with its note and with what the repository
//! serves; tampering (a .deb with one file changed, a truncated one, a
//! missing one, a note that lies) is named, never a crash.

use std::time::Instant;

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::source_release::Published;

/// The repository's pool file of the tag's package, from the record.
fn pool_file(p: &Published) -> std::path::PathBuf {
    let record = p.record("v1.2.0");
    p.apt.join(
        record["packages"][0]["filename"]
            .as_str()
            .expect("filename"),
    )
}

#[test]
#[allow(clippy::print_stderr)]
fn verify_is_identical_after_the_pipeline_and_names_what_was_tampered_with() {
    let p = Published::new();
    p.bk(&["pipeline", "v1.2.0"]).ok();
    let dist = p.repo.join(".git/buildkit/dist/v1.2.0");
    let dist_before = crate::common::tree_listing(&dist);
    let apt_before = crate::common::tree_listing(&p.apt);

    let clock = Instant::now();
    let run = p.bk(&["-q", "verify", "v1.2.0"]).ok();
    eprintln!("verify of the sample project: {:?}", clock.elapsed());
    assert_eq!(
        run.stdout,
        "identical  hello 1.2.0-1 all\n\
         identical  hello-1.2.0.tar.gz 1.2.0 source\n\
         v1.2.0: the rebuild is identical to what is published\n"
    );
    // Neither the dist directory nor the repository was written.
    assert!(crate::common::tree_listing(&dist) == dist_before);
    assert!(crate::common::tree_listing(&p.apt) == apt_before);

    // The served .deb replaced by one with /usr/bin/hello changed.
    let pool = pool_file(&p);
    let original = std::fs::read(&pool).expect("pool");
    let work = p.sb.path("tamper");
    let (work_s, pool_s) = (work.to_str().expect("utf8"), pool.to_str().expect("utf8"));
    p.sb.run(&p.repo, "dpkg-deb", &["-R", pool_s, work_s]).ok();
    let hello = work.join("usr/bin/hello");
    let text = std::fs::read_to_string(&hello).expect("hello");
    std::fs::write(&hello, format!("{text}echo owned\n")).expect("tamper");
    p.sb.run(
        &p.repo,
        "sh",
        &[
            "-c",
            &format!(
                "cd '{work_s}' && find . -exec touch -h -d @1772359200 {{}} + && \
                 SOURCE_DATE_EPOCH=1772359200 dpkg-deb --root-owner-group -Zxz -b . '{pool_s}' >/dev/null"
            ),
        ],
    )
    .ok();
    let run = p.bk(&["-q", "verify", "v1.2.0", "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: v1.2.0 differs from what was published\n"
    );
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(report["identical"], false);
    let check = &report["checks"][0];
    assert_eq!(check["name"], "hello");
    let difference = &check["differences"][0];
    assert_eq!(difference["kind"], "served");
    let data = difference["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["member"] == "data.tar.xz")
        .expect("data.tar.xz differs");
    assert_eq!(data["kind"], "member-changed");
    let hello_diff = data["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"] == "./usr/bin/hello")
        .expect("./usr/bin/hello differs");
    assert_eq!(
        hello_diff,
        &serde_json::json!({"path": "./usr/bin/hello", "change": "changed", "fields": ["content", "size"]})
    );
    // The source release is untouched and still identical.
    assert_eq!(report["checks"][1]["differences"], serde_json::json!([]));
    // The text names the package, the member and the file.
    let text = p.bk(&["-q", "verify", "v1.2.0"]).stdout;
    eprintln!("verify after tampering:\n{text}");
    assert!(text.starts_with("DIFFERS    hello 1.2.0-1 all\n"), "{text}");
    assert!(
        text.contains("\n      member data.tar.xz differs\n"),
        "{text}"
    );
    assert!(
        text.contains("\n        ./usr/bin/hello changed (content, size)\n"),
        "{text}"
    );

    // Truncated: a clear difference, no panic.
    std::fs::write(&pool, &original[..original.len() / 2]).expect("truncate");
    let run = p.bk(&["-q", "verify", "v1.2.0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().take(2).collect();
    assert_eq!(lines[0], "DIFFERS    hello 1.2.0-1 all");
    assert_eq!(
        lines[1],
        format!(
            "  - {pool_s} is not a valid package: data.tar.xz: damaged tar entry (premature eof)"
        )
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    // Missing.
    std::fs::remove_file(&pool).expect("remove");
    let run = p.bk(&["-q", "verify", "v1.2.0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "DIFFERS    hello 1.2.0-1 all\n  - {pool_s} is missing\n"
        )),
        "{}",
        run.stdout
    );
    // Huge (sparse): not read past the limit.
    p.sb.run(&p.repo, "truncate", &["-s", "200M", pool_s]).ok();
    let run = p.bk(&["-q", "verify", "v1.2.0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "DIFFERS    hello 1.2.0-1 all\n  - {pool_s} is larger than 67108864 bytes; not examined\n"
        )),
        "{}",
        run.stdout
    );

    // Hostile: a package whose entry would escape the root.
    std::fs::remove_file(&pool).expect("remove");
    let crafted = crate::common::craft_deb(
        &p.sb,
        &p.sb.path("crafted"),
        "evil.deb",
        "Package: hello\nVersion: 1.2.0-1\nArchitecture: all\nMaintainer: M <m@example.com>\nDescription: d\n",
        &[("../../etc/evil", "owned\n")],
    );
    std::fs::copy(&crafted, &pool).expect("copy");
    let run = p.bk(&["-q", "verify", "v1.2.0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let second = run.stdout.lines().nth(1).unwrap_or_default().to_owned();
    assert_eq!(
        second,
        format!("  - {pool_s} is not a valid package: data.tar.gz: unsafe path \"../../etc/evil\" in the archive")
    );

    std::fs::write(&pool, &original).expect("restore");
    p.bk(&["-q", "verify", "v1.2.0"]).ok();
}

#[test]
fn verify_reports_a_note_whose_sha256_is_not_the_rebuild() {
    let p = Published::new();
    p.bk(&["pipeline", "v1.2.0"]).ok();
    let record = p.record("v1.2.0");
    let real = record["packages"][0]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned();
    let forged = "0".repeat(64);
    let note = serde_json::to_string_pretty(&record)
        .expect("json")
        .replace(&real, &forged);
    let file = p.sb.path("note.json");
    std::fs::write(&file, note).expect("write");
    p.sb.git(
        &p.repo,
        &[
            "notes",
            "--ref=buildkit",
            "add",
            "-f",
            "-F",
            file.to_str().expect("utf8"),
            "v1.2.0^{commit}",
        ],
    );
    let run = p.bk(&["-q", "verify", "v1.2.0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "DIFFERS    hello 1.2.0-1 all\n  \
             - the note says sha256 {forged}, the rebuild is {real}\n\
             identical  hello-1.2.0.tar.gz 1.2.0 source\n\
             v1.2.0: the rebuild differs from what is published\n"
        )
    );
}

#[test]
fn verify_of_a_tag_without_a_note_is_a_usage_error() {
    let p = Published::new();
    let run = p.bk(&["-q", "verify", "v1.2.0"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (
            2,
            "",
            "error: v1.2.0 has no refs/notes/buildkit note: nothing says what was published\n\
             hint: `git buildkit pipeline TAG` publishes it; `git buildkit show TAG` has its record\n"
        )
    );
    let run = p.bk(&["-q", "verify", "../v1.2.0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn verify_checks_the_served_checksums_and_their_signature() {
    let p = Published::new();
    p.bk(&["pipeline", "v1.2.0"]).ok();
    let dir = p.release_dir();
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("sums");
    std::fs::write(dir.join("SHA256SUMS"), format!("{sums}{sums}")).expect("tamper");
    let run = p.bk(&["-q", "verify", "v1.2.0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let expected: Vec<&str> = sums.lines().collect();
    assert_eq!(
        expected.len(),
        2,
        "the tarball and the attached .deb: {sums}"
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "identical  hello 1.2.0-1 all",
            "DIFFERS    hello-1.2.0.tar.gz 1.2.0 source",
            &format!(
                "  - {}: it is not the lines \"{}\"",
                dir.join("SHA256SUMS").display(),
                expected.join("\", \"")
            ),
        ]
    );
    assert!(
        lines[3].starts_with(&format!(
            "  - {}: its signature does not hold under {}: ",
            dir.join("SHA256SUMS.asc").display(),
            p.apt.join("key.gpg").display()
        )),
        "{}",
        run.stdout
    );
}
