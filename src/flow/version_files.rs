//! Versions written in files (`Cargo.toml`, `pyproject.toml`,
//! `package.json`, or any file with a regex of one capture group): bumped
//! and committed by `release start`/`hotfix start`, checked by `finish`.

use std::path::Path;

use regex::Regex;

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
        let regex = Regex::new(&text).map_err(|source| FlowError::BadRegex {
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

    /// The version the file carries now.
    pub fn read(&self, root: &Path) -> Result<String, FlowError> {
        let path = root.join(&self.path);
        let text = std::fs::read_to_string(&path).map_err(|source| FlowError::Io {
            path: path.clone(),
            source,
        })?;
        self.read_text(&text)
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

    /// Replaces the first match's group with `version`.
    pub fn write(&self, root: &Path, version: &str) -> Result<(), FlowError> {
        let path = root.join(&self.path);
        let text = std::fs::read_to_string(&path).map_err(|source| FlowError::Io {
            path: path.clone(),
            source,
        })?;
        let regex = self.regex()?;
        let caps = regex
            .captures(&text)
            .ok_or_else(|| FlowError::VersionFile {
                path: self.path.clone(),
                problem: "the version pattern does not match".into(),
            })?;
        let Some(group) = caps.get(1) else {
            return Err(FlowError::VersionFile {
                path: self.path.clone(),
                problem: "the capture group matched nothing".into(),
            });
        };
        let updated = format!(
            "{}{version}{}",
            &text[..group.start()],
            &text[group.end()..]
        );
        std::fs::write(&path, updated).map_err(|source| FlowError::Io { path, source })
    }
}

/// Writes `version` into every file; returns the paths changed.
pub fn bump_files(
    root: &Path,
    specs: &[VersionFileSpec],
    version: &str,
) -> Result<Vec<String>, FlowError> {
    let mut changed = Vec::new();
    for spec in specs {
        if spec.read(root)? != version {
            spec.write(root, version)?;
            changed.push(spec.path.clone());
        }
    }
    Ok(changed)
}

/// Refuses when a file's version on `branch` differs from `version`.
pub fn check_files(
    root: &Path,
    specs: &[VersionFileSpec],
    version: &str,
    branch: &str,
) -> Result<(), FlowError> {
    for spec in specs {
        let text =
            super::git_text(root, &["show", &format!("{branch}:{}", spec.path)]).map_err(|_| {
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

    #[test]
    fn presets_bump_and_check() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\nversion = \"1.2.0\"\n\n[dependencies]\nfoo = { version = \"9\" }\n").expect("write");
        std::fs::write(
            dir.path().join("package.json"),
            "{\n  \"name\": \"x\",\n  \"version\": \"1.2.0\"\n}\n",
        )
        .expect("write");
        let specs = [
            VersionFileSpec {
                path: "Cargo.toml".into(),
                regex: None,
            },
            VersionFileSpec {
                path: "package.json".into(),
                regex: None,
            },
        ];
        assert_eq!(
            bump_files(dir.path(), &specs, "1.3.0").expect("bump"),
            ["Cargo.toml", "package.json"]
        );
        for spec in &specs {
            assert_eq!(spec.read(dir.path()).expect("read"), "1.3.0");
        }
        let cargo = std::fs::read_to_string(dir.path().join("Cargo.toml")).expect("read");
        assert_eq!(cargo, "[package]\nname = \"x\"\nversion = \"1.3.0\"\n\n[dependencies]\nfoo = { version = \"9\" }\n");
        std::fs::write(dir.path().join("x.txt"), "1.3.0\n").expect("write");
        let err = VersionFileSpec {
            path: "x.txt".into(),
            regex: None,
        }
        .read(dir.path())
        .expect_err("no preset");
        assert!(
            err.to_string().starts_with("x.txt: no regex given"),
            "{err}"
        );
    }
}
