//! The `.buildkit.toml` reference (issue 16): `man 5 buildkit.toml`,
//! written by `git-buildkit man DIR` from src/config/reference.rs (which a
//! unit test holds to serde's fields), is a valid man page that lists
//! every key; README's reference is the same text; `help package` points
//! at it.

use std::path::Path;

use git_buildkit::config::reference::{markdown, README_END, README_START, REFERENCE};
use pretty_assertions::assert_eq;

use crate::common::Sandbox;

/// README's `## `.buildkit.toml`` section.
fn readme_section() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let start = readme
        .find("\n## `.buildkit.toml`\n")
        .expect("README has a `.buildkit.toml` section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_owned()
}

#[test]
fn readme_reference_is_the_generated_one_and_names_every_key() {
    let section = readme_section();
    let copy = section
        .split_once(&format!("{README_START}\n"))
        .and_then(|(_, rest)| rest.split_once(&format!("{README_END}\n")))
        .map(|(copy, _)| copy.to_owned());
    let want = markdown();
    if copy.as_deref() != Some(want.as_str()) && std::env::var_os("BUILDKIT_BLESS").is_some() {
        bless(&want);
    }
    assert_eq!(
        copy.as_deref(),
        Some(want.as_str()),
        "README's reference is stale: run `BUILDKIT_BLESS=1 cargo test --test cli config_reference::`"
    );
    for table in REFERENCE {
        assert!(
            section.contains(&format!("#### `{}`\n", table.name)),
            "README lacks the table {}",
            table.name
        );
        for key in table.keys {
            assert!(
                section.contains(&format!("| `{}` | {} |", key.name, key.kind)),
                "README lacks {} {}",
                table.name,
                key.name
            );
        }
    }
}

/// Rewrites README's copy of the reference (a maintainer's shortcut, with
/// BUILDKIT_BLESS set; the test still fails this run).
fn bless(want: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let (before, rest) = readme
        .split_once(&format!("{README_START}\n"))
        .expect("README has the reference's start line");
    let (_, after) = rest
        .split_once(&format!("{README_END}\n"))
        .expect("README has the reference's end line");
    let text = format!("{before}{README_START}\n{want}{README_END}\n{after}");
    std::fs::write(&path, text).expect("write README.md");
}

#[test]
fn man_5_buildkit_toml_is_valid_roff_and_lists_every_key() {
    let sb = Sandbox::new();
    let dir = sb.path("man");
    sb.bk(&sb.path(""), &["man", dir.to_str().expect("utf8")])
        .ok();
    let page = dir.join("buildkit.toml.5");
    let page_arg = page.to_str().expect("utf8");

    // groff with every warning: none.
    let groff = sb.run(
        &sb.path(""),
        "groff",
        &["-man", "-Tutf8", "-ww", "-z", page_arg],
    );
    assert_eq!((groff.code, groff.stderr.as_str()), (0, ""));
    // man-db's whatis line comes from NAME.
    let lexgrog = sb.run(&sb.path(""), "lexgrog", &[page_arg]).ok();
    assert_eq!(
        lexgrog.stdout,
        format!("{page_arg}: \"buildkit.toml - the git-buildkit project configuration\"\n")
    );

    // As a reader sees it: each table's heading and each key's line.
    let mut cmd = std::process::Command::new("man");
    cmd.args(["-l", page_arg])
        .env("MANWIDTH", "250")
        .env("LC_ALL", "C")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat");
    let shown = cmd.output().expect("run man");
    assert!(shown.status.success(), "{shown:?}");
    assert_eq!(String::from_utf8_lossy(&shown.stderr), "");
    let text = String::from_utf8_lossy(&shown.stdout);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for table in REFERENCE {
        assert!(lines.contains(&table.name), "no heading {}", table.name);
        for key in table.keys {
            let line = format!("{} ({}; default: {})", key.name, key.kind, key.default);
            assert!(lines.contains(&line.as_str()), "no line {line:?}:\n{text}");
            assert!(lines.contains(&key.meaning), "no meaning of {}", key.name);
        }
    }
}

#[test]
fn help_package_points_at_the_reference() {
    let sb = Sandbox::new();
    for args in [&["help", "package"][..], &["package", "--help"]] {
        let run = sb.bk(&sb.path(""), args).ok();
        assert!(
            run.stdout.ends_with(
                "\nEvery .buildkit.toml key, with its type and default: man 5 buildkit.toml\n"
            ),
            "{args:?}:\n{}",
            run.stdout
        );
    }
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("man/git-buildkit-package.1"),
    )
    .expect("the package man page");
    assert!(page.contains("man 5 buildkit.toml"), "{page}");
}
