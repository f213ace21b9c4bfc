//! The repository's own settings, in `.buildkit/repo.toml` inside it: what
//! apt clients see in every Release file (Origin, Label, each suite's
//! Codename, which must never change once published), the architectures
//! and components carried, the retention and the signing key.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::AptError;

/// One suite (a `dists/<name>` tree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Suite {
    /// `Suite:` (e.g. stable).
    pub name: String,
    /// `Codename:` (fixed at creation).
    pub codename: String,
}

/// `.buildkit/repo.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// `Origin:` in Release files.
    pub origin: String,
    /// `Label:` in Release files.
    pub label: String,
    /// `Description:` in Release files.
    pub description: String,
    /// The suites, in creation order.
    pub suites: Vec<Suite>,
    /// Components (the first is the default).
    pub components: Vec<String>,
    /// Binary architectures with their own indexes (`all` packages go into each).
    pub architectures: Vec<String>,
    /// Versions kept per package, architecture and suite (0: all).
    #[serde(default)]
    pub keep: u32,
    /// How long superseded index files stay reachable by hash, in seconds.
    #[serde(default = "default_grace")]
    pub by_hash_grace: u64,
    /// Fingerprint of the signing key.
    pub key: String,
}

fn default_grace() -> u64 {
    24 * 3600
}

impl Settings {
    /// Reads the settings file.
    pub fn load(path: &Path) -> Result<Self, AptError> {
        let text = std::fs::read_to_string(path).map_err(|source| AptError::Io {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| AptError::BadSettings {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Writes the settings file atomically.
    pub fn save(&self, path: &Path) -> Result<(), AptError> {
        let text = toml::to_string_pretty(self).map_err(|e| AptError::BadSettings {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        super::fsutil::write_atomic(path, text.as_bytes(), crate::fsutil::Durability::Synced)
    }

    /// The suite called `name`.
    pub fn suite(&self, name: &str) -> Option<&Suite> {
        self.suites
            .iter()
            .find(|s| s.name == name || s.codename == name)
    }

    /// The default suite (the first).
    pub fn default_suite(&self) -> &str {
        self.suites.first().map_or("stable", |s| s.name.as_str())
    }

    /// The default component (the first).
    pub fn default_component(&self) -> &str {
        self.components.first().map_or("main", String::as_str)
    }

    /// Whether a package of `arch` can go into this repository.
    pub fn carries(&self, arch: &str) -> bool {
        arch == "all" || self.architectures.iter().any(|a| a == arch)
    }
}

/// A name usable as a suite, codename, component or architecture.
pub fn check_name(kind: &'static str, name: &str) -> Result<(), AptError> {
    if crate::names::is_plain(name, b"-_.+") {
        Ok(())
    } else {
        Err(AptError::BadName {
            kind,
            name: name.to_owned(),
        })
    }
}
