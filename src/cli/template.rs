//! `new` and `template create|update|list`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use git_buildkit::flow;
use git_buildkit::hooks;
use git_buildkit::progress::Listener;
use git_buildkit::template::{self, Template, TemplateError, Variable, Vars};

use super::error::{failed, usage};
use super::{print_json, CliError, Ui};

/// Start a project from a template: its files, a git repository with the
/// branch workflow (main, develop), and the tag hooks, so that the first
/// `release finish` runs the whole pipeline.
///
/// A template is a built-in (`--list` shows them), a user template in
/// `$XDG_DATA_HOME/git-buildkit/templates/NAME` (made by `template create`,
/// shadowing a built-in of the same name), or a directory given as a path
/// (with a `/`). Values come from `--set`; on a terminal the missing ones
/// are asked for; otherwise every missing one is named in one error.
/// DIR must not exist or be empty: nothing is ever written over.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  git buildkit new --list
  git buildkit new python-app ~/src/myapp --set name=myapp --set author='Jane Doe <jane@example.com>'
  cd ~/src/myapp && git buildkit release start 0.1.0 && git buildkit release finish -m 0.1.0
  git buildkit new ./my-template out --set name=x     a template directory by path")]
pub struct NewArgs {
    /// List the templates and their variables.
    #[arg(long, conflicts_with_all = ["template", "dir"])]
    pub list: bool,
    /// The template: a name, or a directory (a path with a `/`).
    #[arg(required_unless_present = "list")]
    pub template: Option<String>,
    /// The new project's directory.
    #[arg(required_unless_present = "list")]
    pub dir: Option<PathBuf>,
    /// A variable's value (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub set: Vec<(String, String)>,
    /// Take the defaults without asking, even on a terminal (copier's
    /// `--defaults`, cookiecutter's `--no-input`).
    #[arg(long, visible_alias = "no-input")]
    pub defaults: bool,
    /// Only the files: no git repository, flow or hooks.
    #[arg(long)]
    pub no_git: bool,
    /// Do not install the tag hooks.
    #[arg(long)]
    pub no_hooks: bool,
    /// Print what was made as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `template ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a template from an existing tree: values become variables.
    ///
    /// The tree's files (what git tracks or would track; `.git` and what
    /// git ignores are skipped) are copied with each VALUE replaced by its
    /// variable, in contents and in file and directory names; text that
    /// already looks like tera syntax is escaped, files that are not text
    /// are copied as they are. The manifest gets each variable with the
    /// original value as its default, so `new NAME DIR` with no `--set`
    /// makes the tree again, byte for byte.
    #[command(after_help = "Examples:
  git buildkit template create ~/src/ckan ckan-site --var name=ckan --var domain=ckan.example.org
  git buildkit new ckan-site ~/src/other --set name=other --set domain=other.example.org")]
    Create {
        /// The tree to make the template from.
        dir: PathBuf,
        /// The template's name.
        name: String,
        /// A value in the tree and the variable it becomes (repeatable, in the order asked).
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_pair)]
        vars: Vec<(String, String)>,
        /// The manifest's one-line description.
        #[arg(long)]
        description: Option<String>,
        /// Write the template here instead of the user templates directory.
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Print what was made as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Merge the template's changes since this project was made (or last updated).
    ///
    /// The template is rendered again with the recorded values (and
    /// `--set` ones); the rendering is committed on top of the previous
    /// rendering and merged into the current branch, so only what the
    /// template changed is applied. Where you changed the same lines, git
    /// leaves conflict markers (exit 1): resolve them and commit, or
    /// `git merge --abort`.
    #[command(after_help = "Examples:
  git buildkit template update
  git buildkit template update --set port=9090")]
    Update {
        /// A new value, or one for a variable the template has gained (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_pair)]
        set: Vec<(String, String)>,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the templates and their variables (as `new --list`).
    #[command(after_help = "Examples:
  git buildkit template list --json")]
    List {
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

fn user_dir() -> Option<PathBuf> {
    git_buildkit::paths::Env::current().templates_dir().ok()
}

impl From<TemplateError> for CliError {
    fn from(e: TemplateError) -> Self {
        let detail = match &e {
            TemplateError::Manifest(config) => Some(super::error::config_detail(config)),
            TemplateError::Git(
                git_buildkit::process::ProcessError::Exit { output, .. }
                | git_buildkit::process::ProcessError::Signal { output, .. },
            ) if !output.trim().is_empty() => Some(output.trim_end().to_owned()),
            _ => None,
        };
        let hint = e.hint();
        let mut error = CliError::new(e.exit_code(), e);
        error.detail = detail;
        error.hint = hint;
        error
    }
}

/// `template ...`.
pub fn run(ui: &Ui, command: Command) -> Result<(), CliError> {
    match command {
        Command::Create {
            dir,
            name,
            vars,
            description,
            output,
            json,
        } => create(ui, &dir, &name, &vars, description.as_deref(), output, json),
        Command::Update { set, json } => update(ui, set, json),
        Command::List { json } => list(ui, json),
    }
}

#[derive(serde::Serialize)]
struct Listed {
    name: String,
    origin: String,
    description: String,
    variables: Vec<Variable>,
    error: Option<String>,
}

fn list(ui: &Ui, json: bool) -> Result<(), CliError> {
    let dir = user_dir();
    let listed: Vec<Listed> = Template::list(dir.as_deref())
        .into_iter()
        .map(|(name, loaded)| match loaded {
            Ok(t) => Listed {
                name,
                origin: match &t.origin {
                    template::Origin::Builtin => "built-in".into(),
                    template::Origin::Dir(d) => d.display().to_string(),
                },
                description: t.description,
                variables: t.variables,
                error: None,
            },
            Err(e) => Listed {
                name,
                origin: String::new(),
                description: String::new(),
                variables: Vec::new(),
                error: Some(e.to_string()),
            },
        })
        .collect();
    if json {
        return print_json(ui, &listed);
    }
    for t in &listed {
        if let Some(error) = &t.error {
            ui.out(&format!("{}  (broken: {error})", t.name));
            continue;
        }
        ui.out(&format!("{:<16} {}  [{}]", t.name, t.description, t.origin));
        for v in &t.variables {
            let default = v
                .default
                .as_deref()
                .map(|d| format!(" (default: {d})"))
                .unwrap_or_else(|| " (required)".into());
            ui.out(&format!("    {:<14} {}{default}", v.name, v.description));
        }
    }
    Ok(())
}

/// Asks for a value on the terminal: the description and the default;
/// an empty answer takes the default, one against the pattern is asked
/// again (three times at most; then it is the error it would be).
fn ask(variable: &Variable, default: Option<&str>) -> Option<String> {
    let mut err = std::io::stderr();
    let prompt = match default {
        Some(d) => format!("{} [{d}]: ", variable.description),
        None => format!("{}: ", variable.description),
    };
    for attempt in 1..=3 {
        let _ = write!(err, "{} – {prompt}", variable.name);
        let _ = err.flush();
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).ok()? == 0 {
            return None;
        }
        let answer = line.trim_end_matches(['\n', '\r']);
        if answer.is_empty() {
            return None;
        }
        if variable.accepts(answer) || attempt == 3 {
            return Some(answer.to_owned());
        }
        let _ = writeln!(
            err,
            "  {answer:?} does not match {}",
            variable.pattern.as_deref().unwrap_or_default()
        );
    }
    None
}

fn interactive() -> bool {
    std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false")
}

#[derive(serde::Serialize)]
struct Made {
    dir: PathBuf,
    template: String,
    values: Vars,
    files: usize,
    git: bool,
    hooks: Vec<PathBuf>,
}

/// `new`.
pub fn new(ui: &Ui, args: NewArgs) -> Result<(), CliError> {
    if args.list {
        return list(ui, args.json);
    }
    let (Some(name), Some(dir)) = (args.template, args.dir) else {
        return Err(usage(anyhow::anyhow!("give a TEMPLATE and a DIR")));
    };
    let user = user_dir();
    let template = Template::find(&name, user.as_deref())?;
    let set: Vars = args.set.into_iter().collect();
    let values = if interactive() && !args.defaults {
        template.values(&set, &mut ask)?
    } else {
        template.values(&set, &mut |_, _| None)?
    };
    let files = template.render_project(&values)?;
    let count = files.len();
    let git = !args.no_git;
    template::generate_then(&files, &dir, |scratch| {
        if git {
            first_commit(scratch, &template.name)
        } else {
            Ok(())
        }
    })?;
    ui.status(
        "Created",
        &format!("{} from {} ({count} files)", dir.display(), template.name),
    );
    let mut installed = Vec::new();
    if git {
        ui.status(
            "Init",
            "main and develop, gitflow.* config, [flow] in .buildkit.toml",
        );
        if !args.no_hooks {
            installed = install_hooks(&dir)?;
            ui.status(
                "Installed",
                "the tag hooks: a new version tag runs the pipeline",
            );
        }
    }
    if args.json {
        return print_json(
            ui,
            &Made {
                dir,
                template: template.name,
                values,
                files: count,
                git,
                hooks: installed,
            },
        );
    }
    ui.out(&dir.display().to_string());
    if git {
        ui.note(&format!(
            "next: cd {} && git buildkit release start 0.1.0 && git buildkit release finish -m 0.1.0",
            dir.display()
        ));
    }
    Ok(())
}

/// In the new project (still in its scratch directory): `git init`, every
/// file in one commit on main marked as the template's first rendering,
/// then `init` (develop, gitflow.* config, `[flow]`).
fn first_commit(dir: &Path, template_name: &str) -> Result<(), TemplateError> {
    let git = |args: &[&str]| git_buildkit::git::text(dir, args).map(drop);
    let flow_error = |e| TemplateError::Flow(Box::new(e));
    git(&["init", "--quiet"])?;
    let settings = flow::FlowSettings::load(dir).map_err(flow_error)?;
    git(&[
        "symbolic-ref",
        "HEAD",
        &format!("refs/heads/{}", settings.main),
    ])?;
    git(&["add", "--all"])?;
    let tree = git_buildkit::git::text(dir, &["write-tree"])?;
    let message = template::render_message(
        &format!("New project from the template {template_name}"),
        template_name,
        &tree,
    );
    git(&["commit", "--quiet", "-m", &message])?;
    flow::init(dir).map_err(flow_error)?;
    Ok(())
}

fn install_hooks(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let repo = git_buildkit::git::Repo::discover(dir)?;
    let hooks_dir = hooks::hooks_dir(&repo)?;
    let exe = std::env::current_exe().map_err(failed)?;
    let mut installed = Vec::new();
    for hook in hooks::default_hooks(&repo) {
        hooks::install(&hooks_dir, hook, &exe)?;
        installed.push(hooks_dir.join(hook.name()));
    }
    Ok(installed)
}

fn create(
    ui: &Ui,
    dir: &Path,
    name: &str,
    vars: &[(String, String)],
    description: Option<&str>,
    output: Option<PathBuf>,
    json: bool,
) -> Result<(), CliError> {
    if !git_buildkit::names::is_plain(name, b"._-") {
        return Err(usage(anyhow::anyhow!(
            "{name:?} is not a template name (letters, digits, . _ -; not starting with . or -)"
        )));
    }
    let dest = match output {
        Some(dest) => dest,
        None => git_buildkit::paths::Env::current()
            .templates_dir()
            .map_err(|e| CliError::new(e.exit_code(), e))?
            .join(name),
    };
    let outcome = template::create(dir, &dest, vars, description)?;
    if json {
        return print_json(ui, &outcome);
    }
    ui.status(
        "Created",
        &format!(
            "template {name} at {}: {} files",
            outcome.dir.display(),
            outcome.files
        ),
    );
    for (var, count) in &outcome.replaced {
        if *count == 0 {
            ui.warn(&format!("{var}: its value is nowhere in the tree"));
        } else {
            ui.status("Replaced", &format!("{var} in {count} places"));
        }
    }
    ui.out(&outcome.dir.display().to_string());
    Ok(())
}

fn update(ui: &Ui, set: Vec<(String, String)>, json: bool) -> Result<(), CliError> {
    let repo = super::open_repo()?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| usage(anyhow::anyhow!("template update needs a work tree")))?
        .to_owned();
    let set: Vars = set.into_iter().collect();
    let outcome = template::update(&workdir, user_dir().as_deref(), &set)?;
    if json {
        return print_json(ui, &outcome);
    }
    match &outcome {
        template::UpdateOutcome::UpToDate => {
            ui.status("Up to date", "the template renders as it did last time")
        }
        template::UpdateOutcome::Merged { render, merge } => {
            ui.status(
                "Merged",
                &format!("the template's changes (rendering {render:.12}) as {merge:.12}"),
            );
        }
    }
    Ok(())
}

/// `__render`: a [`template::RenderRequest`] on stdin (4 MiB at most), the
/// rendering on stdout, an error on stderr with exit 1.
pub fn serve_render() -> Result<(), CliError> {
    use std::io::Read;
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .take(4 << 20)
        .read_to_end(&mut input)
        .map_err(failed)?;
    let bytes = template::serve_render(&input).map_err(|e| failed(anyhow::anyhow!(e)))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(failed)
}
