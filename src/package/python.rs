//! `kind = "python"`: the project's wheel and its runtime dependency
//! closure, resolved by pip in the clean export (sandboxed as builds are)
//! and turned into packages by [`crate::python`].
//!
//! pip builds the project's wheel (PEP 517) and fetches or builds a wheel
//! for every dependency (`pip wheel`), from the package index, a given
//! wheelhouse (`BUILDKIT_WHEELHOUSE`, no network) or a lock file, which is
//! then honoured exactly: a wheel the project does not need, or a
//! requirement no locked wheel meets, is an error and nothing is written.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::build::{self, Build, Isolation, RunDirs, SANDBOX_RUN};
use super::{Built, PackageError};
use crate::config::{Config, PackageConfig, PythonConfig, Sandbox};
use crate::process::Cmd;
use crate::progress::Listener;
use crate::python::closure::closure;
use crate::python::layout::{packages, LayoutRequest, PyPackage};
use crate::python::lock::{parse_pylock, parse_requirements_lock, Pin};
use crate::python::markers::Target;
use crate::python::names::normalize;
use crate::python::wheel::Wheel;
use crate::python::PythonError;

/// Debian's interpreter: the one the packages run under.
pub const PYTHON: &str = "/usr/bin/python3";

/// One distribution of a built closure, for the git note and `--json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResolvedDist {
    /// The distribution (normalised).
    pub name: String,
    /// Its version.
    pub version: String,
    /// The wheel's file name.
    pub wheel: String,
    /// The wheel's SHA-256 (hex).
    pub sha256: String,
    /// The Debian package it went into.
    pub package: String,
}

/// What packaging a Python project produced besides the packages.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PythonReport {
    /// The application's package.
    pub app: String,
    /// Every distribution built, the project's own first.
    pub dists: Vec<ResolvedDist>,
    /// Dependencies left to Debian packages (`python.system`).
    pub mapped: Vec<crate::python::closure::Mapped>,
}

fn py_err(e: PythonError) -> PackageError {
    PackageError::Python(Box::new(e))
}

/// The target: Debian's python3 on this host.
pub fn target() -> Result<Target, PackageError> {
    let out = Cmd::new(PYTHON)
        .args([
            "-c",
            "import os, sys, platform; print(sys.version_info[0], sys.version_info[1], platform.python_version(), os.confstr('CS_GNU_LIBC_VERSION').split()[1])",
        ])
        .time_limit(std::time::Duration::from_secs(30))
        .output()
        .map_err(|e| PackageError::Io {
            path: PYTHON.into(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let out = String::from_utf8_lossy(&out).into_owned();
    let words: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    let glibc = words
        .get(3)
        .and_then(|g| g.split_once('.'))
        .map_or((0, 0), |(a, b)| (num(a), num(b)));
    match &words[..] {
        [x, y, full, ..] => Ok(Target {
            python: (num(x), num(y)),
            python_full: full.clone(),
            arch: crate::debhelper::host_arch().to_owned(),
            glibc,
        }),
        _ => Err(PackageError::Io {
            path: PYTHON.into(),
            source: std::io::Error::other(format!("unexpected output {out:?}")),
        }),
    }
}

fn leaves(rel: &str, e: super::confine::Outside) -> PackageError {
    PackageError::LeavesTree {
        package: String::new(),
        what: super::TreeFile::PythonProject,
        path: rel.to_owned(),
        via: format!("{} -> {}", e.link, e.target),
    }
}

/// A path quoted for `sh`.
fn q(path: &Path) -> String {
    crate::vm::job::sh_quote(&path.display().to_string())
}

/// The wheel files in `dir`.
fn wheels_in(dir: &Path) -> Result<Vec<PathBuf>, PackageError> {
    let read = std::fs::read_dir(dir).map_err(|source| PackageError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut out: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    out.sort();
    Ok(out)
}

/// A lock file of the tree as pins, and as the requirements file pip reads.
fn read_lock(src: &Path, rel: &str, tmp: &Path) -> Result<(Vec<Pin>, PathBuf), PackageError> {
    let path = super::confine::resolve(src, rel, super::confine::Last::Follow)
        .map_err(|e| leaves(rel, e))?;
    let text = std::fs::read_to_string(&path).map_err(|source| PackageError::Io {
        path: path.clone(),
        source,
    })?;
    if !rel.ends_with(".toml") {
        return Ok((parse_requirements_lock(&text, rel).map_err(py_err)?, path));
    }
    let pins = parse_pylock(&text, rel).map_err(py_err)?;
    let mut req = String::new();
    for p in &pins {
        req.push_str(&format!("{}=={}", p.name, p.version));
        if let Some(m) = &p.marker {
            req.push_str(&format!(" ; {m}"));
        }
        for h in &p.sha256 {
            req.push_str(&format!(" --hash=sha256:{h}"));
        }
        req.push('\n');
    }
    let out = tmp.join("pylock-requirements.txt");
    std::fs::write(&out, req).map_err(|source| PackageError::Io {
        path: out.clone(),
        source,
    })?;
    Ok((pins, out))
}

/// Runs one pip command as builds run (sandbox, environment, time limit).
fn run_pip(
    package: &PackageConfig,
    script: String,
    network: bool,
    mut ro: Vec<PathBuf>,
    built: &Built<'_>,
    listener: &dyn Listener,
) -> Result<(), PackageError> {
    let (dirs, vars, host) = (built.dirs, built.vars, built.host);
    if let Some(setting) = host.refusal(package.sandbox, network) {
        return Err(PackageError::SandboxRequired {
            package: package.name.get_ref().clone(),
            setting: match setting {
                "network = true" => "pip needs the network (no BUILDKIT_WHEELHOUSE)",
                other => other,
            },
        });
    }
    let isolation = match package.sandbox {
        Sandbox::None => Isolation::Unsandboxed,
        _ if build::bwrap_usable().is_ok() => Isolation::Bwrap { network },
        Sandbox::Bwrap | Sandbox::Auto if package.sandbox == Sandbox::Bwrap || host.require => {
            return Err(PackageError::NoSandbox {
                package: package.name.get_ref().clone(),
                reason: "bwrap is not usable here".into(),
            })
        }
        Sandbox::Bwrap | Sandbox::Auto => Isolation::Unsandboxed,
    };
    ro.extend_from_slice(&host.granted);
    let build = Build {
        command: script,
        env: [
            "PIP_NO_INPUT",
            "PIP_DISABLE_PIP_VERSION_CHECK",
            "PIP_CONFIG_FILE",
            "PIP_NO_CACHE_DIR",
        ]
        .map(str::to_owned)
        .into(),
        timeout: package
            .build_timeout
            .unwrap_or(crate::config::BuildTimeout::DEFAULT)
            .0,
        sandbox: package.sandbox,
        network,
        ro,
    };
    let seen = match isolation {
        Isolation::Bwrap { .. } => RunDirs::new(Path::new(SANDBOX_RUN)),
        Isolation::Unsandboxed => dirs.clone(),
    };
    // pip's own settings, whatever the caller's are.
    let fixed = |name: &str| -> Option<std::ffi::OsString> {
        match name {
            "PIP_NO_INPUT" | "PIP_DISABLE_PIP_VERSION_CHECK" | "PIP_NO_CACHE_DIR" => {
                Some("1".into())
            }
            "PIP_CONFIG_FILE" => Some("/dev/null".into()),
            _ => None,
        }
    };
    let env = build::environment(&build.env, &fixed, &seen, vars);
    let hidden = build::host_hidden_paths();
    build::command(&build, isolation, dirs, &hidden, env)
        .stream(&mut *listener.output(), 20)
        .map_err(|source| PackageError::Build {
            command: build.command.clone(),
            source,
        })
}

// Long function: the steps of a Python package set in order (pip for the
// project, pip for the closure, the lock's checks, the layout), each
// needing the previous one's files.
/// The packages of a `kind = "python"` package, and what went into them.
pub(super) fn python_packages(
    config: &Config,
    package: &PackageConfig,
    built: &Built<'_>,
    dirs: &RunDirs,
    scratch: &Path,
    listener: &dyn Listener,
) -> Result<(Vec<PyPackage>, PythonReport), PackageError> {
    let defaults = PythonConfig {
        project: None,
        lock: None,
        layout: Default::default(),
        system: BTreeMap::new(),
        extras: Vec::new(),
        build_isolation: true,
        index_url: None,
        revision: None,
    };
    let py = package.python.as_ref().map_or(&defaults, |p| p.get_ref());
    let name = package.name.get_ref();
    let seen = match package.sandbox {
        Sandbox::None => dirs.clone(),
        _ if build::bwrap_usable().is_ok() => RunDirs::new(Path::new(SANDBOX_RUN)),
        _ => dirs.clone(),
    };
    let wheelhouse = std::env::var_os("BUILDKIT_WHEELHOUSE")
        .filter(|w| !w.is_empty())
        .map(PathBuf::from);
    let project_rel = py.project.as_ref().map_or(".", |p| p.get_ref().as_str());
    let project = super::confine::resolve(&dirs.src, project_rel, super::confine::Last::Follow)
        .map_err(|e| leaves(project_rel, e))?;
    let project_seen = seen
        .src
        .join(project.strip_prefix(&dirs.src).unwrap_or(Path::new("")));
    let out_project = dirs.run.join("wheels/project");
    let out_deps = dirs.run.join("wheels/deps");
    for d in [&out_project, &out_deps] {
        std::fs::create_dir_all(d).map_err(|source| PackageError::Io {
            path: d.clone(),
            source,
        })?;
    }
    let ro: Vec<PathBuf> = wheelhouse.iter().cloned().collect();
    let source = match (&wheelhouse, &py.index_url) {
        (Some(w), _) => format!("--no-index --find-links {}", q(w)),
        (None, Some(url)) => format!("--index-url {}", q(Path::new(url.get_ref()))),
        (None, None) => String::new(),
    };
    listener.status(
        "Building",
        &format!("{name}: the project's wheel (pip wheel)"),
    );
    let isolation = if py.build_isolation {
        ""
    } else {
        " --no-build-isolation"
    };
    run_pip(
        package,
        format!(
            "{PYTHON} -m pip wheel -q --no-deps{isolation} {source} -w {} {}",
            q(&seen.run.join("wheels/project")),
            q(&project_seen)
        ),
        py.build_isolation && wheelhouse.is_none(),
        ro.clone(),
        built,
        listener,
    )?;
    let root_path = match &wheels_in(&out_project)?[..] {
        [one] => one.clone(),
        other => {
            return Err(py_err(PythonError::BadWheel {
                path: out_project.clone(),
                reason: format!("pip made {} wheels of the project, not one", other.len()),
            }))
        }
    };
    let root = Wheel::open(&root_path).map_err(py_err)?;
    let lock = py
        .lock
        .as_ref()
        .map(|l| read_lock(&dirs.src, l.get_ref(), &dirs.tmp))
        .transpose()?;
    listener.status(
        "Resolving",
        &format!("{name}: its dependencies (pip wheel)"),
    );
    let deps_seen = seen.run.join("wheels/deps");
    let target_args = match &lock {
        Some((pins, path)) => {
            let lock_seen = seen.run.join(path.strip_prefix(&dirs.run).unwrap_or(path));
            let hashes = if pins.iter().all(|p| !p.sha256.is_empty()) && !pins.is_empty() {
                " --require-hashes"
            } else {
                listener.warn(&format!(
                    "{name}: the lock file has no --hash for every pin: the wheels are not checked against it"
                ));
                ""
            };
            format!("--no-deps{hashes} -r {}", q(&lock_seen))
        }
        None => {
            let extras = if py.extras.is_empty() {
                String::new()
            } else {
                format!("[{}]", py.extras.join(","))
            };
            let rel = root_path.strip_prefix(&dirs.run).unwrap_or(&root_path);
            q(Path::new(&format!(
                "{}{extras}",
                seen.run.join(rel).display()
            )))
        }
    };
    if !root.metadata.requires_dist.is_empty() || lock.as_ref().is_some_and(|(p, _)| !p.is_empty())
    {
        run_pip(
            package,
            format!(
                "{PYTHON} -m pip wheel -q --prefer-binary {source} -w {} {target_args}",
                q(&deps_seen)
            ),
            wheelhouse.is_none(),
            ro,
            built,
            listener,
        )?;
    }
    let root_name = normalize(&root.metadata.name);
    let mut deps = Vec::new();
    for path in wheels_in(&out_deps)? {
        let wheel = Wheel::open(&path).map_err(py_err)?;
        if normalize(&wheel.metadata.name) != root_name {
            deps.push(wheel);
        }
    }
    if let Some((pins, _)) = &lock {
        check_lock(pins, &deps, py.lock.as_ref().map_or("", |l| l.get_ref()))?;
    }
    let target = target()?;
    let system: BTreeMap<String, String> = py
        .system
        .iter()
        .map(|(k, v)| (normalize(k), v.get_ref().clone()))
        .collect();
    let closure = closure(root, deps, &target, &py.extras, &system).map_err(py_err)?;
    if !closure.unused.is_empty() {
        let what = closure.unused.join(", ");
        if lock.is_some() {
            return Err(py_err(PythonError::Unused {
                dist: what,
                version: String::new(),
            }));
        }
        listener.warn(&format!(
            "{name}: pip fetched wheels nothing requires on the target: {what}"
        ));
    }
    for m in &closure.mapped {
        listener.note(&format!(
            "{name}: {} comes from Debian's {}",
            m.dist, m.debian
        ));
    }
    let scheme = config.tag_scheme(Some(package));
    let version = built.version.debian(&scheme)?;
    let maintainer = package.maintainer.get_ref();
    let changelog = built.history.changelog(&scheme, name, maintainer)?;
    let copyright = super::assemble::copyright_text(package, built.tree, &built.version.tag).ok();
    let description = package.description.get_ref();
    let app_description = description.lines().next().filter(|l| !l.trim().is_empty()).map(|short| {
        let rest: Vec<&str> = description.lines().skip(1).collect();
        let long = crate::python::control::extended(&[rest.join(" ")]);
        let long = if long.is_empty() {
            crate::python::control::extended(&[format!("{short}, with the Python distributions it needs installed under /usr/lib/{name}.")])
        } else {
            long
        };
        (short.trim().to_owned(), long)
    });
    let app_depends: Vec<String> = package
        .depends
        .iter()
        .map(|d| d.get_ref().clone())
        .filter(|d| d != crate::config::SHLIBS)
        .collect();
    let revision = py.revision.as_ref().map_or("1", |r| r.get_ref().as_str());
    let request = LayoutRequest {
        app: name,
        app_version: &version,
        layout: py.layout,
        maintainer,
        revision,
        scratch,
        target: &target,
        epoch: built.epoch,
        app_copyright: copyright,
        app_changelog: Some(changelog),
        app_description,
        app_depends,
    };
    let pkgs = packages(&closure, &request).map_err(py_err)?;
    let dists = closure
        .dists
        .iter()
        .enumerate()
        .map(|(i, d)| ResolvedDist {
            name: normalize(&d.wheel.metadata.name),
            version: d.wheel.metadata.version.to_string(),
            wheel: d
                .wheel
                .path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            sha256: d.wheel.sha256.clone(),
            package: match (py.layout, i) {
                (crate::python::layout::Layout::Bundle, _) | (_, 0) => name.clone(),
                _ => crate::python::names::package_name(name, &d.wheel.metadata.name)
                    .unwrap_or_default(),
            },
        })
        .collect();
    Ok((
        pkgs,
        PythonReport {
            app: name.clone(),
            dists,
            mapped: closure.mapped.clone(),
        },
    ))
}

/// Every wheel has its pin, at its version.
fn check_lock(pins: &[Pin], wheels: &[Wheel], origin: &str) -> Result<(), PackageError> {
    let mismatch = |reason: String| {
        py_err(PythonError::Lock {
            origin: origin.to_owned(),
            line: 0,
            reason: format!("the lock does not match the project: {reason}"),
        })
    };
    for w in wheels {
        let name = normalize(&w.metadata.name);
        let Some(pin) = pins.iter().find(|p| p.name == name) else {
            return Err(mismatch(format!("{name} is not pinned")));
        };
        let pinned: pep440_rs::Version = pin
            .version
            .parse()
            .map_err(|_| mismatch(format!("{name}: bad version")))?;
        if pinned != w.metadata.version {
            return Err(mismatch(format!(
                "{name} is pinned at {} but the wheel is {}",
                pin.version, w.metadata.version
            )));
        }
        if !pin.sha256.is_empty() && !pin.sha256.contains(&w.sha256) {
            return Err(mismatch(format!(
                "{name}: the wheel's sha256 {} is not a locked one",
                w.sha256
            )));
        }
    }
    Ok(())
}
