//! The project the doctor runs in: its `.buildkit.toml` (at HEAD, as the
//! `repo` commands read it; else the work tree's, said to be uncommitted),
//! what it needs of the machine, its signing key and its apt repository.

use std::path::Path;
use std::time::Duration;

use super::{Check, Context, Group, Need, Needs, Status};
use crate::apt::{AptError, AptRepo};
use crate::config::{Config, Sandbox, FILE_NAME};
use crate::git::Repo;
use crate::package::PackageError;
use crate::pipeline::Stage;
use crate::sign::KeyStore;
use crate::vm::DEFAULT_IMAGE;

/// How long the doctor waits for a repository served on 127.0.0.1.
const URL_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the configuration was found.
#[derive(Debug)]
enum Found {
    /// Not in a git repository.
    NoRepo,
    /// A repository without a `.buildkit.toml` at HEAD or in its work tree.
    NoConfig,
    /// HEAD's `.buildkit.toml`.
    Head(Box<Config>),
    /// The work tree's `.buildkit.toml`, not committed.
    WorkTree(Box<Config>),
    /// A `.buildkit.toml` that does not parse (the error).
    Broken(String),
}

/// The project in the doctor's directory, if any.
pub(super) struct Project {
    repo: Option<Repo>,
    found: Found,
}

impl Project {
    /// The project around `context.cwd`.
    pub(super) fn find(context: &Context) -> Self {
        let Ok(repo) = Repo::discover(&context.cwd) else {
            return Self {
                repo: None,
                found: Found::NoRepo,
            };
        };
        let found = match repo.resolve("HEAD") {
            Ok(head) => match crate::package::load_config(&repo, &head, "HEAD") {
                Ok(config) => Found::Head(Box::new(config)),
                Err(PackageError::NoConfig { .. }) => work_tree_config(&repo),
                Err(e) => Found::Broken(error_chain(&e)),
            },
            Err(_) => work_tree_config(&repo),
        };
        Self {
            repo: Some(repo),
            found,
        }
    }

    fn config(&self) -> Option<&Config> {
        match &self.found {
            Found::Head(config) | Found::WorkTree(config) => Some(config),
            _ => None,
        }
    }

    /// What the configuration needs of this machine.
    pub(super) fn needs(&self, context: &Context) -> Needs {
        let host = host_requires_sandbox(&context.cwd)
            .then_some("this build host requires it (git config buildkit.sandbox.require)");
        let Some(config) = self.config() else {
            return Needs {
                bwrap: host,
                ..Needs::default()
            };
        };
        let on_tag: Vec<Stage> = config
            .hooks
            .iter()
            .flat_map(|h| h.on_tag.iter().map(|s| *s.get_ref()))
            .collect();
        Needs {
            vm: config.vm.is_some(),
            // With no `on-tag`, the pipeline's stages include publish.
            signing: on_tag.is_empty() || on_tag.contains(&Stage::Publish),
            bwrap: host.or_else(|| {
                let says = config.packages.iter().any(|p| p.sandbox == Sandbox::Bwrap);
                says.then_some("a package of this project says sandbox = \"bwrap\"")
            }),
            image: config.vm.as_ref().map(|vm| {
                vm.image
                    .as_ref()
                    .map_or(DEFAULT_IMAGE.to_owned(), |i| i.get_ref().clone())
            }),
        }
    }

    /// The checks of the configuration, the key store and the repository.
    pub(super) fn checks(&self, context: &Context) -> Vec<Check> {
        let keys = context.paths.keys_dir().map(KeyStore::at);
        let mut checks = vec![self.config_check(), keys_check(&keys, &self.needs(context))];
        match (&self.repo, self.config()) {
            (Some(repo), Some(config)) => {
                checks.push(repository_check(context, repo, config, &keys));
                checks.push(url_check(config));
                checks.push(mirror_check(context, config));
            }
            _ => {
                let why = "not in a project with a .buildkit.toml";
                checks.push(skipped("repository", why));
                checks.push(skipped("repository-url", why));
                checks.push(skipped("mirror", why));
            }
        }
        checks
    }

    fn config_check(&self) -> Check {
        let check = |status, detail: String| {
            Check::new(Group::Repository, "config", Need::Optional, status, detail)
        };
        match &self.found {
            Found::NoRepo => skipped("config", "not in a git repository"),
            Found::NoConfig => check(
                Status::Skipped,
                format!("no {FILE_NAME} at HEAD or in the work tree: nothing to package here"),
            ),
            Found::Head(config) => {
                check(Status::Ok, format!("HEAD:{FILE_NAME}: {}", summary(config)))
            }
            Found::WorkTree(config) => check(
                Status::Warn,
                format!(
                    "{FILE_NAME} is not committed: package, the pipeline and the repo commands \
                     read it from HEAD or the tag ({})",
                    summary(config)
                ),
            )
            .fix(format!(
                "git add {FILE_NAME} && git commit -m 'Add {FILE_NAME}'"
            )),
            Found::Broken(error) => Check::new(
                Group::Repository,
                "config",
                Need::Required,
                Status::MissingRequired,
                format!("{FILE_NAME} does not read: {error}"),
            )
            .fix(format!(
                "\"${{EDITOR:-vi}}\" {FILE_NAME} && git commit -m 'Fix {FILE_NAME}' {FILE_NAME}"
            )),
        }
    }
}

/// Whether the build host requires every build in the sandbox
/// ([`crate::package::REQUIRE_KEY`], git configuration as seen from `dir`).
fn host_requires_sandbox(dir: &Path) -> bool {
    crate::git::git(dir)
        .args([
            "config",
            "--type=bool",
            "--get",
            crate::package::REQUIRE_KEY,
        ])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out).trim() == "true")
}

/// The work tree's `.buildkit.toml`, when HEAD has none.
fn work_tree_config(repo: &Repo) -> Found {
    let Some(dir) = repo.workdir() else {
        return Found::NoConfig;
    };
    match std::fs::read_to_string(dir.join(FILE_NAME)) {
        Ok(text) => match Config::parse(&text, FILE_NAME) {
            Ok(config) => Found::WorkTree(Box::new(config)),
            Err(e) => Found::Broken(e.to_string()),
        },
        Err(_) => Found::NoConfig,
    }
}

/// An error and its causes on one line (the first, for a multi-line one).
fn error_chain(error: &dyn std::error::Error) -> String {
    let chain = crate::pipeline::error_chain(error);
    chain.lines().next().unwrap_or_default().to_owned()
}

/// What a configuration has, in a few words.
fn summary(config: &Config) -> String {
    let mut parts = vec![match config.packages.len() {
        1 => "1 package".to_owned(),
        n => format!("{n} packages"),
    }];
    for (table, present) in [
        ("[repo]", config.repo.is_some()),
        ("[vm]", config.vm.is_some()),
        ("[hooks]", config.hooks.is_some()),
    ] {
        if present {
            parts.push(table.to_owned());
        }
    }
    parts.join(", ")
}

fn skipped(name: &'static str, why: &str) -> Check {
    Check::new(
        Group::Repository,
        name,
        Need::Optional,
        Status::Skipped,
        why.to_owned(),
    )
}

/// The command that makes a first signing key.
const GENERATE: &str = "git buildkit key generate --name 'NAME Packages' --email you@example.org";

fn keys_check(keys: &Result<KeyStore, crate::paths::PathsError>, needs: &Needs) -> Check {
    let need = Need::required_if(needs.signing);
    let check = |status, detail| Check::new(Group::Signing, "keys", need, status, detail);
    let store = match keys {
        Ok(store) => store,
        Err(e) => return check(need.missing(), format!("cannot locate the key store: {e}")),
    };
    let dir = store.dir().display();
    let list = match store.list() {
        Ok(list) => list,
        Err(e) => {
            return check(
                need.missing(),
                format!("cannot read the key store {dir}: {}", error_chain(&e)),
            )
        }
    };
    let Some(first) = list.first() else {
        let because = match need {
            Need::Required => "this project's pipeline publishes, which signs",
            Need::Optional => "publishing a repository needs one",
        };
        return check(
            need.missing(),
            format!("no signing key in {dir}: {because}"),
        )
        .fix(GENERATE);
    };
    let count = match list.len() {
        1 => "1 key".to_owned(),
        n => format!("{n} keys"),
    };
    let Some(default) = list.iter().find(|k| k.is_default) else {
        return check(
            need.missing(),
            format!("{count} in {dir}, none of them the default (the key used when none is named)"),
        )
        .fix(format!("echo {} > {dir}/default", first.fingerprint));
    };
    if default
        .expires
        .is_some_and(|t| t <= crate::time::unix_now())
    {
        return check(
            need.missing(),
            format!(
                "the default key {} ({}) has expired: apt rejects what it signs",
                default.fingerprint, default.user_id
            ),
        )
        .fix(GENERATE);
    }
    check(
        Status::Ok,
        format!(
            "{count} in {dir}; default {} ({})",
            default.fingerprint, default.user_id
        ),
    )
}

// Long function: each state of the repository directory (none yet,
// empty, someone else's files, not readable, a repository without or with
// its key) gets its own message and fix.
fn repository_check(
    context: &Context,
    repo: &Repo,
    config: &Config,
    keys: &Result<KeyStore, crate::paths::PathsError>,
) -> Check {
    let settings = config.repo.clone().unwrap_or_default();
    let need = Need::required_if(settings.path.is_some());
    let check = |status, detail| Check::new(Group::Repository, "repository", need, status, detail);
    let dir = match crate::pipeline::repo_dir(repo, &settings, &context.paths) {
        Ok(dir) => dir,
        Err(e) => return check(need.missing(), format!("cannot locate it: {e}")),
    };
    let named = match settings.path {
        Some(_) => "[repo] path",
        None => "the default for a project without [repo] path",
    };
    let shown = dir.display();
    let state = match dir_state(&dir) {
        DirState::Full => None,
        DirState::Absent => Some("does not exist yet"),
        DirState::Empty => Some("is empty"),
        DirState::Unreadable(e) => {
            return check(
                Status::MissingRequired,
                format!("{shown} ({named}) cannot be read: {e}"),
            )
        }
    };
    if let Some(state) = state {
        return check(
            Status::Warn,
            format!(
                "{shown} ({named}) {state}: the first publish makes the repository, signed \
                 with the default key"
            ),
        )
        .fix("git buildkit repo init");
    }
    let apt = match AptRepo::open(&dir) {
        Ok(apt) => apt,
        Err(AptError::NotARepo { .. }) => {
            return check(
                Status::MissingRequired,
                format!(
                    "{shown} ({named}) is not empty and not a git-buildkit repository (no \
                     .buildkit/repo.toml): publishing there fails"
                ),
            )
        }
        Err(e) => {
            return check(
                Status::MissingRequired,
                format!("{shown}: {}", error_chain(&e)),
            )
        }
    };
    if let Err(e) = std::fs::read_dir(dir.join("dists")) {
        return check(
            Status::MissingRequired,
            format!("{shown} has no readable published generation (dists: {e})"),
        )
        .fix(format!("git buildkit repo verify --repair {shown}"));
    }
    let key = &apt.settings().key;
    let suites: Vec<&str> = apt
        .settings()
        .suites
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let signed = match keys.as_ref().map(|store| (store, store.resolve(Some(key)))) {
        Ok((_, Ok(_))) => format!("signed by {key}, in the key store"),
        Ok((store, Err(_))) => {
            return check(
                Status::MissingRequired,
                format!(
                    "{shown} is signed by {key}, whose secret key is not in the key store {}: \
                     publishing cannot sign",
                    store.dir().display()
                ),
            )
            .fix("export BUILDKIT_KEY_STORE=/the/key/store/that/has/it")
        }
        Err(e) => {
            return check(
                Status::MissingRequired,
                format!("cannot locate the key store: {e}"),
            )
        }
    };
    check(
        Status::Ok,
        format!("{shown} ({named}): suites {}; {signed}", suites.join(", ")),
    )
}

/// What is at a repository's path.
enum DirState {
    /// Nothing (`repo init` and a first publish make it).
    Absent,
    /// An empty directory (they take it).
    Empty,
    /// Something.
    Full,
    /// A directory this user cannot list.
    Unreadable(std::io::Error),
}

fn dir_state(dir: &Path) -> DirState {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => DirState::Empty,
            Some(_) => DirState::Full,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DirState::Absent,
        // A file there: `AptRepo::open` says it is no repository.
        Err(_) if dir.is_file() => DirState::Full,
        Err(e) => DirState::Unreadable(e),
    }
}

/// `[repo] url`: tried when it is on this machine's loopback address (the
/// doctor reaches no other host).
fn url_check(config: &Config) -> Check {
    let Some(repo) = &config.repo else {
        return skipped("repository-url", "no [repo] url");
    };
    let Some(url) = &repo.url else {
        return skipped("repository-url", "no [repo] url");
    };
    if !is_loopback_url(url) {
        return skipped(
            "repository-url",
            &format!("{url} is not on 127.0.0.1: the doctor reaches no other host"),
        );
    }
    let suite = repo.target_suite("stable");
    let target = format!("{}/dists/{suite}/InRelease", url.trim_end_matches('/'));
    let check = |status, detail| {
        Check::new(
            Group::Repository,
            "repository-url",
            Need::Optional,
            status,
            detail,
        )
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(URL_TIMEOUT)
        .no_proxy()
        // A redirect could lead off the loopback address.
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let answer = client.and_then(|c| c.get(&target).send());
    match answer {
        Ok(response) if response.status().is_success() => {
            check(Status::Ok, format!("{target} answers"))
        }
        Ok(response) => check(
            Status::Warn,
            format!(
                "{target} answers {}: something else is served there",
                response.status()
            ),
        ),
        Err(e) => check(
            Status::Warn,
            format!("nothing answers at {url} ({})", error_chain(&e)),
        )
        .fix(format!(
            "git buildkit repo serve --bind {}",
            url_authority(url).unwrap_or("127.0.0.1:8080")
        )),
    }
}

/// `[repo] mirror`: each one allowed by this host, credentials found for
/// it (the publish stage would fail otherwise), and, for a mirror on
/// 127.0.0.1, what it holds. The doctor sends nothing to another host.
fn mirror_check(context: &Context, config: &Config) -> Check {
    use crate::apt::mirror::{check_allowed, Connection, Lookup, ALLOW_KEY};
    let mirrors = config
        .repo
        .as_ref()
        .map(crate::config::RepoConfig::mirrors)
        .unwrap_or_default();
    if mirrors.is_empty() {
        return skipped("mirror", "no [repo] mirror");
    }
    let check = |status, detail: String| {
        Check::new(Group::Repository, "mirror", Need::Required, status, detail)
    };
    let allowed = crate::pipeline::allowed_mirrors(&context.cwd).unwrap_or_default();
    let var = |name: &str| std::env::var(name).ok();
    let lookup = Lookup {
        var: &var,
        home: context.paths.home().ok(),
    };
    let mut details = Vec::new();
    for url in mirrors {
        if let Err(e) = check_allowed(&url, &allowed) {
            return check(
                Status::MissingRequired,
                format!("{e}: the publish stage would refuse it"),
            )
            .fix(format!("git config --global --add {ALLOW_KEY} '{url}'"));
        }
        let Ok(connection) = Connection::new(url.clone(), &lookup, true) else {
            return check(
                Status::MissingRequired,
                format!("no credentials for {url}: the publish stage would fail"),
            )
            .fix("export AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… (or a profile in ~/.aws/credentials)".to_owned());
        };
        let source = connection
            .credentials
            .as_ref()
            .map_or(String::new(), |c| c.source.clone());
        let state = match url.endpoint.as_deref() {
            Some(endpoint) if is_loopback_url(&format!("{endpoint}/")) => {
                match crate::apt::mirror::describe(&connection) {
                    Ok(state) => state,
                    Err(e) => {
                        return check(Status::Warn, format!("{url}: {}", error_chain(&e)))
                            .fix("git buildkit repo push".to_owned())
                    }
                }
            }
            _ => "not contacted: the doctor reaches no other host".to_owned(),
        };
        details.push(format!("{url} (credentials from {source}; {state})"));
    }
    check(Status::Ok, details.join("; "))
}

/// Whether `url` is `http://` on 127.0.0.1 or localhost.
fn is_loopback_url(url: &str) -> bool {
    url_authority(url).is_some_and(|authority| {
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        host == "127.0.0.1" || host == "localhost"
    })
}

/// `HOST:PORT` of an `http://` URL.
fn url_authority(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    (!authority.is_empty() && !authority.contains('@')).then_some(authority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn only_loopback_urls_are_tried() {
        assert!(is_loopback_url("http://127.0.0.1:8080/"));
        assert!(is_loopback_url("http://localhost:8080"));
        assert!(is_loopback_url("http://127.0.0.1/repo"));
        assert!(!is_loopback_url("http://127.0.0.1.example.org/"));
        assert!(!is_loopback_url("https://127.0.0.1/"));
        assert!(!is_loopback_url("http://user@127.0.0.1/"));
        assert!(!is_loopback_url("http://deb.example.org/"));
        assert_eq!(
            url_authority("http://127.0.0.1:8080/x"),
            Some("127.0.0.1:8080")
        );
    }

    #[test]
    fn the_pipeline_needs_a_key_unless_its_stages_do_not_publish() {
        let dir = tempfile::tempdir().expect("tempdir");
        let git = |args: &[&str]| {
            crate::git::git(dir.path())
                .args(args)
                .output()
                .expect("git");
        };
        git(&["init", "-q"]);
        // The repository's own configuration decides, whatever the user's says.
        git(&["config", "buildkit.sandbox.require", "false"]);
        let context = Context::current(dir.path().to_owned());
        let needs = |text: &str| {
            let config = Config::parse(text, "test").expect("config");
            Project {
                repo: None,
                found: Found::Head(Box::new(config)),
            }
            .needs(&context)
        };
        assert_eq!(
            needs(""),
            Needs {
                signing: true,
                ..Needs::default()
            }
        );
        assert_eq!(needs("[hooks]\non-tag = [\"package\"]\n"), Needs::default());
        assert_eq!(
            needs("[vm]\n"),
            Needs {
                vm: true,
                signing: true,
                image: Some(DEFAULT_IMAGE.to_owned()),
                ..Needs::default()
            }
        );
        let bwrap =
            "[[package]]\nname = \"ab\"\ndescription = \"AB\"\nmaintainer = \"A <a@example.org>\"\nsandbox = \"bwrap\"\n";
        assert_eq!(
            needs(bwrap).bwrap,
            Some("a package of this project says sandbox = \"bwrap\"")
        );
        git(&["config", "buildkit.sandbox.require", "true"]);
        assert_eq!(
            needs("").bwrap,
            Some("this build host requires it (git config buildkit.sandbox.require)")
        );
    }
}
