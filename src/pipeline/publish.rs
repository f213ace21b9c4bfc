//! The publish stage: the built packages added to the project's apt
//! repository (created, and signed with the default key, on first use),
//! and where that repository lives ([`repo_dir`], [`project_name`]).

use std::path::{Path, PathBuf};

use super::run::Work;
use super::{Record, RepoRecord, StepError};
use crate::apt::mirror::{Connection, Lookup, PushOptions};
use crate::apt::{AptError, AptRepo, InitOptions};
use crate::config::RepoConfig;
use crate::deb::WrittenDeb;
use crate::git::Repo;
use crate::paths::{Env, PathsError};
use crate::process::Cmd;
use crate::sign::SigningKey;

impl Work<'_> {
    pub(super) fn publish(&mut self, record: &mut Record) -> Result<(), StepError> {
        let settings = self.config.repo.clone().unwrap_or_default();
        let path = repo_dir(self.repo, &settings, &self.options.paths).map_err(|source| {
            StepError::Locate {
                what: "apt repository",
                source,
            }
        })?;
        let (apt, key, created) = self.open_repository(&path, &settings)?;
        let (apt, target, suite) = self.suites(apt, &settings, &key)?;
        self.target = Some(target);
        let component = settings
            .components
            .first()
            .cloned()
            .unwrap_or_else(|| apt.settings().default_component().to_owned());
        self.listener.status(
            "Publishing",
            &format!(
                "{} to {} ({suite}/{component})",
                self.debs
                    .iter()
                    .map(|d| format!("{} {}", d.name, d.version))
                    .collect::<Vec<_>>()
                    .join(", "),
                path.display()
            ),
        );
        let paths: Vec<PathBuf> = self.debs.iter().map(|d| d.path.clone()).collect();
        let added = apt.add(&paths, Some(&suite), Some(&component), &key)?;
        let listed = apt.list(Some(&suite))?;
        for package in &mut record.packages {
            package.filename = listed
                .iter()
                .find(|i| {
                    i.component == component
                        && i.package == package.name
                        && i.version == package.version
                        && i.architecture == package.architecture
                        && i.sha256 == package.sha256
                })
                .map(|i| i.filename.clone());
        }
        record.repo = Some(RepoRecord {
            path: apt.root().to_owned(),
            suite,
            component,
            generation: added.generation,
            created,
        });
        // A gated run releases the source when it promotes.
        if !self.gated {
            self.source_release(record, &apt, &key)?;
        }
        self.push_mirrors(&apt)
    }

    /// Pushes the repository to every `[repo] mirror`, each one the build
    /// host allows (`buildkit.mirror.allow`, when set).
    pub(super) fn push_mirrors(&self, apt: &AptRepo) -> Result<(), StepError> {
        let mirrors = self
            .config
            .repo
            .as_ref()
            .map(RepoConfig::mirrors)
            .unwrap_or_default();
        if mirrors.is_empty() {
            return Ok(());
        }
        let allowed = allowed_mirrors(self.repo.cwd())?;
        let var = |name: &str| std::env::var(name).ok();
        let lookup = Lookup {
            var: &var,
            home: std::env::var_os("HOME").map(PathBuf::from),
        };
        for url in mirrors {
            crate::apt::mirror::check_allowed(&url, &allowed)?;
            let connection = Connection::new(url, &lookup, true)?;
            let report =
                crate::apt::mirror::push(apt, &connection, &PushOptions::default(), self.listener)?;
            self.listener.status(
                "Pushed",
                &format!(
                    "generation {} to {} ({} objects uploaded, {} requests)",
                    report.generation, report.url, report.uploaded, report.requests
                ),
            );
        }
        Ok(())
    }

    /// The release suite and the suite this run publishes into (the
    /// staging suite of a gated run, created on first use), as the
    /// repository names them, with the repository as it is then.
    fn suites(
        &self,
        apt: AptRepo,
        settings: &RepoConfig,
        key: &SigningKey,
    ) -> Result<(AptRepo, String, String), StepError> {
        let target = apt.resolve_suite(&settings.target_suite(apt.settings().default_suite()))?;
        if !self.gated {
            if self.tested_after_release {
                self.listener.note(&format!(
                    "[hooks] on-tag runs vm-test without promote: the packages go into {target} \
                     before their VM test; add \"promote\" to test them in {} first",
                    settings.staging_suite(&target)
                ));
            }
            let apt = match settings.keep {
                Some(_) => apt.ensure(&[], settings.keep, key)?,
                None => apt,
            };
            return Ok((apt, target.clone(), target));
        }
        // A gated run waits in staging for its VM test; the release suite
        // changes only at promote.
        let staging = settings.staging_suite(&target);
        let apt = apt.ensure(std::slice::from_ref(&staging), settings.keep, key)?;
        let staging = apt.resolve_suite(&staging)?;
        if staging == target {
            return Err(StepError::StagingIsRelease { suite: target });
        }
        Ok((apt, target, staging))
    }

    /// The project's repository and the key that signs it: the repository's
    /// own key, or the default key for a repository created now (the bool).
    fn open_repository(
        &self,
        path: &Path,
        settings: &RepoConfig,
    ) -> Result<(AptRepo, SigningKey, bool), StepError> {
        let passphrase = self.options.passphrase.as_deref();
        match AptRepo::open(path) {
            Ok(apt) => {
                let key = self
                    .options
                    .keys
                    .load(Some(&apt.settings().key), passphrase)?;
                Ok((apt, key, false))
            }
            Err(AptError::NotARepo { .. }) => {
                let key = self.options.keys.load(None, passphrase)?;
                let options = init_options(path, settings, &self.debs);
                // Under the repository's lock: a concurrent pipeline of
                // another tag may create it first, and then this one adds to it.
                let (apt, created) = AptRepo::open_or_init(path, &options, &key)?;
                if created {
                    self.listener.status(
                        "Created",
                        &format!(
                            "apt repository {} ({} {}, {}; key {})",
                            path.display(),
                            options.suites.join(" "),
                            options.components.join(" "),
                            options.architectures.join(" "),
                            key.fingerprint()
                        ),
                    );
                    Ok((apt, key, true))
                } else {
                    let key = self
                        .options
                        .keys
                        .load(Some(&apt.settings().key), passphrase)?;
                    Ok((apt, key, false))
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// What a repository created by the pipeline looks like: `[repo]`'s suite
/// (else stable) and components (else main), the packages' architectures
/// (else this machine's), named after its directory.
fn init_options(path: &Path, settings: &RepoConfig, debs: &[WrittenDeb]) -> InitOptions {
    let origin = path
        .file_name()
        .map_or("git-buildkit".into(), |n| n.to_string_lossy().into_owned());
    let mut architectures: Vec<String> = debs
        .iter()
        .map(|d| d.architecture.clone())
        .filter(|a| a != "all")
        .collect();
    architectures.sort();
    architectures.dedup();
    if architectures.is_empty() {
        architectures.push(host_arch());
    }
    InitOptions {
        label: origin.clone(),
        description: format!("{origin} packages, published by git-buildkit"),
        origin,
        suites: vec![settings.suite.clone().unwrap_or_else(|| "stable".into())],
        codename: None,
        components: if settings.components.is_empty() {
            vec!["main".into()]
        } else {
            settings.components.clone()
        },
        architectures,
        keep: settings.keep.unwrap_or(0),
    }
}

/// The repository directory of a project, for every command that does not
/// name one: `[repo] path` of its `.buildkit.toml` (`~/` is the home
/// directory; a relative path starts at the work tree, where the file
/// lives, or the git dir of a bare repository — never at the current
/// directory), else `<repos dir>/<project>` ([`paths::Env::repos_dir`]).
pub fn repo_dir(repo: &Repo, settings: &RepoConfig, paths: &Env) -> Result<PathBuf, PathsError> {
    match settings.path.as_deref() {
        Some(path) => paths.configured(Path::new(path), repo.cwd()),
        None => Ok(paths.repos_dir()?.join(project_name(repo))),
    }
}

/// The build host's `buildkit.mirror.allow` as seen in the repository at
/// `dir` (its own and the user's git configuration).
pub fn allowed_mirrors(dir: &Path) -> Result<Vec<String>, crate::package::PackageError> {
    crate::package::config_values(dir, &["--get-all", crate::apt::mirror::ALLOW_KEY])
}

/// The project's name: its work tree's directory, or the bare repository's
/// without `.git` (`hello.git` → `hello`).
pub fn project_name(repo: &Repo) -> String {
    let name = repo
        .cwd()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.strip_suffix(".git") {
        Some(stem) if !stem.is_empty() => stem.to_owned(),
        _ if name.is_empty() => "default".to_owned(),
        _ => name,
    }
}

/// dpkg's idea of this machine's architecture, else Rust's mapped to Debian's names.
pub fn host_arch() -> String {
    Cmd::new("dpkg")
        .arg("--print-architecture")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o).trim().to_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| {
            match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                "x86" => "i386",
                "powerpc64" => "ppc64el",
                other => other,
            }
            .to_owned()
        })
}
