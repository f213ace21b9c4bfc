//! Versions written in files (`Cargo.toml`, `pyproject.toml`,
//! `package.json`, or any file with a regex of one capture group): bumped
//! and committed by `release start`/`hotfix start`, checked by `finish`.
//!
//! A pattern matches per line: `^` and `$` are the start and end of any
//! line (regex multi-line mode), so `^(.*)$` is the whole first line of a
//! `VERSION` file that ends in a newline, and `^version = "(.*)"$` the
//! first line that is exactly that. Without it `$` would be only the end of
//! the file, after its last newline, and such a pattern would never match.
//! `start` computes every file's new text before it creates the branch
//! ([`plan_bump`]), so a pattern that does not match changes nothing.

use std::path::Path;

use regex::{Regex, RegexBuilder};

use super::FlowError;

/// One file and the regex whose first group is the version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VersionFileSpec {
    /// Path from the work tree root.
    pub path: String,
    /// The regex; `None` uses the preset for the file name.
    pub regex: Option<String>,
}

impl VersionFileSpec {
    fn regex(&self) -> Result<Regex, FlowError> {
        let preset = || {
            let name = Path::new(&self.path)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("");
            match name {
                // The first `version = "..."` at the start of a line: [package] / [project].
                "Cargo.toml" | "pyproject.toml" => Some(r#"(?m)^version\s*=\s*"([^"]*)""#),
                "package.json" => Some(r#""version"\s*:\s*"([^"]*)""#),
                _ => None,
            }
        };
        let text = match (&self.regex, preset()) {
            (Some(r), _) => r.clone(),
            (None, Some(p)) => p.to_owned(),
            (None, None) => {
                return Err(FlowError::VersionFile { path: self.path.clone(), problem: "no regex given and no preset for this file name (presets: Cargo.toml, pyproject.toml, package.json)".into() })
            }
        };
        let regex = RegexBuilder::new(&text)
            .multi_line(true)
            .build()
            .map_err(|source| FlowError::BadRegex {
                path: self.path.clone(),
                source,
            })?;
        if regex.captures_len() < 2 {
            return Err(FlowError::VersionFile {
                path: self.path.clone(),
                problem: "the regex needs one capture group around the version".into(),
            });
        }
        Ok(regex)
    }

    /// The version in the file's text.
    pub fn read_text(&self, text: &str) -> Result<String, FlowError> {
        let regex = self.regex()?;
        let caps = regex.captures(text).ok_or_else(|| FlowError::VersionFile {
            path: self.path.clone(),
            problem: "the version pattern does not match".into(),
        })?;
        Ok(caps.get(1).map_or("", |m| m.as_str()).to_owned())
    }

    /// `text` with the first match's group replaced by `version`.
    pub fn bumped_text(&self, text: &str, version: &str) -> Result<String, FlowError> {
        let regex = self.regex()?;
        let caps = regex.captures(text).ok_or_else(|| FlowError::VersionFile {
            path: self.path.clone(),
            problem: "the version pattern does not match".into(),
        })?;
        let Some(group) = caps.get(1) else {
            return Err(FlowError::VersionFile {
                path: self.path.clone(),
                problem: "the capture group matched nothing".into(),
            });
        };
        Ok(format!(
            "{}{version}{}",
            &text[..group.start()],
            &text[group.end()..]
        ))
    }
}

/// The new text of every file whose version at commit `base` is not
/// `version` yet (path, text), computed without touching anything: a
/// missing file, a bad regex or a pattern that does not match is an error
/// here, before any branch exists.
pub fn plan_bump(
    root: &Path,
    specs: &[VersionFileSpec],
    base: &str,
    version: &str,
) -> Result<Vec<(String, String)>, FlowError> {
    let mut planned = Vec::new();
    for spec in specs {
        let text =
            crate::git::show_file(root, base, &spec.path).map_err(|_| FlowError::VersionFile {
                path: spec.path.clone(),
                problem: format!("is not in {base}"),
            })?;
        if spec.read_text(&text)? != version {
            planned.push((spec.path.clone(), spec.bumped_text(&text, version)?));
        }
    }
    Ok(planned)
}

/// Writes the texts [`plan_bump`] computed into the work tree at `root`.
pub fn write_planned(root: &Path, planned: &[(String, String)]) -> Result<(), FlowError> {
    for (file, text) in planned {
        let path = root.join(file);
        std::fs::write(&path, text).map_err(|source| FlowError::Io { path, source })?;
    }
    Ok(())
}

/// Refuses when a file's version on `branch` differs from `version`.
pub fn check_files(
    root: &Path,
    specs: &[VersionFileSpec],
    version: &str,
    branch: &str,
) -> Result<(), FlowError> {
    for spec in specs {
        let text = crate::git::show_file(root, branch, &spec.path).map_err(|_| {
            FlowError::VersionFile {
                path: spec.path.clone(),
                problem: format!("is not in branch {branch}"),
            }
        })?;
        let found = spec.read_text(&text)?;
        if found != version {
            return Err(FlowError::VersionFile {
                path: spec.path.clone(),
                problem: format!("carries version {found}, but the tag would be {version}"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn patterns_match_per_line() {
        let spec = |regex: &str| VersionFileSpec {
            path: "VERSION".into(),
            regex: Some(regex.into()),
        };
        let cases = [
            // (regex, text, version read, text after bumping to 2.0.0)
            ("^(.*)$", "1.0.0\n", "1.0.0", "2.0.0\n"),
            (
                r#"^version = "(.*)"$"#,
                "name = \"x\"\nversion = \"1.0.0\"\nother = 1\n",
                "1.0.0",
                "name = \"x\"\nversion = \"2.0.0\"\nother = 1\n",
            ),
            (
                r"^__version__ = '([^']*)'$",
                "import x\n__version__ = '1.0.0'\n",
                "1.0.0",
                "import x\n__version__ = '2.0.0'\n",
            ),
        ];
        for (regex, text, read, bumped) in cases {
            let spec = spec(regex);
            assert_eq!(spec.read_text(text).expect(regex), read, "{regex}");
            assert_eq!(
                spec.bumped_text(text, "2.0.0").expect(regex),
                bumped,
                "{regex}"
            );
        }
        let err = spec("^v(.*)$").read_text("1.0.0\n").expect_err("no match");
        assert_eq!(
            err.to_string(),
            "VERSION: the version pattern does not match"
        );
    }

    #[test]
    fn presets_bump_and_check() {
        let cargo = "[package]\nname = \"x\"\nversion = \"1.2.0\"\n\n[dependencies]\nfoo = { version = \"9\" }\n";
        let json = "{\n  \"name\": \"x\",\n  \"version\": \"1.2.0\"\n}\n";
        let spec = |path: &str| VersionFileSpec {
            path: path.into(),
            regex: None,
        };
        for (path, text) in [("Cargo.toml", cargo), ("package.json", json)] {
            let spec = spec(path);
            assert_eq!(spec.read_text(text).expect(path), "1.2.0");
            let bumped = spec.bumped_text(text, "1.3.0").expect(path);
            assert_eq!(bumped, text.replacen("1.2.0", "1.3.0", 1), "{path}");
            assert_eq!(spec.read_text(&bumped).expect(path), "1.3.0");
        }
        let err = spec("x.txt").read_text("1.3.0\n").expect_err("no preset");
        assert!(
            err.to_string().starts_with("x.txt: no regex given"),
            "{err}"
        );
    }
}
