//! `git buildkit vm create|list|shell|destroy` and `git buildkit vm-test`:
//! the base images, and the smoke test of a version tag in a throw-away VM.

use std::path::PathBuf;

use git_buildkit::config::FILE_NAME;
use git_buildkit::package;
use git_buildkit::pipeline::{plan_vm_test, test_suites, TagTestOptions};
use git_buildkit::progress::Listener;
use git_buildkit::time;
use git_buildkit::vm::exec::{ExecRequest, MAX_STDIN};
use git_buildkit::vm::image::{host_mirror, host_suite, CreateOptions};
use git_buildkit::vm::kept::{self, RunState};
use git_buildkit::vm::qemu::Forward;
use git_buildkit::vm::run::{self, AccelChoice};
use git_buildkit::vm::values::{parse_mode, TimeLimit};
use git_buildkit::vm::verdict::Start;
use git_buildkit::vm::{
    ImageStore, Recipe, TestOutcome, Verdict, VerdictKind, VmError, DEFAULT_IMAGE,
};

use super::env::{locate_error, pipeline_options};
use super::error::{failed, usage, CliError};
use super::{open_repo, print_json, Ui};

/// Base images for VM tests: create, list, shell, destroy.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Build a base image with mmdebstrap (cached: instant when the recipe is unchanged).
    ///
    /// The image is a minimal Debian system (minbase, systemd, iproute2 and
    /// --include) from the mirror apt on this machine uses (or --mirror),
    /// written as an ext4 file system with mke2fs -d (no loop devices, no
    /// mounts), with the suite's kernel and a small initrd beside it. It
    /// lives in ~/.cache/git-buildkit/vm (or $BUILDKIT_VM_CACHE) under a hash
    /// of its recipe. Tests never boot it directly: each boots a throw-away
    /// overlay. The guest has no resolver and no apt sources of its own:
    /// it reaches the repository under test and, when a package needs it,
    /// the image's Debian suite through the built-in caching apt proxy.
    /// The bootstrap goes through the same cache (mmdebstrap with
    /// http_proxy on a 127.0.0.1 port), so a second build downloads
    /// nothing, and --offline builds from the cache alone.
    #[command(after_help = "Examples:
  git buildkit vm create                                 the default image
  git buildkit vm create py --include python3,curl       another, with more packages
  git buildkit vm create --refresh                       rebuild from today's mirror
  git buildkit vm create --refresh --offline             rebuild from the cache alone
  git buildkit vm create --suite trixie --proxy http://127.0.0.1:3142   through apt-cacher-ng")]
    Create(CreateArgs),
    /// List the images and the kept test runs.
    #[command(after_help = "Examples:
  git buildkit vm list
  git buildkit vm list --json | jq -r '.images[].name'")]
    List(ListArgs),
    /// Boot a kept run's VM with a root shell on this terminal (Ctrl-A X quits).
    ///
    /// Runs are kept with `vm-test --keep`; the shell boots the same overlay
    /// the test left, in fast mode, without a network. A kept VM that still
    /// runs is stopped first (cleanly, its disk kept): to run commands in
    /// it while it runs, use `vm exec`.
    #[command(after_help = "Examples:
  git buildkit vm-test --keep            prints the run id
  git buildkit vm shell v1.2.0-3fa9c1de")]
    Shell(ShellArgs),
    /// Run a command as root in a kept run's running VM.
    ///
    /// Non-interactive: the command's words are quoted and run with
    /// `bash -c` in the guest; its stdout and stderr stream back as they
    /// come, and its exit status becomes ours. Piped stdin (up to 16 MiB) is
    /// given to it; from a terminal it gets /dev/null. Requests and answers
    /// travel hex-encoded in framed lines on the guest's job port, so
    /// nothing the command prints can forge its exit status. One command at
    /// a time per run (others wait). A stopped run (`vm list`) is not booted
    /// again: `vm shell` boots it.
    ///
    /// Exit codes: the command's own; 2 usage; 3 the guest did not answer,
    /// the VM stopped, or the command ran past --timeout (it is killed).
    #[command(after_help = "Examples:
  git buildkit vm-test v1.2.0 --keep --forward 8080:80
  git buildkit vm exec v1.2.0-3fa9c1de -- systemctl status myapp
  echo hi | git buildkit vm exec v1.2.0-3fa9c1de -- cat
  git buildkit vm exec --timeout 30m v1.2.0-3fa9c1de -- apt-get install -y jq")]
    Exec(ExecArgs),
    /// Remove an image (or a kept run, stopping its VM).
    #[command(after_help = "Examples:
  git buildkit vm destroy py
  git buildkit vm destroy v1.2.0-3fa9c1de")]
    Destroy(DestroyArgs),
    /// Serve one guest connection on stdin/stdout (qemu's guestfwd runs it).
    ///
    /// Takes one of the run's connection slots first (waiting briefly, or
    /// answering 503 when the guest already holds too many connections).
    #[command(
        hide = true,
        after_help = "Examples:
  qemu ... -netdev \"user,id=net0,restrict=on,ipv6=off,guestfwd=tcp:10.0.2.100:80-cmd:'git-buildkit' 'vm' 'serve-guest' '--run-dir' 'RUN' 'REPO'\""
    )]
    ServeGuest(ServeGuestArgs),
    /// Stream a warm snapshot's saved state to stdout for qemu, checking
    /// its SHA-256 on the way: a damaged one is cut short, so qemu does
    /// not load it (qemu's `migrate-incoming exec:` runs this).
    #[command(
        hide = true,
        after_help = "Examples:
  {\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"exec:'git-buildkit' 'vm' 'read-state' '--sha256' 'HEX' 'WARM/state'\"}}"
    )]
    ReadState(ReadStateArgs),
}

/// Arguments of `vm read-state`.
#[derive(Debug, clap::Args)]
pub struct ReadStateArgs {
    /// The SHA-256 (hex) the state was saved with.
    #[arg(long, value_name = "HEX")]
    pub sha256: String,
    /// The state file.
    #[arg(value_name = "FILE")]
    pub state: PathBuf,
}

/// Arguments of `vm serve-guest`.
#[derive(Debug, clap::Args)]
pub struct ServeGuestArgs {
    /// The run directory (its connection slots).
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// The repository.
    #[arg(value_name = "REPO")]
    pub repo: PathBuf,
}

/// Arguments of `vm create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The image's name.
    #[arg(value_name = "NAME", default_value = DEFAULT_IMAGE)]
    pub name: String,
    /// The Debian suite (default: this machine's).
    #[arg(long)]
    pub suite: Option<String>,
    /// Extra packages, comma-separated (repeatable).
    #[arg(long, value_delimiter = ',')]
    pub include: Vec<String>,
    /// The Debian mirror (default: the one apt on this machine uses).
    #[arg(long)]
    pub mirror: Option<String>,
    /// An HTTP proxy for the bootstrap instead of the built-in cache
    /// (e.g. apt-cacher-ng).
    #[arg(long, conflicts_with = "offline")]
    pub proxy: Option<String>,
    /// Build from the built-in cache alone, asking no mirror; what is
    /// missing is named.
    #[arg(long)]
    pub offline: bool,
    /// Rebuild even when the image of this recipe exists.
    #[arg(long)]
    pub refresh: bool,
    /// Print the image as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `vm list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `vm shell`.
#[derive(Debug, clap::Args)]
pub struct ShellArgs {
    /// The kept run's id.
    #[arg(value_name = "RUN-ID")]
    pub run: String,
}

/// Arguments of `vm exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// The kept run's id.
    #[arg(value_name = "RUN-ID")]
    pub run: String,
    /// How long the command may run (e.g. 90s, 5m, 1h).
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: String,
    /// The command and its arguments.
    #[arg(value_name = "COMMAND", required = true, last = true)]
    pub command: Vec<String>,
}

/// Arguments of `vm destroy`.
#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    /// The image's name or a kept run's id.
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// Install a version tag's packages in a throw-away VM from the signed
/// repository, run the smoke tests, and give a verdict.
///
/// The VM boots a fresh overlay of the base image (`vm create`), installs
/// the tag's packages with apt from the repository the tag was published to
/// (served to the guest through qemu's guestfwd, signatures checked with the
/// repository's key; the guest can reach nothing else), then runs
/// `[vm] smoke` of the tag's .buildkit.toml and the DEP-8 tests of its
/// debian/tests/control. Output streams live; results come back as framed
/// lines on a serial port.
///
/// Fast mode boots a tiny init (no systemd); systemd mode boots systemd,
/// for packages with services. auto picks systemd when a package ships a
/// systemd unit. --accel auto uses KVM only where it really works, else
/// software emulation (TCG), and says so.
///
/// With --upgrade-from SUITE (the suite users install from, while the tag
/// is tested from a staging suite given by --suite), the upgrade is
/// tested in the same boot when SUITE has an earlier version: the guest
/// installs the released versions from there and runs the tests, upgrades
/// to the tag's (noninteractively: a failing maintainer script or a
/// conffile prompt fails the run, naming the package and the script or
/// file), runs the tests again, then purges the packages, installs the
/// tag's cleanly and runs the tests a last time. Tests are named after
/// their phase (released/, upgraded/, reinstalled/); a failure against the
/// released versions is reported but not counted. --no-upgrade skips it.
///
/// With --on SUITE (repeatable, or comma-separated) or `[vm] suites`, the
/// same tests run on each Debian suite, side by side (as many at once as
/// there are cores), each on its own image: the image named after the
/// suite, else the default image when it is of that suite. Each suite gets
/// its verdict (streamed lines start with `[suite] `), then one line each:
/// `bookworm: PASS 3.1 s`. --on is the release the guest runs; --suite is
/// the suite of the apt repository the tag's packages come from. --vm
/// tests one image and ignores `[vm] suites`.
///
/// Exit codes: 0 every test passed, 1 a test failed (or the upgrade, the
/// purge or the reinstall), 2 usage or configuration, 3 the VM or the
/// install failed (no verdict on the tests). With several suites, the
/// worst suite's: a test bed failure (3) beats a failed test (1); a suite
/// that could not be planned (a dependency its Debian release lacks) or
/// run has its error's code.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit vm-test                          the newest version tag with a .buildkit.toml
  git buildkit vm-test v1.2.0 --mode systemd
  git buildkit vm-test v1.2.0 --keep            then: git buildkit vm exec RUN-ID -- CMD
  git buildkit vm-test v1.2.0 --keep --forward 8080:80   http://127.0.0.1:8080/ is guest port 80
  git buildkit vm-test --json | jq -r '.verdict, .phases.total'
  git buildkit vm-test --junit report.xml
  git buildkit vm-test v1.2.0 --suite staging --upgrade-from stable   fresh install and upgrade
  git buildkit vm-test v1.2.0 --on bookworm --on trixie   on Debian 12 and 13, side by side
  git buildkit vm create trixie --suite trixie             the image --on trixie uses
  git buildkit vm-test --on bookworm,trixie --json | jq -r '.suites[] | .suite + \" \" + .verdict'")]
pub struct TestArgs {
    /// The version tag (default: the newest one whose commit has a .buildkit.toml).
    #[arg(value_name = "REF")]
    pub reference: Option<String>,
    /// The base image (default: [vm] image, else "default").
    #[arg(long = "vm", value_name = "NAME")]
    pub image: Option<String>,
    /// Test on the Debian release SUITE, each on its own image
    /// (repeatable, or comma-separated; default: [vm] suites).
    #[arg(
        long = "on",
        value_name = "SUITE",
        value_delimiter = ',',
        conflicts_with = "image"
    )]
    pub on: Vec<String>,
    /// KVM or software emulation.
    #[arg(long, value_enum, default_value = "auto")]
    pub accel: AccelArg,
    /// The guest mode: fast, systemd or auto (default: [vm] mode, else auto).
    #[arg(long)]
    pub mode: Option<String>,
    /// Keep the run's VM running after the verdict, for `vm exec` (and
    /// its disk, for `vm shell`), until `vm destroy`.
    #[arg(long)]
    pub keep: bool,
    /// Boot the guest instead of restoring the image's warm snapshot (a
    /// run with --keep always boots).
    #[arg(long)]
    pub cold: bool,
    /// Make guest port GUEST reachable at 127.0.0.1:HOST (repeatable;
    /// with --keep).
    #[arg(long, value_name = "HOST:GUEST", requires = "keep", value_parser = parse_forward)]
    pub forward: Vec<Forward>,
    /// The apt repository (default: [repo] path of the tag's .buildkit.toml).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// The suite of the apt repository the tag's packages are installed
    /// from (default: [repo] suite, else the repository's first); the
    /// guest's Debian release is --on.
    #[arg(long, value_name = "SUITE")]
    pub suite: Option<String>,
    /// Test the upgrade from the released versions in SUITE of the same
    /// repository (when it has an earlier version).
    #[arg(long, value_name = "SUITE", conflicts_with = "no_upgrade")]
    pub upgrade_from: Option<String>,
    /// No upgrade test: only the fresh install.
    #[arg(long)]
    pub no_upgrade: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// `--accel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelArg {
    /// KVM when it works, else TCG.
    Auto,
    /// KVM, or fail.
    Kvm,
    /// Software emulation.
    Tcg,
}

/// Runs a `vm` subcommand.
pub fn run(ui: &Ui, command: Command) -> Result<(), CliError> {
    // The guest's connections need no image store, and must not fail (or
    // print) for want of one.
    if let Command::ServeGuest(args) = &command {
        return serve_guest(args);
    }
    if let Command::ReadState(args) = &command {
        let mut out = std::io::stdout().lock();
        return git_buildkit::vm::warm::stream_checked(&args.state, &args.sha256, &mut out)
            .map_err(|e| failed(anyhow::anyhow!(e)));
    }
    let store = image_store()?;
    match command {
        Command::ServeGuest(args) => serve_guest(&args),
        Command::ReadState(_) => Ok(()),
        Command::Create(args) => create(ui, &store, args),
        Command::List(args) => list(ui, &store, &args),
        Command::Shell(args) => {
            let code = run::shell(&store, &args.run)?;
            if code == 0 {
                Ok(())
            } else {
                Err(failed(anyhow::anyhow!("qemu exited with status {code}")).silent())
            }
        }
        Command::Exec(args) => exec(&store, args),
        Command::Destroy(args) => {
            match store.destroy(&args.name) {
                Ok(image) => ui.status(
                    "Removed",
                    &format!("image {} ({})", args.name, image.manifest.key),
                ),
                Err(VmError::NoImage { .. }) => {
                    run::remove_run(&store, &args.name).map_err(|e| match e {
                        VmError::NoRun { .. } => VmError::NoImage {
                            name: args.name.clone(),
                        },
                        e => e,
                    })?;
                    ui.status("Removed", &format!("kept run {}", args.name));
                }
                Err(e) => return Err(e.into()),
            }
            Ok(())
        }
    }
}

/// One guest connection: stdin, stdout and stderr are all the guest's
/// socket, so nothing is printed, whatever happens.
fn serve_guest(args: &ServeGuestArgs) -> Result<(), CliError> {
    use git_buildkit::vm::connections::{self, Caps};
    let silent = || failed(anyhow::anyhow!("vm serve-guest failed")).silent();
    let Some(_slot) =
        connections::admit_or_refuse(&args.run_dir, Caps::default()).map_err(|_| silent())?
    else {
        return Err(silent());
    };
    let repo = git_buildkit::apt::AptRepo::open(&args.repo).map_err(|_| silent())?;
    let site = git_buildkit::serve::StaticSite::new(repo.root()).map_err(|_| silent())?;
    git_buildkit::serve::serve_stdio(&site, &|_| {}).map_err(|_| silent())?;
    Ok(())
}

fn create(ui: &Ui, store: &ImageStore, args: CreateArgs) -> Result<(), CliError> {
    let suite = args
        .suite
        .or_else(host_suite)
        .unwrap_or_else(|| "bookworm".to_owned());
    let mirror = args.mirror.unwrap_or_else(|| host_mirror(&suite));
    let recipe = Recipe::new(&suite, &mirror, &args.include);
    // The bootstrap fetches through the built-in cache on a 127.0.0.1 port
    // (kept alive until the build ends), unless told to use another proxy.
    let faults = tempfile::tempdir().map_err(failed)?;
    let fault_log = faults.path().join("faults.jsonl");
    let built_in = args.proxy.is_none();
    let (proxy, _loopback) = match args.proxy {
        Some(proxy) => (proxy, None),
        None => {
            let loopback = bootstrap_proxy(&recipe.mirror, args.offline, &fault_log)?;
            (format!("http://{}", loopback.addr()), Some(loopback))
        }
    };
    let options = CreateOptions {
        proxy: Some(proxy),
        proxy_fetches_https: built_in,
        refresh: args.refresh,
    };
    let (image, built) = match store.create(&args.name, &recipe, &options, ui) {
        Ok(done) => done,
        Err(e) => {
            let missing = git_buildkit::vm::sources::unfetched(&fault_log);
            if missing.is_empty() {
                return Err(e.into());
            }
            let what = if args.offline {
                "not in the cache (offline)"
            } else {
                "could not be fetched"
            };
            return Err(failed(
                anyhow::Error::new(e).context(format!("{what}: {}", missing.join(", "))),
            ));
        }
    };
    if args.json {
        return print_json(ui, &image_json(&image));
    }
    let m = &image.manifest;
    if built {
        ui.status(
            "Created",
            &format!(
                "image {} ({}, {}, {} in {:.0}s; key {})",
                image.name, m.recipe.suite, m.kernel_package, m.kernel, m.build_seconds, m.key
            ),
        );
    } else {
        ui.status(
            "Fresh",
            &format!(
                "image {} is up to date (key {}; --refresh rebuilds it)",
                image.name, m.key
            ),
        );
    }
    ui.out(&image.dir.display().to_string());
    Ok(())
}

/// The built-in caching proxy for a bootstrap from `mirror`, on a
/// 127.0.0.1 port: the host's apt mirrors and the one asked for on the
/// command line may be fetched, nothing else.
fn bootstrap_proxy(
    mirror: &str,
    offline: bool,
    fault_log: &std::path::Path,
) -> Result<git_buildkit::proxy::Loopback, CliError> {
    use git_buildkit::proxy::{Mirrors, Proxy, ProxyOptions};
    let host = Mirrors::from_host_apt()?;
    let mirrors = Mirrors::new(
        host.list()
            .iter()
            .map(|m| m.url())
            .chain([mirror.to_owned()]),
    );
    let options = ProxyOptions {
        offline,
        fault_log: Some(fault_log.to_owned()),
        ..ProxyOptions::default()
    };
    Ok(Proxy::new(super::cache::open_cache()?, mirrors, options)?.spawn_loopback()?)
}

fn image_json(image: &git_buildkit::vm::Image) -> serde_json::Value {
    serde_json::json!({
        "name": image.name,
        "dir": image.dir,
        "disk_usage": image.disk_usage(),
        "manifest": image.manifest,
        "snapshots": git_buildkit::vm::warm::list(image),
    })
}

fn list(ui: &Ui, store: &ImageStore, args: &ListArgs) -> Result<(), CliError> {
    // Runs of killed processes (and their qemu) go before anything is listed.
    run::remove_stale_runs(store)?;
    let images = store.list()?;
    let runs = run::kept_runs(store);
    if args.json {
        let images: Vec<serde_json::Value> = images.iter().map(image_json).collect();
        return print_json(ui, &serde_json::json!({ "images": images, "runs": runs }));
    }
    if images.is_empty() {
        ui.note("no images yet: `git buildkit vm create` builds the default one");
    }
    for image in &images {
        let m = &image.manifest;
        ui.out(&format!(
            "{:<16} {}  {:<10} {:<28} {:>5} MiB  {}",
            image.name,
            m.key,
            m.recipe.suite,
            m.kernel_package,
            image.disk_usage() >> 20,
            time::ymd_hm(time::signed(m.created)),
        ));
    }
    for kept in &runs {
        let forwards: String = match kept.state {
            RunState::Running => kept
                .forwards
                .iter()
                .map(|f| format!("  127.0.0.1:{}->{}", f.host, f.guest))
                .collect(),
            RunState::Stopped => String::new(),
        };
        ui.out(&format!(
            "run {:<24} image {} ({})  {}  {}{forwards}",
            kept.id,
            kept.image,
            kept.image_key,
            kept.verdict,
            kept.state.word()
        ));
    }
    Ok(())
}

/// Runs `vm-test`.
pub fn test(ui: &Ui, args: TestArgs) -> Result<(), CliError> {
    let repo = open_repo()?;
    let mode = args.mode.as_deref().map(parse_mode).transpose()?;
    let tag = match args.reference.clone() {
        Some(reference) => reference,
        None => latest_tag(ui, &repo)?,
    };
    let commit = repo.resolve(&tag)?;
    let config = package::load_config(&repo, &commit, &tag)?;
    let matrix = super::vm_matrix::matrix_suites(&args, &config)?;
    let options = pipeline_options(false)?;
    let apt_dir = match args.repo {
        Some(dir) => dir,
        None => git_buildkit::pipeline::repo_dir(
            &repo,
            &config.repo.clone().unwrap_or_default(),
            &options.paths,
        )
        .map_err(|e| locate_error("apt repository", e))?,
    };
    let store = image_store()?;
    let asked = Asked {
        suite: args.suite,
        upgrade_from: args.upgrade_from,
        no_upgrade: args.no_upgrade,
    };
    let (suite, upgrade_from) = suites_to_test(&repo, &tag, &config, &apt_dir, asked);
    let test_options = TagTestOptions {
        image: args.image,
        accel: match args.accel {
            AccelArg::Auto => AccelChoice::Auto,
            AccelArg::Kvm => AccelChoice::Kvm,
            AccelArg::Tcg => AccelChoice::Tcg,
        },
        mode,
        keep: args.keep,
        forwards: args.forward,
        apt_dir,
        suite,
        upgrade_from,
        serve_program: std::env::current_exe().map_err(usage)?,
        cold: args.cold,
        archive: options.foreign.clone(),
    };
    if let Some(suites) = matrix {
        let matrix = test_suites(
            &repo,
            &tag,
            &commit,
            &config,
            &store,
            &test_options,
            &suites,
            ui,
        )?;
        return super::vm_matrix::report_matrix(ui, &matrix, args.json, args.junit.as_deref());
    }
    let (spec, skipped) = plan_vm_test(&repo, &tag, &commit, &config, &store, &test_options, ui)?;
    let mut verdict = run::run(&store, &spec, ui)?;
    verdict.tests.extend(skipped);
    report(ui, &tag, &verdict, args.json, args.junit.as_deref())
}

/// The suites `vm-test` was asked for.
struct Asked {
    suite: Option<String>,
    upgrade_from: Option<String>,
    no_upgrade: bool,
}

/// The suite a tag is tested from, and the one its upgrade starts from:
/// --suite and --upgrade-from; else, for a tag whose gated run published
/// it into a staging suite, that suite and the release suite; else the
/// release suite and no upgrade.
fn suites_to_test(
    repo: &git_buildkit::git::Repo,
    tag: &str,
    config: &git_buildkit::config::Config,
    apt_dir: &std::path::Path,
    args: Asked,
) -> (Option<String>, Option<String>) {
    let settings = config.repo.clone().unwrap_or_default();
    let target = match &settings.suite {
        Some(suite) => Some(suite.clone()),
        None => git_buildkit::apt::AptRepo::open(apt_dir)
            .ok()
            .map(|apt| apt.settings().default_suite().to_owned()),
    };
    let recorded = git_buildkit::pipeline::record_of(repo, tag)
        .ok()
        .flatten()
        .and_then(|(record, _)| record.repo)
        .filter(|published| published.path == apt_dir)
        .map(|published| published.suite);
    let suite = args.suite.or(recorded).or_else(|| settings.suite.clone());
    let upgrade_from = if args.no_upgrade {
        None
    } else {
        args.upgrade_from.or_else(|| {
            // Tested from elsewhere than the release suite: upgrade from it.
            target.filter(|t| suite.as_ref().is_some_and(|s| s != t))
        })
    };
    (suite, upgrade_from)
}

/// The newest version tag whose commit has a `.buildkit.toml` (a project
/// packaged from upstream's history has older tags without one); a newer
/// tag without one is said.
fn latest_tag(ui: &Ui, repo: &git_buildkit::git::Repo) -> Result<String, CliError> {
    let head = repo.resolve("HEAD")?;
    let scheme = package::load_config(repo, &head, "HEAD")
        .map(|c| c.tag_scheme(None))
        .unwrap_or_default();
    let mut tags: Vec<(semver::Version, git_buildkit::git::TagInfo)> = repo
        .tags()?
        .into_iter()
        .filter_map(|t| scheme.parse_tag(&t.name).ok().map(|v| (v, t)))
        .collect();
    tags.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    let Some(newest) = tags.first().map(|(_, t)| t.name.clone()) else {
        return Err(usage(anyhow::anyhow!(
            "this repository has no version tag ({}X.Y.Z) to test",
            scheme.prefix
        ))
        .hint(format!(
            "tag a release (`git buildkit release start 1.0.0`), or name a tag; {FILE_NAME} sets the prefix"
        )));
    };
    for (_, tag) in &tags {
        if repo.read_file(&tag.commit.id, FILE_NAME)?.is_some() {
            if tag.name != newest {
                ui.note(&format!(
                    "{newest} has no {FILE_NAME}: testing {}, the newest version tag with one",
                    tag.name
                ));
            }
            return Ok(tag.name.clone());
        }
    }
    Err(usage(anyhow::anyhow!(
        "no version tag has a {FILE_NAME} (the newest is {newest})"
    ))
    .hint(format!(
        "commit a {FILE_NAME} and tag a release, or name a tag"
    )))
}

/// Prints the verdict (text or JSON), writes JUnit, and maps it to the exit code.
pub fn report(
    ui: &Ui,
    tag: &str,
    verdict: &Verdict,
    json: bool,
    junit: Option<&std::path::Path>,
) -> Result<(), CliError> {
    if let Some(path) = junit {
        write_junit(path, |timestamp, hostname| {
            verdict.junit(timestamp, hostname)
        })?;
    }
    if json {
        print_json(ui, verdict)?;
    } else {
        for line in summary(tag, verdict) {
            ui.out(&line);
        }
    }
    kept_notes(ui, verdict);
    match verdict.verdict {
        VerdictKind::Passed => Ok(()),
        VerdictKind::Failed => {
            let failed: Vec<&str> = verdict
                .tests
                .iter()
                .filter(|t| t.outcome == TestOutcome::Fail && !t.flaky)
                .map(|t| t.name.as_str())
                .collect();
            Err(CliError::new(
                verdict.verdict.exit_code(),
                anyhow::anyhow!("{tag}: {} failed in the VM", failed.join(", ")),
            ))
        }
        VerdictKind::TestbedFailed => {
            let error = verdict.error.clone().unwrap_or_default();
            let (first, rest) = error.split_once('\n').unwrap_or((&error, ""));
            let mut e = CliError::new(
                verdict.verdict.exit_code(),
                anyhow::anyhow!("{tag}: the test bed failed: {first}"),
            );
            if !rest.is_empty() {
                e.detail = Some(rest.to_owned());
            }
            if first.starts_with("apt-get install") {
                e.hint = Some(
                    "a Depends may not be installable from the image's Debian release (apt says which): check the package's Depends, or test on an image of the release you target (`git buildkit vm create NAME --suite SUITE`, then [vm] image = \"NAME\")"
                        .into(),
                );
            }
            Err(e)
        }
    }
}

/// Writes the JUnit report `junit` makes from the time and this host's name.
pub(super) fn write_junit(
    path: &std::path::Path,
    junit: impl FnOnce(&str, &str) -> String,
) -> Result<(), CliError> {
    let hostname = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let timestamp = time::iso8601(time::signed(time::unix_now()));
    std::fs::write(path, junit(&timestamp, &hostname)).map_err(|e| {
        super::error::failed(
            anyhow::Error::new(e).context(format!("could not write {}", path.display())),
        )
    })
}

/// Where a kept run is, and how to reach it.
pub(super) fn kept_notes(ui: &Ui, verdict: &Verdict) {
    if let Some(dir) = &verdict.kept {
        let id = &verdict.run_id;
        if verdict.running {
            ui.note(&format!(
                "the run's VM keeps running (in {}): `git buildkit vm exec {id} -- CMD` runs a command in it, `git buildkit vm destroy {id}` stops and removes it",
                dir.display()
            ));
            for forward in &verdict.forwards {
                ui.note(&format!(
                    "http://127.0.0.1:{}/ (127.0.0.1:{}) reaches guest port {}",
                    forward.host, forward.host, forward.guest
                ));
            }
        } else {
            ui.note(&format!(
                "the run is kept in {}: `git buildkit vm shell {id}` boots it",
                dir.display()
            ));
        }
    }
}

/// The human summary: one line per test, then the verdict with timings.
pub fn summary(tag: &str, verdict: &Verdict) -> Vec<String> {
    let mut lines = Vec::new();
    for t in &verdict.tests {
        let word = match t.outcome {
            TestOutcome::Pass => "PASS",
            TestOutcome::Fail if t.flaky => "FLAKY",
            TestOutcome::Fail => "FAIL",
            TestOutcome::Skip => "SKIP",
        };
        let reason = t
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        lines.push(format!(
            "{word:<5} {:<12} {:>6.2}s  {}{reason}",
            t.name, t.seconds, t.command
        ));
    }
    if let Some(upgrade) = &verdict.upgrade {
        lines.extend(upgrade_lines(upgrade));
    }
    let (passed, failed, skipped) = verdict.counts();
    let p = &verdict.phases;
    let start = match verdict.start {
        Start::Warm => format!(", warm (restore {:.1}s)", p.restore),
        Start::Cold => String::new(),
    };
    lines.push(format!(
        "vm-test {tag}: {} ({passed} passed, {failed} failed, {skipped} skipped) \
         [{} {}{start}; boot {:.1}s, update {:.1}s, install {:.1}s, tests {:.1}s, total {:.1}s]",
        verdict.verdict.word(),
        verdict.accel.name(),
        verdict.mode.name(),
        p.boot,
        p.update,
        p.install,
        p.test,
        p.total
    ));
    lines
}

/// An upgrade test as lines: the versions upgraded from, then each phase
/// (`vm-test`'s summary and `show`).
pub fn upgrade_lines(upgrade: &git_buildkit::vm::verdict::UpgradeReport) -> Vec<String> {
    let from: Vec<String> = upgrade
        .from
        .iter()
        .map(|f| format!("{} {}", f.package, f.version))
        .collect();
    let mut lines = vec![format!(
        "upgrade from {}: {}",
        upgrade.suite,
        from.join(", ")
    )];
    for phase in &upgrade.phases {
        let detail = phase
            .detail
            .as_deref()
            .map(|d| format!("  {d}"))
            .unwrap_or_default();
        lines.push(format!(
            "  {:<17} {:<7} {:>7.2}s{detail}",
            phase.name,
            phase.result.word(),
            phase.seconds
        ));
    }
    lines
}

/// `--forward HOST:GUEST`.
fn parse_forward(text: &str) -> Result<Forward, String> {
    Forward::parse(text).map_err(|e| e.to_string())
}

/// Runs `vm exec`: our stdin (when piped) to the command, its output to
/// ours, its status as our exit code.
fn exec(store: &ImageStore, args: ExecArgs) -> Result<(), CliError> {
    use std::io::{IsTerminal, Read};
    let timeout: TimeLimit = args.timeout.parse()?;
    let stdin = if std::io::stdin().is_terminal() {
        None
    } else {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_STDIN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| usage(anyhow::Error::new(e).context("could not read stdin")))?;
        Some(bytes)
    };
    let request = ExecRequest {
        command: args.command,
        stdin,
        timeout: std::time::Duration::from_secs(timeout.secs()),
    };
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let code = kept::exec_in(store, &args.run, &request, &mut out, &mut err)?;
    if code == 0 {
        Ok(())
    } else {
        Err(CliError::new(
            git_buildkit::exit::ExitCode::Status(code),
            anyhow::anyhow!("the command exited with status {code}"),
        )
        .silent())
    }
}

/// The VM image cache of this user.
fn image_store() -> Result<ImageStore, CliError> {
    ImageStore::default_location().map_err(|e| locate_error("VM image cache", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use git_buildkit::vm::verdict::{
        PhaseReport, PhaseResult, Phases, TestResult, UpgradeReport, UpgradedFrom,
    };
    use git_buildkit::vm::{Accel, GuestMode};

    fn verdict(upgrade: Option<UpgradeReport>) -> Verdict {
        Verdict {
            run_id: "v1.1.0-abcd".into(),
            verdict: VerdictKind::Failed,
            error: None,
            accel: Accel::Tcg,
            mode: GuestMode::Fast,
            start: Start::Cold,
            snapshot: None,
            image: "default".into(),
            image_key: "k".into(),
            packages: vec!["greet=1.1.0-1".into()],
            tests: vec![TestResult {
                name: "upgrade".into(),
                command: "apt-get install greet=1.1.0-1".into(),
                outcome: TestOutcome::Fail,
                reason: Some(
                    "greet's postinst failed (exit status 1) while upgrading from 1.0.0-1".into(),
                ),
                exit_code: Some(100),
                flaky: false,
                seconds: 6.5,
                output: String::new(),
            }],
            phases: Phases {
                prepare: 0.1,
                restore: 0.0,
                save: 0.0,
                boot: 7.0,
                update: 5.0,
                install: 8.0,
                test: 30.0,
                total: 50.0,
            },
            kept: None,
            forwards: Vec::new(),
            running: false,
            upgrade,
        }
    }

    #[test]
    fn the_summary_shows_the_upgrade_phases_only_when_there_are_some() {
        let phase = |name: &str, result, seconds, detail: Option<&str>| PhaseReport {
            name: name.into(),
            result,
            seconds,
            detail: detail.map(str::to_owned),
        };
        let upgrade = UpgradeReport {
            suite: "stable".into(),
            from: vec![UpgradedFrom {
                package: "greet".into(),
                version: "1.0.0-1".into(),
            }],
            phases: vec![
                phase("install-released", PhaseResult::Passed, 8.0, None),
                phase(
                    "upgrade",
                    PhaseResult::Failed,
                    6.5,
                    Some("greet's postinst failed (exit status 1) while upgrading from 1.0.0-1"),
                ),
                phase("test-upgraded", PhaseResult::NotRun, 0.0, None),
            ],
        };
        let plain = summary("v1.1.0", &verdict(None));
        assert_eq!(
            plain,
            [
                "FAIL  upgrade        6.50s  apt-get install greet=1.1.0-1 (greet's postinst failed (exit status 1) while upgrading from 1.0.0-1)",
                "vm-test v1.1.0: FAIL (0 passed, 1 failed, 0 skipped) [tcg fast; boot 7.0s, update 5.0s, install 8.0s, tests 30.0s, total 50.0s]",
            ]
        );
        let with = summary("v1.1.0", &verdict(Some(upgrade)));
        assert_eq!(
            with,
            [
                plain[0].as_str(),
                "upgrade from stable: greet 1.0.0-1",
                "  install-released  passed     8.00s",
                "  upgrade           failed     6.50s  greet's postinst failed (exit status 1) while upgrading from 1.0.0-1",
                "  test-upgraded     not run    0.00s",
                plain[1].as_str(),
            ]
        );
    }
}
