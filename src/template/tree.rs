//! A template: its manifest (`buildkit-template.toml`: a description and
//! the variables), its files, where it came from (built in, or a
//! directory), and what it renders to for a set of values.
//!
//! Every file of a template is a tera template, and so is every file and
//! directory name; a file that is not text is copied byte for byte.
//! Defaults are tera expressions over the variables declared before them,
//! so `module` can default to `{{ name | replace(from="-", to="_") }}`.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{is_text, render, TemplateError, Vars, MAX_OUTPUT};
use crate::config::{located, ConfigError};

/// The manifest's file name, at the template's root (not copied into projects).
pub const MANIFEST: &str = "buildkit-template.toml";

/// What a generated project records of its template (for `template update`).
pub const RECORD: &str = ".buildkit-template.toml";

/// The most files a template (or a tree `template create` reads) may have.
const MAX_FILES: usize = 10_000;

/// The most bytes a template's files may hold together.
const MAX_BYTES: u64 = 256 << 20;

/// The built-in templates: `templates/` embedded by `build.rs`, each file as
/// (`<template>/<path>`, bytes, executable).
static BUILTIN: &[(&str, &[u8], bool)] =
    include!(concat!(env!("OUT_DIR"), "/builtin_templates.rs"));

/// One variable of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// The name templates use: `[a-z_][a-z0-9_]*`.
    pub name: String,
    /// What it is, for prompts and errors.
    pub description: String,
    /// The value when none is given: a tera expression over the variables
    /// declared before it. Without one, a value is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// A regular expression every value must match, whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    description: String,
    #[serde(default, rename = "variable")]
    variables: Vec<Variable>,
}

/// Where a template comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Embedded in the binary (`templates/` of the source).
    Builtin,
    /// A directory: a user template, or a path given on the command line.
    Dir(PathBuf),
}

/// One file of a template (or of a rendered project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFile {
    /// Its path, `/`-separated, relative to the root.
    pub path: String,
    /// What it is.
    pub content: Content,
}

/// A file's content and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A regular file.
    File {
        /// Its bytes.
        bytes: Vec<u8>,
        /// Its permission bits (`0o777` at most; written less the umask).
        mode: u32,
    },
    /// A symbolic link to a relative path inside the tree.
    Symlink(String),
}

/// A file as rendered for a project.
pub type RenderedFile = TemplateFile;

/// A template, loaded and checked.
#[derive(Debug, Clone)]
pub struct Template {
    /// Its name (a built-in's or user template's name, or the path given).
    pub name: String,
    /// Where it came from.
    pub origin: Origin,
    /// The manifest's one-line description.
    pub description: String,
    /// The variables, in the order they are asked for.
    pub variables: Vec<Variable>,
    /// The files besides the manifest, sorted by path.
    pub files: Vec<TemplateFile>,
}

/// What a generated project records: the template and the values it was
/// rendered with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The template's name, or its directory for one given by path.
    pub template: String,
    /// The values.
    pub values: Vars,
}

impl Record {
    /// The text of [`RECORD`].
    pub fn to_text(&self) -> String {
        let body = toml::to_string(self).expect("a record serializes");
        format!(
            "# The template this project was made from and its values, for\n\
             # `git buildkit template update`. Written by git buildkit new.\n{body}"
        )
    }

    /// Reads a record's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, TemplateError> {
        toml::from_str(text).map_err(|e| manifest_error(text, origin, &e))
    }
}

fn manifest_error(text: &str, origin: &str, e: &toml::de::Error) -> TemplateError {
    let offset = e.span().map_or(0, |s| s.start);
    TemplateError::Manifest(located(text, origin, offset, e.message().to_owned()))
}

/// The names of the built-in templates, sorted: the directories of
/// `templates/` that hold a manifest (other files there, such as the
/// serving snippets, are not templates).
pub fn builtin_names() -> Vec<String> {
    let names: BTreeSet<&str> = BUILTIN
        .iter()
        .filter_map(|(path, _, _)| path.strip_suffix(&format!("/{MANIFEST}")))
        .filter(|name| !name.contains('/'))
        .collect();
    names.into_iter().map(str::to_owned).collect()
}

impl Template {
    /// Finds a template by name: a path (with a `/`) is a directory; else a
    /// user template in `user_dir` (which shadows a built-in of the same
    /// name); else a built-in.
    pub fn find(name: &str, user_dir: Option<&Path>) -> Result<Self, TemplateError> {
        if name.contains('/') {
            let dir = std::path::absolute(name).map_err(|source| TemplateError::Io {
                path: name.into(),
                source,
            })?;
            return Self::from_dir(&dir.to_string_lossy(), &dir);
        }
        if !crate::names::is_plain(name, b"._-") {
            return Err(not_found(name, user_dir));
        }
        if let Some(dir) = user_dir.map(|d| d.join(name)).filter(|d| d.is_dir()) {
            return Self::from_dir(name, &dir);
        }
        Self::builtin(name).unwrap_or_else(|| Err(not_found(name, user_dir)))
    }

    /// Every template there is: the user's, then the built-ins they do not
    /// shadow; each loaded (a broken one is listed with its error).
    pub fn list(user_dir: Option<&Path>) -> Vec<(String, Result<Self, TemplateError>)> {
        let mut names: Vec<String> = user_names(user_dir);
        for name in builtin_names() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let template = Self::find(&name, user_dir);
                (name, template)
            })
            .collect()
    }

    /// A built-in template, if there is one of that name.
    pub fn builtin(name: &str) -> Option<Result<Self, TemplateError>> {
        let prefix = format!("{name}/");
        let mut manifest = None;
        let mut files = Vec::new();
        for (path, bytes, executable) in BUILTIN {
            let Some(rel) = path.strip_prefix(&prefix) else {
                continue;
            };
            if rel == MANIFEST {
                manifest = Some(String::from_utf8_lossy(bytes).into_owned());
            } else {
                files.push(TemplateFile {
                    path: rel.to_owned(),
                    content: Content::File {
                        bytes: bytes.to_vec(),
                        mode: if *executable { 0o755 } else { 0o644 },
                    },
                });
            }
        }
        let manifest = manifest?;
        Some(Self::assemble(name, Origin::Builtin, &manifest, files))
    }

    /// A template from a directory: its manifest and every file under it
    /// (`.git` skipped), bounded in count and size. A symlink is kept when
    /// it points to a relative path inside the directory.
    pub fn from_dir(name: &str, dir: &Path) -> Result<Self, TemplateError> {
        let manifest_path = dir.join(MANIFEST);
        if !manifest_path.is_file() {
            return Err(TemplateError::NotFound {
                name: name.to_owned(),
                available: format!("{} has no {MANIFEST}", dir.display()),
            });
        }
        let manifest = read_bounded(&manifest_path, 1 << 20)?;
        let manifest = String::from_utf8(manifest).map_err(|_| {
            TemplateError::Manifest(ConfigError {
                origin: manifest_path.display().to_string(),
                line: 1,
                column: 1,
                message: "is not UTF-8".into(),
                source_line: String::new(),
            })
        })?;
        let mut files = read_all(dir)?;
        files.retain(|f| f.path != MANIFEST);
        Self::assemble(name, Origin::Dir(dir.to_owned()), &manifest, files)
    }

    fn assemble(
        name: &str,
        origin: Origin,
        manifest: &str,
        mut files: Vec<TemplateFile>,
    ) -> Result<Self, TemplateError> {
        let origin_text = match &origin {
            Origin::Builtin => format!("{name}/{MANIFEST}"),
            Origin::Dir(dir) => dir.join(MANIFEST).display().to_string(),
        };
        let parsed: Manifest =
            toml::from_str(manifest).map_err(|e| manifest_error(manifest, &origin_text, &e))?;
        let bad = |message: String| {
            TemplateError::Manifest(ConfigError {
                origin: origin_text.clone(),
                line: 1,
                column: 1,
                message,
                source_line: String::new(),
            })
        };
        let mut seen = BTreeSet::new();
        for variable in &parsed.variables {
            if !is_identifier(&variable.name) {
                return Err(bad(format!(
                    "variable name {:?} must be [a-z_][a-z0-9_]*",
                    variable.name
                )));
            }
            if !seen.insert(variable.name.as_str()) {
                return Err(bad(format!("variable {} is declared twice", variable.name)));
            }
            if let Some(pattern) = &variable.pattern {
                anchored(pattern).map_err(|e| {
                    bad(format!(
                        "variable {}: pattern {pattern:?}: {e}",
                        variable.name
                    ))
                })?;
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Self {
            name: name.to_owned(),
            origin,
            description: parsed.description.trim().to_owned(),
            variables: parsed.variables,
            files,
        })
    }

    /// The values to render with: those `given`, then for each variable
    /// without one what `ask` answers (it is shown the rendered default;
    /// `None` means "no answer": the default, else missing), in the
    /// manifest's order so that defaults can use earlier values. Every
    /// missing value is named in one error; a value for a variable the
    /// template does not have, and one not matching its pattern, are errors.
    pub fn values(
        &self,
        given: &Vars,
        ask: &mut dyn FnMut(&Variable, Option<&str>) -> Option<String>,
    ) -> Result<Vars, TemplateError> {
        for name in given.keys() {
            if !self.variables.iter().any(|v| &v.name == name) {
                return Err(TemplateError::Unknown {
                    template: self.name.clone(),
                    name: name.clone(),
                    known: self
                        .variables
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let mut values = Vars::new();
        let mut missing = Vec::new();
        let mut invalid = Vec::new();
        // Defaults see the earlier values and `current_year` (for a
        // copyright line), which is not a value of its own.
        let year = crate::time::ymd(crate::time::signed(crate::time::unix_now()))[..4].to_owned();
        for variable in &self.variables {
            let mut context = values.clone();
            context
                .entry("current_year".to_owned())
                .or_insert_with(|| year.clone());
            let default = match &variable.default {
                Some(text) => {
                    match render(&format!("default of {}", variable.name), text, &context) {
                        Ok(value) => Some(value),
                        // A default over a missing earlier value is missing too;
                        // with every earlier value there, it is the template's error.
                        Err(e) if missing.is_empty() => return Err(e),
                        Err(_) => None,
                    }
                }
                None => None,
            };
            let value = given
                .get(&variable.name)
                .cloned()
                .or_else(|| ask(variable, default.as_deref()))
                .or(default);
            match value {
                Some(value) => {
                    if let Some(pattern) = variable
                        .pattern
                        .as_ref()
                        .filter(|_| !variable.accepts(&value))
                    {
                        invalid.push((variable.name.clone(), value.clone(), pattern.clone()));
                    }
                    values.insert(variable.name.clone(), value);
                }
                None => missing.push((variable.name.clone(), variable.description.clone())),
            }
        }
        if !invalid.is_empty() {
            return Err(TemplateError::Invalid(invalid));
        }
        if !missing.is_empty() {
            return Err(TemplateError::Missing {
                template: self.name.clone(),
                missing,
            });
        }
        Ok(values)
    }

    /// The files of a project made with `vars`: each name and text
    /// rendered, checked to be one plain path component per name, each
    /// path once.
    pub fn render(&self, vars: &Vars) -> Result<Vec<RenderedFile>, TemplateError> {
        let mut out = Vec::with_capacity(self.files.len());
        let mut paths = BTreeSet::new();
        let mut total = 0u64;
        for file in &self.files {
            let Some(path) = render_path(&file.path, vars)? else {
                continue;
            };
            if !paths.insert(path.clone()) {
                return Err(TemplateError::UnsafePath {
                    path: file.path.clone(),
                    problem: format!("renders to {path:?}, which another file renders to too"),
                });
            }
            let content = match &file.content {
                Content::File { bytes, mode } if renders(bytes) && has_tags(bytes) => {
                    let bytes = render(
                        &file.path,
                        std::str::from_utf8(bytes).expect("renders checked it"),
                        vars,
                    )?
                    .into_bytes();
                    total += bytes.len() as u64;
                    if total > MAX_BYTES {
                        return Err(TemplateError::TooLarge {
                            what: self.name.clone(),
                            problem: format!("it renders to over {} MiB", MAX_BYTES >> 20),
                        });
                    }
                    Content::File { bytes, mode: *mode }
                }
                Content::Symlink(target) => {
                    let target = render(&file.path, target, vars)?;
                    if !link_stays_inside(&path, &target) {
                        return Err(TemplateError::UnsafePath {
                            path: file.path.clone(),
                            problem: format!(
                                "a symlink rendering to {target:?}, outside the project"
                            ),
                        });
                    }
                    Content::Symlink(target)
                }
                other => other.clone(),
            };
            out.push(TemplateFile { path, content });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// [`Template::render`] and the project's [`RECORD`] of this template
    /// and the values.
    pub fn render_project(&self, vars: &Vars) -> Result<Vec<RenderedFile>, TemplateError> {
        let mut files = self.render(vars)?;
        files.retain(|f| f.path != RECORD);
        let record = Record {
            template: self.name.clone(),
            values: vars.clone(),
        };
        files.push(TemplateFile {
            path: RECORD.into(),
            content: Content::File {
                bytes: record.to_text().into_bytes(),
                mode: 0o644,
            },
        });
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }
}

fn not_found(name: &str, user_dir: Option<&Path>) -> TemplateError {
    let mut available = user_names(user_dir);
    available.extend(builtin_names());
    available.sort();
    available.dedup();
    TemplateError::NotFound {
        name: name.to_owned(),
        available: format!("there are: {}", available.join(", ")),
    }
}

fn user_names(user_dir: Option<&Path>) -> Vec<String> {
    let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join(MANIFEST).is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| crate::names::is_plain(n, b"._-"))
        .collect();
    names.sort();
    names
}

/// Whether a template file is rendered: text no larger than a rendering
/// may be. A larger file is copied byte for byte (and `template create`
/// leaves it as it is), so a big data file never breaks a template.
pub(super) fn renders(bytes: &[u8]) -> bool {
    bytes.len() <= MAX_OUTPUT && is_text(bytes)
}

/// Whether text has a tera tag at all; one without renders to itself, so
/// it is not rendered (a template of many plain files stays fast).
fn has_tags(bytes: &[u8]) -> bool {
    bytes
        .windows(2)
        .any(|w| matches!(w, [b'{', b'{' | b'%' | b'#']))
}

fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// A pattern matched against the whole value.
fn anchored(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
}

impl Variable {
    /// Whether `value` matches the pattern (any value, without one).
    pub fn accepts(&self, value: &str) -> bool {
        self.pattern
            .as_deref()
            .is_none_or(|p| anchored(p).is_ok_and(|re| re.is_match(value)))
    }
}

/// A template path with each component rendered; every result must be one
/// plain component (not empty, `.`, `..`, nor holding `/` or NUL). A
/// component with a tag that renders empty leaves the file out (copier's
/// optional files: `{% if docs %}docs{% endif %}/conf.py`): `None`; one
/// that is only a value rendering empty is an error.
fn render_path(path: &str, vars: &Vars) -> Result<Option<String>, TemplateError> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        let rendered = if part.contains("{{") || part.contains("{%") || part.contains("{#") {
            let rendered = render(path, part, vars)?;
            if rendered.is_empty() && part.contains("{%") {
                return Ok(None);
            }
            rendered
        } else {
            part.to_owned()
        };
        check_component(path, &rendered)?;
        parts.push(rendered);
    }
    Ok(Some(parts.join("/")))
}

pub(super) fn check_component(path: &str, part: &str) -> Result<(), TemplateError> {
    let problem = if part.is_empty() {
        "a name renders empty"
    } else if part == "." || part == ".." {
        "a name renders to . or .."
    } else if part.contains(['/', '\0']) {
        "a name renders to a path, not one name"
    } else if part == ".git" {
        "a name renders to .git"
    } else {
        return Ok(());
    };
    Err(TemplateError::UnsafePath {
        path: path.to_owned(),
        problem: problem.into(),
    })
}

/// Whether a relative symlink target stays inside the tree, seen from the
/// link at `path`.
pub(super) fn link_stays_inside(path: &str, target: &str) -> bool {
    if target.is_empty() || target.starts_with('/') {
        return false;
    }
    let mut depth = path.matches('/').count() as i64;
    for part in Path::new(target).components() {
        match part {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, TemplateError> {
    use std::io::Read;
    let io = |source| TemplateError::Io {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(TemplateError::TooLarge {
            what: path.display().to_string(),
            problem: format!("over {} MiB", limit >> 20),
        });
    }
    Ok(bytes)
}

/// Every file under `root` (`.git` skipped), within the bounds.
pub(super) fn read_all(root: &Path) -> Result<Vec<TemplateFile>, TemplateError> {
    let mut files = Vec::new();
    read_tree(root, root, &mut files, &mut 0)?;
    Ok(files)
}

/// The files of `root` at `paths` (as `git ls-files` lists them), within
/// the bounds; a listed file that is gone is skipped.
pub(super) fn read_listed(
    root: &Path,
    paths: &[PathBuf],
) -> Result<Vec<TemplateFile>, TemplateError> {
    let mut files = Vec::new();
    let mut total = 0;
    for rel in paths {
        let path = root.join(rel);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            return Err(TemplateError::UnsafePath {
                path: rel.display().to_string(),
                problem: "a submodule (a template is made of files)".into(),
            });
        }
        files.push(read_entry(root, &path, &meta, files.len(), &mut total)?);
    }
    Ok(files)
}

fn read_tree(
    root: &Path,
    dir: &Path,
    files: &mut Vec<TemplateFile>,
    total: &mut u64,
) -> Result<(), TemplateError> {
    let io = |source| TemplateError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        if entry.file_name() == ".git" {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).map_err(|source| TemplateError::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            read_tree(root, &path, files, total)?;
        } else {
            files.push(read_entry(root, &path, &meta, files.len(), total)?);
        }
    }
    Ok(())
}

/// One file (or symlink) of a tree, the `count`th, within the bounds.
fn read_entry(
    root: &Path,
    path: &Path,
    meta: &std::fs::Metadata,
    count: usize,
    total: &mut u64,
) -> Result<TemplateFile, TemplateError> {
    let rel = path
        .strip_prefix(root)
        .expect("under the root")
        .to_str()
        .ok_or_else(|| TemplateError::UnsafePath {
            path: path.display().to_string(),
            problem: "the name is not UTF-8".into(),
        })?
        .to_owned();
    if count >= MAX_FILES {
        return Err(TemplateError::TooLarge {
            what: root.display().to_string(),
            problem: format!("over {MAX_FILES} files"),
        });
    }
    let content = if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).map_err(|source| TemplateError::Io {
            path: path.to_owned(),
            source,
        })?;
        let target = target.to_string_lossy().into_owned();
        if !link_stays_inside(&rel, &target) {
            return Err(TemplateError::UnsafePath {
                path: rel,
                problem: format!("a symlink to {target:?}, outside the tree"),
            });
        }
        Content::Symlink(target)
    } else if meta.is_file() {
        *total += meta.len();
        if *total > MAX_BYTES {
            return Err(TemplateError::TooLarge {
                what: root.display().to_string(),
                problem: format!("over {} MiB of files", MAX_BYTES >> 20),
            });
        }
        Content::File {
            bytes: read_bounded(path, MAX_BYTES)?,
            mode: meta.permissions().mode() & 0o777,
        }
    } else {
        return Err(TemplateError::UnsafePath {
            path: rel,
            problem: "not a regular file, directory or symlink".into(),
        });
    };
    Ok(TemplateFile { path: rel, content })
}

/// The umask of the process (read by setting it and setting it back).
fn umask() -> u32 {
    use nix::sys::stat::{umask, Mode};
    let old = umask(Mode::from_bits_truncate(0o022));
    umask(old);
    old.bits()
}

/// Checks that no file of the set is reached through one of its symlinks
/// and that no symlink's target passes through another one or leaves the
/// root: with `a -> .` and `b -> a/..`, `b/x` would be written beside the
/// root, though each target looks harmless on its own.
pub(super) fn check_links(files: &[TemplateFile]) -> Result<(), TemplateError> {
    let links: BTreeSet<&str> = files
        .iter()
        .filter(|f| matches!(f.content, Content::Symlink(_)))
        .map(|f| f.path.as_str())
        .collect();
    let through_link = |path: &str| {
        path.match_indices('/')
            .any(|(i, _)| links.contains(&path[..i]))
    };
    for file in files {
        if through_link(&file.path) {
            return Err(TemplateError::UnsafePath {
                path: file.path.clone(),
                problem: "its directory is a symlink of the template".into(),
            });
        }
        let Content::Symlink(target) = &file.content else {
            continue;
        };
        let mut at: Vec<&str> = file.path.split('/').collect();
        at.pop();
        let parts: Vec<Component<'_>> = Path::new(target).components().collect();
        let bad = |problem: &str| TemplateError::UnsafePath {
            path: file.path.clone(),
            problem: format!("a symlink to {target:?}: {problem}"),
        };
        for (i, part) in parts.iter().enumerate() {
            match part {
                Component::CurDir => {}
                Component::ParentDir => {
                    if at.pop().is_none() {
                        return Err(bad("it leads outside"));
                    }
                }
                Component::Normal(name) => {
                    at.push(name.to_str().ok_or_else(|| bad("not UTF-8"))?);
                    if i + 1 < parts.len() && links.contains(at.join("/").as_str()) {
                        return Err(bad("it passes through another symlink"));
                    }
                }
                _ => return Err(bad("it is absolute")),
            }
        }
    }
    Ok(())
}

/// Writes files under `root` (which exists): directories as needed,
/// regular files with their mode less the umask, symlinks as they are.
/// Paths were checked when rendered; they and the links are checked again
/// here, since this writes, and no file is written through a symlink on
/// disk.
pub fn write_files(root: &Path, files: &[TemplateFile]) -> Result<(), TemplateError> {
    check_links(files)?;
    let umask = umask();
    for file in files {
        for part in file.path.split('/') {
            check_component(&file.path, part)?;
        }
        let mut dir = root.to_owned();
        for part in file
            .path
            .split('/')
            .rev()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            dir.push(part);
            if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(TemplateError::UnsafePath {
                    path: file.path.clone(),
                    problem: "its directory is a symlink".into(),
                });
            }
        }
        let path = root.join(&file.path);
        let io = |source| TemplateError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        match &file.content {
            Content::File { bytes, mode } => {
                std::fs::write(&path, bytes).map_err(io)?;
                std::fs::set_permissions(
                    &path,
                    std::fs::Permissions::from_mode(mode & 0o777 & !umask),
                )
                .map_err(io)?;
            }
            Content::Symlink(target) => {
                if !link_stays_inside(&file.path, target) {
                    return Err(TemplateError::UnsafePath {
                        path: file.path.clone(),
                        problem: format!("a symlink to {target:?}, outside the project"),
                    });
                }
                std::os::unix::fs::symlink(target, &path).map_err(io)?;
            }
        }
    }
    Ok(())
}

/// Writes a project's files into `dir`, which must not exist or be an
/// empty directory: into a fresh directory beside it first, renamed into
/// place when complete, so a failure leaves nothing behind.
pub fn generate(files: &[RenderedFile], dir: &Path) -> Result<(), TemplateError> {
    generate_then(files, dir, |_| Ok(()))
}

/// [`generate`], with `finish` run on the complete scratch directory
/// before it is renamed into place (`new` makes the git repository
/// there): when `finish` fails, nothing is left either.
pub fn generate_then(
    files: &[RenderedFile],
    dir: &Path,
    finish: impl FnOnce(&Path) -> Result<(), TemplateError>,
) -> Result<(), TemplateError> {
    // `.` or `x/..` has no parent of its own to write beside.
    let absolute = std::path::absolute(dir).map_err(|source| TemplateError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let normal: PathBuf = absolute.components().fold(PathBuf::new(), |mut p, c| {
        match c {
            Component::ParentDir => {
                p.pop();
            }
            Component::CurDir => {}
            other => p.push(other),
        }
        p
    });
    let dir = normal.as_path();
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        if entries.next().is_some() {
            return Err(TemplateError::Exists(dir.to_owned()));
        }
    } else if std::fs::symlink_metadata(dir).is_ok() {
        return Err(TemplateError::Exists(dir.to_owned()));
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TemplateError::Io { path, source }
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let scratch = tempfile::Builder::new()
        .prefix(".buildkit-new-")
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(io(scratch.path()))?;
    write_files(scratch.path(), files)?;
    finish(scratch.path())?;
    if dir.is_dir() {
        return move_into(scratch.path(), dir);
    }
    // rename(2) refuses to replace a directory made meanwhile that is not
    // empty, so nothing is ever written over.
    let written = scratch.keep();
    std::fs::rename(&written, dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&written);
        match e.kind() {
            std::io::ErrorKind::DirectoryNotEmpty => TemplateError::Exists(dir.to_owned()),
            _ => io(dir)(e),
        }
    })
}

/// Moves the entries of `scratch` into the existing empty directory `dir`
/// (the user's `.`, which must stay the same directory, not be replaced):
/// each entry renamed, never over one that exists; on a failure the moved
/// ones go back, so `dir` is left empty again.
fn move_into(scratch: &Path, dir: &Path) -> Result<(), TemplateError> {
    let io = |path: &Path, source| TemplateError::Io {
        path: path.to_owned(),
        source,
    };
    let entries: Vec<_> = std::fs::read_dir(scratch)
        .map_err(|e| io(scratch, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| io(scratch, e))?;
    let mut moved = Vec::new();
    for entry in entries {
        let to = dir.join(entry.file_name());
        let result = if std::fs::symlink_metadata(&to).is_ok() {
            Err(TemplateError::Exists(dir.to_owned()))
        } else {
            std::fs::rename(entry.path(), &to).map_err(|e| io(&to, e))
        };
        if let Err(e) = result {
            for (from, to) in moved.into_iter().rev() {
                let _ = std::fs::rename(to, from);
            }
            return Err(e);
        }
        moved.push((entry.path(), to));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(manifest: &str, files: &[(&str, &str)]) -> Template {
        let files = files
            .iter()
            .map(|(path, text)| TemplateFile {
                path: (*path).to_owned(),
                content: Content::File {
                    bytes: text.as_bytes().to_vec(),
                    mode: 0o644,
                },
            })
            .collect();
        Template::assemble("t", Origin::Builtin, manifest, files).expect("works")
    }

    const MANIFEST_TEXT: &str = r#"description = "test"
[[variable]]
name = "name"
description = "the package name"
pattern = "[a-z][a-z0-9-]+"

[[variable]]
name = "module"
description = "the module"
default = "{{ name | replace(from='-', to='_') }}"

[[variable]]
name = "author"
description = "who"
"#;

    fn given(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_use_earlier_values_and_every_missing_value_is_named_once() {
        let t = template(MANIFEST_TEXT, &[]);
        let values = t
            .values(
                &given(&[("name", "my-app"), ("author", "J")]),
                &mut |_, _| None,
            )
            .expect("works");
        assert_eq!(values["module"], "my_app");
        let e = t.values(&Vars::new(), &mut |_, _| None).expect_err("fails");
        assert_eq!(
            e.to_string(),
            "t needs values: name (the package name), module (the module), author (who)"
        );
        assert_eq!(
            e.hint().expect("works"),
            "pass --set name=... --set module=... --set author=..."
        );
    }

    #[test]
    fn patterns_are_anchored_and_unknown_variables_refused() {
        let t = template(MANIFEST_TEXT, &[]);
        for bad in ["My-App", "a", "ok; rm -rf /", "ok\nx"] {
            let e = t
                .values(&given(&[("name", bad), ("author", "J")]), &mut |_, _| None)
                .expect_err("fails");
            assert!(matches!(e, TemplateError::Invalid(_)), "{bad}: {e}");
        }
        let e = t
            .values(&given(&[("colour", "red")]), &mut |_, _| None)
            .expect_err("fails");
        assert_eq!(
            e.to_string(),
            "t has no variable colour (it has: name, module, author)"
        );
    }

    #[test]
    fn asked_values_come_after_given_ones_and_see_the_default() {
        let t = template(MANIFEST_TEXT, &[]);
        let mut asked = Vec::new();
        let values = t
            .values(&given(&[("name", "x-y")]), &mut |v, default| {
                asked.push((v.name.clone(), default.map(str::to_owned)));
                (v.name == "author").then(|| "Jane".to_owned())
            })
            .expect("works");
        assert_eq!(
            asked,
            vec![
                ("module".into(), Some("x_y".into())),
                ("author".into(), None)
            ]
        );
        assert_eq!(values["author"], "Jane");
    }

    #[test]
    fn names_render_to_one_plain_component_each() {
        let t = template(
            MANIFEST_TEXT,
            &[("src/{{ module }}/__init__.py", "# {{ name }}\n")],
        );
        let vars = given(&[("name", "ab"), ("module", "ab"), ("author", "J")]);
        let files = t.render(&vars).expect("works");
        assert_eq!(files[0].path, "src/ab/__init__.py");
        for evil in ["..", "a/b", ".", ".git"] {
            let vars = given(&[("name", "ab"), ("module", evil), ("author", "J")]);
            let e = t.render(&vars).expect_err("fails");
            assert!(
                matches!(e, TemplateError::UnsafePath { .. }),
                "{evil:?}: {e}"
            );
        }
    }

    #[test]
    fn a_name_rendering_empty_leaves_the_file_out() {
        let t = template(
            MANIFEST_TEXT,
            &[
                ("{% if author == \"yes\" %}docs{% endif %}/conf.py", "x\n"),
                ("keep", "y\n"),
            ],
        );
        let no = given(&[("name", "ab"), ("module", "ab"), ("author", "no")]);
        let paths: Vec<_> = t
            .render(&no)
            .expect("renders")
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(paths, ["keep"]);
        let yes = given(&[("name", "ab"), ("module", "ab"), ("author", "yes")]);
        let paths: Vec<_> = t
            .render(&yes)
            .expect("renders")
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(paths, ["docs/conf.py", "keep"]);
    }

    #[test]
    fn a_malformed_manifest_says_where() {
        let e = Template::assemble("t", Origin::Builtin, "description = 1\n", Vec::new())
            .expect_err("fails");
        assert!(
            e.to_string().starts_with("t/buildkit-template.toml:1:15: "),
            "{e}"
        );
        let e = Template::assemble(
            "t",
            Origin::Builtin,
            "description = \"x\"\n[[variable]]\nname = \"Bad-Name\"\ndescription = \"y\"\n",
            Vec::new(),
        )
        .expect_err("fails");
        assert!(e.to_string().contains("must be [a-z_][a-z0-9_]*"), "{e}");
        let e = Template::assemble(
            "t",
            Origin::Builtin,
            "description = \"x\"\n[[variable]]\nname = \"a\"\ndescription = \"y\"\npattern = \"(\"\n",
            Vec::new(),
        )
        .expect_err("fails");
        assert!(e.to_string().contains("pattern \"(\""), "{e}");
    }

    #[test]
    fn symlinks_must_stay_inside() {
        assert!(link_stays_inside("a/b", "../c"));
        assert!(link_stays_inside("a", "c/d"));
        assert!(!link_stays_inside("a", "../c"));
        assert!(!link_stays_inside("a/b", "../../c"));
        assert!(!link_stays_inside("a", "/etc/passwd"));
    }

    #[test]
    fn generate_never_writes_over_a_directory_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().expect("works");
        let target = dir.path().join("p");
        std::fs::create_dir(&target).expect("works");
        std::fs::write(target.join("keep"), "mine").expect("works");
        let files = vec![TemplateFile {
            path: "keep".into(),
            content: Content::File {
                bytes: b"theirs".to_vec(),
                mode: 0o644,
            },
        }];
        assert!(matches!(
            generate(&files, &target),
            Err(TemplateError::Exists(_))
        ));
        assert_eq!(
            std::fs::read_to_string(target.join("keep")).expect("works"),
            "mine"
        );
        // An empty directory is filled; a bad path leaves nothing.
        let empty = dir.path().join("e");
        std::fs::create_dir(&empty).expect("works");
        generate(&files, &empty).expect("works");
        assert_eq!(
            std::fs::read_to_string(empty.join("keep")).expect("works"),
            "theirs"
        );
        let bad = vec![TemplateFile {
            path: "../x".into(),
            content: Content::File {
                bytes: Vec::new(),
                mode: 0o644,
            },
        }];
        assert!(generate(&bad, &dir.path().join("q")).is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("works")
            .map(|e| e.expect("works").file_name())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
    }
}
