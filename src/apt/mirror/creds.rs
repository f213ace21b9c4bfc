//! Credentials and region, as the AWS tools find them: the standard
//! environment variables, else the shared files (`~/.aws/credentials`,
//! `~/.aws/config`, or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`)
//! under `AWS_PROFILE` (default `default`). Never from the command line or
//! `.buildkit.toml`, and never from an instance metadata service: the push
//! sends traffic to the mirror's endpoint only.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// An access key.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<String>,
    /// Where they were found, for messages (`environment`, a file and profile).
    pub source: String,
}

/// The secret never reaches a log or an error message.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// What the lookup reads: the environment and the home directory.
pub struct Lookup<'a> {
    /// An environment variable's value.
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// The home directory, for `~/.aws`.
    pub home: Option<PathBuf>,
}

impl fmt::Debug for Lookup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookup").field("home", &self.home).finish()
    }
}

impl Lookup<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.is_empty())
    }

    fn profile(&self) -> String {
        self.get("AWS_PROFILE")
            .unwrap_or_else(|| "default".to_owned())
    }

    fn file(&self, variable: &str, name: &str) -> Option<PathBuf> {
        self.get(variable)
            .map(PathBuf::from)
            .or_else(|| self.home.as_ref().map(|h| h.join(".aws").join(name)))
    }

    /// The credentials, or `None` when there are none anywhere.
    pub fn credentials(&self) -> Option<Credentials> {
        if let (Some(id), Some(secret)) = (
            self.get("AWS_ACCESS_KEY_ID"),
            self.get("AWS_SECRET_ACCESS_KEY"),
        ) {
            return Some(Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: self.get("AWS_SESSION_TOKEN"),
                source: "the environment (AWS_ACCESS_KEY_ID)".to_owned(),
            });
        }
        let profile = self.profile();
        let path = self.file("AWS_SHARED_CREDENTIALS_FILE", "credentials")?;
        let sections = read_ini(&path)?;
        let section = sections.get(&profile)?;
        Some(Credentials {
            access_key_id: section.get("aws_access_key_id")?.clone(),
            secret_access_key: section.get("aws_secret_access_key")?.clone(),
            session_token: section.get("aws_session_token").cloned(),
            source: format!("{} (profile {profile})", path.display()),
        })
    }

    /// The region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's in the
    /// config file, else `us-east-1`.
    pub fn region(&self) -> String {
        if let Some(region) = self
            .get("AWS_REGION")
            .or_else(|| self.get("AWS_DEFAULT_REGION"))
        {
            return region;
        }
        let profile = self.profile();
        let section = if profile == "default" {
            profile
        } else {
            format!("profile {profile}")
        };
        self.file("AWS_CONFIG_FILE", "config")
            .and_then(|path| read_ini(&path))
            .and_then(|mut sections| sections.remove(&section))
            .and_then(|mut section| section.remove("region"))
            .unwrap_or_else(|| "us-east-1".to_owned())
    }
}

/// The sections of an AWS-style INI file: `[name]`, `key = value`, `#`
/// and `;` comments. A file that cannot be read is no file.
fn read_ini(path: &Path) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(parse_ini(&text))
}

fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().to_owned();
            sections.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((key, value))) = (&current, line.split_once('=')) {
            sections
                .entry(section.clone())
                .or_default()
                .insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::collections::HashMap;

    #[test]
    fn environment_first_then_the_profile_of_the_shared_file() {
        let home = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(home.path().join(".aws")).expect("mkdir");
        std::fs::write(
            home.path().join(".aws/credentials"),
            "# comment\n[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key=s1\n\n[ci]\nAWS_ACCESS_KEY_ID = AKCI\naws_secret_access_key = s2\naws_session_token = tok\n",
        )
        .expect("write");
        std::fs::write(
            home.path().join(".aws/config"),
            "[default]\nregion = eu-west-1\n[profile ci]\nregion = eu-central-1\n",
        )
        .expect("write");

        let env: HashMap<&str, &str> = HashMap::new();
        let var = |name: &str| env.get(name).map(|v| (*v).to_owned());
        let l = Lookup {
            var: &var,
            home: Some(home.path().to_owned()),
        };
        let c = l.credentials().expect("default profile");
        assert_eq!(
            (c.access_key_id.as_str(), c.secret_access_key.as_str()),
            ("AKDEFAULT", "s1")
        );
        assert_eq!(l.region(), "eu-west-1");

        let env: HashMap<&str, &str> = HashMap::from([("AWS_PROFILE", "ci")]);
        let var = |name: &str| env.get(name).map(|v| (*v).to_owned());
        let l = Lookup {
            var: &var,
            home: Some(home.path().to_owned()),
        };
        let c = l.credentials().expect("ci profile");
        assert_eq!(c.access_key_id, "AKCI");
        assert_eq!(c.session_token.as_deref(), Some("tok"));
        assert_eq!(l.region(), "eu-central-1");
        assert!(
            !format!("{c:?}").contains("s2"),
            "the secret is not in Debug"
        );

        let env: HashMap<&str, &str> = HashMap::from([
            ("AWS_PROFILE", "ci"),
            ("AWS_ACCESS_KEY_ID", "AKENV"),
            ("AWS_SECRET_ACCESS_KEY", "s3"),
            ("AWS_REGION", "us-west-2"),
        ]);
        let var = |name: &str| env.get(name).map(|v| (*v).to_owned());
        let l = Lookup {
            var: &var,
            home: Some(home.path().to_owned()),
        };
        assert_eq!(l.credentials().expect("env").access_key_id, "AKENV");
        assert_eq!(l.region(), "us-west-2");

        let env: HashMap<&str, &str> = HashMap::from([("AWS_PROFILE", "missing")]);
        let var = |name: &str| env.get(name).map(|v| (*v).to_owned());
        let l = Lookup {
            var: &var,
            home: None,
        };
        assert_eq!(l.credentials(), None);
        assert_eq!(l.region(), "us-east-1");
    }
}
