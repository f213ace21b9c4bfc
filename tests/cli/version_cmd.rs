//! `git buildkit version`.

use pretty_assertions::assert_eq;

use crate::common::{write_files, Sandbox};

#[test]
fn version_is_the_highest_version_tag() {
    let sb = Sandbox::new();
    let repo = sb.repo("r", &[("a", "a\n", false)]);
    for (i, tag) in [
        "v0.9.0",
        "v1.10.0",
        "v1.9.0",
        "vbogus",
        "other-1.0",
        "v2.0.0-rc.1",
    ]
    .iter()
    .enumerate()
    {
        write_files(&repo, &[("a", &format!("{i}\n"), false)]);
        sb.commit(&repo, &format!("2026-01-0{}T10:00:00Z", i + 1), tag);
        sb.tag(&repo, &format!("2026-01-0{}T10:00:00Z", i + 1), tag);
    }
    let out = |args: &[&str]| sb.bk(&repo, args).ok().stdout;
    assert_eq!(out(&["version"]), "2.0.0-rc.1\n");
    assert_eq!(out(&["version", "--debian"]), "2.0.0~rc.1-1\n");
    assert_eq!(out(&["version", "--next", "major"]), "2.0.0\n");
    assert_eq!(out(&["version", "--next", "minor"]), "2.0.0\n");
    sb.run(&repo, "git", &["tag", "-d", "v2.0.0-rc.1"]).ok();
    assert_eq!(out(&["version"]), "1.10.0\n");
    assert_eq!(out(&["version", "--next", "minor"]), "1.11.0\n");
    assert_eq!(
        out(&["version", "--next", "patch", "--debian"]),
        "1.10.1-1\n"
    );
    let json: serde_json::Value = serde_json::from_str(&out(&["version", "--json"])).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"tag": "v1.10.0", "version": "1.10.0", "debian_version": "1.10.0-1"})
    );
}

#[test]
fn version_without_tags_is_a_usage_error() {
    let sb = Sandbox::new();
    let repo = sb.repo("r", &[("a", "a\n", false)]);
    let run = sb.bk(&repo, &["version"]);
    assert_eq!((run.code, run.stdout.as_str()), (2, ""));
    assert_eq!(run.stderr, "error: no version tags (vX.Y.Z) in this repository\nhint: create one with `git tag -a v0.1.0 -m 0.1.0`\n");
    let outside = sb.path("not-a-repo");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let run = sb.bk(&outside, &["version"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(&format!(
            "error: {} is not inside a git repository\n",
            outside.display()
        )),
        "{}",
        run.stderr
    );
}
