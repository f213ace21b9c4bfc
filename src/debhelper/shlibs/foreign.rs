//! A foreign architecture's packages as a [`LibraryIndex`]: there are no
//! library files of that architecture on this machine, only the `symbols`
//! and `shlibs` files of its packages (taken from their `.deb`s by the
//! caller). A library is found by its SONAME in those files.

use super::{multiarch, shlibs_file, symbols, LibraryIndex, Lookup, Provider, ShlibsError};
use crate::debhelper::elf::Abi;

/// One package of the foreign architecture and its dependency information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignPackage {
    /// The package name (`libc6`).
    pub package: String,
    /// Its `symbols` control file.
    pub symbols: Option<String>,
    /// Its `shlibs` control file.
    pub shlibs: Option<String>,
}

/// The packages of one foreign architecture.
#[derive(Debug, Clone)]
pub struct ForeignIndex {
    arch: String,
    packages: Vec<ForeignPackage>,
}

impl ForeignIndex {
    /// An index over `packages` of architecture `arch`.
    pub fn new(arch: &str, packages: Vec<ForeignPackage>) -> ForeignIndex {
        ForeignIndex {
            arch: arch.to_owned(),
            packages,
        }
    }
}

impl LibraryIndex for ForeignIndex {
    fn arch(&self) -> &str {
        &self.arch
    }

    fn library_dirs(&self) -> Vec<String> {
        let mut dirs: Vec<String> = Vec::new();
        if let Some(tuple) = multiarch(&self.arch) {
            dirs.push(format!("/lib/{tuple}"));
            dirs.push(format!("/usr/lib/{tuple}"));
        }
        dirs.extend(["/lib".to_owned(), "/usr/lib".to_owned()]);
        dirs
    }

    fn lookup(&self, soname: &str, _abi: &Abi, _rpath: &[String]) -> Result<Lookup, ShlibsError> {
        let providers: Vec<Provider> = self
            .packages
            .iter()
            .filter(|p| {
                p.symbols
                    .as_deref()
                    .is_some_and(|t| symbols::has_soname(t, soname))
                    || p.shlibs
                        .as_deref()
                        .is_some_and(|t| shlibs_file::lookup(t, soname).is_some())
            })
            .map(|p| Provider {
                package: p.package.clone(),
                symbols: p.symbols.clone(),
                shlibs: p.shlibs.clone(),
            })
            .collect();
        if providers.is_empty() {
            return Ok(Lookup::NotFound {
                searched: vec![format!(
                    "the symbols and shlibs files of the {} packages",
                    self.arch
                )],
            });
        }
        // A library named in a symbols or shlibs file is a public one.
        Ok(Lookup::Found {
            path: format!("{soname} ({})", self.arch),
            public: true,
            providers,
        })
    }
}
