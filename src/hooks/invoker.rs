//! Which git command ran a hook: a tag made here (`git tag`, a finish, a
//! push received by a bare repository) starts a pipeline, a tag that
//! arrived by `git fetch` only when `[hooks] on-fetch = true`.
//!
//! reference-transaction cannot tell on its own: its input is the same for
//! `git tag v1.0` and for a fetch that brings `v1.0`, and git 2.47 gives the
//! hook no variable that differs (`GIT_REFLOG_ACTION` is exported by
//! `pull`, `rebase` and friends, not by `fetch`; measured on 2.47.3: a
//! fetch's hook sees only `GIT_EXEC_PATH` and `GIT_PREFIX`). What does
//! differ is the process: git runs the hook as its own child, and the
//! installed script `exec`s git-buildkit, so our parent is the git command
//! itself, whose argv Linux shows in `/proc/PID/cmdline`. The rule: the
//! nearest ancestor that is git names the command; `fetch`, `pull` and
//! `clone` bring refs from elsewhere (`pull`, `remote update` and
//! `fetch --all` run `git fetch` as a child, so that is what the hook
//! sees). A git alias for fetch (`git f`) is not recognised: its argv says
//! `f`.

use std::path::Path;

/// How many ancestors are looked at for the git command (a user's wrapper
/// script between git and us is allowed for).
const MAX_ANCESTORS: usize = 4;

/// The git commands that bring refs from another repository.
const FETCH_COMMANDS: [&str; 3] = ["fetch", "pull", "clone"];

/// Where a hook's ref updates come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefSource {
    /// Made in this repository (or pushed into it): tags start pipelines.
    Local,
    /// Brought by `git fetch`, `pull` or `clone`.
    Fetched,
}

/// The source told by the argv of the hook's ancestors, nearest first: the
/// first one that is git decides.
pub fn source_of(ancestors: &[Vec<String>]) -> RefSource {
    let command = ancestors.iter().find_map(|argv| git_command(argv));
    match command {
        Some(c) if FETCH_COMMANDS.contains(&c) => RefSource::Fetched,
        _ => RefSource::Local,
    }
}

/// The subcommand of a git argv (`git -C dir -c k=v fetch origin` →
/// `fetch`; `git-upload-pack …` → `upload-pack`), or None when the argv is
/// not git's.
pub fn git_command(argv: &[String]) -> Option<&str> {
    let program = argv.first()?;
    let name = Path::new(program).file_name()?.to_str()?;
    if name != "git" {
        // The dashed form git still uses for some helpers; never us.
        return name
            .strip_prefix("git-")
            .filter(|c| !c.is_empty() && *c != "buildkit");
    }
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // git(1): the global options that take their value as the next word.
            "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--config-env" => {
                args.next();
            }
            option if option.starts_with('-') => {}
            command => return Some(command),
        }
    }
    None
}

/// The argv of this process's ancestors, nearest first, as far as
/// `/proc` shows them (empty elsewhere).
pub fn ancestors() -> Vec<Vec<String>> {
    let mut list = Vec::new();
    let mut pid = std::os::unix::process::parent_id();
    while list.len() < MAX_ANCESTORS && pid > 1 {
        let proc = Path::new("/proc").join(pid.to_string());
        let Ok(cmdline) = std::fs::read(proc.join("cmdline")) else {
            break;
        };
        list.push(
            cmdline
                .split(|b| *b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect(),
        );
        pid = match std::fs::read_to_string(proc.join("stat")) {
            Ok(stat) => parent_in_stat(&stat).unwrap_or(0),
            Err(_) => 0,
        };
    }
    list
}

/// The parent pid in a `/proc/PID/stat` line: the second field after the
/// command name, which is in parentheses and may itself hold spaces and `)`.
fn parent_in_stat(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn argv(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn the_git_command_is_found_past_global_options() {
        let cases = [
            ("git fetch origin", Some("fetch")),
            (
                "/usr/bin/git -C /r -c a.b=c --no-pager fetch --tags",
                Some("fetch"),
            ),
            ("git --git-dir /r/.git --work-tree=/r pull", Some("pull")),
            ("git --config-env x=Y tag v1.0", Some("tag")),
            ("/usr/lib/git-core/git-upload-pack /r", Some("upload-pack")),
            (
                "git-buildkit hooks run reference-transaction committed",
                None,
            ),
            ("/bin/sh .git/hooks/reference-transaction committed", None),
            ("git -c a=b", None),
            ("gitk --all", None),
        ];
        for (line, want) in cases {
            assert_eq!(git_command(&argv(line)), want, "{line}");
        }
    }

    #[test]
    fn the_nearest_git_ancestor_decides() {
        let fetched = [
            vec![argv("git fetch origin")],
            vec![argv("sh wrapper"), argv("git -C /r pull"), argv("bash")],
            vec![argv("git clone /a /b")],
        ];
        for chain in fetched {
            assert_eq!(source_of(&chain), RefSource::Fetched, "{chain:?}");
        }
        let local = [
            vec![argv("git tag v1.0")],
            vec![argv("git merge release/1.0"), argv("git fetch")],
            vec![argv("git buildkit release finish"), argv("git pull")],
            vec![argv("git-receive-pack /srv/r.git")],
            vec![],
        ];
        for chain in local {
            assert_eq!(source_of(&chain), RefSource::Local, "{chain:?}");
        }
    }

    #[test]
    fn the_parent_comes_from_the_stat_line() {
        assert_eq!(parent_in_stat("42 (git) S 41 42 1 0"), Some(41));
        assert_eq!(parent_in_stat("42 (a) b) c) R 7 1"), Some(7));
        assert_eq!(parent_in_stat("garbage"), None);
        let mine = std::fs::read_to_string("/proc/self/stat").expect("stat");
        assert_eq!(
            parent_in_stat(&mine),
            Some(std::os::unix::process::parent_id())
        );
    }
}
