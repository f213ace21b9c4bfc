//! A version tag's VM test, prepared from what the tag and its repository
//! hold: `.buildkit.toml` of the tagged commit (`[vm]` and the packages),
//! the versions the tag builds, those packages as published in the apt
//! repository (the guest installs exactly them, through apt), the
//! repository's public key, and `debian/tests/` of the tagged tree.

use std::path::PathBuf;

use toml::Spanned;

use super::plan;
use super::qemu::GuestMode;
use super::run::{AccelChoice, RunSpec};
use super::values::{Cpus, Memory, ModeChoice, TimeLimit};
use super::verdict::TestResult;
use super::{ImageStore, VmError};
use crate::apt::AptRepo;
use crate::config::{Config, FILE_NAME};
use crate::git::{CommitInfo, Repo};
use crate::package;
use crate::progress::Listener;

/// The image name used when neither `--vm` nor `[vm] image` names one.
pub const DEFAULT_IMAGE: &str = "default";

/// What the caller decides besides the tag.
#[derive(Debug, Clone)]
pub struct TagTestOptions {
    /// The image (`--vm`), else `[vm] image`, else [`DEFAULT_IMAGE`].
    pub image: Option<String>,
    /// The accelerator.
    pub accel: AccelChoice,
    /// The mode (`--mode`), else `[vm] mode`, else auto.
    pub mode: Option<ModeChoice>,
    /// Keep the run for `vm shell`.
    pub keep: bool,
    /// The apt repository the tag was published to.
    pub apt_dir: PathBuf,
    /// Its suite (else the repository's default).
    pub suite: Option<String>,
    /// The program the guest's repository connections run (this binary).
    pub serve_program: PathBuf,
}

/// The run of the tag, and the DEP-8 tests that will not run.
pub fn prepare(
    repo: &Repo,
    tag: &str,
    commit: &CommitInfo,
    config: &Config,
    store: &ImageStore,
    options: &TagTestOptions,
    listener: &dyn Listener,
) -> Result<(RunSpec, Vec<TestResult>), VmError> {
    let origin = format!("{tag}:{FILE_NAME}");
    if config.packages.is_empty() {
        return Err(VmError::NoPackages { origin });
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
        wants_systemd,
    } = published(config, &version, &apt, &suite, options)?;
    let mode = match mode_choice {
        ModeChoice::Exactly(mode) => mode,
        ModeChoice::Auto if wants_systemd => {
            listener.note("a package ships a systemd unit: booting with systemd");
            GuestMode::Systemd
        }
        ModeChoice::Auto => GuestMode::Fast,
    };
    let (plan, files) = tests(repo, commit, tag, &vm.smoke, &binaries, listener)?;
    install.extend(plan.depends.iter().cloned());
    let public_key = public_key(&apt)?;
    let spec = RunSpec {
        image,
        accel: options.accel,
        mode,
        memory_mib: vm.memory.unwrap_or(Memory::DEFAULT).mib(),
        cpus: vm.cpus.unwrap_or(Cpus::DEFAULT).get(),
        repo_dir: options.apt_dir.clone(),
        public_key,
        job: super::job::Job {
            nonce: nonce(),
            suite,
            component: component.unwrap_or_else(|| apt.settings().default_component().to_owned()),
            install,
            tests: plan.tests,
            test_timeout: vm.timeout.unwrap_or(TimeLimit::DEFAULT).secs(),
        },
        files,
        keep: options.keep,
        label: tag.to_owned(),
        serve_program: options.serve_program.clone(),
    };
    Ok((spec, plan.skipped))
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
    wants_systemd: bool,
}

/// Finds each package of `config` at `version` in `suite` of `apt`, and reads it.
fn published(
    config: &Config,
    version: &package::ResolvedVersion,
    apt: &AptRepo,
    suite: &str,
    options: &TagTestOptions,
) -> Result<Published, VmError> {
    let published = apt.list(Some(suite))?;
    let mut install = Vec::new();
    let mut binaries = Vec::new();
    let mut component = None;
    let mut wants_systemd = false;
    for pkg in &config.packages {
        let name = pkg.name.get_ref().clone();
        let debian = version.debian(&config.tag_scheme(Some(pkg)))?.to_string();
        let item = published
            .iter()
            .find(|i| {
                i.package == name
                    && i.version == debian
                    && (i.architecture == "all" || i.architecture == "amd64")
            })
            .ok_or_else(|| VmError::NotPublished {
                name: name.clone(),
                version: debian.clone(),
                repo: options.apt_dir.clone(),
                suite: suite.to_owned(),
            })?;
        component.get_or_insert_with(|| item.component.clone());
        let deb = crate::deb::read_deb(&apt.root().join(&item.filename)).map_err(|source| {
            VmError::Apt(crate::apt::AptError::BadDeb {
                path: apt.root().join(&item.filename),
                source,
            })
        })?;
        wants_systemd |= plan::ships_systemd_unit(&deb.files);
        install.push(format!("{name}={debian}"));
        binaries.push(name);
    }
    Ok(Published {
        install,
        binaries,
        component,
        wants_systemd,
    })
}

/// A file for the job disk: its path, bytes and mode.
type JobFile = (String, Vec<u8>, u32);

/// The test plan of the tag (its `[vm] smoke` commands and DEP-8 tests)
/// and the DEP-8 scripts to put on the job disk.
fn tests(
    repo: &Repo,
    commit: &CommitInfo,
    tag: &str,
    smoke: &[String],
    binaries: &[String],
    listener: &dyn Listener,
) -> Result<(plan::Plan, Vec<JobFile>), VmError> {
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
        let bytes = repo
            .read_file(&commit.id, script)?
            .ok_or_else(|| VmError::MissingScript {
                origin: control_origin.clone(),
                script: script.clone(),
            })?;
        files.push((script.clone(), bytes, 0o755));
    }
    Ok((plan, files))
}

/// The repository's public key in binary form: apt's signed-by gets it,
/// and the guest's gpgv reads it as is.
fn public_key(apt: &AptRepo) -> Result<Vec<u8>, VmError> {
    let key_path = apt.root().join("key.asc");
    let armored = std::fs::read(&key_path).map_err(super::error::io_at(&key_path))?;
    crate::sign::PublicKey::from_bytes(&armored)
        .and_then(|key| key.to_binary())
        .map_err(|source| VmError::BadKey {
            path: key_path.clone(),
            source,
        })
}

/// A fresh random token for the run's frame marker.
fn nonce() -> String {
    let mut bytes = [0u8; 8];
    if let Ok(mut file) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = file.read_exact(&mut bytes);
    }
    if bytes == [0; 8] {
        bytes = (crate::time::unix_nanos() ^ u64::from(std::process::id())).to_le_bytes();
    }
    hex::encode(bytes)
}
