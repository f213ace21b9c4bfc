//! Help, man pages and completions come from the clap definitions.

use pretty_assertions::assert_eq;

use crate::common::Sandbox;

/// Every command and subcommand, as `--help` lists them (`Commands:`),
/// walked from the top: a new command is covered without editing a list.
fn commands(sb: &Sandbox) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(command) = todo.pop() {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--help");
        let help = sb.bk(&sb.path(""), &args).ok().stdout;
        let listed = help
            .split("\nCommands:\n")
            .nth(1)
            .map(|rest| rest.split("\n\n").next().unwrap_or_default().to_owned())
            .unwrap_or_default();
        for line in listed.lines() {
            // `  name  description`; continuation lines are indented further.
            let Some(name) = line
                .strip_prefix("  ")
                .and_then(|l| l.split_whitespace().next())
            else {
                continue;
            };
            if line.starts_with("   ") || name == "help" {
                continue;
            }
            let mut sub = command.clone();
            sub.push(name.to_owned());
            todo.push(sub);
        }
        if !command.is_empty() {
            found.push(command);
        }
    }
    found.sort();
    found
}

#[test]
fn every_command_has_help_with_examples() {
    let sb = Sandbox::new();
    let here = sb.path("");
    let commands = commands(&sb);
    // The walk found the nested ones too.
    assert!(
        commands.contains(&vec!["repo".to_owned(), "add".to_owned()]) && commands.len() > 60,
        "{commands:?}"
    );
    for command in &commands {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
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
