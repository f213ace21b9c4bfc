//! `template create DIR NAME --var k=v`: a template made from an existing
//! tree. The tree's files (what git tracks and would track: `.git` and what
//! git ignores are skipped) are copied with every value replaced by its
//! variable, in contents and in file and directory names; whatever in the
//! tree already looks like tera syntax is escaped so that it renders back
//! as it was; files that are not text are copied byte for byte. A project
//! generated from the template with the original values is the tree again,
//! byte for byte (tested).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, MatchKind};

use super::tree::{check_component, generate, renders, Content, TemplateFile, MANIFEST, RECORD};
use super::TemplateError;

/// What `template create` made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CreateOutcome {
    /// The template's directory.
    pub dir: PathBuf,
    /// How many files it has (the manifest not counted).
    pub files: usize,
    /// For each variable, how many places it replaced.
    pub replaced: BTreeMap<String, usize>,
}

/// Makes a template of the tree `source` in `dest` (which must not exist,
/// or be empty), with `vars` (name, value) in the order they will be
/// asked for.
pub fn create(
    source: &Path,
    dest: &Path,
    vars: &[(String, String)],
    description: Option<&str>,
) -> Result<CreateOutcome, TemplateError> {
    check_vars(vars)?;
    let files = source_files(source)?;
    if files.iter().any(|f| f.path == MANIFEST) {
        return Err(TemplateError::Create(format!(
            "{} has a {MANIFEST} of its own: it is a template already",
            source.display()
        )));
    }
    let values: Vec<&str> = vars.iter().map(|(_, v)| v.as_str()).collect();
    let finder = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&values)
        .map_err(|e| TemplateError::Create(format!("the values cannot be searched for: {e}")))?;
    let mut replaced: BTreeMap<String, usize> =
        vars.iter().map(|(name, _)| (name.clone(), 0)).collect();
    let mut out = Vec::with_capacity(files.len() + 1);
    for file in files {
        let path = file
            .path
            .split('/')
            .map(|part| templated(part, &finder, vars, &mut replaced))
            .collect::<Vec<_>>()
            .join("/");
        let content = match file.content {
            Content::File { bytes, mode } if renders(&bytes) => Content::File {
                bytes: templated(
                    std::str::from_utf8(&bytes).expect("renders checked it"),
                    &finder,
                    vars,
                    &mut replaced,
                )
                .into_bytes(),
                mode,
            },
            Content::Symlink(target) => {
                Content::Symlink(templated(&target, &finder, vars, &mut replaced))
            }
            other => other,
        };
        out.push(TemplateFile { path, content });
    }
    let count = out.len();
    out.push(TemplateFile {
        path: MANIFEST.into(),
        content: Content::File {
            bytes: manifest(source, vars, description).into_bytes(),
            mode: 0o644,
        },
    });
    generate(&out, dest)?;
    Ok(CreateOutcome {
        dir: dest.to_owned(),
        files: count,
        replaced,
    })
}

fn check_vars(vars: &[(String, String)]) -> Result<(), TemplateError> {
    if vars.is_empty() {
        return Err(TemplateError::Create(
            "give at least one --var NAME=VALUE: the values that become variables".into(),
        ));
    }
    for (i, (name, value)) in vars.iter().enumerate() {
        let identifier = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !identifier {
            return Err(TemplateError::Create(format!(
                "variable name {name:?} must be [a-z_][a-z0-9_]*"
            )));
        }
        if value.is_empty() {
            return Err(TemplateError::Create(format!("{name} has an empty value")));
        }
        for (other, other_value) in &vars[..i] {
            if other == name {
                return Err(TemplateError::Create(format!("{name} is given twice")));
            }
            if other_value == value {
                return Err(TemplateError::Create(format!(
                    "{other} and {name} have the same value {value:?}: one value, one variable"
                )));
            }
        }
    }
    Ok(())
}

/// The tree's files: in a git work tree, what `git ls-files` lists as
/// tracked or untracked but not ignored; else every file but `.git`. A
/// project's own record of its template is not part of a new template.
fn source_files(source: &Path) -> Result<Vec<TemplateFile>, TemplateError> {
    let meta = std::fs::metadata(source).map_err(|e| TemplateError::Io {
        path: source.to_owned(),
        source: e,
    })?;
    if !meta.is_dir() {
        return Err(TemplateError::Create(format!(
            "{} is not a directory",
            source.display()
        )));
    }
    // In a git work tree, what git tracks or would track; git must then
    // answer (a failure is an error, not a reason to take everything).
    let in_git = crate::git::git(source)
        .args(["rev-parse", "--is-inside-work-tree"])
        .output()
        .is_ok_and(|out| out.starts_with(b"true"));
    let mut files = if in_git {
        use std::os::unix::ffi::OsStrExt;
        let out = crate::git::git(source)
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .output()?;
        let mut paths: Vec<PathBuf> = out
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(p)))
            .collect();
        paths.sort();
        paths.dedup();
        super::tree::read_listed(source, &paths)?
    } else {
        super::tree::read_all(source)?
    };
    files.retain(|f| f.path != RECORD);
    if files.is_empty() {
        return Err(TemplateError::Create(format!(
            "{} has no files to make a template of{}",
            source.display(),
            if in_git {
                " (git ignores or lists none)"
            } else {
                ""
            }
        )));
    }
    for file in &files {
        for part in file.path.split('/') {
            check_component(&file.path, part)?;
        }
    }
    Ok(files)
}

/// `text` with each value replaced by `{{ name }}` and everything else
/// escaped so that tera renders it as it is.
fn templated(
    text: &str,
    finder: &AhoCorasick,
    vars: &[(String, String)],
    replaced: &mut BTreeMap<String, usize>,
) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut last = 0;
    for m in finder.find_iter(text) {
        escape_into(&text[last..m.start()], &mut out);
        let name = &vars[m.pattern().as_usize()].0;
        out.push_str("{{ ");
        out.push_str(name);
        out.push_str(" }}");
        *replaced.get_mut(name).expect("every variable is counted") += 1;
        last = m.end();
    }
    escape_into(&text[last..], &mut out);
    out
}

/// Text that tera renders as itself: every `{{`, `{%` and `{#` becomes a
/// string expression printing it, and so does a `{` ending the piece (a
/// variable may follow it, and `{` + `{{ name }}` would open a tag).
pub(super) fn escape_into(text: &str, out: &mut String) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '{' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some(&next @ ('{' | '%' | '#')) => {
                chars.next();
                out.push_str("{{ \"{");
                out.push(next);
                out.push_str("\" }}");
            }
            None => out.push_str("{{ \"{\" }}"),
            Some(_) => out.push('{'),
        }
    }
}

fn manifest(source: &Path, vars: &[(String, String)], description: Option<&str>) -> String {
    let source_name = source
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| source.display().to_string());
    let description = description
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Made from {source_name} by git buildkit template create"));
    let mut text = format!(
        "# Made by `git buildkit template create`: edit descriptions, add patterns.\n\
         description = {}\n",
        toml_string(&description)
    );
    for (name, value) in vars {
        let mut default = String::new();
        escape_into(value, &mut default);
        text.push_str(&format!(
            "\n[[variable]]\nname = {}\ndescription = {}\ndefault = {}\n",
            toml_string(name),
            toml_string(&format!("{name} (in {source_name}: {value})")),
            toml_string(&default)
        ));
    }
    text
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::tree::{Origin, Template};
    use super::super::{render, Vars};
    use super::*;

    #[test]
    fn escaped_text_renders_as_itself() {
        for text in [
            "{{ x }}",
            "{% raw %}{{ y }}{% endraw %}",
            "{# c #}",
            "{{{",
            "a {",
            "{",
            "}} %} #}",
            "{{-",
            "\"{{\" '{%'",
            "ünï{{cödé",
        ] {
            let mut escaped = String::new();
            escape_into(text, &mut escaped);
            assert_eq!(
                render("f", &escaped, &Vars::new()).expect("works"),
                text,
                "{escaped}"
            );
        }
    }

    #[test]
    fn values_next_to_braces_round_trip() {
        let vars = vec![("name".to_owned(), "ckan".to_owned())];
        let finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(["ckan"])
            .expect("works");
        let mut replaced = BTreeMap::from([("name".to_owned(), 0)]);
        let text = "{ckan} {{ckan}} {%ckan%} ckanckan {ckan";
        let t = templated(text, &finder, &vars, &mut replaced);
        assert_eq!(replaced["name"], 6);
        let values = Vars::from([("name".to_owned(), "ckan".to_owned())]);
        assert_eq!(render("f", &t, &values).expect("works"), text);
    }

    #[test]
    fn a_tree_round_trips_byte_for_byte() {
        let dir = tempfile::tempdir().expect("works");
        let tree = dir.path().join("ckan");
        std::fs::create_dir_all(tree.join("ckan-ext/bin")).expect("works");
        std::fs::write(
            tree.join("README"),
            "ckan at ckan.example.org\n{{ keep }}\n",
        )
        .expect("works");
        std::fs::write(tree.join("ckan-ext/bin/ckan-run"), "#!/bin/sh\necho ckan\n")
            .expect("works");
        std::fs::write(tree.join("logo.png"), b"\x89PNG\0ckan\xff").expect("works");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            tree.join("ckan-ext/bin/ckan-run"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("works");
        std::os::unix::fs::symlink("ckan-ext/bin/ckan-run", tree.join("run")).expect("works");
        let vars = vec![
            ("name".to_owned(), "ckan".to_owned()),
            ("domain".to_owned(), "ckan.example.org".to_owned()),
        ];
        let dest = dir.path().join("tpl");
        let outcome = create(&tree, &dest, &vars, None).expect("works");
        assert_eq!(outcome.files, 4);
        assert_eq!(outcome.replaced["domain"], 1);
        assert_eq!(outcome.replaced["name"], 6);
        let template = Template::from_dir("tpl", &dest).expect("works");
        assert_eq!(template.origin, Origin::Dir(dest.clone()));
        let values = template
            .values(&Vars::new(), &mut |_, _| None)
            .expect("the original values are the defaults");
        let rendered = template.render(&values).expect("works");
        let mut original = super::super::tree::read_all(&tree).expect("works");
        original.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(rendered, original);
        // Other values go everywhere the old ones were.
        let other = Vars::from([
            ("name".to_owned(), "other".to_owned()),
            ("domain".to_owned(), "other.example.org".to_owned()),
        ]);
        let files = template.render(&other).expect("works");
        let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["README", "logo.png", "other-ext/bin/other-run", "run"]
        );
        assert_eq!(
            files[3].content,
            Content::Symlink("other-ext/bin/other-run".into())
        );
    }

    #[test]
    fn bad_variables_are_refused() {
        let dir = tempfile::tempdir().expect("works");
        for (vars, message) in [
            (vec![], "at least one --var"),
            (vec![("Name", "x")], "must be [a-z_][a-z0-9_]*"),
            (vec![("a", "")], "empty value"),
            (vec![("a", "x"), ("b", "x")], "same value"),
        ] {
            let vars: Vec<(String, String)> = vars
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let e = create(dir.path(), &dir.path().join("t"), &vars, None).expect_err("fails");
            assert!(e.to_string().contains(message), "{e}");
        }
    }
}
