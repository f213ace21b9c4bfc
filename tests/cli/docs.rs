//! Help, man pages and completions come from the clap definitions.

use pretty_assertions::assert_eq;

use crate::common::Sandbox;

/// Every command (the man pages list the same).
const COMMANDS: &[&[&str]] = &[
    &[],
    &["bugfix", "finish"],
    &["bugfix", "list"],
    &["bugfix", "start"],
    &["bugfix"],
    &["completions"],
    &["deb", "build"],
    &["deb", "info"],
    &["deb"],
    &["feature", "finish"],
    &["feature", "list"],
    &["feature", "start"],
    &["feature"],
    &["flow", "abort"],
    &["flow", "continue"],
    &["flow", "status"],
    &["flow"],
    &["hooks", "install"],
    &["hooks", "run"],
    &["hooks", "uninstall"],
    &["hooks"],
    &["hotfix", "finish"],
    &["hotfix", "list"],
    &["hotfix", "start"],
    &["hotfix"],
    &["init"],
    &["jobs"],
    &["key", "export"],
    &["key", "generate"],
    &["key", "list"],
    &["key"],
    &["package"],
    &["pipeline"],
    &["release", "finish"],
    &["release", "list"],
    &["release", "start"],
    &["release"],
    &["repo", "add"],
    &["repo", "clone"],
    &["repo", "copy"],
    &["repo", "init"],
    &["repo", "list"],
    &["repo", "publish"],
    &["repo", "remove"],
    &["repo", "serve"],
    &["repo", "sources"],
    &["repo", "verify"],
    &["repo"],
    &["show"],
    &["support", "list"],
    &["support", "start"],
    &["support"],
    &["version"],
    &["vm", "create"],
    &["vm", "destroy"],
    &["vm", "list"],
    &["vm", "shell"],
    &["vm"],
    &["vm-test"],
];

#[test]
fn every_command_has_help_with_examples() {
    let sb = Sandbox::new();
    let here = sb.path("");
    for command in COMMANDS {
        let mut args = command.to_vec();
        args.push("--help");
        let run = sb.bk(&here, &args).ok();
        assert!(
            run.stdout.contains("\nExamples:\n  git buildkit "),
            "{command:?} --help has no examples:\n{}",
            run.stdout
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    let run = sb.bk(&sb.path(""), &["package", "--no-such-flag"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: unexpected argument '--no-such-flag' found"),
        "{}",
        run.stderr
    );
}

#[test]
fn man_pages_in_the_repository_are_current() {
    let sb = Sandbox::new();
    let fresh = sb.path("man");
    sb.bk(&sb.path(""), &["man", fresh.to_str().expect("utf8")])
        .ok();
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let read = |dir: &std::path::Path| crate::common::tree_listing(dir);
    assert_eq!(
        read(&committed),
        read(&fresh),
        "man/ is stale: run `make man`"
    );
    let page = std::fs::read_to_string(fresh.join("git-buildkit-package.1")).expect("page");
    assert!(
        page.contains(".SH EXAMPLES") || page.contains("Examples:"),
        "{page}"
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = sb.bk(&sb.path(""), &["completions", shell]).ok();
        assert!(
            run.stdout.contains("package") && run.stdout.contains("deb"),
            "{shell}: {}",
            run.stdout
        );
    }
}
