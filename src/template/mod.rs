//! Templates: project scaffolds (`git buildkit new`), templates made from
//! an existing tree (`template create`), a generated project brought up to
//! date with its template (`template update`), and the `.tera` package
//! files rendered when a package is built.
//!
//! Rendering is tera 2's (Jinja2's syntax). A template is text someone else
//! may have written — a user template, or a `.tera` file in a tag pushed by
//! someone else — so each rendering is bounded: its output to
//! [`MAX_OUTPUT`] bytes, its time to [`DEADLINE`], and tera itself reads no
//! file (no loader is configured, so `include` and `extends` find nothing).

mod create;
mod tree;
mod update;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

pub use create::{create, CreateOutcome};
pub use tree::{
    builtin_names, generate, generate_then, write_files, Content, Origin, Record, RenderedFile,
    Template, TemplateFile, Variable, MANIFEST, RECORD,
};
pub use update::{render_message, update, UpdateOutcome, TRAILER, TREE_TRAILER};

/// Variable values by name.
pub type Vars = BTreeMap<String, String>;

/// The most one rendering may write: a template that expands beyond this
/// is an error, not a full disk.
pub const MAX_OUTPUT: usize = 1 << 20;

/// The longest one rendering may take: a loop that never ends is an error.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// What went wrong with a template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// tera could not parse or render a file.
    #[error("{file}: {message}")]
    Render {
        /// The template file (or `default of VAR`).
        file: String,
        /// tera's report.
        message: String,
    },
    /// The manifest (or a project's record) is malformed: where and why.
    #[error(transparent)]
    Manifest(crate::config::ConfigError),
    /// Required variables have no value.
    #[error("{} needs {}: {}", .template, if .missing.len() == 1 { "a value" } else { "values" }, missing_list(.missing))]
    Missing {
        /// The template.
        template: String,
        /// Each missing variable's name and description.
        missing: Vec<(String, String)>,
    },
    /// Values do not match their variables' patterns: each (variable, value,
    /// pattern), all named in one error.
    #[error("{}", .0.iter().map(|(name, value, pattern)| format!("{name} = {value:?} does not match its pattern {pattern}")).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<(String, String, String)>),
    /// A value was given for a variable the template does not have.
    #[error("{template} has no variable {name} (it has: {known})")]
    Unknown {
        /// The template.
        template: String,
        /// The name given.
        name: String,
        /// The names it has.
        known: String,
    },
    /// `new` would write into an existing directory.
    #[error("{} exists and is not empty: new never writes over a directory", .0.display())]
    Exists(PathBuf),
    /// No template has that name.
    #[error("no template named {name:?} ({available})")]
    NotFound {
        /// The name asked for.
        name: String,
        /// What there is.
        available: String,
    },
    /// A file or directory name in a template, or what it renders to, is
    /// not one plain path component.
    #[error("{path:?}: {problem}")]
    UnsafePath {
        /// The path in the template.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A template or a tree is larger than a template may be.
    #[error("{what} is too large: {problem}")]
    TooLarge {
        /// The template or tree.
        what: String,
        /// Which limit.
        problem: String,
    },
    /// `template create` was asked for something it cannot do.
    #[error("{0}")]
    Create(String),
    /// The project has no record of a template.
    #[error("{} has no {RECORD}: it was not made by `git buildkit new`", .0.display())]
    NotGenerated(PathBuf),
    /// No commit of the history holds a rendering to merge from.
    #[error("no commit in {}'s history holds a rendering of its template (a `{}:` trailer): it was made with --no-git, or the history was rewritten", .0.display(), update::TRAILER)]
    NoRendering(PathBuf),
    /// `template update` on the flow's main branch.
    #[error("{0} is the flow's main branch, which takes only releases and hotfixes")]
    OnMain(String),
    /// `init` failed in the new project.
    #[error("setting the new project up for the flow failed")]
    Flow(#[source] Box<crate::flow::FlowError>),
    /// The work tree has uncommitted changes, which a merge could mix in.
    #[error(
        "the work tree has uncommitted changes: commit or stash them before `template update`"
    )]
    Dirty,
    /// The update's merge stopped with conflicts, left as markers.
    #[error("the template's changes conflict with yours in {}", .files.join(", "))]
    Conflicts {
        /// The files with conflict markers.
        files: Vec<String>,
    },
    /// A file could not be read or written.
    #[error("{}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// git failed.
    #[error(transparent)]
    Git(#[from] crate::process::ProcessError),
}

fn missing_list(missing: &[(String, String)]) -> String {
    missing
        .iter()
        .map(|(name, description)| format!("{name} ({description})"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl TemplateError {
    /// Advice for the user.
    pub fn hint(&self) -> Option<String> {
        match self {
            TemplateError::Missing { missing, .. } => Some(format!(
                "pass {}",
                missing
                    .iter()
                    .map(|(name, _)| format!("--set {name}=..."))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
            TemplateError::NotFound { .. } => {
                Some("`git buildkit new --list` shows the templates".into())
            }
            TemplateError::NoRendering(_) => Some(
                "update merges from the commit `new` made; a commit holding the project exactly as generated, with that trailer in its message, serves too"
                    .into(),
            ),
            TemplateError::Conflicts { .. } => Some(
                "resolve the conflicts (`git status` lists them), `git add` the files and `git commit`; or `git merge --abort`"
                    .into(),
            ),
            TemplateError::OnMain(_) => {
                Some("update on develop or a feature branch: `git checkout develop`".into())
            }
            TemplateError::Git(_) => Some(
                "git needs an identity to commit: `git config --global user.name NAME` and `user.email`, if it said so"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// A writer that refuses to grow beyond [`MAX_OUTPUT`].
struct Capped(Vec<u8>);

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT {
            return Err(std::io::Error::other(format!(
                "the output would exceed {} MiB",
                MAX_OUTPUT >> 20
            )));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The program that renders in a child process, once the CLI said so.
static CHILD: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The memory a child rendering may take beyond what it has at start.
pub const MEMORY: u64 = 1 << 30;

/// Renders in child processes from now on: `exe __render` (the CLI, which
/// calls this at start). tera builds values in memory that no output cap
/// sees (`{% set x = x ~ x %}` doubles a string), so a rendering of
/// someone else's template runs where [`MEMORY`] and [`DEADLINE`] of CPU
/// are the kernel's limits, and where exceeding them ends only the child.
pub fn render_in_children(exe: PathBuf) {
    let _ = CHILD.set(exe);
}

/// What the child renders: a template's text and its values.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct RenderRequest {
    /// The template's text.
    pub text: String,
    /// The values.
    pub vars: Vars,
}

/// Renders `text` (the template file `file`) with `vars`: no autoescaping
/// (these are files, not HTML), an undefined variable is an error, and the
/// bounds of the module apply. In the CLI it runs in a child process (see
/// [`render_in_children`]); otherwise on a thread of its own, abandoned at
/// the deadline (the thread ends with the process).
pub fn render(file: &str, text: &str, vars: &Vars) -> Result<String, TemplateError> {
    match CHILD.get() {
        Some(exe) => render_in_child(exe, file, text, vars),
        None => render_within(file, text, vars, DEADLINE),
    }
}

fn render_in_child(
    exe: &std::path::Path,
    file: &str,
    text: &str,
    vars: &Vars,
) -> Result<String, TemplateError> {
    let error = |message: String| TemplateError::Render {
        file: file.to_owned(),
        message,
    };
    let request = serde_json::to_vec(&RenderRequest {
        text: text.to_owned(),
        vars: vars.clone(),
    })
    .map_err(|e| error(e.to_string()))?;
    let run = crate::process::Cmd::new(exe)
        .arg("__render")
        .input(request)
        .label("the template renderer")
        .output_with_code();
    match run {
        Ok((0, out, _)) => {
            String::from_utf8(out).map_err(|_| error("renders to invalid UTF-8".into()))
        }
        Ok((_, _, err)) => {
            let err = err.trim();
            Err(error(err.strip_prefix("error: ").unwrap_or(err).to_owned()))
        }
        Err(crate::process::ProcessError::Signal { signal, .. })
            if signal == nix::sys::signal::Signal::SIGXCPU as i32
                || signal == nix::sys::signal::Signal::SIGKILL as i32 =>
        {
            Err(error(format!(
                "rendering took longer than {} s of CPU (a loop that does not end?)",
                DEADLINE.as_secs()
            )))
        }
        Err(crate::process::ProcessError::Signal { .. }) => Err(error(format!(
            "rendering needed more than {} MiB of memory",
            MEMORY >> 20
        ))),
        Err(e) => Err(error(e.to_string())),
    }
}

/// The child's side of [`render_in_children`]: limits its own memory and
/// CPU time, then renders the [`RenderRequest`] in `input`.
pub fn serve_render(input: &[u8]) -> Result<Vec<u8>, String> {
    use nix::sys::resource::{setrlimit, Resource};
    let used = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmSize:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024;
    setrlimit(Resource::RLIMIT_AS, used + MEMORY, used + MEMORY)
        .and_then(|()| {
            setrlimit(
                Resource::RLIMIT_CPU,
                DEADLINE.as_secs(),
                DEADLINE.as_secs() + 1,
            )
        })
        .map_err(|e| format!("cannot limit the renderer: {e}"))?;
    let request: RenderRequest =
        serde_json::from_slice(input).map_err(|e| format!("a bad request: {e}"))?;
    render_now(&request.text, &request.vars)
}

/// Renders in this thread, the output capped.
fn render_now(text: &str, vars: &Vars) -> Result<Vec<u8>, String> {
    let mut context = tera::Context::new();
    for (name, value) in vars {
        context.insert(name.clone(), value);
    }
    let tera = tera::Tera::default();
    let mut out = Capped(Vec::new());
    tera.render_str_to(text, &context, false, &mut out)
        .map(|()| out.0)
        .map_err(|e| report(&e))
}

fn render_within(
    file: &str,
    text: &str,
    vars: &Vars,
    deadline: Duration,
) -> Result<String, TemplateError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let text = text.to_owned();
    let vars = vars.clone();
    std::thread::spawn(move || {
        let _ = tx.send(render_now(&text, &vars));
    });
    let error = |message: String| TemplateError::Render {
        file: file.to_owned(),
        message,
    };
    match rx.recv_timeout(deadline) {
        Ok(Ok(bytes)) => {
            String::from_utf8(bytes).map_err(|_| error("renders to invalid UTF-8".into()))
        }
        Ok(Err(message)) => Err(error(message)),
        Err(_) => Err(error(format!(
            "rendering took longer than {} s (a loop that does not end?)",
            deadline.as_secs()
        ))),
    }
}

/// tera's error with its causes, on one line each.
fn report(error: &tera::Error) -> String {
    let mut message = error.to_string().trim().to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(text.trim()) {
            message.push_str(": ");
            message.push_str(text.trim());
        }
        source = cause.source();
    }
    message
}

/// Whether bytes are text a template renders: UTF-8 without NUL bytes
/// (anything else is copied byte for byte).
pub fn is_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn renders_variables_and_keeps_the_text_otherwise() {
        let text = "name: {{ name }}\n  {% if name == \"x\" %}x{% endif %}\n\n";
        assert_eq!(
            render("f", text, &vars(&[("name", "hello")])).expect("works"),
            "name: hello\n  \n\n"
        );
        // No HTML escaping: these are files.
        assert_eq!(
            render("f", "{{ v }}", &vars(&[("v", "<a & \"b\">")])).expect("works"),
            "<a & \"b\">"
        );
        assert_eq!(
            render("f", "{% raw %}{{ version }}{% endraw %}\n", &Vars::new()).expect("works"),
            "{{ version }}\n"
        );
    }

    #[test]
    fn an_undefined_variable_and_bad_syntax_are_errors_naming_the_file() {
        let e = render("a/b.txt", "{{ nope }}", &Vars::new()).expect_err("fails");
        assert!(e.to_string().starts_with("a/b.txt: "), "{e}");
        let e = render("c.txt", "{% if %}", &Vars::new()).expect_err("fails");
        assert!(e.to_string().starts_with("c.txt: "), "{e}");
    }

    #[test]
    fn a_template_cannot_read_files() {
        for text in [
            "{% include \"/etc/passwd\" %}",
            "{% extends \"/etc/passwd\" %}",
        ] {
            let e = render("f", text, &Vars::new()).expect_err("fails");
            assert!(!e.to_string().contains("root:"), "{e}");
        }
    }

    #[test]
    fn output_and_time_are_bounded() {
        let big = "{% for i in range(end=100000) %}{% for j in range(end=100) %}xxxxxxxxxx{% endfor %}{% endfor %}";
        let e = render("f", big, &Vars::new()).expect_err("fails");
        assert!(e.to_string().contains("exceed"), "{e}");
        let start = std::time::Instant::now();
        let spin = "{% for i in range(end=100000) %}{% for j in range(end=100000) %}{% for k in range(end=100000) %}{% endfor %}{% endfor %}{% endfor %}";
        let e = render_within("f", spin, &Vars::new(), Duration::from_secs(1)).expect_err("fails");
        assert!(e.to_string().contains("longer than 1 s"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
