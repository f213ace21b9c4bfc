//! The closure of a project's wheel over a wheelhouse: which wheels its
//! runtime dependencies are, with the markers evaluated for the target,
//! and which are left to Debian packages (`python.system`).
//!
//! pip chose the wheels; this only follows `Requires-Dist` through them
//! and checks that each requirement is met by exactly the wheel present,
//! so a lock file or a wheelhouse that does not match the project is an
//! error rather than a package set that fails on the target.
use std::collections::{BTreeMap, BTreeSet};

use super::filename::PyAbi;
use super::markers::{applies, environment, Target};
use super::names::normalize;
use super::wheel::Wheel;
use super::PythonError;

/// One distribution of the closure.
#[derive(Debug, Clone)]
pub struct Dist {
    /// Its wheel.
    pub wheel: Wheel,
    /// The extras something requested of it.
    pub extras: Vec<String>,
    /// What it requires on the target: the index of the dependency in
    /// [`Closure::dists`], and the specifier it asked for.
    pub requires: Vec<(usize, pep440_rs::VersionSpecifiers)>,
    /// What it requires that is mapped to a Debian package: index into
    /// [`Closure::mapped`], and the specifier.
    pub requires_system: Vec<(usize, pep440_rs::VersionSpecifiers)>,
}

/// A dependency left to a Debian package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mapped {
    /// The distribution (normalised).
    pub dist: String,
    /// The Debian package it maps to.
    pub debian: String,
}

/// A project's wheel and everything it needs.
#[derive(Debug, Clone)]
pub struct Closure {
    /// The project's own wheel, an index into `dists` (always 0).
    pub root: usize,
    /// Every wheel, the root's first, then by name.
    pub dists: Vec<Dist>,
    /// The dependencies mapped to Debian packages.
    pub mapped: Vec<Mapped>,
    /// Wheels of the wheelhouse nothing requires (an error with a lock).
    pub unused: Vec<String>,
}

/// Checks that `wheel` can run on `target`.
pub fn check_target(wheel: &Wheel, target: &Target) -> Result<(), PythonError> {
    let m = &wheel.metadata;
    let python = pep440_rs::Version::new([u64::from(target.python.0), u64::from(target.python.1)]);
    if let Some(spec) = &m.requires_python {
        let full = target.python_full.parse().unwrap_or(python.clone());
        if !spec.contains(&full) {
            return Err(PythonError::RequiresPython {
                dist: m.name.clone(),
                version: m.version.to_string(),
                requires: spec.to_string(),
                target: target.python_full.clone(),
            });
        }
    }
    let incompatible = |reason: String| PythonError::Incompatible {
        wheel: wheel.name.dist.clone() + "-" + &wheel.name.version,
        reason,
    };
    let arch = wheel.name.debian_arch()?;
    if arch != "all" && arch != target.arch {
        return Err(incompatible(format!(
            "built for {arch}, the target is {}",
            target.arch
        )));
    }
    match wheel.name.cpython_abi() {
        Some(PyAbi::Cp(x, y)) if (x, y) != target.python => {
            return Err(incompatible(format!(
                "built for CPython {x}.{y}, the target is {}.{}",
                target.python.0, target.python.1
            )))
        }
        Some(PyAbi::Abi3(x, y)) if (x, y) > target.python => {
            return Err(incompatible(format!("needs CPython {x}.{y} or later")))
        }
        _ => {}
    }
    if let Some(glibc) = wheel.name.min_glibc() {
        if glibc > target.glibc {
            return Err(incompatible(format!(
                "needs glibc {}.{}, the target has {}.{}",
                glibc.0, glibc.1, target.glibc.0, target.glibc.1
            )));
        }
    }
    Ok(())
}

// Long function: a breadth-first walk with its bookkeeping (extras that
// grow, mapped names, the final ordering) kept together.
/// Resolves `root`'s requirements (with `extras`) over `wheelhouse` for
/// `target`; `system` maps normalised distribution names to Debian packages.
pub fn closure(
    root: Wheel,
    wheelhouse: Vec<Wheel>,
    target: &Target,
    extras: &[String],
    system: &BTreeMap<String, String>,
) -> Result<Closure, PythonError> {
    let env = environment(target);
    let root_name = normalize(&root.metadata.name);
    let mut wheels: BTreeMap<String, Wheel> = BTreeMap::new();
    for w in wheelhouse {
        let name = normalize(&w.metadata.name);
        if name == root_name {
            continue;
        }
        if let Some(other) = wheels.get(&name) {
            return Err(PythonError::Duplicate {
                dist: name,
                a: file_name(other),
                b: file_name(&w),
            });
        }
        wheels.insert(name, w);
    }
    wheels.insert(root_name.clone(), root);
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    wanted.insert(root_name.clone(), extras.iter().cloned().collect());
    type Edges = Vec<(String, pep440_rs::VersionSpecifiers)>;
    let mut edges: BTreeMap<String, Edges> = BTreeMap::new();
    let mut system_edges: BTreeMap<String, Edges> = BTreeMap::new();
    let mut queue = vec![root_name.clone()];
    while let Some(name) = queue.pop() {
        let wheel = &wheels[&name];
        check_target(wheel, target)?;
        let dist_extras: Vec<String> = wanted[&name].iter().cloned().collect();
        let mut mine = Vec::new();
        let mut mine_system = Vec::new();
        for req in &wheel.metadata.requires_dist {
            if !applies(req, &env, &dist_extras) {
                continue;
            }
            let dep = normalize(req.name.as_ref());
            let spec = match &req.version_or_url {
                None => pep440_rs::VersionSpecifiers::empty(),
                Some(pep508_rs::VersionOrUrl::VersionSpecifier(s)) => s.clone(),
                Some(pep508_rs::VersionOrUrl::Url(url)) => {
                    return Err(PythonError::Unsatisfiable {
                        dist: wheel.metadata.name.clone(),
                        requirement: req.to_string(),
                        found: format!("a URL ({url}) cannot be packaged: pin a version instead"),
                    })
                }
            };
            if system.contains_key(&dep) {
                mine_system.push((dep, spec));
                continue;
            }
            if dep == name {
                // `dask[complete]` requires `dask[array]`: more extras of
                // itself, never a dependency on itself.
                let entry = wanted.entry(dep.clone()).or_default();
                let before = entry.len();
                entry.extend(req.extras.iter().map(|e| e.to_string()));
                if entry.len() > before {
                    queue.push(dep);
                }
                continue;
            }
            let Some(found) = wheels.get(&dep) else {
                return Err(PythonError::Unsatisfiable {
                    dist: wheel.metadata.name.clone(),
                    requirement: req.to_string(),
                    found: "no wheel of it is in the wheelhouse".into(),
                });
            };
            if !spec.contains(&found.metadata.version) {
                return Err(PythonError::Unsatisfiable {
                    dist: wheel.metadata.name.clone(),
                    requirement: req.to_string(),
                    found: format!("the wheelhouse has {}", file_name(found)),
                });
            }
            let new_extras: BTreeSet<String> = req.extras.iter().map(|e| e.to_string()).collect();
            let entry = wanted.entry(dep.clone()).or_default();
            let before = entry.len();
            let first = before == 0 && !edges.contains_key(&dep) && !queue.contains(&dep);
            entry.extend(new_extras);
            if first || entry.len() > before {
                queue.push(dep.clone());
            }
            mine.push((dep, spec));
        }
        edges.insert(name.clone(), mine);
        system_edges.insert(name, mine_system);
    }
    // The root first, then by name: indices that do not depend on the walk.
    let mut order: Vec<String> = vec![root_name.clone()];
    order.extend(edges.keys().filter(|n| **n != root_name).cloned());
    let index: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut mapped: Vec<Mapped> = Vec::new();
    let mut dists = Vec::new();
    for name in &order {
        let requires = edges[name]
            .iter()
            .map(|(d, s)| (index[d.as_str()], s.clone()))
            .collect();
        let mut requires_system = Vec::new();
        for (d, s) in &system_edges[name] {
            let m = Mapped {
                dist: d.clone(),
                debian: system[d].clone(),
            };
            let i = mapped.iter().position(|x| *x == m).unwrap_or_else(|| {
                mapped.push(m);
                mapped.len() - 1
            });
            requires_system.push((i, s.clone()));
        }
        dists.push(Dist {
            wheel: wheels[name].clone(),
            extras: wanted[name].iter().cloned().collect(),
            requires,
            requires_system,
        });
    }
    let unused = wheels
        .iter()
        .filter(|(n, _)| !index.contains_key(n.as_str()))
        .map(|(_, w)| file_name(w))
        .collect();
    Ok(Closure {
        root: 0,
        dists,
        mapped,
        unused,
    })
}

fn file_name(w: &Wheel) -> String {
    w.path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
