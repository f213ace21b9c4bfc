//! Wheel file names (PEP 427, with the compressed tag sets of PEP 425).
//! (helper A)
use super::PythonError;

/// The parts of a wheel's file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    /// The distribution, as written in the name.
    pub dist: String,
    /// The version, as written in the name.
    pub version: String,
    /// The optional build tag.
    pub build: Option<String>,
    /// Python tags (`py3`, `cp311`).
    pub python: Vec<String>,
    /// ABI tags (`none`, `abi3`, `cp311`).
    pub abi: Vec<String>,
    /// Platform tags (`any`, `manylinux_2_17_x86_64`).
    pub platform: Vec<String>,
}

/// The CPython ABI a binary wheel is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyAbi {
    /// One minor version only (`cp311`).
    Cp(u32, u32),
    /// The stable ABI from this version on (`abi3` with `cp38`).
    Abi3(u32, u32),
}

impl WheelName {
    /// Parses `{dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
    pub fn parse(file_name: &str) -> Result<Self, PythonError> {
        todo!("A: {file_name}")
    }

    /// True for `py*-none-any` wheels.
    pub fn is_pure(&self) -> bool {
        todo!("A")
    }

    /// The Debian architecture: `all` for pure wheels.
    pub fn debian_arch(&self) -> Result<&'static str, PythonError> {
        todo!("A")
    }

    /// The oldest glibc the platform tags promise to run on.
    pub fn min_glibc(&self) -> Option<(u32, u32)> {
        todo!("A")
    }

    /// The CPython ABI, for binary wheels.
    pub fn cpython_abi(&self) -> Option<PyAbi> {
        todo!("A")
    }
}
