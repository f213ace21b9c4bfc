//! A version tag's VM test, resolved into the plain plan the VM runs
//! ([`RunSpec`]) from what the tag and its repository hold: `.buildkit.toml`
//! of the tagged commit (`[vm]` and the packages), the versions the tag
//! builds, those packages as published in the apt repository (the guest
//! installs exactly them, through apt; their contents say whether a
//! systemd unit ships), the repository's public key, and `debian/tests/`
//! of the tagged tree. This is the side that knows git, `.deb` files and
//! repositories, so that `vm` needs to know none of them.

use std::path::PathBuf;

use toml::Spanned;

use super::debian_source::{decide, unmet, DebianNeed};
use super::VmPlanError;
use crate::apt::AptRepo;
use crate::config::{Config, FILE_NAME};
use crate::deb::EntryInfo;
use crate::debhelper::foreign::ForeignLibraries;
use crate::git::{CommitInfo, Repo};
use crate::package;
use crate::progress::Listener;
use crate::proxy::Mirrors;
use crate::version::DebVersion;
use crate::vm::job::{self, Job, Upgrade};
use crate::vm::plan;
use crate::vm::qemu::{Forward, PROXY_ADDRESS};
use crate::vm::run::{AccelChoice, RunSpec};
use crate::vm::sources::GuestDebian;
use crate::vm::values::{Cpus, Memory, ModeChoice, TimeLimit};
use crate::vm::{GuestMode, ImageStore, TestResult, DEFAULT_IMAGE};

/// What the caller decides besides the tag.
#[derive(Debug, Clone)]
pub struct TagTestOptions {
    /// The image (`--vm`), else `[vm] image`, else [`DEFAULT_IMAGE`].
    pub image: Option<String>,
    /// The accelerator.
    pub accel: AccelChoice,
    /// The mode (`--mode`), else `[vm] mode`, else auto.
    pub mode: Option<ModeChoice>,
    /// Keep the run (its VM stays up for `vm exec`).
    pub keep: bool,
    /// Guest ports reachable from 127.0.0.1 (`--forward`).
    pub forwards: Vec<Forward>,
    /// The apt repository the tag was published to.
    pub apt_dir: PathBuf,
    /// Its suite (else the repository's default).
    pub suite: Option<String>,
    /// The suite holding the released versions (the target suite, e.g.
    /// `stable`, while the tag is tested from `staging`): when it has an
    /// earlier version of a package of the tag, the guest installs that
    /// first and tests the upgrade (see [`crate::vm::upgrade`]). `None`:
    /// no upgrade test.
    pub upgrade_from: Option<String>,
    /// The program the guest's repository connections run (this binary).
    pub serve_program: PathBuf,
    /// Boot cold even where a warm snapshot could be restored (`--cold`).
    pub cold: bool,
    /// Where the list of what the image's Debian suite carries comes from,
    /// to check before booting that every dependency has a source; `None`:
    /// not checked (the guest's apt says it).
    pub archive: Option<std::sync::Arc<dyn ForeignLibraries>>,
}

/// The run of the tag, and the DEP-8 tests that will not run.
// Long function: one RunSpec assembled from the config, the repository,
// the image and the tests, each step feeding the next (the published
// packages decide the mode, the tests add dependencies, both decide the
// Debian source).
pub fn plan_vm_test(
    repo: &Repo,
    tag: &str,
    commit: &CommitInfo,
    config: &Config,
    store: &ImageStore,
    options: &TagTestOptions,
    listener: &dyn Listener,
) -> Result<(RunSpec, Vec<TestResult>), VmPlanError> {
    let origin = format!("{tag}:{FILE_NAME}");
    if config.packages.is_empty() {
        return Err(VmPlanError::NoPackages { origin });
    }
    let vm = config.vm.clone().unwrap_or_default();
    let image_name = options
        .image
        .clone()
        .or(vm.image.map(Spanned::into_inner))
        .unwrap_or_else(|| DEFAULT_IMAGE.to_owned());
    let image = store.find(&image_name)?;
    let mode_choice = options.mode.or(vm.mode).unwrap_or(ModeChoice::Auto);
    let version = package::resolve_version(repo, &config.tag_scheme(None), tag, commit)?;
    let apt = AptRepo::open(&options.apt_dir)?;
    let suite = options
        .suite
        .clone()
        .unwrap_or_else(|| apt.settings().default_suite().to_owned());
    let Published {
        mut install,
        binaries,
        component,
        ships_systemd_unit,
        mut relations,
        in_repo,
    } = published(config, &version, &apt, &suite, options)?;
    let own: Vec<String> = binaries.iter().chain(&in_repo).cloned().collect();
    let mode = mode_choice.resolve(ships_systemd_unit);
    if mode_choice == ModeChoice::Auto && mode == GuestMode::Systemd {
        listener.note("a package ships a systemd unit: booting with systemd");
    }
    let (plan, files) = tests(repo, commit, tag, &vm.smoke, &binaries, listener)?;
    install.extend(plan.depends.iter().cloned());
    relations.extend(plan.depends.iter().cloned());
    let debian = debian_source(vm.debian, &relations, &own, &image, listener)?;
    every_dependency_has_a_source(
        &relations,
        &own,
        &image,
        debian.is_some(),
        options.archive.as_deref(),
        listener,
    )?;
    let public_key = public_key(&apt)?;
    let spec = RunSpec {
        image,
        accel: options.accel,
        mode,
        memory_mib: vm.memory.unwrap_or(Memory::DEFAULT).mib(),
        cpus: vm.cpus.unwrap_or(Cpus::DEFAULT).get(),
        repo_dir: options.apt_dir.clone(),
        public_key,
        job: Job {
            nonce: job::nonce(),
            suite,
            component: component.unwrap_or_else(|| apt.settings().default_component().to_owned()),
            upgrade: upgrade_plan(&apt, options, &install, &binaries, &plan.depends, listener)?,
            install,
            tests: plan.tests,
            test_timeout: vm.timeout.unwrap_or(TimeLimit::DEFAULT).secs(),
            debian,
            recommends: vm.recommends.unwrap_or(true),
        },
        files,
        keep: options.keep,
        forwards: forwards(options, &vm.forward),
        label: tag.to_owned(),
        serve_program: options.serve_program.clone(),
        warm: !options.cold && vm.warm.unwrap_or(true),
    };
    Ok((spec, plan.skipped))
}

/// The upgrade test from [`TagTestOptions::upgrade_from`], if any: for each of the tag's packages
/// (`install` holds `name=version` of each, in the order of `binaries`),
/// the newest version there lower than the one under test, of this machine's
/// architecture or `all`. `None` when no package has one: there is nothing
/// to upgrade from. `depends` (the tests' other dependencies) are
/// installed with the released versions, so their tests can run. A version
/// there newer than the one under test is said: apt would never move its
/// users to this one.
fn upgrade_plan(
    apt: &AptRepo,
    options: &TagTestOptions,
    install: &[String],
    binaries: &[String],
    depends: &[String],
    listener: &dyn Listener,
) -> Result<Option<Upgrade>, VmPlanError> {
    let Some(suite) = options.upgrade_from.as_deref() else {
        return Ok(None);
    };
    let released = apt.list(Some(suite))?;
    let mut from = Vec::new();
    for (name, spec) in binaries.iter().zip(install) {
        let Some(new) = spec
            .split_once('=')
            .and_then(|(_, v)| DebVersion::parse(v).ok())
        else {
            continue;
        };
        let versions: Vec<DebVersion> = released
            .iter()
            .filter(|i| &i.package == name && installable(&i.architecture))
            .filter_map(|i| DebVersion::parse(&i.version).ok())
            .collect();
        if let Some(newer) = versions.iter().filter(|v| **v > new).max() {
            listener.warn(&format!(
                "{suite} has {name} {newer}, newer than {new}: apt would not upgrade its users to this version"
            ));
        }
        let newest = versions.into_iter().filter(|v| *v < new).max();
        if let Some(version) = newest {
            from.push((name.clone(), version.to_string()));
        }
    }
    if from.is_empty() {
        listener.note(&format!(
            "no upgrade test: {suite} has no earlier version of {}",
            binaries.join(", ")
        ));
        return Ok(None);
    }
    let said: Vec<String> = from.iter().map(|(n, v)| format!("{n} {v}")).collect();
    listener.note(&format!(
        "upgrade test: {} from {suite}, then a purge and a clean install",
        said.join(", ")
    ));
    Ok(Some(Upgrade {
        suite: suite.to_owned(),
        install: from
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .chain(depends.iter().cloned())
            .collect(),
        from,
        purge: binaries.to_vec(),
    }))
}

/// Whether a package of `arch` installs in the guest, which runs this
/// machine's architecture.
fn installable(arch: &str) -> bool {
    static GUEST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    arch == "all" || arch == GUEST.get_or_init(super::host_arch)
}

/// The tag's packages as published in the suite.
struct Published {
    /// `name=version` of each, for apt.
    install: Vec<String>,
    /// Their names (DEP-8's `@`).
    binaries: Vec<String>,
    /// The component of the first one.
    component: Option<String>,
    /// Whether one ships a systemd unit.
    ships_systemd_unit: bool,
    /// Their `Pre-Depends` and `Depends` values.
    relations: Vec<String>,
    /// The packages of the repository they depend on, directly or not
    /// (a Python application's dependency packages), which apt installs
    /// from there.
    in_repo: Vec<String>,
}

/// The forwards of a kept run: `--forward`, else `[vm] forward` (checked
/// when the configuration was read); none for a run that is not kept.
fn forwards(options: &TagTestOptions, configured: &[Spanned<String>]) -> Vec<Forward> {
    if !options.forwards.is_empty() || !options.keep {
        return options.forwards.clone();
    }
    configured
        .iter()
        .filter_map(|f| Forward::parse(f.get_ref()).ok())
        .collect()
}

/// The image suite's Debian archive for the guest, through the caching
/// proxy, when the packages need it (see [`decide`]); said in the output.
fn debian_source(
    setting: Option<bool>,
    relations: &[String],
    own: &[String],
    image: &crate::vm::Image,
    listener: &dyn Listener,
) -> Result<Option<GuestDebian>, VmPlanError> {
    let recipe = &image.manifest.recipe;
    let DebianNeed::Needed(names) = decide(setting, relations, own, &image.manifest.packages)
    else {
        return Ok(None);
    };
    let url = Mirrors::from_host_apt()?
        .guest_url(&recipe.mirror, PROXY_ADDRESS)
        .ok_or_else(|| VmPlanError::MirrorNotAllowed {
            image: image.name.clone(),
            mirror: recipe.mirror.clone(),
        })?;
    if !names.is_empty() {
        listener.note(&format!(
            "{} not in the image: the guest installs from Debian {} through the caching proxy",
            names.join(", "),
            recipe.suite
        ));
    }
    Ok(Some(GuestDebian {
        url,
        suite: recipe.suite.clone(),
    }))
}

/// Checks, before a VM boots, that each dependency the image and the tag do
/// not provide is in the image suite's Debian archive (when the guest gets
/// it): a library package built on this host but published nowhere fails
/// here, named with the libraries it carries, instead of in the guest's apt
/// after a boot. A guest without Debian (`[vm] debian = false`), an image
/// that does not list its packages, or an archive that cannot be read
/// leave the check to the guest.
fn every_dependency_has_a_source(
    relations: &[String],
    own: &[String],
    image: &crate::vm::Image,
    debian: bool,
    archive: Option<&dyn ForeignLibraries>,
    listener: &dyn Listener,
) -> Result<(), VmPlanError> {
    let packages = &image.manifest.packages;
    if packages.is_empty() {
        return Ok(());
    }
    let mut missing = unmet(relations, own, packages);
    let recipe = &image.manifest.recipe;
    let arch = crate::debhelper::host_arch();
    let (true, Some(archive), false) = (debian, archive, missing.is_empty()) else {
        return Ok(());
    };
    match archive.names(&recipe.mirror, &recipe.suite, arch) {
        Ok(names) => missing.retain(|group| {
            !group
                .iter()
                .any(|n| names.binary_search_by(|m| m.as_str().cmp(n)).is_ok())
        }),
        Err(e) => {
            listener.warn(&format!(
                "could not check the dependencies against Debian {}: {e}",
                recipe.suite
            ));
            return Ok(());
        }
    }
    let sources = format!(
        "the repository, the image, Debian {} ({arch})",
        recipe.suite
    );
    if missing.is_empty() {
        return Ok(());
    }
    let admindir = crate::debhelper::admindir();
    let described: Vec<String> = missing
        .iter()
        .map(|group| {
            let name = group.join(" | ");
            let libraries = group
                .first()
                .map(|first| crate::debhelper::sonames_of(&admindir, first))
                .unwrap_or_default();
            if libraries.is_empty() {
                name
            } else {
                format!("{name} (the package of {})", libraries.join(", "))
            }
        })
        .collect();
    Err(VmPlanError::NoSource {
        missing: described,
        sources,
    })
}

// Long function: the tag's own packages, then what they need from the
// same repository, read the same way.
/// Finds each package of `config` at `version` in `suite` of `apt`, and reads it.
fn published(
    config: &Config,
    version: &package::ResolvedVersion,
    apt: &AptRepo,
    suite: &str,
    options: &TagTestOptions,
) -> Result<Published, VmPlanError> {
    let published = apt.list(Some(suite))?;
    let mut install = Vec::new();
    let mut binaries = Vec::new();
    let mut component = None;
    let mut wants_systemd = false;
    let mut relations = Vec::new();
    for pkg in &config.packages {
        let name = pkg.name.get_ref().clone();
        let debian = version.debian(&config.tag_scheme(Some(pkg)))?.to_string();
        let item = published
            .iter()
            .find(|i| i.package == name && i.version == debian && installable(&i.architecture))
            .ok_or_else(|| VmPlanError::NotPublished {
                name: name.clone(),
                version: debian.clone(),
                repo: options.apt_dir.clone(),
                suite: suite.to_owned(),
            })?;
        component.get_or_insert_with(|| item.component.clone());
        let deb = crate::deb::read_deb(&apt.root().join(&item.filename)).map_err(|source| {
            VmPlanError::Apt(crate::apt::AptError::BadDeb {
                path: apt.root().join(&item.filename),
                source,
            })
        })?;
        wants_systemd |= ships_systemd_unit(&deb.files);
        for field in ["Pre-Depends", "Depends"] {
            relations.extend(deb.control.get(field).map(str::to_owned));
        }
        install.push(format!("{name}={debian}"));
        binaries.push(name);
    }
    // What they need from this repository, and what that needs.
    let mut in_repo: Vec<String> = Vec::new();
    let mut queue = relations.clone();
    while let Some(relation) = queue.pop() {
        for name in relation
            .split([',', '|'])
            .filter_map(|r| r.split(['(', ' ', ':']).find(|w| !w.is_empty()))
        {
            if binaries.iter().chain(&in_repo).any(|n| n == name) {
                continue;
            }
            let Some(item) = published
                .iter()
                .rfind(|i| i.package == name && installable(&i.architecture))
            else {
                continue;
            };
            let path = apt.root().join(&item.filename);
            let deb = crate::deb::read_deb(&path).map_err(|source| {
                VmPlanError::Apt(crate::apt::AptError::BadDeb { path, source })
            })?;
            wants_systemd |= ships_systemd_unit(&deb.files);
            for field in ["Pre-Depends", "Depends"] {
                if let Some(value) = deb.control.get(field) {
                    relations.push(value.to_owned());
                    queue.push(value.to_owned());
                }
            }
            in_repo.push(name.to_owned());
        }
    }
    Ok(Published {
        install,
        binaries,
        component,
        ships_systemd_unit: wants_systemd,
        relations,
        in_repo,
    })
}

/// Whether a package's files need a running systemd: a unit under
/// `lib/systemd/system` or `usr/lib/systemd/system`.
fn ships_systemd_unit(files: &[EntryInfo]) -> bool {
    files.iter().any(|f| {
        let path = f.path.trim_start_matches("./");
        (path.starts_with("lib/systemd/system/") || path.starts_with("usr/lib/systemd/system/"))
            && [".service", ".socket", ".timer"]
                .iter()
                .any(|ext| path.ends_with(ext))
    })
}

/// A file for the job disk: its path, bytes and mode.
type JobFile = (String, Vec<u8>, u32);

/// The test plan of the tag (its `[vm] smoke` commands and DEP-8 tests,
/// the text of `debian/tests/control` read from the tagged tree) and the
/// DEP-8 scripts to put on the job disk, read from the same tree.
fn tests(
    repo: &Repo,
    commit: &CommitInfo,
    tag: &str,
    smoke: &[String],
    binaries: &[String],
    listener: &dyn Listener,
) -> Result<(plan::Plan, Vec<JobFile>), VmPlanError> {
    let control_path = "debian/tests/control";
    let control = repo
        .read_file(&commit.id, control_path)?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let control_origin = format!("{tag}:{control_path}");
    let plan = plan::plan(
        smoke,
        control.as_deref().map(|t| (t, control_origin.as_str())),
        binaries,
        "amd64",
    )?;
    if plan.tests.is_empty() {
        listener.warn(&format!(
            "{tag}:{FILE_NAME} has no [vm] smoke commands and the tag has no {control_path}: \
             the run checks only that the packages install"
        ));
    }
    let mut files = Vec::new();
    for script in &plan.scripts {
        let bytes =
            repo.read_file(&commit.id, script)?
                .ok_or_else(|| VmPlanError::MissingScript {
                    origin: control_origin.clone(),
                    script: script.clone(),
                })?;
        files.push((script.clone(), bytes, 0o755));
    }
    Ok((plan, files))
}

/// The repository's public key in binary form: apt's signed-by gets it,
/// and the guest's gpgv reads it as is.
fn public_key(apt: &AptRepo) -> Result<Vec<u8>, VmPlanError> {
    let key_path = apt.root().join("key.asc");
    let armored = std::fs::read(&key_path).map_err(|source| VmPlanError::Io {
        path: key_path.clone(),
        source,
    })?;
    crate::sign::PublicKey::from_bytes(&armored)
        .and_then(|key| key.to_binary())
        .map_err(|source| VmPlanError::BadKey {
            path: key_path.clone(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb::InfoEntryKind as EntryKind;

    fn entry(path: &str) -> EntryInfo {
        EntryInfo {
            path: path.to_owned(),
            kind: EntryKind::File,
            mode: 0o644,
            owner: "root".into(),
            group: "root".into(),
            size: 1,
            mtime: 0,
            link: None,
        }
    }

    #[test]
    fn units_choose_systemd() {
        assert!(!ships_systemd_unit(&[entry("./usr/bin/hello")]));
        assert!(!ships_systemd_unit(&[entry("./usr/lib/systemd/system/")]));
        assert!(ships_systemd_unit(&[entry(
            "./lib/systemd/system/hello.service"
        )]));
        assert!(ships_systemd_unit(&[entry(
            "./usr/lib/systemd/system/hello.socket"
        )]));
    }

    #[test]
    fn auto_mode_follows_the_units() {
        let modes = [
            ModeChoice::Auto.resolve(true),
            ModeChoice::Auto.resolve(false),
            ModeChoice::Exactly(GuestMode::Fast).resolve(true),
            ModeChoice::Exactly(GuestMode::Systemd).resolve(false),
        ];
        assert_eq!(
            modes,
            [
                GuestMode::Systemd,
                GuestMode::Fast,
                GuestMode::Fast,
                GuestMode::Systemd
            ]
        );
    }
}
