//! The closure of a project's wheel over a wheelhouse: which wheels its
//! runtime dependencies are, with the markers evaluated for the target,
//! and which are left to Debian packages (`python.system`). (helper B)
use std::collections::BTreeMap;

use super::markers::Target;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The distribution (normalised).
    pub dist: String,
    /// The Debian package it maps to.
    pub debian: String,
}

/// A project's wheel and everything it needs.
#[derive(Debug, Clone)]
pub struct Closure {
    /// The project's own wheel, an index into `dists`.
    pub root: usize,
    /// Every wheel, the root's included, in a stable order.
    pub dists: Vec<Dist>,
    /// The dependencies mapped to Debian packages.
    pub mapped: Vec<Mapped>,
    /// Wheels of the wheelhouse nothing requires (an error with a lock).
    pub unused: Vec<String>,
}

/// Resolves `root`'s requirements (with `extras`) over `wheelhouse` for
/// `target`; `system` maps normalised distribution names to Debian packages.
pub fn closure(
    root: Wheel,
    wheelhouse: Vec<Wheel>,
    target: &Target,
    extras: &[String],
    system: &BTreeMap<String, String>,
) -> Result<Closure, PythonError> {
    todo!("B: {root:?} {wheelhouse:?} {target:?} {extras:?} {system:?}")
}
