//! The packages a closure becomes: one per distribution (`debs`) or one
//! bundle, under `/usr/lib/<app>/`. (helper B)
use std::path::Path;

use super::closure::Closure;
use super::markers::Target;
use super::PythonError;
use crate::deb::PackageSpec;
use crate::version::DebVersion;

/// How a closure is packaged (`python.layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// One package per distribution (like py2deb).
    #[default]
    Debs,
    /// The application and its closure in one package (like dh-virtualenv).
    Bundle,
}

/// What the application's package is given from outside the wheels.
#[derive(Debug)]
pub struct LayoutRequest<'a> {
    /// The application's package name.
    pub app: &'a str,
    /// Its Debian version.
    pub app_version: &'a DebVersion,
    /// The layout.
    pub layout: Layout,
    /// `Maintainer` of every package.
    pub maintainer: &'a str,
    /// The Debian revision of the dependencies' packages (`1`).
    pub revision: &'a str,
    /// Where wheels are extracted (kept until the packages are written).
    pub scratch: &'a Path,
    /// The target Python and architecture.
    pub target: &'a Target,
    /// The application's timestamp (`SOURCE_DATE_EPOCH` of the tag).
    pub epoch: u64,
}

/// One generated package.
#[derive(Debug, Clone)]
pub struct PyPackage {
    /// The distribution it holds (the root's for the application's package
    /// and the bundle).
    pub dist: String,
    /// Everything to write it. `Depends` may hold `${shlibs}` where the
    /// libraries its ELF files need go.
    pub spec: PackageSpec,
    /// Whether it holds ELF files (binary wheels).
    pub binary: bool,
}

/// The packages of `closure`, the application's first.
pub fn packages(closure: &Closure, req: &LayoutRequest<'_>) -> Result<Vec<PyPackage>, PythonError> {
    todo!("B: {closure:?} {req:?}")
}
