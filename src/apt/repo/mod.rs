//! The repository as a whole: where its parts live, how one is created and
//! opened. The rest is split by concept:
//!
//! - [`lock`]: the writer lock every change holds;
//! - [`state`]: the published packages, read from the current generation;
//! - [`ops`]: add, remove, copy, list, clone, republish;
//! - [`pool`]: the pool files and the .debs that feed them;
//! - [`publish`]: writing a generation and switching `dists` to it;
//! - [`gc`]: what a publish leaves behind and when it goes.

mod gc;
mod lock;
mod ops;
mod pool;
mod publish;
mod state;

use std::path::{Path, PathBuf};

use super::fsutil::{self, SyncBatch};
use super::settings::{check_name, Settings, Suite};
use super::AptError;
use crate::fsutil::Durability;
use crate::sign::SigningKey;

pub(crate) use ops::index_component;
pub use ops::{AddOutcome, CopyOutcome, ExactFile, ListItem};
pub use pool::pool_path;
pub(crate) use publish::Signing;
pub use state::State;

/// Settings, lock and caches: never served.
const PRIVATE: &str = ".buildkit";
/// Published generations (`<N>/dists` and `<N>/index`); `dists` links into one.
const GENERATIONS: &str = "generations";
/// Content-addressed index files, shared by the generations' by-hash links.
const BY_HASH: &str = "by-hash";
/// The subdirectory of a component where its debug symbols packages
/// (`.ddeb`) are published: `dists/<suite>/<component>/debug/binary-<arch>`.
const DEBUG: &str = "debug";
/// Beside `index` in a generation: the index caches of the debug components.
const DEBUG_INDEX: &str = "index-debug";
/// The settings file, in [`PRIVATE`]; its presence makes a directory a repository.
const SETTINGS: &str = "repo.toml";

/// What `repo init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// `Origin:`.
    pub origin: String,
    /// `Label:`.
    pub label: String,
    /// `Description:`.
    pub description: String,
    /// Suite names (the first is the default).
    pub suites: Vec<String>,
    /// Codename of the first suite (default: its name).
    pub codename: Option<String>,
    /// Components.
    pub components: Vec<String>,
    /// Binary architectures.
    pub architectures: Vec<String>,
    /// Versions kept per package (0: all).
    pub keep: u32,
}

/// An open repository.
#[derive(Debug, Clone)]
pub struct AptRepo {
    root: PathBuf,
    settings: Settings,
}

impl AptRepo {
    /// Creates a repository at `root` (absent or empty), signed by `key`, and publishes it empty.
    pub fn init(root: &Path, options: &InitOptions, key: &SigningKey) -> Result<Self, AptError> {
        let settings = settings_for(options, key)?;
        let _lock = lock::lock_new(root)?;
        Self::create(root, settings, key, |_, _| Ok(State::default()))
    }

    /// Opens the repository at `root`, or creates it as [`AptRepo::init`]
    /// does when there is none; `true` when it was created. Both happen
    /// under the writer lock, so concurrent first publishes into a new
    /// directory (several tags pushed at once) create it once and all land.
    pub fn open_or_init(
        root: &Path,
        options: &InitOptions,
        key: &SigningKey,
    ) -> Result<(Self, bool), AptError> {
        match Self::open(root) {
            Err(AptError::NotARepo { .. }) => {}
            opened => return opened.map(|repo| (repo, false)),
        }
        let settings = settings_for(options, key)?;
        let _lock = lock::lock_new(root)?;
        match Self::open(root) {
            Err(AptError::NotARepo { .. }) => {}
            opened => return opened.map(|repo| (repo, false)),
        }
        Self::create(root, settings, key, |_, _| Ok(State::default())).map(|repo| (repo, true))
    }

    /// A new repository at `root` (absent, empty, or left by an interrupted
    /// init), holding the lock: the directories, the public key, the pool
    /// files `fill` puts there and the first generation, then the settings
    /// LAST — `repo.toml` is what makes it a repository, so a crash before
    /// it leaves a directory that the next init simply completes.
    fn create(
        root: &Path,
        settings: Settings,
        key: &SigningKey,
        fill: impl FnOnce(&Self, &mut SyncBatch) -> Result<State, AptError>,
    ) -> Result<Self, AptError> {
        check_fresh(root)?;
        let mut batch = SyncBatch::default();
        for dir in [PRIVATE, GENERATIONS, "pool"] {
            fsutil::create_dirs(&root.join(dir), &mut batch)?;
        }
        let repo = Self {
            root: root.to_owned(),
            settings,
        };
        repo.write_public_key(key)?;
        let state = fill(&repo, &mut batch)?;
        repo.publish(&state, &[], key, batch)?;
        repo.settings.save(&root.join(PRIVATE).join(SETTINGS))?;
        Ok(repo)
    }

    /// Opens the repository at `root`.
    pub fn open(root: &Path) -> Result<Self, AptError> {
        let path = root.join(PRIVATE).join(SETTINGS);
        if !path.is_file() {
            return Err(AptError::NotARepo {
                path: root.to_owned(),
            });
        }
        Ok(Self {
            root: root.to_owned(),
            settings: Settings::load(&path)?,
        })
    }

    /// The repository directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The public key files served beside `dists/`.
    fn write_public_key(&self, key: &SigningKey) -> Result<(), AptError> {
        let binary = key.public_binary()?;
        let armored = key.public_armored()?;
        fsutil::write_atomic(&self.root.join("key.gpg"), &binary, Durability::Synced)?;
        fsutil::write_atomic(&self.root.join("key.asc"), &armored, Durability::Synced)?;
        fsutil::write_atomic(
            &self.root.join("packages_public.key"),
            &armored,
            Durability::Synced,
        )
    }

    /// The name of the suite `name` refers to (its name or its codename).
    pub fn resolve_suite(&self, name: &str) -> Result<String, AptError> {
        self.suite_name(Some(name))
    }

    /// The suite called `suite` (default: the first), checked.
    fn suite_name(&self, suite: Option<&str>) -> Result<String, AptError> {
        let name = suite.unwrap_or(self.settings.default_suite());
        self.settings
            .suite(name)
            .map(|s| s.name.clone())
            .ok_or_else(|| AptError::UnknownSuite {
                suite: name.to_owned(),
                known: self
                    .settings
                    .suites
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The component called `component` (default: the first), checked.
    fn component_name(&self, component: Option<&str>) -> Result<String, AptError> {
        let name = component.unwrap_or(self.settings.default_component());
        if self.settings.components.iter().any(|c| c == name) {
            Ok(name.to_owned())
        } else {
            Err(AptError::UnknownComponent {
                component: name.to_owned(),
                known: self.settings.components.join(", "),
            })
        }
    }
}

/// The settings a new repository gets from `options` (names checked).
fn settings_for(options: &InitOptions, key: &SigningKey) -> Result<Settings, AptError> {
    for suite in &options.suites {
        check_name("suite", suite)?;
    }
    for component in &options.components {
        check_name("component", component)?;
    }
    for arch in &options.architectures {
        check_name("architecture", arch)?;
    }
    if let Some(codename) = &options.codename {
        check_name("codename", codename)?;
    }
    let suites = options
        .suites
        .iter()
        .enumerate()
        .map(|(i, name)| Suite {
            name: name.clone(),
            codename: if i == 0 {
                options.codename.clone().unwrap_or_else(|| name.clone())
            } else {
                name.clone()
            },
        })
        .collect();
    Ok(Settings {
        origin: options.origin.clone(),
        label: options.label.clone(),
        description: options.description.clone(),
        suites,
        components: options.components.clone(),
        architectures: options
            .architectures
            .iter()
            .filter(|a| *a != "all")
            .cloned()
            .collect(),
        keep: options.keep,
        by_hash_grace: 24 * 3600,
        key: key.fingerprint(),
    })
}

/// What an interrupted init or clone may have left in its directory; anything
/// else (or a `repo.toml`) means the directory is not ours to fill.
const INIT_LEFTOVERS: [&str; 8] = [
    PRIVATE,
    GENERATIONS,
    BY_HASH,
    "pool",
    "dists",
    "key.gpg",
    "key.asc",
    "packages_public.key",
];

/// Refuses a directory that holds anything but the leftovers of an init.
fn check_fresh(root: &Path) -> Result<(), AptError> {
    check_foreign(root)?;
    if root.join(PRIVATE).join(SETTINGS).exists() {
        return Err(AptError::NotEmpty {
            path: root.to_owned(),
        });
    }
    Ok(())
}

/// Refuses a directory that holds anything a repository does not.
fn check_foreign(root: &Path) -> Result<(), AptError> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(AptError::Io {
                path: root.to_owned(),
                source,
            })
        }
    };
    let foreign = entries.flatten().any(|e| {
        let name = e.file_name();
        // `.tmp-*`: a file being written atomically (see crate::fsutil).
        !INIT_LEFTOVERS.iter().any(|n| name == *n) && !name.to_string_lossy().starts_with(".tmp-")
    });
    if foreign {
        return Err(AptError::NotEmpty {
            path: root.to_owned(),
        });
    }
    Ok(())
}

/// Where a generation keeps the index cache of `component` of `suite`:
/// `index/<suite>/<component>`, or `index-debug/<suite>/<component>` for
/// `<component>/debug`.
fn index_path(generation_dir: &Path, suite: &str, component: &str) -> PathBuf {
    match component.strip_suffix(&format!("/{DEBUG}")) {
        Some(main) => generation_dir.join(DEBUG_INDEX).join(suite).join(main),
        None => generation_dir.join("index").join(suite).join(component),
    }
}
