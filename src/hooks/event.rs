//! What a hook invocation means: the ref updates on its input and which of
//! them are new version tags.
//!
//! Both hooks read lines `<old-oid> SP <new-oid> SP <refname>`
//! (githooks(5)). reference-transaction is also called for every other ref
//! change and in other states; only `committed` means the refs changed
//! (`prepared` may still abort, `aborted` did), and states added by later
//! git versions are ignored. A deleted ref has an all-zero new id.

use crate::config::FILE_NAME;
use crate::git::{git, Repo};
use crate::package::load_config;

use super::Hook;

/// The version tag prefix when nothing configures one.
pub const DEFAULT_PREFIX: &str = "v";

/// One line of a hook's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The id before (all zeros: the ref is new).
    pub old: String,
    /// The id after (all zeros: the ref was deleted; `ref:NAME` for a symbolic ref).
    pub new: String,
    /// The full ref name.
    pub name: String,
}

/// The updates on a hook's input; malformed lines are skipped.
pub fn parse_updates(input: &str) -> Vec<RefUpdate> {
    input
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(old), Some(new), Some(name)) if !name.is_empty() => Some(RefUpdate {
                    old: old.to_owned(),
                    new: new.to_owned(),
                    name: name.to_owned(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// The tags (short names) the invocation created or moved whose name is
/// `prefix` and a digit, in input order, without repeats.
pub fn new_version_tags(
    hook: Hook,
    args: &[String],
    updates: &[RefUpdate],
    prefix: &str,
) -> Vec<String> {
    if hook == Hook::ReferenceTransaction && args.first().map(String::as_str) != Some("committed") {
        return Vec::new();
    }
    let mut tags: Vec<String> = Vec::new();
    for update in updates {
        let Some(tag) = update.name.strip_prefix("refs/tags/") else {
            continue;
        };
        let versioned = tag
            .strip_prefix(prefix)
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| c.is_ascii_digit());
        let created = !is_zero(&update.new) && !update.new.starts_with("ref:");
        if versioned && created && !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    tags
}

/// Whether the input creates or moves any tag at all: a cheap test before
/// the repository is opened to learn the prefix.
pub fn touches_tags(hook: Hook, args: &[String], updates: &[RefUpdate]) -> bool {
    let changed =
        hook == Hook::PostReceive || args.first().map(String::as_str) == Some("committed");
    changed
        && updates
            .iter()
            .any(|u| u.name.starts_with("refs/tags/") && !is_zero(&u.new))
}

/// The version tag prefix: `[flow.prefix] version-tag` of `.buildkit.toml`
/// at HEAD, else git config `gitflow.prefix.versiontag` when set and not
/// empty (gitflow's setting), else `v`.
pub fn version_prefix(repo: &Repo) -> String {
    let configured = repo.resolve("HEAD").ok().and_then(|head| {
        load_config(repo, &head, "HEAD")
            .ok()
            .and_then(|c| c.flow.prefix.version_tag)
    });
    let gitflow = || {
        git(repo.cwd())
            .args(["config", "--get", "gitflow.prefix.versiontag"])
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out).trim_end().to_owned())
    };
    choose_prefix(configured, gitflow)
}

fn choose_prefix(configured: Option<String>, gitflow: impl FnOnce() -> Option<String>) -> String {
    configured
        .or_else(|| gitflow().filter(|p| !p.is_empty()))
        .unwrap_or_else(|| DEFAULT_PREFIX.to_owned())
}

/// `[hooks] on-fetch` of the `.buildkit.toml` at HEAD (false when there is
/// none, or it cannot be read): HEAD is what the person fetching has, a
/// fetched commit cannot opt itself in.
pub fn on_fetch(repo: &Repo) -> bool {
    repo.resolve("HEAD")
        .ok()
        .and_then(|head| load_config(repo, &head, "HEAD").ok())
        .and_then(|c| c.hooks)
        .is_some_and(|h| h.on_fetch)
}

/// Whether the tagged commit has a `.buildkit.toml` (a tag of a project
/// that does not use git-buildkit starts nothing).
pub fn has_config(repo: &Repo, commit: &str) -> bool {
    matches!(repo.read_file(commit, FILE_NAME), Ok(Some(_)))
}

fn is_zero(oid: &str) -> bool {
    !oid.is_empty() && oid.bytes().all(|b| b == b'0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const ZERO: &str = "0000000000000000000000000000000000000000";
    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn args(state: &str) -> Vec<String> {
        vec![state.to_owned()]
    }

    #[test]
    fn parses_hook_input() {
        let input = format!("{ZERO} {A} refs/tags/v1.0.0\nbroken line\n{A} {ZERO} refs/heads/x\n");
        assert_eq!(
            parse_updates(&input),
            vec![
                RefUpdate {
                    old: ZERO.into(),
                    new: A.into(),
                    name: "refs/tags/v1.0.0".into()
                },
                RefUpdate {
                    old: A.into(),
                    new: ZERO.into(),
                    name: "refs/heads/x".into()
                },
            ]
        );
    }

    #[test]
    fn picks_created_version_tags_when_committed() {
        let zero256 = "0".repeat(64);
        let input = [
            format!("{ZERO} {A} refs/tags/v1.0.0"),
            format!("{ZERO} {A} refs/tags/v1.0.0"),
            format!("{A} {B} refs/tags/v1.0.1"),
            format!("{A} {ZERO} refs/tags/v0.9.0"),
            format!("{A} {zero256} refs/tags/v0.8.0"),
            format!("{ZERO} {A} refs/tags/vnext"),
            format!("{ZERO} {A} refs/tags/1.0.0"),
            format!("{ZERO} {A} refs/tags/release/v2.0.0"),
            format!("{ZERO} {A} refs/heads/v3.0.0"),
            format!("{ZERO} {A} refs/notes/buildkit"),
            format!("{ZERO} ref:refs/tags/v1.0.0 refs/tags/v4.0.0"),
            format!("{ZERO} {A} AUTO_MERGE"),
        ]
        .join("\n");
        let updates = parse_updates(&input);
        let tags = |hook, args: &[String], prefix| new_version_tags(hook, args, &updates, prefix);
        assert_eq!(
            tags(Hook::ReferenceTransaction, &args("committed"), "v"),
            ["v1.0.0", "v1.0.1"]
        );
        assert_eq!(tags(Hook::PostReceive, &[], "v"), ["v1.0.0", "v1.0.1"]);
        assert_eq!(
            tags(Hook::ReferenceTransaction, &args("committed"), ""),
            ["1.0.0"]
        );
        assert_eq!(
            tags(Hook::ReferenceTransaction, &args("committed"), "release/v"),
            ["release/v2.0.0"]
        );
        for state in ["prepared", "aborted", "preparing", ""] {
            assert_eq!(
                tags(Hook::ReferenceTransaction, &args(state), "v"),
                Vec::<String>::new(),
                "{state}"
            );
        }
        assert!(touches_tags(
            Hook::ReferenceTransaction,
            &args("committed"),
            &updates
        ));
        assert!(!touches_tags(
            Hook::ReferenceTransaction,
            &args("prepared"),
            &updates
        ));
        let branch_only = parse_updates(&format!("{ZERO} {A} refs/heads/main\n"));
        assert!(!touches_tags(Hook::PostReceive, &[], &branch_only));
    }

    #[test]
    fn the_prefix_comes_from_the_file_then_gitflow_then_v() {
        let never = || -> Option<String> { panic!("git config must not be read") };
        assert_eq!(choose_prefix(Some("rel-".into()), never), "rel-");
        assert_eq!(choose_prefix(Some(String::new()), never), "");
        assert_eq!(choose_prefix(None, || Some("ver".into())), "ver");
        assert_eq!(choose_prefix(None, || Some(String::new())), "v");
        assert_eq!(choose_prefix(None, || None), "v");
    }
}
