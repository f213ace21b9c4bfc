//! `git buildkit python deb`: wheels to .debs, without git or pip.

use std::collections::BTreeMap;
use std::path::PathBuf;

use git_buildkit::package::{buildpath, write_python_packages, WriteOptions};
use git_buildkit::progress::Listener as _;
use git_buildkit::python::closure::closure;
use git_buildkit::python::layout::{packages, Layout, LayoutRequest};
use git_buildkit::python::names::normalize;
use git_buildkit::python::wheel::Wheel;
use git_buildkit::version::DebVersion;

use super::error::{failed, usage};
use super::{print_json, CliError, Ui};

/// Python wheels as Debian packages.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Turn wheels into .deb files: the first (or --app's) and what it needs.
    ///
    /// The application's wheel becomes the package APP (its console scripts
    /// in /usr/bin), every other wheel APP-python-<dist>, all installed
    /// privately under /usr/lib/APP/python, where Debian's own Python
    /// programs never look. Requires-Dist becomes Depends (markers evaluated
    /// for /usr/bin/python3), PEP 440 versions become Debian ones
    /// (pre-releases with ~), and the .pyc files are made on the target by
    /// py3compile. Nothing is resolved or downloaded: give every wheel the
    /// application needs (pip wheel or pip download makes them), or map a
    /// dependency to a Debian package with --system. All packages are
    /// written or none.
    #[command(after_help = "Examples:
  git buildkit python deb dist/myapp-2.0-py3-none-any.whl wheels/*.whl --system requests=python3-requests
  pip download -d wheels/ myapp==2.0 && git buildkit python deb wheels/*.whl -o debs/ --app myapp
  git buildkit python deb dist/*.whl --layout bundle --json | jq -r '.[].path'")]
    Deb(DebArgs),
}

/// `python deb`'s arguments.
#[derive(Debug, clap::Args)]
pub struct DebArgs {
    /// The wheels.
    #[arg(required = true)]
    wheels: Vec<PathBuf>,
    /// Directory for the .deb files.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    output: PathBuf,
    /// The application's distribution (default: the first wheel's).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,
    /// debs: a package per wheel; bundle: one package.
    #[arg(long, value_name = "debs|bundle", default_value = "debs", value_parser = parse_layout)]
    layout: Layout,
    /// The Maintainer field.
    #[arg(
        long,
        value_name = "NAME <EMAIL>",
        default_value = "git-buildkit <root@localhost>"
    )]
    maintainer: String,
    /// A dependency left to a Debian package, e.g. requests=python3-requests.
    #[arg(long, value_name = "DIST=PACKAGE")]
    system: Vec<String>,
    /// The Debian revision of every package.
    #[arg(long, default_value = "1")]
    revision: String,
    /// Leave out (with a warning) a library an extension needs that maps to no package.
    #[arg(long)]
    allow_unresolved: bool,
    /// Print the packages written as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_layout(s: &str) -> Result<Layout, String> {
    match s {
        "debs" => Ok(Layout::Debs),
        "bundle" => Ok(Layout::Bundle),
        other => Err(format!("{other:?} is not debs or bundle")),
    }
}

/// Runs `python deb`.
pub fn run(ui: &Ui, command: Command) -> Result<(), CliError> {
    let Command::Deb(args) = command;
    let mut system = BTreeMap::new();
    for s in &args.system {
        let (dist, pkg) = s
            .split_once('=')
            .ok_or_else(|| usage(anyhow::anyhow!("--system {s:?}: write DIST=PACKAGE")))?;
        git_buildkit::deb::check_package_name(pkg).map_err(usage)?;
        system.insert(normalize(dist), pkg.to_owned());
    }
    let mut wheels = Vec::new();
    for path in &args.wheels {
        wheels.push(Wheel::open(path).map_err(failed)?);
    }
    let root_index = match &args.app {
        Some(app) => wheels
            .iter()
            .position(|w| normalize(&w.metadata.name) == normalize(app))
            .ok_or_else(|| usage(anyhow::anyhow!("no wheel of {app} among the wheels given")))?,
        None => 0,
    };
    let root = wheels.remove(root_index);
    let app = normalize(&root.metadata.name);
    git_buildkit::deb::check_package_name(&app).map_err(usage)?;
    let upstream = git_buildkit::python::version::debian_upstream(&root.metadata.version);
    let version = DebVersion::parse(&format!("{upstream}-{}", args.revision)).map_err(usage)?;
    let target = git_buildkit::package::python::target()?;
    let closure = closure(root, wheels, &target, &[], &system).map_err(failed)?;
    if !closure.unused.is_empty() {
        ui.warn(&format!(
            "nothing {app} needs on Python {}.{} requires {}: not packaged",
            target.python.0,
            target.python.1,
            closure.unused.join(", ")
        ));
    }
    for m in &closure.mapped {
        ui.note(&format!("{} comes from Debian's {}", m.dist, m.debian));
    }
    let scratch = tempfile::tempdir().map_err(failed)?;
    let request = LayoutRequest {
        app: &app,
        app_version: &version,
        layout: args.layout,
        maintainer: &args.maintainer,
        revision: &args.revision,
        scratch: scratch.path(),
        target: &target,
        epoch: closure.dists[0].wheel.newest_mtime,
        app_copyright: None,
        app_changelog: None,
        app_description: None,
        app_depends: Vec::new(),
    };
    let pkgs = packages(&closure, &request).map_err(failed)?;
    let options = WriteOptions {
        allow_unresolved: args.allow_unresolved,
        ..WriteOptions::default()
    };
    let written = write_python_packages(
        pkgs,
        &args.output,
        &options,
        &buildpath::Check::default(),
        ui,
    )?;
    if args.json {
        return print_json(ui, &written);
    }
    for w in &written {
        ui.out(&w.path.display().to_string());
    }
    Ok(())
}
