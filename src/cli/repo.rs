//! `git buildkit repo ...`: the apt repository.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use git_buildkit::apt::serving::{
    config_root, serve_config, Listen, ServeConfig, ServerName, WebServer,
};
use git_buildkit::apt::{verify, AptRepo, Incoming, InitOptions};
use git_buildkit::progress::Listener;
use git_buildkit::serve::{serve_stdio, serve_tcp, Limits, LoadNotice, StaticSite};
use git_buildkit::sign::{KeyStore, SigningKey};

use super::env::{key_store, passphrase, repo_path};
use super::error::{failed, usage};
use super::{print_json, CliError, Ui};

/// Manage a signed apt repository.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a repository, signed with the default key (or --key), and publish it empty.
    #[command(after_help = "Examples:
  git buildkit repo init ~/repos/hello --suite stable --component main --arch amd64
  git buildkit repo init ~/repos/hello --suite testing --suite stable --origin Hello --label Hello")]
    Init(InitArgs),
    /// Validate .deb files, put them in the pool and publish.
    #[command(after_help = "Examples:
  git buildkit repo add ~/repos/hello dist/*.deb
  git buildkit repo add dist/hello_1.2.0-1_all.deb --suite testing      (the configured repository)")]
    Add(AddArgs),
    /// List the published packages.
    #[command(after_help = "Examples:
  git buildkit repo list ~/repos/hello
  git buildkit repo list --json | jq -r '.[].version'")]
    List(ListArgs),
    /// Remove packages from a suite: NAME (every version) or NAME=VERSION.
    #[command(after_help = "Examples:
  git buildkit repo remove ~/repos/hello hello=1.2.0-1
  git buildkit repo remove ~/repos/hello hello          (every version)")]
    Remove(RemoveArgs),
    /// Copy packages from one suite to another (promotion).
    #[command(after_help = "Examples:
  git buildkit repo copy ~/repos/hello --from testing --to stable hello")]
    Copy(CopyArgs),
    /// Make a new repository from an existing one (pool files hard-linked).
    #[command(after_help = "Examples:
  git buildkit repo clone ~/repos/base ~/repos/ckan-1.5")]
    Clone(CloneArgs),
    /// Publish again: new Date and signatures, same packages.
    #[command(after_help = "Examples:
  git buildkit repo publish ~/repos/hello")]
    Publish(PublishArgs),
    /// Serve the repository over HTTP (read-only, confined to it).
    #[command(after_help = "Examples:
  git buildkit repo serve ~/repos/hello --bind 127.0.0.1:8080
  git buildkit repo serve ~/repos/hello --max-connections 64
  qemu ... -netdev \"user,id=net0,restrict=on,ipv6=off,guestfwd=tcp:10.0.2.100:80-cmd:'git-buildkit' 'repo' 'serve' '--stdio' 'REPO'\"")]
    Serve(ServeArgs),
    /// Check the repository as apt would (signatures, hashes, pool files).
    #[command(after_help = "Examples:
  git buildkit repo verify ~/repos/hello
  git buildkit repo verify ~/repos/hello --repair     (rebuild a lost index cache and republish)
  git buildkit repo verify 's3://my-bucket/apt/hello?region=eu-west-1' --key ~/repos/hello/key.gpg")]
    Verify(VerifyArgs),
    /// Push the repository to S3-compatible object storage: only what the mirror lacks, clients consistent throughout.
    #[command(after_help = "Examples:
  git buildkit repo push ~/repos/hello --to 's3://my-bucket/apt/hello?endpoint=https://s3.example.org&region=eu-west-1'
  git buildkit repo push                     # in a project: to every [repo] mirror
  git buildkit repo push --json | jq '.[].uploaded'

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), else the
profile AWS_PROFILE (default `default`) of ~/.aws/credentials; the region from the URL, AWS_REGION,
the profile's config, else us-east-1. Order: pool files, by-hash indexes, named indexes, Release and
Release.gpg, InRelease last; superseded objects stay for the repository's by-hash grace period.
One push at a time per mirror (a lease); a push that would drop another repository's packages is
refused. A [repo] mirror named in .buildkit.toml is pushed to only if the build host allows it:
git config --global --add buildkit.mirror.allow 's3://BUCKET/PREFIX?endpoint=URL'.")]
    Push(crate::cli::mirror::PushArgs),
    /// Print a deb822 .sources stanza for clients, with the key embedded.
    #[command(after_help = "Examples:
  git buildkit repo sources ~/repos/hello --url http://127.0.0.1:8080/ > /etc/apt/sources.list.d/hello.sources
  git buildkit repo sources --url http://repo.example/ --keyring /etc/apt/keyrings/hello.gpg
  git buildkit repo sources        # in a project: its repository, at its [repo] url")]
    Sources(SourcesArgs),
    /// Print an nginx or Apache configuration that serves the repository in production.
    #[command(after_help = "Examples:
  git buildkit repo serve-config --nginx ~/repos/hello --server-name apt.example.org
  git buildkit repo serve-config --apache ~/repos/hello --listen 127.0.0.1:8080

Only dists/, pool/ and the public key are served (never .buildkit/, no listings); InRelease and the
indexes are no-cache, by-hash and pool files immutable. TLS is left to your usual configuration.")]
    ServeConfig(ServeConfigArgs),
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The directory (created; must be empty). Default: [repo] path, else the per-project default.
    pub path: Option<PathBuf>,
    /// Suites to create (the first is the default); default: stable.
    #[arg(long = "suite", value_name = "SUITE")]
    pub suites: Vec<String>,
    /// Codename of the first suite (default: its name). Never changes once published.
    #[arg(long)]
    pub codename: Option<String>,
    /// Components (default: main).
    #[arg(long = "component", value_name = "COMPONENT")]
    pub components: Vec<String>,
    /// Binary architectures (default: this machine's); `all` packages go into each.
    #[arg(long = "arch", value_name = "ARCH")]
    pub architectures: Vec<String>,
    /// Origin field (default: the directory name). Never changes once published.
    #[arg(long)]
    pub origin: Option<String>,
    /// Label field (default: the origin). Never changes once published.
    #[arg(long)]
    pub label: Option<String>,
    /// Description field.
    #[arg(long)]
    pub description: Option<String>,
    /// Keep only the newest N versions of each package per suite (0: all).
    #[arg(long, default_value_t = 0)]
    pub keep: u32,
    /// Signing key: fingerprint (or a unique suffix) in the key store, or a key file.
    #[arg(long)]
    pub key: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// [REPO] DEB...: the repository directory (optional) then the packages.
    #[arg(required = true, value_name = "[REPO] DEB")]
    pub args: Vec<PathBuf>,
    /// Suite (default: the first).
    #[arg(long)]
    pub suite: Option<String>,
    /// Component (default: the first).
    #[arg(long)]
    pub component: Option<String>,
    /// Print what was added as JSON.
    #[arg(long)]
    pub json: bool,
    /// Let a snapshot build (`1.2.0+3.gabc1234-1`, from an untagged commit)
    /// into a suite named with --suite other than the snapshots suite.
    #[arg(long)]
    pub allow_snapshot: bool,
    /// Let a work tree build (`package --worktree`, `1.2.0+0.wt0123456789-1`)
    /// in: it holds uncommitted files and is never a release.
    #[arg(long)]
    pub allow_worktree: bool,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The repository.
    pub path: Option<PathBuf>,
    /// Only this suite.
    #[arg(long)]
    pub suite: Option<String>,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// [REPO] SPEC...
    #[arg(required = true, value_name = "[REPO] SPEC")]
    pub args: Vec<String>,
    /// Suite (default: the first).
    #[arg(long)]
    pub suite: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// [REPO] SPEC...
    #[arg(required = true, value_name = "[REPO] SPEC")]
    pub args: Vec<String>,
    /// Source suite.
    #[arg(long)]
    pub from: String,
    /// Target suite.
    #[arg(long)]
    pub to: String,
}

#[derive(Debug, clap::Args)]
pub struct CloneArgs {
    /// The existing repository.
    pub source: PathBuf,
    /// The new repository (must not exist or be empty).
    pub dest: PathBuf,
    /// Signing key of the new repository (default: the default key).
    #[arg(long)]
    pub key: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The repository.
    pub path: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The repository.
    pub path: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port; the URL is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// Answer one HTTP connection on stdin/stdout, then exit.
    #[arg(long)]
    pub stdio: bool,
    /// Connections open at once; beyond it the longest-idle one is closed, or 503 if all are busy.
    /// Each may hold two file descriptors: keep it under half the open-file limit (`ulimit -n`).
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_CONNECTIONS as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The repository, or a mirror's s3:// URL (read back over S3 and checked the same way).
    pub path: Option<PathBuf>,
    /// The public key a mirror must be signed with (default: the project's repository's).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Rebuild the index cache (from dists, else from the pool) and republish.
    #[arg(long)]
    pub repair: bool,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SourcesArgs {
    /// The repository.
    pub path: Option<PathBuf>,
    /// The URL clients use (default: `[repo] url` of the project's
    /// .buildkit.toml).
    #[arg(long)]
    pub url: Option<String>,
    /// Suite (default: the first).
    #[arg(long)]
    pub suite: Option<String>,
    /// Refer to a keyring file instead of embedding the key.
    #[arg(long, value_name = "PATH")]
    pub keyring: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("server").required(true)))]
pub struct ServeConfigArgs {
    /// The repository.
    pub path: Option<PathBuf>,
    /// An nginx server block.
    #[arg(long, group = "server")]
    pub nginx: bool,
    /// An Apache 2.4 virtual host.
    #[arg(long, group = "server")]
    pub apache: bool,
    /// Where to listen: a port (every address) or ADDRESS:PORT.
    #[arg(long, value_name = "[ADDRESS:]PORT", default_value = "80")]
    pub listen: Listen,
    /// Answer only this host name (default: any, as the first server on the address).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<ServerName>,
}

/// Runs the command.
pub fn run(ui: &Ui, command: Command) -> Result<(), CliError> {
    match command {
        Command::Init(args) => cmd_repo_init(ui, args),
        Command::Add(args) => cmd_repo_add(ui, args),
        Command::List(args) => cmd_repo_list(ui, args),
        Command::Remove(args) => cmd_repo_remove(ui, args),
        Command::Copy(args) => cmd_repo_copy(ui, args),
        Command::Clone(args) => cmd_repo_clone(ui, args),
        Command::Publish(args) => cmd_repo_publish(ui, args),
        Command::Serve(args) => cmd_repo_serve(ui, args),
        Command::Verify(args) => cmd_repo_verify(ui, args),
        Command::Push(args) => crate::cli::mirror::cmd_repo_push(ui, args),
        Command::Sources(args) => cmd_repo_sources(ui, args),
        Command::ServeConfig(args) => cmd_repo_serve_config(ui, args),
    }
}

/// `repo init`.
fn cmd_repo_init(ui: &Ui, args: InitArgs) -> Result<(), CliError> {
    let InitArgs {
        path,
        suites,
        codename,
        components,
        architectures,
        origin,
        label,
        description,
        keep,
        key,
    } = args;
    let path = repo_path(path)?;
    let signing = load_key(key.as_deref())?;
    let origin = origin.unwrap_or_else(|| {
        path.file_name()
            .map_or("git-buildkit".into(), |n| n.to_string_lossy().into_owned())
    });
    let options = InitOptions {
        label: label.unwrap_or_else(|| origin.clone()),
        description: description
            .unwrap_or_else(|| format!("{origin} packages, published by git-buildkit")),
        origin,
        suites: non_empty(suites, "stable"),
        codename,
        components: non_empty(components, "main"),
        architectures: non_empty(architectures, &git_buildkit::pipeline::host_arch()),
        keep,
    };
    let repo = AptRepo::init(&path, &options, &signing)?;
    ui.status(
        "Created",
        &format!("{} (signed by {})", path.display(), signing.fingerprint()),
    );
    ui.out(&repo.root().display().to_string());
    Ok(())
}

/// `repo add`.
fn cmd_repo_add(ui: &Ui, args: AddArgs) -> Result<(), CliError> {
    let AddArgs {
        args,
        suite,
        component,
        json,
        allow_snapshot,
        allow_worktree,
    } = args;
    let (path, debs) = split_repo_arg(args.iter().map(|p| p.display().to_string()).collect())?;
    let repo = open(path)?;
    let key = repo_key(&repo)?;
    let debs: Vec<PathBuf> = debs.into_iter().map(PathBuf::from).collect();
    let snapshots = super::env::snapshots_suite()?;
    let wanted = suite
        .clone()
        .unwrap_or_else(|| repo.settings().default_suite().to_owned());
    // Each .deb is read (and hashed) once: its version routes it, then `add` takes it.
    let incoming = AptRepo::read_debs(&debs)?;
    let mut batches: Vec<(String, Vec<PathBuf>, Vec<Incoming>)> = Vec::new();
    for (deb, read) in debs.into_iter().zip(incoming) {
        let version = read.control.version().unwrap_or_default().to_owned();
        if git_buildkit::package::worktree_of(&version) && !allow_worktree {
            return Err(usage(anyhow::anyhow!(
                "{} is a work tree build ({version}, from `package --worktree`): it holds uncommitted files and is never published",
                deb.display()
            ))
            .hint("package a tag (`git buildkit package TAG`) to publish it; --allow-worktree if you mean it"));
        }
        let into = match git_buildkit::version::snapshot_of(&version) {
            Some((count, release)) if wanted != snapshots => {
                if suite.is_some() && !allow_snapshot {
                    return Err(usage(anyhow::anyhow!(
                        "{} is a snapshot build ({count} commits after {release}): in {wanted} it would shadow the release",
                        deb.display()
                    ))
                    .hint(format!(
                        "snapshots go to their own suite: --suite {snapshots} (the default for them); --allow-snapshot if you mean it"
                    )));
                }
                if suite.is_some() {
                    wanted.clone()
                } else {
                    ui.note(&format!(
                        "{} is a snapshot build ({count} commits after {release}): it goes to suite {snapshots}, not {wanted}",
                        deb.display()
                    ));
                    snapshots.clone()
                }
            }
            _ => wanted.clone(),
        };
        match batches.iter_mut().find(|(s, _, _)| *s == into) {
            Some((_, paths, reads)) => {
                paths.push(deb);
                reads.push(read);
            }
            None => batches.push((into, vec![deb], vec![read])),
        }
    }
    let mut outcome = git_buildkit::apt::AddOutcome::default();
    for (suite, debs, incoming) in batches {
        ui.status(
            "Adding",
            &format!(
                "{} package(s) to {} (suite {suite})",
                debs.len(),
                repo.root().display()
            ),
        );
        let repo = if suite == snapshots {
            repo.ensure(std::slice::from_ref(&suite), None, &key)?
        } else {
            repo.clone()
        };
        let added = repo.add_read(&debs, &incoming, Some(&suite), component.as_deref(), &key)?;
        outcome.added.extend(added.added);
        outcome.unchanged.extend(added.unchanged);
        outcome.restored.extend(added.restored);
        outcome.pruned.extend(added.pruned);
        outcome.generation = added.generation;
    }
    if json {
        return print_json(ui, &outcome);
    }
    for id in &outcome.added {
        ui.out(&format!("added {id}"));
    }
    for id in &outcome.unchanged {
        ui.out(&format!("unchanged {id}"));
    }
    for id in &outcome.restored {
        ui.out(&format!("restored {id}"));
    }
    for id in &outcome.pruned {
        ui.out(&format!("pruned {id}"));
    }
    Ok(())
}

/// `repo list`.
fn cmd_repo_list(ui: &Ui, args: ListArgs) -> Result<(), CliError> {
    let ListArgs { path, suite, json } = args;
    let repo = open(path)?;
    let items = repo.list(suite.as_deref())?;
    if json {
        return print_json(ui, &items);
    }
    for i in items {
        ui.out(&format!(
            "{}/{} {} {} {}",
            i.suite, i.component, i.package, i.version, i.architecture
        ));
    }
    Ok(())
}

/// `repo remove`.
fn cmd_repo_remove(ui: &Ui, args: RemoveArgs) -> Result<(), CliError> {
    let RemoveArgs { args, suite } = args;
    let (path, specs) = split_repo_arg(args)?;
    let repo = open(path)?;
    let key = repo_key(&repo)?;
    let (removed, _) = repo.remove(&specs, suite.as_deref(), &key)?;
    for id in removed {
        ui.out(&format!("removed {id}"));
    }
    Ok(())
}

/// `repo copy`.
fn cmd_repo_copy(ui: &Ui, args: CopyArgs) -> Result<(), CliError> {
    let CopyArgs { args, from, to } = args;
    let (path, specs) = split_repo_arg(args)?;
    let repo = open(path)?;
    let key = repo_key(&repo)?;
    let copied = repo.copy(&from, &to, &specs, &key)?.copied;
    for id in copied {
        ui.out(&format!("copied {id}"));
    }
    Ok(())
}

/// `repo clone`.
fn cmd_repo_clone(ui: &Ui, args: CloneArgs) -> Result<(), CliError> {
    let CloneArgs { source, dest, key } = args;
    let repo = open(Some(source))?;
    let signing = load_key(key.as_deref())?;
    let clone = repo.clone_into(&dest, &signing)?;
    ui.out(&clone.root().display().to_string());
    Ok(())
}

/// `repo publish`.
fn cmd_repo_publish(ui: &Ui, args: PublishArgs) -> Result<(), CliError> {
    let PublishArgs { path } = args;
    let repo = open(path)?;
    let key = repo_key(&repo)?;
    let generation = repo.republish(&key)?;
    ui.status("Published", &format!("generation {generation}"));
    Ok(())
}

/// `repo serve`.
fn cmd_repo_serve(ui: &Ui, args: ServeArgs) -> Result<(), CliError> {
    let ServeArgs {
        path,
        bind,
        stdio,
        max_connections,
    } = args;
    if stdio && git_buildkit::serve::stderr_is_connection() {
        // Under QEMU's guestfwd cmd:, stderr is the guest's socket as
        // well: an error message would reach apt as garbage. Fail silently.
        let served = open(path)
            .ok()
            .and_then(|repo| StaticSite::new(repo.root()).ok())
            .map(|site| serve_stdio(&site, &|_| {}));
        return match served {
            Some(Ok(_)) => Ok(()),
            _ => Err(failed(anyhow::anyhow!("serve --stdio failed")).silent()),
        };
    }
    let repo = open(path)?;
    let site = StaticSite::new(repo.root()).map_err(failed)?;
    if stdio {
        // stdout is the HTTP channel here: nothing else may be printed on it.
        serve_stdio(&site, &|_| {}).map_err(failed)?;
        return Ok(());
    }
    let stop = AtomicBool::new(false);
    let log = |e: &git_buildkit::serve::AccessLogEntry| {
        ui.info_line(&format!("{} {} {} {}", e.method, e.path, e.status, e.bytes))
    };
    let on_bound = |addr: std::net::SocketAddr| {
        ui.status(
            "Serving",
            &format!("{} on http://{addr}/", repo.root().display()),
        );
        ui.out(&format!("http://{addr}/"));
    };
    let limits = Limits {
        max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
        ..Limits::default()
    };
    let notice = |n: &LoadNotice| ui.err_line(&format!("warning: {n}"));
    serve_tcp(&site, bind, &limits, &stop, &on_bound, &log, &notice).map_err(failed)
}

/// `repo verify`.
fn cmd_repo_verify(ui: &Ui, args: VerifyArgs) -> Result<(), CliError> {
    let VerifyArgs {
        path,
        key,
        repair,
        json,
    } = args;
    if let Some(url) = path
        .as_deref()
        .and_then(Path::to_str)
        .filter(|p| p.starts_with("s3://"))
    {
        if repair {
            return Err(
                usage(anyhow::anyhow!("--repair works on a local repository")).hint(
                    "repair the local repository, then `git buildkit repo push` to the mirror",
                ),
            );
        }
        return crate::cli::mirror::cmd_verify_mirror(ui, url, key.as_deref(), json);
    }
    if key.is_some() {
        return Err(usage(anyhow::anyhow!(
            "--key is for verifying a mirror (s3://…)"
        )));
    }
    let repo = open(path)?;
    if repair {
        let key = repo_key(&repo)?;
        let generation = repo.repair(&key)?;
        ui.status("Repaired", &format!("published generation {generation}"));
    }
    let findings = verify(&repo)?;
    if json {
        print_json(ui, &findings)?;
    } else {
        for f in &findings {
            ui.out(&format!("{}: {}", f.path, f.problem));
        }
    }
    if findings.is_empty() {
        ui.status("Verified", &repo.root().display().to_string());
        Ok(())
    } else {
        Err(failed(anyhow::anyhow!(
            "{} problem(s) found in {}",
            findings.len(),
            repo.root().display()
        ))
        .hint(if findings.iter().any(|f| f.path.starts_with("pool/")) {
            "a damaged pool file is restored by `git buildkit repo add` of the identical .deb; `git buildkit repo verify --repair` rebuilds the index and republishes"
        } else {
            "`git buildkit repo verify --repair` rebuilds the index and republishes"
        }))
    }
}

/// `repo sources`.
fn cmd_repo_sources(ui: &Ui, args: SourcesArgs) -> Result<(), CliError> {
    let SourcesArgs {
        path,
        url,
        suite,
        keyring,
    } = args;
    let url = match url {
        Some(url) => url,
        None => project_repo_url()?.ok_or_else(|| {
            usage(anyhow::anyhow!("no URL for the sources")).hint(
                "give --url URL (where clients reach the repository), or set url in [repo] of .buildkit.toml",
            )
        })?,
    };
    let repo = open(path)?;
    let suite = suite.unwrap_or_else(|| repo.settings().default_suite().to_owned());
    let mut text = format!(
        "Types: deb\nURIs: {url}\nSuites: {suite}\nComponents: {}\nArchitectures: {}\n",
        repo.settings().components.join(" "),
        repo.settings().architectures.join(" ")
    );
    match keyring {
        Some(path) => text.push_str(&format!("Signed-By: {}\n", path.display())),
        None => {
            let armored = std::fs::read_to_string(repo.root().join("key.asc"))
                .map_err(|e| failed(anyhow::Error::new(e).context("could not read key.asc")))?;
            text.push_str("Signed-By:\n");
            for line in armored.trim_end().lines() {
                text.push_str(if line.is_empty() { " .\n" } else { " " });
                if !line.is_empty() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    ui.out(text.trim_end());
    Ok(())
}

/// `repo serve-config`.
fn cmd_repo_serve_config(ui: &Ui, args: ServeConfigArgs) -> Result<(), CliError> {
    let ServeConfigArgs {
        path,
        nginx,
        apache: _,
        listen,
        server_name,
    } = args;
    let repo = open(path)?;
    let root = config_root(repo.root()).map_err(|e| {
        failed(e).hint(
            "move the repository to a path without it (`git buildkit repo clone` makes a copy)",
        )
    })?;
    let config = ServeConfig {
        server: if nginx {
            WebServer::Nginx
        } else {
            WebServer::Apache
        },
        root,
        listen,
        server_name,
        pool_max_age: repo.settings().by_hash_grace,
    };
    ui.out(serve_config(&config).map_err(failed)?.trim_end());
    Ok(())
}

fn non_empty(list: Vec<String>, default: &str) -> Vec<String> {
    if list.is_empty() {
        vec![default.to_owned()]
    } else {
        list
    }
}

/// `[REPO] ITEM...`: the first argument is the repository when it is a
/// repository directory; otherwise every argument is an item.
fn split_repo_arg(mut args: Vec<String>) -> Result<(Option<PathBuf>, Vec<String>), CliError> {
    let first_is_repo = args.first().is_some_and(|a| {
        Path::new(a).join(".buildkit").is_dir() || (Path::new(a).is_dir() && args.len() > 1)
    });
    let path = first_is_repo.then(|| PathBuf::from(args.remove(0)));
    if args.is_empty() {
        return Err(usage(anyhow::anyhow!(
            "nothing to do: give at least one package"
        )));
    }
    Ok((path, args))
}

/// `[repo] url` of HEAD's .buildkit.toml when run inside a project.
fn project_repo_url() -> Result<Option<String>, CliError> {
    let cwd = std::env::current_dir().map_err(usage)?;
    match git_buildkit::git::Repo::discover(&cwd) {
        Ok(repo) => Ok(super::env::head_repo_config(&repo)?.url),
        Err(_) => Ok(None),
    }
}

fn open(path: Option<PathBuf>) -> Result<AptRepo, CliError> {
    AptRepo::open(&repo_path(path)?).map_err(CliError::from)
}

fn load_key(spec: Option<&str>) -> Result<SigningKey, CliError> {
    let store: KeyStore = key_store(None)?;
    let pass = passphrase()?;
    store.load(spec, pass.as_deref()).map_err(CliError::from)
}

fn repo_key(repo: &AptRepo) -> Result<SigningKey, CliError> {
    load_key(Some(&repo.settings().key))
}
